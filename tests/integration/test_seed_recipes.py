"""The seed articles' recipes as module calls, each converged four times, proven by pings."""

from conftest import converge_four_times


def test_two_namespaces_on_one_veth_pair(sandbox):
    ns0, ns1 = sandbox.name("n0"), sandbox.name("n1")
    converge_four_times(sandbox, "netns", name=[ns0, ns1])
    converge_four_times(sandbox, "veth", name="ceth0", netns=ns0, peer="ceth1", peer_netns=ns1,
                        addresses=["172.18.0.10/24"], peer_addresses=["172.18.0.11/24"])
    assert sandbox.ping(ns0, "172.18.0.11")
    assert sandbox.ping(ns1, "172.18.0.10")


def test_pure_l2_bridge_without_addresses(sandbox):
    ns1, ns2 = sandbox.name("a"), sandbox.name("b")
    sandbox.run("netns", name=[ns1, ns2])
    converge_four_times(sandbox, "bridge", name="br1", addresses=[])
    converge_four_times(sandbox, "veth", pairs=[
        {"name": "veth1", "peer": "vpeer1", "peer_netns": ns1, "bridge": "br1"},
        {"name": "veth2", "peer": "vpeer2", "peer_netns": ns2, "bridge": "br1"},
    ])
    # no addresses yet: nothing answers
    assert not sandbox.ping(ns1, "10.11.0.20")
    # addressed afterwards, as in the article: same call plus addresses converges in place
    result = sandbox.run("veth", pairs=[
        {"name": "veth1", "peer": "vpeer1", "peer_netns": ns1, "bridge": "br1", "peer_addresses": ["10.11.0.10/16"]},
        {"name": "veth2", "peer": "vpeer2", "peer_netns": ns2, "bridge": "br1", "peer_addresses": ["10.11.0.20/16"]},
    ])
    assert result["changed"] and all(r["actions"] for r in result["results"])
    assert all(not any("create" in a for a in r["actions"]) for r in result["results"]), "converged in place"
    assert sandbox.ping(ns1, "10.11.0.20")
    assert sandbox.ping(ns2, "10.11.0.10")
    # the bridge has no address: the host side cannot reach them at L3
    assert not sandbox.ping(None, "10.11.0.10")


def test_gateway_bridge_with_default_routes(sandbox):
    ns1, ns2 = sandbox.name("c1"), sandbox.name("c2")
    sandbox.run("netns", name=[ns1, ns2])
    converge_four_times(sandbox, "bridge", name="br0", addresses=["10.10.0.1/16"])
    converge_four_times(sandbox, "veth", pairs=[
        {"name": "veth1", "peer": "eth0", "peer_netns": ns1, "bridge": "br0",
         "peer_addresses": ["10.10.0.10/16"], "peer_gateway": "10.10.0.1"},
        {"name": "veth2", "peer": "eth0", "peer_netns": ns2, "bridge": "br0",
         "peer_addresses": ["10.10.0.20/16"], "peer_gateway": "10.10.0.1"},
    ])
    assert sandbox.ping(None, "10.10.0.10")          # host side -> container
    assert sandbox.ping(None, "10.10.0.20")
    assert sandbox.ping(ns1, "10.10.0.20")           # container -> container
    assert sandbox.ping(ns1, "10.10.0.1")            # container -> gateway
    route = sandbox.sh(ns1, "ip", "route", "show", "default").stdout
    assert "via 10.10.0.1 dev eth0" in route
