# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Several module calls in one process, each exactly as its module would run it: planned only
(drift_info: would anything change?) or applied (apply: the roles' one task per role)."""

from __future__ import annotations

import contextlib

from .catalog import entry
from .errors import NsbridgeError, ValidationError
from .reconcile import BatchFailed, Context, apply_plans

_NOT_VALIDATOR_KEYS = ("argument_spec", "supports_check_mode")


def _validated(name, spec, args, path):
    """The module's params for ``args``, validated by the module's own argument spec."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    checks = {k: v for k, v in spec.items() if k not in _NOT_VALIDATOR_KEYS}
    result = ArgumentSpecValidator(spec["argument_spec"], **checks).validate(args)
    if result.error_messages:
        raise ValidationError("nsbridge.network.%s: %s" % (name, "; ".join(result.error_messages)), path)
    return result.validated_parameters


def _checked(calls):
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
    for name, _path, _params, plans in _checked(calls):
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
    out, warnings, checked = [], [], []
    for i, call in enumerate(calls):
        name, path = call["module"], "calls[%d]" % i
        spec, plan_fn, _key = entry(name)
        params = call["args"] if validated else _validated(name, spec, call.get("args") or {}, path)
        checked.append({"module": name, "args": params})
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
    return {"changed": any(c["changed"] for c in out), "calls": out, "warnings": warnings, "validated": checked}


class CallFailed(NsbridgeError):
    """A call of apply_calls failed: ``done`` the calls before it, ``results`` its own items done."""

    def __init__(self, message, path, done, results):
        super().__init__(message, path)
        self.done = done
        self.results = results


# what each module's items are in host_report, by the names its plans give them: the report's
# objects of a kind the description covers but does not name are reported as extra
_REPORTED = {
    "netns": lambda r: [c["name"] for c in r["containers"] if c["managed"]],
    "bridge": lambda r: [n["name"] for n in r["networks"] if n["managed"]],
    "veth": lambda r: [i["host_peer"] for c in r["containers"] if c["managed"] for i in c["interfaces"] if i["host_peer"]],
    "workload": lambda r: [w["name"] for c in r["containers"] for w in c["workloads"]],
    "port_publish": lambda r: [p["scope"].partition(":")[2] for p in r["published"]],
    "nat_masquerade": lambda r: [m["source"] for m in r["masquerades"]],
    "network_isolation": lambda r: [i["bridge"] for i in r["isolation"]],
    "route": lambda r: [x["dst"] for x in r["routes"]],
    "vxlan": lambda r: [v["name"] for v in r["vxlan"]],
}


def drift_report(calls, report):
    """network_info's drift section: the calls (a role's description of the host) planned as the
    modules would in check mode, against ``report`` (host_report's answer).

    ``missing``: items the calls describe that do not exist; ``differs``: items that exist but not
    as described (``have`` and ``want``); ``extra``: what nsbridge made that the calls say should
    not exist, or that no call names although calls of its module are there (in the host's own
    namespace: calls with a ``netns`` are planned, but not compared with the report).
    """
    missing, differs, extra, named, covered = [], [], [], set(), set()
    for name, path, params, plans in _checked(calls):
        here = params.get("netns") is None
        if here:
            covered.add(name)
        for plan in plans:
            if here:
                named.add((name, plan.name))
            if not plan.changed:
                continue
            what = {"module": name, "call": path, "item": plan.key, "name": plan.name}
            if plan.before is None:
                missing.append(dict(what, want=plan.after))
            elif plan.after is None:
                extra.append(dict(what, have=plan.before))
            else:
                differs.append(dict(what, have=plan.before, want=plan.after))
    for name in sorted(covered):
        for obj in sorted(set(_REPORTED[name](report))):
            if (name, obj) not in named:
                extra.append({"module": name, "call": None, "item": None, "name": obj, "have": None})
    return {"changed": bool(missing or differs or extra), "missing": missing, "differs": differs, "extra": extra}
