"""Benchmark: provision N container endpoints through nsbridge's module core vs the seeds' shell recipe.

An endpoint is a namespace, a veth pair with one end on a bridge, an address
on the other end and a default route via the bridge.  Both ways run in the
same process, each inside its own private "host" namespace, so the machine's
own network is not touched.  Prints per-endpoint times and ratios; the targets
(module core <= 0.5 x the shell recipe; no-op re-run <= 0.1 x the first run)
are reported, never asserted.

    .venv/bin/python bench/endpoints.py [-n 200]
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.nsbridge.network.plugins.module_utils.calls.apply import apply_calls  # noqa: E402
from ansible_collections.nsbridge.network.plugins.module_utils.kernel import netlink  # noqa: E402


def address(i):
    return str(ipaddress.ip_address("10.77.0.10") + i)


def module_core(prefix, n):
    """The calls a role makes (one batch per module), through the modules' own argument specs."""
    names = ["%s%d" % (prefix, i) for i in range(n)]
    pairs = [{"name": "v%s%d" % (prefix[1:], i), "peer": "eth0", "peer_netns": names[i], "bridge": "br0",
              "peer_addresses": ["%s/16" % address(i)], "peer_gateway": ["10.77.0.1"]} for i in range(n)]
    return apply_calls([{"module": "netns", "args": {"name": names}},
                        {"module": "bridge", "args": {"bridges": [{"name": "br0", "addresses": ["10.77.0.1/16"]}]}},
                        {"module": "veth", "args": {"pairs": pairs}}], check_mode=False)["changed"]


def shell_recipe(prefix, n):
    """The seeds' recipe: seven `ip` commands per endpoint."""
    subprocess.run(["ip", "link", "add", "br0", "type", "bridge"], check=True)
    subprocess.run(["ip", "addr", "add", "10.77.0.1/16", "dev", "br0"], check=True)
    subprocess.run(["ip", "link", "set", "br0", "up"], check=True)
    for i in range(n):
        ns, veth, peer = "%s%d" % (prefix, i), "v%s%d" % (prefix[1:], i), "c%s%d" % (prefix[1:], i)
        for cmd in (
                ["ip", "netns", "add", ns],
                ["ip", "link", "add", veth, "type", "veth", "peer", "name", peer],
                ["ip", "link", "set", peer, "netns", ns],
                ["ip", "link", "set", veth, "master", "br0", "up"],
                ["ip", "netns", "exec", ns, "ip", "addr", "add", "%s/16" % address(i), "dev", peer],
                ["ip", "netns", "exec", ns, "ip", "link", "set", peer, "up"],
                ["ip", "netns", "exec", ns, "ip", "route", "add", "default", "via", "10.77.0.1"]):
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def cleanup(prefix):
    for name in netlink.list_netns():
        if name.startswith(prefix):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def timed(host, fn, *args):
    with netlink.entered(host):
        start = time.perf_counter()
        fn(*args)
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("-n", type=int, default=200, help="endpoints (default 200)")
    args = parser.parse_args()
    n = args.n
    tag = uuid.uuid4().hex[:4]
    shell_prefix, core_prefix = "bs" + tag, "bm" + tag
    for p in (shell_prefix, core_prefix):
        netlink.Kernel.create_netns(p + "host")
    try:
        shell = timed(shell_prefix + "host", shell_recipe, shell_prefix, n)
        first = timed(core_prefix + "host", module_core, core_prefix, n)
        with netlink.entered(core_prefix + "host"):
            start = time.perf_counter()
            changed = module_core(core_prefix, n)
            noop = time.perf_counter() - start
        assert not changed, "the re-run changed something: not idempotent"
    finally:
        cleanup(shell_prefix)
        cleanup(core_prefix)

    def per(seconds):
        return seconds / n * 1000
    print("endpoints: N=%d (namespace + veth + bridge port + address + default route)" % n)
    print("  shell recipe (7 ip commands each) %8.2f ms/endpoint  %7.3f s" % (per(shell), shell))
    print("  nsbridge module core, first run   %8.2f ms/endpoint  %7.3f s" % (per(first), first))
    print("  nsbridge module core, no-op rerun %8.2f ms/endpoint  %7.3f s" % (per(noop), noop))
    ratio_first, ratio_noop = first / shell, noop / first
    print("  ratio core/shell   %.3f  (target <= 0.5)  %s" % (ratio_first, "met" if ratio_first <= 0.5 else "MISSED"))
    print("  ratio no-op/first  %.3f  (target <= 0.1)  %s" % (ratio_noop, "met" if ratio_noop <= 0.1 else "MISSED"))


if __name__ == "__main__":
    main()
