"""Jumps and dispatch of nsbridge's chains, deleted or flushed by hand, are seen and put back.

The firewall modules observe not only their rules but the path packets take to them: the jump
from each built-in (or base) chain, iptables-nft's FORWARD accept, and the dispatch to the
per-port buckets.  A run that finds any of it missing reports changed (the item ``jumps``) and
puts it back; traffic works again.  Both backends, both families.
"""

import json
import os
import subprocess

import pytest

from conftest import converge_four_times

DATA = os.path.join(os.path.dirname(__file__), "data")


@pytest.fixture(params=["iptables", "nftables"])
def published(request, sandbox):
    backend = request.param
    kind = "legacy" if backend == "iptables" else "nft"
    for family in ("4", "6"):
        with open(os.path.join(DATA, "docker_rules.v%s" % family)) as rules:
            subprocess.run(["ip", "netns", "exec", sandbox.host, "ip%stables-%s-restore" % ("6" if family == "6" else "",
                                                                                            kind)],
                           stdin=rules, check=True)
    c1, outside = sandbox.name("c1"), sandbox.name("out")
    sandbox.run("netns", name=[c1, outside])
    sandbox.run("bridge", name="br0", addresses=["10.10.0.1/24", "fd00:10::1/64"])
    sandbox.run("veth", pairs=[
        {"name": "vc1", "peer": "eth0", "peer_netns": c1, "bridge": "br0",
         "peer_addresses": ["10.10.0.2/24", "fd00:10::2/64"], "peer_gateway": ["10.10.0.1", "fd00:10::1"]},
        {"name": "uplink", "peer": "eth0", "peer_netns": outside,
         "addresses": ["203.0.113.1/24", "2001:db8:ff::1/64"], "peer_addresses": ["203.0.113.2/24", "2001:db8:ff::2/64"]},
    ])
    sandbox.serve(c1, "c1", 80)
    sandbox.args = {"backend": backend, "ports": [
        {"host_port": 8080, "destination": "10.10.0.2", "destination_port": 80, "bridge": "br0"},
        {"host_port": 8080, "destination": "fd00:10::2", "destination_port": 80, "bridge": "br0"}]}
    converge_four_times(sandbox, "port_publish", **sandbox.args)
    sandbox.backend, sandbox.outside = backend, outside
    return sandbox


def reachable(box):
    return (box.fetch(box.outside, "203.0.113.1", 8080) == "c1 203.0.113.2",
            box.fetch(box.outside, "2001:db8:ff::1", 8080) == "c1 2001:db8:ff::2")


def repaired(box, what):
    assert reachable(box) == (False, False), "%s: the damage did not break the published port" % what
    check = box.run("port_publish", check=True, **box.args)
    assert check["changed"], "%s: check mode did not see the damage" % what
    fixed = box.run("port_publish", **box.args)
    jumps = [r for r in fixed["results"] if r["item"] == "jumps"]
    assert fixed["changed"] and jumps and jumps[0]["changed"], (what, fixed["results"])
    assert reachable(box) == (True, True), "%s: not repaired" % what
    assert box.run("port_publish", **box.args)["changed"] is False


def test_a_flushed_forward_chain_and_deleted_nat_jumps_are_put_back(published):
    box = published
    assert reachable(box) == (True, True)
    if box.backend == "iptables":
        for tool in ("iptables-legacy", "ip6tables-legacy"):
            box.sh(None, tool, "-F", "FORWARD")
    else:
        # iptables-nft's FORWARD (policy DROP, from Docker's rules): our one accept rule there goes
        for tool in ("iptables-nft", "ip6tables-nft"):
            box.sh(None, tool, "-F", "FORWARD")
    repaired(box, "FORWARD flushed")

    if box.backend == "iptables":
        for tool in ("iptables-legacy", "ip6tables-legacy"):
            box.sh(None, tool, "-t", "nat", "-D", "PREROUTING", "-m", "addrtype", "--dst-type", "LOCAL", "-m",
                   "comment", "--comment", "nsbridge jump", "-j", "NSBRIDGE-PREROUTING")
    else:
        for family in ("ip", "ip6"):
            listing = json.loads(box.sh(None, "nft", "-j", "-a", "list", "chain", family, "nsbridge",
                                        "prerouting").stdout)
            handle = next(e["rule"]["handle"] for e in listing["nftables"] if "rule" in e)
            box.sh(None, "nft", "delete", "rule", family, "nsbridge", "prerouting", "handle", str(handle))
    repaired(box, "prerouting jump deleted")


def test_a_deleted_dispatch_to_the_buckets_is_put_back(published):
    box = published
    if box.backend == "iptables":
        for tool in ("iptables-legacy", "ip6tables-legacy"):
            box.sh(None, tool, "-t", "nat", "-F", "NSBRIDGE-P0")
    else:
        for family in ("ip", "ip6"):
            box.sh(None, "nft", "flush", "map", family, "nsbridge", "prerouting-local/0")
    repaired(box, "dispatch emptied")
