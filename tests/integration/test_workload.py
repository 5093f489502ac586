"""Workloads are started together and checked together: one that exits at once is named, the others
run; a restart frees the port before the new process binds it; absent stops them all."""

import hashlib
import json
import os

from conftest import HELPERS

ECHO = "python3 %s/echo_server.py" % HELPERS


def test_workloads_start_and_stop_together(sandbox):
    box = sandbox
    box.run("netns", name=[box.name("a"), box.name("b")])
    box.run("bridge", name="br0", addresses=["10.91.0.1/24"])
    box.run("veth", pairs=[{"name": "v" + n, "peer": "eth0", "peer_netns": box.name(n), "bridge": "br0",
                            "peer_addresses": ["10.91.0.%d/24" % (10 + i)]} for i, n in enumerate("ab")])
    many = [{"name": box.name("w%d" % i), "netns": box.name("b"), "command": "sleep 600"} for i in range(8)]
    server = {"name": box.name("srv"), "netns": box.name("a"), "command": ECHO + " one 8000"}
    first = box.run("workload", workloads=many + [server])
    assert first["changed"] and not first.get("failed"), first
    assert first["results"][-1]["actions"][-1] == "start 9 workloads together and check them 0.2 s later"
    assert box.fetch(box.name("b"), "10.91.0.10", 8000) == "one 10.91.0.11"
    assert box.run("workload", workloads=many + [server])["changed"] is False

    # a changed command: the old server is stopped (and gone) before the new one binds the same port
    moved = box.run("workload", workloads=many + [dict(server, command=ECHO + " two 8000")])
    assert moved.get("changed") and not moved.get("failed"), moved["msg"]
    assert box.fetch(box.name("b"), "10.91.0.10", 8000) == "two 10.91.0.11"

    # one that exits at once is an error naming it; the others were started and run
    broken = {"name": box.name("bad"), "netns": box.name("b"), "command": "echo oops; exit 3"}
    fresh = [{"name": box.name("f%d" % i), "netns": box.name("b"), "command": "sleep 600"} for i in range(3)]
    failed = box.run("workload", workloads=fresh + [broken])
    assert failed["failed"] and "workload '%s' exited at once (status 3): oops" % box.name("bad") in failed["msg"]
    assert not os.path.exists("/run/nsbridge/workloads/%s.pid" % box.name("bad"))
    assert box.run("workload", workloads=fresh)["changed"] is False, "the others run"

    gone = box.run("workload", state="absent", workloads=[{"name": w["name"]} for w in many + fresh + [server]])
    assert gone["changed"] and gone["results"][-1]["actions"][-1] == "wait for 12 stopped workloads"
    left = [f for f in os.listdir("/run/nsbridge/workloads") if f.startswith(box.prefix)] \
        if os.path.isdir("/run/nsbridge/workloads") else []
    assert left == [] and box.fetch(box.name("b"), "10.91.0.10", 8000) is None


def _environ(pid):
    with open("/proc/%d/environ" % pid, "rb") as f:
        return dict(item.split("=", 1) for item in f.read().decode().split("\0") if item)


def _record(name):
    path = "/run/nsbridge/workloads/%s.pid" % name
    with open(path) as f:
        return json.load(f), os.stat(path).st_mode & 0o777


def test_workload_environment_is_its_own(sandbox, monkeypatch):
    """A workload sees PATH, HOME, its env and nsbridge's marker, never the module's environment (on a local
    connection, the operator's shell); a changed env restarts it; a workload without env keeps the digest of
    the releases before env (an upgrade restarts nothing)."""
    box = sandbox
    monkeypatch.setenv("NSBRIDGE_TEST_OPERATOR_SECRET", "must-not-leak")
    box.run("netns", name=box.name("a"))
    worker = {"name": box.name("w"), "netns": box.name("a"), "command": "sleep 600",
              "env": {"GREETING": "hello", "WORKERS": 4}}
    plain = {"name": box.name("p"), "netns": box.name("a"), "command": "sleep 600"}
    first = box.run("workload", workloads=[worker, plain], diff=True)
    assert first["changed"] and not first.get("failed"), first
    record, mode = _record(worker["name"])
    assert mode == 0o600, "the record (env values among it) is root's alone"
    assert _environ(record["pid"]) == {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                       "HOME": "/root", "GREETING": "hello", "WORKERS": "4",
                                       "NSBRIDGE_WORKLOAD": worker["name"]}
    plain_record, _mode = _record(plain["name"])
    assert "NSBRIDGE_TEST_OPERATOR_SECRET" not in _environ(plain_record["pid"])
    assert set(_environ(plain_record["pid"])) == {"PATH", "HOME", "NSBRIDGE_WORKLOAD"}
    old_digest = hashlib.sha256(json.dumps([box.name("a"), "sleep 600"]).encode()).hexdigest()[:12]
    assert plain_record["digest"] == old_digest and "env" not in plain_record
    assert box.run("workload", workloads=[worker, plain])["changed"] is False

    # a changed value: check mode and diff say so first, then the workload is restarted with it
    changed = dict(worker, env={"GREETING": "bonjour", "WORKERS": "4"})
    preview = box.run("workload", workloads=[changed, plain], check=True, diff=True)
    assert preview["changed"] and _record(worker["name"])[0]["pid"] == record["pid"]
    assert "stop workload %s (environment changed)" % worker["name"] in preview["results"][0]["planned"]
    assert preview["diff"]["before"][worker["name"]]["env"] == {"GREETING": "hello", "WORKERS": "4"}
    assert preview["diff"]["after"][worker["name"]]["env"] == {"GREETING": "bonjour", "WORKERS": "4"}
    box.run("workload", workloads=[changed, plain])
    again, _mode = _record(worker["name"])
    assert again["pid"] != record["pid"] and _environ(again["pid"])["GREETING"] == "bonjour"
    assert _record(plain["name"])[0]["pid"] == plain_record["pid"], "the other workload is left alone"

    # an env that cannot be one is an error naming the item and the field, before anything starts
    for env, says in (({"1X": "a"}, "'1X' is not an environment variable name"),
                      ({"NSBRIDGE_WORKLOAD": "x"}, "NSBRIDGE_WORKLOAD is nsbridge's own"),
                      ({"LIST": [1]}, "LIST: [1] is not a string, number or boolean")):
        bad = box.run("workload", workloads=[plain, dict(worker, name=box.name("bad"), env=env)])
        assert bad["failed"] and "workloads[1].env" in bad["msg"] and says in bad["msg"], bad["msg"]
        assert not os.path.exists("/run/nsbridge/workloads/%s.pid" % box.name("bad"))
    box.run("workload", state="absent", workloads=[{"name": worker["name"]}, {"name": plain["name"]}])
