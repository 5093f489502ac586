#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: vxlan
short_description: A VXLAN overlay device with static peers (flannel vxlan style)
version_added: "0.1.0"
description:
  - Ensures a VXLAN device (learning off) with the given VNI, local underlay address and UDP port, up,
    with I(addresses), and for every peer a permanent ARP entry (peer's overlay address to its MAC) and an
    FDB entry (its MAC to its underlay address). No multicast or flooding, so it works across an L3 underlay.
  - Entries for peers no longer listed are removed. A changed VNI, local address or port re-creates the device.
  - The overlay may carry IPv6 beside IPv4 on an IPv4 underlay; a peer's IPv6 overlay addresses get permanent
    neighbour (NDP) entries as its IPv4 ones get ARP entries.
  - Pair it with M(nsbridge.network.route) (C(onlink) routes to peer subnets via their overlay addresses).
options:
  name:
    description: Device name.
    type: str
    required: true
  vni:
    description: VXLAN network identifier (1..16777215). Required with C(state=present).
    type: int
  local:
    description: This host's underlay address. Required with C(state=present).
    type: str
  dev:
    description: Underlay interface; default the one holding I(local).
    type: str
  port:
    description: UDP port.
    type: int
    default: 4789
  mtu:
    description: Device MTU (the underlay's minus 50 for the encapsulation).
    type: int
  mac:
    description: Device MAC (peers need to know it; derive it from the host name to avoid a fact exchange).
    type: str
  addresses:
    description: Overlay addresses of the device (flannel gives it the host subnet's network address as /32).
    type: list
    elements: str
  peers:
    description: The other hosts.
    type: list
    elements: dict
    default: []
    suboptions:
      underlay: {description: "Peer's underlay address.", type: str, required: true}
      mac: {description: "Peer's device MAC.", type: str, required: true}
      address: {description: "Peer's overlay address (IPv4 or IPv6).", type: str}
      addresses:
        description: "Peer's overlay addresses, e.g. one per IP family (with or instead of I(address))."
        type: list
        elements: str
        version_added: "0.3.0"
extends_documentation_fragment:
  - nsbridge.network.common
  - nsbridge.network.common.netns
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Overlay to two peers
  nsbridge.network.vxlan:
    name: nsb-vx
    vni: 4242
    local: 192.168.81.11
    mac: 02:6e:73:00:00:0b
    mtu: 1450
    addresses: [10.200.1.0/32]
    peers:
      - {underlay: 192.168.82.12, mac: 02:6e:73:00:00:0c, address: 10.200.2.0}
      - {underlay: 192.168.82.13, mac: 02:6e:73:00:00:0d, address: 10.200.3.0}
'''

RETURN = r'''
vxlan:
  description: The device after the run (a one-element list).
  returned: always
  type: list
  elements: dict
results:
  description: What was (or in check mode would be) done.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import run_module


def main():
    run_module(AnsibleModule, "vxlan")


if __name__ == "__main__":
    main()
