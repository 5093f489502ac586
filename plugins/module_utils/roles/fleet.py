# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet role's plan, in two parts so that it grows linearly with the fleet.

``fleet_map`` (once per play, ``run_once``): who is in the fleet -- the inventory group
``nsbridge_fleet_group``, or ``nsbridge_fleet_members`` for an inventory that holds only part of it
(an AWX job slice) -- each member's subnet(s), underlay addresses and VXLAN endpoint, and the names
of its containers on the fleet network.  ``host_part`` (per host): what one host needs of that map,
its subnet, its routes or peers and its module calls: O(hosts) each, so the play is O(hosts^2) with
a small constant, and no host keeps another's routes.

Allocation is the same for every host of any subset of the fleet (``--limit``, a slice): it depends
on the fleet's members and what is recorded, never on which hosts the play runs on.  In order: a
host's override (``nsbridge_fleet_subnet``), the subnet the allocation file gives it (kept beside the
inventory, the play writes it), the subnet its bridge already has (for a host in the play that the
file does not name yet), then the first free slot at or after a hash of its name.  Adding a host
therefore renumbers nobody; a collision -- two overrides, a host holding another subnet than the
file gives it -- is an error naming the hosts, never silent.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json

from ..common.errors import ValidationError
from . import containers as ctrs

# per family: the variables that describe it (for the error messages) and the smallest subnet
FAMILY_VARS = {4: ("nsbridge_fleet_cidr", "nsbridge_fleet_subnet_prefix", "nsbridge_fleet_subnet", 30),
               6: ("nsbridge_fleet_cidr6", "nsbridge_fleet_subnet_prefix6", "nsbridge_fleet_subnet6", 120)}
FILE_VERSION = 1


def _fail(message):
    raise ValidationError(message)


def current_subnets(registered):
    """{4: subnet, 6: subnet} a host's fleet bridge already has (from the registered ``ip -j addr``)."""
    out = {}
    try:
        for link in json.loads((registered or {}).get("stdout") or "[]"):
            for addr in link.get("addr_info", []):
                if addr.get("scope") == "global" and addr.get("family") in ("inet", "inet6"):
                    net = ipaddress.ip_interface("%s/%s" % (addr["local"], addr["prefixlen"])).network
                    out.setdefault(net.version, net)
    except (ValueError, TypeError, KeyError):
        return {}
    return out


def _range(cidr, prefix, version):
    cidr_var, prefix_var, _override, smallest = FAMILY_VARS[version]
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
    return fleet, prefix


def allocate(members, cidr, prefix, version, pinned=None, source="the allocation file"):
    """{host: subnet} for every member (``members``: {host: {override4/6, current4/6}}; ``pinned``:
    {host: subnet text} from the allocation file)."""
    cidr_var, prefix_var, override_var, _smallest = FAMILY_VARS[version]
    fleet, prefix = _range(cidr, prefix, version)
    slots = 2 ** (prefix - fleet.prefixlen)
    hosts = sorted(members)
    if len(hosts) > slots:
        _fail("%s has %d subnets of /%d; the %d hosts %s need one each"
              % (fleet, slots, prefix, len(hosts), ", ".join(hosts) if len(hosts) <= 20
                 else ", ".join(hosts[:20]) + ", ..."))
    base, size = int(fleet.network_address), 2 ** (fleet.max_prefixlen - prefix)
    taken, out = {}, {}

    def fits(subnet):
        return subnet.prefixlen == prefix and subnet.version == version and subnet.subnet_of(fleet)

    def claim(host, subnet, why):
        if not fits(subnet):
            _fail("host %s: %s %s is not a /%d inside %s" % (host, why, subnet, prefix, fleet))
        if subnet in taken:
            _fail("hosts %s and %s both claim %s (%s)" % (taken[subnet], host, subnet, why))
        taken[subnet] = host
        out[host] = subnet

    for host in hosts:
        override = members[host].get("override%d" % version)
        if override:
            try:
                subnet = ipaddress.ip_network(override, strict=True)
            except ValueError:
                _fail("host %s: %s %r is not a network" % (host, override_var, override))
            claim(host, subnet, override_var)
    for host in hosts:
        text = (pinned or {}).get(host)
        if host in out or not text:
            continue
        subnet = ipaddress.ip_network(text)
        if not fits(subnet):
            continue  # the range or the prefix changed: allocated anew
        current = members[host].get("current%d" % version)
        if current is not None and current != subnet and fits(current):
            _fail("host %s holds %s, but %s gives it %s: tear its fleet network down first (nsbridge_state: "
                  "absent), or set %s" % (host, current, source, subnet, override_var))
        if subnet in taken:
            _fail("hosts %s and %s both claim %s (%s gives it to %s)" % (taken[subnet], host, subnet, source, host))
        claim(host, subnet, source)
    for host in hosts:
        current = members[host].get("current%d" % version)
        if host not in out and current is not None and fits(current) and current not in taken:
            claim(host, current, "its current subnet")
    for host in hosts:
        if host in out:
            continue
        start = int(hashlib.sha256(host.encode()).hexdigest(), 16) % slots
        for step in range(slots):
            candidate = ipaddress.ip_network((base + ((start + step) % slots) * size, prefix))
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


def _fleet_names(host, network, subnets, specs):
    """[(name, {4: ip, 6: ip})] of ``host``'s containers on the fleet network, addressed as that host
    addresses them (roles.containers, on the fleet network alone)."""
    fleet = {"name": network, "internal": False, "families": {}}
    for version, subnet in subnets.items():
        fleet["families"][version] = {"subnet": subnet, "gateway": subnet.network_address + 1, "taken": {}}
    mine = []
    for spec in specs or []:
        if not isinstance(spec, dict):
            continue
        entries = spec.get("networks") if spec.get("networks") is not None else [spec.get("network")]
        for entry in entries or []:
            entry = {"name": entry} if isinstance(entry, str) else entry
            if isinstance(entry, dict) and entry.get("name") == network:
                keep = {k: entry.get(k) for k in ("ip", "ip6", "aliases")}
                if spec.get("networks") is None:
                    keep = {k: spec.get(k) for k in ("ip", "ip6", "aliases")}
                mine.append(dict({"name": spec.get("name"), "network": network},
                                 **{k: v for k, v in keep.items() if v is not None}))
    try:
        items, _seen = ctrs.containers(mine, {network: fleet})
        ctrs.address(items, {network: fleet})
    except ValidationError as exc:
        _fail("host %s: its containers on the fleet network: %s" % (host, exc))
    return [(name, atts[0]["aliases"], {v: str(ip) for v, ip in atts[0]["ips"].items()})
            for name, _c, _m, _w, atts in items]


def fleet_map(members, settings, pinned_text=None):
    """The fleet, once per play: {hosts: {host: {subnet, subnet6, gateway(6), underlay(6), vtep}},
    names: {host: [(container, aliases, {4: ip, 6: ip})]}, shared_names: those names as hosts-file entries
    (``shared_names``), allocation: the allocation file's text, changed: whether it differs from ``pinned_text``}.

    ``members``: {host: {underlay, underlay6, override4, override6, current4, current6, containers}}
    (None values: not known), ``settings``: cidr, prefix, cidr6, prefix6, network, names (bool)."""
    pinned = {}
    if pinned_text:
        try:
            data = json.loads(pinned_text)
            pinned = dict(data["hosts"].items())
        except (ValueError, KeyError, TypeError, AttributeError):
            _fail("the allocation file (nsbridge_fleet_allocation_file) is not one this role wrote: fix or remove it")
    cidr6 = settings.get("cidr6")
    subnets = allocate(members, settings["cidr"], settings.get("prefix", 24), 4,
                       {h: e.get("subnet") for h, e in pinned.items()})
    subnets6 = allocate(members, cidr6, settings.get("prefix6", 64), 6,
                        {h: e.get("subnet6") for h, e in pinned.items()}) if cidr6 else {}
    hosts, names = {}, {}
    for host in sorted(members):
        info = members[host]
        subnet = subnets[host]
        underlay = _address(info.get("underlay"), 4, host, "nsbridge_fleet_underlay (or ansible_host)")
        # the host's VXLAN endpoint: the subnets' network addresses (as flannel does) and a MAC derived
        # from the host name, so no host has to learn another's before configuring
        digest = hashlib.sha256(host.encode()).hexdigest()
        entry = {"subnet": str(subnet), "gateway": str(subnet.network_address + 1), "underlay": underlay,
                 "mac": "02:6e:" + ":".join(digest[i:i + 2] for i in range(0, 8, 2))}
        if cidr6:
            subnet6 = subnets6[host]
            entry.update(subnet6=str(subnet6), gateway6=str(subnet6.network_address + 1),
                         underlay6=_address(info["underlay6"], 6, host, "nsbridge_fleet_underlay6")
                         if info.get("underlay6") else None)
        hosts[host] = entry
        if settings.get("names", True) and info.get("containers"):
            nets = {4: subnet}
            if cidr6:
                nets[6] = subnets6[host]
            names[host] = _fleet_names(host, settings.get("network", "fleet"), nets, info["containers"])
    allocation = json.dumps({"version": FILE_VERSION, "cidr": settings["cidr"], "cidr6": cidr6 or None,
                             "hosts": {h: dict({"subnet": e["subnet"]}, **({"subnet6": e["subnet6"]} if cidr6 else {}))
                                       for h, e in hosts.items()}}, indent=1, sort_keys=True) + "\n"
    fmap = {"hosts": hosts, "names": names, "allocation": allocation,
            "changed": allocation.strip() != (pinned_text or "").strip()}
    fmap["shared_names"] = shared_names(fmap, settings.get("network", "fleet"))
    return fmap


def host_part(fmap, host, settings, links=True, names=True):
    """What ``host`` needs of the fleet map: its subnets, routes (routed) or peers and routes through
    the overlay (vxlan), the hosts its IPv6 routes cannot reach, and the names of the other hosts'
    containers (NAME, NAME.NETWORK, NAME.HOST).  Without ``links`` (``names``) its routes or peers (the
    names) are empty: the O(hosts) parts, for a caller that keeps only the rest."""
    hosts = fmap["hosts"]
    if host not in hosts:
        _fail("host %s is not in the fleet (%s)" % (host, settings.get("members_from", "nsbridge_fleet_group")))
    me = hosts[host]
    cidr6 = settings.get("cidr6")
    others = [(o, hosts[o]) for o in sorted(hosts) if o != host] if links or names else []
    part = {"subnet": me["subnet"], "gateway": me["gateway"], "underlay": me["underlay"]}
    if cidr6:
        part.update(subnet6=me["subnet6"], gateway6=me["gateway6"])
    vtep = [me["subnet"].split("/")[0]] + ([me["subnet6"].split("/")[0]] if cidr6 else [])
    linked = others if links else []
    if settings.get("mode", "routed") == "routed":
        part["routes"] = [{"dst": o["subnet"], "via": o["underlay"]} for _h, o in linked]
        part["routes"] += [{"dst": o["subnet6"], "via": o["underlay6"]} for _h, o in linked if cidr6 and o["underlay6"]]
        part["missing_underlay6"] = sorted(h for h, e in hosts.items() if cidr6 and not e["underlay6"])
    else:
        part["vtep"] = {"mac": me["mac"], "addresses": vtep}
        part["peers"] = [{"underlay": o["underlay"], "mac": o["mac"],
                          "addresses": [o["subnet"].split("/")[0]] + ([o["subnet6"].split("/")[0]] if cidr6 else [])}
                         for _h, o in linked]
        part["overlay_routes"] = [{"dst": o["subnet"], "via": o["subnet"].split("/")[0], "onlink": True}
                                  for _h, o in linked]
        part["overlay_routes"] += [{"dst": o["subnet6"], "via": o["subnet6"].split("/")[0], "onlink": True}
                                   for _h, o in linked if cidr6]
        part["missing_underlay6"] = []
    network = settings.get("network", "fleet")
    part["names"] = [entry for other, _entry in others for entry in _name_entries(fmap, other, network)] if names else []
    return part


def _name_entries(fmap, host, network):
    """The hosts-file entries of ``host``'s containers as the fleet's other hosts resolve them: NAME (and its
    aliases), NAME.NETWORK and NAME.HOST, one entry an address."""
    entries = []
    for name, aliases, ips in fmap["names"].get(host, []):
        plain = [name] + list(aliases)
        qualified = ["%s.%s" % (n, network) for n in plain] + ["%s.%s" % (n, host) for n in plain]
        for version in sorted(ips):
            entries.append({"address": ips[version], "names": plain + qualified})
    return entries


def shared_names(fmap, network):
    """{network: entries}: every member's containers' entries, each with its ``origin`` (the host it runs
    on), once for the fleet.  Every host keeps this one list (a run_once fact) and leaves its own out when
    its names are applied (roles.calls.add_shared_names): a host's copy of the others' names would make
    the play's facts grow as hosts^2."""
    return {network: [dict(entry, origin=host) for host in sorted(fmap["hosts"])
                      for entry in _name_entries(fmap, host, network)]}


def members_from(hosts, hostvars, members=None):
    """{host: info} of the fleet: from ``members`` (``nsbridge_fleet_members``: host -> {underlay,
    underlay6, subnet, subnet6, containers}, for an inventory that holds only part of the fleet) or from the
    inventory (each host's nsbridge_fleet_underlay or ansible_host, nsbridge_fleet_underlay6 and
    overrides); for any host the inventory holds, its containers (for names) and, if the play ran on it,
    the subnets its fleet bridge already has."""
    out = {}
    if members is not None:
        if not isinstance(members, dict) or not members:
            _fail("nsbridge_fleet_members must be a dict: host -> {underlay, underlay6, subnet, subnet6}")
        hosts = sorted(members)
    for host in hosts:
        mine = hostvars[host] if host in hostvars else {}
        given = (members or {}).get(host) or {}
        if members is not None and not isinstance(given, dict):
            _fail("nsbridge_fleet_members[%r] must be a dict with underlay (and underlay6, subnet, subnet6)" % host)
        current = current_subnets(mine.get("_nsbridge_fleet_current"))
        inventory_underlay = mine.get("nsbridge_fleet_underlay") or mine.get("ansible_host")
        containers = given["containers"] if "containers" in given else (
            mine.get("nsbridge_containers") if host in hostvars else None)
        out[host] = {
            "underlay": given.get("underlay") if members is not None else inventory_underlay,
            "underlay6": given.get("underlay6") if members is not None else mine.get("nsbridge_fleet_underlay6"),
            "override4": given.get("subnet") if members is not None else mine.get("nsbridge_fleet_subnet"),
            "override6": given.get("subnet6") if members is not None else mine.get("nsbridge_fleet_subnet6"),
            "current4": current.get(4), "current6": current.get(6),
            "containers": containers,
        }
    return out


def fleet_plan(hosts, hostvars, cidr, prefix=24, cidr6=None, prefix6=64, mode=None):
    """The whole fleet's plan at once, {host: host_part + vtep}: what the fleet role used to compute
    on every host (kept for callers of the fleet_plan filter without ``host``)."""
    settings = {"cidr": cidr, "prefix": prefix, "cidr6": cidr6, "prefix6": prefix6, "names": False}
    fmap = fleet_map(members_from(hosts, hostvars), settings)
    out = {}
    for host in hosts:
        routed = host_part(fmap, host, dict(settings, mode="routed"))
        vx = host_part(fmap, host, dict(settings, mode="vxlan"))
        entry = dict(routed, peers=vx["peers"], overlay_routes=vx["overlay_routes"],
                     vtep=dict(vx["vtep"], address=vx["vtep"]["addresses"][0]))
        if cidr6:
            entry["underlay6"] = fmap["hosts"][host]["underlay6"]
        entry.pop("names")
        out[host] = entry
    return out
