#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: veth
short_description: Create, converge or remove veth pairs between namespaces, bridges and the host
version_added: "0.1.0"
description:
  - Ensures a veth pair exists with I(name) in I(netns) (default the host) and I(peer) in I(peer_netns),
    both ends up, optionally with I(name) attached to a bridge, addresses on either end and a default
    route in the peer's namespace; or removes the pair.
  - A pair that exists but differs (wrong master, addresses, MTU, MAC, gateway) is converged in place;
    one whose peer is in another namespace or has another name is re-created.
  - Give one pair with the top-level options or many at once with I(pairs) (one call for hundreds of
    containers).
  - Pairs nsbridge creates carry the alias C(nsbridge:veth); C(state=absent) deletes only those.
options:
  name:
    description: The end that stays in I(netns) (at most 15 bytes). Required unless I(pairs) is given.
    type: str
  peer:
    description: The other end's name. Required with C(state=present).
    type: str
  peer_netns:
    description:
      - Namespace the peer end goes into; omitted keeps it beside I(name).
      - Must exist; nsbridge never creates it silently.
    type: str
  bridge:
    description: Bridge (in I(netns)) to attach I(name) to. Must exist.
    type: str
  hairpin:
    description: Hairpin mode on the bridge port, so traffic can return out of the port it came in on.
    type: bool
  addresses:
    description:
      - CIDRs on I(name), IPv4 and IPv6 alike. Omitted leaves them as they are; C([]) removes them all.
      - IPv6 addresses are added without duplicate address detection (C(nodad)), as container engines do, so
        they are usable when the module returns.
    type: list
    elements: str
  peer_addresses:
    description: CIDRs on I(peer). Omitted leaves them as they are; C([]) removes them all.
    type: list
    elements: str
  peer_gateway:
    description:
      - Default route in I(peer_netns) via this address, or one per IP family (C([10.10.0.1, fd00:10::1]));
        each must lie in one of I(peer_addresses) of its family.
    type: list
    elements: str
  mtu:
    description: MTU of both ends.
    type: int
  mac:
    description: MAC address of I(name).
    type: str
  peer_mac:
    description: MAC address of I(peer).
    type: str
  up:
    description:
      - C(false) keeps both ends administratively down (a lab's link cut, as Mininet's C(link r1 r2 down));
        C(true) brings them up again. The kernel drops a down end's IPv6 addresses and its routes unless the
        namespace keeps them (C(net.ipv6.conf.all.keep_addr_on_down), see M(nsbridge.network.netns)).
    type: bool
    default: true
    version_added: "0.4.0"
  pairs:
    description:
      - Many pairs in one call; each item takes the options above plus I(netns) and I(state).
    type: list
    elements: dict
    suboptions:
      name: {description: "See top-level I(name).", type: str, required: true}
      peer: {description: "See top-level I(peer).", type: str}
      netns: {description: "See top-level I(netns).", type: str}
      peer_netns: {description: "See top-level I(peer_netns).", type: str}
      bridge: {description: "See top-level I(bridge).", type: str}
      hairpin: {description: "See top-level I(hairpin).", type: bool}
      addresses: {description: "See top-level I(addresses).", type: list, elements: str}
      peer_addresses: {description: "See top-level I(peer_addresses).", type: list, elements: str}
      peer_gateway: {description: "See top-level I(peer_gateway).", type: list, elements: str}
      mtu: {description: "See top-level I(mtu).", type: int}
      mac: {description: "See top-level I(mac).", type: str}
      peer_mac: {description: "See top-level I(peer_mac).", type: str}
      up: {description: "See top-level I(up).", type: bool, default: true}
      state: {description: "Overrides the top-level I(state) for this item.", type: str, choices: [present, absent]}
extends_documentation_fragment:
  - nsbridge.network.common
  - nsbridge.network.common.netns
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: A container on br0 (the seeds' recipe in one task)
  nsbridge.network.veth:
    name: veth-web1
    peer: eth0
    peer_netns: web1
    bridge: br0
    peer_addresses: [10.10.0.10/16]
    peer_gateway: 10.10.0.1

- name: A dual-stack container
  nsbridge.network.veth:
    name: veth-web2
    peer: eth0
    peer_netns: web2
    bridge: br0
    peer_addresses: [10.10.0.11/16, "fd00:10::b/64"]
    peer_gateway: [10.10.0.1, "fd00:10::1"]

- name: Two namespaces joined directly
  nsbridge.network.veth:
    name: ceth0
    netns: ns0
    peer: ceth1
    peer_netns: ns1
    addresses: [172.18.0.10/24]
    peer_addresses: [172.18.0.11/24]

- name: Hundreds of containers in one call
  nsbridge.network.veth:
    pairs:
      - {name: vh-a, peer: eth0, peer_netns: a, bridge: br0, peer_addresses: [10.10.0.2/16], peer_gateway: 10.10.0.1}
      - {name: vh-b, peer: eth0, peer_netns: b, bridge: br0, peer_addresses: [10.10.0.3/16], peer_gateway: 10.10.0.1}
'''

RETURN = r'''
pairs:
  description: The pairs present after the run, as they are (or, in check mode, would be).
  returned: always
  type: list
  elements: dict
  sample:
    - name: veth-web1
      netns: null
      peer: eth0
      peer_netns: web1
      bridge: br0
      hairpin: false
      mtu: 1500
      addresses: []
      peer_addresses: [10.10.0.10/16]
      peer_gateway: [10.10.0.1]
      managed: true
results:
  description: Per requested pair, in input order, what was (or in check mode would be) done.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Name of the I(name) end.", type: str}
    item: {description: "Which input item this is (C(pairs[3]) or the name).", type: str}
    changed: {description: "Whether this item changed.", type: bool}
    actions: {description: "Steps run (empty in check mode).", type: list, elements: str}
    planned: {description: "Steps planned.", type: list, elements: str}
    before: {description: "State before (null if absent).", type: dict}
    after: {description: "State after (null if absent).", type: dict}
failed_item:
  description: On a failure part-way through a batch, the item that failed; items before it are done.
  returned: failure
  type: str
  sample: pairs[3]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import run_module


def main():
    run_module(AnsibleModule, "veth")


if __name__ == "__main__":
    main()
