"""Benchmark: site.yml building N containers through the roles, versus a naive playbook doing
the same with loops of ``ansible.builtin.command: ip ...`` and ``ansible.builtin.iptables``.

Each runs in its own private namespace made for the run (nsenter, so the namespaces it creates
are visible), on the bundled localhost inventory.  Prints wall times and ratios; targets (ours
<= 0.1 x naive; our second run <= 1/3 of our first) are reported, never asserted.

    .venv/bin/python bench/playbook.py [-n 100]
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


def run(host, playbook, extra):
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(extra, f)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    start = time.perf_counter()
    proc = subprocess.run(["nsenter", "--net=/run/netns/" + host, os.path.join(ROOT, ".venv/bin/ansible-playbook"),
                           playbook, "-e", "@" + f.name], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    os.unlink(f.name)
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (playbook, proc.stdout[-3000:]))
    return elapsed, proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100)
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:4]
    ours_p, naive_p = "pm%s" % tag, "pn%s" % tag
    ours = {"nsbridge_proof": False,
            "nsbridge_networks": [{"name": "default", "bridge": "br0", "subnet": "10.77.0.0/16"}],
            "nsbridge_containers": [{"name": "%s%d" % (ours_p, i), "network": "default", "ip": "10.77.1.%d" % i,
                                     "publish": ["%d:80" % (20000 + i)]} for i in range(args.n)]}
    naive = {"containers": [{"name": "%s%d" % (naive_p, i), "veth": "v%s%d" % (naive_p, i),
                             "peer": "c%s%d" % (naive_p, i), "ip": "10.77.1.%d" % i, "port": 20000 + i}
                            for i in range(args.n)]}
    for p in (ours_p, naive_p):
        netlink.Kernel.create_netns(p + "host")
    try:
        naive_time, _output = run(naive_p + "host", "bench/naive_playbook.yml", naive)
        first, _output = run(ours_p + "host", "playbooks/site.yml", ours)
        second, out = run(ours_p + "host", "playbooks/site.yml", ours)
        assert "changed=0" in out, "second run of site.yml changed something"
        run(ours_p + "host", "playbooks/teardown.yml", ours)
    finally:
        for name in netlink.list_netns():
            if name.startswith((ours_p, naive_p)):
                subprocess.run(["ip", "netns", "delete", name], check=False)
    print("playbook: %d containers (namespace, veth on br0, address, route, published port) + masquerade" % args.n)
    print("  naive playbook (loops of ip / iptables)  %7.1f s" % naive_time)
    print("  site.yml through the roles, first run    %7.1f s" % first)
    print("  site.yml, second run (no change)         %7.1f s" % second)
    r1, r2 = first / naive_time, second / first
    print("  ratio ours/naive    %.3f (target <= 0.1)  %s" % (r1, "met" if r1 <= 0.1 else "MISSED"))
    print("  ratio second/first  %.3f (target <= 0.33) %s" % (r2, "met" if r2 <= 1 / 3 else "MISSED"))


if __name__ == "__main__":
    main()
