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
