# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A picture of what network_info found on the hosts: the graph, Graphviz's DOT and its SVG (svg_of runs
dot), a Mermaid diagram and the Markdown page around it.  Controller side, no host touched; the topology_*
filters and the topology action (playbooks/topology.yml) call it.  Imports nothing of nsbridge."""

from __future__ import annotations

import ipaddress
import re
import subprocess


def _ip(address):
    return address.split("/")[0]


class _Networks:
    """Every host's networks by subnet: which network (a node id) on another host holds an address, by
    longest prefix, in at most one dict lookup a prefix length (a fleet's picture looks up O(hosts^2) routes)."""

    def __init__(self):
        self.by_subnet, self.by_text = {}, {}

    def add(self, node_id, host, subnet):
        self.by_subnet.setdefault(ipaddress.ip_network(subnet), []).append((node_id, host))
        self.by_text.setdefault(subnet, []).append((node_id, host))

    def holder(self, address, not_on):
        """(node id, host) of the network on a host other than ``not_on`` that holds ``address``, or None."""
        found = _elsewhere(self.by_text.get(address), not_on)  # a fleet's route: another host's subnet as written
        if found is None:
            target = ipaddress.ip_network(address, strict=False)
            for prefix in range(target.prefixlen, -1, -1):
                found = _elsewhere(self.by_subnet.get(target.supernet(new_prefix=prefix)), not_on)
                if found is not None:
                    break
        return found


def _elsewhere(holders, not_on):
    """The first of ``holders`` ([(node id, host)] or None) on a host other than ``not_on``."""
    for node_id, host in holders or ():
        if host != not_on:
            return node_id, host
    return None


def _names(hosts, most=3):
    """``h2, h3`` or, for more than ``most``, how many."""
    hosts = sorted(hosts)
    if not hosts:
        return "none"
    return ", ".join(hosts) if len(hosts) <= most else "%d hosts" % len(hosts)


def _reach(verb, reached, expected):
    """An edge's label to a fleet's hub: whom it reaches and, if not all, whom it does not."""
    missing = expected - reached
    return "%s %s%s" % (verb, _names(reached), "; not %s" % _names(missing) if missing else "")


def topology_graph(infos):
    """{nodes: [{id, kind, host, label: [lines]}], edges: [{src, dst, kind, label}]}, sorted."""
    nodes, edges = {}, []

    def node(node_id, kind, host, *label):
        nodes[node_id] = {"id": node_id, "kind": kind, "host": host, "label": [line for line in label if line]}

    def edge(src, dst, kind, label=""):
        edges.append({"src": src, "dst": dst, "kind": kind, "label": label})

    networks, vx_macs, tunnels = _Networks(), {}, {}
    # a fleet's links between hosts go through one hub node each (routes; a VXLAN's VNI): O(hosts) edges, not
    # a full mesh's O(hosts^2), which no one reads and Graphviz cannot lay out (beyond ~10 hosts it fails)
    routes_out, routes_in, vnis = {}, {}, {}
    for host, info in sorted(infos.items()):
        for net in info.get("networks", []):
            for subnet in net["subnets"]:
                networks.add("%s/net/%s" % (host, net["name"]), host, subnet)
        for vx in info.get("vxlan", []):
            vx_macs[vx["mac"]] = ("%s/vx/%s" % (host, vx["name"]), host)
    for host, info in sorted(infos.items()):
        host_id = "%s/host" % host
        backends = sorted({i["backend"] for kind in ("published", "masquerades", "isolation")
                           for i in info.get(kind, [])})
        node(host_id, "host", host, host, "firewall: %s" % ", ".join(backends) if backends else "")
        masqs = {m["source"]: m for m in info.get("masquerades", [])}
        isolated = {i["bridge"] for i in info.get("isolation", [])}
        drawn = set()
        for net in info.get("networks", []):
            lines = [net["name"]]
            for subnet in net["subnets"]:
                masq = masqs.get(subnet)
                if masq is not None:
                    drawn.add(subnet)
                lines.append(subnet + ("" if masq is None else " masquerade" if masq["nat"] else " routed"))
            if net["name"] in isolated:
                lines.append("isolated")
            if not net["managed"]:
                lines.append("(not nsbridge's)")
            node("%s/net/%s" % (host, net["name"]), "network", host, *lines)
        for source, masq in sorted(masqs.items()):
            if source not in drawn:
                node("%s/masq/%s" % (host, source), "masquerade", host,
                     "%s %s" % (source, "masquerade" if masq["nat"] else "routed"))
        addresses = {}
        labs = info.get("labs", [])
        lab_of = {n: lab["name"] for lab in labs for n in lab["nodes"]}
        switches = {s for lab in labs for s in lab["switches"]}
        for ctr in info.get("containers", []):
            if ctr.get("stale") or ctr["name"] in switches:
                continue
            ctr_id = "%s/ctr/%s" % (host, ctr["name"])
            ips = [a for i in ctr.get("interfaces", []) for a in i["addresses"]]
            for address in ips:
                addresses[_ip(address)] = ctr_id
            workloads = [w["name"] for w in ctr.get("workloads", [])]
            lines = [_ip(a) for a in ips] + (["runs " + ", ".join(workloads)] if workloads else []) \
                + ([] if ctr["managed"] else ["(not nsbridge's)"])
            if ctr["name"] in lab_of:
                lines.append("lab %s" % lab_of[ctr["name"]])
            node(ctr_id, "node" if ctr["name"] in lab_of else "container", host, ctr["name"], *lines)
            for iface in ctr.get("interfaces", []):
                if iface.get("bridge"):
                    edge(ctr_id, "%s/net/%s" % (host, iface["bridge"]), "attached", iface["name"])
                elif iface.get("host_peer"):
                    edge(ctr_id, host_id, "veth", "%s - %s" % (iface["name"], iface["host_peer"]))
        _lab_edges(host, labs, node, edge, tunnels)
        for pub in info.get("published", []):
            port_id = "%s/port/%s" % (host, pub["scope"].partition(":")[2])
            where = pub["host_ip"] or ("*" if pub["family"] == 4 else "[::]")
            if pub["family"] == 6 and pub["host_ip"]:
                where = "[%s]" % pub["host_ip"]
            node(port_id, "port", host, "%s:%s/%s" % (where, pub["host_port"], pub["protocol"]))
            target = addresses.get(pub["destination"])
            if target is None and pub["destination"]:
                target = "%s/dest/%s" % (host, pub["destination"])
                node(target, "destination", host, pub["destination"])
            if target is not None:
                edge(port_id, target, "publish", ":%s" % pub["destination_port"])
        for route in info.get("routes", []):
            via = "via %s" % route["via"] if route["via"] else "dev %s" % route["dev"]
            holder = networks.holder(route["dst"], host)
            if holder is None:
                target = "%s/route/%s" % (host, route["dst"])
                node(target, "route", host, route["dst"])
                edge(host_id, target, "route", via)
            else:
                routes_out.setdefault(host, set()).add(holder[1])
                routes_in.setdefault(holder, set()).add(via)
        for vx in info.get("vxlan", []):
            vx_id = "%s/vx/%s" % (host, vx["name"])
            node(vx_id, "vxlan", host, "%s vni %s" % (vx["name"], vx["vni"]), *[_ip(a) for a in vx["addresses"]])
            edge(host_id, vx_id, "vxlan-device", vx["local"] or "")
            for peer in vx["peers"]:
                other = vx_macs.get(peer["mac"])
                if other is None:
                    target = "%s/peer/%s" % (host, peer["underlay"])
                    node(target, "peer", host, "peer %s" % peer["underlay"], *peer["addresses"])
                    edge(vx_id, target, "vxlan", "to %s" % peer["underlay"])
                else:
                    vni = vnis.setdefault(vx["vni"], {})
                    vni.setdefault((vx_id, host), set()).add(other[1])
                    vni.setdefault(other, set())
    if routes_out:
        members = set(routes_out) | {h for _net, h in routes_in}
        node("fleet/routes", "fleet", "", "routes between hosts", "%d hosts" % len(members))
        for host, reached in sorted(routes_out.items()):
            edge("%s/host" % host, "fleet/routes", "route", _reach("to", reached, members - {host}))
        for (net_id, _host), vias in sorted(routes_in.items()):
            edge("fleet/routes", net_id, "route", ", ".join(sorted(vias)))
    for vni, devices in sorted(vnis.items(), key=lambda t: str(t[0])):
        hub = "fleet/vxlan/%s" % vni
        members = {host for _vx, host in devices}
        node(hub, "fleet", "", "vxlan vni %s" % vni, "%d hosts" % len(members))
        for (vx_id, host), reached in sorted(devices.items()):
            edge(vx_id, hub, "vxlan", _reach("peers", reached, members - {host}))
    for vni, ends in sorted(tunnels.items(), key=lambda t: str(t[0])):  # a lab's link between hosts: one VNI's ends
        ends = sorted(ends)
        for other in ends[1:]:
            sides = " - ".join(t for t in (ends[0][1], other[1]) if t)
            edge(ends[0][0], other[0], "labvxlan", "vni %s%s" % (vni, ": " + sides if sides else ""))
    return {"nodes": [nodes[k] for k in sorted(nodes)],
            "edges": sorted(edges, key=lambda e: (e["src"], e["dst"], e["kind"], e["label"]))}


def _lab_edges(host, labs, node, edge, tunnels):
    """A host's part of its labs: veth links between its nodes, LAN segments (a node for the switch),
    and the tunnels' ends, gathered by VNI in ``tunnels`` (joined across hosts by the caller)."""
    for lab in labs:
        impaired = {i["end"]: ", ".join(t for t in (
            "rate %s" % i["rate"] if i.get("rate") else "", "loss %s" % i["loss"] if i.get("loss") else "",
            "netem" if i.get("netem") and not i.get("loss") else "") if t) for i in lab.get("impairments", [])}

        def end_id(end):
            return "%s/ctr/%s" % (host, end.split(":")[0])

        def said(end):
            return end.split(":")[1] + (" (%s)" % impaired[end] if impaired.get(end) else "")
        for link in lab["links"]:
            down = "" if link.get("up", True) is not False else " down"
            if link["kind"] == "veth":
                edge(end_id(link["ends"][0]), end_id(link["ends"][1]), "lablink",
                     "%s - %s%s" % (said(link["ends"][0]), said(link["ends"][1]), down))
            elif link["kind"] == "tunnel":
                tunnels.setdefault(link["vni"], []).append((end_id(link["ends"][0]), said(link["ends"][0]) + down))
            else:
                segment = "%s/lan/%s" % (host, link["switch"])
                node(segment, "segment", host, link["switch"], "lab %s" % lab["name"])
                for end in link["ends"]:
                    edge(end_id(end), segment, "attached", said(end))
                if link.get("tunnel"):
                    tunnels.setdefault(link["tunnel"]["vni"], []).append((segment, ""))


_SHAPES = {"host": "box3d", "network": "ellipse", "container": "box", "port": "cds", "vxlan": "hexagon",
           "masquerade": "note", "destination": "plaintext", "route": "plaintext", "peer": "plaintext",
           "node": "box", "segment": "ellipse", "fleet": "doubleoctagon"}
_STYLES = {"route": "dashed", "vxlan": "dashed", "labvxlan": "dashed", "publish": "bold"}
_UNDIRECTED = {"attached", "veth", "vxlan-device", "lablink", "labvxlan"}
# a lab's tunnel never ranks its ends: each host's part of the lab keeps its shape, and a lab across N hosts is
# not a staircase N hosts wide (a ring over 100 hosts took dot ~35 s, 0.1 s unranked)
_UNRANKED = {"labvxlan"}


def _dot_text(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _by_host(graph):
    """{host: its nodes}, hosts sorted; the fleet's hubs under "" (drawn outside every host)."""
    out = {}
    for n in graph["nodes"]:
        out.setdefault(n["host"], []).append(n)
    return {h: out[h] for h in sorted(out)}


def _dot_node(n):
    return '    "%s" [shape=%s, label="%s"];' % (_dot_text(n["id"]), _SHAPES[n["kind"]],
                                                 "\\n".join(_dot_text(t) for t in n["label"]))


def topology_dot(infos):
    """The graph for Graphviz: one cluster per host; node ids as topology_graph gives them."""
    return dot_of(topology_graph(infos))


# Past this many nodes (a fleet of ~170 hosts of 10 containers) Graphviz's dot is told to bound its two slow
# passes, crossing minimisation (mclimit) and network simplex (nslimit, nslimit1), as its documentation
# allows: unbounded, 1,000 such hosts took 79-108 s to lay out, bounded 23-29 s (bench/topology.py); at 300
# hosts the crossings left were the same. Smaller pictures keep dot's own, best-balanced layout.
LAYOUT_BOUND = 2000
BOUNDED_LAYOUT = "mclimit=0.1, nslimit=0.1, nslimit1=0.1, "


def dot_of(graph, unranked=False):
    """topology_dot of a graph topology_graph made. ``unranked``: the links between hosts (and to the fleet's
    hubs) do not rank the nodes they join (constraint=false), the layout left when dot's ranking fails (svg_of);
    a lab's tunnels never do."""
    bounded = BOUNDED_LAYOUT if len(graph["nodes"]) > LAYOUT_BOUND else ""
    lines = ["digraph nsbridge {",
             '  graph [rankdir=LR, newrank=true, %sfontname="Helvetica", label="nsbridge topology"];' % bounded,
             '  node [fontname="Helvetica", fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];']
    by_host = _by_host(graph)
    for i, host in enumerate(h for h in by_host if h):
        lines.append('  subgraph "cluster_%d" {' % i)
        lines.append('    label="%s";' % _dot_text(host))
        lines.extend(_dot_node(n) for n in by_host[host])
        lines.append("  }")
    lines.extend(_dot_node(n) for n in by_host.get("", ()))
    host_of = {n["id"]: n["host"] for n in graph["nodes"]} if unranked else {}
    for e in graph["edges"]:
        attrs = ['label="%s"' % _dot_text(e["label"])]
        if e["kind"] in _STYLES:
            attrs.append("style=%s" % _STYLES[e["kind"]])
        if e["kind"] in _UNDIRECTED:
            attrs.append("dir=none")
        if e["kind"] in _UNRANKED or (unranked and host_of[e["src"]] != host_of[e["dst"]]):
            attrs.append("constraint=false")
        lines.append('  "%s" -> "%s" [%s];' % (_dot_text(e["src"]), _dot_text(e["dst"]), ", ".join(attrs)))
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg_of(graph, dot="dot"):
    """(DOT, SVG, None) or (DOT, None, what dot said): Graphviz's picture and the DOT it was laid out from.
    dot's ranking of many clusters joined by edges fails on some graphs ("trouble in init_rank", a
    long-standing Graphviz bug; 148 fleet hosts with a container wired to each host hit it in Debian 12's
    2.43): the same picture with the links between hosts left out of the ranking is laid out instead."""
    tried = []
    for unranked in (False, True):
        text = dot_of(graph, unranked)
        proc = subprocess.run([dot, "-Tsvg"], input=text, capture_output=True, encoding="utf-8", errors="replace",
                              check=False)
        if proc.returncode == 0:
            return text, proc.stdout, None
        tried.append((text, proc.stderr))
    plain, said = tried[0]
    return plain, None, _first_lines(said)


def _first_lines(text, keep=3):
    lines = text.strip().splitlines()
    return "\n".join(lines[:keep]) + ("\n(%d more lines)" % (len(lines) - keep) if len(lines) > keep else "")


_MERMAID_SHAPES = {"host": ("[[", "]]"), "network": ("([", "])"), "container": ("[", "]"), "port": (">", "]"),
                   "vxlan": ("{{", "}}"), "masquerade": ("[/", "/]"), "destination": ("(", ")"),
                   "route": ("(", ")"), "peer": ("(", ")"), "node": ("(", ")"), "segment": ("([", "])"),
                   "fleet": ("{{", "}}")}


def mermaid_ids(graph):
    """{node id: Mermaid id}: letters, digits and _ only, unique."""
    out, taken = {}, set()
    for n in graph["nodes"]:
        base = re.sub(r"[^A-Za-z0-9_]", "_", n["id"])
        candidate, i = base, 1
        while candidate in taken:
            i += 1
            candidate = "%s_%d" % (base, i)
        taken.add(candidate)
        out[n["id"]] = candidate
    return out


def _mermaid_text(text):
    return text.replace('"', "#quot;")


def _mermaid_node(n, ids):
    left, right = _MERMAID_SHAPES[n["kind"]]
    return '    %s%s"%s"%s' % (ids[n["id"]], left, "<br/>".join(_mermaid_text(t) for t in n["label"]), right)


def topology_mermaid(infos):
    """The graph as a Mermaid flowchart (in a Markdown file code-review tools render)."""
    return mermaid_of(topology_graph(infos))


def mermaid_of(graph):
    """topology_mermaid of a graph topology_graph made."""
    ids = mermaid_ids(graph)
    lines = ["flowchart LR"]
    by_host = _by_host(graph)
    for i, host in enumerate(h for h in by_host if h):
        lines.append('  subgraph host_%d["%s"]' % (i, _mermaid_text(host)))
        lines.extend(_mermaid_node(n, ids) for n in by_host[host])
        lines.append("  end")
    lines.extend(_mermaid_node(n, ids) for n in by_host.get("", ()))
    for e in graph["edges"]:
        arrow = "-.->" if e["kind"] in ("route", "vxlan") else "-.-" if e["kind"] == "labvxlan" \
            else "---" if e["kind"] in _UNDIRECTED else "==>"
        label = '|"%s"|' % _mermaid_text(e["label"]) if e["label"] else ""
        lines.append("  %s %s%s %s" % (ids[e["src"]], arrow, label, ids[e["dst"]]))
    return "\n".join(lines) + "\n"


def topology_markdown(infos):
    """topology.md: a Mermaid flowchart in Markdown, the hosts named above it."""
    return markdown_of(topology_graph(infos))


def markdown_of(graph):
    """topology_markdown of a graph topology_graph made (its hosts: the nodes of kind host)."""
    hosts = sorted(n["host"] for n in graph["nodes"] if n["kind"] == "host")
    return ("# nsbridge topology\n\nHosts: %s. Made by `playbooks/topology.yml` from\n"
            "`nsbridge.network.network_info`; the same picture as `topology.svg`.\n\n```mermaid\n%s\n```\n"
            % (", ".join(hosts), mermaid_of(graph).strip()))
