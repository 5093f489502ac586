# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' networks and containers, checked and turned into module batches (dual-stack).

One planner for the ``network_plan`` filter (the roles) and for any module that is given the
roles' description: it checks with the same validators the modules use (common.validate,
planners.port_publish.parse_ports), and every error names the network or container and the key
(``network 'front'.subnet6: ...``).  Addresses are allocated stably: explicit ones first, then a
position derived from a hash of the container's name, the first free one after it; adding a
container renumbers nobody, in either family.
"""

from __future__ import annotations

import hashlib
import re

from ..common import validate
from ..common.errors import ValidationError
from ..planners.port_publish import parse_ports

NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")
NETWORK_KEYS = ("name", "subnet", "subnet6", "bridge", "gateway", "gateway6", "masquerade", "routed6", "isolated",
                "internal", "mtu", "masquerade_exclude", "accept_from")
CONTAINER_KEYS = ("name", "network", "ip", "ip6", "publish", "command", "image", "env", "volumes")
RUNTIMES = ("podman",)  # the only runtime that starts a container in a namespace made beforehand
PROTOCOLS = ("tcp", "udp", "sctp")
# Docker's -p: [host_ip:]host_port:container_port[/proto]; an IPv6 host_ip in brackets
PUBLISH = re.compile(r"^(?:(?P<ip>\[[0-9a-fA-F:.]+\]|[0-9.]+):)?(?P<host>\d+(?:-\d+)?):(?P<cont>\d+(?:-\d+)?)"
                     r"(?:/(?P<proto>[a-z]+))?$")
MIN_PREFIX = {4: 30, 6: 120}  # the smallest subnets with room for a gateway and containers


def fail(where, message):
    raise ValidationError(message, where)


def _known_keys(item, keys, where):
    """A key the roles do not know is a typo (publsh:) that would otherwise be silently ignored."""
    unknown = sorted(str(k) for k in item if k not in keys)
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        fail(where, "unknown key%s %s (known: %s)" % (plural, ", ".join(map(repr, unknown)), ", ".join(keys)))


def host_ifname(container):
    """The host end of a container's veth pair: stable, unique, within IFNAMSIZ."""
    return "nsb" + hashlib.sha256(container.encode()).hexdigest()[:10]


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
        host_ports = parse_ports(host, here + ".host_port")
        container_ports = parse_ports(cont, here + ".container_port")
        if host_ports[1] - host_ports[0] != container_ports[1] - container_ports[0]:
            fail(here, "host and container port ranges differ in length")
        family = None  # both families (Docker's -p 8080:80 on a dual-stack network)
        if host_ip:
            address = validate.address(str(host_ip).strip("[]"), here + ".host_ip")
            family = address.version
            host_ip = None if address.is_unspecified else str(address)  # 0.0.0.0 / [::]: every address of the family
        out.append({"host_ip": host_ip, "family": family, "host_ports": host_ports,
                    "container_ports": container_ports, "protocol": proto})
    return out


def _allocate(family, name, where):
    """A stable address for ``name``: a hashed start, the first free one after it."""
    subnet = family["subnet"]
    size = subnet.num_addresses - (2 if subnet.version == 4 else 1)
    start = int(hashlib.sha256(name.encode()).hexdigest(), 16) % size
    for step in range(min(size, 1 << 16)):
        candidate = subnet.network_address + 1 + (start + step) % size
        if candidate != family["gateway"] and candidate not in family["taken"]:
            return candidate
    fail(where, "%s has no free address left" % subnet)


def _explicit(c, key, net, version, where):
    """The address the container asks for with ``key`` (ip, ip6), checked; None if it asks none."""
    if c.get(key) is None:
        return None
    family = net["families"].get(version) if net else None
    if family is None:
        fail(where + "." + key, "network %r has no IPv%d subnet" % (c.get("network"), version) if net
             else "only a container on a network has an address")
    ip = validate.address(c[key], where + "." + key)
    if ip.version != version:
        fail(where + "." + key, "%s is not an IPv%d address" % (ip, version))
    subnet = family["subnet"]
    if ip not in subnet or ip == subnet.network_address or (version == 4 and ip == subnet.broadcast_address):
        fail(where + "." + key, "%s is outside network %r (%s)" % (ip, net["name"], subnet))
    if ip == family["gateway"]:
        fail(where + "." + key, "%s is network %r's gateway" % (ip, net["name"]))
    if ip in family["taken"]:
        fail(where + "." + key, "%s is also container %r's address" % (ip, family["taken"][ip]))
    family["taken"][ip] = c["name"]
    return ip


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
        if not isinstance(c["env"], dict):
            fail(where + ".env", "must be a dict of variable: value")
        spec["env"] = {str(k): str(v) for k, v in c["env"].items()}
    if c.get("volumes") is not None:
        if not isinstance(c["volumes"], list) or not all(isinstance(v, str) and ":" in v for v in c["volumes"]):
            fail(where + ".volumes", "must be a list of HOST_PATH:CONTAINER_PATH[:OPTIONS]")
        spec["volume"] = list(c["volumes"])
    return spec


def _containers(containers, nets):
    items, seen = [], {}
    for i, c in enumerate(containers or []):
        if not isinstance(c, dict) or not c.get("name"):
            fail("nsbridge_containers[%d]" % i, "every container needs a name")
        name = str(c["name"])
        where = "container %r" % name
        _known_keys(c, CONTAINER_KEYS, where)
        if not NAME.match(name):
            fail(where + ".name", "must match %s (at most 63 characters)" % NAME.pattern)
        if name in seen:
            fail(where, "name is used twice")
        seen[name] = c
        network = c.get("network")
        if network in (None, ""):
            fail(where + ".network", "is required (a network name, none, or container:NAME)")
        if network == "none":
            mode = "none"
        elif str(network).startswith("container:"):
            mode = "container"
        elif network in nets:
            mode = "bridge"
        else:
            fail(where + ".network", "unknown network %r (known: %s)" % (network, ", ".join(sorted(nets)) or "none"))
        items.append((name, c, mode, where))
    return items, seen


def _addresses(items, nets):
    """{container: {4: ip, 6: ip}}: explicit addresses first, then hashed ones in name order (stable
    whatever the list order; adding a container renumbers nobody)."""
    addresses = {}
    for name, c, mode, where in items:
        net = nets.get(c.get("network")) if mode == "bridge" else None
        for version, key in ((4, "ip"), (6, "ip6")):
            ip = _explicit(c, key, net, version, where)
            if ip is not None:
                addresses.setdefault(name, {})[version] = ip
    for name, c, mode, where in sorted(items):
        if mode != "bridge":
            continue
        net = nets[c["network"]]
        for version, family in sorted(net["families"].items()):
            if version not in addresses.get(name, {}):
                ip = _allocate(family, name, "%s.%s" % (where, "ip" if version == 4 else "ip6"))
                family["taken"][ip] = name
                addresses.setdefault(name, {})[version] = ip
    return addresses


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


def _pair(name, net, ips):
    fams = net["families"]
    pair = {"name": host_ifname(name), "peer": "eth0", "peer_netns": name, "bridge": net["bridge"], "hairpin": True,
            "peer_addresses": ["%s/%d" % (ips[v], fams[v]["subnet"].prefixlen) for v in sorted(ips)],
            "peer_mac": container_mac(ips[4] if 4 in ips else ips[6])}
    gateways = [str(fams[v]["gateway"]) for v in sorted(ips) if fams[v]["gateway"]]
    if gateways:
        pair["peer_gateway"] = gateways
    if net["mtu"]:
        pair["mtu"] = net["mtu"]
    return pair


def _ports(plan, name, c, where, ips, bridge, published):
    entries = _publish_entries(c.get("publish"), where)
    if entries and not ips:
        fail(where + ".publish", "a container without a network address cannot publish ports")
    for j, spec in enumerate(entries):
        here = "%s.publish[%d]" % (where, j)
        versions = [spec["family"]] if spec["family"] else sorted(ips)
        for version in versions:
            if version not in ips:
                fail(here, "the container has no IPv%d address to publish to" % version)
            (h0, h1), (c0, c1) = spec["host_ports"], spec["container_ports"]
            host_ip = spec["host_ip"] or "*"
            for port in range(h0, h1 + 1):
                for other_ip, owner in published.get((version, spec["protocol"], port), ()):
                    if "*" in (other_ip, host_ip) or other_ip == host_ip:
                        fail(here, "host port %d/%s (IPv%d) is also published by container %r"
                             % (port, spec["protocol"], version, owner))
                published.setdefault((version, spec["protocol"], port), []).append((host_ip, name))
            item = {"host_port": str(h0) if h0 == h1 else "%d-%d" % (h0, h1), "destination": str(ips[version]),
                    "destination_port": str(c0) if c0 == c1 else "%d-%d" % (c0, c1),
                    "protocol": spec["protocol"], "bridge": bridge}
            if spec["host_ip"]:
                item["host_ip"] = spec["host_ip"]
            plan["ports"].append(item)


def network_plan(networks, containers=None, runtime="podman"):
    """The roles' variables -> {namespaces, bridges, masquerades, isolation, pairs, ports, workloads,
    images, summary}; raises ValidationError naming the network or container and the key."""
    nets = _networks(networks)
    items, seen = _containers(containers, nets)
    addresses = _addresses(items, nets)
    plan = {"namespaces": [], "bridges": [], "masquerades": [], "isolation": [], "pairs": [],
            "ports": [], "workloads": [], "images": [], "summary": []}
    for net in sorted(nets.values(), key=lambda n: n["index"]):
        _net_batches(plan, net)
    published = {}
    for name, c, mode, where in items:
        netns, ips, bridge = name, addresses.get(name, {}), None
        if mode == "container":
            target = c["network"].split(":", 1)[1]
            other = seen.get(target)
            if other is None or target == name:
                fail(where + ".network", "container:%s names no other container" % target)
            if str(other.get("network", "")).startswith("container:"):
                fail(where + ".network", "container %r itself shares another container's namespace" % target)
            netns, ips = target, addresses.get(target, {})
            if other.get("network") in nets:
                bridge = nets[other["network"]]["bridge"]
        else:
            plan["namespaces"].append(name)
        if mode == "bridge":
            net = nets[c["network"]]
            bridge = net["bridge"]
            plan["pairs"].append(_pair(name, net, ips))
        _ports(plan, name, c, where, ips, bridge, published)
        if c.get("image") is not None:
            plan["images"].append(_image_spec(c, netns, where, runtime))
        elif c.get("command"):
            plan["workloads"].append({"name": name, "netns": netns, "command": c["command"]})
        plan["summary"].append({"name": name, "network": c["network"], "netns": netns,
                                "ip": str(ips[4]) if 4 in ips else None, "ip6": str(ips[6]) if 6 in ips else None,
                                "publish": [str(p) for p in c.get("publish") or []], "image": c.get("image")})
    return plan
