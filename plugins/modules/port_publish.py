#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: port_publish
short_description: Publish container ports on the host, as Docker's -p does
version_added: "0.1.0"
description:
  - DNATs traffic to the host's I(host_port) (on any local address, or only I(host_ip)) to
    I(destination):I(destination_port), for traffic from other machines (PREROUTING) and, with I(local),
    from the host itself (OUTPUT), and accepts it in FORWARD so it works under a FORWARD policy of DROP.
  - With I(bridge), a container on that bridge can reach the published port at the host's address
    (hairpin); such traffic is marked and masqueraded so the reply comes back through the host.
  - With I(localhost), C(127.0.0.1:host_port) works on the host too (C(route_localnet) on I(bridge)), and a
    filter rule drops any packet to 127.0.0.0/8 that arrives from another machine.
  - A range C(8080-8090) maps one-to-one onto an equally long I(destination_port) range.
  - I(destination) may be IPv4 or IPv6; an IPv6 destination is published on the host's IPv6 addresses (or only
    I(host_ip), which must be of the same family), from outside, from the host itself and hairpin, like IPv4.
    Publishing the same port for an IPv4 and an IPv6 destination takes two items (as Docker's C(-p 8080:80)
    does on a dual-stack network).
  - Re-publishing a UDP or SCTP port flushes its conntrack entries, so traffic reaches the new destination.
  - A port a program of the host listens on (TCP, or an unconnected UDP socket, at an address the port would be
    published on) is refused, naming the program, before anything changes, as Docker refuses it (C(address already
    in use)), since the program would silently stop getting those connections. A port published already, and the
    restore program putting back what a record held at boot, only warn. SCTP listeners are not looked for.
  - Enables forwarding for the destination's family (C(net.ipv4.ip_forward), C(net.ipv6.conf.all.forwarding);
    see M(nsbridge.network.nat_masquerade) for what IPv6 forwarding does to C(accept_ra)), as Docker does; when
    the last port and masquerade of that family are gone, the sysctl is put back if nsbridge changed it.
  - Give one port with the top-level options, or many with I(ports); one transaction per call.
options:
  host_port:
    description: Port or range (C(8080), C(8080-8090)) on the host. Required unless I(ports) is given.
    type: raw
  destination:
    description: The container's IPv4 or IPv6 address. Required with C(state=present).
    type: str
  destination_port:
    description: Port or range in the container; default the same as I(host_port).
    type: raw
  protocol:
    description: Transport protocol.
    type: str
    choices: [tcp, udp, sctp]
    default: tcp
  host_ip:
    description: Publish only on this host address (default all local addresses of the destination's family).
    type: str
  bridge:
    description: The bridge the container sits on (enables hairpin).
    type: str
  local:
    description: The host itself can reach the published port (OUTPUT chain DNAT).
    type: bool
    default: true
  localhost:
    description:
      - Also reachable at C(127.0.0.1:host_port) on the host; needs I(bridge). IPv4 only; an IPv6 destination
        with I(localhost) is an error (Linux has no C(route_localnet) for C(::1)).
    type: bool
    default: false
  ports:
    description: Many ports in one call; each item takes the options above and I(state).
    type: list
    elements: dict
    suboptions:
      host_port: {description: "See top-level I(host_port).", type: raw, required: true}
      destination: {description: "See top-level I(destination).", type: str}
      destination_port: {description: "See top-level I(destination_port).", type: raw}
      protocol: {description: "See top-level I(protocol).", type: str, choices: [tcp, udp, sctp], default: tcp}
      host_ip: {description: "See top-level I(host_ip).", type: str}
      bridge: {description: "See top-level I(bridge).", type: str}
      local: {description: "See top-level I(local).", type: bool, default: true}
      localhost: {description: "See top-level I(localhost).", type: bool, default: false}
      state: {description: "Overrides the top-level I(state) for this item.", type: str, choices: [present, absent]}
extends_documentation_fragment:
  - nsbridge.network.common
  - nsbridge.network.common.firewall
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: docker run -p 8080:80
  nsbridge.network.port_publish:
    host_port: 8080
    destination: 10.10.0.10
    destination_port: 80
    bridge: br0

- name: docker run -p 8080:80 on a dual-stack network (one item per family)
  nsbridge.network.port_publish:
    ports:
      - {host_port: 8080, destination: 10.10.0.10, destination_port: 80, bridge: br0}
      - {host_port: 8080, destination: "fd00:10::a", destination_port: 80, bridge: br0}

- name: A UDP range on one host address
  nsbridge.network.port_publish:
    host_port: 5000-5009
    destination: 10.10.0.11
    protocol: udp
    host_ip: 192.168.1.10

- name: Many at once
  nsbridge.network.port_publish:
    ports:
      - {host_port: 8081, destination: 10.10.0.12, destination_port: 80, bridge: br0}
      - {host_port: 8082, destination: 10.10.0.13, destination_port: 80, bridge: br0, localhost: true}

- name: Unpublish
  nsbridge.network.port_publish:
    host_port: 8080
    state: absent
'''

RETURN = r'''
backend:
  description: The backend used (C(auto) resolved).
  returned: always
  type: str
  sample: iptables
published:
  description:
    - Per present item, C(id) (a digest of its spec, carried in its rules' comments) and C(count) (its
      number of rules); C(rules), its rules as iptables-like lines, when this run changes (or would change) it.
    - An item already in place is checked by id without generating its rules.
  returned: always
  type: list
  elements: dict
results:
  description: Per requested item, in input order, what was (or in check mode would be) done.
  returned: always
  type: list
  elements: dict
failed_item:
  description: On failure, the item (or C(transaction)) that failed; a failed commit applies nothing.
  returned: failure
  type: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import run_module


def main():
    run_module(AnsibleModule, "port_publish")


if __name__ == "__main__":
    main()
