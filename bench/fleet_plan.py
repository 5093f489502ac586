"""Benchmark: the fleet role's plan on the controller, for fleets of 10 to 5,000 hosts (no host touched).

Now: the fleet is computed once for the play (fleet_map, with the names of every host's containers),
then each host keeps its summary as a fact (fleet_host part=summary: O(1)) and its two tasks take
their O(hosts) arguments from the map when they run (fleet_host part=calls: its routes or peers;
add_shared_names: the other hosts' containers' names), kept by no one.  Baseline, in the same run:
what every host computed before -- the whole fleet's plan, every host's routes and peers
(fleet_plan without ``host``), kept whole by every host.  Prints per-host time, fact size and task
arguments, and the play's planning time (map + every host's part, one process: the play spreads the
parts over its forks); targets (per-host fact at 1,000 hosts under 300 KB, the play's planning
for 1,000 hosts under 10 s) are reported, never asserted.

    .venv/bin/python bench/fleet_plan.py [--sizes 10,100,1000,5000] [--mode vxlan] [--old-up-to 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.nsbridge.network.plugins.filter.fleet_plan import fleet_host, fleet_map  # noqa: E402
from ansible_collections.nsbridge.network.plugins.filter.network_plan import add_shared_names  # noqa: E402
from ansible_collections.nsbridge.network.plugins.module_utils.roles import fleet  # noqa: E402


def inventory(n):
    """hostvars of a simulated fleet: n hosts, each with its underlay and one container on the fleet."""
    return {"h%05d" % i: {"nsbridge_fleet_underlay": "172.%d.%d.%d" % (16 + i // 65025, (i // 255) % 255, 1 + i % 255),
                          "nsbridge_containers": [{"name": "app%05d" % i, "network": "fleet",
                                                   "command": "sleep 1d"}]}
            for i in range(n)}


# the containers role's names call of a host with one container on the fleet network (its own entry)
CONTAINER_CALLS = [{"module": "names", "args": {"namespaces": [{"netns": "app", "hosts": [], "include": ["fleet"]}],
                                                "shared": {"fleet": [{"address": "10.0.0.2", "names": ["app"]}]}}}]


def settings(mode):
    return {"mode": mode, "state": "present", "cidr": "10.0.0.0/8", "prefix": 24, "cidr6": "", "prefix6": 64,
            "network": "fleet", "bridge": "nsb-fleet", "vxlan_device": "nsb-vx", "vni": 4242, "vxlan_port": 4789,
            "mtu": 1450, "names": True}


def measure_new(n, mode):
    hostvars = inventory(n)
    hosts = sorted(hostvars)
    start = time.perf_counter()
    fmap = fleet_map(hosts, hostvars, settings(mode))
    shared = time.perf_counter() - start
    sizes, args, parts = [], [], 0.0
    for host in hosts:
        # what the host keeps (the summary, a fact), and what its tasks take from the map and apply: its
        # module calls, the containers' calls with the fleet's names (neither kept)
        start = time.perf_counter()
        summary = fleet_host(fmap, host, settings(mode), None, "summary")
        calls = fleet_host(fmap, host, settings(mode), None, "calls")
        names = add_shared_names(CONTAINER_CALLS, fmap["shared_names"], host)
        parts += time.perf_counter() - start
        sizes.append(len(json.dumps(summary)))
        args.append(len(json.dumps(calls)) + len(json.dumps(names)))
    return {"shared": shared, "per_host": parts / n, "play": shared + parts, "fact": max(sizes), "args": max(args),
            "map": len(json.dumps(fmap))}


def measure_old(n):
    hostvars = inventory(n)
    hosts = sorted(hostvars)
    start = time.perf_counter()
    whole = fleet.fleet_plan(hosts, hostvars, "10.0.0.0/8", 24)
    per_host = time.perf_counter() - start  # every host computed all of it
    return {"per_host": per_host, "play": per_host * n, "fact": len(json.dumps(whole))}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,1000,5000")
    parser.add_argument("--mode", default="vxlan", choices=["routed", "vxlan"])
    parser.add_argument("--old-up-to", type=int, default=1000,
                        help="run the baseline only up to this size (its facts grow as n^2)")
    args = parser.parse_args()
    print("fleet plan (controller only), %s mode: now = once per play, each host keeps its summary and its tasks "
          "take their arguments from it; before = every host the whole plan" % args.mode)
    print("  %6s  %-9s %12s %12s %14s %16s %16s" % ("hosts", "", "per host", "play", "fact per host", "shared (once)",
                                                    "task args/host"))
    for n in [int(s) for s in args.sizes.split(",")]:
        new = measure_new(n, args.mode)
        print("  %6d  %-9s %9.2f ms %10.2f s %11.1f KB %9.2f s %4.0f KB %11.0f KB" % (
            n, "now", new["per_host"] * 1e3, new["play"], new["fact"] / 1024, new["shared"], new["map"] / 1024,
            new["args"] / 1024))
        if n <= args.old_up_to:
            old = measure_old(n)
            print("  %6d  %-9s %9.2f ms %10.2f s %11.1f KB   (ratios now/before: per host %.3f, fact %.4f)" % (
                n, "before", old["per_host"] * 1e3, old["play"], old["fact"] / 1024,
                new["per_host"] / old["per_host"], new["fact"] / old["fact"]))
        else:
            print("  %6d  %-9s (not run: every host would keep %d routes or peers of every host, ~%.0f MB each)"
                  % (n, "before", n * (n - 1), n * (n - 1) * 300 / 1e6))
        if n == 1000:
            print("          targets at 1,000 hosts: fact per host under 300 KB: %s; play's planning under 10 s: %s"
                  % ("met" if new["fact"] < 300 * 1024 else "MISSED", "met" if new["play"] < 10 else "MISSED"))


if __name__ == "__main__":
    main()
