"""Surviving a reboot: apply records the calls, the restore program rebuilds them with no Ansible.

The "reboot" throws away everything a real one does -- the sandbox's host namespace (its links,
routes, firewall rules and sysctls), every namespace the calls made, the workloads and nsbridge's
state under /run -- and keeps the files under the persist root (the host's /etc and /usr). Then the
unit's command runs, and traffic proves the network is back.

    outside 198.51.100.2 (echo) --- up 198.51.100.1  [host]  br0 10.51.0.1/24 --- c1 .2 (echo, :8080 published)
                                                                                \\-- c2 .3
"""

import glob
import json
import os
import shlex
import subprocess
import zipfile

from conftest import HELPERS, ROOT
from ansible_collections.nsbridge.network.plugins.module_utils.kernel import netlink
from ansible_collections.nsbridge.network.plugins.module_utils.kernel.run_state import forget_netns

ECHO = "python3 %s/echo_server.py" % HELPERS


def calls(box, state="present"):
    c1, c2, out = box.name("c1"), box.name("c2"), box.name("out")
    made = [
        {"module": "netns", "args": {"name": [c1, c2, out]}},
        {"module": "bridge", "args": {"bridges": [{"name": "br0", "addresses": ["10.51.0.1/24"]}]}},
        {"module": "veth", "args": {"pairs": [
            {"name": "vc1", "peer": "eth0", "peer_netns": c1, "bridge": "br0", "hairpin": True,
             "peer_addresses": ["10.51.0.2/24"], "peer_gateway": "10.51.0.1"},
            {"name": "vc2", "peer": "eth0", "peer_netns": c2, "bridge": "br0",
             "peer_addresses": ["10.51.0.3/24"], "peer_gateway": "10.51.0.1"},
            {"name": "up", "peer": "eth0", "peer_netns": out,
             "addresses": ["198.51.100.1/24"], "peer_addresses": ["198.51.100.2/24"]}]}},
        {"module": "nat_masquerade", "args": {"networks": [{"source": "10.51.0.0/24", "bridge": "br0"}]}},
        {"module": "port_publish", "args": {"ports": [
            {"host_port": 8080, "destination": "10.51.0.2", "destination_port": 8000, "bridge": "br0"}]}},
        {"module": "workload", "args": {"workloads": [
            # its reply names it by its env: the restore starts it with that env too
            {"name": box.prefix + "w1", "netns": c1, "command": ECHO + ' "$LABEL" 8000', "env": {"LABEL": "c1"}},
            {"name": box.prefix + "wo", "netns": out, "command": ECHO + " outside 9000"}]}},
    ]
    if state == "absent":
        made = [dict(c, args=dict(c["args"], state="absent")) for c in reversed(made)]
    return made


def persisted(box, **args):
    return box.run("apply", calls=calls(box, args.pop("state", "present")), record="50-test",
                   persist_root=box.root, **args)


def reboot(box):
    """What a reboot takes: every namespace the calls made and the host's own, the workloads, /run."""
    for record in glob.glob("/run/nsbridge/workloads/%s*.pid" % box.prefix):
        with open(record) as f:
            os.killpg(json.load(f)["pid"], 9)
        os.unlink(record)
    for name in box.namespaces():
        forget_netns(name)
        subprocess.run(["ip", "netns", "delete", name], check=True)
    netlink.Kernel.create_netns(box.host)


def exec_start(box):
    """The command the unit runs, as the unit names it (with --root: the files are under the test's root)."""
    with open(os.path.join(box.root, "etc/systemd/system/nsbridge-restore.service")) as f:
        line = next(line for line in f if line.startswith("ExecStart="))
    return shlex.split(line[len("ExecStart="):]), line


def restore(box, without_ansible=False):
    """Run the unit's command in the sandbox's host namespace; ``without_ansible``: with every import
    of Ansible failing (the program must not need it)."""
    command, _line = exec_start(box)
    command[-1] = os.path.join(box.root, command[-1].lstrip("/"))  # the program, under the test's root
    if without_ansible:
        command[1:] = ["-c", "import runpy, sys; sys.modules['ansible'] = None; sys.argv[1:] = ['--root', %r]; "
                             "runpy.run_path(%r, run_name='__main__')" % (box.root, command[-1])]
    else:
        command.append("--root=" + box.root)
    return subprocess.run(["nsenter", "--net=/run/netns/" + box.host] + command,
                          capture_output=True, text=True, timeout=120, check=False)


def test_recorded_calls_come_back_after_a_reboot(sandbox):
    box = sandbox
    box.root = os.path.join(box.files, "root")
    first = persisted(box, persist=True)
    assert not first.get("failed") and first["changed"], first
    assert [p["item"] for p in first["persisted"]] == ["record", "program", "unit", "enabled"]
    wants = os.path.join(box.root, "etc/systemd/system/multi-user.target.wants/nsbridge-restore.service")
    assert os.readlink(wants) == "/etc/systemd/system/nsbridge-restore.service"
    # the sandbox's project: RECORD@PROJECT.json (the default project's is RECORD.json, tests/unit/test_persist_names.py)
    assert os.listdir(os.path.join(box.root, "etc/nsbridge/desired")) == ["50-test@%s.json" % box.project]
    with open(os.path.join(box.root, "etc/nsbridge/desired/50-test@%s.json" % box.project)) as f:
        record = json.load(f)
        assert os.stat(f.fileno()).st_mode & 0o777 == 0o600, "a workload's env is in it: root's alone"
    assert [c["module"] for c in record["calls"]] == [c["module"] for c in calls(box)]
    assert record["calls"][4]["args"]["ports"][0]["protocol"] == "tcp", "validated: defaults filled in"
    again = persisted(box, persist=True)
    assert again["changed"] is False and not any(p["changed"] for p in again["persisted"])
    command, line = exec_start(box)
    assert line.strip().endswith("/usr/local/lib/nsbridge/nsbridge-restore.pyz") and os.path.exists(command[0])
    verify = subprocess.run(["systemd-analyze", "verify", os.path.join(box.root, "etc/systemd/system",
                                                                       "nsbridge-restore.service")],
                            capture_output=True, text=True, check=False)
    assert verify.returncode == 0 and verify.stderr == "", verify.stderr

    reboot(box)
    assert box.namespaces() == [box.host] and "br0" not in box.links()
    # a program that came up first at boot listens on the recorded port: the record is put back as it
    # was, and the program named (a new port would be refused: tests/integration/test_port_in_use.py)
    early = box.start(None, "python3", os.path.join(HELPERS, "echo_server.py"), "early", "8080")
    done = restore(box)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "50-test@%s.json: netns: changed" % box.project in done.stdout and "port_publish: changed" in done.stdout
    assert "warning: port_publish: tcp:*:8080: python3 (pid %d) listens on tcp [::]:8080 on the host too" % early.pid \
        in done.stdout, done.stdout
    early.kill()
    early.wait()
    # by traffic: the published port from outside, egress masqueraded, container to container
    assert box.fetch(box.name("out"), "198.51.100.1", 8080) == "c1 198.51.100.2"
    assert box.fetch(box.name("c1"), "198.51.100.2", 9000) == "outside 198.51.100.1"
    assert box.fetch(box.name("c2"), "10.51.0.2", 8000) == "c1 10.51.0.3"

    # the host as recorded: the unit's command changes nothing, nor does the role's next run
    same = restore(box, without_ansible=True)
    assert same.returncode == 0 and "changed" not in same.stdout and same.stdout.count("as recorded") == 6, same.stdout
    assert persisted(box, persist=True)["changed"] is False

    gone = persisted(box, state="absent")
    assert gone["changed"] and [p["actions"] != [] for p in gone["persisted"]] == [True, True, True, True]
    left = [os.path.join(d, f) for d, _dirs, files in os.walk(box.root) for f in files]
    assert left == [] and not os.path.lexists(wants)
    assert box.namespaces() == [box.host]


def test_persist_false_removes_only_its_own_record(sandbox):
    box = sandbox
    box.root = os.path.join(box.files, "root")
    netns = [{"module": "netns", "args": {"name": [box.name("a")]}}]
    assert box.run("apply", calls=netns, record="10-a", persist=True, persist_root=box.root)["changed"]
    assert box.run("apply", calls=netns, record="20-b", persist=True, persist_root=box.root)["changed"]
    dropped = box.run("apply", calls=netns, record="10-a", persist=False, persist_root=box.root)
    assert [p["item"] for p in dropped["persisted"] if p["changed"]] == ["record"], "20-b still needs the unit"
    assert sorted(os.listdir(os.path.join(box.root, "etc/nsbridge/desired"))) == ["20-b@%s.json" % box.project]
    checked = box.run("apply", check=True, calls=netns, record="20-b", persist=False, persist_root=box.root)
    assert checked["changed"] and os.path.exists(os.path.join(box.root, "etc/nsbridge/desired/20-b@%s.json" % box.project))
    bad = box.run("apply", calls=netns, record="../x", persist=True, persist_root=box.root)
    assert bad["failed"] and "record: '../x' is not a record name" in bad["msg"]


def test_the_program_apply_writes_through_ansible_runs(sandbox):
    """Through ansible (AnsiballZ: the module and the module_utils it carries, zipped), the program
    apply writes holds every package the restore needs: it runs and finds the host as recorded."""
    box = sandbox
    box.root = os.path.join(box.files, "root")
    args = {"calls": [{"module": "netns", "args": {"name": [box.name("a")]}},
                      {"module": "bridge", "args": {"bridges": [{"name": "br0", "addresses": ["10.52.0.1/24"]}]}}],
            "record": "50-test", "project": box.project, "persist": True, "persist_root": box.root}
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    adhoc = subprocess.run(["nsenter", "--net=/run/netns/" + box.host, os.path.join(ROOT, ".venv", "bin", "ansible"),
                            "localhost", "-m", "nsbridge.network.apply", "-a", json.dumps(args)],
                           capture_output=True, text=True, timeout=120, cwd=ROOT, env=env, check=False)
    assert adhoc.returncode == 0 and "CHANGED" in adhoc.stdout, adhoc.stdout + adhoc.stderr
    with zipfile.ZipFile(os.path.join(box.root, "usr/local/lib/nsbridge/nsbridge-restore.pyz")) as zf:
        names = set(zf.namelist())
    base = "ansible_collections/nsbridge/network/plugins/module_utils/"
    for package in ("common", "kernel", "engine", "firewall", "planners", "calls", "day2"):
        assert base + package + "/__init__.py" in names, package
    assert base + "day2/restore.py" in names and base + "planners/workload.py" in names
    done = restore(box, without_ansible=True)
    assert done.returncode == 0 and done.stdout.count("as recorded") == 2, done.stdout + done.stderr
