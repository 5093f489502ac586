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
from .catalog import entry

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


def apply_calls(calls, check_mode, validated=False):
    """Run several module calls in one process, in order, each exactly as its module would (same
    argument spec, planner and engine; check mode plans only): {changed, calls: [{module, changed,
    results, diff}], warnings, validated: the calls with each module's validated parameters}.
    A call that fails raises CallFailed naming it, after the calls before it are done.

    ``validated``: the calls' args already are validated parameters (a record made from an earlier
    run's ``validated``); they are used as they are, without Ansible's argument spec validator."""
    out, warnings, validated_calls = [], [], []
    for i, call in enumerate(calls):
        name, path = call["module"], "calls[%d]" % i
        spec, plan_fn, _key = entry(name)
        params = call["args"] if validated else _validated(name, spec, call.get("args") or {}, path)
        validated_calls.append({"module": name, "args": params})
        try:
            with contextlib.ExitStack() as stack:
                planned = plan_fn(params, Context(stack, check_mode=check_mode))
                outcome = apply_plans(planned.plans, check_mode, planned.commit)
        except BatchFailed as exc:
            raise CallFailed("nsbridge.network.%s: %s" % (name, exc), path, out,
                             exc.outcome.results) from None
        except NsbridgeError as exc:
            raise CallFailed("nsbridge.network.%s: %s" % (name, exc), path, out, []) from None
        warnings += ["%s: %s" % (name, w) for w in outcome.warnings]
        out.append({"module": name, "changed": outcome.changed, "results": outcome.results, "diff": outcome.diff})
    return {"changed": any(c["changed"] for c in out), "calls": out, "warnings": warnings, "validated": validated_calls}


class CallFailed(NsbridgeError):
    """A call of apply_calls failed: ``done`` the calls before it, ``results`` its own items done."""

    def __init__(self, message, path, done, results):
        super().__init__(message, path)
        self.done = done
        self.results = results
