# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``nsbridge.network.fleet_plan`` filter: one container subnet per fleet host."""

from __future__ import annotations

DOCUMENTATION = r'''
name: fleet_plan
short_description: Allocate each fleet host its own container subnet from one fleet range
version_added: "0.1.0"
description:
  - Gives every host in I(_input) a subnet of I(prefix) from I(cidr) (and with I(cidr6) one of I(prefix6) from
    it), deterministically and stably.
  - In order of precedence, a host keeps its per-host override (C(nsbridge_fleet_subnet)), then the subnet
    it already has (read from the host before planning), then gets the first free subnet at or after a
    position derived from a hash of its name. Adding a host therefore never renumbers an existing one.
  - Overrides that collide, subnets outside the range and an exhausted range are errors naming the hosts.
positional: hostvars, cidr, prefix, cidr6, prefix6, host, settings
options:
  _input:
    description: The hosts of the play.
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars).
    type: dict
    required: true
  cidr:
    description: The fleet range, for example C(10.200.0.0/16).
    type: str
    required: true
  prefix:
    description: Prefix length of each host's subnet.
    type: int
    default: 24
  cidr6:
    description: The fleet's IPv6 range, for example C(fd00:200::/48); each host gets an IPv6 subnet of it too.
    type: str
    version_added: "0.3.0"
  prefix6:
    description: Prefix length of each host's IPv6 subnet.
    type: int
    default: 64
    version_added: "0.3.0"
  host:
    description:
      - Return only this host's entry, with C(network) (the fleet network it adds to C(nsbridge_networks)) and
        C(calls) (the fleet role's module calls for it, from I(settings)).
    type: str
    version_added: "0.4.0"
  settings:
    description:
      - With I(host), the fleet role's settings - C(mode), C(state), C(network), C(bridge), C(vxlan_device), C(vni),
        C(vxlan_port), C(mtu).
    type: dict
    version_added: "0.4.0"
'''

EXAMPLES = r'''
fleet: "{{ ansible_play_hosts_all | nsbridge.network.fleet_plan(hostvars, '10.200.0.0/16', 24) }}"
# one host's part, with its fleet network and the fleet role's module calls
me: "{{ ansible_play_hosts_all | nsbridge.network.fleet_plan(hostvars, '10.200.0.0/16', 24, host=inventory_hostname,
        settings={'mode': 'routed', 'state': 'present', 'network': 'fleet', 'bridge': 'nsb-fleet', 'mtu': 1450}) }}"
'''

RETURN = r'''
_value:
  description: >-
    Per host, C(subnet), C(gateway), C(underlay) (and with I(cidr6) C(subnet6), C(gateway6), C(underlay6)),
    C(routes) (routed mode: the other hosts' subnets via their underlay addresses), C(missing_underlay6) (hosts
    an IPv6 route cannot reach in routed mode), C(vtep) (its VXLAN MAC and addresses), C(peers) and
    C(overlay_routes) (vxlan mode). With I(host), that host's entry alone, plus C(network) and C(calls).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import ValidationError
from ansible_collections.nsbridge.network.plugins.module_utils.roles import fleet
from ansible_collections.nsbridge.network.plugins.module_utils.roles.calls import fleet_calls, fleet_network


def fleet_plan(hosts, hostvars, cidr, prefix=24, cidr6=None, prefix6=64, host=None, settings=None):
    """The fleet's allocation (module_utils/roles/fleet.py); with ``host``, only that host's entry,
    with the network it adds and the module calls of the fleet role (``settings``: the role's)."""
    try:
        plan = fleet.fleet_plan(hosts, hostvars, cidr, prefix, cidr6, prefix6)
        if host is None:
            return plan
        me = dict(plan[host])
        settings = dict(settings or {}, cidr=cidr, cidr6=cidr6)
        me["network"] = fleet_network(me, settings)
        me["calls"] = fleet_calls(me, settings, settings.get("state", "present"))
        return me
    except ValidationError as exc:
        raise AnsibleFilterError("nsbridge.network fleet: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"fleet_plan": fleet_plan}
