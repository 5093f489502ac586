# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' networks and containers, checked and turned into module batches (dual-stack).

One planner for the ``network_plan`` filter (the roles) and for any module that is given the
roles' description: it checks with the same validators the modules use (common.validate), and
imports nothing of the kernel or firewall layers (a controller's worker imports it anew for every task
that names one of the roles' filters), and every error names the network or container and the key
(``network 'front'.subnet6: ...``).  Containers, their networks, addresses, default routes and
names are roles.containers'; this module holds the networks and puts the batches together.
"""

from __future__ import annotations

import re

from ..common import validate
from . import containers as ctrs
from .containers import NAME, fail, host_ifname, known_keys as _known_keys

NETWORK_KEYS = ("name", "subnet", "subnet6", "bridge", "gateway", "gateway6", "masquerade", "routed6", "isolated",
                "internal", "mtu", "masquerade_exclude", "accept_from")
RUNTIMES = ("podman",)  # the only runtime that starts a container in a namespace made beforehand
PROTOCOLS = ("tcp", "udp", "sctp")
# Docker's -p: [host_ip:]host_port:container_port[/proto]; an IPv6 host_ip in brackets
PUBLISH = re.compile(r"^(?:(?P<ip>\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(?P<host>\d+(?:-\d+)?):(?P<cont>\d+(?:-\d+)?)"
                     r"(?:/(?P<proto>[a-z]+))?$")
MIN_PREFIX = {4: 30, 6: 120}  # the smallest subnets with room for a gateway and containers


def container_mac(ip):
    """A container's eth0 MAC, from its address as Docker derives it (02:42 + the last four octets).

    A container whose interface is re-created keeps its MAC, so neighbours' ARP and NDP entries for
    it stay right instead of pointing at a MAC that is gone until they time out."""
    return "02:42:" + ":".join("%02x" % octet for octet in ip.packed[-4:])


def _subnet(net, key, version, where):
    value = net.get(key)
    if value is None:
        return None
    subnet = validate.network(value, where + "." + key)
    if subnet.version != version:
        fail(where + "." + key, "%s is not an IPv%d network (%s takes IPv%d)"
             % (subnet, version, key, version))
    if subnet.prefixlen > MIN_PREFIX[version]:
        fail(where + "." + key, "%s is too small: an IPv%d network of /%d or larger is needed"
             % (subnet, version, MIN_PREFIX[version]))
    return subnet


def _gateway(net, key, subnet, internal, where):
    value = net.get(key)
    if subnet is None:
        if value:
            fail(where + "." + key, "needs %s" % ("subnet" if key == "gateway" else "subnet6"))
        return None
    if value is None:
        return None if internal else subnet.network_address + 1
    if not value:
        return None
    gateway = validate.address(value, where + "." + key)
    if gateway not in subnet or gateway == subnet.network_address or \
            (subnet.version == 4 and gateway == subnet.broadcast_address):
        fail(where + "." + key, "%s is not a host address in %s" % (gateway, subnet))
    return gateway


def _networks(networks):
    out = {}
    for i, net in enumerate(networks or []):
        if not isinstance(net, dict) or not net.get("name"):
            fail("nsbridge_networks[%d]" % i, "every network needs a name")
        name = net["name"]
        where = "network %r" % name
        _known_keys(net, NETWORK_KEYS, where)
        if not NAME.match(str(name)):
            fail(where, "name must match %s" % NAME.pattern)
        if name in out or name in ("none", "host"):
            fail(where, "name is used twice (or is reserved: none, host)")
        subnet, subnet6 = _subnet(net, "subnet", 4, where), _subnet(net, "subnet6", 6, where)
        if subnet is None and subnet6 is None:
            fail(where + ".subnet", "a network needs subnet (IPv4), subnet6 (IPv6) or both")
        internal = bool(net.get("internal", False))
        bridge = validate.ifname(net.get("bridge") or ("nsb-" + name)[:15], where + ".bridge")
        families = {}
        for version, sub, key in ((4, subnet, "gateway"), (6, subnet6, "gateway6")):
            if sub is not None:
                families[version] = {"subnet": sub, "gateway": _gateway(net, key, sub, internal, where), "taken": {}}
            else:
                _gateway(net, key, None, internal, where)
        cidrs = {}
        for key in ("masquerade_exclude", "accept_from"):
            cidrs[key] = [validate.network(v, "%s.%s[%d]" % (where, key, j)) for j, v in enumerate(net.get(key) or [])]
        out[name] = {
            "name": name, "bridge": bridge, "families": families, "index": i, "internal": internal,
            "masquerade": bool(net.get("masquerade", True)) and not internal, "routed6": bool(net.get("routed6")),
            "isolated": bool(net.get("isolated", True)), "mtu": validate.mtu(net.get("mtu"), where + ".mtu"),
            "cidrs": cidrs,
        }
    bridges = {}
    for net in out.values():
        if net["bridge"] in bridges:
            fail("network %r.bridge" % net["name"], "bridge %r is also network %r's" % (net["bridge"], bridges[net["bridge"]]))
        bridges[net["bridge"]] = net["name"]
    for version, key in ((4, "subnet"), (6, "subnet6")):
        nets = sorted((n for n in out.values() if version in n["families"]),
                      key=lambda n: n["families"][version]["subnet"])
        for a, b in zip(nets, nets[1:]):
            sa, sb = a["families"][version]["subnet"], b["families"][version]["subnet"]
            if sa.overlaps(sb):
                fail("network %r.%s" % (b["name"], key), "%s overlaps network %r (%s)" % (sb, a["name"], sa))
    return out


def _publish_entries(value, where):
    """Docker -p syntax or dicts -> [{host_ip, family, host_ports, container_ports, protocol}]."""
    out = []
    for j, entry in enumerate(value or []):
        here = "%s.publish[%d]" % (where, j)
        if isinstance(entry, dict):
            _known_keys(entry, ("host_ip", "host_port", "container_port", "protocol"), here)
            host_ip, host, cont = entry.get("host_ip"), entry.get("host_port"), entry.get("container_port")
            proto = entry.get("protocol", "tcp")
            if host is None:
                fail(here + ".host_port", "is required")
            cont = host if cont is None else cont
        else:
            match = PUBLISH.match(str(entry))
            if not match:
                fail(here, "%r is not [host_ip:]host_port:container_port[/tcp|udp|sctp] "
                           "(an IPv6 host_ip in brackets: [::]:8080:80)" % (entry,))
            host_ip, host, cont = match.group("ip"), match.group("host"), match.group("cont")
            proto = match.group("proto") or "tcp"
        if proto not in PROTOCOLS:
            fail(here, "protocol %r is not tcp, udp or sctp" % (proto,))
        host_ports = validate.ports(host, here + ".host_port")
        container_ports = validate.ports(cont, here + ".container_port")
        if host_ports[1] - host_ports[0] != container_ports[1] - container_ports[0]:
            fail(here, "host and container port ranges differ in length")
        family = None  # both families (Docker's -p 8080:80 on a dual-stack network)
        if host_ip:
            address = validate.address(str(host_ip).strip("[]"), here + ".host_ip")
            family = address.version
            if address.is_loopback and str(address) != "127.0.0.1":
                fail(here, "%s: a port is published on the host's loopback as 127.0.0.1 only (Linux drops a reply "
                           "to ::1 that comes from a bridge, and route_localnet exists for IPv4 alone)" % address)
            host_ip = None if address.is_unspecified else str(address)  # 0.0.0.0 / [::]: every address of the family
        out.append({"host_ip": host_ip, "family": family, "host_ports": host_ports,
                    "container_ports": container_ports, "protocol": proto})
    return out


def _image_spec(c, netns, where, runtime):
    """The containers.podman.podman_containers item for an image-based container: its process
    runs in the container's nsbridge namespace (--network ns:/run/netns/NAME)."""
    if runtime not in RUNTIMES:
        fail("nsbridge_container_runtime", "%r cannot start a container inside a network namespace made "
             "beforehand (%s needs that: only podman's --network ns:PATH joins one); use podman"
             % (runtime, where + ".image"))
    if not isinstance(c["image"], str) or not c["image"]:
        fail(where + ".image", "%r is not an image name" % (c["image"],))
    spec = {"name": c["name"], "image": c["image"], "network": ["ns:/run/netns/%s" % netns], "state": "started"}
    if c.get("command") is not None:
        spec["command"] = c["command"]
    if c.get("env") is not None:
        spec["env"] = validate.environment(c["env"], where + ".env")
    if c.get("volumes") is not None:
        if not isinstance(c["volumes"], list) or not all(isinstance(v, str) and ":" in v for v in c["volumes"]):
            fail(where + ".volumes", "must be a list of HOST_PATH:CONTAINER_PATH[:OPTIONS]")
        spec["volume"] = list(c["volumes"])
    # the names its namespace resolves (planners.names), as for a workload: written in place, so seen live
    spec["volume"] = spec.get("volume", []) + ["/etc/netns/%s/%s:/etc/%s:ro" % (netns, f, f) for f in ("hosts", "resolv.conf")]
    return spec


def _net_batches(plan, net):
    fams = net["families"]
    addresses = ["%s/%d" % (f["gateway"], f["subnet"].prefixlen) for _v, f in sorted(fams.items()) if f["gateway"]]
    plan["bridges"].append({"name": net["bridge"], "mtu": net["mtu"], "addresses": addresses})
    if net["masquerade"]:
        for version, family in sorted(fams.items()):
            masq = {"source": str(family["subnet"]), "bridge": net["bridge"]}
            if version == 6 and net["routed6"]:
                masq["routed"] = True
            for key, option in (("masquerade_exclude", "exclude"), ("accept_from", "accept_from")):
                mine = [str(c) for c in net["cidrs"][key] if c.version == version]
                if mine:
                    masq[option] = mine
            plan["masquerades"].append(masq)
    plan["isolation"].append({"bridge": net["bridge"], "isolated": net["isolated"], "internal": net["internal"]})


def _pair(name, att, net, routes):
    """The veth pair of one attachment: eth<index> in the container, its host end on the bridge."""
    fams, ips = net["families"], att["ips"]
    index = att["index"]
    pair = {"name": host_ifname(name) if index == 0 else host_ifname(name, att["network"]), "peer": "eth%d" % index,
            "peer_netns": name, "bridge": net["bridge"], "hairpin": True,
            "peer_addresses": ["%s/%d" % (ips[v], fams[v]["subnet"].prefixlen) for v in sorted(ips)],
            "peer_mac": container_mac(ips[4] if 4 in ips else ips[6]),
            # exactly the gateways of the families whose default route this network carries: a default
            # route that moved to another network (gw_priority), or a family that went, is removed
            "peer_gateway": [str(fams[v]["gateway"]) for v in sorted(routes) if routes[v] is att]}
    if net["mtu"]:
        pair["mtu"] = net["mtu"]
    return pair


def _targets(atts, routes, nets):
    """{version: (address, bridge)} published ports reach: the default-route network's, else (every
    network of that family internal) the first network of that family."""
    out = {}
    for version in (4, 6):
        att = routes.get(version) or next((a for a in atts if version in a["ips"]), None)
        if att is not None:
            out[version] = (att["ips"][version], nets[att["network"]]["bridge"])
    return out


def _ports(plan, c, where, targets, published):
    entries = _publish_entries(c.get("publish"), where)
    if entries and not targets:
        fail(where + ".publish", "a container without a network address cannot publish ports")
    for j, spec in enumerate(entries):
        here = "%s.publish[%d]" % (where, j)
        versions = [spec["family"]] if spec["family"] else sorted(targets)
        for version in versions:
            if version not in targets:
                fail(here, "the container has no IPv%d address to publish to" % version)
            ip, bridge = targets[version]
            (h0, h1), (c0, c1) = spec["host_ports"], spec["container_ports"]
            host_ip = spec["host_ip"] or "*"
            for port in range(h0, h1 + 1):
                for other_ip, owner in published.get((version, spec["protocol"], port), ()):
                    if "*" in (other_ip, host_ip) or other_ip == host_ip:
                        fail(here, "host port %d/%s (IPv%d) is also published by %s"
                             % (port, spec["protocol"], version, owner))
                published.setdefault((version, spec["protocol"], port), []).append((host_ip, where))
            item = {"host_port": str(h0) if h0 == h1 else "%d-%d" % (h0, h1), "destination": str(ip),
                    "destination_port": str(c0) if c0 == c1 else "%d-%d" % (c0, c1),
                    "protocol": spec["protocol"], "bridge": bridge}
            if spec["host_ip"]:
                item["host_ip"] = spec["host_ip"]
            if version == 4 and bridge and spec["host_ip"] in (None, "127.0.0.1"):
                # as with Docker: a port published on every address, or on 127.0.0.1, answers on the
                # host's loopback too (route_localnet on the bridge; the spoofed-loopback guard stays)
                item["localhost"] = True
                if spec["host_ip"] == "127.0.0.1":
                    item["local"] = False  # the loopback rules are the only local ones
            plan["ports"].append(item)


def _names(nets, name, mode, atts, routes, lists):
    """What the container's namespace resolves: the host's gateway names, then the lists of the
    networks it is on (``lists``: roles.containers.network_entries, with the fleet's other hosts
    appended on the fleet network), and whether its resolv.conf names the host's upstream
    resolvers (none when every network is internal: no way out)."""
    if mode != "bridge":
        return {"netns": name, "hosts": [], "resolv": "none"}
    upstream = any(not nets[a["network"]]["internal"] for a in atts)
    return {"netns": name, "hosts": ctrs.gateway_entries(nets, routes), "resolv": "upstream" if upstream else "none",
            "include": [a["network"] for a in atts if lists.get(a["network"])]}


# a Linux bridge numbers its ports in 10 bits, port 0 unused (net/bridge/br_private.h BR_PORT_BITS)
MAX_BRIDGE_PORTS = (1 << 10) - 1


def _bridge_ports(items, nets):
    """More containers on one network than its bridge can hold ports is an error, before anything is made."""
    count = {}
    for _name, _c, _mode, _where, atts in items:
        for att in atts:
            count[att["network"]] = count.get(att["network"], 0) + 1
    for network, n in sorted(count.items()):
        if n > MAX_BRIDGE_PORTS:
            fail("network %r" % network, "%d containers on it: a Linux bridge holds at most %d ports (put them on "
                                         "several networks)" % (n, MAX_BRIDGE_PORTS))


def with_fleet(networks, fleet=None):
    """``networks`` and the fleet role's network for this host (``fleet``: its nsbridge_fleet_host fact),
    last; the user's list itself is never rewritten (an extra var would outrank that).  A network of the
    user's with the fleet network's name is an error naming both."""
    network = (fleet or {}).get("network")
    if not network:
        return networks
    for i, net in enumerate(networks or []):
        if isinstance(net, dict) and net.get("name") == network["name"]:
            fail("nsbridge_networks[%d]" % i, "network %r is the fleet role's (nsbridge_fleet_network, on bridge %s): "
                                              "name yours otherwise" % (network["name"], network.get("bridge")))
    return list(networks or []) + [network]


def network_plan(networks, containers=None, runtime="podman", shared_names=None, label=ctrs.CONTAINER):
    """The roles' variables -> {namespaces, bridges, masquerades, isolation, pairs, ports, workloads,
    names, names_shared, images, summary}; raises ValidationError naming the network or container
    and the key.  ``shared_names``: {network: [{address, names}]} every container on that network
    resolves too (the fleet role's: the other hosts' containers).  ``label`` % name: how errors name
    a container (the lab role's nodes are its ``nsbridge_lab.nodes.NAME``)."""
    nets = _networks(networks)
    items, seen = ctrs.containers(containers, nets, label)
    _bridge_ports(items, nets)
    ctrs.address(items, nets)
    ctrs.check_names(items)
    plan = {"namespaces": [], "bridges": [], "masquerades": [], "isolation": [], "pairs": [],
            "ports": [], "workloads": [], "names": [], "images": [], "summary": []}
    for net in sorted(nets.values(), key=lambda n: n["index"]):
        _net_batches(plan, net)
    by_name = {name: (mode, atts) for name, _c, mode, _w, atts in items}
    lists = ctrs.network_entries(items)
    for network, entries in (shared_names or {}).items():
        if network in lists:
            lists[network] = lists[network] + list(entries)
    published = {}
    for name, c, mode, where, atts in items:
        netns, routes = name, ctrs.default_routes(atts, nets)
        targets = _targets(atts, routes, nets)
        if mode == "container":
            target = c["network"].split(":", 1)[1]
            other = seen.get(target)
            if other is None or target == name:
                fail(where + ".network", "container:%s names no other container" % target)
            if by_name[target][0] == "container":
                fail(where + ".network", "container %r itself shares another container's namespace" % target)
            netns = target
            other_atts = by_name[target][1]
            targets = _targets(other_atts, ctrs.default_routes(other_atts, nets), nets)
        else:
            plan["namespaces"].append(name)
            plan["names"].append(_names(nets, name, mode, atts, routes, lists))
        for att in atts:
            plan["pairs"].append(_pair(name, att, nets[att["network"]], routes))
        _ports(plan, c, where, targets, published)
        if c.get("image") is not None:
            plan["images"].append(_image_spec(c, netns, where, runtime))
        elif c.get("command"):
            workload = {"name": name, "netns": netns, "command": c["command"]}
            if c.get("env"):
                workload["env"] = validate.environment(c["env"], where + ".env")  # its only one beside PATH and HOME
            plan["workloads"].append(workload)
        main = {v: targets[v][0] for v in targets}
        plan["summary"].append({"name": name, "network": c.get("network") or atts[0]["network"], "netns": netns,
                                "ip": str(main[4]) if 4 in main else None, "ip6": str(main[6]) if 6 in main else None,
                                "networks": [{"name": a["network"], "interface": "eth%d" % a["index"],
                                              "ip": str(a["ips"][4]) if 4 in a["ips"] else None,
                                              "ip6": str(a["ips"][6]) if 6 in a["ips"] else None,
                                              "aliases": a["aliases"]} for a in atts],
                                "publish": [str(p) for p in c.get("publish") or []], "image": c.get("image")})
    used = {n for item in plan["names"] for n in item.get("include", [])}
    plan["names_shared"] = {n: lists[n] for n in sorted(used)}
    return plan
