"""nsbridge.network.veth on the real kernel."""

from conftest import converge_four_times, warning_text


def _container(sandbox, ns, host_if, ip, **extra):
    item = {"name": host_if, "peer": "eth0", "peer_netns": ns, "bridge": "br0",
            "peer_addresses": [ip], "peer_gateway": "10.10.0.1"}
    item.update(extra)
    return item


def test_full_endpoint_with_mtu_mac_hairpin_and_diff(sandbox):
    ns = sandbox.name("c")
    sandbox.run("netns", name=[ns])
    sandbox.run("bridge", name="br0", addresses=["10.10.0.1/16"])
    check, real, _check_again, _real_again = converge_four_times(
        sandbox, "veth", name="vh1", peer="eth0", peer_netns=ns, bridge="br0", hairpin=True, mtu=1400,
        mac="02:00:00:00:00:01", peer_mac="02:00:00:00:00:02",
        peer_addresses=["10.10.0.5/16", "fd00:10::5/64"], peer_gateway="10.10.0.1")
    after = real["diff"]["after"]["vh1"]
    assert check["diff"]["before"] == {"vh1": None}
    assert after["bridge"] == "br0" and after["peer_netns"] == ns and after["hairpin"] is True
    host = sandbox.links()["vh1"]
    peer = sandbox.links(ns)["eth0"]
    assert host["master"] == sandbox.links()["br0"]["index"] and host["hairpin"] is True
    assert host["mtu"] == 1400 and peer["mtu"] == 1400 and host["up"] and peer["up"]
    assert host["mac"] == "02:00:00:00:00:01" and peer["mac"] == "02:00:00:00:00:02"
    assert sandbox.ping(ns, "10.10.0.1")
    assert "default via 10.10.0.1 dev eth0" in sandbox.sh(ns, "ip", "route").stdout
    # the result reports the pair as it is now
    assert real["pairs"][0]["peer_addresses"] == ["10.10.0.5/16", "fd00:10::5/64"]


def test_converges_wrong_master_addresses_and_gateway_in_place(sandbox):
    ns = sandbox.name("c")
    sandbox.run("netns", name=[ns])
    sandbox.run("bridge", bridges=[{"name": "br0", "addresses": ["10.10.0.1/16"]},
                                   {"name": "br1", "addresses": ["10.20.0.1/16"]}])
    sandbox.run("veth", name="vh1", peer="eth0", peer_netns=ns, bridge="br0",
                peer_addresses=["10.10.0.5/16"], peer_gateway="10.10.0.1")
    index = sandbox.links()["vh1"]["index"]
    moved = sandbox.run("veth", diff=True, name="vh1", peer="eth0", peer_netns=ns, bridge="br1",
                        peer_addresses=["10.20.0.5/16"], peer_gateway="10.20.0.1")
    assert moved["changed"]
    assert moved["diff"]["before"]["vh1"]["bridge"] == "br0" and moved["diff"]["after"]["vh1"]["bridge"] == "br1"
    assert sandbox.links()["vh1"]["index"] == index, "converged in place"
    assert sandbox.links()["vh1"]["master"] == sandbox.links()["br1"]["index"]
    assert sandbox.ping(ns, "10.20.0.1")
    assert "default via 10.20.0.1 dev eth0" in sandbox.sh(ns, "ip", "route").stdout
    assert "10.10.0.5" not in sandbox.sh(ns, "ip", "addr").stdout
    assert sandbox.run("veth", name="vh1", peer="eth0", peer_netns=ns, bridge="br1",
                       peer_addresses=["10.20.0.5/16"], peer_gateway="10.20.0.1")["changed"] is False


def test_peer_in_another_namespace_is_recreated_where_asked(sandbox):
    a, b = sandbox.name("a"), sandbox.name("b")
    sandbox.run("netns", name=[a, b])
    sandbox.run("veth", name="vh1", peer="eth0", peer_netns=a, addresses=["10.30.0.1/24"], peer_addresses=["10.30.0.2/24"])
    result = sandbox.run("veth", name="vh1", peer="eth0", peer_netns=b, addresses=["10.30.0.1/24"], peer_addresses=["10.30.0.2/24"])
    assert result["changed"]
    assert "eth0" not in sandbox.links(a) and "eth0" in sandbox.links(b)
    assert sandbox.ping(b, "10.30.0.1")
    assert sandbox.run("veth", name="vh1", peer="eth0", peer_netns=b, addresses=["10.30.0.1/24"],
                       peer_addresses=["10.30.0.2/24"])["changed"] is False


def test_bad_input_names_item_and_field_and_makes_nothing(sandbox):
    ns = sandbox.name("c")
    sandbox.run("netns", name=[ns])
    sandbox.run("bridge", name="br0", addresses=["10.10.0.1/16"])
    good = _container(sandbox, ns, "vgood", "10.10.0.2/16")
    cases = [
        ({"name": "x" * 16, "peer": "p"}, "pairs[1].name", "at most 15 bytes"),
        ({"name": "a/b", "peer": "p"}, "pairs[1].name", "not a valid interface name"),
        ({"name": "ok1", "peer": "has space"}, "pairs[1].peer", "not a valid interface name"),
        ({"name": "ok1", "peer": ".."}, "pairs[1].peer", "not a valid interface name"),
        ({"name": "ok1"}, "pairs[1].peer", "required"),
        ({"name": "ok1", "peer": "p", "peer_addresses": ["10.0.0.1/24", "10.0.0.300/24"]},
         "pairs[1].peer_addresses[1]", "'10.0.0.300/24' is not an IPv4 or IPv6 network"),
        ({"name": "ok1", "peer": "p", "addresses": ["nonsense"]}, "pairs[1].addresses[0]", "prefix length"),
        ({"name": "ok1", "peer": "p", "peer_addresses": ["10.0.0.2/24"], "peer_gateway": "10.9.0.1"},
         "pairs[1].peer_gateway[0]", "outside every IPv4 peer_addresses network"),
        ({"name": "ok1", "peer": "p", "peer_gateway": "not-an-ip"}, "pairs[1].peer_gateway[0]", "not an IPv4"),
        ({"name": "ok1", "peer": "p", "bridge": "nobr"}, "pairs[1].bridge", "does not exist"),
        ({"name": "ok1", "peer": "p", "peer_netns": sandbox.name("none")}, "pairs[1].peer_netns", "does not exist"),
        ({"name": "ok1", "peer": "p", "peer_netns": "a/b"}, "pairs[1].peer_netns", "not a valid namespace name"),
        ({"name": "ok1", "peer": "p", "mac": "01:00:5e:00:00:01"}, "pairs[1].mac", "multicast"),
        ({"name": "ok1", "peer": "p", "hairpin": True}, "pairs[1].hairpin", "needs bridge"),
        ({"name": "vgood", "peer": "p"}, "pairs[1].name", "also given by item 0"),
    ]
    for bad, field, text in cases:
        result = sandbox.run("veth", pairs=[good, bad])
        assert result.get("failed"), bad
        assert "nsbridge.network.veth: %s: " % field in result["msg"] and text in result["msg"], result["msg"]
        assert "vgood" not in sandbox.links(), "nothing is made when any item is invalid"
    assert sandbox.name("none") not in sandbox.namespaces(), "a missing peer_netns is never created"


def test_name_taken_by_another_kind_fails_clearly(sandbox):
    sandbox.run("bridge", name="taken")
    result = sandbox.run("veth", name="taken", peer="p1")
    assert result["failed"] and "name: 'taken' exists and is a bridge link, not a veth" in result["msg"]
    assert sandbox.links()["taken"]["kind"] == "bridge" and "p1" not in sandbox.links()


def test_failure_mid_batch_keeps_done_items_and_rerun_converges(sandbox):
    nss = [sandbox.name("m%d" % i) for i in range(4)]
    sandbox.run("netns", name=nss)
    sandbox.run("bridge", name="br0", addresses=["10.10.0.1/16"])
    pairs = [_container(sandbox, ns, "vm%d" % i, "10.10.0.%d/16" % (10 + i)) for i, ns in enumerate(nss)]
    # item 2: no address on the peer, so the kernel refuses the gateway route (unreachable)
    broken = [dict(p) for p in pairs]
    broken[2] = dict(broken[2], peer_addresses=None)
    result = sandbox.run("veth", pairs=broken)
    assert result["failed"] and result["failed_item"] == "pairs[2]"
    assert "pairs[2]" in result["msg"] and "default route" in result["msg"]
    assert result["done"] == ["vm0", "vm1"]
    links = sandbox.links()
    assert "vm0" in links and "vm1" in links, "items before the failure stay done"
    assert "vm2" not in links and "eth0" not in sandbox.links(nss[2]), "the failed item is rolled back"
    assert "vm3" not in links, "items after the failure are not started"
    rerun = sandbox.run("veth", pairs=pairs)
    assert not rerun.get("failed") and [r["changed"] for r in rerun["results"]] == [False, False, True, True]
    assert all(sandbox.ping(ns, "10.10.0.1") for ns in nss)


def test_absent_removes_the_pair_and_only_ours(sandbox):
    ns = sandbox.name("c")
    sandbox.run("netns", name=[ns])
    sandbox.run("veth", name="vh1", peer="eth0", peer_netns=ns)
    sandbox.sh(None, "ip", "link", "add", "theirs", "type", "veth", "peer", "theirs2")
    check = sandbox.run("veth", check=True, name="vh1", state="absent")
    assert check["changed"] and "vh1" in sandbox.links()
    gone = sandbox.run("veth", pairs=[{"name": "vh1", "state": "absent"}, {"name": "theirs", "state": "absent"}])
    assert gone["changed"]
    assert "vh1" not in sandbox.links() and "eth0" not in sandbox.links(ns)
    assert "theirs" in sandbox.links() and "theirs" in warning_text(gone)
    assert sandbox.run("veth", name="vh1", state="absent")["changed"] is False


def test_peer_name_taken_in_target_namespace(sandbox):
    ns = sandbox.name("c")
    sandbox.run("netns", name=[ns])
    sandbox.sh(ns, "ip", "link", "add", "eth0", "type", "veth", "peer", "other")
    result = sandbox.run("veth", name="vh1", peer="eth0", peer_netns=ns)
    assert result["failed"] and "peer: interface 'eth0' already exists in %s" % ns in result["msg"]
    assert "vh1" not in sandbox.links()


def test_many_pairs_go_together_and_nothing_else_does(sandbox):
    """Absent pairs of one call are deleted as one device group per namespace: every one goes,
    each item reports its own action, links that stay (ours and foreign) keep their groups."""
    a, b = sandbox.name("a"), sandbox.name("b")
    sandbox.run("netns", name=[a, b])
    pairs = [{"name": "vg%d" % i, "peer": "eth%d" % i, "peer_netns": a} for i in range(6)]
    pairs += [{"name": "vb%d" % i, "netns": b, "peer": "eth%d" % i, "peer_netns": a} for i in range(6, 9)]
    sandbox.run("veth", pairs=pairs + [{"name": "vkeep", "peer": "eth9", "peer_netns": a}])
    sandbox.sh(None, "ip", "link", "add", "theirs", "group", "7", "type", "veth", "peer", "theirs2")
    sandbox.sh(b, "ip", "link", "add", "theirs", "type", "veth", "peer", "theirs2")
    groups = {ns: {n: link["group"] for n, link in sandbox.links(ns).items()} for ns in (None, b)}
    gone = sandbox.run("veth", pairs=[dict(p, state="absent") for p in pairs])
    assert gone["changed"] and not gone.get("failed")
    assert [r["actions"] for r in gone["results"]] == [
        ["delete veth %s%s (and its peer)" % (p["name"], " in %s" % b if p.get("netns") else "")] for p in pairs]
    assert not [n for n in sandbox.links() if n.startswith("vg")]
    assert not [n for n in sandbox.links(b) if n.startswith("vb")]
    assert set(sandbox.links(a)) == {"lo", "eth9"}
    assert {n: link["group"] for n, link in sandbox.links().items()} == {
        n: g for n, g in groups[None].items() if not n.startswith("vg")}
    assert {n: link["group"] for n, link in sandbox.links(b).items()} == {
        n: g for n, g in groups[b].items() if not n.startswith("vb")}
    assert sandbox.links()["theirs"]["group"] == 7
    assert sandbox.run("veth", pairs=[dict(p, state="absent") for p in pairs])["changed"] is False


def test_a_link_taken_down_and_up_again(sandbox):
    """up: false keeps both ends down (a lab's link cut); true brings them back, in place."""
    r1, r2 = sandbox.name("r1"), sandbox.name("r2")
    sandbox.run("netns", name=[r1, r2], sysctls={"net.ipv6.conf.all.keep_addr_on_down": 1})
    pair = dict(name="eth1", netns=r1, peer="eth1", peer_netns=r2, addresses=["10.1.0.1/30", "fd00:1::1/64"],
                peer_addresses=["10.1.0.2/30", "fd00:1::2/64"])
    sandbox.run("veth", **pair)
    index = sandbox.links(r1)["eth1"]["index"]
    check, down, _c, _again = converge_four_times(sandbox, "veth", **dict(pair, up=False))
    assert down["diff"]["after"]["eth1"]["up"] is False and down["diff"]["after"]["eth1"]["peer_up"] is False
    assert not sandbox.links(r1)["eth1"]["up"] and not sandbox.links(r2)["eth1"]["up"]
    assert not sandbox.ping(r1, "10.1.0.2")
    assert "fd00:1::1/64" in sandbox.sh(r1, "ip", "-6", "addr", "show", "dev", "eth1").stdout, "kept while down"
    up = sandbox.run("veth", **pair)
    assert up["changed"] and sandbox.links(r1)["eth1"]["index"] == index
    assert sandbox.ping(r1, "10.1.0.2") and sandbox.ping(r1, "fd00:1::2")
    created_down = sandbox.run("veth", name="eth2", netns=r1, peer="eth2", peer_netns=r2, up=False)
    assert created_down["changed"] and not sandbox.links(r1)["eth2"]["up"] and not sandbox.links(r2)["eth2"]["up"]
    bad = sandbox.run("veth", **dict(pair, up=False, peer_gateway="10.1.0.1"))
    assert bad["failed"] and "peer_gateway: a default route needs the pair up" in bad["msg"]
