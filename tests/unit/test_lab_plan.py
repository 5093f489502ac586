"""The lab role's plan (module_utils/roles/lab.py): what each host builds of one topology, stable
addresses and VNIs, routes by ends, and errors naming the node, the link and the field."""

import ipaddress
import random

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.nsbridge.network.plugins.filter.lab_plan import lab_plan
from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import ValidationError
from ansible_collections.nsbridge.network.plugins.module_utils.roles import lab

INVENTORY = ["h1", "h2", "h3"]
HOSTVARS = {"h1": {"ansible_host": "192.0.2.1"}, "h2": {"nsbridge_fleet_underlay": "192.0.2.2"},
            "h3": {"nsbridge_lab_underlay": "192.0.2.3", "ansible_host": "h3.example"}}


def ring(**change):
    nodes = {"r1": {"host": "h1", "forwarding": True, "routes": [{"dst": "r3:eth1", "via": "r2:eth1"}]},
             "r2": {"host": "h1", "forwarding": True},
             "r3": {"host": "h2", "forwarding": True},
             "r4": {"host": "h2", "forwarding": True},
             "h9": {"host": "h3", "command": "sleep 1000", "env": {"ROLE": "client"}}}
    links = [{"endpoints": ["r1:eth1", "r2:eth1"]}, {"endpoints": ["r2:eth2", "r3:eth1"], "netem": {"r2": {"rate": "8mbit"}}},
             {"endpoints": ["r3:eth2", "r4:eth1"]}, {"endpoints": ["r4:eth2", "r1:eth2"]},
             {"endpoints": ["r1:eth3", "r3:eth3", "h9:eth1"], "name": "lan"}]
    out = {"name": "ring", "nodes": nodes, "links": links,
           "addressing": {"p2p": {"ipv4": "10.1.0.0/16", "ipv6": "fd00:1::/48"}, "lan": {"ipv4": "172.16.0.0/16"}}}
    out.update(change)
    return out


def calls_of(plan, module):
    return [c["args"] for c in plan["calls"] if c["module"] == module]


def test_every_host_builds_its_part_and_the_ends_agree():
    parts = {h: lab.plan(ring(), h, INVENTORY, HOSTVARS) for h in INVENTORY}
    h1, h2, h3 = parts["h1"], parts["h2"], parts["h3"]
    assert calls_of(h1, "netns")[0]["name"] == ["r1", "r2"] and calls_of(h2, "netns")[0]["name"] == ["r3", "r4"]
    # r1-r2 is a veth on h1; r3-r4 one on h2; r2-r3 and r4-r1 tunnels, one end on each host, the same VNI
    assert [(p["name"], p["netns"], p["peer"], p["peer_netns"]) for p in calls_of(h1, "veth")[0]["pairs"]
            if not p["netns"].startswith("ring-")] == [("eth1", "r1", "eth1", "r2")]
    ends = {(t["netns"], t["name"]): t for h in (h1, h2) for t in calls_of(h, "tunnel")[0]["tunnels"]}
    assert ends[("r2", "eth2")]["vni"] == ends[("r3", "eth1")]["vni"]
    assert ends[("r2", "eth2")]["local"] == "192.0.2.1" and ends[("r2", "eth2")]["remotes"] == ["192.0.2.2"]
    assert ends[("r3", "eth1")]["local"] == "192.0.2.2" and ends[("r3", "eth1")]["remotes"] == ["192.0.2.1"]
    assert ends[("r2", "eth2")]["mtu"] == 1450, "room for VXLAN on a 1500 underlay"
    assert ipaddress.ip_interface(ends[("r2", "eth2")]["addresses"][0]).network == \
        ipaddress.ip_interface(ends[("r3", "eth1")]["addresses"][0]).network
    # the LAN segment spans all three hosts: a switch on each, its tunnel flooding to the other two
    for host, part in parts.items():
        switch = [t for t in calls_of(part, "tunnel")[0]["tunnels"] if t["netns"] == "ring-lan"]
        others = sorted(HOSTVARS[h].get("nsbridge_lab_underlay") or HOSTVARS[h].get("nsbridge_fleet_underlay")
                        or HOSTVARS[h]["ansible_host"] for h in INVENTORY if h != host)
        assert switch[0]["master"] == "br0" and switch[0]["remotes"] == others, host
    assert len({t["vni"] for p in parts.values() for t in calls_of(p, "tunnel")[0]["tunnels"]
                if t["netns"] == "ring-lan"}) == 1
    # impairment on r2's end only, on h1 only
    assert calls_of(h1, "impairment")[0]["impairments"][0]["dev"] == "eth2"
    assert not calls_of(h2, "impairment")
    # the workload runs on its node's host only
    h9 = {"name": "h9", "netns": "h9", "command": "sleep 1000", "env": {"ROLE": "client"}}
    assert calls_of(h3, "workload")[0]["workloads"] == [h9] and not calls_of(h1, "workload")
    assert h1["summary"]["links"] == h2["summary"]["links"] == h3["summary"]["links"], "one lab, seen alike"


def test_order_of_the_calls_and_teardown():
    part = lab.plan(ring(), "h1", INVENTORY, HOSTVARS)
    assert [c["module"] for c in part["calls"]] == ["netns", "netns", "bridge", "veth", "tunnel", "impairment",
                                                    "route", "names"]
    assert part["calls"][0]["args"]["sysctls"]["net.ipv4.ip_forward"] == 1
    gone = lab.plan(ring(), "h1", INVENTORY, HOSTVARS, state="absent")
    assert [c["module"] for c in gone["calls"]] == ["names", "netns"]
    assert gone["calls"][-1]["args"] == {"name": ["r1", "r2", "ring-lan"], "state": "absent"}
    assert part["record"] == "40-lab-ring"


def test_routes_name_ends_and_follow_the_addresses():
    part = lab.plan(ring(), "h1", INVENTORY, HOSTVARS)
    routes = calls_of(part, "route")[0]
    summary = {tuple(link["endpoints"]): link["addresses"] for link in part["summary"]["links"]}
    r2r3 = summary[("r2:eth2", "r3:eth1")]
    r1r2 = summary[("r1:eth1", "r2:eth1")]
    assert routes["netns"] == "r1" and routes["purge"] is True
    assert routes["routes"] == [
        {"dst": str(ipaddress.ip_interface(r2r3[1][0]).network), "via": r1r2[1][0].split("/")[0]},
        {"dst": str(ipaddress.ip_interface(r2r3[1][1]).network), "via": r1r2[1][1].split("/")[0]}]
    # the link to r2 down: its routes are left out until it is up again
    links = ring()["links"]
    links[0] = dict(links[0], state="down")
    down = lab.plan(ring(links=links), "h1", INVENTORY, HOSTVARS)
    assert calls_of(down, "route")[0]["routes"] == []
    assert [p["up"] for p in calls_of(down, "veth")[0]["pairs"] if p["name"] == "eth1"] == [False]


def test_addresses_and_vnis_stay_when_other_links_come_and_go():
    rng = random.Random(7)
    base = ring()
    full = {tuple(l["endpoints"]): (l["addresses"], l["vni"]) for l in lab.plan(base, "h1", INVENTORY, HOSTVARS)["summary"]["links"]}
    for _round in range(20):
        kept = [l for l in base["links"] if rng.random() < 0.6]
        if not kept:
            continue
        extra = [{"endpoints": ["r1:eth%d" % (10 + i), "r4:eth%d" % (10 + i)]} for i in range(rng.randint(0, 5))]
        links = extra + kept if rng.random() < 0.5 else kept + extra
        nodes = {k: {kk: vv for kk, vv in v.items() if kk != "routes"} for k, v in base["nodes"].items()}
        summary = lab.plan(dict(base, links=links, nodes=nodes), "h1", INVENTORY, HOSTVARS)["summary"]["links"]
        for entry in summary:
            key = tuple(entry["endpoints"])
            if key in full:
                assert (entry["addresses"], entry["vni"]) == full[key], key
        nets = [ipaddress.ip_interface(a[0]).network for e in summary for a in e["addresses"][:1] if a]
        assert len(nets) == len(set(nets)), "no two links share a subnet"


def test_a_one_host_lab_needs_no_underlay():
    one = {"name": "tri", "nodes": {"a": {}, "b": {}, "c": {}},
           "links": [{"endpoints": ["a:eth1", "b:eth1"]}, {"endpoints": ["b:eth2", "c:eth1"]}]}
    part = lab.plan(one, "anyhost", ["anyhost"])
    assert not calls_of(part, "tunnel") and len(calls_of(part, "veth")[0]["pairs"]) == 2
    assert lab.plan(one, "other", ["anyhost", "other"])["calls"] == part["calls"], "every host builds all of it"
    placed = dict(one, nodes={n: {"host": "anyhost"} for n in "abc"})
    assert not calls_of(lab.plan(placed, "anyhost", ["anyhost"], {}), "tunnel")


@pytest.mark.parametrize("change, where, says", [
    ({"links": [{"endpoints": ["r1:eth1", "r9:eth1"]}]}, "nsbridge_lab.links[0].endpoints[1]", "'r9' names no node"),
    ({"links": [{"endpoints": ["r1:eth1", "r2:eth1"]}, {"endpoints": ["r1:eth1", "r3:eth1"]}]},
     "nsbridge_lab.links[1].endpoints[0]", "r1:eth1 is already an end of nsbridge_lab.links[0]"),
    ({"links": [{"endpoints": ["r1:eth1", "r2:eth1"], "addresses": ["10.0.0.1/30", "10.0.0.9/30"]}]},
     "nsbridge_lab.links[0].addresses[1]", "10.0.0.9/30 is outside the link's subnet 10.0.0.0/30"),
    ({"links": [{"endpoints": ["r1:eth1", "r2:eth1"], "addresses": ["10.0.0.1/30"]}]},
     "nsbridge_lab.links[0].addresses", "one entry per endpoint (2)"),
    ({"links": [{"endpoints": ["r1:eth1", "r2:eth1"], "netem": {"rate": "fast"}}]},
     "nsbridge_lab.links[0].netem.rate", "'fast' is not a rate"),
    ({"links": [{"endpoints": ["r1:eth1", "r2:eth1"], "netem": {"r1": {"jitter": "2ms"}}}]},
     "nsbridge_lab.links[0].netem.r1.jitter", "jitter needs a delay"),
    ({"links": [{"endpoints": ["r1:eth1", "r2:eth1"], "netem": {"r1": {"rate": "1mbit"}, "loss": "1%"}}]},
     "nsbridge_lab.links[0].netem", "for the whole link or per node"),
    ({"links": [{"endpoints": ["r1:eth1", "r2:eth1"], "state": "cut"}]}, "nsbridge_lab.links[0].state", "up or down"),
    ({"links": [{"endpoints": ["r1:eth1"]}]}, "nsbridge_lab.links[0].endpoints", "two endpoints or more"),
    ({"links": [{"endpoints": ["r1:eth1", "r2:thisnameistoolong"]}]}, "nsbridge_lab.links[0].endpoints[1]",
     "is 17 bytes"),
    ({"links": [{"endpoints": ["r1:eth1", "r2:eth1"], "mtu": 20}]}, "nsbridge_lab.links[0].mtu", ""),
    ({"links": [{"endpoints": ["r1:eth1", "r2:eth1"], "colour": "red"}]}, "nsbridge_lab.links[0]", "unknown key 'colour'"),
])
def test_bad_links_name_the_link_and_the_field(change, where, says):
    with pytest.raises(ValidationError) as err:
        lab.plan(ring(nodes={n: {"host": "h1"} for n in ("r1", "r2", "r3")}, **change), "h1", INVENTORY, HOSTVARS)
    assert err.value.path == where and says in err.value.message, (err.value.path, err.value.message)


@pytest.mark.parametrize("nodes, where, says", [
    ({"r1": {"host": "h7"}, "r2": {"host": "h1"}}, "nsbridge_lab.nodes.r1.host", "'h7' is not a host of the inventory"),
    ({"r1": {"host": "h1"}, "r2": {}}, "nsbridge_lab.nodes.r2.host", "give every node one, or none"),
    ({"r1": {"forwarding": "yes"}, "r2": {}}, "nsbridge_lab.nodes.r1.forwarding", "true or false"),
    ({"r1": {"publish": ["80:80"]}, "r2": {}}, "nsbridge_lab.nodes.r1", "unknown key 'publish'"),
    ({"bad name": {}, "r2": {}}, "nsbridge_lab.nodes.bad name", "containers' rules"),
    ({"r1": {"routes": [{"dst": "r2:eth7", "via": "r2:eth1"}]}, "r2": {}}, "nsbridge_lab.nodes.r1.routes[0].dst",
     "'r2:eth7' names no end of a link"),
    ({"r1": {"routes": [{"dst": "10.9.0.0/24"}]}, "r2": {}}, "nsbridge_lab.nodes.r1.routes[0].via", "needs via, dev"),
    ({"r1": {"networks": ["front"]}, "r2": {}}, "nsbridge_lab.links[0].endpoints[0]",
     "eth0 of node r1 is its interface on networks[0]"),
])
def test_bad_nodes_name_the_node_and_the_field(nodes, where, says):
    links = [{"endpoints": ["r1:eth%d" % (0 if "networks" in nodes.get("r1", {}) else 1), "r2:eth1"]}]
    with pytest.raises(ValidationError) as err:
        lab.plan({"name": "x", "nodes": nodes, "links": links}, "h1", INVENTORY, HOSTVARS,
                 networks=[{"name": "front", "subnet": "10.10.0.0/24"}])
    assert err.value.path == where and says in err.value.message, (err.value.path, err.value.message)


@pytest.mark.parametrize("nodes, where, says", [
    ({"r1": {"networks": ["nope"]}, "r2": {}}, "nsbridge_lab.nodes.r1.networks[0].name", "unknown network 'nope'"),
    ({"r1": {"networks": [{"name": "front", "ip": "10.10.0.9"}]}, "r2": {"networks": [{"name": "front", "ip": "10.10.0.9"}]}},
     "nsbridge_lab.nodes.r2.networks[0].ip", "10.10.0.9 is also nsbridge_lab.nodes.r1's address"),
    ({"r1": {"networks": [{"name": "front", "aliases": ["r2"]}]}, "r2": {"networks": ["front"]}},
     "nsbridge_lab.nodes.r2.name", "its name is also an alias of nsbridge_lab.nodes.r1 on network 'front'"),
])
def test_a_nodes_network_errors_name_the_node_not_a_container(nodes, where, says):
    """A node on the host's networks is planned as a container is; its errors still name the lab's variable."""
    with pytest.raises(ValidationError) as err:
        lab.plan({"name": "x", "nodes": nodes, "links": [{"endpoints": ["r1:eth1", "r2:eth1"]}]}, "h1", INVENTORY,
                 HOSTVARS, networks=[{"name": "front", "subnet": "10.10.0.0/24"}])
    assert err.value.path == where and says in err.value.message, (err.value.path, err.value.message)


def test_underlays_and_names_across_hosts():
    with pytest.raises(ValidationError) as err:
        lab.plan(ring(), "h1", INVENTORY, {"h1": {"ansible_host": "192.0.2.1"}, "h2": {"ansible_host": "h2.example"},
                                           "h3": {"ansible_host": "192.0.2.3"}})
    assert err.value.path == "host h2" and "not an IP address: set nsbridge_lab_underlay" in err.value.message
    with pytest.raises(ValidationError) as err:
        lab.plan(ring(), "h1", INVENTORY, {h: {"ansible_host": "192.0.2.1"} for h in INVENTORY})
    assert "has underlay address 192.0.2.1, as host h1 does" in err.value.message
    with pytest.raises(ValidationError) as err:
        lab.plan(ring(), "h1", INVENTORY, HOSTVARS, containers=[{"name": "r2", "network": "front"}])
    assert err.value.path == "nsbridge_lab.nodes.r2" and "share one namespace of names" in err.value.message
    part = lab.plan(ring(), "h1", INVENTORY, HOSTVARS)
    shared = calls_of(part, "names")[0]["shared"]["lab:ring"]
    r3 = [e for e in shared if "r3" in e["names"]]
    assert len(r3) == 2 and {ipaddress.ip_address(e["address"]).version for e in r3} == {4, 6}, \
        "r1 resolves r3 (on another host) in both families"


def test_a_containerlab_topology_becomes_a_lab():
    clab = {"name": "frrlab", "topology": {
        "defaults": {"kind": "linux"},
        "nodes": {"r1": {"image": "frr:9", "binds": ["r1/frr.conf:/etc/frr/frr.conf"], "env": {"A": 1}},
                  "r2": {"kind": "linux", "image": "frr:9", "cmd": "sleep infinity"}},
        "links": [{"endpoints": ["r1:eth1", "r2:eth1"]},
                  {"type": "veth", "mtu": 1400, "endpoints": [{"node": "r1", "interface": "eth2", "ipv4": "10.9.0.1/30"},
                                                              {"node": "r2", "interface": "eth2", "ipv4": "10.9.0.2/30",
                                                               "ipv6": "fd00:9::2/64"}]}]}}
    converted = lab.from_containerlab(clab, {"r1": "h1", "r2": "h2"})
    assert converted == {"name": "frrlab", "nodes": {"r1": {"host": "h1"}, "r2": {"host": "h2"}},
                         "links": [{"endpoints": ["r1:eth1", "r2:eth1"]},
                                   {"endpoints": ["r1:eth2", "r2:eth2"], "mtu": 1400,
                                    "addresses": [["10.9.0.1/30"], ["10.9.0.2/30", "fd00:9::2/64"]]}]}
    with_images = lab.from_containerlab(clab, images=True)
    assert with_images["nodes"]["r1"] == {"image": "frr:9", "env": {"A": "1"}, "volumes": ["r1/frr.conf:/etc/frr/frr.conf"]}
    assert with_images["nodes"]["r2"] == {"image": "frr:9", "command": "sleep infinity"}
    part = lab.plan(converted, "h1", INVENTORY, HOSTVARS)
    assert [t["name"] for t in calls_of(part, "tunnel")[0]["tunnels"]] == ["eth1", "eth2"]
    with pytest.raises(ValidationError) as err:
        lab.from_containerlab({"name": "x", "topology": {"nodes": {"s": {"kind": "nokia_srlinux"}}, "links": []}},
                              images=True)
    assert err.value.path == "containerlab.topology.nodes.s.kind"
    with pytest.raises(ValidationError) as err:
        host_link = [{"endpoints": ["a:eth1", "host:veth0"]}]
        lab.from_containerlab({"name": "x", "topology": {"nodes": {"a": {}}, "links": host_link}})
    assert err.value.path == "containerlab.topology.links[0].endpoints[1]"


def test_nodes_may_join_the_fleet_network():
    fleet = {"subnet": "10.200.7.0/24", "network": {"name": "fleet", "bridge": "nsb-fleet", "subnet": "10.200.7.0/24"}}
    topo = {"name": "f", "nodes": {"r1": {"networks": ["fleet"]}, "r2": {}}, "links": [{"endpoints": ["r1:eth1", "r2:eth1"]}]}
    part = lab_plan(topo, "h1", ["h1"], {}, [], fleet=fleet)
    eth0 = [p for p in calls_of(part, "veth")[0]["pairs"] if p.get("peer_netns") == "r1" and p["peer"] == "eth0"][0]
    assert eth0["bridge"] == "nsb-fleet" and eth0["peer_addresses"][0].startswith("10.200.7.")
    # without the fleet role's part the fleet network is unknown, as before the fleet role ran
    with pytest.raises(AnsibleFilterError, match=r"nsbridge_lab.nodes.r1.networks\[0\].name: unknown network 'fleet'"):
        lab_plan(topo, "h1", ["h1"], {}, [])
