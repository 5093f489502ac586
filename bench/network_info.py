"""Benchmark: network_info's core on a host with 200 containers and ~1,000 firewall rules.

Builds, inside a private "host" namespace, N containers on one dual-stack bridge, each with a
published port (both families) plus the network's masquerade and isolation, then times
``host_report`` (what network_info runs, with every namespace read) against what an operator
runs by hand to see the same things in the same run: ``ip -j`` for the host's links,
addresses and routes, ``ip -n NS -j addr`` and ``route`` for every namespace, and
``nft -j list ruleset``.  Prints medians and the ratio; the target (core under 100 ms) is
reported, never asserted.

    .venv/bin/python bench/network_info.py [-n 200] [--backend nftables|iptables]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import statistics
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.nsbridge.network.plugins.module_utils.kernel import netlink  # noqa: E402
from ansible_collections.nsbridge.network.plugins.module_utils.calls.apply import apply_calls  # noqa: E402
from ansible_collections.nsbridge.network.plugins.module_utils.day2.report import host_report  # noqa: E402


def calls(prefix, n, backend):
    names = ["%s%d" % (prefix, i) for i in range(n)]
    v4 = [str(ipaddress.ip_address("10.78.0.10") + i) for i in range(n)]
    v6 = [str(ipaddress.ip_address("fd00:78::10") + i) for i in range(n)]
    fw = {"backend": backend}
    return [
        {"module": "netns", "args": {"name": names}},
        {"module": "bridge", "args": {"bridges": [{"name": "br0", "addresses": ["10.78.0.1/16", "fd00:78::1/64"]},
                                                  {"name": "br1", "addresses": ["10.79.0.1/16"]}]}},
        {"module": "veth", "args": {"pairs": [
            {"name": "v%s%d" % (prefix[1:], i), "peer": "eth0", "peer_netns": names[i], "bridge": "br0",
             "peer_addresses": ["%s/16" % v4[i], "%s/64" % v6[i]], "peer_gateway": ["10.78.0.1", "fd00:78::1"]}
            for i in range(n)]}},
        {"module": "nat_masquerade", "args": dict(fw, networks=[{"source": "10.78.0.0/16", "bridge": "br0"},
                                                                {"source": "fd00:78::/64", "bridge": "br0"}])},
        {"module": "network_isolation", "args": dict(fw, networks=[{"bridge": "br0"}, {"bridge": "br1"}])},
        {"module": "port_publish", "args": dict(fw, ports=[
            {"host_port": 20000 + i, "destination": dest[i], "destination_port": 80, "bridge": "br0"}
            for dest in (v4, v6) for i in range(n // 2)])},
    ]


def by_hand(names):
    """What an operator runs to see the same: one process per look."""
    for cmd in (["ip", "-j", "-d", "link", "show"], ["ip", "-j", "addr"], ["ip", "-j", "route"],
                ["ip", "-j", "-6", "route"], ["nft", "-j", "list", "ruleset"]):
        subprocess.run(cmd, check=True, capture_output=True)
    for name in names:
        for what in (["addr"], ["route"], ["-6", "route"]):
            subprocess.run(["ip", "-n", name, "-j"] + what, check=True, capture_output=True)


def median_of(runs, fn, *args):
    times = []
    for _attempt in range(runs):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="containers")
    parser.add_argument("--backend", default="nftables", choices=["nftables", "iptables"])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    prefix = "b" + uuid.uuid4().hex[:4]
    host = prefix + "host"
    netlink.Kernel.create_netns(host)
    try:
        with netlink.entered(host):
            result = apply_calls(calls(prefix, args.n, args.backend), check_mode=False)
            assert result["changed"]
            names = [n for n in netlink.list_netns() if n.startswith(prefix) and n != host]
            report = host_report()
            rules = sum(item["rules"] for kind in ("published", "masquerades", "isolation") for item in report[kind])
            core = median_of(args.runs, host_report)
            hand = median_of(max(1, args.runs // 3), by_hand, names)
    finally:
        for name in netlink.list_netns():
            if name.startswith(prefix) and name != host:
                subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "delete", host], capture_output=True, check=False)
    print("network_info: %d containers, %d published ports, %d of nsbridge's rules (%s)"
          % (len(report["containers"]), len(report["published"]), rules, args.backend))
    print("  module core (host_report), median of %d   %7.1f ms   (target < 100 ms)" % (args.runs, core * 1000))
    print("  the same by hand (ip -j per namespace, nft -j)  %7.1f ms" % (hand * 1000))
    print("  ratio core / by hand = %.3f" % (core / hand))


if __name__ == "__main__":
    main()
