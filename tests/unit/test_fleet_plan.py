"""Fleet subnet allocation: deterministic, stable when hosts come and go, clear errors."""

import ipaddress
import json

import pytest

from ansible_collections.nsbridge.network.plugins.filter.fleet_plan import AnsibleFilterError, fleet_plan


def hv(n, **extra):
    return {h: dict({"nsbridge_fleet_underlay": "192.168.77.%d" % (10 + i)}, **extra.get(h, {}))
            for i, h in enumerate(n)}


def current(*subnets):
    """What `ip -j addr show dev BRIDGE` reports for a bridge holding the subnets' gateways."""
    info = []
    for subnet in subnets:
        net = ipaddress.ip_network(subnet)
        info.append({"family": "inet" if net.version == 4 else "inet6", "local": str(net.network_address + 1),
                     "prefixlen": net.prefixlen, "scope": "global"})
        if net.version == 6:
            info.append({"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"})
    return {"_nsbridge_fleet_current": {"stdout": json.dumps([{"addr_info": info}])}}


def test_deterministic_and_distinct():
    hosts = ["h1", "h2", "h3"]
    a = fleet_plan(hosts, hv(hosts), "10.200.0.0/16", 24)
    b = fleet_plan(list(reversed(hosts)), hv(hosts), "10.200.0.0/16", 24)
    assert a == b
    assert len({v["subnet"] for v in a.values()}) == 3
    assert a["h1"]["gateway"].endswith(".1") and a["h2"]["underlay"] == "192.168.77.11"


def test_adding_a_host_never_renumbers_even_on_collision():
    # /30 slots in a /28: only 4 subnets, so hashes collide often
    hosts = ["h1", "h2", "h3"]
    first = fleet_plan(hosts, hv(hosts), "10.200.0.0/28", 30)
    # the new host is planned while the old ones report what they already have
    vars4 = hv(hosts + ["h0"])
    for h in hosts:
        vars4[h].update(current(first[h]["subnet"]))
    second = fleet_plan(hosts + ["h0"], vars4, "10.200.0.0/28", 30)
    assert all(second[h]["subnet"] == first[h]["subnet"] for h in hosts)


def test_override_and_errors():
    hosts = ["h1", "h2"]
    plan = fleet_plan(hosts, hv(hosts, h2={"nsbridge_fleet_subnet": "10.200.9.0/24"}), "10.200.0.0/16", 24)
    assert plan["h2"]["subnet"] == "10.200.9.0/24"
    with pytest.raises(AnsibleFilterError, match="hosts h1 and h2 both claim 10.200.9.0/24"):
        fleet_plan(hosts, hv(hosts, h1={"nsbridge_fleet_subnet": "10.200.9.0/24"},
                             h2={"nsbridge_fleet_subnet": "10.200.9.0/24"}), "10.200.0.0/16", 24)
    with pytest.raises(AnsibleFilterError, match="host h1: nsbridge_fleet_subnet 10.9.0.0/24 is not a /24 inside"):
        fleet_plan(hosts, hv(hosts, h1={"nsbridge_fleet_subnet": "10.9.0.0/24"}), "10.200.0.0/16", 24)
    with pytest.raises(AnsibleFilterError, match="has 2 subnets of /25; the 3 hosts h1, h2, h3 need one each"):
        fleet_plan(["h1", "h2", "h3"], hv(["h1", "h2", "h3"]), "10.200.0.0/24", 25)
    with pytest.raises(AnsibleFilterError, match="host h1: nsbridge_fleet_underlay"):
        fleet_plan(["h1"], {"h1": {"ansible_host": "lab1.example"}}, "10.200.0.0/16", 24)


def test_dual_stack_allocation_routes_and_overlay():
    hosts = ["h1", "h2", "h3"]
    six = hv(hosts, **{h: {"nsbridge_fleet_underlay6": "fd77::%d" % (11 + i)} for i, h in enumerate(hosts)})
    plan = fleet_plan(hosts, six, "10.200.0.0/16", 24, "fd00:200::/48", 64)
    assert len({v["subnet6"] for v in plan.values()}) == 3
    assert all(v["subnet6"].startswith("fd00:200:") and v["subnet6"].endswith("::/64") for v in plan.values())
    h1 = plan["h1"]
    assert h1["gateway6"] == str(ipaddress.ip_network(h1["subnet6"]).network_address + 1)
    assert {"dst": plan["h2"]["subnet6"], "via": "fd77::12"} in h1["routes"] and h1["missing_underlay6"] == []
    assert {"dst": plan["h3"]["subnet6"], "via": plan["h3"]["vtep"]["addresses"][1], "onlink": True} \
        in h1["overlay_routes"]
    assert [p["addresses"] for p in h1["peers"]] == [plan[o]["vtep"]["addresses"] for o in ("h2", "h3")]
    # a host that joins renumbers nobody, in IPv6 either (the others report what their bridges hold)
    grown = hv(hosts + ["h0"])
    for h in hosts:
        grown[h].update(current(plan[h]["subnet"], plan[h]["subnet6"]))
    again = fleet_plan(hosts + ["h0"], grown, "10.200.0.0/16", 24, "fd00:200::/48", 64)
    assert all(again[h]["subnet6"] == plan[h]["subnet6"] for h in hosts)
    assert again["h1"]["missing_underlay6"] == ["h0", "h1", "h2", "h3"]


def test_dual_stack_errors_name_the_variables():
    with pytest.raises(AnsibleFilterError, match="nsbridge_fleet_cidr6 '10.0.0.0/8' is not an IPv6 network"):
        fleet_plan(["h1"], hv(["h1"]), "10.200.0.0/16", 24, "10.0.0.0/8", 64)
    with pytest.raises(AnsibleFilterError, match="nsbridge_fleet_subnet_prefix6 /40 does not fit in fd00:200::/48"):
        fleet_plan(["h1"], hv(["h1"]), "10.200.0.0/16", 24, "fd00:200::/48", 40)
    with pytest.raises(AnsibleFilterError, match="host h1: nsbridge_fleet_underlay6 '10.1.1.1' is not an IPv6"):
        fleet_plan(["h1"], hv(["h1"], h1={"nsbridge_fleet_underlay6": "10.1.1.1"}), "10.200.0.0/16", 24,
                   "fd00:200::/48", 64)


# --- the fleet once per play, and any subset of it (roles/fleet.py fleet_map / host_part) ---

import random  # noqa: E402

from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import ValidationError  # noqa: E402
from ansible_collections.nsbridge.network.plugins.module_utils.roles import fleet  # noqa: E402

SETTINGS = {"cidr": "10.200.0.0/20", "prefix": 24, "names": False}


def members(hosts, currents=None):
    return {h: {"underlay": "192.168.%d.%d" % (i // 250, 1 + i % 250), "current4": (currents or {}).get(h)}
            for i, h in enumerate(hosts)}


def subnets(fmap):
    return {h: e["subnet"] for h, e in fmap["hosts"].items()}


def test_any_subset_allocates_as_the_whole_fleet():
    rng = random.Random(7)
    for _round in range(30):
        hosts = ["h%03d" % rng.randrange(1000) for _i in range(rng.randrange(2, 14))]
        hosts = sorted(set(hosts))
        full = fleet.fleet_map(members(hosts), SETTINGS)
        held = {h: fleet.ipaddress.ip_network(n) for h, n in subnets(full).items()}
        # a --limit run or a slice: only the hosts it runs on report what their bridges hold
        for _subset in range(3):
            limit = [h for h in hosts if rng.random() < 0.5]
            again = fleet.fleet_map(members(hosts, {h: held[h] for h in limit}), SETTINGS, full["allocation"])
            assert subnets(again) == subnets(full) and again["changed"] is False
            host = rng.choice(hosts)
            part = fleet.host_part(again, host, dict(SETTINGS, mode="routed"))
            assert part == fleet.host_part(full, host, dict(SETTINGS, mode="routed"))
        # joins and leaves never renumber anyone who stays, even on hash collisions (16 slots)
        grown = sorted(set(hosts + ["j%d" % rng.randrange(100) for _j in range(rng.randrange(1, 3))]))[:16]
        joined = fleet.fleet_map(members(grown), SETTINGS, full["allocation"])
        assert all(subnets(joined)[h] == subnets(full)[h] for h in hosts if h in grown)
        left = [h for h in grown if rng.random() < 0.7] or grown[:1]
        after = fleet.fleet_map(members(left), SETTINGS, joined["allocation"])
        assert all(subnets(after)[h] == subnets(joined)[h] for h in left)
        assert len(set(subnets(after).values())) == len(left)


def test_collisions_are_errors_naming_the_hosts():
    full = fleet.fleet_map(members(["a", "b", "c"]), SETTINGS)
    held = fleet.ipaddress.ip_network(full["hosts"]["b"]["subnet"])
    other = fleet.ipaddress.ip_network("10.200.15.0/24") if str(held) != "10.200.15.0/24" else \
        fleet.ipaddress.ip_network("10.200.14.0/24")
    # b holds another subnet than the file gives it: an error, not a silent renumbering
    with pytest.raises(ValidationError, match="host b holds %s, but the allocation file gives it %s" % (other, held)):
        fleet.fleet_map(members(["a", "b", "c"], {"b": other}), SETTINGS, full["allocation"])
    two = members(["a", "b"])
    two["a"]["override4"] = two["b"]["override4"] = "10.200.3.0/24"
    with pytest.raises(ValidationError, match="hosts a and b both claim 10.200.3.0/24"):
        fleet.fleet_map(two, SETTINGS)
    with pytest.raises(ValidationError, match="host zz is not in the fleet"):
        fleet.host_part(full, "zz", SETTINGS)
    with pytest.raises(ValidationError, match="allocation file .* is not one this role wrote"):
        fleet.fleet_map(members(["a"]), SETTINGS, "{not json")


def test_each_host_keeps_only_its_own_part():
    hosts = ["h%d" % i for i in range(50)]
    fmap = fleet.fleet_map(members(hosts), dict(SETTINGS, cidr="10.200.0.0/16"))
    part = fleet.host_part(fmap, "h7", dict(SETTINGS, mode="routed"))
    assert len(part["routes"]) == 49 and {r["dst"] for r in part["routes"]} == {
        e["subnet"] for h, e in fmap["hosts"].items() if h != "h7"}
    vx = fleet.host_part(fmap, "h7", dict(SETTINGS, mode="vxlan"))
    assert len(vx["peers"]) == 49 and "routes" not in vx


def test_names_of_the_other_hosts_containers():
    hostvars = {"h1": {"nsbridge_fleet_underlay": "192.0.2.1",
                       "nsbridge_containers": [{"name": "app", "network": "fleet", "aliases": ["api"]},
                                               {"name": "db", "network": "local"}]},
                "h2": {"nsbridge_fleet_underlay": "192.0.2.2",
                       "nsbridge_containers": [{"name": "app", "networks": ["x", {"name": "fleet", "ip": "10.200.9.9"}]}]}}
    fmap = fleet.fleet_map(fleet.members_from(["h1", "h2"], hostvars),
                           {"cidr": "10.200.0.0/16", "prefix": 24, "network": "fleet",
                            "names": True}, json.dumps({"version": 1, "cidr": "10.200.0.0/16",
                                                        "hosts": {"h2": {"subnet": "10.200.9.0/24"}}}))
    part = fleet.host_part(fmap, "h1", {"mode": "routed", "network": "fleet", "cidr": "10.200.0.0/16"})
    assert part["names"] == [{"address": "10.200.9.9", "names": ["app", "app.fleet", "app.h2"]}]
    other = fleet.host_part(fmap, "h2", {"mode": "routed", "network": "fleet", "cidr": "10.200.0.0/16"})
    [entry] = other["names"]
    assert entry["names"] == ["app", "api", "app.fleet", "api.fleet", "app.h1", "api.h1"]
    assert entry["address"].startswith(fmap["hosts"]["h1"]["subnet"].rsplit(".", 2)[0]), "in h1's subnet"


from ansible_collections.nsbridge.network.plugins.filter.fleet_plan import fleet_host, fleet_map  # noqa: E402
from ansible_collections.nsbridge.network.plugins.filter.network_plan import add_shared_names, network_plan  # noqa: E402


def random_fleet(rng, n, cidr6):
    hostvars = {}
    for i in range(n):
        ctrs = []
        for j in range(rng.randint(0, 3)):
            fleet_ = {"name": "fleet", "aliases": ["api%d" % j]} if rng.random() < 0.3 else "fleet"
            networks = ([fleet_, "local"] if rng.random() < 0.3 else [fleet_]) if rng.random() < 0.8 else ["local"]
            ctrs.append({"name": rng.choice(["app", "db", "web", "c%d" % j]) + str(j), "command": "sleep 1d",
                         "networks": networks})
        hostvars["h%02d" % i] = {"nsbridge_fleet_underlay": "192.0.2.%d" % (i + 1),
                                 "nsbridge_fleet_underlay6": "2001:db8::%x" % (i + 1), "nsbridge_containers": ctrs}
    settings = {"cidr": "10.200.0.0/16", "prefix": 24, "cidr6": cidr6, "prefix6": 64, "network": "fleet",
                "names": True, "mode": rng.choice(["routed", "vxlan"]), "state": "present", "bridge": "nsb-fleet",
                "vxlan_device": "nsb-vx", "vni": 4242, "vxlan_port": 4789, "mtu": 1450}
    return hostvars, settings


def on_fleet(container):
    return any((n if isinstance(n, str) else n["name"]) == "fleet" for n in container["networks"])


def test_the_fleets_names_added_at_apply_equal_a_hosts_own_copy():
    """What the containers role applies (its plan without the fleet's names, the names added in the task, this
    host's own left out) equals what it applied when every host kept its own copy of the others' names."""
    rng = random.Random(21)
    for trial in range(30):
        hostvars, settings = random_fleet(rng, rng.randint(1, 6), rng.choice([None, "fd00:200::/48"]))
        fmap = fleet_map(sorted(hostvars), hostvars, settings)
        for host, hv_ in hostvars.items():
            part = fleet_host(fmap, host, settings)
            networks = [{"name": "local", "subnet": "172.30.0.0/24"}, part["network"]]
            before = network_plan(networks, hv_["nsbridge_containers"],
                                  shared_names={"fleet": part["names"]})["container_calls"]
            now = add_shared_names(network_plan(networks, hv_["nsbridge_containers"])["container_calls"],
                                   fmap["shared_names"], host)
            assert now == before, (trial, host)
            mine = [c for c in hv_["nsbridge_containers"] if on_fleet(c)]
            if mine:
                others = [c for h, v in hostvars.items() if h != host for c in v["nsbridge_containers"] if on_fleet(c)]
                names = [call for call in now if call["module"] == "names"][0]["args"]["shared"]["fleet"]
                assert len(names) == (len(mine) + len(others)) * (2 if settings["cidr6"] else 1), \
                    "each container on the fleet network, this host's and the others', in each family, once"


def test_a_host_keeps_o1_of_the_fleet_and_takes_its_calls_in_the_task():
    sizes = {}
    for n in (10, 200):
        hostvars = {"h%03d" % i: {"nsbridge_fleet_underlay": "192.0.2.%d" % (i + 1),
                                  "nsbridge_containers": [{"name": "app%d" % i, "network": "fleet"}]} for i in range(n)}
        settings = {"cidr": "10.200.0.0/16", "prefix": 24, "network": "fleet", "mode": "vxlan", "state": "present",
                    "bridge": "nsb-fleet", "vxlan_device": "nsb-vx", "vni": 4242, "vxlan_port": 4789, "mtu": 1450}
        fmap = fleet_map(sorted(hostvars), hostvars, settings)
        whole = fleet_host(fmap, "h001", settings)
        summary = fleet_host(fmap, "h001", settings, None, "summary")
        assert fleet_host(fmap, "h001", settings, None, "calls") == whole["calls"]
        assert summary == {k: v for k, v in whole.items() if k not in ("calls", "names")}
        assert len(fmap["shared_names"]["fleet"]) == n and {e["origin"] for e in fmap["shared_names"]["fleet"]} == set(hostvars)
        sizes[n] = len(json.dumps(summary))
    assert sizes[200] <= sizes[10] + 16, sizes
    with pytest.raises(AnsibleFilterError, match="part is summary or calls"):
        fleet_host(fmap, "h001", settings, None, "routes")


def test_the_roles_checks_are_the_filters_errors():
    """What the fleet role checked in assert tasks (a worker process a host each) its filters check."""
    settings = {"cidr": "10.200.0.0/16", "prefix": 24, "network": "fleet", "mode": "routed", "state": "present",
                "bridge": "nsb-fleet", "mtu": 1450, "vxlan_device": "nsb-vx", "vni": 42, "vxlan_port": 4789,
                "members_from": "nsbridge_fleet_group edge"}
    with pytest.raises(AnsibleFilterError, match="nsbridge_fleet_group edge is not a group of the inventory"):
        fleet_map(None, {}, settings)
    hostvars = {"h1": {"nsbridge_fleet_underlay": "192.0.2.1", "nsbridge_fleet_underlay6": "2001:db8::1"},
                "h2": {"nsbridge_fleet_underlay": "192.0.2.2"}, "h3": {"nsbridge_fleet_underlay": "192.0.2.3"}}
    fmap = fleet_map(sorted(hostvars), hostvars, settings)
    with pytest.raises(AnsibleFilterError, match=r"host zz is not in the fleet \(nsbridge_fleet_group edge\)"):
        fleet_host(fmap, "zz", settings, None, "summary")
    dual = dict(settings, cidr6="fd00:200::/48", prefix6=64)
    fmap6 = fleet_map(sorted(hostvars), hostvars, dual)
    for part in ("summary", "calls", None):
        with pytest.raises(AnsibleFilterError, match="needs nsbridge_fleet_underlay6 .* for h2, h3: Linux routes"):
            fleet_host(fmap6, "h1", dual, None, part)
    assert fleet_host(fmap6, "h1", dict(dual, mode="vxlan"), None, "summary")["missing_underlay6"] == []
