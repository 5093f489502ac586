"""Benchmark: the fleet role on real hosts -- 1 host against 10 converged in one run -- and the overlay's cost.

On ten podman hosts (molecule scenario bench-fleet: the molecule host image, one underlay segment,
vxlan mode), with the controller settings the README recommends (forks 50, pipelining), N
containers a host, each with a command. The controller reaches the hosts as a real fleet is reached:
over SSH (sshd started in each host, the controller on the hosts' underlay segment inside the wire
namespace, a key made for the run), so pipelining takes effect; ``--connection podman`` uses
molecule's podman connection instead, which cannot pipeline (six podman commands per task):
  1. converge one host alone (fresh), tear it down, then converge all ten at once (fresh): the ratio
     (goal: at most 2.5x one host on this 2-core machine) and the tasks the time goes to (the
     profile_tasks callback);
  2. the floors of that ratio, on the same hosts in the same run: the same ratio for a play of one
     and of three ``ansible.builtin.ping`` tasks (Ansible's own: one module run a host, and three, as
     the play does), and for the play's module runs with no work (three ``nsbridge.network.apply``
     tasks with no calls and the fleet role's raw read: nsbridge's payload and process, no kernel work);
  3. a bulk TCP transfer between containers on two hosts through the VXLAN overlay, against the
     same transfer between the two hosts themselves.

All traffic stays between the fleet's own containers and hosts. Prints figures; asserts nothing.

    PATH=$PWD/.venv/bin:$PATH .venv/bin/python bench/fleet.py [-n 10] [--hosts 10] [--megabytes 200]
                                                              [--connection ssh|podman]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = "bench-fleet"
PLAYBOOK = """
- hosts: fleet
  gather_facts: false
  roles:
    - nsbridge.network.fleet
    - nsbridge.network.bridge_network
    - nsbridge.network.containers
"""


def floor_play(tasks):
    """A play over the fleet of ``tasks`` (JSON is YAML)."""
    return json.dumps([{"hosts": "fleet", "gather_facts": False, "tasks": tasks}])


def pings(n):
    return [{"name": "Ping %d" % i, "ansible.builtin.ping": {}} for i in range(n)]


# the floors (section 2 above): each host's module runs, without the play's work
FLOORS = {
    "one ping task (Ansible's floor for one module run a host)": floor_play(pings(1)),
    "three ping tasks (Ansible's own floor)": floor_play(pings(3)),
    "the play's module runs, no work (three apply tasks, no calls; one raw)": floor_play(
        [{"name": "Read", "ansible.builtin.raw": "true", "changed_when": False}]
        + [{"name": "Apply %d" % i, "nsbridge.network.apply": {"calls": []}} for i in range(3)]),
}
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


def molecule(action, ephemeral):
    env = dict(os.environ, PATH=os.path.join(ROOT, ".venv/bin") + ":" + os.environ.get("PATH", ""),
               MOLECULE_EPHEMERAL_DIRECTORY=ephemeral)
    sh(os.path.join(ROOT, ".venv/bin/molecule"), action, "-s", SCENARIO, env=env)


WIRE = "nsbw-" + SCENARIO[:8]  # molecule/shared/create.yml's underlay namespace
MANAGER = "192.168.85.1"  # the controller's address on the underlay segment (ssh only)


def ssh_fleet(hosts, work):
    """sshd in every host, a key of the run's, the controller on the underlay: an inventory that
    reaches each host over SSH (added after molecule's, so its connection settings win)."""
    key = os.path.join(work, "id_ed25519")
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key)
    with open(key + ".pub") as f:
        public = f.read()
    for host in hosts:
        sh("podman", "exec", "-i", host, "sh", "-c", "mkdir -p -m 700 /root/.ssh /run/sshd && "
           "cat > /root/.ssh/authorized_keys && /usr/sbin/sshd", input=public)
    sh("ip", "netns", "exec", WIRE, "ip", "addr", "replace", MANAGER + "/24", "dev", "ul-0")
    inventory = os.path.join(work, "ssh.json")
    with open(inventory, "w") as f:
        json.dump({"fleet": {"hosts": {h: {"ansible_connection": "ssh", "ansible_host": "192.168.85.%d" % (11 + i),
                                           "ansible_port": 22, "ansible_user": "root",
                                           "ansible_ssh_private_key_file": key}
                                       for i, h in enumerate(hosts)}}}, f)
    return inventory


def busy():
    """CPU seconds the machine has been busy (every core, every process: controller and hosts)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def converge(inventories, limit, extra, work, connection, playbook=PLAYBOOK):
    """One ansible-playbook run with the README's fleet settings; (seconds, the slowest tasks, CPU
    seconds of the controller -- ansible-playbook, its forks and ssh clients -- and of the rest: the hosts)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_PIPELINING="true",
               ANSIBLE_FORKS="50", ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks", PROFILE_TASKS_TASK_OUTPUT_LIMIT="6",
               ANSIBLE_COLLECTIONS_PATH="%s/.collections:%s/.venv/lib/python3.11/site-packages" % (ROOT, ROOT),
               ANSIBLE_HOST_KEY_CHECKING="false", ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(work, "cp"))
    with tempfile.NamedTemporaryFile("w", suffix=".yml", dir=ROOT, delete=False) as play:
        play.write(playbook)
    # over SSH the controller runs on the hosts' underlay segment (the wire namespace); its ssh
    # masters (ControlPersist) end with the hosts
    enter = ["nsenter", "--net=/run/netns/" + WIRE] if connection == "ssh" else []
    start, machine = time.perf_counter(), busy()
    mine = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        args = [a for inventory in inventories for a in ("-i", inventory)]
        proc = sh(*enter, os.path.join(ROOT, ".venv/bin/ansible-playbook"), *args, play.name, "--limit", limit,
                  "-e", json.dumps(extra), env=env)
    finally:
        os.unlink(play.name)
    elapsed, machine = time.perf_counter() - start, busy() - machine
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    controller = after.ru_utime + after.ru_stime - mine.ru_utime - mine.ru_stime
    slowest = re.findall(r"^(.+?) -+ (\d+\.\d+)s$", proc.stdout, re.M)[:6]
    return elapsed, [(name.strip(), float(t)) for name, t in slowest], (controller, max(machine - controller, 0))


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
    parser.add_argument("-n", type=int, default=10, help="containers per host (each with a command)")
    parser.add_argument("--hosts", type=int, default=10, help="hosts of the second converge (at most 10)")
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--connection", choices=("ssh", "podman"), default="ssh",
                        help="how the controller reaches the hosts (default ssh, as a real fleet)")
    args = parser.parse_args()
    # the scenario's state in a folder of this run's (not the first of ~/.ansible/tmp/molecule.*, which may
    # be another checkout's), with the fleet's allocation file beside it; removed at the end
    work = tempfile.mkdtemp(prefix="nsbridge-bench-fleet-")
    ephemeral = os.path.join(work, "molecule")
    molecule("create", ephemeral)
    try:
        hosts = ["nsbb-h%02d" % i for i in range(1, args.hosts + 1)]
        inventory = [os.path.join(ephemeral, "inventory")]
        if args.connection == "ssh":
            inventory.append(ssh_fleet(hosts, work))
        extra = {"nsbridge_containers": [{"name": "c%d" % i, "network": "fleet", "command": "sleep 1d"}
                                         for i in range(args.n)],
                 "nsbridge_fleet_allocation_file": os.path.join(work, "fleet.json")}
        one, one_tasks, one_cpu = converge(inventory, hosts[0], extra, work, args.connection)
        converge(inventory, hosts[0], dict(extra, nsbridge_state="absent"), work, args.connection)
        many, many_tasks, many_cpu = converge(inventory, ",".join(hosts), extra, work, args.connection)
        floors = {}
        for name, playbook in FLOORS.items():  # median of three runs each, 1 host and all
            floors[name] = [statistics.median(converge(inventory, limit, {}, work, args.connection, playbook)[0]
                                              for _attempt in range(3)) for limit in (hosts[0], ",".join(hosts))]
        addr = sh("podman", "exec", hosts[-1], "ip", "netns", "exec", "c0", "ip", "-4", "-o", "addr", "show",
                  "dev", "eth0").stdout.split()[3].split("/")[0]
        overlay = transfer(hosts[-1], "c0", hosts[0], "c0", addr, args.megabytes)
        underlay = transfer(hosts[-1], None, hosts[0], None, "192.168.85.%d" % (10 + args.hosts), args.megabytes)
        converge(inventory, ",".join(hosts), dict(extra, nsbridge_state="absent"), work, args.connection)
    finally:
        molecule("destroy", ephemeral)
        shutil.rmtree(work, ignore_errors=True)
    print("fleet: vxlan mode, %d containers per host (each with a command), forks 50, %s"
          % (args.n, "over SSH, pipelining" if args.connection == "ssh" else "podman connection (no pipelining)"))
    print("  converge 1 host              %6.1f s" % one)
    print("  converge %d hosts at once    %6.1f s   ratio %d hosts / 1 host = %.2f (goal <= 2.5)"
          % (args.hosts, many, args.hosts, many / one))
    print("  CPU, 1 host:   controller %.1f s, hosts %.1f s; %d hosts: controller %.1f s, hosts %.1f s (%d cores)"
          % (one_cpu + (args.hosts,) + many_cpu + (os.cpu_count(),)))
    print("  where the time goes, 1 host:   %s" % "; ".join("%s %.1f s" % t for t in one_tasks[:4]))
    print("  where the time goes, %d hosts: %s" % (args.hosts, "; ".join("%s %.1f s" % t for t in many_tasks[:4])))
    print("  the same ratio's floors, on the same hosts (median of 3 runs each):")
    for name, (alone, together) in floors.items():
        print("    %-72s 1 host %4.1f s, %d hosts %4.1f s: ratio %.2f"
              % (name, alone, args.hosts, together, together / alone))
    print("  bulk TCP %d MB, containers on two hosts (overlay)  %7.1f MB/s" % (args.megabytes, overlay))
    print("  bulk TCP %d MB, the two hosts themselves (underlay) %7.1f MB/s" % (args.megabytes, underlay))
    print("  overlay / underlay throughput = %.2f" % (overlay / underlay))


if __name__ == "__main__":
    main()
