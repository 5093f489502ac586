#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: route
short_description: Static routes that nsbridge owns (e.g. to other hosts' container subnets)
version_added: "0.1.0"
description:
  - Ensures a route to I(dst) via I(via) (and/or out of I(dev)) in the main table, or removes it.
  - Routes nsbridge makes carry routing protocol number 78 (C(ip route) shows C(proto 78)); only those
    are ever changed or removed. A route to the same destination and metric made by anything else is an
    error, never overwritten.
  - A gateway must be on a directly connected network (L2 adjacency) unless I(onlink) says otherwise.
  - With I(purge), nsbridge's routes not in the call are removed (a fleet host that went away).
options:
  dst:
    description: Destination network, e.g. C(10.200.2.0/24). Required unless I(routes) is given.
    type: str
  via:
    description: Gateway address.
    type: str
  dev:
    description: Outgoing interface; default the one whose network holds I(via).
    type: str
  onlink:
    description: Treat I(via) as on-link on I(dev) even if no address of I(dev) covers it.
    type: bool
    default: false
  metric:
    description: Route metric (priority). For an IPv6 route, C(0) means the kernel's default, C(1024).
    type: int
    default: 0
  purge:
    description: Remove every route nsbridge made in this namespace that the call does not list.
    type: bool
    default: false
  routes:
    description: Many routes in one call; each item takes I(dst), I(via), I(dev), I(onlink), I(metric), I(state).
    type: list
    elements: dict
    suboptions:
      dst: {description: "See top-level I(dst).", type: str, required: true}
      via: {description: "See top-level I(via).", type: str}
      dev: {description: "See top-level I(dev).", type: str}
      onlink: {description: "See top-level I(onlink).", type: bool, default: false}
      metric: {description: "See top-level I(metric).", type: int, default: 0}
      state: {description: "Overrides the top-level I(state) for this item.", type: str, choices: [present, absent]}
extends_documentation_fragment:
  - nsbridge.network.common
  - nsbridge.network.common.netns
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Reach the other hosts' container subnets through them (flannel host-gw style)
  nsbridge.network.route:
    purge: true
    routes:
      - {dst: 10.200.2.0/24, via: 192.168.77.12}
      - {dst: 10.200.3.0/24, via: 192.168.77.13}
'''

RETURN = r'''
routes:
  description: The routes present after the run (or, in check mode, as they would be).
  returned: always
  type: list
  elements: dict
  sample: [{dst: 10.200.2.0/24, via: 192.168.77.12, dev: eth0, metric: 0, onlink: false, managed: true}]
results:
  description: Per requested route (and per purged one), what was (or in check mode would be) done.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import run_module


def main():
    run_module(AnsibleModule, "route")


if __name__ == "__main__":
    main()
