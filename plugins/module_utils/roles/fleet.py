# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet role's plan: one container subnet per fleet host, and what each host needs of the others.

Allocation is deterministic and stable: a host keeps its override (``nsbridge_fleet_subnet``), then the
subnet its fleet bridge already has, then gets the first free subnet at or after a position derived
from a hash of its name, so adding a host renumbers nobody.  The ``fleet_plan`` filter is a thin
wrapper (its errors are ValidationErrors here); the role's module calls come from ``roles.calls``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json

from ..common.errors import ValidationError


def _fail(message):
    raise ValidationError(message)


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
