"""nsbridge.network.tunnel on the real kernel: two "hosts" (the sandbox host and a second namespace
playing another host, joined by an underlay veth), each making its end of a tunnel into a node."""

from conftest import converge_four_times, warning_text


def _two_hosts(sandbox):
    """Host A (the sandbox host, 192.0.2.1 / 2001:db8::1) and host B (192.0.2.2 / 2001:db8::2), nodes r1
    (on A) and r2 (on B)."""
    hb, r1, r2 = sandbox.name("hb"), sandbox.name("r1"), sandbox.name("r2")
    sandbox.run("netns", name=[hb, r1, r2])
    sandbox.sh(None, "ip", "link", "add", "u0", "type", "veth", "peer", "name", "u0", "netns", hb)
    for ns, last in ((None, 1), (hb, 2)):
        sandbox.sh(ns, "ip", "addr", "add", "192.0.2.%d/24" % last, "dev", "u0")
        sandbox.sh(ns, "ip", "-6", "addr", "add", "2001:db8::%d/64" % last, "dev", "u0", "nodad")
        sandbox.sh(ns, "ip", "link", "set", "u0", "up")
    return hb, r1, r2


def _end(node, me, other, **extra):
    item = {"name": "eth1", "netns": node, "vni": 4242, "local": "192.0.2.%d" % me, "remotes": ["192.0.2.%d" % other],
            "addresses": ["10.1.0.%d/30" % me, "fd00:1::%d/64" % me]}
    item.update(extra)
    return item


def test_a_link_between_nodes_on_two_hosts(sandbox):
    hb, r1, r2 = _two_hosts(sandbox)
    check, real, _check_again, _again = converge_four_times(sandbox, "tunnel", **_end(r1, 1, 2))
    assert check["results"][0]["planned"][0] == "create tunnel 'eth1' in %s vni 4242 local 192.0.2.1" % r1
    made = real["tunnels"][0]
    assert made["mtu"] == 1450 and made["remotes"] == ["192.0.2.2"] and made["netns"] == r1
    assert not sandbox.run("tunnel", host=hb, **_end(r2, 2, 1)).get("failed")
    assert sandbox.ping(r1, "10.1.0.2") and sandbox.ping(r1, "fd00:1::2")
    detail = sandbox.sh(r1, "ip", "-d", "link", "show", "eth1").stdout
    assert "vxlan id 4242 local 192.0.2.1" in detail and "link-netns %s" % sandbox.host in detail, \
        "the device is in the node, its socket on the host"
    assert "eth1" not in sandbox.links(), "nothing of it stays in the host namespace"
    # cut at one end: no traffic; back up: traffic again, the device the same
    index = sandbox.links(r1)["eth1"]["index"]
    cut = sandbox.run("tunnel", **_end(r1, 1, 2, up=False))
    assert cut["changed"] and not sandbox.links(r1)["eth1"]["up"] and not sandbox.ping(r1, "10.1.0.2")
    back = sandbox.run("tunnel", **_end(r1, 1, 2))
    assert back["changed"] and sandbox.ping(r1, "10.1.0.2") and sandbox.ping(r1, "fd00:1::2")
    assert sandbox.links(r1)["eth1"]["index"] == index
    # the flood list is exactly remotes
    more = sandbox.run("tunnel", **_end(r1, 1, 2, remotes=["192.0.2.2", "192.0.2.9"]))
    assert more["results"][0]["actions"] == ["flood to remote 192.0.2.9 on eth1"]
    fewer = sandbox.run("tunnel", **_end(r1, 1, 2))
    assert fewer["results"][0]["actions"] == ["forget remote 192.0.2.9 on eth1"]
    assert "192.0.2.9" not in sandbox.sh(r1, "bridge", "fdb", "show", "dev", "eth1").stdout
    # a new VNI re-creates the end (the kernel cannot change it in place)
    moved = sandbox.run("tunnel", **_end(r1, 1, 2, vni=4343))
    assert moved["results"][0]["actions"][0] == "delete tunnel 'eth1' in %s (vni, local or port changed)" % r1
    gone = sandbox.run("tunnel", name="eth1", netns=r1, state="absent")
    assert gone["changed"] and "eth1" not in sandbox.links(r1)
    assert sandbox.run("tunnel", name="eth1", netns=r1, state="absent")["changed"] is False


def test_a_lan_segment_spanning_hosts_over_ipv6(sandbox):
    """Each host's bridge (in a switch namespace) joined by tunnels over an IPv6 underlay."""
    hb, r1, r2 = _two_hosts(sandbox)
    for host, node, me in ((None, r1, 1), (hb, r2, 2)):
        sw = sandbox.name("sw%d" % me)
        sandbox.run("netns", host=host, name=[sw])
        sandbox.run("bridge", host=host, name="br0", netns=sw, addresses=[])
        sandbox.run("veth", host=host, name="p1", netns=sw, bridge="br0", peer="eth1", peer_netns=node,
                    peer_addresses=["10.9.0.%d/24" % me])
        result = sandbox.run("tunnel", host=host, name="vx0", netns=sw, master="br0", vni=77, mtu=1400,
                             local="2001:db8::%d" % me, remotes=["2001:db8::%d" % (3 - me)])
        assert result["changed"] and result["tunnels"][0]["master"] == "br0", result
    assert sandbox.ping(r1, "10.9.0.2")
    assert sandbox.run("tunnel", name="vx0", netns=sandbox.name("sw1"), master="br0", vni=77, mtu=1400,
                       local="2001:db8::1", remotes=["2001:db8::2"])["changed"] is False


def test_bad_input_names_the_item_and_field(sandbox):
    _hb, r1, _r2 = _two_hosts(sandbox)
    cases = [
        (dict(_end(r1, 1, 2), vni=0), "tunnels[0].vni: 0 is outside 1..16777215"),
        (dict(_end(r1, 1, 2), remotes=["2001:db8::2"]), "tunnels[0].remotes[0]: 2001:db8::2 is not IPv4"),
        (dict(_end(r1, 1, 2), remotes=["192.0.2.1"]), "this end's own address"),
        (dict(_end(r1, 1, 2), mtu=1480), "tunnels[0].mtu: 1480 leaves no room for VXLAN's 50 bytes on underlay u0"),
        (dict(_end(r1, 1, 2), local="192.0.2.77"), "tunnels[0].local: no interface of the host holds 192.0.2.77"),
        (dict(_end(r1, 1, 2), master="br9"), "tunnels[0].master: bridge 'br9' does not exist in %s" % r1),
        (dict(_end(r1, 1, 2), netns=sandbox.name("nope")), "does not exist"),
    ]
    for item, says in cases:
        result = sandbox.run("tunnel", tunnels=[item])
        assert result.get("failed") and says in result["msg"], (says, result.get("msg"))
    assert "eth1" not in sandbox.links(r1)


def test_foreign_devices_are_left_alone(sandbox):
    _hb, r1, _r2 = _two_hosts(sandbox)
    sandbox.sh(None, "ip", "link", "add", "eth1", "netns", r1, "type", "vxlan", "id", "5", "local", "192.0.2.1",
               "dstport", "4789")
    taken = sandbox.run("tunnel", **_end(r1, 1, 2))
    assert taken["failed"] and "'eth1' exists in %s and is a vxlan device nsbridge did not make" % r1 in taken["msg"]
    left = sandbox.run("tunnel", name="eth1", netns=r1, state="absent")
    assert left["changed"] is False and "eth1" in sandbox.links(r1) and "not created by nsbridge" in warning_text(left)
