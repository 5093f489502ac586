# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan several module calls in one process, as each module would in check mode (drift_info)."""

from __future__ import annotations

import contextlib

from .catalog import entry
from .errors import NsbridgeError, ValidationError

_NOT_VALIDATOR_KEYS = ("argument_spec", "supports_check_mode")


def _validated(name, spec, args, path):
    """The module's params for ``args``, validated by the module's own argument spec."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    checks = {k: v for k, v in spec.items() if k not in _NOT_VALIDATOR_KEYS}
    result = ArgumentSpecValidator(spec["argument_spec"], **checks).validate(args)
    if result.error_messages:
        raise ValidationError("nsbridge.network.%s: %s" % (name, "; ".join(result.error_messages)), path)
    return result.validated_parameters


def plan_calls(calls):
    """[{module, drift, items}] for each call: would running it (now) change anything?"""
    out = []
    for i, call in enumerate(calls):
        name, path = call["module"], "calls[%d]" % i
        spec, plan_fn, _key = entry(name)
        params = dict(_validated(name, spec, call.get("args") or {}, path), _check_mode=True)
        try:
            with contextlib.ExitStack() as stack:
                plans, _extra = plan_fn(params, stack)
        except NsbridgeError as exc:
            raise NsbridgeError("nsbridge.network.%s: %s" % (name, exc), path) from None
        items = [p.name for p in plans if p.changed]
        out.append({"module": name, "drift": bool(items), "items": items})
    return out
