"""apply: several module calls in one process, each as its module runs it, in order."""

import json
import os

from conftest import converge_four_times

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def calls(box):
    p = box.prefix
    return [
        {"module": "netns", "args": {"name": [p + "c1"]}},
        {"module": "bridge", "args": {"bridges": [{"name": p + "br", "addresses": ["10.31.0.1/24", "fd00:31::1/64"]}]}},
        {"module": "veth", "args": {"pairs": [
            {"name": p + "v1", "peer": "eth0", "peer_netns": p + "c1", "bridge": p + "br",
             "peer_addresses": ["10.31.0.2/24", "fd00:31::2/64"], "peer_gateway": ["10.31.0.1", "fd00:31::1"]}]}},
        {"module": "nat_masquerade", "args": {"networks": [{"source": "10.31.0.0/24", "bridge": p + "br"},
                                                           {"source": "fd00:31::/64", "bridge": p + "br"}]}},
    ]


def test_calls_run_in_order_four_times(sandbox):
    check, real, _check_again, _real_again = converge_four_times(sandbox, "apply", calls=calls(sandbox))
    assert [c["module"] for c in real["calls"]] == ["netns", "bridge", "veth", "nat_masquerade"]
    assert all(c["changed"] for c in check["calls"]), "check mode plans the later calls on what earlier ones make"
    assert sandbox.ping(sandbox.prefix + "c1", "fd00:31::1") and sandbox.ping(sandbox.prefix + "c1", "10.31.0.1")
    gone = sandbox.run("apply", calls=[dict(c, args=dict(c["args"], state="absent")) for c in reversed(calls(sandbox))])
    assert gone["changed"] and sorted(sandbox.namespaces()) == [sandbox.host]


def test_a_failing_call_is_named_and_the_ones_before_it_stay_done(sandbox):
    bad = calls(sandbox)[:2] + [{"module": "veth", "args": {"pairs": [{"name": "x" * 16, "peer": "eth0"}]}}]
    result = sandbox.run("apply", calls=bad)
    assert result["failed"] and result["failed_call"] == "calls[2]"
    assert "nsbridge.network.veth: pairs[0].name:" in result["msg"] and "at most 15 bytes" in result["msg"]
    assert [c["module"] for c in result["calls"]] == ["netns", "bridge"]
    assert sandbox.prefix + "c1" in sandbox.namespaces() and sandbox.prefix + "br" in sandbox.links()
    unknown = sandbox.run("apply", calls=[{"module": "netns", "args": {"name": ["a"], "bogus": 1}}])
    assert unknown["failed"] and "calls[0]" in unknown["msg"] and "bogus" in unknown["msg"]


def test_the_result_lists_what_changed_and_counts_the_rest(sandbox):
    """A fleet host's call has O(hosts) items and Ansible holds every host's result of a task until it ends:
    apply lists the items that changed, with their actions, counts the rest, and echoes its calls in full
    only at -vvv."""
    check = sandbox.run("apply", check=True, calls=calls(sandbox))
    bridge = check["calls"][1]
    assert bridge["unchanged"] == 0 and [r["name"] for r in bridge["results"]] == [sandbox.prefix + "br"]
    assert bridge["results"][0]["actions"][0].startswith("create bridge"), "check mode names what it would do"
    assert "diff" not in bridge and all(set(r) == {"name", "item", "state", "actions"} for c in check["calls"]
                                        for r in c["results"])
    assert check["invocation"]["module_args"]["calls"][1] == {"module": "bridge", "args": "(given in full at -vvv)"}
    real = sandbox.run("apply", calls=calls(sandbox))
    assert [c["results"] for c in real["calls"]] == [c["results"] for c in check["calls"]]
    again = sandbox.run("apply", diff=True, _ansible_verbosity=3, calls=calls(sandbox))
    assert not again["changed"] and [(c["results"], c["unchanged"]) for c in again["calls"]] == [
        ([], 1), ([], 1), ([], 1), ([], 2)]
    assert again["calls"][1]["diff"] == {"before": {}, "after": {}}
    assert again["invocation"]["module_args"]["calls"][1]["args"]["bridges"][0]["name"] == sandbox.prefix + "br"


def test_a_task_keeps_its_calls_as_written_and_the_module_gets_them_templated(sandbox):
    """Ansible sends a task's templated arguments back with every host's result and holds them until the task
    ends; a fleet host's calls are O(hosts). The action apply templates them for the module only."""
    os.makedirs(sandbox.files, exist_ok=True)
    seen, play = os.path.join(sandbox.files, "seen.json"), os.path.join(sandbox.files, "play.yml")
    template = "{{ [{'module': 'netns', 'args': {'name': names}}] }}"
    with open(play, "w", encoding="utf-8") as f:
        json.dump([{"hosts": "all", "gather_facts": False, "vars": {"names": [sandbox.name("c1"), sandbox.name("c2")]},
                    "tasks": [{"name": "Apply", "nsbridge.network.apply": {"calls": template}}]}], f)
    env = {"ANSIBLE_CALLBACK_PLUGINS": os.path.join(DATA, "callback_plugins"), "NSBRIDGE_TASK_ARGS": seen,
           "ANSIBLE_CALLBACKS_ENABLED": "nsbridge_task_args"}
    for flags, changed in ((["--check"], 1), ([], 1), ([], 0)):
        proc, did, failed = sandbox.playbook(play, {}, *flags, env=env)
        assert (did, failed) == (changed, 0), proc.stdout[-2000:]
        with open(seen, encoding="utf-8") as f:
            host = json.load(f)["localhost"]
        assert host["args"]["calls"] == template, "the task keeps the template, not the calls"
        netns = host["result"]["calls"][0]
        assert (len(netns["results"]), netns["unchanged"]) == ((2, 0) if changed else (0, 2)), netns
    assert sorted(sandbox.namespaces()) == sorted([sandbox.host, sandbox.name("c1"), sandbox.name("c2")])
