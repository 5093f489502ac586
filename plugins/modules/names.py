#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: names
short_description: What a network namespace's processes resolve - its own hosts file and resolv.conf
version_added: "0.4.0"
description:
  - Writes C(/etc/netns/NETNS/hosts) and C(/etc/netns/NETNS/resolv.conf), which C(ip netns exec NETNS) binds over
    C(/etc) for the processes it starts (workloads, a user's C(ip netns exec web1 curl http://db/)); the containers
    role mounts them into podman containers too. Names without a daemon, as Docker's embedded DNS gives them on
    user-defined networks.
  - Files are written in place (never renamed over), so a process that has them bound sees every change. Each
    starts with a mark line naming nsbridge (and the project); a file without it is never changed or removed.
  - C(resolv.conf) names the host's upstream resolvers - the first file of I(upstream_from) that names a
    nameserver a namespace can reach. A loopback stub (systemd-resolved's 127.0.0.53, a local dnsmasq) cannot be
    reached from a namespace, so C(/run/systemd/resolve/resolv.conf) is read next; with none, the run warns.
  - A namespace shares the host's hostname, so the hosts file names it last, as Docker names a container's
    hostname - at the namespace's own addresses (those of the entries that name the namespace, one of each
    family), else at 127.0.1.1 - unless an entry names it already. Without it, a program that resolves its own
    host name as it starts (C(python3 -m http.server), Java's C(InetAddress.getLocalHost)) asks the upstream
    resolver and waits for its answer.
options:
  netns:
    description: The namespace (its folder C(/etc/netns/NETNS)). Required unless I(namespaces) is given.
    type: str
  hosts:
    description: The hosts file's entries after the localhost lines, in order (a name is resolved on its first line).
    type: list
    elements: dict
    suboptions:
      address: {description: "IPv4 or IPv6 address.", type: str, required: true}
      names: {description: "Its names.", type: list, elements: str, required: true}
  resolv:
    description: C(upstream) names the host's upstream resolvers; C(none) names none (an internal network's containers).
    type: str
    choices: [upstream, none]
    default: upstream
  nameservers:
    description: Nameservers to name instead of the host's.
    type: list
    elements: str
  include:
    description: Names of lists in I(shared) whose entries this namespace's hosts file gets after its own.
    type: list
    elements: str
  shared:
    description:
      - Entries many namespaces share, given once (the fleet's containers on other hosts), as lists of
        C({address, names}) by name; an item's I(include) names the lists it gets.
    type: dict
    default: {}
  namespaces:
    description: Many namespaces in one call; each item takes I(netns), I(hosts), I(resolv), I(nameservers), I(state).
    type: list
    elements: dict
    suboptions:
      netns: {description: "See top-level I(netns).", type: str, required: true}
      hosts:
        description: "See top-level I(hosts)."
        type: list
        elements: dict
        suboptions:
          address: {description: "IPv4 or IPv6 address.", type: str, required: true}
          names: {description: "Its names.", type: list, elements: str, required: true}
      resolv: {description: "See top-level I(resolv).", type: str, choices: [upstream, none], default: upstream}
      nameservers: {description: "See top-level I(nameservers).", type: list, elements: str}
      include: {description: "See top-level I(include).", type: list, elements: str}
      state: {description: "Overrides the top-level I(state) for this item.", type: str, choices: [present, absent]}
  upstream_from:
    description: Where the host's upstream resolvers are read, in order.
    type: list
    elements: path
    default: [/etc/resolv.conf, /run/systemd/resolve/resolv.conf]
  root:
    description: The folder of the namespaces' files.
    type: path
    default: /etc/netns
extends_documentation_fragment:
  - nsbridge.network.common
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: web1 and db resolve each other
  nsbridge.network.names:
    namespaces:
      - netns: web1
        hosts:
          - {address: 10.10.0.10, names: [web1, web1.front]}
          - {address: 10.10.0.20, names: [db, database, db.front, database.front]}
      - netns: db
        hosts:
          - {address: 10.10.0.20, names: [db, database, db.front, database.front]}
          - {address: 10.10.0.10, names: [web1, web1.front]}
        resolv: none
'''

RETURN = r'''
names:
  description: Per namespace, its files, hosts entries and nameservers after the run.
  returned: always
  type: list
  elements: dict
results:
  description: Per namespace, in input order, what was (or in check mode would be) done.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import run_module


def main():
    run_module(AnsibleModule, "names")


if __name__ == "__main__":
    main()
