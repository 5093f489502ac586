# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``nsbridge.network.network_plan`` filter: role variables in, whole module batches out.

All validation of the roles' variables happens here, on the controller, before any
host is touched; every error names the network or container and the field.
"""

from __future__ import annotations

DOCUMENTATION = r'''
name: network_plan
short_description: Turn nsbridge role variables into the module batches the roles pass on
version_added: "0.1.0"
description:
  - Validates I(networks) and I(containers) (unknown networks, addresses outside the subnet, duplicate
    addresses or published ports, names too long) and returns one list per module call.
  - Containers without C(ip) get an address derived from a hash of their name (the same on every run;
    on a hash collision the next free address, in name order).
  - A container's C(eth0) gets the MAC Docker derives from its address (C(02:42) and the four octets), so
    re-creating the interface does not leave stale ARP entries for it behind.
positional: containers
options:
  _input:
    description: The networks (C(nsbridge_networks)).
    type: list
    elements: dict
    required: true
  containers:
    description: The containers (C(nsbridge_containers)).
    type: list
    elements: dict
'''

EXAMPLES = r'''
plan: "{{ nsbridge_networks | nsbridge.network.network_plan(nsbridge_containers) }}"
'''

RETURN = r'''
_value:
  description: C(namespaces), C(bridges), C(masquerades), C(isolation), C(pairs), C(ports), C(workloads), C(summary).
  type: dict
'''

import hashlib
import ipaddress
import re

from ansible.errors import AnsibleFilterError

NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")
PUBLISH = re.compile(r"^(?:(?P<ip>[0-9.]+):)?(?P<host>\d+(?:-\d+)?):(?P<cont>\d+(?:-\d+)?)(?:/(?P<proto>tcp|udp|sctp))?$")


class PlanError(AnsibleFilterError):
    pass


def _fail(where, message):
    raise PlanError("nsbridge.network roles: %s: %s" % (where, message))


def _ifname(value, where):
    if not isinstance(value, str) or not value or len(value.encode()) > 15 or re.search(r"[/\s:]", value) \
            or value in (".", ".."):
        _fail(where, "%r is not a valid interface name (1-15 bytes, no '/', ':' or spaces)" % (value,))
    return value


def host_ifname(container):
    """The host end of a container's veth pair: stable, unique, within IFNAMSIZ."""
    return "nsb" + hashlib.sha256(container.encode()).hexdigest()[:10]


def container_mac(ip):
    """A container's eth0 MAC, from its address as Docker derives it (02:42 + the four octets).

    A container whose interface is re-created keeps its MAC, so neighbours' ARP entries for it
    (the host's, other containers') stay right instead of pointing at a MAC that is gone until
    they time out. Unique per address, so within a network and across the fleet's subnets."""
    return "02:42:" + ":".join("%02x" % octet for octet in ip.packed)


def _networks(networks):
    out = {}
    for i, net in enumerate(networks or []):
        where = "nsbridge_networks[%d]" % i
        if not isinstance(net, dict) or not net.get("name"):
            _fail(where, "every network needs a name")
        name = net["name"]
        where = "network %r" % name
        if not NAME.match(str(name)):
            _fail(where, "name must match %s" % NAME.pattern)
        if name in out or name in ("none", "host"):
            _fail(where, "name is used twice (or is reserved: none, host)")
        try:
            subnet = ipaddress.ip_network(net.get("subnet"), strict=True)
        except (TypeError, ValueError):
            _fail(where + ".subnet", "%r is not an IPv4 network like 10.10.0.0/16" % (net.get("subnet"),))
        if subnet.version != 4 or subnet.prefixlen > 30:
            _fail(where + ".subnet", "%s: an IPv4 network of /30 or larger is needed" % subnet)
        internal = bool(net.get("internal", False))
        gateway = net.get("gateway")
        if gateway is None:
            gateway = None if internal else subnet.network_address + 1
        elif gateway:
            try:
                gateway = ipaddress.ip_address(gateway)
            except ValueError:
                _fail(where + ".gateway", "%r is not an IPv4 address" % (gateway,))
            if gateway not in subnet or gateway in (subnet.network_address, subnet.broadcast_address):
                _fail(where + ".gateway", "%s is not a host address in %s" % (gateway, subnet))
        bridge = _ifname(net.get("bridge") or ("nsb-" + name)[:15], where + ".bridge")
        out[name] = {
            "name": name, "bridge": bridge, "subnet": subnet, "gateway": gateway or None,
            "masquerade": bool(net.get("masquerade", True)) and not internal,
            "isolated": bool(net.get("isolated", True)), "internal": internal, "mtu": net.get("mtu"),
            "taken": {}, "index": i,
            "masquerade_exclude": list(net.get("masquerade_exclude") or []),
            "accept_from": list(net.get("accept_from") or []),
        }
    bridges = {}
    for net in out.values():
        if net["bridge"] in bridges:
            _fail("network %r.bridge" % net["name"], "bridge %r is also network %r's" % (net["bridge"], bridges[net["bridge"]]))
        bridges[net["bridge"]] = net["name"]
    nets = sorted(out.values(), key=lambda n: n["subnet"])
    for a, b in zip(nets, nets[1:]):
        if a["subnet"].overlaps(b["subnet"]):
            _fail("network %r.subnet" % b["name"], "%s overlaps network %r (%s)" % (b["subnet"], a["name"], a["subnet"]))
    return out


def _publish_entries(value, where):
    """Docker -p syntax or dicts -> [{host_ip, host_port, container_port, protocol}]."""
    out = []
    for j, entry in enumerate(value or []):
        here = "%s.publish[%d]" % (where, j)
        if isinstance(entry, dict):
            spec = {"host_ip": entry.get("host_ip"), "host_port": entry.get("host_port"),
                    "container_port": entry.get("container_port", entry.get("host_port")),
                    "protocol": entry.get("protocol", "tcp")}
        else:
            match = PUBLISH.match(str(entry))
            if not match:
                _fail(here, "%r is not [host_ip:]host_port:container_port[/tcp|udp|sctp]" % (entry,))
            spec = {"host_ip": match.group("ip"), "host_port": match.group("host"),
                    "container_port": match.group("cont"), "protocol": match.group("proto") or "tcp"}
        ports = []
        for key in ("host_port", "container_port"):
            text = str(spec[key])
            first, _, last = text.partition("-")
            try:
                first, last = int(first), int(last or first)
            except ValueError:
                _fail(here, "%s %r is not a port or range" % (key, spec[key]))
            if not (1 <= first <= last <= 65535):
                _fail(here, "%s %r is outside 1..65535 or reversed" % (key, spec[key]))
            ports.append((first, last))
        if ports[0][1] - ports[0][0] != ports[1][1] - ports[1][0]:
            _fail(here, "host and container port ranges differ in length")
        if spec["protocol"] not in ("tcp", "udp", "sctp"):
            _fail(here, "protocol %r is not tcp, udp or sctp" % spec["protocol"])
        if spec["host_ip"]:
            try:
                ipaddress.IPv4Address(spec["host_ip"])
            except ValueError:
                _fail(here, "host_ip %r is not an IPv4 address" % spec["host_ip"])
        spec["ports"] = ports
        out.append(spec)
    return out


def _allocate(net, name):
    """A stable address for ``name`` in ``net``: hashed start, first free after it."""
    subnet = net["subnet"]
    size = subnet.num_addresses - 2
    start = int(hashlib.sha256(name.encode()).hexdigest(), 16) % size
    for step in range(size):
        candidate = subnet.network_address + 1 + (start + step) % size
        if candidate != net["gateway"] and candidate not in net["taken"]:
            return candidate
    _fail("container %r" % name, "network %r (%s) has no free address left" % (net["name"], subnet))


def network_plan(networks, containers=None):
    nets = _networks(networks)
    items = []
    seen = {}
    for i, c in enumerate(containers or []):
        if not isinstance(c, dict) or not c.get("name"):
            _fail("nsbridge_containers[%d]" % i, "every container needs a name")
        name = str(c["name"])
        where = "container %r" % name
        if not NAME.match(name):
            _fail(where + ".name", "must match %s (at most 63 characters)" % NAME.pattern)
        if name in seen:
            _fail(where, "name is used twice")
        seen[name] = c
        network = c.get("network")
        mode = "bridge"
        if network in (None, ""):
            _fail(where + ".network", "is required (a network name, none, or container:NAME)")
        if network == "none":
            mode = "none"
        elif str(network).startswith("container:"):
            mode = "container"
        elif network not in nets:
            _fail(where + ".network", "unknown network %r (known: %s)" % (network, ", ".join(sorted(nets)) or "none"))
        items.append((i, name, c, mode, where))

    # explicit addresses first, then hashed ones in name order: stable whatever the list order
    addresses = {}
    for _i, name, c, mode, where in items:
        if mode != "bridge" or not c.get("ip"):
            if mode != "bridge" and c.get("ip"):
                _fail(where + ".ip", "only a container on a network has an address")
            continue
        net = nets[c["network"]]
        try:
            ip = ipaddress.IPv4Address(c["ip"])
        except ValueError:
            _fail(where + ".ip", "%r is not an IPv4 address" % (c["ip"],))
        if ip not in net["subnet"] or ip in (net["subnet"].network_address, net["subnet"].broadcast_address):
            _fail(where + ".ip", "%s is outside network %r (%s)" % (ip, net["name"], net["subnet"]))
        if ip == net["gateway"]:
            _fail(where + ".ip", "%s is network %r's gateway" % (ip, net["name"]))
        if ip in net["taken"]:
            _fail(where + ".ip", "%s is also container %r's address" % (ip, net["taken"][ip]))
        net["taken"][ip] = name
        addresses[name] = ip
    for _i, name, c, mode, where in sorted(items, key=lambda t: t[1]):
        if mode == "bridge" and name not in addresses:
            net = nets[c["network"]]
            addresses[name] = _allocate(net, name)
            net["taken"][addresses[name]] = name

    plan = {"namespaces": [], "bridges": [], "masquerades": [], "isolation": [], "pairs": [],
            "ports": [], "workloads": [], "summary": []}
    for net in sorted(nets.values(), key=lambda n: n["index"]):
        prefix = net["subnet"].prefixlen
        plan["bridges"].append({"name": net["bridge"], "mtu": net["mtu"],
                                "addresses": ["%s/%d" % (net["gateway"], prefix)] if net["gateway"] else []})
        if net["masquerade"]:
            masq = {"source": str(net["subnet"]), "bridge": net["bridge"]}
            for key in ("masquerade_exclude", "accept_from"):
                if net[key]:
                    masq["exclude" if key == "masquerade_exclude" else key] = net[key]
            plan["masquerades"].append(masq)
        plan["isolation"].append({"bridge": net["bridge"], "isolated": net["isolated"], "internal": net["internal"]})
    published = {}
    for _i, name, c, mode, where in items:
        netns = name
        ip = addresses.get(name)
        bridge = None
        if mode == "container":
            target = c["network"].split(":", 1)[1]
            other = seen.get(target)
            if other is None or target == name:
                _fail(where + ".network", "container:%s names no other container" % target)
            if str(other.get("network", "")).startswith("container:"):
                _fail(where + ".network", "container %r itself shares another container's namespace" % target)
            netns = target
            ip = addresses.get(target)
            if other.get("network") in nets:
                bridge = nets[other["network"]]["bridge"]
        else:
            plan["namespaces"].append(name)
        if mode == "bridge":
            net = nets[c["network"]]
            bridge = net["bridge"]
            pair = {"name": host_ifname(name), "peer": "eth0", "peer_netns": name, "bridge": bridge,
                    "hairpin": True, "peer_addresses": ["%s/%d" % (ip, net["subnet"].prefixlen)],
                    "peer_mac": container_mac(ip)}
            if net["gateway"]:
                pair["peer_gateway"] = str(net["gateway"])
            if net["mtu"]:
                pair["mtu"] = net["mtu"]
            plan["pairs"].append(pair)
        entries = _publish_entries(c.get("publish"), where)
        if entries and ip is None:
            _fail(where + ".publish", "a container without a network address cannot publish ports")
        for j, spec in enumerate(entries):
            (h0, h1), (c0, c1) = spec["ports"]
            host_ip = spec["host_ip"] or "*"
            for port in range(h0, h1 + 1):
                for other_ip, owner in published.get((spec["protocol"], port), ()):
                    if "*" in (other_ip, host_ip) or other_ip == host_ip:
                        _fail("%s.publish[%d]" % (where, j), "host port %d/%s is also published by container %r"
                              % (port, spec["protocol"], owner))
                published.setdefault((spec["protocol"], port), []).append((host_ip, name))
            item = {"host_port": str(h0) if h0 == h1 else "%d-%d" % (h0, h1), "destination": str(ip),
                    "destination_port": str(c0) if c0 == c1 else "%d-%d" % (c0, c1),
                    "protocol": spec["protocol"], "bridge": bridge}
            if spec["host_ip"]:
                item["host_ip"] = spec["host_ip"]
            plan["ports"].append(item)
        if c.get("command"):
            plan["workloads"].append({"name": name, "netns": netns, "command": c["command"]})
        plan["summary"].append({"name": name, "network": c["network"], "ip": str(ip) if ip else None,
                                "netns": netns, "publish": [str(p) for p in c.get("publish") or []]})
    return plan


class FilterModule:
    def filters(self):
        return {"network_plan": network_plan}
