# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one reconcile engine every module uses.

A module's planner observes the host once and returns one :class:`ItemPlan`
per requested object: its state before, the state it will have after, and the
steps that get it there.  :func:`apply_plans` then either only reports (check
mode) or runs the steps — the same plans, so check mode cannot disagree with a
real run.  A step that fails undoes the steps already run for *its* item (so
nothing half-made is left), keeps every earlier item as done, and the failure
names the item.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ..common.errors import KernelError, NsbridgeError


@dataclass
class Step:
    """One kernel change. ``undo`` reverses it if a later step of the same item fails."""

    describe: str
    run: Callable[[], Any]
    undo: Optional[Callable[[], Any]] = None


@dataclass
class Context:
    """What a planner gets besides its params: where to put the handles it opens (closed after
    apply), whether this is a check-mode run (a missing namespace may come from an earlier task),
    the project the call is made for (see engine.owner), whether it prunes (its absent items
    are exactly what an earlier run made and no longer is described: nothing else may go), and
    whether it restores (the restore program at boot rebuilds what a record held: what stands in
    its way is said, not refused)."""

    stack: Any                    # contextlib.ExitStack
    check_mode: bool = False
    owner: Optional[str] = None
    pruning: bool = False
    restoring: bool = False


@dataclass
class ItemPlan:
    key: str                      # how errors and results name the item: "pairs[3]"
    name: str                     # the object's own name
    before: Optional[dict]        # None: does not exist
    after: Optional[dict]         # None: will not exist
    steps: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    post_steps: list = field(default_factory=list)  # run after the transaction commits

    @property
    def changed(self):
        return bool(self.steps)


@dataclass
class Planned:
    """A planner's answer: the item plans, extra result fields (``backend``...), and ``commit``
    when the plans only stage changes that ``commit`` applies at the end: one transaction (the
    firewall modules), or with ``atomic`` false a batch whose changes each succeed or fail on their
    own (routes, neighbours: kernel.rtnl_writer)."""

    plans: list
    result: dict = field(default_factory=dict)
    commit: Optional[Callable[[], Any]] = None
    atomic: bool = True


class BatchFailed(NsbridgeError):
    """A step failed; ``outcome`` holds what was done before it."""

    def __init__(self, message, path, outcome):
        super().__init__(message, path)
        self.outcome = outcome


@dataclass
class Outcome:
    changed: bool
    results: list
    diff: dict
    warnings: list


def _result(plan, done):
    return {
        "name": plan.name,
        "item": plan.key,
        "changed": plan.changed,
        "actions": [s.describe for s in plan.steps + plan.post_steps] if done else [],
        "planned": [s.describe for s in plan.steps + plan.post_steps],
        "state": "absent" if plan.after is None else "present",
        "before": plan.before,
        "after": plan.after,
    }


def _diff(plans):
    before, after = {}, {}
    for plan in plans:
        if plan.changed:
            before[plan.name] = plan.before
            after[plan.name] = plan.after
    return {"before": before, "after": after}


def _run_item(plan):
    undo = []
    for step in plan.steps:
        try:
            step.run()
        except (NsbridgeError, OSError) as exc:
            for rollback in reversed(undo):
                try:
                    rollback()
                except (NsbridgeError, OSError):
                    pass  # best effort: the original error is the one to report
            message = exc.message if isinstance(exc, NsbridgeError) else str(exc)
            raise KernelError("%s: %s" % (step.describe, message), plan.key) from None
        if step.undo is not None:
            undo.append(step.undo)


def apply_plans(plans, check_mode, commit=None, atomic=True):
    """Run (or in check mode only report) every plan, in order.

    Without ``commit`` each step writes to the kernel and items are done one by
    one.  With ``commit`` (a callable) the steps only stage changes and sysctls,
    and ``commit()`` applies the whole batch: as one transaction, all or nothing;
    or, not ``atomic``, each change on its own (the failure names those that failed).
    """
    warnings = [w for p in plans for w in p.warnings]
    changed = any(p.changed for p in plans)
    if check_mode:
        return Outcome(changed=changed, results=[_result(p, done=False) for p in plans],
                       diff=_diff(plans), warnings=warnings)
    results = []
    for plan in plans:
        try:
            _run_item(plan)
        except KernelError as exc:
            partial = Outcome(changed=any(r["changed"] for r in results), results=results,
                              diff=_diff(plans[:len(results)]), warnings=warnings)
            raise BatchFailed(exc.message, exc.path, partial) from None
        results.append(_result(plan, done=True))
    if commit is not None and changed and not atomic:
        try:
            commit()
        except (NsbridgeError, OSError) as exc:
            raise BatchFailed(str(exc), "batch", Outcome(changed=True, results=results, diff=_diff(plans),
                                                         warnings=warnings)) from None
    elif commit is not None and changed:
        try:
            commit()
        except (NsbridgeError, OSError) as exc:
            for plan in reversed(plans):
                for step in reversed(plan.steps):
                    if step.undo is not None:
                        try:
                            step.undo()
                        except (NsbridgeError, OSError):
                            pass
            nothing = Outcome(changed=False, results=[], diff={"before": {}, "after": {}}, warnings=warnings)
            raise BatchFailed("commit failed, nothing was applied: %s" % exc, "transaction", nothing) from None
    for plan in plans:
        for step in plan.post_steps:
            step.run()
    return Outcome(changed=changed, results=results, diff=_diff(plans), warnings=warnings)
