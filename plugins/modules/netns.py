#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: netns
short_description: Create or remove network namespaces
version_added: "0.1.0"
description:
  - Ensures named network namespaces exist where C(ip netns) sees them (C(/run/netns/NAME)) with C(lo) up,
    or are removed.
  - Takes one name or a whole list in one call; namespaces are created in-process (no fork per namespace).
  - Namespaces nsbridge creates are marked (C(lo) carries the alias C(nsbridge:netns)); C(state=absent)
    removes only marked namespaces and warns about others.
options:
  name:
    description: A namespace name, or a list of names.
    type: list
    elements: str
    required: true
  sysctls:
    description:
      - C(net.*) sysctls each namespace named holds, e.g. C(net.ipv4.ip_forward=1) for a router; only the keys
        given are read and set, and what a namespace holds dies with it. A key the kernel does not have is an error
        naming it. Ignored with C(state=absent).
    type: dict
    version_added: "0.4.0"
extends_documentation_fragment:
  - nsbridge.network.common
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Two container namespaces
  nsbridge.network.netns:
    name: [web1, web2]

- name: Two routers of a lab, forwarding both families
  nsbridge.network.netns:
    name: [r1, r2]
    sysctls:
      net.ipv4.ip_forward: 1
      net.ipv6.conf.all.forwarding: 1

- name: Remove them again
  nsbridge.network.netns:
    name: [web1, web2]
    state: absent
'''

RETURN = r'''
namespaces:
  description: The namespaces present after the run, as they are (or, in check mode, would be).
  returned: always
  type: list
  elements: dict
  sample: [{name: web1, lo_up: true, managed: true}]
results:
  description: Per requested namespace, in input order, what was (or in check mode would be) done.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Namespace name.", type: str}
    item: {description: "Which input item this is (C(name[1]))", type: str}
    changed: {description: "Whether this item changed.", type: bool}
    actions: {description: "Steps run (empty in check mode).", type: list, elements: str}
    planned: {description: "Steps planned.", type: list, elements: str}
    before: {description: "State before (null if absent).", type: dict}
    after: {description: "State after (null if absent).", type: dict}
  sample: [{name: web1, item: "name[0]", changed: true, actions: ["create network namespace web1"]}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import run_module


def main():
    run_module(AnsibleModule, "netns")


if __name__ == "__main__":
    main()
