"""nsbridge.network.netns on the real kernel."""

import os

from conftest import converge_four_times, warning_text


def test_create_converge_and_remove(sandbox):
    a, b = sandbox.name("x"), sandbox.name("y")
    check, real, _check_again, _real_again = converge_four_times(sandbox, "netns", name=[a, b])
    assert check["diff"]["before"] == {a: None, b: None}
    assert real["diff"]["after"][a] == {"name": a, "lo_up": True, "managed": True}
    assert os.path.exists("/run/netns/" + a)
    assert sandbox.links(a)["lo"]["up"] is True
    assert a in sandbox.sh(None, "ip", "netns", "list").stdout

    # lo taken down by hand: converged back up
    sandbox.sh(a, "ip", "link", "set", "lo", "down")
    again = sandbox.run("netns", name=[a, b])
    assert again["changed"] and again["results"][0]["actions"] == ["set lo up in %s" % a]
    assert not again["results"][1]["changed"]

    check_absent = sandbox.run("netns", name=[a], state="absent", check=True)
    assert check_absent["changed"] and os.path.exists("/run/netns/" + a)
    gone = sandbox.run("netns", name=[a, b], state="absent")
    assert gone["changed"] and not os.path.exists("/run/netns/" + a) and not os.path.exists("/run/netns/" + b)
    assert sandbox.run("netns", name=[a, b], state="absent")["changed"] is False


def test_absent_leaves_foreign_namespace(sandbox):
    foreign = sandbox.name("ext")
    os.system("ip netns add %s" % foreign)
    result = sandbox.run("netns", name=[foreign], state="absent")
    assert result["changed"] is False
    assert "not created by nsbridge" in warning_text(result)
    assert os.path.exists("/run/netns/" + foreign)


def test_bad_names_fail_before_anything_is_made(sandbox):
    good = sandbox.name("ok")
    result = sandbox.run("netns", name=[good, "bad/name"])
    assert result["failed"]
    assert "name[1]" in result["msg"] and "bad/name" in result["msg"]
    assert not os.path.exists("/run/netns/" + good)
    for bad in ("..", "."):
        assert sandbox.run("netns", name=[bad])["failed"]
    dup = sandbox.run("netns", name=[good, good])
    assert dup["failed"] and "name[1]" in dup["msg"]


def test_sysctls_of_a_router_namespace(sandbox):
    r1, r2 = sandbox.name("r1"), sandbox.name("r2")
    router = {"net.ipv4.ip_forward": 1, "net.ipv6.conf.all.forwarding": "1", "net.ipv6.conf.all.keep_addr_on_down": 1}
    check, real, _c, _again = converge_four_times(sandbox, "netns", name=[r1, r2], sysctls=router)
    assert real["namespaces"][0]["sysctls"] == {k: str(v) for k, v in router.items()}
    for ns in (r1, r2):
        assert sandbox.sh(ns, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
        assert sandbox.sh(ns, "sysctl", "-n", "net.ipv6.conf.all.forwarding").stdout.strip() == "1"
    assert sandbox.sh(None, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "0", "the host's stay"
    host_view = sandbox.sh(None, "sysctl", "-n", "net.ipv4.ip_forward").stdout
    changed = sandbox.run("netns", diff=True, name=[r1], sysctls={"net.ipv4.ip_forward": 0})
    assert changed["changed"] and changed["results"][0]["actions"] == ["set net.ipv4.ip_forward = 0 in %s" % r1]
    assert changed["diff"]["before"][r1]["sysctls"] == {"net.ipv4.ip_forward": "1"}
    assert sandbox.sh(r2, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    assert sandbox.sh(None, "sysctl", "-n", "net.ipv4.ip_forward").stdout == host_view
    for bad, says in (({"kernel.hostname": "x"}, "sysctls.kernel.hostname: 'kernel.hostname' is not a network sysctl"),
                      ({"net.ipv4.no_such_thing": 1}, "sysctls.net.ipv4.no_such_thing: sysctl net.ipv4.no_such_thing does not exist"),
                      ({"net.ipv4.ip_forward": [1]}, "must be a number or a string")):
        result = sandbox.run("netns", name=[r1], sysctls=bad)
        assert result["failed"] and says in result["msg"], result["msg"]
