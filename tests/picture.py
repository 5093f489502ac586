"""What a topology picture must show, derived from network_info facts on their own, and readers of
the picture's three forms (DOT source, Graphviz SVG, Mermaid) -- shared by the unit and the
playbook tests."""

import ipaddress
import re
import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


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
