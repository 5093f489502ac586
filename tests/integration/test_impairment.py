"""nsbridge.network.impairment on the real kernel: rate (tbf), loss (netem or nftables), netem-only
values and what a kernel without netem says, in place changes, removal, foreign qdiscs."""

import os
import re
import subprocess
import sys


from conftest import HELPERS, converge_four_times

from ansible_collections.nsbridge.network.plugins.module_utils.kernel.features import qdisc_available

TRANSFER = os.path.join(HELPERS, "transfer.py")


def _pair(sandbox, mtu=None):
    """Two nodes joined by one veth: r1 10.1.0.1 / fd00:1::1 -- r2 10.1.0.2 / fd00:1::2."""
    r1, r2 = sandbox.name("r1"), sandbox.name("r2")
    sandbox.run("netns", name=[r1, r2])
    extra = {"mtu": mtu} if mtu else {}
    assert not sandbox.run("veth", name="eth1", netns=r1, peer="eth1", peer_netns=r2,
                           addresses=["10.1.0.1/30", "fd00:1::1/64"], peer_addresses=["10.1.0.2/30", "fd00:1::2/64"],
                           **extra).get("failed")
    return r1, r2


def _seconds(sandbox, src, dst_ns, address, size, port=5201):
    sandbox.start(dst_ns, sys.executable, TRANSFER, "sink", str(port))
    out = sandbox.sh(src, sys.executable, TRANSFER, "send", address, str(port), str(size), timeout=60)
    return float(out.stdout.strip())


def _arrived(sandbox, src, dst_ns, address, n=500, port=5301):
    """Share (percent) of n UDP datagrams sent from ``src`` that reach ``dst_ns``: one direction only."""
    counter = sandbox.start(dst_ns, sys.executable, TRANSFER, "count", str(port))
    sandbox.sh(src, sys.executable, TRANSFER, "blast", address, str(port), str(n), timeout=60)
    return 100.0 * int(counter.stdout.readline()) / n


def test_rate_shapes_one_direction_and_changes_in_place(sandbox):
    r1, r2 = _pair(sandbox)
    check, real, _c, again = converge_four_times(sandbox, "impairment", netns=r1, dev="eth1", rate="8mbit")
    assert check["changed"] and real["impairments"][0]["impairment"] == "rate 8mbit" and not again["changed"]
    assert "tbf 6e62: root" in sandbox.sh(r1, "tc", "qdisc", "show", "dev", "eth1").stdout
    # 1 MB at 8 Mbit/s takes one second one way; the other way is not shaped
    there = _seconds(sandbox, r1, r2, "10.1.0.2", 1000000)
    back = _seconds(sandbox, r2, r1, "10.1.0.1", 1000000, port=5202)
    assert 0.75 < there < 2.5, there
    assert back < 0.4, back
    index = sandbox.links(r1)["eth1"]["index"]
    faster = sandbox.run("impairment", diff=True, netns=r1, dev="eth1", rate="32mbit")
    assert faster["changed"] and faster["results"][0]["actions"] == ["shape eth1 in %s to 32mbit (tbf)" % r1]
    assert sandbox.links(r1)["eth1"]["index"] == index, "the link stays"
    assert _seconds(sandbox, r1, r2, "fd00:1::2", 1000000, port=5203) < 0.6, "IPv6 too, at the new rate"


def test_loss_drops_that_share_in_one_direction(sandbox):
    r1, r2 = _pair(sandbox)
    result = sandbox.run("impairment", netns=r2, dev="eth1", loss="30%")
    assert result["changed"], result
    by = result["impairments"][0]["loss_by"]
    assert by == ("netem" if qdisc_available("netem") else "nftables")
    # what r2 sends loses about 30%; what r1 sends arrives whole
    assert 55 <= _arrived(sandbox, r2, r1, "10.1.0.1") <= 85
    assert _arrived(sandbox, r1, r2, "10.1.0.2", port=5302) == 100
    changed = sandbox.run("impairment", netns=r2, dev="eth1", loss="5%")
    assert changed["changed"] and sandbox.links(r2)["eth1"]["up"]
    assert 85 <= _arrived(sandbox, r2, r1, "fd00:1::1", port=5303) <= 100, "IPv6 too, at the new share"
    assert sandbox.run("impairment", netns=r2, dev="eth1", loss="5%")["changed"] is False
    gone = sandbox.run("impairment", netns=r2, dev="eth1", state="absent")
    assert gone["changed"] and _arrived(sandbox, r2, r1, "10.1.0.1", n=200, port=5304) == 100
    assert sandbox.sh(r2, "nft", "list", "ruleset").stdout.strip() == ""
    assert "6e62" not in sandbox.sh(r2, "tc", "qdisc", "show", "dev", "eth1").stdout


def test_netem_values_need_netem(sandbox):
    """delay and friends: measured where the kernel has netem; elsewhere an error naming the value and
    the missing feature, before anything of the call (or of an apply) changes."""
    r1, r2 = _pair(sandbox)
    if qdisc_available("netem"):
        result = sandbox.run("impairment", netns=r1, dev="eth1", delay="40ms", jitter="1ms", rate="64mbit")
        assert result["changed"], result
        rtt = sandbox.sh(r1, "ping", "-c", "3", "-i", "0.2", "-q", "10.1.0.2").stdout
        assert float(re.search(r"= [\d.]+/([\d.]+)/", rtt).group(1)) >= 35
        return
    before = sandbox.sh(r1, "tc", "qdisc", "show").stdout
    failed = sandbox.run("impairment", impairments=[{"netns": r1, "dev": "eth1", "rate": "8mbit"},
                                                    {"netns": r2, "dev": "eth1", "delay": "10ms", "label": "r2 -> r1"}])
    assert failed["failed"] and "impairments[1].delay" in failed["msg"]
    assert "r2 -> r1: delay 10ms needs the kernel's netem" in failed["msg"] and "sch_netem" in failed["msg"]
    assert sandbox.sh(r1, "tc", "qdisc", "show").stdout == before, "the rate of the first item was not applied"
    # through apply: the first call would be applied before the second, yet nothing is
    applied = sandbox.run("apply", calls=[
        {"module": "netns", "args": {"name": [sandbox.name("r3")]}},
        {"module": "impairment", "args": {"netns": r1, "dev": "eth1", "duplicate": "1%"}}])
    assert applied["failed"] and "calls[1]" in applied["msg"] and "duplicate 1%" in applied["msg"]
    assert sandbox.name("r3") not in sandbox.namespaces()
    for bad, says in (({"rate": "8 furlongs"}, "rate"), ({"loss": "120%"}, "loss"), ({"jitter": "2ms"}, "jitter"),
                      ({"reorder": "5%"}, "reorder")):
        result = sandbox.run("impairment", netns=r1, dev="eth1", **bad)
        assert result["failed"] and result["msg"].startswith("nsbridge.network.impairment: %s:" % says), result["msg"]


def test_foreign_qdisc_is_left_alone(sandbox):
    r1, _r2 = _pair(sandbox)
    sandbox.sh(r1, "tc", "qdisc", "add", "dev", "eth1", "root", "handle", "1:", "tbf", "rate", "1mbit", "burst",
               "16kb", "latency", "50ms")
    result = sandbox.run("impairment", netns=r1, dev="eth1", rate="8mbit")
    assert result["failed"] and "root qdisc nsbridge did not make (handle 1:)" in result["msg"]
    assert sandbox.run("impairment", netns=r1, dev="eth1", state="absent")["changed"] is False
    assert "tbf 1: root" in sandbox.sh(r1, "tc", "qdisc", "show", "dev", "eth1").stdout
    missing = sandbox.run("impairment", netns=r1, dev="eth9", rate="8mbit")
    assert missing["failed"] and "interface 'eth9' does not exist in %s" % r1 in missing["msg"]


def test_probe_touches_nothing():
    """The netem question is asked in a namespace of its own, which goes with the probe."""
    before = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert qdisc_available("tbf") is True
    assert subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout == before
