# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module edge: params in, one exit_json or fail_json out.

Takes an AnsibleModule-like object (anything with ``params``, ``check_mode``,
``_diff``, ``exit_json``, ``fail_json``, ``warn``) without importing Ansible.
"""

from __future__ import annotations

import contextlib

from ..common.errors import NsbridgeError
from .reconcile import BatchFailed, Context, apply_plans


def batch_items(params, list_key, item_keys):
    """Return [(path, item)] from either the single-object options or the list option.

    Single form: the path prefix is empty (errors read ``peer_addresses[0]: ...``);
    batch form: ``pairs[3].`` (errors read ``pairs[3].peer_addresses[0]: ...``).
    """
    if params.get(list_key) is not None:
        # an option an item leaves unset takes the top-level value (netns: for the whole batch)
        return [("%s[%d]" % (list_key, i),
                 {k: params.get(k) if item.get(k) is None and k != "state" else item.get(k) for k in item_keys})
                for i, item in enumerate(params[list_key])]
    return [("", {k: params.get(k) for k in item_keys})]


STATE_CHOICES = ["present", "absent"]


def batch_spec(item_options, key, list_key, **call_options):
    """AnsibleModule keyword arguments for a module with a single form and a batch form.

    ``item_options`` are the per-object options (top level for one object, and the
    suboptions of ``list_key`` for many, where ``key`` is required and ``state`` may
    override the call's).  ``call_options`` apply to the whole call (netns, backend...).
    """
    item = dict(item_options)
    item[key] = dict(item_options[key], required=True)
    item["state"] = dict(type="str", choices=STATE_CHOICES)
    argument_spec = dict(item_options, **call_options)
    argument_spec[list_key] = dict(type="list", elements="dict", options=item)
    argument_spec["state"] = dict(type="str", choices=STATE_CHOICES, default="present")
    return dict(argument_spec=argument_spec, required_one_of=[(key, list_key)],
                mutually_exclusive=[(key, list_key)], supports_check_mode=True)


def item_spec(item, item_keys, default_state):
    """One batch item with every key present and its state resolved (its own, or the call's)."""
    spec = {k: item.get(k) for k in item_keys}
    spec["state"] = spec.get("state") or default_state
    return spec


def run(module, module_name, plan_fn, result_key):
    """Plan, apply, and exit.

    ``plan_fn(params, ctx) -> Planned``; kernel handles it opens go on ``ctx.stack`` and are
    closed after apply.  A Planned with ``commit`` is one transaction.
    """
    extra = {}
    try:
        with contextlib.ExitStack() as stack:
            planned = plan_fn(module.params, Context(stack, module.check_mode))
            extra = planned.result
            outcome = apply_plans(planned.plans, module.check_mode, planned.commit, planned.atomic)
    except BatchFailed as exc:
        done = [r["name"] for r in exc.outcome.results]
        module.fail_json(msg="nsbridge.network.%s: %s" % (module_name, exc),
                         failed_item=exc.path, done=done, changed=exc.outcome.changed,
                         results=exc.outcome.results, **extra)
        return
    except NsbridgeError as exc:
        module.fail_json(msg="nsbridge.network.%s: %s" % (module_name, exc), **extra)
        return
    for warning in outcome.warnings:
        module.warn(warning)
    result = dict(changed=outcome.changed, results=outcome.results, **extra)
    result[result_key] = [r["after"] for r in outcome.results if r["after"] is not None]
    if getattr(module, "_diff", False):
        result["diff"] = outcome.diff
    module.exit_json(**result)
