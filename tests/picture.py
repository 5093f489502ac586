"""What a topology picture must show, derived from network_info facts on their own, and readers of
the picture's three forms (DOT source, Graphviz SVG, Mermaid) -- shared by the unit and the
playbook tests."""

import ipaddress
import re
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def network_info(n, mode, hosts=(1, 2)):
    """Fleet host ``n`` of ``hosts`` (routed or vxlan ``mode``) as network_info reports it: the fleet network,
    a web container with a published port (both families), a container with no network but a veth to the
    host, and the fleet's links."""
    sub, sub6 = "10.200.%d.0/24" % n, "fd00:200:0:%d::/64" % n
    others = [m for m in hosts if m != n]
    info = {
        "schema": 1,
        "networks": [{"name": "nsb-fleet", "managed": True, "addresses": [], "subnets": [sub, sub6], "mtu": 1450,
                      "mac": "02:00:00:00:00:0%d" % n, "up": True, "ports": ["vweb"]}],
        "containers": [
            {"name": "web", "managed": True, "routes": [],
             "interfaces": [{"name": "eth0", "kind": "veth", "mac": "02:42:0a:c8:%02x:0a" % n, "mtu": 1450, "up": True,
                             "addresses": ["10.200.%d.10/24" % n, "fd00:200:0:%d::10/64" % n],
                             "host_peer": "vweb", "bridge": "nsb-fleet"}],
             "workloads": [{"name": "web", "pid": 1000 + n, "alive": True, "command": "python3 -m http.server"}]},
            {"name": "probe", "managed": True, "routes": [], "workloads": [],
             "interfaces": [{"name": "eth0", "kind": "veth", "mac": "02:00:00:00:01:0%d" % n, "mtu": 1500,
                             "up": True, "addresses": ["192.0.2.%d/31" % n], "host_peer": "vprobe", "bridge": None}]},
        ],
        "published": [
            {"backend": "nftables", "family": 4, "protocol": "tcp", "host_ip": None, "host_port": 8080,
             "destination": "10.200.%d.10" % n, "destination_port": 8000, "connections": 3, "id": "abc", "rules": 6,
             "complete": True, "families": [4], "scope": "publish:tcp:*:8080"},
            {"backend": "nftables", "family": 6, "protocol": "tcp", "host_ip": None, "host_port": 8080,
             "destination": "fd00:200:0:%d::10" % n, "destination_port": 8000, "connections": 0, "id": "abd",
             "rules": 5, "complete": True, "families": [6], "scope": "publish:tcp:[::]:8080"},
            {"backend": "nftables", "family": 4, "protocol": "udp", "host_ip": "198.51.100.%d" % n, "host_port": "53-54",
             "destination": "10.9.9.9", "destination_port": 53, "connections": 0, "id": "abe", "rules": 3,
             "complete": True, "families": [4], "scope": "publish:udp:198.51.100.%d:53-54" % n},
        ],
        "masquerades": [{"backend": "nftables", "source": sub, "nat": True, "id": "m1", "rules": 4, "complete": True,
                         "families": [4], "scope": "masq:" + sub},
                        {"backend": "nftables", "source": sub6, "nat": False, "id": "m2", "rules": 3,
                         "complete": True, "families": [6], "scope": "masq:" + sub6},
                        {"backend": "iptables", "source": "172.31.0.0/16", "nat": True, "id": "m3", "rules": 1,
                         "complete": True, "families": [4], "scope": "masq:172.31.0.0/16"}],
        "isolation": [{"backend": "nftables", "bridge": "nsb-fleet", "id": "i1", "rules": 2, "complete": True,
                       "families": [4, 6], "scope": "isolate:nsb-fleet"}],
        "routes": [], "vxlan": [],
    }
    if mode == "routed":
        info["routes"] = [{"dst": "10.200.%d.0/24" % m, "via": "192.168.78.1%d" % m, "dev": "eth0", "metric": 0,
                           "family": 4} for m in others]
        info["routes"].append({"dst": "10.77.0.0/16", "via": "192.168.78.1", "dev": "eth0", "metric": 0, "family": 4})
    else:
        info["vxlan"] = [{"name": "nsb-vx", "vni": 1, "local": "192.168.78.1%d" % n, "port": 4789, "dev": None,
                          "mtu": 1450, "mac": "02:6e:00:00:00:0%d" % n, "addresses": ["10.200.%d.0/32" % n],
                          "peers": [{"underlay": "192.168.78.1%d" % m, "mac": "02:6e:00:00:00:0%d" % m,
                                     "addresses": ["10.200.%d.0" % m]} for m in others]
                          + [{"underlay": "192.168.78.99", "mac": "02:6e:00:00:00:99", "addresses": ["10.200.99.0"]}]}]
    return info


def expected(infos):
    """(node ids, edges as (src, dst)) the picture of ``infos`` ({host: network_info}) must have, and
    nothing else: every host, network, container, published port and VXLAN device, each container's
    links, each port's container; each route to another host's network goes through the fleet's routes hub
    (host -> hub -> that network), each VXLAN device peered with devices in the picture to its VNI's hub."""
    nodes, edges = set(), set()
    subnets = {}
    macs = {}
    for host, info in infos.items():
        for net in info["networks"]:
            subnets["%s/net/%s" % (host, net["name"])] = [ipaddress.ip_network(s) for s in net["subnets"]]
        for vx in info["vxlan"]:
            macs[vx["mac"]] = "%s/vx/%s" % (host, vx["name"])
    for host, info in infos.items():
        nodes.add(host + "/host")
        nodes.update("%s/net/%s" % (host, n["name"]) for n in info["networks"])
        where = {}
        for ctr in info["containers"]:
            if ctr.get("stale"):
                continue
            cid = "%s/ctr/%s" % (host, ctr["name"])
            nodes.add(cid)
            for iface in ctr["interfaces"]:
                where.update({a.split("/")[0]: cid for a in iface["addresses"]})
                if iface["bridge"]:
                    edges.add((cid, "%s/net/%s" % (host, iface["bridge"])))
                elif iface["host_peer"]:
                    edges.add((cid, host + "/host"))
        masq_sources = {s for n in info["networks"] for s in n["subnets"]}
        nodes.update("%s/masq/%s" % (host, m["source"]) for m in info["masquerades"] if m["source"] not in masq_sources)
        for pub in info["published"]:
            pid = "%s/port/%s" % (host, pub["scope"].partition(":")[2])
            nodes.add(pid)
            target = where.get(pub["destination"], "%s/dest/%s" % (host, pub["destination"]))
            nodes.add(target)
            edges.add((pid, target))
        for route in info["routes"]:
            dst = ipaddress.ip_network(route["dst"])
            nets = [n for n, subs in subnets.items() if not n.startswith(host + "/")
                    and any(s.version == dst.version and dst.subnet_of(s) for s in subs)]
            if nets:
                nodes.add("fleet/routes")
                edges.update({(host + "/host", "fleet/routes"), ("fleet/routes", nets[0])})
            else:
                nodes.add("%s/route/%s" % (host, route["dst"]))
                edges.add((host + "/host", "%s/route/%s" % (host, route["dst"])))
        for vx in info["vxlan"]:
            vid = "%s/vx/%s" % (host, vx["name"])
            nodes.add(vid)
            edges.add((host + "/host", vid))
            for peer in vx["peers"]:
                if peer["mac"] in macs:
                    hub = "fleet/vxlan/%s" % vx["vni"]
                    nodes.add(hub)
                    edges.update({(vid, hub), (macs[peer["mac"]], hub)})
                else:
                    nodes.add("%s/peer/%s" % (host, peer["underlay"]))
                    edges.add((vid, "%s/peer/%s" % (host, peer["underlay"])))
    return nodes, edges


def from_dot(text):
    nodes = set(re.findall(r'^    "([^"]+)" \[shape=', text, re.M))
    edges = set(re.findall(r'^  "([^"]+)" -> "([^"]+)" \[', text, re.M))
    return nodes, edges


def from_svg(path):
    """Node and edge titles of a Graphviz SVG (parsing it is the well-formedness check)."""
    root = ET.parse(path).getroot()
    assert root.tag == SVG + "svg"
    nodes, edges = set(), set()
    for group in root.iter(SVG + "g"):
        title = group.find(SVG + "title")
        if group.get("class") == "node":
            nodes.add(title.text)
        elif group.get("class") == "edge":
            src, _arrow, dst = title.text.partition("->")
            edges.add((src, dst))
    return nodes, edges


def from_mermaid(text, ids):
    """Node ids and edges of topology_mermaid's text, mapped back through ``ids`` (mermaid_ids)."""
    back = {v: k for k, v in ids.items()}
    nodes = {back[m] for m in re.findall(r'^    ([A-Za-z0-9_]+)[\[\(>{/]', text, re.M)}
    pattern = r'^  ([A-Za-z0-9_]+) (?:---|-\.->|==>)(?:\|"[^"]*"\|)? ([A-Za-z0-9_]+)$'
    edges = {(back[a], back[b]) for a, b in re.findall(pattern, text, re.M)}
    return nodes, edges
