# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action fleet_allocation: the fleet's allocation file, written on the controller in one step
(documented in plugins/modules/fleet_allocation.py).  ansible.builtin.copy delegated to localhost ran
two modules (stat, then copy) for it, ~1.5 s of every run that changes the fleet; this costs
milliseconds."""

from __future__ import annotations

import os
import stat

from ansible.plugins.action import ActionBase

from ansible_collections.nsbridge.network.plugins.module_utils.roles.controller_files import read_text, write_text

SPEC = {"allocation": {"type": "str", "required": True}, "dest": {"type": "path", "required": True}}
MODE = 0o644


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_diff = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=SPEC)
        dest, text = args["dest"], args["allocation"]
        folder = os.path.dirname(dest) or "."
        if not os.path.isdir(folder):
            result.update(failed=True, msg="nsbridge.network.fleet_allocation: dest (nsbridge_fleet_allocation_file) "
                                           "%s: its directory %s does not exist" % (dest, folder))
            return result
        before = read_text(dest)
        mode = stat.S_IMODE(os.stat(dest).st_mode) if before is not None else None
        changed = before != text or mode != MODE
        if changed and not self._task.check_mode:
            if before != text:
                write_text(dest, text, MODE)
            else:
                os.chmod(dest, MODE)
        result.update(changed=changed, dest=dest)
        if self._task.diff and changed:
            result["diff"] = [{"before_header": dest, "after_header": dest, "before": before or "", "after": text}]
        return result
