"""The topology filters: the picture of network_info facts shows every network, container, published
port and inter-host link, and nothing else, in all three forms (DOT, Graphviz's SVG, Mermaid)."""

import copy
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                                ".collections"))

from ansible_collections.nsbridge.network.plugins.module_utils.roles.topology import (  # noqa: E402
    mermaid_ids, topology_dot, topology_graph, topology_mermaid)
from picture import expected, from_dot, from_mermaid, from_svg  # noqa: E402


def host(n, mode, hosts=(1, 2)):
    """One fleet host as network_info reports it: the fleet network, a web container with a published
    port (both families), a container with no network but a veth to the host, and the fleet's links."""
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


def fleet(mode):
    return {"h%d" % n: host(n, mode) for n in (1, 2)}


def test_the_graph_is_the_facts_and_nothing_else():
    for mode in ("routed", "vxlan"):
        infos = fleet(mode)
        graph = topology_graph(infos)
        nodes, edges = expected(infos)
        assert {n["id"] for n in graph["nodes"]} == nodes
        assert {(e["src"], e["dst"]) for e in graph["edges"]} == edges
        assert from_dot(topology_dot(infos)) == (nodes, edges)
        assert from_mermaid(topology_mermaid(infos), mermaid_ids(graph)) == (nodes, edges)


def test_links_between_hosts():
    """A route to another host's network goes host -> the fleet's routes hub -> that network; a VXLAN
    device links to its VNI's hub; what leads outside the picture is drawn on its own."""
    routed = topology_graph(fleet("routed"))
    edges = {(e["src"], e["dst"]): e["label"] for e in routed["edges"]}
    assert edges[("h1/host", "fleet/routes")] == "to h2" and edges[("h2/host", "fleet/routes")] == "to h1"
    assert edges[("fleet/routes", "h2/net/nsb-fleet")] == "via 192.168.78.12"
    assert edges[("h1/host", "h1/route/10.77.0.0/16")] == "via 192.168.78.1", "a route to no fleet network"
    hub = {n["id"]: n for n in routed["nodes"]}["fleet/routes"]
    assert (hub["kind"], hub["host"], hub["label"]) == ("fleet", "", ["routes between hosts", "2 hosts"])
    vxlan = topology_graph(fleet("vxlan"))
    edges = {(e["src"], e["dst"]): e["label"] for e in vxlan["edges"]}
    assert edges[("h1/vx/nsb-vx", "fleet/vxlan/1")] == "peers h2"
    assert edges[("h1/vx/nsb-vx", "h1/peer/192.168.78.99")] == "to 192.168.78.99", "a peer that is not in the picture"
    assert {n["id"]: n["label"] for n in vxlan["nodes"]}["fleet/vxlan/1"] == ["vxlan vni 1", "2 hosts"]


def test_a_fleet_is_drawn_in_edges_linear_in_its_hosts_and_names_a_missing_link(tmp_path):
    """12 hosts, each linked to all others but h5, which lacks its route (or peer) to h7: a full mesh
    would be 132 edges between hosts (Graphviz fails on a VXLAN mesh of 10); the hubs draw 24 (routed:
    each host to the hub, the hub to each network) or 12 (a device each), and h5's says what it lacks."""
    members = range(1, 13)
    for mode in ("routed", "vxlan"):
        infos = {"h%d" % n: host(n, mode, members) for n in members}
        if mode == "routed":
            infos["h5"]["routes"] = [r for r in infos["h5"]["routes"] if r["dst"] != "10.200.7.0/24"]
        else:
            peers = infos["h5"]["vxlan"][0]["peers"]
            infos["h5"]["vxlan"][0]["peers"] = [p for p in peers if p["underlay"] != "192.168.78.17"]
        graph = topology_graph(infos)
        hub = "fleet/routes" if mode == "routed" else "fleet/vxlan/1"
        linking = [e for e in graph["edges"] if hub in (e["src"], e["dst"])]
        assert len(linking) == (24 if mode == "routed" else 12), mode
        src = "h5/host" if mode == "routed" else "h5/vx/nsb-vx"
        label = {e["src"]: e["label"] for e in linking if e["dst"] == hub}
        assert label[src] == ("to" if mode == "routed" else "peers") + " 10 hosts; not h7", mode
        assert label[src.replace("h5", "h7")].endswith(" 11 hosts"), mode
        (tmp_path / "t.dot").write_text(topology_dot(infos))
        subprocess.run(["dot", "-Tsvg", "-o", str(tmp_path / "t.svg"), str(tmp_path / "t.dot")], check=True)
        assert from_svg(str(tmp_path / "t.svg")) == expected(infos), mode


def test_labels_say_what_each_thing_is():
    nodes = {n["id"]: n["label"] for n in topology_graph(fleet("routed"))["nodes"]}
    assert nodes["h1/net/nsb-fleet"] == ["nsb-fleet", "10.200.1.0/24 masquerade", "fd00:200:0:1::/64 routed",
                                         "isolated"]
    assert nodes["h1/ctr/web"] == ["web", "10.200.1.10", "fd00:200:0:1::10", "runs web"]
    assert nodes["h1/port/tcp:*:8080"] == ["*:8080/tcp"] and nodes["h1/port/tcp:[::]:8080"] == ["[::]:8080/tcp"]
    assert nodes["h1/port/udp:198.51.100.1:53-54"] == ["198.51.100.1:53-54/udp"]
    assert nodes["h1/masq/172.31.0.0/16"] == ["172.31.0.0/16 masquerade"]
    assert nodes["h1/host"] == ["h1", "firewall: iptables, nftables"]


def test_the_same_network_gives_the_same_picture():
    infos = fleet("vxlan")
    later = copy.deepcopy(infos)
    for info in later.values():
        info["containers"][0]["workloads"][0]["pid"] += 7
        for pub in info["published"]:
            pub["connections"] += 11
    assert topology_dot(later) == topology_dot(infos) and topology_mermaid(later) == topology_mermaid(infos)


def test_graphviz_renders_it_well_formed(tmp_path):
    infos = fleet("routed")
    (tmp_path / "t.dot").write_text(topology_dot(infos))
    subprocess.run(["dot", "-Tsvg", "-o", str(tmp_path / "t.svg"), str(tmp_path / "t.dot")], check=True)
    assert from_svg(str(tmp_path / "t.svg")) == expected(infos)


def test_a_lab_across_two_hosts_is_drawn_with_its_links():
    """Nodes on each host, a veth link within a host, a tunnel between the hosts (one edge, by VNI,
    with the impairment of its end), a LAN segment spanning both."""
    def lab_host(name, nodes, links, impairments=()):
        containers = [{"name": n, "managed": True, "routes": [], "workloads": [], "interfaces": []} for n in nodes]
        containers.append({"name": "lab-seg", "managed": True, "routes": [], "workloads": [], "interfaces": []})
        return {"schema": 1, "networks": [], "published": [], "masquerades": [], "isolation": [], "routes": [],
                "vxlan": [], "containers": containers,
                "labs": [{"name": "lab", "project": "default", "nodes": nodes, "switches": ["lab-seg"], "links": links,
                          "impairments": list(impairments)}]}
    infos = {
        "h1": lab_host("h1", ["r1", "r2"], [
            {"kind": "veth", "ends": ["r1:eth1", "r2:eth1"], "up": True},
            {"kind": "tunnel", "ends": ["r2:eth2"], "vni": 1048600, "remotes": ["192.0.2.2"], "up": True},
            {"kind": "lan", "switch": "lab-seg", "ends": ["r1:eth3"], "tunnel": {"vni": 1048700}}],
            [{"end": "r2:eth2", "rate": "8mbit", "loss": None, "netem": None}]),
        "h2": lab_host("h2", ["r3"], [
            {"kind": "tunnel", "ends": ["r3:eth1"], "vni": 1048600, "remotes": ["192.0.2.1"], "up": False},
            {"kind": "lan", "switch": "lab-seg", "ends": ["r3:eth3"], "tunnel": {"vni": 1048700}}]),
    }
    graph = topology_graph(infos)
    kinds = {n["id"]: n["kind"] for n in graph["nodes"]}
    assert kinds["h1/ctr/r1"] == "node" and kinds["h2/ctr/r3"] == "node" and kinds["h1/lan/lab-seg"] == "segment"
    assert "h1/ctr/lab-seg" not in kinds, "a switch is drawn as its segment, not as a container"
    edges = {(e["src"], e["dst"], e["kind"]): e["label"] for e in graph["edges"]}
    assert edges[("h1/ctr/r1", "h1/ctr/r2", "lablink")] == "eth1 - eth1"
    assert edges[("h1/ctr/r2", "h2/ctr/r3", "labvxlan")] == "vni 1048600: eth2 (rate 8mbit) - eth1 down"
    assert edges[("h1/lan/lab-seg", "h2/lan/lab-seg", "labvxlan")] == "vni 1048700"
    assert edges[("h1/ctr/r1", "h1/lan/lab-seg", "attached")] == "eth3"
    assert 'subgraph "cluster_1"' in topology_dot(infos) and "-.-" in topology_mermaid(infos)
