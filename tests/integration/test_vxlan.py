"""nsbridge.network.vxlan + route across an L3 underlay (two subnets joined by a router namespace)."""

from conftest import converge_four_times

MAC1, MAC2 = "02:6e:73:00:00:11", "02:6e:73:00:00:12"


def _underlay(sandbox):
    """host (192.168.81.11) -- router (.81.1 | .82.1) -- h2 (192.168.82.12)."""
    router, h2 = sandbox.name("rt"), sandbox.name("h2")
    sandbox.run("netns", name=[router, h2])
    sandbox.run("veth", pairs=[
        {"name": "ul1", "peer": "a", "peer_netns": router, "addresses": ["192.168.81.11/24"],
         "peer_addresses": ["192.168.81.1/24"]},
        {"name": "b", "netns": router, "peer": "eth0", "peer_netns": h2, "addresses": ["192.168.82.1/24"],
         "peer_addresses": ["192.168.82.12/24"], "peer_gateway": "192.168.82.1"},
    ])
    sandbox.sh(router, "sysctl", "-qw", "net.ipv4.ip_forward=1")
    sandbox.sh(None, "ip", "route", "add", "192.168.82.0/24", "via", "192.168.81.1")
    sandbox.sh(None, "ip", "addr", "add", "10.200.1.1/24", "dev", "lo")
    sandbox.sh(h2, "ip", "addr", "add", "10.200.2.1/24", "dev", "lo")
    return h2


def _vx(local, mac, address, peer, netns=None):
    args = dict(name="vx0", vni=42, local=local, mac=mac, mtu=1450, addresses=[address], peers=[peer])
    if netns:
        args["netns"] = netns
    return args


def test_overlay_across_a_router(sandbox):
    h2 = _underlay(sandbox)
    assert not sandbox.ping(None, "10.200.2.1")
    peer = {"underlay": "192.168.82.12", "mac": MAC2, "address": "10.200.2.0"}
    first = converge_four_times(sandbox, "vxlan", **_vx("192.168.81.11", MAC1, "10.200.1.0/32", peer))[1]
    assert first["results"][0]["actions"][-1] == "set 1 peer on vx0 (neighbour and fdb entries)"
    sandbox.run("vxlan", **_vx("192.168.82.12", MAC2, "10.200.2.0/32",
                               {"underlay": "192.168.81.11", "mac": MAC1, "address": "10.200.1.0"}, netns=h2))
    converge_four_times(sandbox, "route", dst="10.200.2.0/24", via="10.200.2.0", dev="vx0", onlink=True)
    sandbox.run("route", netns=h2, dst="10.200.1.0/24", via="10.200.1.0", dev="vx0", onlink=True)
    ping = sandbox.sh(None, "ping", "-c1", "-W2", "-I", "10.200.1.1", "10.200.2.1", check=False)
    assert ping.returncode == 0, ping.stdout + ping.stderr
    link = sandbox.links()["vx0"]
    assert link["kind"] == "vxlan" and link["vni"] == 42 and link["mtu"] == 1450 and link["mac"] == MAC1
    # a peer that leaves: its ARP and FDB entries go
    gone = sandbox.run("vxlan", name="vx0", vni=42, local="192.168.81.11", mac=MAC1, mtu=1450,
                       addresses=["10.200.1.0/32"], peers=[])
    # one step for all the peers it forgets (a fleet host has O(hosts) peers); a failed entry is named by the batch
    assert gone["changed"] and gone["results"][0]["actions"] == ["forget 1 peer on vx0 (neighbour and fdb entries)"]
    assert MAC2 not in sandbox.sh(None, "bridge", "fdb", "show", "dev", "vx0").stdout
    assert sandbox.run("vxlan", name="vx0", state="absent")["changed"]
    assert "vx0" not in sandbox.links()


def test_ipv6_overlay_on_an_ipv4_underlay(sandbox):
    h2 = _underlay(sandbox)
    sandbox.sh(None, "ip", "-6", "addr", "add", "fd00:200:1::1/64", "dev", "lo")
    sandbox.sh(h2, "ip", "-6", "addr", "add", "fd00:200:2::1/64", "dev", "lo")
    me = dict(name="vx0", vni=42, local="192.168.81.11", mac=MAC1, mtu=1450,
              addresses=["10.200.1.0/32", "fd00:200:1::/128"],
              peers=[{"underlay": "192.168.82.12", "mac": MAC2, "addresses": ["10.200.2.0", "fd00:200:2::"]}])
    converge_four_times(sandbox, "vxlan", **me)
    sandbox.run("vxlan", netns=h2, name="vx0", vni=42, local="192.168.82.12", mac=MAC2, mtu=1450,
                addresses=["10.200.2.0/32", "fd00:200:2::/128"],
                peers=[{"underlay": "192.168.81.11", "mac": MAC1, "address": "10.200.1.0",
                        "addresses": ["fd00:200:1::"]}])
    sandbox.run("route", routes=[{"dst": "fd00:200:2::/64", "via": "fd00:200:2::", "dev": "vx0", "onlink": True},
                                 {"dst": "10.200.2.0/24", "via": "10.200.2.0", "dev": "vx0", "onlink": True}])
    sandbox.run("route", netns=h2, routes=[
        {"dst": "fd00:200:1::/64", "via": "fd00:200:1::", "dev": "vx0", "onlink": True},
        {"dst": "10.200.1.0/24", "via": "10.200.1.0", "dev": "vx0", "onlink": True}])
    assert "fd00:200:2:: dev vx0 lladdr %s PERMANENT" % MAC2 in sandbox.sh(None, "ip", "-6", "neigh").stdout
    for source, target in (("fd00:200:1::1", "fd00:200:2::1"), ("10.200.1.1", "10.200.2.1")):
        ping = sandbox.sh(None, "ping", "-c1", "-W2", "-I", source, target, check=False)
        assert ping.returncode == 0, ping.stdout + ping.stderr
    result = sandbox.run("vxlan", **me)
    assert result["changed"] is False
    assert result["vxlan"][0]["peers"] == [{"underlay": "192.168.82.12", "mac": MAC2,
                                            "addresses": ["10.200.2.0", "fd00:200:2::"]}]


def test_errors(sandbox):
    _underlay(sandbox)
    cases = [
        (dict(name="vx0", vni=0, local="192.168.81.11"), "vni", "outside 1..16777215"),
        (dict(name="vx0", vni=4, local="nope"), "local", "not an IPv4"),
        (dict(name="vx0", vni=4, local="192.168.99.1"), "local", "no interface"),
        (dict(name="vx0", vni=4, local="192.168.81.11", peers=[{"underlay": "1.2.3.4", "mac": "zz", "address": "10.0.0.1"}]),
         "peers[0].mac", "not a MAC"),
        (dict(name="ul1", vni=4, local="192.168.81.11"), "name", "is a veth link, not vxlan"),
    ]
    for args, fieldname, text in cases:
        result = sandbox.run("vxlan", **args)
        assert result.get("failed"), args
        assert "nsbridge.network.vxlan: %s: " % fieldname in result["msg"] and text in result["msg"], result["msg"]
    assert "vx0" not in sandbox.links()
