# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for network isolation (module ``nsbridge.network.network_isolation``), both families."""

from __future__ import annotations

from ..common import validate
from ..common.errors import field
from ..engine.edge import batch_items, item_spec
from ..engine.reconcile import Planned
from ..kernel.netlink import BRIDGE_GROUP
from ..firewall.planner import FirewallPlanner
from ..firewall.registry import open_backend
from ..firewall.rules import Scope, isolation_rules

ITEM_OPTIONS = dict(
    bridge=dict(type="str"),
    isolated=dict(type="bool", default=True),
    internal=dict(type="bool", default=False),
)
ITEM_KEYS = tuple(ITEM_OPTIONS) + ("state",)


def plan_isolation(params, ctx):
    items = batch_items(params, "networks", ITEM_KEYS)
    specs = []
    for path, item in items:
        spec = item_spec(item, ITEM_KEYS, params["state"])
        validate.ifname(spec["bridge"], field(path, "bridge"))
        spec["isolated"] = True if spec["isolated"] is None else spec["isolated"]
        spec["internal"] = bool(spec["internal"])
        specs.append((path, spec))
    validate.unique(specs, lambda ps: ps[1]["bridge"], lambda i: field(specs[i][0], "bridge"), "bridge")
    for i, peer in enumerate(params.get("peers") or []):
        validate.ifname(peer, "peers[%d]" % i)
    planner = FirewallPlanner(open_backend(params["backend"], params.get("netns"), ctx.stack), ctx.owner)
    # every nsbridge bridge on the host is matched by its device group; peers adds bridges of others
    peers = set(params.get("peers") or [])
    plans = []
    for path, spec in specs:
        scope = Scope("isolate", spec["bridge"])
        ident = None
        if spec["state"] == "present" and (spec["isolated"] or spec["internal"]):
            ident = ("isolate", spec["bridge"], spec["internal"], tuple(sorted(peers)), BRIDGE_GROUP)
        plans.append(planner.plan_item(path or spec["bridge"], spec["bridge"], scope, ident,
                                       lambda spec=spec, scope=scope: isolation_rules(
                                           str(scope), spec["bridge"], peers, spec["internal"], BRIDGE_GROUP)))
    repair = planner.repair_plan()
    if repair is not None:
        plans.append(repair)
    return Planned(plans, {"backend": planner.backend.name}, planner.commit)
