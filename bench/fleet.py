"""Benchmark: the fleet role at scale and the overlay's cost, on the molecule fleet-vxlan hosts.

In one run:
  1. converge time of 1 host x N containers, then of 3 fresh hosts x N containers (one play,
     Ansible forks in parallel): the ratio shows how the fleet scales;
  2. a bulk TCP transfer between containers on two hosts (through the VXLAN overlay across the
     routed underlay) versus the same transfer between the two hosts themselves;
  3. the same 3 hosts torn down and converged again dual-stack (nsbridge_fleet_cidr6: every
     network, container, route and rule in both families): dual-stack / IPv4-only converge time
     (target at most 1.3).

All traffic stays between the fleet's own containers. Prints figures and ratios; asserts nothing.

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python bench/fleet.py [-n 50] [--megabytes 200]
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = "fleet-vxlan"
PLAYBOOK = """
- hosts: fleet
  gather_facts: false
  roles:
    - nsbridge.network.fleet
    - nsbridge.network.bridge_network
    - nsbridge.network.containers
"""
SINK = "import socket,sys;s=socket.socket(socket.AF_INET6);s.setsockopt(1,2,1);s.bind(('::',5001));s.listen(1);" \
       "print('ready',flush=True);c,_=s.accept();n=0\nwhile True:\n b=c.recv(1<<20)\n if not b: break\n n+=len(b)\nprint(n)"
SOURCE = "import socket,sys,time;s=socket.create_connection((sys.argv[1],5001));b=b'x'*(1<<20);t=time.time()\n" \
         "for _attempt in range(int(sys.argv[2])): s.sendall(b)\ns.shutdown(1);s.recv(1);print(time.time()-t)"


def sh(*cmd, **kw):
    proc = subprocess.run(list(cmd), capture_output=True, text=True, cwd=ROOT, check=False, **kw)
    if proc.returncode:
        raise SystemExit("%s failed (%d):\n%s%s" % (" ".join(cmd[:4]), proc.returncode, proc.stdout[-4000:],
                                                    proc.stderr[-2000:]))
    return proc


def molecule(action):
    env = dict(os.environ, PATH=os.path.join(ROOT, ".venv/bin") + ":" + os.environ.get("PATH", ""))
    sh(os.path.join(ROOT, ".venv/bin/molecule"), action, "-s", SCENARIO, env=env)


def converge(inventory, limit, extra):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_PIPELINING="true",
               ANSIBLE_COLLECTIONS_PATH="%s/.collections:%s/.venv/lib/python3.11/site-packages" % (ROOT, ROOT))
    with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=ROOT, delete=False) as play:
        play.write(PLAYBOOK)
    start = time.perf_counter()
    try:
        sh(os.path.join(ROOT, ".venv/bin/ansible-playbook"), "-i", inventory, play.name, "--limit", limit,
           "-e", json.dumps(extra), env=env)
    finally:
        os.unlink(play.name)
    return time.perf_counter() - start


def transfer(receiver, receiver_ns, sender, sender_ns, address, megabytes):
    def inside(host, netns, *cmd):
        return ["podman", "exec", "-i", host] + (["ip", "netns", "exec", netns] if netns else []) + list(cmd)
    sink = subprocess.Popen(inside(receiver, receiver_ns, "python3", "-c", SINK), stdout=subprocess.PIPE, text=True)
    assert sink.stdout.readline().strip() == "ready"
    seconds = float(sh(*inside(sender, sender_ns, "python3", "-c", SOURCE, address, str(megabytes))).stdout)
    sink.wait(timeout=60)
    return megabytes / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="containers per host")
    parser.add_argument("--megabytes", type=int, default=200)
    args = parser.parse_args()
    molecule("create")
    try:
        inventory = glob.glob(os.path.expanduser("~/.ansible/tmp/molecule.*.%s/inventory" % SCENARIO))[0]
        extra = {"nsbridge_containers": [{"name": "c%d" % i, "network": "fleet"} for i in range(args.n)],
                 "nsbridge_fleet_cidr6": ""}  # the scenario is dual-stack; IPv4-only first
        hosts = "nsbx-h2,nsbx-h3,nsbx-h4"
        one = converge(inventory, "nsbx-h1", extra)
        three = converge(inventory, hosts, extra)
        addr = sh("podman", "exec", "nsbx-h3", "ip", "netns", "exec", "c0", "ip", "-4", "-o", "addr", "show",
                  "dev", "eth0").stdout.split()[3].split("/")[0]
        overlay = transfer("nsbx-h3", "c0", "nsbx-h2", "c0", addr, args.megabytes)
        underlay = transfer("nsbx-h3", None, "nsbx-h2", None, "192.168.82.13", args.megabytes)
        converge(inventory, hosts, dict(extra, nsbridge_state="absent"))
        dual = converge(inventory, hosts, dict(extra, nsbridge_fleet_cidr6="fd00:200::/48"))
        addr6 = sh("podman", "exec", "nsbx-h3", "ip", "netns", "exec", "c0", "ip", "-6", "-o", "addr", "show",
                   "dev", "eth0", "scope", "global").stdout.split()[3].split("/")[0]
        overlay6 = transfer("nsbx-h3", "c0", "nsbx-h2", "c0", addr6, args.megabytes)
    finally:
        molecule("destroy")
    print("fleet: vxlan mode, %d containers per host" % args.n)
    print("  converge 1 host            %6.1f s" % one)
    print("  converge 3 hosts at once   %6.1f s   ratio 3 hosts / 1 host = %.2f" % (three, three / one))
    print("  bulk TCP %d MB, containers on two hosts (overlay)  %7.1f MB/s" % (args.megabytes, overlay))
    print("  bulk TCP %d MB, the two hosts themselves (underlay) %7.1f MB/s" % (args.megabytes, underlay))
    print("  overlay / underlay throughput = %.2f" % (overlay / underlay))
    print("  converge 3 hosts dual-stack %6.1f s   ratio dual-stack / IPv4-only = %.2f (target <= 1.3)"
          % (dual, dual / three))
    print("  bulk TCP %d MB over IPv6, containers on two hosts (overlay) %7.1f MB/s" % (args.megabytes, overlay6))


if __name__ == "__main__":
    main()
