#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: drift_info
short_description: Tell, in one process, whether a list of nsbridge module calls would change the host
version_added: "0.2.0"
description:
  - Plans each call exactly as the named module would in check mode (same argument spec, same planner,
    same observation of the kernel) and reports which calls, and which of their items, would change
    anything. Never changes anything itself.
  - Roles use it first, so that a host already as planned costs one task instead of one per module
    (each Ansible task costs a few hundred milliseconds however little it does); when anything drifted,
    every module of the role runs as usual.
  - A call whose arguments are invalid fails this module with the message the module itself would give,
    naming the call.
options:
  calls:
    description: The module calls to plan, in the order they would run.
    type: list
    elements: dict
    required: true
    suboptions:
      module:
        description: The module's short name.
        type: str
        required: true
        choices: [bridge, veth, netns, nat_masquerade, port_publish, network_isolation, workload, route, vxlan, names, tunnel,
                  impairment]
      args:
        description: The module's arguments, as the task would pass them.
        type: dict
        default: {}
notes:
  - Later calls are planned against the host as it is, not as earlier calls would leave it; a call that
    depends on something an earlier one would make reports drift too (as the modules do in check mode),
    which is the safe direction.
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Is the host already as planned?
  nsbridge.network.drift_info:
    calls:
      - module: netns
        args: {name: [web1, web2]}
      - module: port_publish
        args: {ports: [{host_port: 8080, destination: 10.10.0.10, destination_port: 8000}]}
  register: drift

- name: Publish only if something drifted
  nsbridge.network.port_publish:
    ports: [{host_port: 8080, destination: 10.10.0.10, destination_port: 8000}]
  when: drift.drift
'''

RETURN = r'''
drift:
  description: True if any call would change anything.
  returned: always
  type: bool
calls:
  description: Per call, in input order, C(module), C(drift) and C(items) (the names of the items that would change).
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import calls_option
from ansible_collections.nsbridge.network.plugins.module_utils.calls.apply import plan_calls
from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import NsbridgeError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            calls=calls_option(required=True),
        ),
        supports_check_mode=True,
    )
    try:
        calls = plan_calls(module.params["calls"])
    except NsbridgeError as exc:
        module.fail_json(msg="nsbridge.network.drift_info: %s" % exc)
        return
    module.exit_json(changed=False, drift=any(c["drift"] for c in calls), calls=calls)


if __name__ == "__main__":
    main()
