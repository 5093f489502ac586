#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: nat_masquerade
short_description: Egress NAT for container networks, as Docker does it
version_added: "0.1.0"
description:
  - Masquerades traffic from I(source) leaving through any interface but I(bridge)
    (Docker's C(-s SUBNET ! -o BRIDGE -j MASQUERADE)), or only through I(out_interface).
  - I(source) may be an IPv4 or an IPv6 network; an IPv6 one is masqueraded with NAT66 in the IPv6 tables, as
    Docker does for ULA subnets. With I(routed), the network keeps its own addresses (no NAT, forward accepts
    only), for routable prefixes.
  - With I(forward), adds the filter accepts that make the network work under a FORWARD policy of DROP,
    namely new traffic out of the bridge, related/established traffic back in, and traffic within the bridge.
  - With I(ip_forward), enables forwarding for the family of I(source) (C(net.ipv4.ip_forward),
    C(net.ipv6.conf.all.forwarding)); C(state=absent) of the last masquerade and published port of that
    family puts the sysctl back to what it was if nsbridge changed it.
  - Turning IPv6 forwarding on makes Linux ignore router advertisements on interfaces with C(accept_ra=1),
    which would silently take the host's own SLAAC default route away; those interfaces (other than C(lo) and
    nsbridge's own links) are raised to C(accept_ra=2), as Docker does, and put back with the forwarding.
  - Give one network with the top-level options, or many with I(networks); all changes of one call are
    committed as one transaction.
options:
  source:
    description: The container network, e.g. C(10.10.0.0/16) or C(fd00:10::/64). Required unless I(networks) is given.
    type: str
  bridge:
    description: The network's bridge; traffic leaving through any other interface is masqueraded.
    type: str
  out_interface:
    description: Masquerade only traffic leaving through this interface (instead of "not the bridge").
    type: str
  forward:
    description: Add the FORWARD accepts for this network (see description).
    type: bool
    default: true
  routed:
    description:
      - Route the network with its own addresses instead of masquerading it (no NAT rules; the FORWARD accepts
        of I(forward) only), e.g. for an IPv6 prefix that is routed to this host.
    type: bool
    default: false
    version_added: "0.3.0"
  exclude:
    description:
      - Destinations reached with the containers' own addresses, not masqueraded (e.g. a fleet's container
        range, so containers on other hosts see the sender's address). Same IP family as I(source).
    type: list
    elements: str
  accept_from:
    description:
      - Networks allowed to open connections into the bridge through FORWARD (e.g. the fleet range, for
        other hosts' containers). Needs I(bridge). Same IP family as I(source).
    type: list
    elements: str
  ip_forward:
    description: Enable forwarding for the family of each present I(source) (in I(netns) if given).
    type: bool
    default: true
  networks:
    description: Many networks in one call (either family); each item takes the options above and I(state).
    type: list
    elements: dict
    suboptions:
      source: {description: "See top-level I(source).", type: str, required: true}
      bridge: {description: "See top-level I(bridge).", type: str}
      out_interface: {description: "See top-level I(out_interface).", type: str}
      forward: {description: "See top-level I(forward).", type: bool, default: true}
      routed: {description: "See top-level I(routed).", type: bool, default: false, version_added: "0.3.0"}
      exclude: {description: "See top-level I(exclude).", type: list, elements: str}
      accept_from: {description: "See top-level I(accept_from).", type: list, elements: str}
      state: {description: "Overrides the top-level I(state) for this item.", type: str, choices: [present, absent]}
extends_documentation_fragment:
  - nsbridge.network.common
  - nsbridge.network.common.firewall
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Docker's default bridge egress
  nsbridge.network.nat_masquerade:
    source: 10.10.0.0/16
    bridge: br0

- name: Dual-stack, the IPv6 prefix routed without NAT
  nsbridge.network.nat_masquerade:
    networks:
      - {source: 10.10.0.0/16, bridge: br0}
      - {source: "2001:db8:10::/64", bridge: br0, routed: true}

- name: Many networks at once, on the nftables backend
  nsbridge.network.nat_masquerade:
    backend: nftables
    networks:
      - {source: 172.20.0.0/24, bridge: br-front}
      - {source: 172.21.0.0/24, bridge: br-back}

- name: Inside a router namespace, out of its uplink only
  nsbridge.network.nat_masquerade:
    netns: router
    source: 192.168.50.0/24
    out_interface: uplink

- name: Remove
  nsbridge.network.nat_masquerade:
    source: 10.10.0.0/16
    state: absent
'''

RETURN = r'''
backend:
  description: The backend used (C(auto) resolved).
  returned: always
  type: str
  sample: nftables
masquerades:
  description:
    - Per present network, C(id) (a digest of its spec, carried in its rules' comments) and C(count) (its
      number of rules); C(rules), its rules as iptables-like lines, when this run changes (or would change) it.
    - An item already in place is checked by id without generating its rules.
  returned: always
  type: list
  elements: dict
  sample: [{rules: ["-A postrouting -s 10.10.0.0/16 ! -o br0 -j MASQUERADE"]}]
results:
  description: Per requested network, in input order, what was (or in check mode would be) done.
  returned: always
  type: list
  elements: dict
ip_forward:
  description: True when forwarding is (or in check mode would be) enabled by this call.
  returned: when ip_forward is true and a network is present
  type: bool
failed_item:
  description: On failure, the item (or C(transaction)) that failed; a failed commit applies nothing.
  returned: failure
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import run_module


def main():
    run_module(AnsibleModule, "nat_masquerade")


if __name__ == "__main__":
    main()
