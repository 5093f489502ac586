#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: bridge
short_description: Create, converge or remove Linux bridges
version_added: "0.1.0"
description:
  - Ensures a Linux bridge exists with the given addresses, MTU, STP setting and ports, up; or removes it.
  - Give one bridge with the top-level options, or many at once with I(bridges).
  - A bridge nsbridge creates carries the alias C(nsbridge:bridge); C(state=absent) deletes only those.
  - An existing link of another kind with the same name is an error.
options:
  name:
    description: Bridge name (at most 15 bytes). Required unless I(bridges) is given.
    type: str
  addresses:
    description:
      - Addresses with prefix length on the bridge, e.g. C(10.10.0.1/16) (the containers' gateway).
      - Omitted leaves the bridge's addresses as they are; C([]) removes them all.
    type: list
    elements: str
  mtu:
    description: MTU of the bridge; omitted leaves it as it is.
    type: int
  stp:
    description: Spanning tree on the bridge (Docker's bridges run without it).
    type: bool
    default: false
  mac:
    description:
      - MAC address of the bridge, e.g. the address of the NIC it replaces in a bridged LAN.
      - Omitted, a new bridge gets a random locally administered address, set explicitly so that it
        never follows its ports (a bridge left to the kernel takes its lowest port's address and changes
        it whenever a port joins or leaves, and every container's ARP entry for its gateway goes stale);
        an existing bridge keeps its address.
    type: str
    version_added: "0.2.0"
  ports:
    description:
      - Existing interfaces to enslave to the bridge and set up (e.g. physical NICs, as in a VirtualBox
        bridged lab). Additive; ports not listed stay as they are (veth ends come from M(nsbridge.network.veth)).
    type: list
    elements: str
  bridges:
    description:
      - Many bridges in one call; each item takes the options above (I(name), I(addresses), I(mtu),
        I(stp), I(mac), I(ports), I(netns), I(state)).
    type: list
    elements: dict
    suboptions:
      name: {description: "Bridge name.", type: str, required: true}
      addresses: {description: "See top-level I(addresses).", type: list, elements: str}
      mtu: {description: "See top-level I(mtu).", type: int}
      stp: {description: "See top-level I(stp).", type: bool, default: false}
      mac: {description: "See top-level I(mac).", type: str, version_added: "0.2.0"}
      ports: {description: "See top-level I(ports).", type: list, elements: str}
      netns: {description: "See top-level I(netns).", type: str}
      state: {description: "Overrides the top-level I(state) for this item.", type: str, choices: [present, absent]}
extends_documentation_fragment:
  - nsbridge.network.common
  - nsbridge.network.common.netns
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Docker-style bridge with the containers' gateway address
  nsbridge.network.bridge:
    name: br0
    addresses: [10.10.0.1/16]

- name: Two bridges in one call, one pure L2 without an address
  nsbridge.network.bridge:
    bridges:
      - {name: br-front, addresses: [172.20.0.1/24]}
      - {name: br-l2, addresses: []}

- name: Bridge two existing interfaces (two LAN segments)
  nsbridge.network.bridge:
    name: br-lan
    ports: [eth1, eth2]

- name: Remove it
  nsbridge.network.bridge:
    name: br0
    state: absent
'''

RETURN = r'''
bridges:
  description: The bridges present after the run, as they are (or, in check mode, would be).
  returned: always
  type: list
  elements: dict
  sample: [{name: br0, netns: null, addresses: [10.10.0.1/16], mtu: 1500, stp: false, mac: "02:5e:91:c4:0a:17", up: true, ports: [veth1], managed: true}]
results:
  description: Per requested bridge, in input order, what was (or in check mode would be) done.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Bridge name.", type: str}
    item: {description: "Which input item this is (C(bridges[2]) or the name).", type: str}
    changed: {description: "Whether this item changed.", type: bool}
    actions: {description: "Steps run (empty in check mode).", type: list, elements: str}
    planned: {description: "Steps planned.", type: list, elements: str}
    before: {description: "State before (null if absent).", type: dict}
    after: {description: "State after (null if absent).", type: dict}
failed_item:
  description: On a failure part-way through a batch, the item that failed; items before it are done.
  returned: failure
  type: str
  sample: bridges[3]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import run_module


def main():
    run_module(AnsibleModule, "bridge")


if __name__ == "__main__":
    main()
