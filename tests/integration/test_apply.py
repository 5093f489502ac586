"""apply: several module calls in one process, each as its module runs it, in order."""

from conftest import converge_four_times


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
