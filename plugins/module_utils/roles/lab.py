# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab role's plan: one topology of nodes and links, every host building its part.

``nsbridge_lab`` names the lab, its nodes (each a network namespace named after the node, as a
container is, with what a container takes: ``command``, ``image``, ``env``, ``volumes``,
``networks``; plus ``host``, ``routes`` and ``forwarding``) and its links (``endpoints:
["r1:eth1", "r2:eth1"]``; three or more endpoints make a LAN segment).  ``plan`` checks all of it
and returns the module calls of one host: every host computes the same lab from the inventory
alone, so ``--limit`` builds exactly the limited hosts' part.

What a link becomes, by where its ends are:

- both ends on this host: a veth pair straight between the two nodes' namespaces;
- ends on two hosts: on each host a tunnel (VXLAN) made into the node under the endpoint's name,
  its socket on the host's underlay address, the other host's address its flood list; its VNI
  derived from the lab and the link;
- a LAN segment: per host holding some of its endpoints, a switch namespace (``LAB-SEGMENT``) with a
  bridge, a veth from the bridge to each local endpoint and, if the segment spans hosts, a tunnel
  joining the bridge to the other hosts'.

Addresses come from the link (``addresses``, one entry per endpoint) or from the lab's pools
(``addressing``, netlab's defaults: point-to-point links get a /30 of 10.1.0.0/16, LAN segments a
/24 of 172.16.0.0/16): a link's subnet is a slot of the pool at a hash of the lab and the link's
endpoints (the next free one on a collision, in link order), so adding or removing a link renumbers
no other.  Endpoint i gets host address i+1 of the subnet.

A node's ``routes`` may name ends instead of addresses (``{dst: r3:eth1, via: r2:eth1}``: the subnet of
r3's eth1 link through r2's address on the link to this node, per family), so they hold whatever the
addresses are.  A link that spans hosts has an MTU that leaves room for VXLAN (the link's or the lab's ``mtu``,
default 1450); one that is ``state: down`` has both ends administratively down, and the nodes'
routes through it are left out until it is up again (as a router withdraws them).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re

from ..common import validate
from ..common import impairments
from . import containers as ctrs
from . import network as netplan
from .containers import fail

NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,23}$")
LAB_KEYS = ("name", "nodes", "links", "addressing", "mtu", "vni", "vxlan_port")
NODE_KEYS = ("host", "command", "image", "env", "volumes", "networks", "routes", "forwarding")
LINK_KEYS = ("endpoints", "addresses", "mtu", "netem", "state", "name", "vni")
ROUTE_KEYS = ("dst", "via", "dev", "metric", "onlink")
POOLS = {"p2p": {"ipv4": "10.1.0.0/16", "prefix": 30}, "lan": {"ipv4": "172.16.0.0/16", "prefix": 24}}
POOL_KEYS = ("ipv4", "prefix", "ipv6", "prefix6")
SPANNING_MTU = 1450  # 1500 of the underlay, less VXLAN's 50 bytes
VNI_BASE, VNI_SPAN = 1 << 20, 1 << 20  # a lab's VNIs: 1048576..2097151, clear of the fleet's (1..)
UNDERLAY_VARS = ("nsbridge_lab_underlay", "nsbridge_fleet_underlay", "ansible_host")
RECORD = "40-lab-%s"
NODE = "nsbridge_lab.nodes.%s"  # how errors name a node (where), by its name
BRIDGE, TUNNEL = "br0", "vx0"
ROUTER = {"net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": 1}
HOSTLIKE = {"net.ipv4.ip_forward": 0, "net.ipv6.conf.all.forwarding": 0}
# a lab's interfaces keep their IPv6 addresses while a link is down, as a router's do
KEEP = {"net.ipv6.conf.all.keep_addr_on_down": 1}


def _digest(*parts):
    return int(hashlib.sha256("|".join(parts).encode()).hexdigest()[:12], 16)


def _dict(value, where, what):
    if not isinstance(value, dict):
        fail(where, "must be a dict (%s)" % what)
    return value


def _nodes(lab, inventory):
    nodes = _dict(lab.get("nodes"), "nsbridge_lab.nodes", "node name -> its keys")
    if not nodes:
        fail("nsbridge_lab.nodes", "a lab needs at least one node")
    placed = [n for n, spec in nodes.items() if isinstance(spec, dict) and spec.get("host") is not None]
    out = {}
    for name, spec in nodes.items():
        where = NODE % name
        if not isinstance(name, str) or not ctrs.NAME.match(name):
            fail(where, "node names follow the containers' rules (letters, digits, '_', '.', '-'; at most 63)")
        spec = {} if spec is None else _dict(spec, where, "the keys a container takes, and host, routes, forwarding")
        ctrs.known_keys(spec, NODE_KEYS, where)
        if placed and spec.get("host") is None:
            fail(where + ".host", "some nodes name their host (%s): give every node one, or none (a one-host lab)"
                 % ", ".join(sorted(placed)[:3]))
        host = spec.get("host")
        if host is not None and host not in inventory:
            fail(where + ".host", "%r is not a host of the inventory" % host)
        if spec.get("forwarding") not in (None, True, False):
            fail(where + ".forwarding", "must be true or false")
        out[name] = {"name": name, "host": host, "spec": spec, "where": where, "interfaces": {}}
    return out


def _end_of(text, nodes, at):
    """(link, endpoint index) that ``NODE:INTERFACE`` names, or None if ``text`` is not of that form."""
    if not isinstance(text, str) or text.count(":") != 1 or "/" in text:
        return None
    node, ifname = text.split(":")
    if node not in nodes or ifname not in nodes[node]["interfaces"]:
        fail(at, "%r names no end of a link of the lab" % text)
    return nodes[node]["interfaces"][ifname]


def _routes(node, nodes):
    """[(route item, via address or None)]: ``dst`` a network, ``default`` or ``NODE:INTERFACE`` (the subnets
    of that end's link, one route per family), ``via`` an address or ``NODE:INTERFACE`` (that end's
    address in the route's family)."""
    routes = node["spec"].get("routes")
    if routes is None:
        return []
    where = node["where"] + ".routes"
    if not isinstance(routes, list):
        fail(where, "must be a list of {dst, via, dev, metric, onlink}")
    out = []
    for i, route in enumerate(routes):
        at = "%s[%d]" % (where, i)
        route = _dict(route, at, "dst, via, dev, metric, onlink")
        ctrs.known_keys(route, ROUTE_KEYS, at)
        via_end = _end_of(route.get("via"), nodes, at + ".via")
        dst_end = _end_of(route.get("dst"), nodes, at + ".dst")
        fixed_via = None
        if route.get("via") is not None and via_end is None:
            fixed_via = validate.address(route["via"], at + ".via")
        if dst_end is not None:
            link, j = dst_end
            dsts = [per[j].network for _v, per in sorted(link["addresses"].items()) if per[j] is not None]
            if not dsts:
                fail(at + ".dst", "%s has no address on its link" % route["dst"])
        elif route.get("dst") == "default":
            versions = [fixed_via.version] if fixed_via else sorted(via_end[0]["addresses"]) if via_end else []
            if not versions:
                fail(at + ".via", "a default route needs via")
            dsts = [ipaddress.ip_network("0.0.0.0/0" if v == 4 else "::/0") for v in versions]
        else:
            dsts = [validate.network(route.get("dst"), at + ".dst")]
        if route.get("via") is None and route.get("dev") is None:
            fail(at + ".via", "a route needs via, dev or both")
        if route.get("dev") is not None:
            validate.ifname(route["dev"], at + ".dev")
        for dst in dsts:
            via = fixed_via
            if via_end is not None:
                link, j = via_end
                per = link["addresses"].get(dst.version)
                if not per or per[j] is None:
                    fail(at + ".via", "%s has no IPv%d address (for dst %s)" % (route["via"], dst.version, dst))
                via = per[j].ip
            if via is not None and via.version != dst.version:
                fail(at + ".via", "%s and dst %s are not the same IP version" % (via, dst))
            item = {"dst": str(dst)}
            for key in ("dev", "metric", "onlink"):
                if route.get(key) is not None:
                    item[key] = route[key]
            if via is not None:
                item["via"] = str(via)
            out.append((item, via))
    return out


def _endpoint(text, nodes, where):
    if not isinstance(text, str) or text.count(":") != 1:
        fail(where, "%r is not NODE:INTERFACE (r1:eth1)" % (text,))
    node, ifname = text.split(":")
    if node not in nodes:
        fail(where, "%r names no node of the lab" % node)
    validate.ifname(ifname, where)
    if ifname == "lo":
        fail(where, "lo is the node's loopback, not a link's end")
    return node, ifname


def _pools(lab):
    given = lab.get("addressing")
    if given is False:
        return {}
    given = POOLS if given is None else _dict(given, "nsbridge_lab.addressing", "p2p and lan pools")
    ctrs.known_keys(given, ("p2p", "lan"), "nsbridge_lab.addressing")
    out = {}
    for kind in ("p2p", "lan"):
        pool = given.get(kind, POOLS[kind] if lab.get("addressing") is None else None)
        if not pool:
            continue
        where = "nsbridge_lab.addressing.%s" % kind
        pool = _dict(pool, where, "ipv4, prefix, ipv6, prefix6")
        ctrs.known_keys(pool, POOL_KEYS, where)
        out[kind] = {}
        families = ((4, "ipv4", "prefix", 30 if kind == "p2p" else 24), (6, "ipv6", "prefix6", 64))
        for version, cidr_key, prefix_key, default in families:
            if pool.get(cidr_key) is None:
                continue
            net = validate.network(pool[cidr_key], "%s.%s" % (where, cidr_key))
            if net.version != version:
                fail("%s.%s" % (where, cidr_key), "%s is not an IPv%d network" % (net, version))
            prefix = pool.get(prefix_key) or default
            smallest = (30 if kind == "p2p" else 29) if version == 4 else 126
            if not isinstance(prefix, int) or not net.prefixlen <= prefix <= max(smallest, net.prefixlen):
                fail("%s.%s" % (where, prefix_key), "must be a prefix length within %s, at most /%d"
                     % (net, smallest))
            out[kind][version] = (net, prefix)
    return out


def _explicit(link, where, count):
    """{version: [ip_interface per endpoint or None]} of a link's ``addresses``."""
    given = link.get("addresses")
    if given is None:
        return None
    if not isinstance(given, list) or len(given) != count:
        fail(where + ".addresses", "give one entry per endpoint (%d): an address, a list of them (one per IP "
                                   "family) or null" % count)
    out = {}
    for i, entry in enumerate(given):
        entries = [] if entry is None else entry if isinstance(entry, list) else [entry]
        for j, text in enumerate(entries):
            at = "%s.addresses[%d]" % (where, i) + ("[%d]" % j if isinstance(entry, list) else "")
            iface = validate.interface_cidr(text, at)
            per = out.setdefault(iface.version, [None] * count)
            if per[i] is not None:
                fail(at, "two IPv%d addresses for one endpoint" % iface.version)
            per[i] = (iface, at)
    for version, per in out.items():
        first = next(p for p in per if p is not None)
        for entry in per:
            if entry is None:
                continue
            iface, at = entry
            if iface.network != first[0].network:
                fail(at, "%s is outside the link's subnet %s (of %s)" % (iface, first[0].network, first[0]))
        seen = [p[0].ip for p in per if p is not None]
        if len(seen) != len(set(seen)):
            fail(where + ".addresses", "two endpoints have the same IPv%d address" % version)
    return {v: [p[0] if p else None for p in per] for v, per in out.items()}


def _netem(link, endpoints, where):
    """{endpoint index: normalised impairment} of a link's ``netem``."""
    given = link.get("netem")
    if given is None:
        return {}
    given = _dict(given, where + ".netem", "impairments for both directions, or node -> impairments")
    ends = {node: i for i, (node, _if) in enumerate(endpoints)}
    if given and all(k in ends for k in given):
        out = {}
        for node, values in given.items():
            at = "%s.netem.%s" % (where, node)
            values = _dict(values, at, "rate, delay, jitter, loss, corrupt, duplicate, reorder")
            ctrs.known_keys(values, impairments.IMPAIRMENTS, at)
            out[ends[node]] = (values, impairments.normalise(values, at))
        return out
    ctrs.known_keys(given, impairments.IMPAIRMENTS + tuple(sorted(ends)), where + ".netem")
    if any(k in ends for k in given):
        fail(where + ".netem", "give impairments for the whole link or per node (%s), not both"
             % ", ".join(sorted(ends)))
    normal = impairments.normalise(given, where + ".netem")
    return {i: (given, normal) for i in range(len(endpoints))}


def _links(lab, nodes):
    links = lab.get("links") or []
    if not isinstance(links, list):
        fail("nsbridge_lab.links", "must be a list of {endpoints, addresses, mtu, netem, state}")
    out, used, names = [], {}, {}
    for i, link in enumerate(links):
        where = "nsbridge_lab.links[%d]" % i
        link = _dict(link, where, "endpoints, addresses, mtu, netem, state, name, vni")
        ctrs.known_keys(link, LINK_KEYS, where)
        given = link.get("endpoints")
        if not isinstance(given, list) or len(given) < 2:
            fail(where + ".endpoints", "a link joins two endpoints or more (NODE:INTERFACE)")
        endpoints = [_endpoint(text, nodes, "%s.endpoints[%d]" % (where, j)) for j, text in enumerate(given)]
        for j, (node, ifname) in enumerate(endpoints):
            at = "%s.endpoints[%d]" % (where, j)
            if (node, ifname) in used:
                fail(at, "%s:%s is already an end of %s" % (node, ifname, used[(node, ifname)]))
            used[(node, ifname)] = where
        label = " -- ".join("%s:%s" % e for e in endpoints)
        state = link.get("state") or "up"
        if state not in ("up", "down"):
            fail(where + ".state", "must be up or down")
        mtu = link.get("mtu")
        if mtu is not None:
            validate.mtu(mtu, where + ".mtu")
        kind = "lan" if len(endpoints) > 2 else "p2p"
        name = link.get("name")
        if name is not None:
            if not isinstance(name, str) or not NAME.match(name):
                fail(where + ".name", "letters, digits, '_' or '-', at most 24")
            if name in names:
                fail(where + ".name", "%r names %s too" % (name, names[name]))
            names[name] = where
        vni = link.get("vni")
        if vni is not None and (not isinstance(vni, int) or not 1 <= vni <= 16777215):
            fail(where + ".vni", "must be a VNI, 1..16777215")
        out.append({"index": i, "where": where, "endpoints": endpoints, "label": label, "kind": kind,
                    "up": state == "up", "mtu": mtu, "name": name, "vni": vni,
                    "key": "|".join(sorted("%s:%s" % e for e in endpoints)),
                    "explicit": _explicit(link, where, len(endpoints)), "netem": _netem(link, endpoints, where)})
    return out


def _address(links, pools, lab_name):
    """Each link's addresses per endpoint: {version: [ip_interface or None]} (explicit ones first,
    then pool slots at a hash of the link, the next free one on a collision)."""
    taken = {}
    for link in links:
        for version, per in (link["explicit"] or {}).items():
            net = next(p for p in per if p is not None).network
            taken.setdefault(version, []).append((net, link["where"]))
    for version, nets in taken.items():
        for i, (net, where) in enumerate(nets):
            for other, other_where in nets[:i]:
                if net.overlaps(other):
                    fail(where + ".addresses", "subnet %s overlaps %s of %s" % (net, other, other_where))
    for link in links:
        if link["explicit"] is not None:
            link["addresses"] = link["explicit"]
            continue
        link["addresses"] = {}
        for version, (pool, prefix) in sorted(pools.get(link["kind"], {}).items()):
            count = 2 ** (prefix - pool.prefixlen)
            start = _digest(lab_name, link["key"], str(version)) % count
            for step in range(count):
                slot = (start + step) % count
                net = ipaddress.ip_network((int(pool.network_address) + slot * 2 ** (pool.max_prefixlen - prefix),
                                            prefix))
                if not any(net.overlaps(other) for other, _w in taken.get(version, [])):
                    break
            else:
                fail(link["where"], "the %s pool %s has no free /%d left" % (link["kind"], pool, prefix))
            hosts = 2 ** (pool.max_prefixlen - prefix) - (2 if version == 4 and prefix < 31 else 0)
            if len(link["endpoints"]) > hosts:
                fail(link["where"], "%d endpoints do not fit a /%d" % (len(link["endpoints"]), prefix))
            first = int(net.network_address) + (1 if version == 6 or prefix < 31 else 0)
            link["addresses"][version] = [ipaddress.ip_interface((first + i, prefix))
                                          for i in range(len(link["endpoints"]))]
            taken.setdefault(version, []).append((net, link["where"]))


def _vnis(links, lab):
    base = lab.get("vni", VNI_BASE)
    if not isinstance(base, int) or not 1 <= base <= 16777215 - 1023:
        fail("nsbridge_lab.vni", "must be a VNI, 1..%d (the lab's links take VNIs from it up)" % (16777215 - 1023))
    span = min(VNI_SPAN, 16777216 - base)
    used = {}
    for link in links:
        if link["vni"] is not None:
            if link["vni"] in used:
                fail(link["where"] + ".vni", "%d is the VNI of %s too" % (link["vni"], used[link["vni"]]))
            used[link["vni"]] = link["where"]
    for link in links:
        if link["vni"] is None:
            start = _digest(lab["name"], link["key"]) % span
            for step in range(span):
                vni = base + (start + step) % span
                if vni not in used:
                    break
            link["vni"] = vni
            used[vni] = link["where"]


def _underlays(nodes, links, hostvars):
    """{host: underlay address} of the hosts a link spans from (none for a lab on one host)."""
    out = {}
    spanning = set()
    for link in links:
        hosts = {nodes[n]["host"] for n, _i in link["endpoints"]} - {None}
        if len(hosts) > 1:
            spanning |= hosts
    for host in sorted(spanning):
        mine = hostvars[host] if host in hostvars else {}
        var, value = next(((v, mine.get(v)) for v in UNDERLAY_VARS if mine.get(v)), (UNDERLAY_VARS[-1], None))
        try:
            out[host] = str(ipaddress.ip_address(value))
        except (TypeError, ValueError):
            fail("host %s" % host, "its underlay address (%s) is %r, not an IP address: set nsbridge_lab_underlay "
                 "(or nsbridge_fleet_underlay) for it" % (var, value))
    seen = {}
    for host, address in out.items():
        if address in seen:
            fail("host %s" % host, "has underlay address %s, as host %s does" % (address, seen[address]))
        seen[address] = host
    return out


def _interfaces(nodes, links):
    """Each node's link interfaces; a node on networks has eth0.. taken by them."""
    for node in nodes.values():
        networks = node["spec"].get("networks")
        node["taken"] = {"eth%d" % i for i in range(len(networks))} if isinstance(networks, list) else set()
    for link in links:
        for j, (name, ifname) in enumerate(link["endpoints"]):
            node = nodes[name]
            if ifname in node["taken"]:
                fail("%s.endpoints[%d]" % (link["where"], j), "%s of node %s is its interface on networks[%d]"
                     % (ifname, name, int(ifname[3:])))
            node["interfaces"][ifname] = (link, j)


def check(lab, inventory, hostvars=None, containers=None):
    """The whole lab, checked: (nodes, links, underlays)."""
    lab = _dict(lab, "nsbridge_lab", "name, nodes, links")
    ctrs.known_keys(lab, LAB_KEYS, "nsbridge_lab")
    if not isinstance(lab.get("name"), str) or not NAME.match(lab["name"]):
        fail("nsbridge_lab.name", "a lab needs a name: letters, digits, '_' or '-', at most 24")
    if lab.get("mtu") is not None:
        validate.mtu(lab["mtu"], "nsbridge_lab.mtu")
    nodes = _nodes(lab, inventory)
    for spec in containers or []:
        if isinstance(spec, dict) and spec.get("name") in nodes:
            fail(NODE % spec["name"], "nsbridge_containers has a container of that name: a node "
                 "and a container share one namespace of names")
    links = _links(lab, nodes)
    _interfaces(nodes, links)
    _address(links, _pools(lab), lab["name"])
    _vnis(links, lab)
    for node in nodes.values():
        node["routes"] = _routes(node, nodes)
    return nodes, links, _underlays(nodes, links, hostvars or {})


def _switch(lab, link):
    return "%s-%s" % (lab["name"], link["name"] or "lan%06x" % (_digest(link["key"]) % (1 << 24)))


def _port(link, node, ifname):
    return "p%09x" % (_digest(link["key"], node, ifname) % (1 << 36))


def _end_addresses(link, j):
    return [str(per[j]) for _v, per in sorted(link["addresses"].items()) if per[j] is not None]


def plan(lab, host, inventory, hostvars=None, networks=None, containers=None, runtime="podman", state="present"):
    """This host's part of the lab: {calls, images, image_names, record, summary}."""
    nodes, links, underlays = check(lab, inventory, hostvars, containers)
    name = lab["name"]
    one_host = not any(n["host"] for n in nodes.values())

    def here(node):
        return one_host or nodes[node]["host"] == host

    local = [n for n in nodes if here(n)]
    specs = []
    for node in local:
        spec = nodes[node]["spec"]
        item = {"name": node}
        item.update({k: spec[k] for k in ("command", "image", "env", "volumes", "networks") if spec.get(k) is not None})
        if spec.get("networks") is None:
            item["network"] = "none"
        specs.append(item)
    base = netplan.network_plan(networks or [], specs, runtime, label=NODE)
    pairs, bridges, tunnels, impairs, switches = list(base["pairs"]), [], [], [], []
    lab_mtu = lab.get("mtu")
    down = {}  # node -> [subnets and interfaces of its links that are down]
    summary_links = []
    for link in links:
        ends = link["endpoints"]
        hosts = sorted({nodes[n]["host"] for n, _i in ends} - {None})
        spans = len(hosts) > 1
        mtu = link["mtu"] or lab_mtu or (SPANNING_MTU if spans else None)
        mine = [j for j, (node, _i) in enumerate(ends) if here(node)]
        summary_links.append({"endpoints": ["%s:%s" % e for e in ends], "kind": link["kind"], "hosts": hosts,
                              "spans": spans, "vni": link["vni"] if spans else None, "mtu": mtu,
                              "state": "up" if link["up"] else "down",
                              "addresses": [_end_addresses(link, j) for j in range(len(ends))],
                              "netem": {"%s:%s" % ends[j]: impairments.text_of(v[1]) for j, v in link["netem"].items()},
                              "switch": _switch(lab, link) if link["kind"] == "lan" else None})
        if not link["up"]:
            for j, (node, ifname) in enumerate(ends):
                down.setdefault(node, []).append((ifname, [per[j].network for per in link["addresses"].values()
                                                           if per[j] is not None]))
        if not mine:
            continue
        if link["kind"] == "p2p":
            (na, ia), (nb, ib) = ends
            if len(mine) == 2:
                pair = {"name": ia, "netns": na, "peer": ib, "peer_netns": nb, "addresses": _end_addresses(link, 0),
                        "peer_addresses": _end_addresses(link, 1), "up": link["up"]}
                if mtu:
                    pair["mtu"] = mtu
                pairs.append(pair)
            else:
                j = mine[0]
                node, ifname = ends[j]
                other = nodes[ends[1 - j][0]]["host"]
                tunnels.append({"name": ifname, "netns": node, "vni": link["vni"], "local": underlays[host],
                                "remotes": [underlays[other]], "port": lab.get("vxlan_port") or 4789,
                                "addresses": _end_addresses(link, j), "mtu": mtu, "up": link["up"],
                                "label": link["label"]})
        else:
            switch = _switch(lab, link)
            switches.append(switch)
            bridges.append({"name": BRIDGE, "netns": switch, "addresses": [], **({"mtu": mtu} if mtu else {})})
            for j in mine:
                node, ifname = ends[j]
                pair = {"name": _port(link, node, ifname), "netns": switch, "bridge": BRIDGE, "addresses": [],
                        "peer": ifname, "peer_netns": node, "peer_addresses": _end_addresses(link, j),
                        "up": link["up"]}
                if mtu:
                    pair["mtu"] = mtu
                pairs.append(pair)
            if spans:
                remotes = sorted({underlays[h] for h in hosts if h != host}, key=ipaddress.ip_address)
                tunnels.append({"name": TUNNEL, "netns": switch, "master": BRIDGE, "vni": link["vni"],
                                "local": underlays[host], "remotes": remotes, "port": lab.get("vxlan_port") or 4789,
                                "mtu": mtu, "addresses": [], "up": True, "label": link["label"]})
        for j in mine:
            if j in link["netem"] and any(v is not None for v in link["netem"][j][1].values()):
                node, ifname = ends[j]
                towards = ", ".join(n for k, (n, _i) in enumerate(ends) if k != j)
                label = "link %s, %s:%s -> %s" % (link["label"], node, ifname, towards)
                item = {"netns": node, "dev": ifname, "label": label}
                item.update({k: str(v) for k, v in link["netem"][j][0].items() if v is not None})
                impairs.append(item)
    _names(base, name, nodes, links, local)
    calls = _calls(nodes, local, switches, bridges, pairs, tunnels, impairs, down, base, state)
    summary = {"name": name, "host": host, "nodes": [
        {"name": n, "host": nodes[n]["host"], "local": here(n), "forwarding": bool(nodes[n]["spec"].get("forwarding")),
         "interfaces": sorted(nodes[n]["interfaces"])} for n in nodes], "links": summary_links}
    return {"calls": calls, "images": base["images"], "image_names": ["podman:%s" % i["name"] for i in base["images"]],
            "record": RECORD % name, "summary": summary}


def _names(base, lab_name, nodes, links, local):
    """Every node resolves every node of the lab: NODE-INTERFACE for each end's addresses, NODE for the
    first (in link order), one list shared by the lab's nodes on this host."""
    entries, named = [], set()
    for link in links:
        for j, (node, ifname) in enumerate(link["endpoints"]):
            for _version, per in sorted(link["addresses"].items()):
                if per[j] is None:
                    continue
                names = ["%s-%s" % (node, ifname)]
                if (node, _version) not in named:
                    named.add((node, _version))
                    names.insert(0, node)
                entries.append({"address": str(per[j].ip), "names": names})
    if not entries:
        return
    key = "lab:%s" % lab_name
    shared = dict(base.get("names_shared") or {})
    shared[key] = entries
    base["names_shared"] = shared
    for item in base["names"]:
        if item["netns"] in local:
            item["include"] = list(item.get("include") or []) + [key]


def _calls(nodes, local, switches, bridges, pairs, tunnels, impairs, down, base, state):
    def call(module, **args):
        return {"module": module, "args": args}

    routers = [n for n in local if nodes[n]["spec"].get("forwarding")]
    hostlike = [n for n in local if not nodes[n]["spec"].get("forwarding")]
    if state == "absent":
        calls = []
        if base["workloads"]:
            calls.append(call("workload", workloads=base["workloads"], state="absent"))
        if base["names"]:
            calls.append(call("names", namespaces=[{"netns": i["netns"]} for i in base["names"]], state="absent"))
        gone = sorted(set(local) | set(switches))
        if gone:
            calls.append(call("netns", name=gone, state="absent"))
        return calls
    calls = []
    if routers:
        calls.append(call("netns", name=routers, sysctls=dict(ROUTER, **KEEP)))
    if hostlike:
        calls.append(call("netns", name=hostlike, sysctls=dict(HOSTLIKE, **KEEP)))
    if switches:
        calls.append(call("netns", name=sorted(set(switches))))
        calls.append(call("bridge", bridges=bridges))
    if pairs:
        calls.append(call("veth", pairs=pairs))
    if tunnels:
        calls.append(call("tunnel", tunnels=tunnels))
    if impairs:
        calls.append(call("impairment", impairments=impairs))
    for node in local:
        routes = nodes[node]["routes"]
        cut = down.get(node, [])
        kept = [item for item, via in routes
                if not any(item.get("dev") == ifname or (via is not None and any(via in net for net in nets))
                           for ifname, nets in cut)]
        if routes:
            calls.append(call("route", netns=node, purge=True, routes=kept))
    if base["names"]:
        shared = {"shared": base["names_shared"]} if base.get("names_shared") else {}
        calls.append(call("names", namespaces=base["names"], **shared))
    if base["workloads"]:
        calls.append(call("workload", workloads=base["workloads"]))
    return calls


CLAB_NODE_KEYS = ("kind", "image", "cmd", "env", "binds", "exec", "labels", "group", "type", "mgmt-ipv4",
                  "mgmt-ipv6", "startup-config", "ports")


def from_containerlab(topology, hosts=None, images=False):
    """A containerlab topology (the parsed ``*.clab.yml``) as ``nsbridge_lab``: its name, its nodes
    (placed by ``hosts``, node -> inventory host) and its veth links, brief (``endpoints: ["r1:eth1",
    "r2:eth1"]``) or extended (``type: veth``, endpoints ``{node, interface}``).  With ``images``, a
    ``kind: linux`` node keeps its ``image``, ``cmd`` (as its command), ``env`` and ``binds`` (as its
    volumes); otherwise every node is a plain namespace.  What has no counterpart is an error naming
    the node or link: a node kind that needs containerlab's own setup (under ``images``), and links to
    the host, the management network, macvlan or dummy interfaces."""
    topology = _dict(topology, "containerlab", "the parsed topology file: name, topology")
    body = _dict(topology.get("topology"), "containerlab.topology", "nodes, links")
    defaults = body.get("defaults") or {}
    kinds = body.get("kinds") or {}
    hosts = hosts or {}
    nodes = {}
    for name, spec in _dict(body.get("nodes"), "containerlab.topology.nodes", "node name -> its keys").items():
        where = "containerlab.topology.nodes.%s" % name
        spec = dict(spec or {})
        kind = spec.get("kind") or defaults.get("kind") or "linux"
        merged = dict(defaults, **dict(kinds.get(kind) or {}, **spec))
        node = {}
        if name in hosts:
            node["host"] = hosts[name]
        if images:
            if kind != "linux":
                fail(where + ".kind", "kind %s runs its own system image, which needs containerlab's own setup; "
                     "without images every node is a plain namespace" % kind)
            if merged.get("image"):
                node["image"] = merged["image"]
            if merged.get("cmd"):
                node["command"] = merged["cmd"]
            if merged.get("env"):
                node["env"] = {str(k): str(v) for k, v in merged["env"].items()}
            if merged.get("binds"):
                node["volumes"] = list(merged["binds"])
        nodes[name] = node
    links = []
    for i, link in enumerate(body.get("links") or []):
        where = "containerlab.topology.links[%d]" % i
        link = _dict(link, where, "endpoints, or type and endpoints")
        kind = link.get("type", "veth")
        if kind != "veth":
            fail(where + ".type", "a %s link joins a node to the host's own interfaces or networks; a lab link "
                                  "joins nodes (veth)" % kind)
        ends, addresses = [], []
        for j, end in enumerate(link.get("endpoints") or []):
            if isinstance(end, dict):
                addresses.append([end[k] for k in ("ipv4", "ipv6") if end.get(k)] or None)
                end = "%s:%s" % (end.get("node"), end.get("interface"))
            else:
                addresses.append(None)
            if not isinstance(end, str) or end.split(":")[0] in ("host", "mgmt-net", "macvlan", "bridge", "ovs-bridge"):
                fail("%s.endpoints[%d]" % (where, j), "%r is not an end on a node of the lab" % (end,))
            ends.append(end)
        out = {"endpoints": ends}
        if any(addresses):
            out["addresses"] = addresses
        if link.get("mtu"):
            out["mtu"] = link["mtu"]
        links.append(out)
    return {"name": topology.get("name"), "nodes": nodes, "links": links}
