"""What apply returns of its calls (calls.apply.reported): the changed items with their actions, at most
LISTED a call, the others counted; every item's state only in diff mode. A fleet host's call has O(hosts)
items and Ansible holds every host's result of a task until the task ends."""

from ansible_collections.nsbridge.network.plugins.module_utils.calls.apply import LISTED, reported
from ansible_collections.nsbridge.network.plugins.module_utils.engine.reconcile import ItemPlan, Step, apply_plans


def _call(changed, unchanged, check_mode):
    """A route call's outcome as apply_calls keeps it: ``changed`` routes to add, ``unchanged`` already there."""
    plans = [ItemPlan("routes[%d]" % i, "10.%d.0.0/24" % i, None, {"dst": "10.%d.0.0/24" % i},
                      [Step("route 10.%d.0.0/24 via 192.0.2.1" % i, lambda: None)]) for i in range(changed)]
    plans += [ItemPlan("routes[%d]" % i, "10.%d.0.0/24" % i, {"dst": "10.%d.0.0/24" % i}, {"dst": "10.%d.0.0/24" % i})
              for i in range(changed, changed + unchanged)]
    outcome = apply_plans(plans, check_mode)
    return {"module": "route", "changed": outcome.changed, "results": outcome.results, "diff": outcome.diff,
            "prune": False}


def test_the_changed_items_with_their_actions_the_rest_counted():
    for check_mode in (True, False):
        call = reported([_call(3, 997, check_mode)], diff=False)[0]
        assert call["results"] == [{"name": "10.%d.0.0/24" % i, "item": "routes[%d]" % i, "state": "present",
                                    "actions": ["route 10.%d.0.0/24 via 192.0.2.1" % i]} for i in range(3)]
        assert (call["unlisted"], call["unchanged"], call["changed"]) == (0, 997, True) and "diff" not in call


def test_a_call_lists_at_most_listed_changed_items_and_counts_the_others():
    call = reported([_call(999, 0, False)], diff=True)[0]
    assert [r["item"] for r in call["results"]] == ["routes[%d]" % i for i in range(LISTED)]
    assert (call["unlisted"], call["unchanged"]) == (999 - LISTED, 0)
    assert len(call["diff"]["after"]) == 999, "diff mode has every change"


def test_a_converged_call_is_the_same_few_bytes_at_any_size():
    assert reported([_call(0, 10, False)], diff=False) == [
        {"module": "route", "changed": False, "prune": False, "results": [], "unlisted": 0, "unchanged": 10}]
    assert reported([_call(0, 10000, False)], diff=False)[0]["results"] == []
