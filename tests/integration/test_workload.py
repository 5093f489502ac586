"""Workloads are started together and checked together: one that exits at once is named, the others
run; a restart frees the port before the new process binds it; absent stops them all."""

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
