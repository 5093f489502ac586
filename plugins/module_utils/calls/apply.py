# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several module calls in one process, each exactly as its module would run it: planned only
(drift_info: would anything change?) or applied (apply: the roles' one task per role).
network_info's drift (calls.drift) plans them the same way, through ``checked``."""

from __future__ import annotations

import contextlib

from ..common.errors import NsbridgeError, ValidationError
from ..engine.reconcile import BatchFailed, Context, apply_plans
from .catalog import entry, preflight
from .ownership import Ledger

_NOT_VALIDATOR_KEYS = ("argument_spec", "supports_check_mode")


def _validated(name, spec, args, path):
    """The module's params for ``args``, validated by the module's own argument spec."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    checks = {k: v for k, v in spec.items() if k not in _NOT_VALIDATOR_KEYS}
    result = ArgumentSpecValidator(spec["argument_spec"], **checks).validate(args)
    if result.error_messages:
        raise ValidationError("nsbridge.network.%s: %s" % (name, "; ".join(result.error_messages)), path)
    return result.validated_parameters


def checked(calls):
    """Each call planned as its module plans it in check mode: yields (module name, 'calls[i]',
    validated params, item plans)."""
    for i, call in enumerate(calls):
        name, path = call["module"], "calls[%d]" % i
        spec, plan_fn, _key = entry(name)
        params = _validated(name, spec, call.get("args") or {}, path)
        try:
            with contextlib.ExitStack() as stack:
                plans = plan_fn(params, Context(stack, check_mode=True)).plans
        except NsbridgeError as exc:
            raise NsbridgeError("nsbridge.network.%s: %s" % (name, exc), path) from None
        yield name, path, params, plans


def plan_calls(calls):
    """[{module, drift, items}] for each call: would running it (now) change anything?"""
    out = []
    for name, _path, _params, plans in checked(calls):
        items = [p.name for p in plans if p.changed]
        out.append({"module": name, "drift": bool(items), "items": items})
    return out


def _validate_all(calls, validated):
    """[(name, 'calls[i]', params)]: every call validated before any runs."""
    out = []
    for i, call in enumerate(calls):
        name, path = call["module"], "calls[%d]" % i
        spec, _plan_fn, _key = entry(name)
        out.append((name, path, call["args"] if validated else _validated(name, spec, call.get("args") or {}, path)))
    return out


def _run(name, path, params, ctx_args, done):
    """One call, planned and applied (or only planned: ctx_args' check_mode) -> its result."""
    _spec, plan_fn, _key = entry(name)
    try:
        with contextlib.ExitStack() as stack:
            planned = plan_fn(params, Context(stack, **ctx_args))
            outcome = apply_plans(planned.plans, ctx_args["check_mode"], planned.commit, planned.atomic)
    except BatchFailed as exc:
        raise CallFailed("nsbridge.network.%s: %s" % (name, exc), path, done, exc.outcome.results) from None
    except NsbridgeError as exc:
        raise CallFailed("nsbridge.network.%s: %s" % (name, exc), path, done, []) from None
    return outcome


def apply_calls(calls, check_mode, validated=False, project=None, record=None, prune=True, external=(),
                restoring=False):
    """Run several module calls in one process, in order, each exactly as its module would (same
    argument spec, planner and engine; check mode plans only): {changed, calls: [{module, changed,
    results, diff, prune}], warnings, validated: the calls with each module's validated parameters,
    pruned, kept}.  A call that fails raises CallFailed naming it, after the calls before it are done.

    ``validated``: the calls' args already are validated parameters (a record made from an earlier
    run's ``validated``); they are used as they are, without Ansible's argument spec validator.
    ``project``: what the calls make is marked as the project's, and another project's objects are
    neither used nor removed (engine.owner).  ``record`` (with a project): what an earlier apply of
    the record made and these calls no longer make is removed first (``prune``) or kept with a
    warning; ``pruned`` and ``kept`` describe it (calls.ownership).  ``external``: names of what the caller
    makes by other means, recorded too; those no longer listed come back in ``external_orphans``
    (with ``prune``) for the caller to remove.  ``restoring``: the calls rebuild what a record held
    (the restore program at boot; engine.reconcile.Context)."""
    checked_calls = _validate_all(calls, validated)
    for name, path, params in checked_calls:
        try:
            preflight(name, params)
        except NsbridgeError as exc:
            raise CallFailed("nsbridge.network.%s: %s" % (name, exc), path, [], []) from None
    validated_calls = [{"module": name, "args": params} for name, _path, params in checked_calls]
    ledger = Ledger(project, record, validated_calls, external) if project and record else None
    warnings = list(ledger.warnings) if ledger else []
    removals, pruned, kept, external_orphans = [], [], {}, []
    if ledger is not None:
        orphans = ledger.orphans()
        if orphans and prune:
            removals = [(c["module"], "prune[%d]" % i, _validate_all([c], False)[0][2])
                        for i, c in enumerate(ledger.prune_calls())]
            pruned = ledger.describe(orphans)
            external_orphans = ledger.external_orphans()
        elif orphans:
            kept = orphans
            warnings.append("project %r, record %s: no longer described, kept because prune is off: %s"
                            % (project, record, "; ".join(ledger.describe(orphans))))
    context = {"owner": project or None, "restoring": restoring}
    if ledger is not None and not check_mode:
        if ledger.new():
            # something is made that no record of the project holds: find a conflict with another
            # project's objects while planning, before anything changes
            for name, path, params in removals + checked_calls:
                _spec, plan_fn, _key = entry(name)
                try:
                    with contextlib.ExitStack() as stack:
                        plan_fn(params, Context(stack, check_mode=True, pruning=path.startswith("prune"), **context))
                except NsbridgeError as exc:
                    raise CallFailed("nsbridge.network.%s: %s" % (name, exc), path, [], []) from None
        ledger.write_ahead()
    out = []
    for name, path, params in removals + checked_calls:
        pruning = path.startswith("prune")
        outcome = _run(name, path, params, dict(check_mode=check_mode, pruning=pruning, **context), out)
        warnings += ["%s: %s" % (name, w) for w in outcome.warnings]
        out.append({"module": name, "changed": outcome.changed, "results": outcome.results, "diff": outcome.diff,
                    "prune": pruning})
    if ledger is not None and not check_mode:
        ledger.write_done(kept)
    removed = any(c["prune"] and c["changed"] for c in out)
    if pruned and (removed or external_orphans):
        warnings.insert(0, "project %r, record %s: no longer described, %s: %s"
                        % (project, record, "would be removed" if check_mode else "removed", "; ".join(pruned)))
    return {"changed": any(c["changed"] for c in out), "calls": out, "warnings": warnings,
            "validated": validated_calls,
            "pruned": pruned if external_orphans or removed else [],
            "kept": ledger.describe(kept) if kept else [], "external_orphans": external_orphans}


# the changed items apply lists per call; the others are counted (their changes are in diff mode's before/after)
LISTED = 50


def reported(calls, diff):
    """What apply returns of its calls: per call its module, ``changed``, ``prune``, ``results``: the items that
    changed (or in check mode would), each with its actions (changed_items), at most LISTED of them, with
    ``unlisted`` counting the others, and ``unchanged`` counting the items already as described; ``diff`` (each
    changed item before and after) in diff mode only.

    Why not every item with its state, as a module returns them: a fleet host's call has O(hosts) items (its
    routes, its VXLAN peers), and Ansible holds every host's result of a task until the task ends, so a play
    of N hosts would hold N^2 items: on a re-run, none of them changed; on the first run, all of them did
    (1,000 hosts: a million routes, ~1.2 GB of the controller's memory)."""
    out = []
    for call in calls:
        changed = changed_items(call["results"])
        entry = {"module": call["module"], "changed": call["changed"], "prune": call["prune"],
                 "results": changed[:LISTED], "unlisted": max(0, len(changed) - LISTED),
                 "unchanged": len(call["results"]) - len(changed)}
        if diff:
            entry["diff"] = call["diff"]
        out.append(entry)
    return out


def changed_items(results):
    """Of a call's per-item results, those that changed (or would): each item's ``name``, ``item``, ``state`` and
    ``actions``, the steps it ran or in check mode would run (an item that changed ran every step it planned)."""
    return [{"name": r["name"], "item": r["item"], "state": r["state"], "actions": r["planned"]}
            for r in results if r["changed"]]


class CallFailed(NsbridgeError):
    """A call of apply_calls failed: ``done`` the calls before it, ``results`` its own items done."""

    def __init__(self, message, path, done, results):
        super().__init__(message, path)
        self.done = done
        self.results = results
