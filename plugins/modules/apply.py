#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: apply
short_description: Run a list of nsbridge module calls in one process, in order
version_added: "0.3.0"
description:
  - Runs each call exactly as the named module would (same argument spec, planner and reconcile engine,
    the same check and diff modes), one after the other, so a later call sees what an earlier one made.
  - One task instead of one per module, and one description of the calls instead of two. The roles
    build their module calls in Python (C(module_utils/roles/calls.py)) and hand the list to this module. On a host
    already as described it changes nothing and costs one task.
  - A call that fails stops the run; the calls before it stay done and the failure names the call
    (C(calls[2])) and, for a batch, its item.
options:
  calls:
    description: The module calls, in the order they run.
    type: list
    elements: dict
    required: true
    suboptions:
      module:
        description: The module's short name.
        type: str
        required: true
        choices: [bridge, veth, netns, nat_masquerade, port_publish, network_isolation, workload, route, vxlan]
      args:
        description: The module's arguments, as a task would pass them.
        type: dict
        default: {}
  record:
    description:
      - Name under which the host keeps these calls for a rebuild at boot (C(/etc/nsbridge/desired/RECORD.json));
        records are restored in name order. The roles use C(10-fleet), C(20-networks) and C(30-containers).
      - Omitted, nothing about rebuilding at boot is written or removed.
    type: str
    version_added: "0.3.0"
  persist:
    description:
      - With I(record), C(true) records the calls (with each module's validated parameters, after they ran
        without error) and installs what rebuilds them at boot with no controller and no Ansible on the
        host -- the restore program C(/usr/local/lib/nsbridge/nsbridge-restore.pyz) (the planners and engine
        these modules run, as a zip application for the host's Python) and the systemd unit
        C(nsbridge-restore.service), enabled by its link in C(multi-user.target.wants). On a host already
        as recorded the restore changes nothing.
      - C(false) removes the record; with the last record the program and the unit go too.
    type: bool
    default: false
    version_added: "0.3.0"
  persist_root:
    description:
      - Directory the record, the program and the unit are written under, like C(DESTDIR) (to prepare an
        image); the unit still names the paths as the booted host sees them.
    type: path
    default: /
    version_added: "0.3.0"
extends_documentation_fragment:
  - nsbridge.network.common.calls
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: A namespace with an interface on a bridge, in one task
  nsbridge.network.apply:
    calls:
      - module: netns
        args: {name: [web1]}
      - module: bridge
        args: {bridges: [{name: br0, addresses: [10.10.0.1/16]}]}
      - module: veth
        args:
          pairs: [{name: vweb1, peer: eth0, peer_netns: web1, bridge: br0, peer_addresses: [10.10.0.10/16]}]
'''

RETURN = r'''
calls:
  description: Per call, in input order, C(module), C(changed), C(results) (the module's per-item results) and C(diff).
  returned: always
  type: list
  elements: dict
failed_call:
  description: On failure, the call that failed (C(calls[2])); the calls before it are in C(calls).
  returned: failure
  type: str
persisted:
  description:
    - With I(record), per file kept for the rebuild at boot (C(record), C(program), C(unit), C(enabled)) its
      C(item), C(name) (the path), C(changed) and C(actions), as the other results.
  returned: when record is given and the calls succeeded
  type: list
  elements: dict
'''

import re

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import calls_option
from ansible_collections.nsbridge.network.plugins.module_utils.calls.apply import CallFailed, apply_calls
from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import NsbridgeError
from ansible_collections.nsbridge.network.plugins.module_utils.calls.housekeeping import sweep
from ansible_collections.nsbridge.network.plugins.module_utils.day2.persist import plan_persist
# the restore program that persist writes is built from the module_utils this module carries
from ansible_collections.nsbridge.network.plugins.module_utils.day2 import restore  # noqa: F401  pylint: disable=unused-import
from ansible_collections.nsbridge.network.plugins.module_utils.engine.reconcile import apply_plans

RECORD_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            calls=calls_option(required=True),
            record=dict(type="str"),
            persist=dict(type="bool", default=False),
            persist_root=dict(type="path", default="/"),
        ),
        supports_check_mode=True,
    )
    record = module.params["record"]
    if record is not None and not RECORD_NAME.match(record):
        module.fail_json(msg="nsbridge.network.apply: record: %r is not a record name (letters, digits, '.', '_', "
                             "'-'; not starting with '.')" % record)
    if not module.check_mode:
        sweep()
    try:
        result = apply_calls(module.params["calls"], module.check_mode)
        if record is not None:
            persisted = apply_plans(plan_persist(record, result["validated"], module.params["persist"],
                                                 module.params["persist_root"]).plans, module.check_mode)
            result["changed"] = result["changed"] or persisted.changed
            result["persisted"] = persisted.results
    except CallFailed as exc:
        module.fail_json(msg="nsbridge.network.apply: %s" % exc, failed_call=exc.path, calls=exc.done,
                         results=exc.results, changed=any(c["changed"] for c in exc.done))
        return
    except NsbridgeError as exc:
        module.fail_json(msg="nsbridge.network.apply: %s" % exc)
        return
    finally:
        if not module.check_mode:
            sweep()
    for warning in result["warnings"]:
        module.warn(warning)
    out = dict(changed=result["changed"], calls=result["calls"])
    if "persisted" in result:
        out["persisted"] = result["persisted"]
    if module._diff:
        out["diff"] = [{"before": c["diff"]["before"], "after": c["diff"]["after"],
                        "before_header": "%s (before)" % c["module"], "after_header": "%s (after)" % c["module"]}
                       for c in result["calls"] if c["changed"]]
    module.exit_json(**out)


if __name__ == "__main__":
    main()
