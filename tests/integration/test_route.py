"""nsbridge.network.route on the real kernel: owned routes, adjacency check, purge."""

from conftest import converge_four_times


def _neighbours(sandbox):
    """Two 'hosts' on one L2 segment: the sandbox host (192.168.77.11) and peer (192.168.77.12),
    the peer carrying a 'container subnet' address 10.200.2.1 on its lo."""
    peer = sandbox.name("h2")
    sandbox.run("netns", name=[peer])
    sandbox.run("veth", name="under0", peer="eth0", peer_netns=peer,
                addresses=["192.168.77.11/24"], peer_addresses=["192.168.77.12/24"])
    sandbox.sh(peer, "ip", "addr", "add", "10.200.2.1/24", "dev", "lo")
    sandbox.sh(peer, "ip", "addr", "add", "10.200.3.1/24", "dev", "lo")
    sandbox.sh(peer, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0")
    return peer


def test_route_to_a_peer_subnet_four_times_and_traffic(sandbox):
    peer = _neighbours(sandbox)
    assert not sandbox.ping(None, "10.200.2.1")
    _c, real, _c2, _r2 = converge_four_times(sandbox, "route", dst="10.200.2.0/24", via="192.168.77.12")
    assert real["routes"] == [{"dst": "10.200.2.0/24", "via": "192.168.77.12", "dev": "under0", "metric": 0,
                               "onlink": False, "managed": True}]
    assert "10.200.2.0/24 via 192.168.77.12 dev under0 proto 78" in sandbox.sh(None, "ip", "route").stdout
    sandbox.sh(peer, "ip", "route", "add", "192.168.77.0/24", "dev", "eth0", check=False)
    assert sandbox.ping(None, "10.200.2.1")
    # a changed gateway converges in place
    moved = sandbox.run("route", diff=True, dst="10.200.2.0/24", via="192.168.77.13")
    assert moved["changed"] and moved["diff"]["before"]["10.200.2.0/24"]["via"] == "192.168.77.12"
    gone = sandbox.run("route", dst="10.200.2.0/24", state="absent")
    assert gone["changed"] and "10.200.2.0/24" not in sandbox.sh(None, "ip", "route").stdout
    assert sandbox.run("route", dst="10.200.2.0/24", state="absent")["changed"] is False


def test_purge_removes_only_our_unlisted_routes(sandbox):
    _neighbours(sandbox)
    sandbox.sh(None, "ip", "route", "add", "10.250.0.0/24", "via", "192.168.77.12")  # somebody else's
    sandbox.run("route", routes=[{"dst": "10.200.2.0/24", "via": "192.168.77.12"},
                                 {"dst": "10.200.3.0/24", "via": "192.168.77.12"}])
    result = sandbox.run("route", purge=True, routes=[{"dst": "10.200.2.0/24", "via": "192.168.77.12"}])
    assert result["changed"] and [r["item"] for r in result["results"] if r["changed"]] == ["purge"]
    table = sandbox.sh(None, "ip", "route").stdout
    assert "10.200.2.0/24" in table and "10.200.3.0/24" not in table and "10.250.0.0/24 via 192.168.77.12" in table
    assert sandbox.run("route", purge=True, routes=[{"dst": "10.200.2.0/24", "via": "192.168.77.12"}])["changed"] is False


def test_errors(sandbox):
    _neighbours(sandbox)
    sandbox.sh(None, "ip", "route", "add", "10.250.0.0/24", "via", "192.168.77.12")
    cases = [
        (dict(dst="10.250.0.0/24", via="192.168.77.12"), "dst", "nsbridge did not make"),
        (dict(dst="10.200.2.0/24", via="10.9.9.9"), "via", "not on a directly connected network"),
        (dict(dst="10.200.2.1/24", via="192.168.77.12"), "dst", "not an IPv4 or IPv6 network"),
        (dict(dst="10.200.2.0/24", via="fd00::1"), "via", "not the same IP version"),
        (dict(dst="10.200.2.0/24"), "via", "needs via, dev or both"),
        (dict(dst="10.200.2.0/24", dev="nosuch"), "dev", "does not exist"),
    ]
    for args, fieldname, text in cases:
        result = sandbox.run("route", **args)
        assert result.get("failed"), args
        assert "nsbridge.network.route: %s: " % fieldname in result["msg"] and text in result["msg"], result["msg"]
    assert "proto 78" not in sandbox.sh(None, "ip", "route").stdout
    # onlink: the adjacency check is the user's to waive
    ok = sandbox.run("route", dst="10.200.2.0/24", via="10.9.9.9", dev="under0", onlink=True)
    assert ok["changed"] and "onlink" in sandbox.sh(None, "ip", "route", "show", "10.200.2.0/24").stdout


def test_ipv6_routes_same_ownership_purge_and_adjacency(sandbox):
    peer = sandbox.name("h2")
    sandbox.run("netns", name=[peer])
    sandbox.run("veth", name="under0", peer="eth0", peer_netns=peer,
                addresses=["fd77::11/64"], peer_addresses=["fd77::12/64"])
    sandbox.sh(peer, "ip", "-6", "addr", "add", "fd00:200:2::1/64", "dev", "lo")
    sandbox.sh(None, "ip", "-6", "route", "add", "fd00:250::/64", "via", "fd77::12")  # somebody else's
    _c, real, _c2, _r2 = converge_four_times(sandbox, "route", routes=[
        {"dst": "fd00:200:2::/64", "via": "fd77::12"}, {"dst": "fd00:200:3::/64", "via": "fd77::12"}])
    assert real["routes"][0] == {"dst": "fd00:200:2::/64", "via": "fd77::12", "dev": "under0", "metric": 1024,
                                 "onlink": False, "managed": True}
    table = sandbox.sh(None, "ip", "-6", "route").stdout
    assert "fd00:200:2::/64 via fd77::12 dev under0 proto 78" in table
    assert sandbox.sh(None, "ping", "-6", "-c1", "-W2", "fd00:200:2::1", check=False).returncode == 0
    purged = sandbox.run("route", purge=True, routes=[{"dst": "fd00:200:2::/64", "via": "fd77::12"}])
    assert [r["item"] for r in purged["results"] if r["changed"]] == ["purge"]
    table = sandbox.sh(None, "ip", "-6", "route").stdout
    assert "fd00:200:3::/64" not in table and "fd00:250::/64 via fd77::12" in table, "not ours: left alone"
    for args, fieldname, text in [
        (dict(dst="fd00:250::/64", via="fd77::12"), "dst", "nsbridge did not make"),
        (dict(dst="fd00:200:4::/64", via="fd99::1"), "via", "not on a directly connected network"),
        (dict(dst="fd00:200:4::/64", via="192.168.77.12"), "via", "not the same IP version"),
    ]:
        result = sandbox.run("route", **args)
        assert result.get("failed") and "route: %s: " % fieldname in result["msg"] and text in result["msg"], result
    assert sandbox.run("route", purge=True, routes=[])["changed"]
    assert "proto 78" not in sandbox.sh(None, "ip", "-6", "route").stdout


def test_a_change_the_kernel_refuses_is_named_and_the_others_are_applied(sandbox):
    """A call's routes go to the kernel as one batch: one it refuses (an onlink gateway on a device that is
    down) fails the call naming that route and the kernel's reason; the other routes of the batch are made."""
    _neighbours(sandbox)
    sandbox.sh(None, "ip", "link", "set", "under0", "down")
    result = sandbox.run("route", routes=[{"dst": "10.200.4.0/24", "dev": "lo"},
                                          {"dst": "10.200.2.0/24", "via": "10.9.9.9", "dev": "under0", "onlink": True}])
    assert result.get("failed"), result
    assert "1 of the batch's changes failed" in result["msg"], result["msg"]
    assert "route 10.200.2.0/24 via 10.9.9.9: Network is down" in result["msg"], result["msg"]
    table = sandbox.sh(None, "ip", "route").stdout
    assert "10.200.4.0/24 dev lo proto 78" in table and "10.200.2.0/24" not in table, table
    # alone in its batch, the refused change is said as any single kernel call's failure
    alone = sandbox.run("route", dst="10.200.2.0/24", via="10.9.9.9", dev="under0", onlink=True)
    assert alone.get("failed") and "route 10.200.2.0/24 via 10.9.9.9 failed: Network is down" in alone["msg"], \
        alone["msg"]
