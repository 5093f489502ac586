"""Benchmark: the whole play -- fleet, bridge_network, containers -- over 10, 100 and 300 simulated hosts.

Every host is ``ansible_connection: local`` on this machine, in check mode (nothing is changed: each
host's modules plan against this machine), forks 20, vxlan mode, one container with a command per
host; so what is measured is the play's cost on the controller: planning, templating, task
overhead.  Prints wall time and the controller's peak memory (the largest process of the run), and
the growth ratios against the smallest size measured in the same run (targets: T(100)/T(10) at most
12 -- linear is 10 --, memory growing no faster than the host count); never asserted.

    .venv/bin/python bench/fleet_play.py [--sizes 10,100,300] [--forks 20] [--root CHECKOUT]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAY = """
- hosts: fleet
  gather_facts: false
  roles:
    - nsbridge.network.fleet
    - nsbridge.network.bridge_network
    - nsbridge.network.containers
"""


def inventory(n, python):
    hosts = {"sim%04d" % i: {"nsbridge_fleet_underlay": "172.%d.%d.%d" % (16 + i // 65025, (i // 255) % 255, 1 + i % 255)}
             for i in range(n)}
    return {"all": {"children": {"fleet": {"hosts": hosts}}, "vars": {
        "ansible_connection": "local", "ansible_python_interpreter": python, "nsbridge_fleet_mode": "vxlan",
        "nsbridge_fleet_cidr": "10.0.0.0/8", "nsbridge_proof": False,
        "nsbridge_containers": [{"name": "{{ inventory_hostname }}-app", "network": "fleet", "command": "sleep 1d"}]}}}


def run(root, n, forks):
    work = tempfile.mkdtemp(prefix="nsbridge-fleet-play-")
    with open(os.path.join(work, "inventory.json"), "w") as f:
        json.dump(inventory(n, os.path.join(root, ".venv", "bin", "python")), f)
    with open(os.path.join(work, "play.yml"), "w") as f:
        f.write(PLAY)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(root, "ansible.cfg"), ANSIBLE_FORKS=str(forks),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(root, ".collections"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([os.path.join(root, ".venv", "bin", "ansible-playbook"), "-i",
                           os.path.join(work, "inventory.json"), os.path.join(work, "play.yml"), "--check"],
                          cwd=root, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run(["rm", "-rf", work], check=False)
    if proc.returncode != 0:
        raise SystemExit("the play over %d hosts failed:\n%s" % (n, proc.stdout[-3000:]))
    return elapsed, max(peak, before) / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,100,300")
    parser.add_argument("--forks", type=int, default=20)
    parser.add_argument("--root", default=ROOT, help="the checkout whose roles run (to compare two)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print("fleet play: fleet + bridge_network + containers, %s simulated local hosts, check mode, forks %d (%s)"
          % ("/".join(map(str, sizes)), args.forks, args.root))
    base = last = None
    for n in sizes:
        elapsed, megabytes = run(args.root, n, args.forks)
        if base is None:
            base = last = (n, elapsed, megabytes)
            print("  %4d hosts  %7.1f s  %6.0f MB" % (n, elapsed, megabytes))
            continue
        grow = n / base[0]
        ratio_t, ratio_m = elapsed / base[1], megabytes / base[2]
        # memory against the size before too: growing faster than the hosts shows there first
        step = "" if last is base else "; x%.0f hosts from %d: time x%.1f, memory x%.1f (%s)" % (
            n / last[0], last[0], elapsed / last[1], megabytes / last[2],
            "no faster than the hosts" if megabytes / last[2] <= n / last[0] else "FASTER than the hosts")
        print("  %4d hosts  %7.1f s  %6.0f MB   x%.0f hosts: time x%.1f, memory x%.1f%s%s" % (
            n, elapsed, megabytes, grow, ratio_t, ratio_m,
            "  (target at x10: time <= 12: %s)" % ("met" if ratio_t <= 12 else "MISSED") if grow == 10 else "", step))
        last = (n, elapsed, megabytes)


if __name__ == "__main__":
    main()
