"""The roles' planning filter: validation messages and stable address allocation."""

import pytest

from ansible_collections.nsbridge.network.plugins.filter.network_plan import PlanError, host_ifname, network_plan

NETS = [{"name": "front", "bridge": "br0", "subnet": "10.10.0.0/16"},
        {"name": "back", "subnet": "172.30.0.0/24", "internal": True}]


def test_plan_shapes_every_module_batch():
    plan = network_plan(NETS, [
        {"name": "web1", "network": "front", "ip": "10.10.0.10", "publish": ["8080:80", "127.0.0.1:9000-9001:90-91/udp"],
         "command": "python3 -m http.server 80"},
        {"name": "db", "network": "back"},
        {"name": "sidecar", "network": "container:web1", "command": "sleep 1000"},
        {"name": "loner", "network": "none"},
    ])
    assert plan["namespaces"] == ["web1", "db", "loner"]
    assert plan["bridges"] == [{"name": "br0", "mtu": None, "addresses": ["10.10.0.1/16"]},
                               {"name": "nsb-back", "mtu": None, "addresses": []}]
    assert plan["masquerades"] == [{"source": "10.10.0.0/16", "bridge": "br0"}]
    assert plan["isolation"][1] == {"bridge": "nsb-back", "isolated": True, "internal": True}
    web1 = plan["pairs"][0]
    assert web1["name"] == host_ifname("web1") and len(web1["name"]) <= 15
    assert web1["peer_addresses"] == ["10.10.0.10/16"] and web1["peer_gateway"] == "10.10.0.1"
    assert web1["peer_mac"] == "02:42:0a:0a:00:0a", "Docker's MAC from the address: stable when eth0 is re-created"
    assert "peer_gateway" not in plan["pairs"][1], "an internal network has no gateway"
    assert plan["ports"][1] == {"host_port": "9000-9001", "destination": "10.10.0.10", "destination_port": "90-91",
                                "protocol": "udp", "bridge": "br0", "host_ip": "127.0.0.1"}
    assert {"name": "sidecar", "netns": "web1", "command": "sleep 1000"} in plan["workloads"]


def test_allocation_is_stable_and_skips_taken_addresses():
    containers = [{"name": "c%d" % i, "network": "front"} for i in range(20)]
    first = {s["name"]: s["ip"] for s in network_plan(NETS, containers)["summary"]}
    again = {s["name"]: s["ip"] for s in network_plan(NETS, list(reversed(containers)))["summary"]}
    assert first == again, "order of the list does not matter"
    grown = {s["name"]: s["ip"] for s in network_plan(NETS, containers + [{"name": "new", "network": "front"}])["summary"]}
    assert all(grown[n] == ip for n, ip in first.items()), "adding a container renumbers nobody"
    assert len(set(first.values())) == 20 and "10.10.0.1" not in first.values()


@pytest.mark.parametrize("containers,text", [
    ([{"name": "a", "network": "nope"}], "container 'a'.network: unknown network 'nope'"),
    ([{"name": "a", "network": "front", "ip": "10.11.0.5"}], "container 'a'.ip: 10.11.0.5 is outside network 'front'"),
    ([{"name": "a", "network": "front", "ip": "10.10.0.5"}, {"name": "b", "network": "front", "ip": "10.10.0.5"}],
     "container 'b'.ip: 10.10.0.5 is also container 'a'"),
    ([{"name": "a", "network": "front", "ip": "10.10.0.1"}], "gateway"),
    ([{"name": "a", "network": "front", "publish": ["80:80"]}, {"name": "b", "network": "front", "publish": ["80:8080"]}],
     "container 'b'.publish[0]: host port 80/tcp is also published by container 'a'"),
    ([{"name": "a" * 64, "network": "front"}], "at most 63 characters"),
    ([{"name": "a", "network": "front", "publish": ["80:80/icmp"]}], "is not [host_ip:]host_port"),
    ([{"name": "a", "network": "front", "publish": ["0:80"]}], "outside 1..65535"),
    ([{"name": "a", "network": "container:a"}], "names no other container"),
    ([{"name": "a", "network": "front"}, {"name": "a", "network": "front"}], "used twice"),
])
def test_errors_name_the_container_and_field(containers, text):
    with pytest.raises(PlanError) as exc:
        network_plan(NETS, containers)
    assert text in str(exc.value)


def test_network_errors():
    with pytest.raises(PlanError, match="network 'x'.subnet"):
        network_plan([{"name": "x", "subnet": "10.0.0.1/24"}], [])
    with pytest.raises(PlanError, match="overlaps network"):
        network_plan([{"name": "x", "subnet": "10.0.0.0/16"}, {"name": "y", "subnet": "10.0.1.0/24"}], [])
    with pytest.raises(PlanError, match="not a valid interface name"):
        network_plan([{"name": "x", "subnet": "10.0.0.0/16", "bridge": "a-very-long-bridge"}], [])
