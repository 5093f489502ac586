"""A module killed with SIGKILL at any point of a run leaves a host the next run converges.

The kill is the kernel's, not the product's: strace injects SIGKILL at the Nth call of one system
call of the module process (netlink sends for links, the iptables table replace, the bind mount
that names a namespace, the pause after a workload starts), for each N until a run gets through.
After every kill: the next run succeeds, the one after changes nothing, and nothing is duplicated
or orphaned (every link of ours is wanted, every rule once, no bare /run/netns file, one process
per workload); then ``state: absent`` takes the host back for the next N.
"""

import json
import os
import subprocess
import sys

import pytest

from conftest import HELPERS

from ansible_collections.nsbridge.network.plugins.module_utils.firewall.rules import parse_comment
from ansible_collections.nsbridge.network.plugins.module_utils.kernel.netlink import GROUP, netns_exists, netns_path
from ansible_collections.nsbridge.network.plugins.module_utils.planners.workload import marked_groups

MAX_POINTS = 16  # kill points tried per case (spread over the run's calls)


def _strace(follow):
    # -f follows the module's threads; not for workloads, whose started process must not be traced
    return ["strace", "-f", "-qq"] if follow else ["strace", "-qq"]


def _module(box, module, args):
    return ["ip", "netns", "exec", box.host, sys.executable, os.path.join(HELPERS, "run_module.py"), module,
            json.dumps(args)]


def killed_at(box, module, args, syscall, n, follow=True):
    """Run ``module`` in a process that strace kills at the ``n``th ``syscall``; True if it was killed."""
    cmd = _strace(follow) + ["-o", "/dev/null", "-e", "trace=%s" % syscall,
                             "-e", "inject=%s:signal=KILL:when=%d" % (syscall, n)] + _module(box, module, args)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    return proc.returncode != 0 and not proc.stdout.strip()


def calls_of(box, module, args, syscall, follow=True):
    """How many ``syscall`` calls one full run makes (a run on a host where it has work to do)."""
    cmd = _strace(follow) + ["-c", "-U", "calls", "-e", "trace=%s" % syscall] + _module(box, module, args)
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False).stderr
    counts = [int(line.split()[0]) for line in out.splitlines() if line.strip() and line.split()[0].isdigit()]
    return sum(counts)


def points(total):
    if total <= MAX_POINTS:
        return list(range(1, total + 1))
    return sorted({1 + round(i * (total - 1) / (MAX_POINTS - 1)) for i in range(MAX_POINTS)})


def our_links(box, netns=None):
    return sorted(n for n, l in box.links(netns).items() if n != "lo"
                  and (l.get("group") == GROUP or (l.get("alias") or "").startswith("nsbridge")))


def crash_everywhere(box, module, args, syscall, check, undo=None, follow=True):
    """Kill ``module`` at every sampled ``syscall``; after each kill the module converges."""
    undo = undo or dict(args, state="absent")
    total = calls_of(box, module, args, syscall, follow)
    assert total > 0
    box.run(module, **undo)
    killed = 0
    for n in points(total):
        if not killed_at(box, module, args, syscall, n, follow):
            box.run(module, **undo)  # got through: back to where the next point starts
            continue
        killed += 1
        repaired = box.run(module, **args)
        assert not repaired.get("failed"), (n, repaired)
        again = box.run(module, **args)
        assert again["changed"] is False, (n, again["results"])
        check(n)
        gone = box.run(module, **undo)
        assert not gone.get("failed"), (n, gone)
    assert killed >= min(3, total - 1), "the kill points did not hit the run (%d of %d)" % (killed, total)


def test_links_and_namespaces(sandbox):
    c1, c2 = sandbox.name("c1"), sandbox.name("c2")
    names = {"name": [c1, c2]}

    def no_bare_files(n):
        for name in (c1, c2):
            assert netns_exists(name), "killed at mount %d: %s is not a namespace" % (n, name)
    crash_everywhere(sandbox, "netns", names, "mount", no_bare_files)
    assert not any(os.path.exists(netns_path(n)) for n in (c1, c2))

    sandbox.run("netns", **names)
    sandbox.run("bridge", name="br0", addresses=["10.10.0.1/24", "fd00:10::1/64"])
    pairs = {"pairs": [{"name": "v" + c[-2:], "peer": "eth0", "peer_netns": c, "bridge": "br0",
                        "peer_addresses": ["10.10.0.%d/24" % (2 + i), "fd00:10::%d/64" % (2 + i)],
                        "peer_gateway": ["10.10.0.1", "fd00:10::1"]} for i, c in enumerate((c1, c2))]}

    def exactly_ours(n):
        assert our_links(sandbox) == ["br0", "vc1", "vc2"], "killed at send %d" % n
        for c in (c1, c2):
            assert our_links(sandbox, c) == ["eth0"]
        assert sandbox.ping(c1, "fd00:10::3") and sandbox.ping(c2, "10.10.0.2")
    crash_everywhere(sandbox, "veth", pairs, "sendto", exactly_ours)
    assert our_links(sandbox) == ["br0"]


@pytest.mark.parametrize("backend,syscall", [("iptables", "setsockopt"), ("nftables", "sendmsg")])
def test_firewall_commits(sandbox, backend, syscall):
    args = {"backend": backend, "ports": [
        {"host_port": 8080 + i, "destination": dest, "destination_port": 80}
        for i, dest in enumerate(("10.10.0.2", "10.10.0.3", "fd00:10::2", "fd00:10::3"))]}

    def each_rule_once(n):
        if backend == "iptables":
            text = "".join(sandbox.sh(None, tool).stdout for tool in ("iptables-legacy-save", "ip6tables-legacy-save"))
            comments = [l.split('--comment "')[1].split('"')[0] for l in text.splitlines() if '--comment "' in l]
        else:
            ruleset = json.loads(sandbox.sh(None, "nft", "-j", "list", "ruleset").stdout)["nftables"]
            comments = [e["rule"].get("comment", "") for e in ruleset if "rule" in e]
        items = [c for c in comments if parse_comment(c)]
        assert len(items) == len(set(items)) == 4 * 4, "killed at %d: %d rules" % (n, len(items))
    crash_everywhere(sandbox, "port_publish", args, syscall, each_rule_once,
                     undo={"backend": backend, "ports": [{"host_port": 8080 + i, "state": "absent"} for i in range(4)]})


def test_workload_started_but_not_recorded(sandbox):
    c1 = sandbox.name("c1")
    sandbox.run("netns", name=[c1])
    name = sandbox.name("w1")
    args = {"name": name, "netns": c1, "command": "sleep 300"}

    def one_process(n):
        assert len(marked_groups().get(name, ())) == 1, "killed at %d: not exactly one %s" % (n, name)
    # the pause right after the start: killed there, the process runs and no record says so
    crash_everywhere(sandbox, "workload", args, "clock_nanosleep", one_process, undo={"name": name, "state": "absent"},
                     follow=False)
    assert name not in marked_groups()
