#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: tunnel
short_description: VXLAN tunnels between hosts whose ends live in namespaces (a lab's links across hosts)
version_added: "0.4.0"
description:
  - Ensures a VXLAN device I(name) in namespace I(netns) (default the host's), created from the host namespace so
    that its UDP socket is the host's (the underlay, I(local)), or removes it.
  - The other ends are a static flood list, one all-zeros FDB entry per address of I(remotes) (C(bridge fdb append
    00:00:00:00:00:00 dst REMOTE)), with learning on; no multicast, no controller. Two hosts that each make their
    end of the same I(vni) have a wire between them; a tunnel enslaved to a bridge (I(master)) joins a LAN segment
    spanning several hosts.
  - Each end belongs to the host that made it; the flood list is exactly I(remotes). Unlike M(nsbridge.network.vxlan)
    (the fleet's overlay, with one static ARP and FDB entry per peer and learning off) a tunnel carries any frame.
  - Devices nsbridge makes are marked (alias C(nsbridge:tunnel)); C(state=absent) removes only marked ones.
options:
  name:
    description: The device's name in I(netns) (at most 15 bytes). Required unless I(tunnels) is given.
    type: str
  netns:
    description: Namespace the device lives in (it must exist); omitted, the host's.
    type: str
  vni:
    description: VXLAN network identifier (1..16777215), the same at every end. Required with C(state=present).
    type: int
  local:
    description: This host's underlay address (IPv4 or IPv6), on an interface of the host. Required with C(state=present).
    type: str
  dev:
    description: The host's underlay interface; default the one holding I(local).
    type: str
  port:
    description: UDP port, the same at every end.
    type: int
    default: 4789
  remotes:
    description: The underlay addresses of the other ends (the flood list), of I(local)'s family.
    type: list
    elements: str
  mtu:
    description:
      - Device MTU; it must leave VXLAN's 50 bytes (70 over IPv6) on the underlay. Omitted, the kernel's, which
        does (the underlay's minus the overhead).
    type: int
  mac:
    description: Device MAC address; omitted, the kernel picks one.
    type: str
  addresses:
    description: CIDRs on the device. Omitted leaves them as they are; C([]) removes them all.
    type: list
    elements: str
  master:
    description: A bridge in I(netns) the device is a port of (a LAN segment); omitted, none.
    type: str
  up:
    description: C(false) keeps the device administratively down (the link cut at this end).
    type: bool
    default: true
  label:
    description: What the tunnel is for (a lab's link, C(r1:eth1 -- r2:eth1)); reported in results.
    type: str
  tunnels:
    description: Many tunnels in one call; each item takes the options above and I(state).
    type: list
    elements: dict
    suboptions:
      name: {description: "See top-level I(name).", type: str, required: true}
      netns: {description: "See top-level I(netns).", type: str}
      vni: {description: "See top-level I(vni).", type: int}
      local: {description: "See top-level I(local).", type: str}
      dev: {description: "See top-level I(dev).", type: str}
      port: {description: "See top-level I(port).", type: int, default: 4789}
      remotes: {description: "See top-level I(remotes).", type: list, elements: str}
      mtu: {description: "See top-level I(mtu).", type: int}
      mac: {description: "See top-level I(mac).", type: str}
      addresses: {description: "See top-level I(addresses).", type: list, elements: str}
      master: {description: "See top-level I(master).", type: str}
      up: {description: "See top-level I(up).", type: bool, default: true}
      label: {description: "See top-level I(label).", type: str}
      state: {description: "Overrides the top-level I(state) for this item.", type: str, choices: [present, absent]}
extends_documentation_fragment:
  - nsbridge.network.common
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Host A's end of a lab link r1:eth1 -- r2:eth1 (r2 runs on host B, 192.0.2.12)
  nsbridge.network.tunnel:
    name: eth1
    netns: r1
    vni: 1042
    local: 192.0.2.11
    remotes: [192.0.2.12]
    addresses: [10.1.0.1/30]

- name: A LAN segment's bridge on this host, joined to the two other hosts holding the segment
  nsbridge.network.tunnel:
    name: vx0
    netns: lab1-lan
    master: br0
    vni: 1043
    local: 192.0.2.11
    remotes: [192.0.2.12, 192.0.2.13]
'''

RETURN = r'''
tunnels:
  description: The tunnels after the run (or, in check mode, as they would be), in input order.
  returned: always
  type: list
  elements: dict
  sample: [{name: eth1, netns: r1, vni: 1042, local: 192.0.2.11, port: 4789, remotes: [192.0.2.12], mtu: 1450,
            up: true, addresses: [10.1.0.1/30], managed: true}]
results:
  description: Per requested tunnel, what was (or in check mode would be) done.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import run_module


def main():
    run_module(AnsibleModule, "tunnel")


if __name__ == "__main__":
    main()
