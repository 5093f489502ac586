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
  - "With I(record), the calls are the truth: the host keeps which objects each I(record) of each I(project)
    made (C(/var/lib/nsbridge/projects/PROJECT/RECORD.json)), and what an earlier apply of the same record made
    that these calls no longer describe is removed first (I(prune)) - a namespace, a veth, one published port,
    a masquerade, a route. Only what is proven the project's goes: an object marked for another project is
    never removed, whatever a record says; a lost or unreadable record is replaced, with a warning, by what
    the marks prove is the project's."
  - What I(project) makes is marked as its own (link and namespace aliases C(nsbridge:KIND:PROJECT), rule
    comments, workload records); an object another project made is an error naming both projects, and a
    bridge, namespace or veth nsbridge did not make (a host's own bridge, another tool's namespace) one naming
    it and what it holds, found before anything changes. Network isolation holds between the networks of every
    project.
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
        choices: [bridge, veth, netns, nat_masquerade, port_publish, network_isolation, workload, route, vxlan, names, tunnel,
                  impairment]
      args:
        description: The module's arguments, as a task would pass them.
        type: dict
        default: {}
  record:
    description:
      - Name under which the host keeps what these calls made, for pruning (see I(prune)), and with I(persist)
        the calls themselves for a rebuild at boot (C(/etc/nsbridge/desired/RECORD.json); for a project other
        than C(default), C(RECORD@PROJECT.json)); records are restored in name order. The roles use
        C(10-fleet), C(20-networks) and C(30-containers).
      - Omitted, nothing is recorded and nothing is pruned.
    type: str
    version_added: "0.3.0"
  project:
    description:
      - The project the calls are made for (the roles' C(nsbridge_project)); 1 to 24 letters, digits, C(-) or
        C(_). Plays of different projects on one host never change or remove each other's objects.
    type: str
    default: default
    version_added: "0.4.0"
  prune:
    description:
      - With I(record), C(true) removes what an earlier apply of this record (and project) made and these calls
        no longer describe, before running them; C(false) keeps it and warns, naming each object (as
        C(docker compose) warns about orphans without C(--remove-orphans)). The next C(true) run removes it.
    type: bool
    default: true
    version_added: "0.4.0"
  external:
    description:
      - With I(record), names of what the caller makes by other means for the same record (the containers role's
        podman containers, C(podman:NAME)). They are recorded like the calls' objects; those an earlier apply listed
        and this one does not come back in I(external_orphans), for the caller to remove (with I(prune)).
    type: list
    elements: str
    default: []
    version_added: "0.4.0"
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
- name: Two namespaces and a published port, recorded as project lab's (so that the next run prunes)
  nsbridge.network.apply:
    record: 60-lab
    project: lab
    calls:
      - module: netns
        args: {name: [web1, web2]}
      - module: port_publish
        args: {ports: [{host_port: 8080, destination: 10.10.0.10, destination_port: 80, bridge: br0}]}

# Later, web2 and the published port gone from the calls: this run removes web2's namespace and the
# port's rules first (check mode and diff mode name them), then converges the rest.
- name: The same record, described anew
  nsbridge.network.apply:
    record: 60-lab
    project: lab
    calls:
      - module: netns
        args: {name: [web1]}

- name: A namespace with an interface on a bridge, in one task; without a record nothing is recorded or pruned
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
  description:
    - Per call, in the order they ran, C(module), C(changed), C(results), C(unlisted), C(unchanged), C(diff) (in
      diff mode) and C(prune) (true for the calls that removed what is no longer described; they run first).
    - C(results) lists the items that changed (or in check mode would), each with the module's C(name), C(item) and
      C(state) and its C(actions), the steps it ran (in check mode, would run); the first 50 of a call, and
      C(unlisted) counts the others. C(unchanged) counts the items already as described. Every changed item's
      state before and after is in C(diff), in diff mode; what is on the host, in M(nsbridge.network.network_info).
    - Not every item with its state, as a module returns them, because a fleet host's call has an item for every
      other host (its routes, its VXLAN peers) and Ansible holds every host's result of a task until the task ends (at
      1,000 hosts, a million items on a first run). For the same reason the result's C(invocation) gives each
      call's C(module) only, below C(-vvv).
  returned: always
  type: list
  elements: dict
failed_call:
  description: On failure, the call that failed (C(calls[2])); the calls before it are in C(calls).
  returned: failure
  type: str
results:
  description: On failure, the failing call's items done before it failed that changed (the first 50), as in
    C(calls[].results).
  returned: failure
  type: list
  elements: dict
pruned:
  description:
    - With I(record) and I(prune), what this run removed (or in check mode would remove) because the calls no
      longer describe it, by container and network, e.g. C(container web2 (namespace, veth nsb1a2b3c4d5e,
      workload web2, published port tcp:*:8081)). The calls that removed it come first in I(calls), with
      C(prune=true).
  returned: when record is given
  type: list
  elements: str
  version_added: "0.4.0"
external_orphans:
  description: With I(record) and I(prune), the I(external) names an earlier apply listed and this one does not.
  returned: when record is given
  type: list
  elements: str
  version_added: "0.4.0"
kept:
  description:
    - With I(record) and I(prune=false), what the calls no longer describe and this run kept (also a warning).
  returned: when record is given
  type: list
  elements: str
  version_added: "0.4.0"
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

from ansible_collections.nsbridge.network.plugins.module_utils.calls.apply import LISTED, CallFailed, apply_calls, changed_items, reported
from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import calls_option
from ansible_collections.nsbridge.network.plugins.module_utils.calls.housekeeping import sweep
from ansible_collections.nsbridge.network.plugins.module_utils.calls.ownership import check_project
from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import NsbridgeError
from ansible_collections.nsbridge.network.plugins.module_utils.day2.persist import plan_persist
# the restore program that persist writes is built from the module_utils this module carries
from ansible_collections.nsbridge.network.plugins.module_utils.day2 import restore  # noqa: F401  pylint: disable=unused-import
from ansible_collections.nsbridge.network.plugins.module_utils.engine.reconcile import apply_plans

RECORD_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}$")


def invocation(module):
    """The arguments Ansible echoes back as the result's ``invocation``: the calls in full at -vvv, where Ansible
    shows them; below, each call's module only. At a fleet a host's calls are O(hosts) (its routes or peers),
    and Ansible holds every host's result of a task until the task ends."""
    params = dict(module.params)
    if module._verbosity < 3:
        params["calls"] = [{"module": c["module"], "args": "(given in full at -vvv)"} for c in params["calls"]]
    return {"module_args": params}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            calls=calls_option(required=True),
            record=dict(type="str"),
            persist=dict(type="bool", default=False),
            persist_root=dict(type="path", default="/"),
            project=dict(type="str", default="default"),
            prune=dict(type="bool", default=True),
            external=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    record = module.params["record"]
    if record is not None and not RECORD_NAME.match(record):
        module.fail_json(msg="nsbridge.network.apply: record: %r is not a record name (letters, digits, '.', '_', "
                             "'-'; not starting with '.')" % record, invocation=invocation(module))
    project = module.params["project"]
    if not module.check_mode:
        sweep()
    try:
        check_project(project)
        result = apply_calls(module.params["calls"], module.check_mode, project=project, record=record,
                             prune=module.params["prune"], external=module.params["external"])
        if record is not None:
            persisted = apply_plans(plan_persist(record, result["validated"], module.params["persist"],
                                                 module.params["persist_root"], project).plans, module.check_mode)
            result["changed"] = result["changed"] or persisted.changed
            result["persisted"] = persisted.results
    except CallFailed as exc:
        module.fail_json(msg="nsbridge.network.apply: %s" % exc, failed_call=exc.path,
                         calls=reported(exc.done, module._diff), results=changed_items(exc.results)[:LISTED],
                         changed=any(c["changed"] for c in exc.done), invocation=invocation(module))
        return
    except NsbridgeError as exc:
        module.fail_json(msg="nsbridge.network.apply: %s" % exc, invocation=invocation(module))
        return
    finally:
        if not module.check_mode:
            sweep()
    for warning in result["warnings"]:
        module.warn(warning)
    out = dict(changed=result["changed"], calls=reported(result["calls"], module._diff), invocation=invocation(module))
    if record is not None:
        out.update(pruned=result["pruned"], kept=result["kept"], external_orphans=result["external_orphans"])
    if "persisted" in result:
        out["persisted"] = result["persisted"]
    if module._diff:
        said = [{"prepared": "pruned (no longer described):\n" + "".join("  - %s\n" % line for line in result["pruned"])}] \
            if result.get("pruned") else []
        out["diff"] = said + [{"before": c["diff"]["before"], "after": c["diff"]["after"],
                               "before_header": "%s (%s)" % (c["module"], "pruned: no longer described" if c["prune"]
                                                             else "before"),
                               "after_header": "%s (after)" % c["module"]}
                              for c in result["calls"] if c["changed"]]
    module.exit_json(**out)


if __name__ == "__main__":
    main()
