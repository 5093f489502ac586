"""Fleet subnet allocation: deterministic, stable when hosts come and go, clear errors."""

import ipaddress
import json

import pytest

from ansible_collections.nsbridge.network.plugins.filter.fleet_plan import AnsibleFilterError, fleet_plan


def hv(n, **extra):
    return {h: dict({"nsbridge_fleet_underlay": "192.168.77.%d" % (10 + i)}, **extra.get(h, {}))
            for i, h in enumerate(n)}


def current(subnet):
    """What `ip -j -4 addr show dev BRIDGE` reports for a bridge holding the subnet's gateway."""
    net = ipaddress.ip_network(subnet)
    return {"_nsbridge_fleet_current": {"stdout": json.dumps([{"addr_info": [
        {"family": "inet", "local": str(net.network_address + 1), "prefixlen": net.prefixlen}]}])}}


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
