#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: network_info
short_description: Report what nsbridge made on a host (networks, containers, ports, NAT, fleet links)
version_added: "0.3.0"
description:
  - Reads the host the way C(docker network inspect) does for Docker, from the marks nsbridge keeps on what
    it creates (link alias and device group, the namespace's C(lo) alias, route protocol 78, the
    C(nsbridge <scope> <id> <i>/<n>) comments of firewall rules, workload records under C(/run/nsbridge)).
    Namespaces and links inside namespaces are included, which Ansible's facts do not see.
  - Never changes anything; check mode runs it the same way.
  - Given I(calls) (the description of the host a role passes to M(nsbridge.network.apply)), also reports
    how the host differs from it (C(drift)).
options:
  netns:
    description: Only these network namespaces are reported as containers.
    type: list
    elements: str
  bridge:
    description:
      - Only these bridges are reported as networks, only containers with an interface on one of them, and only
        the published ports, masquerades and isolation of their subnets.
    type: list
    elements: str
  include_foreign:
    description:
      - Also list bridges and namespaces nsbridge did not make, with C(managed=false) (Docker's C(docker0),
        podman's namespaces, a hand-made lab). Their details are read the same way; nothing is ever changed.
    type: bool
    default: false
  calls:
    description:
      - The module calls that describe the host (as M(nsbridge.network.apply) takes them); each is planned
        exactly as its module would in check mode and the differences are reported in C(drift).
    type: list
    elements: dict
    suboptions:
      module:
        description: The module's short name.
        type: str
        required: true
        choices: [bridge, veth, netns, nat_masquerade, port_publish, network_isolation, workload, route, vxlan, names, tunnel,
                  impairment]
      args:
        description: The module's arguments.
        type: dict
        default: {}
extends_documentation_fragment:
  - nsbridge.network.common.info
notes:
  - Firewall items are read from every backend that has rules of nsbridge's (iptables legacy tables, and
    C(table ip/ip6 nsbridge)); each entry names its C(backend).
  - The return value is an interface with a version (C(schema)); fields are only ever added within a version.
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: What is on this host?
  nsbridge.network.network_info:
  register: net

- name: Every container nsbridge made is running its workload
  ansible.builtin.assert:
    that: net.containers | map(attribute='workloads') | flatten | rejectattr('alive') | list | length == 0

- name: Is the host as the roles describe it? (drift without changing anything)
  nsbridge.network.network_info:
    calls: "{{ my_calls }}"
  register: net

- name: Only one network and its containers, with Docker's bridge shown beside it
  nsbridge.network.network_info:
    bridge: [br-front, docker0]
    include_foreign: true
'''

RETURN = r'''
schema:
  description: Version of this return value's layout (C(1)); fields are only added within a version.
  returned: always
  type: int
  sample: 1
networks:
  description: Bridges, sorted by name.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Bridge name.", type: str, sample: br-front}
    managed: {description: "True if nsbridge made it.", type: bool}
    project: {description: "The project it was made for (nsbridge.network.apply's C(project)); null if none.", type: str, version_added: "0.4.0"}
    addresses: {description: "Its addresses (the networks' gateways).", type: list, elements: str, sample: ["10.21.0.1/24"]}
    subnets: {description: "The networks of those addresses.", type: list, elements: str, sample: ["10.21.0.0/24"]}
    mtu: {description: "MTU.", type: int}
    mac: {description: "MAC address.", type: str}
    up: {description: "Administratively up.", type: bool}
    ports: {description: "Interfaces attached to it (veth host ends, VXLAN devices, NICs).", type: list, elements: str}
containers:
  description: Network namespaces, sorted by name (nsbridge's first, then with I(include_foreign) the others).
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Namespace name (C(/run/netns/NAME)).", type: str}
    managed: {description: "True if nsbridge made it.", type: bool}
    project: {description: "The project it was made for (nsbridge.network.apply's C(project)); null if none.", type: str, version_added: "0.4.0"}
    interfaces:
      description: Interfaces except C(lo).
      type: list
      elements: dict
      contains:
        name: {description: "Interface name inside the namespace.", type: str, sample: eth0}
        kind: {description: "Link kind (C(veth), C(vxlan), ...).", type: str}
        mac: {description: "MAC address.", type: str}
        mtu: {description: "MTU.", type: int}
        up: {description: "Administratively up.", type: bool}
        addresses: {description: "Global addresses, IPv4 first.", type: list, elements: str}
        host_peer: {description: "The veth's other end in the host namespace (null if elsewhere).", type: str}
        bridge: {description: "The bridge that other end is attached to (null if none).", type: str}
        vni: {description: "A tunnel's VNI (nsbridge.network.tunnel; only for its devices).", type: int, version_added: "0.4.0"}
        local: {description: "A tunnel's underlay address on the host.", type: str, version_added: "0.4.0"}
        remotes: {description: "A tunnel's flood list, the other ends' underlay addresses.", type: list, elements: str, version_added: "0.4.0"}
    routes:
      description: Routes of the main table.
      type: list
      elements: dict
      contains:
        dst: {description: "Prefix or C(default).", type: str}
        via: {description: "Next hop (null for on-link).", type: str}
        dev: {description: "Outgoing interface.", type: str}
        family: {description: "4 or 6.", type: int}
    names:
      description: The files nsbridge.network.names keeps for it in C(/etc/netns/NAME) (C(hosts), C(resolv.conf)).
      type: list
      elements: str
      version_added: "0.4.0"
    workloads:
      description: Workloads nsbridge.network.workload runs in it.
      type: list
      elements: dict
      contains:
        name: {description: "Workload name.", type: str}
        pid: {description: "Process (group) id recorded at start.", type: int}
        alive: {description: "True if that process still runs, in this namespace.", type: bool}
        command: {description: "The command.", type: list, elements: str}
        project: {description: "The project it was made for (nsbridge.network.apply's C(project)); null if none.", type: str, version_added: "0.4.0"}
    stale:
      description: Only for a bare C(/run/netns) file left by an interrupted creation (with I(include_foreign)).
      type: bool
      returned: when true
labs:
  description: The labs (role nsbridge.network.lab) this host holds part of, by their records, as the kernel has them now.
  returned: always
  type: list
  elements: dict
  version_added: "0.4.0"
  contains:
    name: {description: "The lab's name.", type: str}
    project: {description: "The project it was made for.", type: str}
    nodes: {description: "Its nodes on this host (namespaces; see C(containers) for their interfaces and routes).", type: list, elements: str}
    switches: {description: "Its LAN segments' switch namespaces on this host.", type: list, elements: str}
    links:
      description:
        - "Its links here: C(veth) (C(ends), both on this host), C(tunnel) (C(ends), this host's end; C(vni), C(local),
          C(remotes), the other hosts' underlay addresses), C(lan) (C(switch), the local C(ends), C(tunnel) to the
          other hosts of the segment or null); each with C(up) and C(mtu) where it has them."
      type: list
      elements: dict
    impairments:
      description: "Each impaired end (C(end), C(NODE:INTERFACE)): C(qdisc), C(rate), C(netem), C(loss), C(loss_by) (C(netem) or C(nftables))."
      type: list
      elements: dict
published:
  description: Published ports, per backend, sorted by backend and scope.
  returned: always
  type: list
  elements: dict
  contains:
    backend: {description: "C(iptables) or C(nftables).", type: str}
    family: {description: "4 or 6.", type: int}
    protocol: {description: "C(tcp), C(udp) or C(sctp).", type: str}
    host_ip: {description: "Host address it is published on (null for every address).", type: str}
    host_port: {description: "Host port, or C(first-last) for a range.", type: raw, sample: 8080}
    destination: {description: "Container address, read from the DNAT rule.", type: str, sample: 10.21.0.10}
    destination_port: {description: "Container port, read from the DNAT rule.", type: int, sample: 8000}
    connections:
      description: Connections DNATed to the destination since the rules were written (from other machines, containers, the host).
      type: int
    id: {description: "The item id in the rules' comments (a list if rules of several ids are found).", type: raw}
    rules: {description: "How many rules carry it.", type: int}
    complete: {description: "True if exactly rules 1/n..n/n of one id are there, once each.", type: bool}
    families: {description: "IP families of its rules.", type: list, elements: int}
    scope: {description: "The scope in the rules' comments (C(publish:tcp:*:8080)).", type: str}
    project: {description: "The project it was made for (nsbridge.network.apply's C(project)); null if none.", type: str, version_added: "0.4.0"}
masquerades:
  description: Masqueraded (or, with C(nat=false), routed) source networks, per backend.
  returned: always
  type: list
  elements: dict
  contains:
    backend: {description: "C(iptables) or C(nftables).", type: str}
    source: {description: "Source network.", type: str, sample: 10.21.0.0/24}
    nat: {description: "False for a routed network (forward accepts only).", type: bool}
    id: {description: "Item id.", type: raw}
    rules: {description: "How many rules carry it.", type: int}
    complete: {description: "As for C(published).", type: bool}
    families: {description: "IP families of its rules.", type: list, elements: int}
    scope: {description: "The scope in the rules' comments.", type: str}
    project: {description: "The project it was made for (nsbridge.network.apply's C(project)); null if none.", type: str, version_added: "0.4.0"}
isolation:
  description: Isolated bridges, per backend.
  returned: always
  type: list
  elements: dict
  contains:
    backend: {description: "C(iptables) or C(nftables).", type: str}
    bridge: {description: "The bridge nothing crosses from to another nsbridge bridge.", type: str}
    id: {description: "Item id.", type: raw}
    rules: {description: "How many rules carry it.", type: int}
    complete: {description: "As for C(published).", type: bool}
    families: {description: "IP families of its rules.", type: list, elements: int}
    scope: {description: "The scope in the rules' comments.", type: str}
    project: {description: "The project it was made for (nsbridge.network.apply's C(project)); null if none.", type: str, version_added: "0.4.0"}
routes:
  description: Routes nsbridge made in the host namespace (protocol 78), e.g. a fleet's routes to other hosts.
  returned: always
  type: list
  elements: dict
  contains:
    dst: {description: "Prefix.", type: str, sample: 10.200.2.0/24}
    via: {description: "Next hop.", type: str, sample: 192.168.78.12}
    dev: {description: "Outgoing interface.", type: str}
    metric: {description: "Metric.", type: int}
    family: {description: "4 or 6.", type: int}
vxlan:
  description: VXLAN devices nsbridge made in the host namespace and their peers.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: "Device name.", type: str}
    vni: {description: "VXLAN network identifier.", type: int}
    local: {description: "Local underlay address.", type: str}
    port: {description: "UDP port.", type: int}
    dev: {description: "Underlay device (null if unbound).", type: str}
    mtu: {description: "MTU.", type: int}
    mac: {description: "MAC address.", type: str}
    addresses: {description: "Its overlay addresses.", type: list, elements: str}
    peers:
      description: Peers from its permanent neighbour and forwarding entries.
      type: list
      elements: dict
      contains:
        underlay: {description: "The peer host's underlay address.", type: str}
        mac: {description: "The peer's VXLAN MAC.", type: str}
        addresses: {description: "The peer's overlay addresses.", type: list, elements: str}
drift:
  description: With I(calls), how the host differs from them.
  returned: when calls are given
  type: dict
  contains:
    changed: {description: "True if anything is missing, differs or is extra.", type: bool}
    missing:
      description: Items the calls describe that do not exist (C(module), C(call), C(item), C(name), C(want)).
      type: list
      elements: dict
    differs:
      description: Items that exist but not as described (C(module), C(call), C(item), C(name), C(have), C(want)).
      type: list
      elements: dict
    extra:
      description:
        - What nsbridge made that the calls say should be absent, or that no call names although calls of the
          same module are there (C(module), C(name), C(have); C(call) and C(item) null for the latter).
      type: list
      elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import calls_option
from ansible_collections.nsbridge.network.plugins.module_utils.calls.drift import drift_report
from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import NsbridgeError
from ansible_collections.nsbridge.network.plugins.module_utils.day2.report import host_report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            netns=dict(type="list", elements="str"),
            bridge=dict(type="list", elements="str"),
            include_foreign=dict(type="bool", default=False),
            calls=calls_option(required=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        report = host_report(params["netns"], params["bridge"], params["include_foreign"])
        if params["calls"] is not None:
            report["drift"] = drift_report(params["calls"], report)
    except NsbridgeError as exc:
        module.fail_json(msg="nsbridge.network.network_info: %s" % exc)
        return
    module.exit_json(changed=False, **report)


if __name__ == "__main__":
    main()
