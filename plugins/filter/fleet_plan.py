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
positional: hostvars, cidr, prefix, cidr6, prefix6
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
'''

EXAMPLES = r'''
fleet: "{{ ansible_play_hosts_all | nsbridge.network.fleet_plan(hostvars, '10.200.0.0/16', 24) }}"
'''

RETURN = r'''
_value:
  description: >-
    Per host, C(subnet), C(gateway), C(underlay) (and with I(cidr6) C(subnet6), C(gateway6), C(underlay6)),
    C(routes) (routed mode: the other hosts' subnets via their underlay addresses), C(missing_underlay6) (hosts
    an IPv6 route cannot reach in routed mode), C(vtep) (its VXLAN MAC and addresses), C(peers) and
    C(overlay_routes) (vxlan mode).
  type: dict
'''

import hashlib
import ipaddress
import json

from ansible.errors import AnsibleFilterError


def _fail(message):
    raise AnsibleFilterError("nsbridge.network fleet: %s" % message)


def _current(hostvars_of, version):
    """The subnet of ``version`` a host's fleet bridge already has (from the registered `ip -j addr`)."""
    found = hostvars_of.get("_nsbridge_fleet_current") or {}
    family = "inet" if version == 4 else "inet6"
    try:
        for link in json.loads(found.get("stdout") or "[]"):
            for addr in link.get("addr_info", []):
                if addr.get("family") == family and addr.get("scope") == "global":
                    return ipaddress.ip_interface("%s/%s" % (addr["local"], addr["prefixlen"])).network
    except (ValueError, TypeError, KeyError):
        return None
    return None


# per family: the variables that describe it (for the error messages) and the smallest subnet
FAMILY_VARS = {4: ("nsbridge_fleet_cidr", "nsbridge_fleet_subnet_prefix", "nsbridge_fleet_subnet", 30),
               6: ("nsbridge_fleet_cidr6", "nsbridge_fleet_subnet_prefix6", "nsbridge_fleet_subnet6", 120)}


def _allocate(hosts, hostvars, cidr, prefix, version):
    """{host: subnet}: the override first, then the subnet the host already has, then a stable slot
    (a hash of its name, the first free one after it): adding a host renumbers nobody."""
    cidr_var, prefix_var, override_var, smallest = FAMILY_VARS[version]
    try:
        fleet = ipaddress.ip_network(cidr, strict=True)
    except (TypeError, ValueError):
        fleet = None
    if fleet is None or fleet.version != version:
        _fail("%s %r is not an IPv%d network" % (cidr_var, cidr, version))
    prefix = int(prefix)
    if not fleet.prefixlen <= prefix <= smallest:
        _fail("%s /%d does not fit in %s (IPv%d, /%d to /%d)" % (prefix_var, prefix, fleet, version, fleet.prefixlen,
                                                                 smallest))
    slots = 2 ** (prefix - fleet.prefixlen)
    if len(hosts) > slots:
        _fail("%s has %d subnets of /%d; the %d hosts %s need one each"
              % (fleet, slots, prefix, len(hosts), ", ".join(sorted(hosts))))
    step_size = 2 ** (fleet.max_prefixlen - prefix)
    taken, out = {}, {}

    def claim(host, subnet, why):
        if subnet.prefixlen != prefix or subnet.version != version or not subnet.subnet_of(fleet):
            _fail("host %s: %s %s is not a /%d inside %s" % (host, why, subnet, prefix, fleet))
        if subnet in taken:
            _fail("hosts %s and %s both claim %s (%s)" % (taken[subnet], host, subnet, why))
        taken[subnet] = host
        out[host] = subnet

    for host in sorted(hosts):
        override = hostvars[host].get(override_var)
        if override:
            try:
                claim(host, ipaddress.ip_network(override, strict=True), override_var)
            except ValueError:
                _fail("host %s: %s %r is not a network" % (host, override_var, override))
    for host in sorted(hosts):
        current = _current(hostvars[host], version) if host not in out else None
        if current is not None and current.prefixlen == prefix and current.subnet_of(fleet) and current not in taken:
            claim(host, current, "its current subnet")
    for host in sorted(hosts):
        if host in out:
            continue
        start = int(hashlib.sha256(host.encode()).hexdigest(), 16) % slots
        for step in range(slots):
            candidate = ipaddress.ip_network((int(fleet.network_address) + ((start + step) % slots) * step_size, prefix))
            if candidate not in taken:
                claim(host, candidate, "allocated")
                break
    return out


def _address(value, version, host, var):
    try:
        address = ipaddress.ip_address(value)
    except (ValueError, TypeError):
        address = None
    if address is None or address.version != version:
        _fail("host %s: %s %r is not an IPv%d address" % (host, var, value, version))
    return str(address)


def fleet_plan(hosts, hostvars, cidr, prefix=24, cidr6=None, prefix6=64):
    subnets = _allocate(hosts, hostvars, cidr, prefix, 4)
    subnets6 = _allocate(hosts, hostvars, cidr6, prefix6, 6) if cidr6 else {}
    result = {}
    for host in hosts:
        subnet = subnets[host]
        underlay = _address(hostvars[host].get("nsbridge_fleet_underlay") or hostvars[host].get("ansible_host"), 4,
                            host, "nsbridge_fleet_underlay (or ansible_host)")
        underlay6 = hostvars[host].get("nsbridge_fleet_underlay6")
        # the host's VXLAN endpoint: the subnets' network addresses (as flannel does) and a MAC derived
        # from the host name, so no host has to learn another's before configuring
        digest = hashlib.sha256(host.encode()).hexdigest()
        vtep = {"mac": "02:6e:" + ":".join(digest[i:i + 2] for i in range(0, 8, 2)),
                "address": str(subnet.network_address), "addresses": [str(subnet.network_address)]}
        entry = {"subnet": str(subnet), "gateway": str(subnet.network_address + 1), "underlay": underlay, "vtep": vtep}
        if cidr6:
            subnet6 = subnets6[host]
            entry.update(subnet6=str(subnet6), gateway6=str(subnet6.network_address + 1),
                         underlay6=_address(underlay6, 6, host, "nsbridge_fleet_underlay6") if underlay6 else None)
            vtep["addresses"].append(str(subnet6.network_address))
        result[host] = entry
    for host in hosts:
        others = [o for o in sorted(hosts) if o != host]
        me = result[host]
        # routed mode: every other host's subnets via its underlay addresses (IPv6 via its IPv6 underlay:
        # Linux routes no IPv6 prefix via an IPv4 next hop); hosts without one are named for the role to say
        me["routes"] = [{"dst": result[o]["subnet"], "via": result[o]["underlay"]} for o in others]
        me["routes"] += [{"dst": result[o]["subnet6"], "via": result[o]["underlay6"]} for o in others
                         if cidr6 and result[o]["underlay6"]]
        me["missing_underlay6"] = sorted(h for h in hosts if cidr6 and not result[h]["underlay6"])
        # vxlan mode: the peers of this host's device, and routes through it (IPv6 over the IPv4 underlay)
        me["peers"] = [{"underlay": result[o]["underlay"], "mac": result[o]["vtep"]["mac"],
                        "addresses": result[o]["vtep"]["addresses"]} for o in others]
        me["overlay_routes"] = [{"dst": result[o]["subnet"], "via": result[o]["vtep"]["address"], "onlink": True}
                                for o in others]
        me["overlay_routes"] += [{"dst": result[o]["subnet6"], "via": result[o]["vtep"]["addresses"][1], "onlink": True}
                                 for o in others if cidr6]
    return result


class FilterModule:
    def filters(self):
        return {"fleet_plan": fleet_plan}
