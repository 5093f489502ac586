"""The reconcile engine: one plan for check and real runs, rollback of a failing item."""

import pytest

from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import KernelError
from ansible_collections.nsbridge.network.plugins.module_utils.engine.reconcile import (
    BatchFailed, ItemPlan, Step, apply_plans)


def _plans(log, fail_at=None):
    def step(label):
        def run():
            if label == fail_at:
                raise KernelError("boom")
            log.append(label)
        return Step(label, run, lambda: log.append("undo " + label))
    return [
        ItemPlan("items[0]", "a", None, {"n": "a"}, [step("a1"), step("a2")]),
        ItemPlan("items[1]", "b", {"n": "b"}, {"n": "b"}, []),
        ItemPlan("items[2]", "c", None, {"n": "c"}, [step("c1"), step("c2"), step("c3")]),
    ]


def test_check_mode_reports_without_running():
    log = []
    outcome = apply_plans(_plans(log), check_mode=True)
    assert log == [] and outcome.changed
    assert [r["changed"] for r in outcome.results] == [True, False, True]
    assert outcome.results[0]["planned"] == ["a1", "a2"] and outcome.results[0]["actions"] == []
    assert outcome.diff == {"before": {"a": None, "c": None}, "after": {"a": {"n": "a"}, "c": {"n": "c"}}}


def test_real_run_runs_the_same_plan():
    log = []
    outcome = apply_plans(_plans(log), check_mode=False)
    assert log == ["a1", "a2", "c1", "c2", "c3"]
    assert outcome.results[2]["actions"] == ["c1", "c2", "c3"]
    assert outcome.diff == apply_plans(_plans([]), check_mode=True).diff


def test_failure_rolls_back_only_the_failing_item():
    log = []
    with pytest.raises(BatchFailed) as exc:
        apply_plans(_plans(log, fail_at="c3"), check_mode=False)
    assert log == ["a1", "a2", "c1", "c2", "undo c2", "undo c1"]
    assert exc.value.path == "items[2]" and "c3: boom" in str(exc.value)
    assert [r["name"] for r in exc.value.outcome.results] == ["a", "b"]
    assert exc.value.outcome.changed


def test_nothing_to_do_is_not_changed():
    outcome = apply_plans([ItemPlan("x", "x", {"a": 1}, {"a": 1})], check_mode=False)
    assert outcome.changed is False and outcome.diff == {"before": {}, "after": {}}
