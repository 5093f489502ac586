# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for egress NAT (module ``nsbridge.network.nat_masquerade``), IPv4 and IPv6."""

from __future__ import annotations

from ..common import validate
from ..common.errors import ValidationError, field
from ..common.family import family_of
from ..engine.edge import batch_items, item_spec
from ..engine.reconcile import Planned
from ..firewall.host_settings import forwarding_steps
from ..firewall.planner import FirewallPlanner
from ..firewall.registry import open_backend
from ..firewall.rules import Scope, masquerade_rules

ITEM_OPTIONS = dict(
    source=dict(type="str"),
    bridge=dict(type="str"),
    out_interface=dict(type="str"),
    forward=dict(type="bool", default=True),
    routed=dict(type="bool", default=False),
    exclude=dict(type="list", elements="str"),
    accept_from=dict(type="list", elements="str"),
)
ITEM_KEYS = tuple(ITEM_OPTIONS) + ("state",)


def validate_masquerade(path, item, default_state):
    spec = item_spec(item, ITEM_KEYS, default_state)
    if spec["source"] is None:
        raise ValidationError("is required", field(path, "source"))
    source = validate.network(spec["source"], field(path, "source"))
    spec["source"] = str(source)
    for key in ("bridge", "out_interface"):
        if spec[key] is not None:
            validate.ifname(spec[key], field(path, key))
    spec["forward"] = True if spec["forward"] is None else spec["forward"]
    spec["routed"] = bool(spec["routed"])
    for key in ("exclude", "accept_from"):
        values = []
        for i, value in enumerate(spec[key] or []):
            where = "%s[%d]" % (field(path, key), i)
            values.append(str(validate.same_family(validate.network(value, where), source, where, "source")))
        spec[key] = values
    return spec


def plan_masquerades(params, ctx):
    items = batch_items(params, "networks", ITEM_KEYS)
    specs = [(path, validate_masquerade(path, item, params["state"])) for path, item in items]
    validate.unique(specs, lambda ps: ps[1]["source"], lambda i: field(specs[i][0], "source"), "source")
    netns = params.get("netns")
    if netns is not None:
        validate.netns_name(netns, "netns")
    backend = open_backend(params["backend"], netns, ctx.stack)
    planner = FirewallPlanner(backend, ctx.owner)
    plans = []
    for path, spec in specs:
        scope = Scope("masq", spec["source"])
        ident = None
        if spec["state"] == "present":
            ident = ("masq", spec["source"], spec["bridge"], spec["out_interface"], spec["forward"],
                     tuple(spec["exclude"]), tuple(spec["accept_from"]), spec["routed"])
        plans.append(planner.plan_item(path or spec["source"], spec["source"], scope, ident,
                                       lambda spec=spec, scope=scope: masquerade_rules(
                                           str(scope), spec["source"], spec["bridge"], spec["out_interface"],
                                           spec["forward"], spec["exclude"], spec["accept_from"],
                                           nat=not spec["routed"])))

    present = [p for p, (_path, s) in zip(plans, specs) if s["state"] == "present"]
    absent = [p for p, (_path, s) in zip(plans, specs) if s["state"] == "absent"]
    wanted = {family_of(s["source"]) for _p, s in specs if s["state"] == "present"} if params["ip_forward"] else set()
    steps, warnings = forwarding_steps(planner, netns, wanted, bool(absent))
    if steps or warnings:
        holder = (present or absent)[0 if present else -1]
        holder.steps += steps
        holder.warnings += warnings
    repair = planner.repair_plan()
    if repair is not None:
        plans.append(repair)
    result = {"backend": backend.name}
    if params["ip_forward"] and present:
        result["ip_forward"] = True
    return Planned(plans, result, planner.commit)
