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
  - Gives every host in I(_input) a subnet of I(prefix) from I(cidr), deterministically and stably.
  - In order of precedence, a host keeps its per-host override (C(nsbridge_fleet_subnet)), then the subnet
    it already has (read from the host before planning), then gets the first free subnet at or after a
    position derived from a hash of its name. Adding a host therefore never renumbers an existing one.
  - Overrides that collide, subnets outside the range and an exhausted range are errors naming the hosts.
positional: hostvars, cidr, prefix
options:
  _input: {description: The hosts of the play., type: list, elements: str, required: true}
  hostvars: {description: C(hostvars)., type: dict, required: true}
  cidr: {description: The fleet range, e.g. C(10.200.0.0/16)., type: str, required: true}
  prefix: {description: Prefix length of each host's subnet., type: int, default: 24}
'''

EXAMPLES = r'''
fleet: "{{ ansible_play_hosts_all | nsbridge.network.fleet_plan(hostvars, '10.200.0.0/16', 24) }}"
'''

RETURN = r'''
_value:
  description: >-
    Per host, C(subnet), C(gateway), C(underlay), C(routes) (routed mode: the other hosts' subnets via their
    underlay addresses), C(vtep) (its VXLAN MAC and address), C(peers) and C(overlay_routes) (vxlan mode).
  type: dict
'''

import hashlib
import ipaddress
import json

from ansible.errors import AnsibleFilterError


def _fail(message):
    raise AnsibleFilterError("nsbridge.network fleet: %s" % message)


def _current(hostvars_of):
    """The subnet a host's fleet bridge already has (from the registered `ip -j addr` output)."""
    found = hostvars_of.get("_nsbridge_fleet_current") or {}
    try:
        for link in json.loads(found.get("stdout") or "[]"):
            for addr in link.get("addr_info", []):
                if addr.get("family") == "inet":
                    return ipaddress.ip_interface("%s/%s" % (addr["local"], addr["prefixlen"])).network
    except (ValueError, TypeError, KeyError):
        return None
    return None


def fleet_plan(hosts, hostvars, cidr, prefix=24):
    try:
        fleet = ipaddress.ip_network(cidr, strict=True)
    except (TypeError, ValueError):
        _fail("nsbridge_fleet_cidr %r is not an IPv4 network like 10.200.0.0/16" % (cidr,))
    prefix = int(prefix)
    if fleet.version != 4 or not fleet.prefixlen <= prefix <= 30:
        _fail("nsbridge_fleet_subnet_prefix /%d does not fit in %s (IPv4, /%d to /30)" % (prefix, fleet, fleet.prefixlen))
    slots = 2 ** (prefix - fleet.prefixlen)
    if len(hosts) > slots:
        _fail("%s has %d subnets of /%d; the %d hosts %s need one each"
              % (fleet, slots, prefix, len(hosts), ", ".join(sorted(hosts))))
    subnets = list(fleet.subnets(new_prefix=prefix)) if slots <= 65536 else None
    taken = {}
    out = {}

    def claim(host, subnet, why):
        if subnet.prefixlen != prefix or not subnet.subnet_of(fleet):
            _fail("host %s: %s %s is not a /%d inside %s" % (host, why, subnet, prefix, fleet))
        if subnet in taken:
            _fail("hosts %s and %s both claim %s (%s)" % (taken[subnet], host, subnet, why))
        taken[subnet] = host
        out[host] = subnet

    for host in sorted(hosts):
        override = hostvars[host].get("nsbridge_fleet_subnet")
        if override:
            try:
                claim(host, ipaddress.ip_network(override, strict=True), "nsbridge_fleet_subnet")
            except ValueError:
                _fail("host %s: nsbridge_fleet_subnet %r is not a network" % (host, override))
    for host in sorted(hosts):
        if host in out:
            continue
        current = _current(hostvars[host])
        if current is not None and current.prefixlen == prefix and current.subnet_of(fleet) and current not in taken:
            claim(host, current, "its current subnet")
    for host in sorted(hosts):
        if host in out:
            continue
        start = int(hashlib.sha256(host.encode()).hexdigest(), 16) % slots
        for step in range(slots):
            candidate = subnets[(start + step) % slots] if subnets else \
                ipaddress.ip_network((int(fleet.network_address) + ((start + step) % slots) * 2 ** (32 - prefix), prefix))
            if candidate not in taken:
                claim(host, candidate, "allocated")
                break
    result = {}
    for host in hosts:
        subnet = out[host]
        underlay = hostvars[host].get("nsbridge_fleet_underlay") or hostvars[host].get("ansible_host")
        try:
            underlay = str(ipaddress.IPv4Address(underlay))
        except (ValueError, TypeError):
            _fail("host %s: nsbridge_fleet_underlay (or ansible_host) %r is not an IPv4 address" % (host, underlay))
        result[host] = {"subnet": str(subnet), "gateway": str(subnet.network_address + 1), "underlay": underlay}
    for host in hosts:
        # the host's VXLAN endpoint: the subnet's network address (as flannel does) and a MAC
        # derived from the host name, so no host has to learn another's before configuring
        digest = hashlib.sha256(host.encode()).hexdigest()
        result[host]["vtep"] = {"mac": "02:6e:" + ":".join(digest[i:i + 2] for i in range(0, 8, 2)),
                                "address": str(out[host].network_address)}
    for host in hosts:
        others = [o for o in sorted(hosts) if o != host]
        # routed mode: every other host's subnet via its underlay address
        result[host]["routes"] = [{"dst": result[o]["subnet"], "via": result[o]["underlay"]} for o in others]
        # vxlan mode: the peers of this host's device, and routes through it
        result[host]["peers"] = [{"underlay": result[o]["underlay"], "mac": result[o]["vtep"]["mac"],
                                  "address": result[o]["vtep"]["address"]} for o in others]
        result[host]["overlay_routes"] = [{"dst": result[o]["subnet"], "via": result[o]["vtep"]["address"],
                                           "onlink": True} for o in others]
    return result


class FilterModule:
    def filters(self):
        return {"fleet_plan": fleet_plan}
