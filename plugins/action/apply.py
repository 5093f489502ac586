# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action apply: runs the module nsbridge.network.apply as Ansible would (plugins/modules/apply.py documents
it), with one difference: the task keeps its ``calls`` as written, and they are templated here, for the
module only.

Why: Ansible sends a task's templated arguments back with every host's result and holds every host's
result of a task until the task ends. A fleet host's calls are O(hosts) (its routes, its VXLAN peers,
the names of every host's containers), so the controller held O(hosts^2) of them: at 1,000 simulated
hosts most of the play's peak memory.  ``finalize_task_arg`` is ansible-core's hook for an action to
template an argument itself (its debug and assert actions use it); where an ansible-core does not call
it, the calls arrive templated and are used as they are."""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

LATE = "calls"


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    @classmethod
    def finalize_task_arg(cls, name, value, templar, context):
        if name == LATE:
            return value  # templated in run(), for the module: the task keeps the template, not O(hosts) calls
        return super().finalize_task_arg(name, value, templar, context)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if LATE in args:
            args[LATE] = self._templar.template(args[LATE])
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_name="nsbridge.network.apply", module_args=args,
                                                         task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
