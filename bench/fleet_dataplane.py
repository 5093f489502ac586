"""Benchmark: one fleet host's data plane with 999 peers, routed mode and vxlan mode.

In a private namespace made for the run: routed mode is 999 routes (proto 78) via the peers'
underlay addresses; vxlan mode is the overlay device with a permanent neighbour and an FDB entry
per peer, and 999 routes through it.  nsbridge's modules (first apply, then a no-op re-run)
against the same entries written with ``ip -batch`` / ``bridge -batch`` in another namespace, in
the same run.  Targets (first apply within 2x of the batch commands; no-op under 0.3 s) are
reported, never asserted.

    .venv/bin/python bench/fleet_dataplane.py [-n 999] [--rounds 5]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.nsbridge.network.plugins.module_utils.calls.apply import apply_calls  # noqa: E402
from ansible_collections.nsbridge.network.plugins.module_utils.kernel import netlink  # noqa: E402


def peers(n):
    out = []
    for i in range(n):
        digest = hashlib.sha256(b"peer%d" % i).hexdigest()
        out.append({"underlay": "192.168.%d.%d" % (1 + i // 250, 1 + i % 250),
                    "mac": "02:6e:" + ":".join(digest[j:j + 2] for j in range(0, 8, 2)),
                    "subnet": "10.%d.%d.0/24" % (1 + i // 250, i % 250), "vtep": "10.%d.%d.0" % (1 + i // 250, i % 250)})
    return out


def sh(ns, *cmd, stdin=None):
    subprocess.run(["ip", "netns", "exec", ns] + list(cmd), input=stdin, text=True, check=True,
                   capture_output=True)


def wire(ns):
    """The host's underlay: a veth whose address network holds every peer's underlay address."""
    sh(ns, "ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1")
    sh(ns, "ip", "addr", "add", "192.168.0.1/16", "dev", "up0")
    sh(ns, "ip", "link", "set", "up0", "up")
    sh(ns, "ip", "link", "set", "up1", "up")


def calls(mode, entries):
    if mode == "routed":
        return [{"module": "route", "args": {"purge": True, "routes": [{"dst": e["subnet"], "via": e["underlay"]}
                                                                       for e in entries]}}]
    return [{"module": "vxlan", "args": {"name": "nsb-vx", "vni": 4242, "local": "192.168.0.1", "mtu": 1450,
                                         "mac": "02:6e:00:00:00:01", "addresses": ["10.0.0.0/32"],
                                         "peers": [{"underlay": e["underlay"], "mac": e["mac"], "addresses": [e["vtep"]]}
                                                   for e in entries]}},
            {"module": "route", "args": {"purge": True, "routes": [{"dst": e["subnet"], "via": e["vtep"], "dev": "nsb-vx",
                                                                    "onlink": True} for e in entries]}}]


def batch(ns, mode, entries):
    if mode == "routed":
        lines = ["route add %s via %s proto 78" % (e["subnet"], e["underlay"]) for e in entries]
        sh(ns, "ip", "-batch", "-", stdin="\n".join(lines) + "\n")
        return
    sh(ns, "ip", "link", "add", "nsb-vx", "address", "02:6e:00:00:00:01", "mtu", "1450", "type", "vxlan", "id",
       "4242", "local", "192.168.0.1", "dstport", "4789", "nolearning")
    sh(ns, "ip", "addr", "add", "10.0.0.0/32", "dev", "nsb-vx")
    sh(ns, "ip", "link", "set", "nsb-vx", "up")
    lines = ["neigh add %s lladdr %s dev nsb-vx nud permanent" % (e["vtep"], e["mac"]) for e in entries]
    lines += ["route add %s via %s dev nsb-vx onlink proto 78" % (e["subnet"], e["vtep"]) for e in entries]
    sh(ns, "ip", "-batch", "-", stdin="\n".join(lines) + "\n")
    fdb = ["fdb append %s dev nsb-vx dst %s" % (e["mac"], e["underlay"]) for e in entries]
    sh(ns, "bridge", "-batch", "-", stdin="\n".join(fdb) + "\n")


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def measure(mode, entries, tag):
    """One round in fresh namespaces: (batch, first apply, no-op re-run) seconds."""
    ours, theirs = "fd%s%so" % (mode[0], tag), "fd%s%sb" % (mode[0], tag)
    for ns in (ours, theirs):
        netlink.Kernel.create_netns(ns)
        wire(ns)
    try:
        with tempfile.TemporaryDirectory():
            base = timed(lambda: batch(theirs, mode, entries))[0]
            with netlink.entered(ours):
                # what a module run pays once whatever its call holds (AnsibleModule, the planners'
                # imports) is paid here, by the same calls for one peer in check mode: what is timed is
                # the work for the peers (the batch side still includes starting ip/bridge, ~10 ms)
                apply_calls(calls(mode, entries[:1]), check_mode=True)
                first, result = timed(lambda: apply_calls(calls(mode, entries), check_mode=False))
                noop, again = timed(lambda: apply_calls(calls(mode, entries), check_mode=False))
        assert result["changed"] and not again["changed"], "the re-run changed something"
    finally:
        for ns in (ours, theirs):
            subprocess.run(["ip", "netns", "delete", ns], check=False)
    return base, first, noop


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=999, help="peers (default 999)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each in fresh namespaces (medians)")
    args = parser.parse_args()
    entries = peers(args.n)
    print("fleet data plane: one host, %d peers (routes; vxlan: + neighbour and FDB entries), medians of %d rounds"
          % (args.n, args.rounds))
    for mode in ("routed", "vxlan"):
        rounds = [measure(mode, entries, uuid.uuid4().hex[:4]) for _round in range(args.rounds)]
        base, first, noop = (statistics.median(r[i] for r in rounds) for i in range(3))
        verdicts = ("met" if first <= 2 * base else "MISSED", "met" if noop < 0.3 else "MISSED")
        figures = (mode, base, first, first / base, verdicts[0], noop, verdicts[1])
        print("  %s: ip/bridge -batch %.3f s; nsbridge first apply %.3f s (x%.2f of the batch, target <= 2: %s); "
              "no-op re-run %.3f s (target < 0.3 s: %s)" % figures)


if __name__ == "__main__":
    main()
