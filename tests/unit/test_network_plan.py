"""The roles' planning filter: validation messages and stable address allocation."""

import pytest

from ansible_collections.nsbridge.network.plugins.filter.network_plan import PlanError, network_plan
from ansible_collections.nsbridge.network.plugins.module_utils.roles.network import host_ifname

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
    assert web1["peer_addresses"] == ["10.10.0.10/16"] and web1["peer_gateway"] == ["10.10.0.1"]
    assert web1["peer_mac"] == "02:42:0a:0a:00:0a", "Docker's MAC from the address: stable when eth0 is re-created"
    assert plan["pairs"][1]["peer_gateway"] == [], "an internal network has no gateway (and none is left)"
    assert plan["ports"][1] == {"host_port": "9000-9001", "destination": "10.10.0.10", "destination_port": "90-91",
                                "protocol": "udp", "bridge": "br0", "host_ip": "127.0.0.1", "localhost": True,
                                "local": False}, "127.0.0.1 answers on the host's loopback (route_localnet)"
    assert plan["ports"][0]["localhost"] is True and "local" not in plan["ports"][0], "every address: loopback too"
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
     "container 'b'.publish[0]: host port 80/tcp (IPv4) is also published by container 'a'"),
    ([{"name": "a" * 64, "network": "front"}], "at most 63 characters"),
    ([{"name": "a", "network": "front", "publish": ["80:80/icmp"]}], "protocol 'icmp' is not tcp, udp or sctp"),
    ([{"name": "a", "network": "front", "publish": ["x:80"]}], "is not [host_ip:]host_port"),
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
    with pytest.raises(PlanError, match="interface names are at most 15 bytes"):
        network_plan([{"name": "x", "subnet": "10.0.0.0/16", "bridge": "a-very-long-bridge"}], [])


def test_image_containers_run_under_podman_in_their_namespaces():
    plan = network_plan(NETS, [
        {"name": "web", "network": "front", "image": "localhost/web:1", "command": ["httpd", "-f"],
         "env": {"A": 1}, "volumes": ["/srv/www:/www:ro"], "publish": ["8080:80"]},
        {"name": "side", "network": "container:web", "image": "localhost/tool", "command": "sleep 1d"},
        {"name": "plain", "network": "front", "command": "sleep 1d"},
        {"name": "worker", "network": "front", "command": "exec worker", "env": {"QUEUE": "jobs", "N": 2}},
    ])
    names = ["/etc/netns/web/hosts:/etc/hosts:ro", "/etc/netns/web/resolv.conf:/etc/resolv.conf:ro"]
    assert plan["images"] == [
        {"name": "web", "image": "localhost/web:1", "network": ["ns:/run/netns/web"], "state": "started",
         "command": ["httpd", "-f"], "env": {"A": "1"}, "volume": ["/srv/www:/www:ro"] + names},
        {"name": "side", "image": "localhost/tool", "network": ["ns:/run/netns/web"], "state": "started",
         "command": "sleep 1d", "volume": names}]
    assert plan["workloads"] == [{"name": "plain", "netns": "plain", "command": "sleep 1d"},
                                 {"name": "worker", "netns": "worker", "command": "exec worker",
                                  "env": {"QUEUE": "jobs", "N": "2"}}], "an image container is not a workload"
    assert plan["namespaces"] == ["web", "plain", "worker"] and plan["ports"][0]["destination"]


@pytest.mark.parametrize("containers,runtime,where,text", [
    ([{"name": "web", "network": "front", "publsh": ["8080:80"]}], "podman", "container 'web'",
     "unknown key 'publsh'"),
    ([{"name": "web", "network": "front", "image": "x"}], "docker", "nsbridge_container_runtime",
     "'docker' cannot start a container inside a network namespace made beforehand (container 'web'.image"),
    ([{"name": "web", "network": "front", "image": "x", "env": ["A=1"]}], "podman", "container 'web'.env",
     "must be a dict"),
    ([{"name": "web", "network": "front", "command": "x", "env": {"A-B": "1"}}], "podman", "container 'web'.env",
     "'A-B' is not an environment variable name"),
    ([{"name": "web", "network": "front", "command": "x", "env": {"A": None}}], "podman", "container 'web'.env",
     "A: None is not a string, number or boolean"),
    ([{"name": "web", "network": "front", "image": "x", "volumes": ["/nocolon"]}], "podman",
     "container 'web'.volumes", "HOST_PATH:CONTAINER_PATH"),
])
def test_image_and_key_errors_name_the_variable(containers, runtime, where, text):
    with pytest.raises(PlanError) as err:
        network_plan(NETS, containers, runtime)
    assert "nsbridge.network roles: %s: " % where in str(err.value) and text in str(err.value), str(err.value)


def test_unknown_network_keys_are_errors():
    with pytest.raises(PlanError) as err:
        network_plan([{"name": "front", "subnet": "10.10.0.0/16", "subnet_6": "fd00::/64"}], [])
    assert "network 'front': unknown key 'subnet_6'" in str(err.value)


DUAL = [{"name": "front", "bridge": "br0", "subnet": "10.10.0.0/16", "subnet6": "fd00:10::/64"},
        {"name": "six", "subnet6": "fd00:20::/64", "routed6": True}]


def test_dual_stack_networks_and_containers():
    plan = network_plan(DUAL, [
        {"name": "web", "network": "front", "ip": "10.10.0.10", "ip6": "fd00:10::a",
         "publish": ["8080:80", "[::]:8081:80", "0.0.0.0:8082:80", "[fd00:10::1]:8083:80/udp"]},
        {"name": "app", "network": "front"},
        {"name": "v6only", "network": "six", "publish": ["9090:90"]},
    ])
    assert plan["bridges"] == [{"name": "br0", "mtu": None, "addresses": ["10.10.0.1/16", "fd00:10::1/64"]},
                               {"name": "nsb-six", "mtu": None, "addresses": ["fd00:20::1/64"]}]
    assert plan["masquerades"] == [{"source": "10.10.0.0/16", "bridge": "br0"},
                                   {"source": "fd00:10::/64", "bridge": "br0"},
                                   {"source": "fd00:20::/64", "bridge": "nsb-six", "routed": True}]
    web = plan["pairs"][0]
    assert web["peer_addresses"] == ["10.10.0.10/16", "fd00:10::a/64"]
    assert web["peer_gateway"] == ["10.10.0.1", "fd00:10::1"]
    ports = [(p["host_port"], p["destination"], p.get("host_ip")) for p in plan["ports"]]
    assert ports[:5] == [("8080", "10.10.0.10", None), ("8080", "fd00:10::a", None), ("8081", "fd00:10::a", None),
                         ("8082", "10.10.0.10", None), ("8083", "fd00:10::a", "fd00:10::1")]
    app = next(s for s in plan["summary"] if s["name"] == "app")
    assert app["ip"].startswith("10.10.") and app["ip6"].startswith("fd00:10::")
    v6only = plan["pairs"][2]
    assert [a.split("/")[0] for a in v6only["peer_addresses"]] == [next(
        s["ip6"] for s in plan["summary"] if s["name"] == "v6only")] and v6only["peer_gateway"] == ["fd00:20::1"]
    assert v6only["peer_mac"].startswith("02:42:")
    assert [p["destination"] for p in plan["ports"]][5:] == [v6only["peer_addresses"][0].split("/")[0]]


def test_ipv6_allocation_is_stable_and_renumbers_nobody():
    containers = [{"name": "c%d" % i, "network": "front"} for i in range(20)]
    first = {s["name"]: s["ip6"] for s in network_plan(DUAL, containers)["summary"]}
    again = {s["name"]: s["ip6"] for s in network_plan(DUAL, list(reversed(containers)))["summary"]}
    grown = {s["name"]: s["ip6"] for s in network_plan(DUAL, containers + [{"name": "n", "network": "front"}])["summary"]}
    assert first == again and all(grown[n] == ip for n, ip in first.items()) and len(set(first.values())) == 20


@pytest.mark.parametrize("networks,containers,text", [
    ([{"name": "x", "subnet6": "fd00::/125"}], [], "network 'x'.subnet6: fd00::/125 is too small"),
    ([{"name": "x", "subnet6": "10.0.0.0/24"}], [], "network 'x'.subnet6: 10.0.0.0/24 is not an IPv6 network"),
    ([{"name": "x", "subnet": "fd00::/64"}], [], "network 'x'.subnet: fd00::/64 is not an IPv4 network"),
    ([{"name": "x", "subnet6": "fd00::1/64"}], [], "network 'x'.subnet6: 'fd00::1/64' is not an IPv4 or IPv6 network"),
    ([{"name": "x"}], [], "network 'x'.subnet: a network needs subnet (IPv4), subnet6 (IPv6) or both"),
    ([{"name": "x", "subnet6": "fd00::/64", "gateway6": "fd01::1"}], [], "network 'x'.gateway6: fd01::1 is not a host"),
    ([{"name": "x", "subnet": "10.0.0.0/24", "gateway6": "fd00::1"}], [], "network 'x'.gateway6: needs subnet6"),
    ([{"name": "x", "subnet6": "fd00::/64"}, {"name": "y", "subnet6": "fd00::/48"}], [],
     "network 'x'.subnet6: fd00::/64 overlaps network 'y'"),
    (DUAL, [{"name": "a", "network": "front", "ip6": "fd00:11::5"}], "container 'a'.ip6: fd00:11::5 is outside"),
    (DUAL, [{"name": "a", "network": "front", "ip6": "10.10.0.5"}], "container 'a'.ip6: 10.10.0.5 is not an IPv6"),
    (DUAL, [{"name": "a", "network": "front", "ip6": "fd00:10::5"}, {"name": "b", "network": "front", "ip6": "fd00:10::5"}],
     "container 'b'.ip6: fd00:10::5 is also container 'a'"),
    (DUAL, [{"name": "a", "network": "six", "ip": "10.0.0.5"}], "container 'a'.ip: network 'six' has no IPv4 subnet"),
    (DUAL, [{"name": "a", "network": "six", "publish": ["0.0.0.0:80:80"]}],
     "container 'a'.publish[0]: the container has no IPv4 address to publish to"),
    (DUAL, [{"name": "a", "network": "front", "publish": ["[fd00::zz]:80:80"]}], "container 'a'.publish[0]"),
    (DUAL, [{"name": "a", "network": "front", "publish": ["[::1]:80:80"]}],
     "container 'a'.publish[0]: ::1: a port is published on the host's loopback as 127.0.0.1 only"),
    (DUAL, [{"name": "a", "network": "front", "publish": ["[::]:80:80"]}, {"name": "b", "network": "front",
                                                                           "publish": ["80:81"]}],
     "container 'b'.publish[0]: host port 80/tcp (IPv6) is also published by container 'a'"),
])
def test_ipv6_errors_name_the_variable(networks, containers, text):
    with pytest.raises(PlanError) as err:
        network_plan(networks, containers)
    assert text in str(err.value), str(err.value)


MULTI = [{"name": "front", "bridge": "br0", "subnet": "10.10.0.0/16", "subnet6": "fd00:10::/64"},
         {"name": "back", "subnet": "172.30.0.0/24", "subnet6": "fd00:30::/64"},
         {"name": "secret", "subnet": "172.31.0.0/24", "internal": True}]


def resolved(plan, netns):
    """{name: IPv4 address} a namespace's hosts file resolves (its entries, then its networks' lists)."""
    item = next(n for n in plan["names"] if n["netns"] == netns)
    entries = item["hosts"] + [e for net in item.get("include", []) for e in plan["names_shared"][net]]
    out = {}
    for entry in entries:
        if ":" not in entry["address"]:
            for name in entry["names"]:
                out.setdefault(name, entry["address"])
    return out


def test_several_networks_interfaces_routes_and_ports():
    plan = network_plan(MULTI, [
        {"name": "proxy", "networks": ["front", {"name": "back", "ip": "172.30.0.5", "aliases": ["gw"],
                                                 "gw_priority": 10}, "secret"], "publish": ["8080:80"]},
        {"name": "app", "network": "front", "aliases": ["api"]},
        {"name": "db", "networks": [{"name": "secret", "gw_priority": 100}, "back"]},
    ])
    proxy = [p for p in plan["pairs"] if p["peer_netns"] == "proxy"]
    assert [p["peer"] for p in proxy] == ["eth0", "eth1", "eth2"]
    assert proxy[0]["name"] == host_ifname("proxy"), "eth0's host end keeps the name it had with one network"
    assert len({p["name"] for p in plan["pairs"]}) == len(plan["pairs"])
    assert [p["peer_gateway"] for p in proxy] == [[], ["172.30.0.1", "fd00:30::1"], []], "highest gw_priority"
    db = [p for p in plan["pairs"] if p["peer_netns"] == "db"]
    assert [p["peer_gateway"] for p in db] == [[], ["172.30.0.1", "fd00:30::1"]], "never through an internal network"
    proxy_back = proxy[1]["peer_addresses"][1].split("/")[0]
    wanted = {("172.30.0.5", "nsb-back"), (proxy_back, "nsb-back")}
    assert {(p["destination"], p["bridge"]) for p in plan["ports"]} == wanted, "ports on the default route"
    names = {n["netns"]: n for n in plan["names"]}
    entries = resolved(plan, "proxy")
    app_ip = next(s for s in plan["summary"] if s["name"] == "app")["ip"]
    assert entries["app"] == entries["api"] == entries["api.front"] == app_ip
    assert entries["gw"] == entries["proxy.back"] == "172.30.0.5" and entries["proxy"] != "172.30.0.5", \
        "its own name on its first network"
    assert entries["host.containers.internal"] == "172.30.0.1"
    assert "db" not in resolved(plan, "app"), "no shared network, no name"
    assert names["proxy"]["include"] == ["front", "back", "secret"] and len(plan["names_shared"]["front"]) == 4, \
        "one list per network (proxy and app, both families), given once"
    assert names["app"]["resolv"] == "upstream" and names["db"]["resolv"] == "upstream"
    summary = next(s for s in plan["summary"] if s["name"] == "proxy")
    assert summary["ip"] == "172.30.0.5" and [n["interface"] for n in summary["networks"]] == ["eth0", "eth1", "eth2"]


def test_an_internal_only_container_gets_no_resolvers_and_no_route():
    plan = network_plan(MULTI, [{"name": "vault", "network": "secret"}])
    assert plan["names"][0]["resolv"] == "none" and plan["pairs"][0]["peer_gateway"] == []


@pytest.mark.parametrize("containers,text", [
    ([{"name": "a", "network": "front", "networks": ["back"]}], "container 'a'.networks: give network or networks"),
    ([{"name": "a", "networks": ["front", "front"]}], "container 'a'.networks[1].name: network 'front' is also networks[0]"),
    ([{"name": "a", "networks": ["nope"]}], "container 'a'.networks[0].name: unknown network 'nope'"),
    ([{"name": "a", "networks": []}], "container 'a'.networks: must be a non-empty list"),
    ([{"name": "a", "networks": ["front"], "ip": "10.10.0.5"}], "container 'a'.ip: with networks, give it per network"),
    ([{"name": "a", "networks": [{"name": "front", "gw_priority": "high"}]}], "networks[0].gw_priority: 'high' is not"),
    ([{"name": "a", "networks": [{"name": "front", "alias": ["x"]}]}], "networks[0]: unknown key 'alias'"),
    ([{"name": "a", "network": "front"}, {"name": "b", "network": "front", "aliases": ["a"]}],
     "container 'b'.aliases: alias 'a' is also the name of container 'a' on network 'front'"),
    ([{"name": "a", "network": "front", "aliases": ["x"]}, {"name": "b", "networks": [{"name": "front", "aliases": ["x"]}]}],
     "container 'b'.networks[0].aliases: alias 'x' is also an alias of container 'a' on network 'front'"),
    ([{"name": "a", "network": "none", "aliases": ["x"]}], "container 'a'.aliases: only a container on a network"),
    ([{"name": "a", "networks": [{"name": "front", "ip": "172.30.0.9"}]}],
     "container 'a'.networks[0].ip: 172.30.0.9 is outside network 'front'"),
    ([{"name": "a", "networks": ["front"] * 65}], "65 networks: a container has at most 64 interfaces"),
])
def test_several_networks_errors_name_the_container_key_and_other_party(containers, text):
    with pytest.raises(PlanError) as err:
        network_plan(MULTI, containers)
    assert text in str(err.value), str(err.value)


def test_a_bridge_holds_at_most_1023_ports():
    many = [{"name": "c%d" % i, "network": "front"} for i in range(1024)]
    with pytest.raises(PlanError, match="network 'front': 1024 containers on it: a Linux bridge holds at most 1023 ports"):
        network_plan(NETS, many)
    assert len(network_plan(NETS, many[:1023])["pairs"]) == 1023


FLEET_HOST = {"subnet": "10.200.7.0/24", "gateway": "10.200.7.1", "underlay": "192.0.2.7",
              "network": {"name": "fleet", "bridge": "nsb-fleet", "subnet": "10.200.7.0/24", "mtu": 1450,
                          "masquerade_exclude": ["10.200.0.0/16"], "accept_from": ["10.200.0.0/16"]}}


def test_the_fleet_network_is_planned_after_the_users_never_in_place_of_one():
    plan = network_plan(NETS, [{"name": "app", "network": "fleet"}, {"name": "web", "network": "front"}], fleet=FLEET_HOST)
    assert [b["name"] for b in plan["bridges"]] == ["br0", "nsb-back", "nsb-fleet"]
    assert plan["bridges"][2] == {"name": "nsb-fleet", "mtu": 1450, "addresses": ["10.200.7.1/24"]}
    app = [p for p in plan["pairs"] if p["peer_netns"] == "app"][0]
    assert app["bridge"] == "nsb-fleet" and app["peer_addresses"][0].startswith("10.200.7.")
    assert plan["masquerades"] == [{"source": "10.10.0.0/16", "bridge": "br0"},
                                   {"source": "10.200.7.0/24", "bridge": "nsb-fleet", "exclude": ["10.200.0.0/16"],
                                    "accept_from": ["10.200.0.0/16"]}]
    # the user's list is read, never rewritten
    assert [n["name"] for n in NETS] == ["front", "back"]
    # a host leaving with no fleet bridge (teardown: no network) and no fleet at all plan alike
    assert network_plan(NETS, [], fleet={"subnet": None, "network": None}) == network_plan(NETS, [])
    with pytest.raises(PlanError, match=r"nsbridge_networks\[1\]: network 'fleet' is the fleet role's "
                                        r"\(nsbridge_fleet_network, on bridge nsb-fleet\): name yours otherwise"):
        network_plan(NETS[:1] + [{"name": "fleet", "subnet": "10.9.0.0/24"}], [], fleet=FLEET_HOST)
