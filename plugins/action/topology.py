# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action topology: the picture of the hosts, written on the controller in one step (documented in
plugins/modules/topology.py).  Three module tasks (a directory, two copies) cost ~1.6 s of every run
of the main job; this costs milliseconds."""

from __future__ import annotations

import os
import shutil
import subprocess

from ansible.plugins.action import ActionBase

from ansible_collections.nsbridge.network.plugins.module_utils.roles.controller_files import read_text, write_text
from ansible_collections.nsbridge.network.plugins.module_utils.roles.topology import (
    dot_of, markdown_of, topology_graph)

SPEC = {"infos": {"type": "dict"}, "hosts": {"type": "list", "elements": "str"},
        "var": {"type": "str"}, "dest": {"type": "path", "required": True}}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_diff = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=SPEC, mutually_exclusive=[("infos", "hosts")],
                                                        required_one_of=[("infos", "hosts")],
                                                        required_together=[("hosts", "var")])
        dest, infos = args["dest"], args["infos"]
        if infos is None:
            infos, missing = self._registered(task_vars["hostvars"], args["hosts"], args["var"])
            if missing:
                result.update(failed=True, msg="nsbridge.network.topology: no network_info result in %s (var) on %s"
                              % (args["var"], ", ".join(missing)))
                return result
        check = self._task.check_mode
        graph = topology_graph(infos)
        texts = {"topology.dot": dot_of(graph), "topology.md": markdown_of(graph)}
        written, diffs = [], []
        for name, text in texts.items():
            path = os.path.join(dest, name)
            before = read_text(path)
            if before != text:
                written.append(path)
                diffs.append({"before_header": path, "after_header": path, "before": before or "", "after": text})
        svg = os.path.join(dest, "topology.svg")
        dot = shutil.which("dot")
        render = dot is not None and (os.path.join(dest, "topology.dot") in written or not os.path.exists(svg))
        if render:
            written.append(svg)
        if not check:
            os.makedirs(dest, mode=0o755, exist_ok=True)
            for name, text in texts.items():
                if os.path.join(dest, name) in written:
                    write_text(os.path.join(dest, name), text)
            if render:
                proc = subprocess.run([dot, "-Tsvg", "-o", svg, os.path.join(dest, "topology.dot")],
                                      capture_output=True, text=True, check=False)
                if proc.returncode != 0:
                    source = os.path.join(dest, "topology.dot")
                    result.update(failed=True, msg="dot -Tsvg failed on %s: %s" % (source, proc.stderr.strip()))
                    return result
        has_svg = os.path.exists(svg) or (check and render)
        result.update(changed=bool(written), written=written, svg=has_svg,
                      files=[os.path.join(dest, n) for n in sorted(texts)] + ([svg] if has_svg else []))
        if self._task.diff and diffs:
            result["diff"] = diffs
        return result

    @staticmethod
    def _registered(hostvars, hosts, var):
        """({host: its result in ``var``}, [hosts without it]). raw_get, not hostvars[host][var]: the results
        are data a module returned, and templating them again is O(hosts^2) work for a fleet."""
        infos, missing = {}, []
        for host in hosts:
            values = hostvars.raw_get(host)
            if isinstance(values, dict) and isinstance(values.get(var), dict):
                infos[host] = values[var]
            else:
                missing.append(host)
        return infos, missing
