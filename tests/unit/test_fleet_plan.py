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
