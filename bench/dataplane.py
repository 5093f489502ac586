"""Benchmark: the cost of a new connection through a published port, to the first and to the last
of n published ports (n = 10, 1,000, 5,000), per backend.

A flat per-connection cost means a packet does not walk the other ports' rules (see
module_utils/firewall/dispatch.py).  Everything runs in private namespaces made for the run: an
"outside" namespace connects to the host's uplink address, the host DNATs to containers on a
bridge.  Each sample is a TCP connect() (SYN out, SYN/ACK back through the host's DNAT and
FORWARD path) timed in the client; rounds alternate between the first and the last port, and
the medians are compared.  Ratios are reported against the targets, never asserted: last/first
<= 1.1 on nftables; on iptables no growth beyond O(log n), printed as the last port's cost at the
largest n against the smallest (microsecond medians: expect +-20% from run to run).

    .venv/bin/python bench/dataplane.py [--sizes 10,1000,5000] [--samples 300] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
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
from ansible_collections.nsbridge.network.plugins.module_utils.kernel.run_state import forget_netns  # noqa: E402

CONTAINERS = 4
BASE = 10000

SERVER = r'''
import resource, selectors, socket, sys
ports = [int(p) for p in sys.argv[1].split(",")]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, len(ports) + 100), hard))
sel = selectors.DefaultSelector()
for port in ports:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(128)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        try:
            conn, _ = key.fileobj.accept()
            conn.close()
        except OSError:
            pass
'''

CLIENT = r'''
import json, socket, struct, sys, time
host, first, last, samples, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
linger = struct.pack("ii", 1, 0)

def connect(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)  # RST on close: no TIME_WAIT pile-up
    t = time.perf_counter()
    s.connect((host, port))
    d = time.perf_counter() - t
    s.close()
    return d

for port in (first, last):  # warm up: neighbour entries, caches
    for _attempt in range(50):
        connect(port)
out = {"first": [], "last": []}
for r in range(rounds):
    for name, port in (("first", first), ("last", last)) if r % 2 == 0 else (("last", last), ("first", first)):
        times = sorted(connect(port) for _attempt in range(samples))
        out[name].append(times[len(times) // 2])
print(json.dumps(out))
'''


def run_module(name, host, params):
    """One module call, as the module runs it (its argument spec, planner and engine)."""
    with netlink.entered(host):
        apply_calls([{"module": name, "args": params}], check_mode=False)


def measure(backend, n, samples, rounds, tag):
    host, outside = "dp%s%s" % (backend[0], tag), "dpo%s" % tag
    containers = ["dpc%d%s" % (i, tag) for i in range(CONTAINERS)]
    procs = []
    for name in [host, outside] + containers:
        netlink.Kernel.create_netns(name)
    try:
        run_module("bridge", host, {"name": "br0", "addresses": ["10.10.0.1/16"]})
        pairs = [{"name": "vc%d" % i, "peer": "eth0", "peer_netns": c, "bridge": "br0",
                  "peer_addresses": ["10.10.0.%d/16" % (10 + i)], "peer_gateway": ["10.10.0.1"]}
                 for i, c in enumerate(containers)]
        pairs.append({"name": "uplink", "peer": "eth0", "peer_netns": outside, "addresses": ["203.0.113.1/24"],
                      "peer_addresses": ["203.0.113.2/24"]})
        run_module("veth", host, {"pairs": pairs})
        ports = [{"host_port": BASE + i, "destination": "10.10.0.%d" % (10 + i % CONTAINERS), "bridge": "br0"}
                 for i in range(n)]
        start = time.perf_counter()
        run_module("port_publish", host, {"ports": ports, "backend": backend})
        setup = time.perf_counter() - start
        for i, c in enumerate(containers):
            mine = ",".join(str(BASE + j) for j in range(i, n, CONTAINERS))
            if not mine:  # fewer ports than containers
                continue
            proc = subprocess.Popen(["ip", "netns", "exec", c, sys.executable, "-c", SERVER, mine],
                                    stdout=subprocess.PIPE, text=True)
            procs.append(proc)
            assert proc.stdout.readline().strip() == "ready"
        out = subprocess.run(["ip", "netns", "exec", outside, sys.executable, "-c", CLIENT, "203.0.113.1",
                              str(BASE), str(BASE + n - 1), str(samples), str(rounds)],
                             capture_output=True, text=True, check=True).stdout
        result = json.loads(out)
        return setup, statistics.median(result["first"]), statistics.median(result["last"])
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        for name in [host, outside] + containers:
            forget_netns(name)
            subprocess.run(["ip", "netns", "delete", name], check=False)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,5000")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print("dataplane: new TCP connection through a published port, first vs last of n ports (median of %d rounds "
          "of %d connects)" % (args.rounds, args.samples))
    for backend in ("nftables", "iptables"):
        print("  %s backend" % backend)
        lasts = []
        for n in sizes:
            setup, first, last = measure(backend, n, args.samples, args.rounds, uuid.uuid4().hex[:4])
            ratio = last / first
            lasts.append(last)
            # the flat target is nftables' (one verdict-map lookup); iptables' is a bound on growth
            verdict = "(target <= 1.1: %s)" % ("met" if ratio <= 1.1 else "MISSED") if backend == "nftables" else ""
            print("    n=%-5d first %6.1f us  last %6.1f us  last/first %.3f %s  (publishing them: %.2f s)"
                  % (n, first * 1e6, last * 1e6, ratio, verdict, setup))
        if backend == "iptables" and len(sizes) > 1:
            print("    the last port's cost at n=%d against n=%d: %.2f (target: no growth beyond O(log n); the trie "
                  "of chains over a port's digits is at most 5 levels deep whatever n)"
                  % (sizes[-1], sizes[0], lasts[-1] / lasts[0]))


if __name__ == "__main__":
    main()
