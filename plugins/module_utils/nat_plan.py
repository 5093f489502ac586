# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for egress NAT (module ``nsbridge.network.nat_masquerade``)."""

from __future__ import annotations

from . import validate
from .edge import batch_items, field, item_spec
from .errors import ValidationError
from .fw_memo import remembered
from .fw_plan import forwarding_steps, open_firewall
from .fw_rules import masquerade_rules

ITEM_KEYS = ("source", "bridge", "out_interface", "forward", "exclude", "accept_from", "state")


def validate_masquerade(path, item, default_state):
    spec = item_spec(item, ITEM_KEYS, default_state)
    if spec["source"] is None:
        raise ValidationError("is required", field(path, "source"))
    spec["source"] = validate.ipv4(validate.network, spec["source"], field(path, "source"),
                                   "only IPv4 networks are masqueraded")
    for key in ("bridge", "out_interface"):
        if spec[key] is not None:
            validate.ifname(spec[key], field(path, key))
    if spec["forward"] is None:
        spec["forward"] = True
    for key in ("exclude", "accept_from"):
        spec[key] = [validate.ipv4(validate.network, v, "%s[%d]" % (field(path, key), i), "only IPv4 networks")
                     for i, v in enumerate(spec[key] or [])]
    return spec


def _plan_masquerades(params, stack, opened):
    items = batch_items(params, "networks", ITEM_KEYS)
    specs = [(path, validate_masquerade(path, item, params["state"])) for path, item in items]
    validate.unique(specs, lambda ps: ps[1]["source"], lambda i: field(specs[i][0], "source"), "source")
    if params.get("netns") is not None:
        validate.netns_name(params["netns"], "netns")
    planner, chosen = open_firewall(params["backend"], params.get("netns"), stack, opened)
    plans = []
    for path, spec in specs:
        scope = "masq:" + spec["source"]
        ident = None
        if spec["state"] == "present":
            ident = ("masq", spec["source"], spec["bridge"], spec["out_interface"], spec["forward"],
                     tuple(spec["exclude"]), tuple(spec["accept_from"]))
        plans.append(planner.plan_item(path or spec["source"], spec["source"], scope, ident,
                                       lambda spec=spec, scope=scope: masquerade_rules(
                                           scope, spec["source"], spec["bridge"], spec["out_interface"],
                                           spec["forward"], spec["exclude"], spec["accept_from"])))

    netns = params.get("netns")
    present = [p for p, (_path, s) in zip(plans, specs) if s["state"] == "present"]
    absent = [p for p, (_path, s) in zip(plans, specs) if s["state"] == "absent"]
    steps = forwarding_steps(planner, netns, params["ip_forward"] and bool(present), bool(absent))
    if steps:
        (present or absent)[0 if present else -1].steps += steps
    extra = {"backend": chosen, "_commit": planner.commit, "_planner": planner}
    if params["ip_forward"] and present:
        extra["ip_forward"] = True
    return plans, extra


plan_masquerades = remembered("nat_masquerade", _plan_masquerades)
