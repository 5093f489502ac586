"""Benchmark: what a user runs -- N containers, each with a command (a web server) and a published
port, through the roles -- against the peers in the same run.

  1. the roles (site.yml without the proof and the picture): first run, converged re-run (median
     of 3), teardown; targets for 100 containers on this 2-core machine: first <= 5 s, converged
     <= 2 s (an empty ansible-playbook with one task costs ~0.8 s here), teardown <= 3 s; beside the
     converged re-run, the two roles alone in a play of their own (as a user's play reuses them:
     without site.yml's summary, its skipped proof and picture tasks and their plays), interleaved;
  2. Docker (Debian's docker.io, a dockerd of the run's own in a private namespace): ``docker run -d
     --network N -p P:80`` of the same N busybox web servers, and ``docker rm -f`` of them;
  3. a naive playbook (loops of ``ip`` commands and ``ansible.builtin.iptables``), with --naive;
  4. the main job itself, site.yml with its proof and picture, on 3 containers: first and converged
     (target: converged <= 3 s);
  5. the floors these are measured against, in the same run: a playbook of one task (what the targets
     above are set against), one and two ``nsbridge.network.apply`` tasks with no calls (two: what any run
     of the two roles costs before doing any work: one module build on the controller, two module
     processes on the host), and the main job's module runs with no work (three apply tasks, no calls, and
     network_info); the two apply tasks again under PYTHONUNBUFFERED=1.

Every run is in the environment scripts/site.sh gives ansible-playbook: without PYTHONUNBUFFERED, which
makes Python read a module's payload from the pipe one byte per read() (~0.2 s a module run here).

Each runs in its own private namespace made for the run (nsenter), on the bundled localhost
inventory.  Prints wall times and ratios; asserts nothing but that a re-run changed nothing.

    .venv/bin/python bench/playbook.py [-n 100] [--naive] [--no-docker]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration", "helpers"))

from ansible_collections.nsbridge.network.plugins.module_utils.kernel import netlink  # noqa: E402

SERVER = "busybox httpd -f -p 80 -h /tmp"  # a web server per container, as light as the Docker peer's
ROLES_ALONE = {"name": "The two roles alone", "hosts": "all", "gather_facts": False,
               "roles": ["nsbridge.network.bridge_network", "nsbridge.network.containers"]}


def run(host, playbook, extra, **env):
    """(seconds, stdout) of one ansible-playbook run in namespace ``host``, in the environment scripts/site.sh
    gives it (no PYTHONUNBUFFERED), with ``env`` added; made for a project of the run's own (``host``): a first
    run takes what its project's marks prove is the project's, machine-wide, as tests/conftest.py says."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(dict({"nsbridge_project": host}, **extra), f)
    env = dict({k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"},
               ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), **env)
    start = time.perf_counter()
    proc = subprocess.run(["nsenter", "--net=/run/netns/" + host, os.path.join(ROOT, ".venv/bin/ansible-playbook"),
                           playbook, "-e", "@" + f.name], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    os.unlink(f.name)
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s" % (playbook, proc.stdout[-3000:]))
    return elapsed, proc.stdout


def playbook_file(play):
    """A temporary playbook of the one ``play`` (JSON is YAML); the caller removes it."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        json.dump([play], f)
    return f.name


def ours(n, prefix):
    host = prefix + "host"
    extra = {"nsbridge_proof": False, "nsbridge_topology": False,
             "nsbridge_networks": [{"name": "default", "bridge": "br0", "subnet": "10.77.0.0/16"}],
             "nsbridge_containers": [{"name": "%s%d" % (prefix, i), "network": "default", "ip": "10.77.1.%d" % i,
                                      "publish": ["%d:80" % (20000 + i)], "command": SERVER} for i in range(n)]}
    first, _out = run(host, "playbooks/site.yml", extra)
    alone = playbook_file(ROLES_ALONE)
    again = {"playbooks/site.yml": [], alone: []}
    try:
        for _attempt in range(3):
            for playbook, times in again.items():
                elapsed, out = run(host, playbook, extra)
                assert "changed=0" in out, "a re-run of %s changed something:\n%s" % (playbook, out[-2000:])
                times.append(elapsed)
    finally:
        os.unlink(alone)
    down, _out = run(host, "playbooks/teardown.yml", extra)
    return first, statistics.median(again["playbooks/site.yml"]), statistics.median(again[alone]), down


def applies(n):
    """``n`` nsbridge.network.apply tasks with no calls (one AnsiballZ build, ``n`` module processes)."""
    return [{"name": "Apply %d" % i, "nsbridge.network.apply": {"calls": []}} for i in range(n)]


FLOORS = {
    # what the targets are set against: an empty ansible-playbook with one task
    "one task": [{"name": "A task", "ansible.builtin.debug": {"msg": "floor"}}],
    "one apply task, no calls": applies(1),
    # what any run of the two roles costs before they do any work
    "two apply tasks, no calls": applies(2),
    # the main job's module runs with no work: the two roles', the proof's and the picture's network_info
    "the main job's module runs, no work": applies(3) + [{"name": "Read", "nsbridge.network.network_info": {}}],
}


def floors(prefix):
    """{name: median of 3 wall times} of the FLOORS playbooks, in their own namespace; and two apply tasks
    again under PYTHONUNBUFFERED=1 (what they cost where a shell sets it: Python then reads each module's
    pipelined payload one byte per read())."""
    out = {}
    runs = [(name, tasks, {}) for name, tasks in FLOORS.items()]
    runs.append(("two apply tasks, PYTHONUNBUFFERED=1", applies(2), {"PYTHONUNBUFFERED": "1"}))
    for name, tasks, env in runs:
        path = playbook_file({"hosts": "all", "gather_facts": False, "tasks": tasks})
        try:
            out[name] = statistics.median(run(prefix + "host", path, {}, **env)[0] for _attempt in range(3))
        finally:
            os.unlink(path)
    return out


def main_job(prefix):
    host = prefix + "host"
    extra = {"nsbridge_proof": True, "nsbridge_proof_netns": prefix + "out", "nsbridge_proof_uplink_if": prefix + "up",
             "nsbridge_topology_dir": tempfile.mkdtemp(prefix="nsbridge-bench-topology-"),
             "nsbridge_networks": [{"name": "default", "bridge": "br0", "subnet": "10.10.0.0/16"}],
             "nsbridge_containers": [{"name": "%sweb%d" % (prefix, i), "network": "default",
                                      "publish": ["8080:8000"] if i == 0 else [],
                                      "command": "python3 -m http.server 8000 --bind 0.0.0.0"} for i in range(3)]}
    first, _out = run(host, "playbooks/site.yml", extra)
    again, out = run(host, "playbooks/site.yml", extra)
    assert "changed=0" in out, "a re-run of the main job changed something:\n" + out[-2000:]
    run(host, "playbooks/teardown.yml", extra)
    subprocess.run(["rm", "-rf", extra["nsbridge_topology_dir"]], check=False)
    return first, again


def docker(n, prefix):
    import dockerd  # tests/integration/helpers: a dockerd of the run's own
    engine = dockerd.Dockerd(prefix + "host", "/tmp/nsbridge-bench-docker-" + prefix)
    names = ["%sd%d" % (prefix, i) for i in range(n)]
    try:
        engine.start()
        image = engine.image()
        engine.cli("network", "create", "--subnet", "10.78.0.0/16", "bench")
        start = time.perf_counter()
        for i, name in enumerate(names):
            engine.cli("run", "-d", "--network", "bench", "--name", name, "-p", "%d:80" % (21000 + i), image,
                       "httpd", "-f", "-p", "80", "-h", "/www")
        up = time.perf_counter() - start
        start = time.perf_counter()
        engine.cli("rm", "-f", *names, timeout=600)
        down = time.perf_counter() - start
        return up, down
    finally:
        engine.destroy(names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--naive", action="store_true", help="also the naive loop playbook (slow: minutes)")
    parser.add_argument("--no-docker", action="store_true", help="without the Docker peer")
    args = parser.parse_args()
    tag = uuid.uuid4().hex[:4]
    prefixes = {k: "p%s%s" % (k, tag) for k in ("m", "n", "d", "j", "f")}
    for p in prefixes.values():
        netlink.Kernel.create_netns(p + "host")
    try:
        floor = floors(prefixes["f"])
        first, again, alone, down = ours(args.n, prefixes["m"])
        peer = None if args.no_docker else docker(args.n, prefixes["d"])
        naive = None
        if args.naive:
            naive_extra = {"containers": [{"name": "%s%d" % (prefixes["n"], i), "veth": "v%s%d" % (prefixes["n"], i),
                                           "peer": "c%s%d" % (prefixes["n"], i), "ip": "10.77.1.%d" % i,
                                           "port": 20000 + i} for i in range(args.n)]}
            naive, _out = run(prefixes["n"] + "host", "bench/naive_playbook.yml", naive_extra)
        job_first, job_again = main_job(prefixes["j"])
    finally:
        for name in netlink.list_netns():
            if name.startswith(tuple(prefixes.values())):
                subprocess.run(["ip", "netns", "delete", name], check=False)
    print("playbook: %d containers, each a web server with a published port, on one network" % args.n)
    print("  the roles: first run %6.1f s (target <= 5)    converged %5.2f s (target <= 2)    teardown %5.1f s "
          "(target <= 3)" % (first, again, down))
    print("  the two roles alone, converged, in a play of their own (as a user's play reuses them): %.2f s; "
          "site.yml's summary and skipped proof and picture add %.2f s" % (alone, again - alone))
    print("  same-run floors: a playbook of one task %.2f s; of one apply task with no calls %.2f s; the roles' two "
          "module runs with no work (two apply tasks, no calls) %.2f s; converged minus that floor: %.2f s for %d "
          "containers (planning, observing, the summary)"
          % (floor["one task"], floor["one apply task, no calls"], floor["two apply tasks, no calls"],
             again - floor["two apply tasks, no calls"], args.n))
    print("  (all the above without PYTHONUNBUFFERED, as scripts/site.sh runs; the two apply tasks with "
          "PYTHONUNBUFFERED=1: %.1f s)" % floor["two apply tasks, PYTHONUNBUFFERED=1"])
    if peer is not None:
        print("  Docker:    docker run x%d %6.1f s                 docker rm -f    %5.1f s" % (args.n, peer[0], peer[1]))
        print("  ratios nsbridge/Docker: build %.2f, teardown %.2f" % (first / peer[0], down / peer[1]))
    if naive is not None:
        print("  naive playbook (loops of ip / iptables) %6.1f s; ratio ours/naive %.3f" % (naive, first / naive))
    print("  the main job (site.yml with proof and picture, 3 containers): first %.1f s, converged %.2f s "
          "(target <= 3); its floor, the same module runs with no work (three apply tasks with no calls and "
          "network_info) %.2f s" % (job_first, job_again, floor["the main job's module runs, no work"]))


if __name__ == "__main__":
    main()
