"""Benchmark: a lab of N nodes and M links on one host, through the lab role, against ``ip`` doing
the same in the same run.

  1. the role (tests/integration/data/lab.yml): first build, no-op re-run (must change nothing),
     teardown;
  2. ``ip -batch`` building the same: N namespaces, M veth pairs between them with an address on each
     end, every end up; then removing the namespaces.

The lab is a ring of N routers (N links) and chords across it (the other M - N links), addressed
from the lab's pools; every node forwards.  The default size is the issue's: 200 nodes, 300 links.
Each side runs in a private namespace made for the run; the figures are printed, never asserted.

    .venv/bin/python bench/lab.py [-n 200] [--links 300]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.nsbridge.network.plugins.module_utils.kernel import netlink  # noqa: E402
from ansible_collections.nsbridge.network.plugins.module_utils.roles import lab as labplan  # noqa: E402

PLAY = os.path.join(ROOT, "tests", "integration", "data", "lab.yml")


def topology(prefix, n, m):
    nodes = {"%s%d" % (prefix, i): {"forwarding": True} for i in range(n)}
    links, used = [], {i: 0 for i in range(n)}

    def end(i):
        used[i] += 1
        return "%s%d:eth%d" % (prefix, i, used[i])
    for i in range(n):
        links.append({"endpoints": [end(i), end((i + 1) % n)]})
    step = max(2, n // 2)
    for k in range(m - n):
        a = k % n
        b = (a + step + k // n) % n
        if b == a:
            b = (a + 1) % n
        links.append({"endpoints": [end(a), end(b)]})
    return {"name": prefix + "bench", "nodes": nodes, "links": links}


def play(host, extra):
    """(seconds, stdout) of the lab play in namespace ``host``, made for a project of the run's own (``host``):
    a first run takes what its project's marks prove is the project's, machine-wide, as tests/conftest.py says."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(dict({"nsbridge_project": host}, **extra), f)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    start = time.perf_counter()
    proc = subprocess.run(["nsenter", "--net=/run/netns/" + host, os.path.join(ROOT, ".venv/bin/ansible-playbook"),
                           PLAY, "-e", "@" + f.name], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    os.unlink(f.name)
    if proc.returncode != 0:
        raise SystemExit("the lab role failed:\n%s" % proc.stdout[-3000:])
    return elapsed, proc.stdout


def ip_batch(lab, host):
    """The same namespaces, pairs and addresses by ``ip``: one batch per namespace kind of work."""
    plan = labplan.plan(lab, "localhost", ["localhost"])
    pairs = next(c["args"]["pairs"] for c in plan["calls"] if c["module"] == "veth")
    names = sorted(lab["nodes"])
    start = time.perf_counter()
    subprocess.run(["ip", "-batch", "-"], input="".join("netns add %s\n" % n for n in names), text=True, check=True)
    lines = []
    for p in pairs:
        lines.append("link add %s netns %s type veth peer name %s netns %s\n"
                     % (p["name"], p["netns"], p["peer"], p["peer_netns"]))
    subprocess.run(["nsenter", "--net=/run/netns/" + host, "ip", "-batch", "-"], input="".join(lines), text=True,
                   check=True)
    per_ns = {}
    for p in pairs:
        per_ns.setdefault(p["netns"], []).extend(["addr add %s dev %s\n" % (a, p["name"]) for a in p["addresses"]]
                                                 + ["link set %s up\n" % p["name"]])
        per_ns.setdefault(p["peer_netns"], []).extend(["addr add %s dev %s\n" % (a, p["peer"])
                                                       for a in p["peer_addresses"]] + ["link set %s up\n" % p["peer"]])
    for ns, cmds in per_ns.items():
        subprocess.run(["ip", "-n", ns, "-batch", "-"], input="".join(["link set lo up\n"] + cmds), text=True,
                       check=True)
        for key in ("net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding"):
            subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-qw", key + "=1"], check=True)
    built = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(["ip", "-batch", "-"], input="".join("netns del %s\n" % n for n in names), text=True, check=True)
    return built, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200, help="nodes")
    parser.add_argument("--links", type=int, default=300, help="links (at least as many as nodes)")
    args = parser.parse_args()
    links = max(args.links, args.n)
    prefix = "b" + uuid.uuid4().hex[:4]
    host = prefix + "host"
    netlink.Kernel.create_netns(host)
    lab = topology(prefix, args.n, links)
    try:
        first, _out = play(host, {"nsbridge_lab": lab})
        again, out = play(host, {"nsbridge_lab": lab})
        if "changed=0" not in out:
            raise SystemExit("the re-run changed something:\n%s" % out[-2000:])
        down, _out = play(host, {"nsbridge_lab": lab, "nsbridge_state": "absent"})
        ip_host = prefix + "iph"
        netlink.Kernel.create_netns(ip_host)
        try:
            ip_lab = topology(prefix + "i", args.n, links)
            ip_built, ip_down = ip_batch(ip_lab, ip_host)
        finally:
            subprocess.run(["ip", "netns", "del", ip_host], check=False)
    finally:
        for name in netlink.list_netns():
            if name.startswith(prefix):
                subprocess.run(["ip", "netns", "del", name], check=False)
    print("lab of %d nodes, %d links on one host" % (args.n, links))
    print("  role: first build %.2f s, no-op re-run %.2f s (changed=0), teardown %.2f s" % (first, again, down))
    print("  ip -batch (namespaces, pairs, addresses, up, forwarding): build %.2f s, teardown %.2f s" % (ip_built, ip_down))
    print("  ratio: first build %.1fx ip (teardown: both remove the namespaces, whose links the kernel then destroys "
          "asynchronously; the role also stops workloads and removes hosts files and records)" % (first / ip_built))


if __name__ == "__main__":
    main()
