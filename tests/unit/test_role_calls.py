"""What each role runs: its module calls, in order, for present and absent (module_utils/roles/calls.py)."""

from ansible_collections.nsbridge.network.plugins.filter.fleet_plan import fleet_plan
from ansible_collections.nsbridge.network.plugins.filter.network_plan import network_plan
from ansible_collections.nsbridge.network.plugins.module_utils.roles.calls import (container_calls, fleet_calls,
                                                                                   network_calls)

NETS = [{"name": "front", "bridge": "br0", "subnet": "10.10.0.0/16"},
        {"name": "back", "subnet": "172.30.0.0/24", "internal": True}]
CONTAINERS = [{"name": "web1", "network": "front", "publish": ["8080:80"], "command": "sleep 1000"},
              {"name": "db", "network": "back"}]


def modules(calls):
    return [c["module"] for c in calls]


def test_bridge_network_role_makes_bridges_first_and_removes_them_last():
    plan = network_plan(NETS, CONTAINERS, backend="nftables")
    present = plan["network_calls"]
    assert modules(present) == ["bridge", "nat_masquerade", "network_isolation"]
    assert present[0]["args"] == {"bridges": plan["bridges"]}
    assert present[1]["args"] == {"networks": plan["masquerades"], "backend": "nftables", "state": "present"}
    absent = network_plan(NETS, CONTAINERS, state="absent", backend="nftables")["network_calls"]
    assert modules(absent) == ["nat_masquerade", "network_isolation", "bridge"]
    assert all(c["args"]["state"] == "absent" for c in absent)


def test_a_module_with_nothing_to_do_is_not_called():
    internal_only = [{"name": "back", "subnet": "172.30.0.0/24", "internal": True}]
    plan = network_plan(internal_only, [{"name": "solo", "network": "none"}])
    assert modules(plan["network_calls"]) == ["bridge", "network_isolation"], "internal: no masquerade"
    assert modules(plan["container_calls"]) == ["netns", "names"], "no pair, no port, no workload"
    assert network_calls({"bridges": [], "masquerades": [], "isolation": []}, "present", "auto") == []
    empty = {"namespaces": [], "pairs": [], "ports": [], "workloads": [], "names": []}
    assert container_calls(empty, "present", "auto") == [] and container_calls(empty, "absent", "auto") == []


def test_containers_role_order_both_ways():
    plan = network_plan(NETS, CONTAINERS, backend="iptables")
    present = plan["container_calls"]
    assert modules(present) == ["netns", "veth", "names", "port_publish", "workload"]
    assert present[0]["args"] == {"name": ["web1", "db"]}
    assert present[3]["args"] == {"ports": plan["ports"], "backend": "iptables"}
    assert present[2]["args"] == {"namespaces": plan["names"], "shared": plan["names_shared"]}
    absent = network_plan(NETS, CONTAINERS, state="absent", backend="iptables")["container_calls"]
    assert modules(absent) == ["workload", "port_publish", "names", "veth", "netns"], \
        "workloads stop before their namespace goes"
    assert all(c["args"]["state"] == "absent" for c in absent)
    assert absent[1]["args"]["backend"] == "iptables"


def hostvars(hosts):
    return {h: {"nsbridge_fleet_underlay": "192.168.77.%d" % (10 + i)} for i, h in enumerate(hosts)}


SETTINGS = {"network": "fleet", "bridge": "nsb-fleet", "vxlan_device": "nsb-vx", "vni": 4242, "vxlan_port": 4789,
            "mtu": 1450}


def test_fleet_role_routed_and_vxlan():
    hosts = ["h1", "h2", "h3"]
    routed = fleet_plan(hosts, hostvars(hosts), "10.200.0.0/16", 24, host="h1",
                        settings=dict(SETTINGS, mode="routed", state="present"))
    assert modules(routed["calls"]) == ["route"]
    whole = fleet_plan(hosts, hostvars(hosts), "10.200.0.0/16", 24)
    assert routed["calls"][0]["args"] == {"purge": True, "routes": whole["h1"]["routes"]} and len(whole["h1"]["routes"]) == 2
    assert "routes" not in routed and "peers" not in routed, "a host keeps its routes once, in its calls"
    assert routed["network"] == {"name": "fleet", "bridge": "nsb-fleet", "subnet": routed["subnet"], "mtu": None,
                                 "masquerade_exclude": ["10.200.0.0/16"], "accept_from": ["10.200.0.0/16"]}
    vx = fleet_plan(hosts, hostvars(hosts), "10.200.0.0/16", 24, "fd00:200::/48", 64, host="h2",
                    settings=dict(SETTINGS, mode="vxlan", state="present"))
    assert modules(vx["calls"]) == ["vxlan", "route"], "the overlay device before the routes through it"
    device = vx["calls"][0]["args"]
    whole = fleet_plan(hosts, hostvars(hosts), "10.200.0.0/16", 24, "fd00:200::/48", 64)["h2"]
    assert device["addresses"] == [whole["vtep"]["addresses"][0] + "/32", whole["vtep"]["addresses"][1] + "/128"]
    assert device["peers"] == whole["peers"] and device["local"] == "192.168.77.11" and device["mtu"] == 1450
    assert all(r["dev"] == "nsb-vx" for r in vx["calls"][1]["args"]["routes"])
    assert vx["network"]["mtu"] == 1450 and vx["network"]["subnet6"] == vx["subnet6"]


def test_fleet_role_absent_removes_routes_then_the_device():
    me = {"routes": [{"dst": "10.200.1.0/24", "via": "192.0.2.2"}], "overlay_routes": []}
    assert fleet_calls(me, dict(SETTINGS, mode="routed"), "absent") == [
        {"module": "route", "args": {"purge": True, "routes": []}}]
    assert fleet_calls(me, dict(SETTINGS, mode="vxlan"), "absent") == [
        {"module": "route", "args": {"purge": True, "routes": []}},
        {"module": "vxlan", "args": {"name": "nsb-vx", "state": "absent"}}]
