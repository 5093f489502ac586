# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test callback: writes, per host, the task arguments Ansible sent back with the host's result (what the
controller holds until the task ends) to the JSON file named by NSBRIDGE_TASK_ARGS."""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "nsbridge_task_args"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.seen = {}

    def v2_runner_on_ok(self, result):
        self.seen[result.host.name] = {"args": result.task_fields.get("args"), "result": dict(result.result)}

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["NSBRIDGE_TASK_ARGS"], "w", encoding="utf-8") as f:
            json.dump(self.seen, f, default=str)
