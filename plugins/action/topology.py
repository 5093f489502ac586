# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action topology: the picture of the hosts, written on the controller in one step (documented in
plugins/modules/topology.py).  Three module tasks (a directory, two copies) cost ~1.6 s of every run
of the main job; this costs milliseconds."""

from __future__ import annotations

import os
import shutil

from ansible.plugins.action import ActionBase

from ansible_collections.nsbridge.network.plugins.module_utils.roles.controller_files import read_text, write_text
from ansible_collections.nsbridge.network.plugins.module_utils.roles.topology import (
    dot_of, markdown_of, svg_of, topology_graph)

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
        paths = {name: os.path.join(dest, name) for name in texts}
        source, svg = paths["topology.dot"], os.path.join(dest, "topology.svg")
        before = {name: read_text(path) for name, path in paths.items()}
        # the DOT the SVG was laid out from may be the unranked one (svg_of): unchanged too
        if before["topology.dot"] not in (None, texts["topology.dot"]) and before["topology.dot"] == dot_of(graph, True):
            texts["topology.dot"] = before["topology.dot"]
        written = [paths[name] for name, text in texts.items() if before[name] != text]
        dot = shutil.which("dot")
        render = dot is not None and (source in written or not os.path.exists(svg))
        if render:
            written.append(svg)
        if not check:
            os.makedirs(dest, mode=0o755, exist_ok=True)
            drawn = said = None
            if render:
                texts["topology.dot"], drawn, said = svg_of(graph, dot)
                if texts["topology.dot"] != before["topology.dot"] and source not in written:
                    written.insert(0, source)
            for name, text in texts.items():
                if paths[name] in written:
                    write_text(paths[name], text)
            if said is not None:
                result.update(failed=True, msg="dot -Tsvg failed on %s: %s" % (source, said))
                return result
            if drawn is not None:
                write_text(svg, drawn)
        has_svg = os.path.exists(svg) or (check and render)
        result.update(changed=bool(written), written=written, svg=has_svg,
                      files=[paths[n] for n in sorted(texts)] + ([svg] if has_svg else []))
        if self._task.diff and written:
            result["diff"] = [{"before_header": path, "after_header": path, "before": before[name] or "",
                               "after": texts[name]} for name, path in paths.items() if path in written]
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
