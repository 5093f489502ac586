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
      - Return only this host's entry, with C(network) (its fleet network, which the roles plan after
        C(nsbridge_networks)) and C(calls) (the fleet role's module calls for it, from I(settings)).
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


def _said(fn, *args):
    try:
        return fn(*args)
    except ValidationError as exc:
        raise AnsibleFilterError("nsbridge.network fleet: %s" % exc) from None


def _host(part, settings, calls=True):
    """A host's part as the role keeps it: its routes and peers only inside its module calls (each
    host holds O(hosts) of the fleet, once)."""
    part["network"] = fleet_network(part, settings)
    if calls:
        part["calls"] = fleet_calls(part, settings, settings.get("state", "present"))
    for key in ("routes", "peers", "overlay_routes", "vtep"):
        part.pop(key, None)
    return part


def fleet_plan(hosts, hostvars, cidr, prefix=24, cidr6=None, prefix6=64, host=None, settings=None):
    """The fleet's allocation (module_utils/roles/fleet.py) for ``hosts``; with ``host``, only that
    host's entry, with the network it adds and the module calls of the fleet role (``settings``)."""
    plan = _said(fleet.fleet_plan, hosts, hostvars, cidr, prefix, cidr6, prefix6)
    if host is None:
        return plan
    settings = dict(settings or {}, cidr=cidr, cidr6=cidr6)
    return _said(_host, dict(plan[host]), settings)


def fleet_map(hosts, hostvars, settings, allocation=None, members=None):
    """The fleet once per play (run_once): every member's subnets, underlay addresses and containers'
    names, and the allocation file's text (module_utils/roles/fleet.py).  ``hosts`` None (the group
    nsbridge_fleet_group is not one of the inventory) is an error naming the variable."""
    if hosts is None and members is None:
        raise AnsibleFilterError("nsbridge.network fleet: %s is not a group of the inventory (or give the fleet's "
                                 "members in nsbridge_fleet_members)"
                                 % (settings or {}).get("members_from", "nsbridge_fleet_group"))
    return _said(lambda: fleet.fleet_map(fleet.members_from(hosts, hostvars, members), settings, allocation))


def _only(part, which):
    """All of a host's part, or (``which``) its ``summary`` (what the fleet role keeps as a fact: O(1) a host)
    or its module ``calls`` (O(hosts): taken in the task that applies them, never kept)."""
    if which is None:
        return part
    if which == "calls":
        return part["calls"]
    return {k: v for k, v in part.items() if k not in ("calls", "names")}


def fleet_host(fmap, host, settings, current=None, part=None):
    """One host's part of the fleet map: its subnets, routes or peers, the names of the other hosts'
    containers, its fleet network and the fleet role's module calls (``part``: only the summary
    or only the calls).  Without a map (a host leaving: nsbridge_state absent) from the subnets its
    bridge has (``current``), for the teardown.  A host outside the fleet, and a routed fleet's IPv6 with
    a host that has no IPv6 underlay address, are errors naming the host and the variable."""
    if part not in (None, "summary", "calls"):
        raise AnsibleFilterError("nsbridge.network fleet_host: part is summary or calls, not %r" % (part,))
    return _only(_fleet_host(fmap, host, settings, current, part), part)


def _fleet_host(fmap, host, settings, current, which):
    if fmap is None:
        have = fleet.current_subnets(current)
        part = {"subnet": str(have[4]) if 4 in have else None, "routes": [], "peers": [], "overlay_routes": [],
                "missing_underlay6": [], "names": [], "vtep": {"mac": None, "addresses": []}, "underlay": None}
        if 6 in have:
            part["subnet6"] = str(have[6])
        settings = dict(settings, cidr6=settings.get("cidr6") if 6 in have else None)
        part["calls"] = fleet_calls(part, settings, "absent")
        part["network"] = fleet_network(part, settings) if part["subnet"] else None
        return part
    part = _said(fleet.host_part, fmap, host, settings, which != "summary", which is None)
    if part["missing_underlay6"]:
        raise AnsibleFilterError(
            "nsbridge.network fleet: nsbridge_fleet_cidr6 in routed mode needs nsbridge_fleet_underlay6 (an IPv6 "
            "address on the underlay) for %s: Linux routes no IPv6 prefix via an IPv4 next hop (vxlan mode needs "
            "none: its overlay carries IPv6 over IPv4)" % ", ".join(part["missing_underlay6"]))
    return _said(_host, part, settings, which != "summary")


class FilterModule:
    def filters(self):
        return {"fleet_plan": fleet_plan, "fleet_map": fleet_map, "fleet_host": fleet_host}
