"""Remembered no-op plans of the firewall modules (module_utils/fw_memo) on the real kernel.

A remembered plan may answer only while everything it was made from is as it was; each test
changes one such thing (or something the plan never looked at) and checks which way the next
call went and that its answer is the one a plan from scratch gives.
"""

import os
import subprocess
from unittest import mock

import pytest

from ansible_collections.nsbridge.network.plugins.module_utils import fw_memo, netlink
from ansible_collections.nsbridge.network.plugins.module_utils.fw_iptables import IptablesBackend
from ansible_collections.nsbridge.network.plugins.module_utils.fw_plan import STATE_DIR, netns_id

BACKENDS = ["iptables", "nftables"]


def ports(backend, count=4, first=9100):
    return {"backend": backend, "ports": [{"host_port": first + i, "destination": "10.0.0.%d" % (2 + i)}
                                          for i in range(count)]}


def run_counting(sandbox, module, **args):
    """Run ``module``; (result, how many times it planned from scratch)."""
    with mock.patch.object(fw_memo, "_recorded", wraps=fw_memo._recorded) as planned:
        result = sandbox.run(module, **args)
    assert not result.get("failed"), result
    return result, planned.call_count


def memo_files(sandbox):
    with netlink.entered(sandbox.host):
        cookie = netns_id(None)
    return sorted(n for n in os.listdir(STATE_DIR) if n.startswith("memo-%s-" % cookie))


def forget_memos(sandbox):
    for name in memo_files(sandbox):
        os.unlink(os.path.join(STATE_DIR, name))


def answer(result):
    return {k: v for k, v in result.items() if k not in ("invocation",)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_remembered_answer_is_the_answer_of_a_plan_from_scratch(sandbox, backend):
    args = ports(backend)
    first, planned = run_counting(sandbox, "port_publish", **args)
    assert first["changed"] and planned == 2, "planned, committed, then planned again to verify"
    assert [n.split("-", 2)[2] for n in memo_files(sandbox)] == ["firewall", "port_publish-run"]

    remembered, planned = run_counting(sandbox, "port_publish", diff=True, **args)
    assert planned == 0, "a converged host answered from the memo"
    forget_memos(sandbox)
    scratch, planned = run_counting(sandbox, "port_publish", diff=True, **args)
    assert planned == 1
    assert answer(remembered) == answer(scratch)
    assert remembered["changed"] is False and remembered["diff"] == {"before": {}, "after": {}}

    # other arguments, other plan
    other, planned = run_counting(sandbox, "port_publish", **ports(backend, count=5))
    assert planned == 2 and other["changed"]

    # once nothing of ours is left, nothing is remembered
    absent = {"backend": backend, "state": "absent", "ports": [{"host_port": p["host_port"]}
                                                               for p in ports(backend, count=5)["ports"]]}
    sandbox.run("port_publish", **absent)
    assert sandbox.run("port_publish", **absent)["changed"] is False
    assert memo_files(sandbox) == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_our_rule_deleted_or_a_sysctl_reset_is_seen_and_repaired(sandbox, backend):
    args = ports(backend)
    sandbox.run("port_publish", **args)
    if backend == "iptables":
        sandbox.sh(None, "iptables-legacy", "-t", "nat", "-F", "NSBRIDGE-PREROUTING")
    else:
        sandbox.sh(None, "nft", "flush", "chain", "ip", "nsbridge", "prerouting-local")
    repaired, planned = run_counting(sandbox, "port_publish", **args)
    assert repaired["changed"] and planned == 2
    assert all(r["changed"] and len(r["actions"]) == 1 for r in repaired["results"]), "one DNAT rule each"
    again, planned = run_counting(sandbox, "port_publish", **args)
    assert again["changed"] is False and planned == 0

    # forwarding is something the plan read (a sysctl), not a rule: turned off by hand, it is noticed
    sandbox.sh(None, "sysctl", "-qw", "net.ipv4.ip_forward=0")
    fixed, planned = run_counting(sandbox, "port_publish", **args)
    assert fixed["changed"] and planned == 2
    assert sandbox.sh(None, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    again, planned = run_counting(sandbox, "port_publish", **args)
    assert again["changed"] is False and planned == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_changes_the_plan_never_looked_at_keep_the_memo(sandbox, backend):
    args = ports(backend)
    sandbox.run("port_publish", **args)
    # a foreign rule, and another module's rules in the same chains
    tool = "iptables-legacy" if backend == "iptables" else "iptables-nft"
    sandbox.sh(None, tool, "-A", "FORWARD", "-s", "192.0.2.0/24", "-j", "DROP")
    sandbox.run("nat_masquerade", backend=backend, networks=[{"source": "10.9.0.0/24", "bridge": "br9"}])
    result, planned = run_counting(sandbox, "port_publish", **args)
    assert result["changed"] is False and planned == 0
    # another call of the same module publishes more ports: the first call's plan checked every
    # published port for clashes, so it is made again (once), and finds nothing to do
    sandbox.run("port_publish", backend=backend, ports=[{"host_port": 9500, "destination": "10.0.0.50"}])
    result, planned = run_counting(sandbox, "port_publish", **args)
    assert result["changed"] is False and planned == 1
    result, planned = run_counting(sandbox, "port_publish", **args)
    assert result["changed"] is False and planned == 0
    # check mode keeps its own memo; it answers the same
    check, planned = run_counting(sandbox, "port_publish", check=True, **args)
    assert check["changed"] is False and planned == 1
    check, planned = run_counting(sandbox, "port_publish", check=True, **args)
    assert check["changed"] is False and planned == 0


def test_iptables_fingerprint_ignores_counters_but_not_rules(sandbox):
    sandbox.run("port_publish", backend="iptables", ports=[{"host_port": 9100, "destination": "10.0.0.2"}])

    def fingerprint():
        with netlink.entered(sandbox.host):
            return IptablesBackend(None).fingerprint()

    def counters():
        return sandbox.sh(None, "iptables-legacy-save", "-c", "-t", "nat").stdout

    before, counted = fingerprint(), counters()
    # traffic to a local address passes nat OUTPUT's jump to our chain: its counters move
    sandbox.sh(None, "ip", "link", "set", "lo", "up")
    subprocess.run(["ip", "netns", "exec", sandbox.host, "ping", "-c", "2", "-W", "1", "-q", "127.0.0.1"],
                   capture_output=True)
    assert counters() != counted, "the test needs counters that moved"
    assert fingerprint() == before
    sandbox.sh(None, "iptables-legacy", "-t", "nat", "-A", "OUTPUT", "-d", "192.0.2.1", "-j", "RETURN")
    assert fingerprint() != before
