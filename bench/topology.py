"""Benchmark: the picture of a fleet (playbooks/topology.yml's drawing step), 10 to 1,000 hosts, no host touched.

Each simulated host is what network_info reports on a fleet host: its fleet network and masquerade, 10
containers on it, and its links to every other host (routed: a route to each host's subnet; vxlan: a peer
per host). The input is O(hosts) a host, O(hosts^2) in all; the picture draws each fleet's links through
one hub node (O(hosts) edges, where a full mesh is O(hosts^2), which Graphviz cannot lay out past ~10
hosts). Times the graph with its DOT and Markdown texts (what the topology action computes) and Graphviz's
layout of the DOT, against a baseline in the same run: json.dumps of the same input, reading it once.
A picture past LAYOUT_BOUND nodes bounds dot's layout passes; it is laid out unbounded too, in the same
run, to show what the bound saves. Last, a lab ring across 10 to 70 hosts, laid out as drawn (its tunnels
do not rank their ends) and with the tunnels ranking them. Prints the ratios and how each grows from the
smallest size; asserts nothing.

    .venv/bin/python bench/topology.py [--sizes 10,100,300,1000] [--lab-sizes 10,30,50,70] [--no-dot]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.nsbridge.network.plugins.module_utils.roles.topology import (  # noqa: E402
    BOUNDED_LAYOUT, dot_of, markdown_of, topology_graph)

CONTAINERS = 10


def subnet(n):
    return "10.%d.%d.0/24" % (200 + n // 250, n % 250)


def underlay(n):
    return "192.168.%d.%d" % (n // 250, n % 250 + 1)


def mac(n):
    return "02:6e:00:00:%02x:%02x" % (n // 256, n % 256)


def host(n, hosts, mode):
    """Host ``n`` of ``hosts`` as network_info reports it."""
    net = subnet(n)
    prefix = net.rsplit(".", 1)[0]
    info = {"schema": 1, "published": [], "isolation": [], "routes": [], "vxlan": [], "labs": [],
            "networks": [{"name": "nsb-fleet", "managed": True, "addresses": [prefix + ".1/24"], "subnets": [net],
                          "mtu": 1450, "mac": "02:00:00:00:%02x:%02x" % (n // 256, n % 256), "up": True, "ports": []}],
            "masquerades": [{"backend": "nftables", "source": net, "nat": True, "id": "m", "rules": 4, "complete": True,
                             "families": [4], "scope": "masq:" + net}],
            "containers": [{"name": "c%d" % i, "managed": True, "routes": [],
                            "workloads": [{"name": "c%d" % i, "pid": 1000 + i, "alive": True, "command": ["httpd"]}],
                            "interfaces": [{"name": "eth0", "kind": "veth", "mac": "02:42:00:00:00:%02x" % i, "mtu": 1450,
                                            "up": True, "addresses": ["%s.%d/24" % (prefix, 10 + i)],
                                            "host_peer": "v%d" % i, "bridge": "nsb-fleet"}]} for i in range(CONTAINERS)]}
    others = [m for m in range(hosts) if m != n]
    if mode == "routed":
        info["routes"] = [{"dst": subnet(m), "via": underlay(m), "dev": "eth0", "metric": 0, "family": 4} for m in others]
    else:
        info["vxlan"] = [{"name": "nsb-vx", "vni": 1, "local": underlay(n), "port": 4789, "dev": None, "mtu": 1450,
                          "mac": mac(n), "addresses": [prefix + ".0/32"],
                          "peers": [{"underlay": underlay(m), "mac": mac(m), "addresses": [subnet(m).split("/")[0]]}
                                    for m in others]}]
    return info


def lab_host(n, hosts, size=5):
    """Host ``n``'s part of a lab ring across ``hosts`` hosts: ``size`` nodes in a chain of veth links, its
    last node tunnelled to the next host's first (VNI n), its first to the previous host's last."""
    nodes = ["r%d-%d" % (n, i) for i in range(size)]
    links = [{"kind": "veth", "ends": ["%s:eth1" % a, "%s:eth2" % b], "up": True} for a, b in zip(nodes, nodes[1:])]
    links.append({"kind": "tunnel", "ends": [nodes[-1] + ":eth3"], "vni": 5000 + n,
                  "remotes": [underlay((n + 1) % hosts)], "up": True})
    links.append({"kind": "tunnel", "ends": [nodes[0] + ":eth3"], "vni": 5000 + (n - 1) % hosts,
                  "remotes": [underlay((n - 1) % hosts)], "up": True})
    return {"schema": 1, "networks": [], "published": [], "masquerades": [], "isolation": [], "routes": [],
            "vxlan": [], "containers": [{"name": r, "managed": True, "routes": [], "workloads": [], "interfaces": []}
                                        for r in nodes],
            "labs": [{"name": "ring", "project": "default", "nodes": nodes, "switches": [], "links": links,
                      "impairments": []}]}


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def picture(infos):
    graph = topology_graph(infos)
    return graph, dot_of(graph), markdown_of(graph)


def layout(dot_text, timeout):
    """Seconds Graphviz's dot takes for the SVG (None: no dot; a string: it failed or ran out of time)."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    with tempfile.TemporaryDirectory(prefix="nsbridge-bench-topology-") as tmp:
        with open(os.path.join(tmp, "t.dot"), "w", encoding="utf-8") as f:
            f.write(dot_text)
        start = time.perf_counter()
        try:
            proc = subprocess.run([dot, "-Tsvg", "-o", os.path.join(tmp, "t.svg"), os.path.join(tmp, "t.dot")],
                                  capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            return "> %d s" % timeout
        return time.perf_counter() - start if proc.returncode == 0 else "failed (exit %d)" % proc.returncode


def seconds(drawn, none):
    return none if drawn is None else drawn if isinstance(drawn, str) else "%.1f s" % drawn


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,300,1000")
    parser.add_argument("--lab-sizes", default="10,30,50,70", help="hosts the lab ring spans")
    parser.add_argument("--no-dot", action="store_true", help="without Graphviz's layout")
    parser.add_argument("--dot-timeout", type=int, default=600)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print("the fleet's picture: %d containers a host, every host linked to every other" % CONTAINERS)
    for mode in ("routed", "vxlan"):
        first = None
        for n in sizes:
            infos = {"h%04d" % i: host(i, n, mode) for i in range(n)}
            base, text = timed(json.dumps, infos)
            took, (graph, dot_text, _markdown) = timed(picture, infos)
            hubs = sum(1 for e in graph["edges"] if e["src"].startswith("fleet/") or e["dst"].startswith("fleet/"))
            drawn = None if args.no_dot else layout(dot_text, args.dot_timeout)
            # the same picture without the layout bound a big one gets (dot's own limits): the bound's gain
            unbounded = layout(dot_text.replace(BOUNDED_LAYOUT, ""), args.dot_timeout) \
                if BOUNDED_LAYOUT in dot_text and drawn is not None else None
            first = first or (n, took)
            print("  %-6s %5d hosts: input %6.1f MB, json.dumps %6.3f s; graph + DOT + Markdown %6.3f s (x%.1f the "
                  "baseline; x%.1f for x%.0f hosts); %d links between hosts drawn (a mesh: %d); DOT %d KB; dot -Tsvg %s%s"
                  % (mode, n, len(text) / 1e6, base, took, took / base, took / first[1], n / first[0], hubs,
                     n * (n - 1), len(dot_text) // 1024, seconds(drawn, "not run"),
                     "" if unbounded is None else " (bounded layout; unbounded %s)" % seconds(unbounded, "")))

    print("a lab ring across hosts: 5 nodes a host, each host's last node tunnelled to the next host's first")
    for n in [int(size) for size in args.lab_sizes.split(",")]:
        dot_text = dot_of(topology_graph({"h%04d" % i: lab_host(i, n) for i in range(n)}))
        drawn = None if args.no_dot else layout(dot_text, args.dot_timeout)
        # the same picture with the tunnels ranking their ends (as before): a staircase n hosts wide
        ranked = None if args.no_dot else layout(dot_text.replace(", constraint=false", ""), args.dot_timeout)
        print("  %5d hosts: dot -Tsvg %s (tunnels unranked); %s with the tunnels ranked"
              % (n, seconds(drawn, "not run"), seconds(ranked, "not run")))


if __name__ == "__main__":
    main()
