"""apply with ``record``: the items an earlier apply of the record made and the current one does not
list go, proven the project's by their marks; a lost or corrupt record never leads to removing
anything foreign or of another project; killed mid-prune, the next run converges.  (The roles'
whole sequence, by traffic, is test_prune.py.)"""

import json
import os

import pytest

from ansible_collections.nsbridge.network.plugins.module_utils.kernel import netlink
from ansible_collections.nsbridge.network.plugins.module_utils.planners.workload import WORKLOAD_DIR
from conftest import warning_text
from test_crash import crash_everywhere

RECORD = "50-test"


def calls(box, names, backend="nftables"):
    made = [{"module": "netns", "args": {"name": [box.name(n) for n in names]}},
            {"module": "bridge", "args": {"bridges": [{"name": "br0", "addresses": ["10.71.0.1/24"]}]}},
            {"module": "veth", "args": {"pairs": [
                {"name": "v" + n, "peer": "eth0", "peer_netns": box.name(n), "bridge": "br0",
                 "peer_addresses": ["10.71.0.%d/24" % (10 + i)], "peer_gateway": ["10.71.0.1"]}
                for i, n in enumerate(names)]}},
            {"module": "port_publish", "args": {"backend": backend, "ports": [
                {"host_port": 8000 + i, "destination": "10.71.0.%d" % (10 + i), "bridge": "br0"}
                for i, n in enumerate(names)]}},
            {"module": "workload", "args": {"workloads": [
                {"name": box.name("w" + n), "netns": box.name(n), "command": "sleep 600"} for n in names]}}]
    return [c for c in made if c["args"].get("name", True) and c["args"].get("pairs", True)
            and c["args"].get("ports", True) and c["args"].get("workloads", True)]


def theirs(box):
    """Another project beside the sandbox's own (box.project, which these tests' runs are made for)."""
    return box.project + "b"


def record_path(box):
    return "/var/lib/nsbridge/netns/%s/projects/%s/%s.json" % (box.host, box.project, RECORD)


def apply(box, names, **extra):
    return box.run("apply", calls=calls(box, names), record=RECORD, **extra)


def test_what_a_record_no_longer_lists_goes(sandbox):
    box = sandbox
    first = apply(box, ["a", "b", "c"])
    assert first["changed"] and not first.get("failed"), first
    assert os.path.exists(record_path(box))
    check = box.run("apply", check=True, diff=True, calls=calls(box, ["a"]), record=RECORD)
    said = ["container %s (namespace, veth vb, workload %s, published port tcp:*:8001)" % (box.name("b"), box.name("wb")),
            "container %s (namespace, veth vc, workload %s, published port tcp:*:8002)" % (box.name("c"), box.name("wc"))]
    assert check["changed"] and sorted(check["pruned"]) == said
    assert [c["module"] for c in check["calls"] if c["prune"]] == ["workload", "port_publish", "veth", "netns"]
    assert box.namespaces() == sorted([box.host, box.name("a"), box.name("b"), box.name("c")]), "check mode made no change"
    done = apply(box, ["a"])
    assert done["changed"] and done["pruned"] == check["pruned"]
    assert sorted(box.namespaces()) == sorted([box.host, box.name("a")]) and "vb" not in box.links()
    assert apply(box, ["a"])["changed"] is False
    with open(record_path(box)) as f:
        assert sorted(json.load(f)["entries"]) == sorted(
            ["netns|%s" % box.name("a"), "bridge||br0", "veth||va", "port_publish||tcp:*:8000",
             "workload|%s" % box.name("wa")])
    # prune off: kept, named, still recorded; the next run with prune removes it
    apply(box, ["a", "b"])
    kept = apply(box, ["a"], prune=False)
    assert kept["changed"] is False and kept["kept"] and "kept because prune is off" in warning_text(kept)
    assert box.name("b") in box.namespaces()
    assert apply(box, ["a"])["changed"] and box.name("b") not in box.namespaces()


def test_another_project_is_never_touched(sandbox):
    box = sandbox
    apply(box, ["a"])
    other = box.run("apply", project=theirs(box), record="60-other", calls=[
        {"module": "netns", "args": {"name": [box.name("x")]}},
        {"module": "port_publish", "args": {"backend": "nftables", "ports": [
            {"host_port": 9000, "destination": "10.71.0.99"}]}}])
    assert other["changed"]
    # our record made to name their namespace and port (a record is only where to look: the marks decide)
    with open(record_path(box)) as f:
        data = json.load(f)
    data["entries"]["netns|" + box.name("x")] = {"module": "netns", "item": {"name": box.name("x")}, "call": {}}
    data["entries"]["port_publish||tcp:*:9000"] = {"module": "port_publish", "call": {"backend": "nftables", "netns": None},
                                                   "item": {"host_port": "9000-9000", "protocol": "tcp", "host_ip": None,
                                                            "destination": "10.71.0.99"}}
    with open(record_path(box), "w") as f:
        json.dump(data, f)
    run = apply(box, ["a"])
    assert box.name("x") in box.namespaces(), "another project's namespace stays"
    assert "belongs to project '%s', not '%s': left in place" % (theirs(box), box.project) in warning_text(run)
    assert box.run("port_publish", check=True, backend="nftables", host_port=9000, destination="10.71.0.99")["changed"] is False
    # a name they hold is an error naming both projects, before anything changes
    taken = box.run("apply", record=RECORD, calls=calls(box, ["a", "x"]))
    assert taken["failed"] and "network namespace '%s' belongs to project '%s'; project '%s' cannot use it" \
        % (box.name("x"), theirs(box), box.project) in taken["msg"]
    assert box.links(box.name("x")).get("eth0") is None and taken.get("changed") is False


@pytest.mark.parametrize("damage", ["lost", "corrupt"])
def test_a_lost_or_corrupt_record_falls_back_to_the_marks(sandbox, damage):
    box = sandbox
    apply(box, ["a", "b"])
    box.run("netns", name=[box.name("f")])                       # nsbridge's, no project
    box.run("apply", project=theirs(box), record=RECORD, calls=[{"module": "netns", "args": {"name": [box.name("o")]}}])
    if damage == "lost":
        os.unlink(record_path(box))
    else:
        with open(record_path(box), "w") as f:
            f.write("{not json")
    run = apply(box, ["a"])
    assert not run.get("failed"), run
    said = warning_text(run)
    assert ("cannot be read" in said) if damage == "corrupt" else ("has no record" in said)
    namespaces = box.namespaces()
    assert box.name("b") not in namespaces, "the marks prove b is ours: it goes"
    assert box.name("f") in namespaces and box.name("o") in namespaces, "unmarked and another project's stay"
    assert apply(box, ["a"])["changed"] is False, "the record is whole again"


@pytest.mark.parametrize("syscall", ["sendto", "rename"])
def test_killed_mid_prune_the_next_run_converges(sandbox, syscall):
    box = sandbox
    full = {"calls": calls(box, ["a", "b", "c"]), "record": RECORD, "project": box.project}
    fewer = {"calls": calls(box, ["a"]), "record": RECORD, "project": box.project}

    def only_a(n):
        left = [x for x in box.namespaces() if x != box.host]
        assert left == [box.name("a")], "killed at %s %d: %s" % (syscall, n, left)
        assert not {"vb", "vc"} & set(box.links()), "killed at %s %d" % (syscall, n)
        with open(record_path(box)) as f:
            assert not [k for k in json.load(f)["entries"] if box.name("b") in k or "vb" in k]
    box.run("apply", **full)
    crash_everywhere(box, "apply", fewer, syscall, only_a, undo=full)


def test_a_host_simulated_as_a_namespace_never_takes_another_s(sandbox):
    """Two hosts simulated as namespaces on one machine share its namespaces and workloads: the second
    host's first run (no record yet) finds the first's marked with the same project, and takes none of
    them as its own (it would prune them), while it still falls back to the marks for what is its own."""
    box = sandbox
    other = box.name("h2")
    netlink.Kernel.create_netns(other)
    apply(box, ["a"])
    made = [{"module": "netns", "args": {"name": [box.name("b")]}},
            {"module": "workload", "args": {"workloads": [
                {"name": box.name("wb"), "netns": box.name("b"), "command": "sleep 600"}]}}]
    first = box.run("apply", host=other, calls=made, record=RECORD)
    assert not first.get("failed") and first["pruned"] == [], first
    assert "has no record" not in warning_text(first), "nothing of its own was found by its marks"
    assert {box.name("a"), box.name("b")} <= set(box.namespaces()), "the first host's container stays"
    assert os.path.exists(os.path.join(WORKLOAD_DIR, box.name("wa") + ".pid")), "and so does its workload"
    assert apply(box, ["a"])["changed"] is False, "the first host as it was"
    # the second host's record lost: what its marks prove is the project's and no other host's record
    # holds (its own namespace b) is found again, and goes when no longer described
    os.unlink("/var/lib/nsbridge/netns/%s/projects/%s/%s.json" % (other, box.project, RECORD))
    lost = box.run("apply", host=other, calls=[{"module": "netns", "args": {"name": [box.name("c")]}}],
                   record=RECORD)
    assert "has no record" in warning_text(lost) and lost["pruned"] == ["container %s (namespace)" % box.name("b")], lost["pruned"]
    assert box.name("b") not in box.namespaces() and box.name("a") in box.namespaces()
