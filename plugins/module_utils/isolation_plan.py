# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for network isolation (module ``nsbridge.network.network_isolation``)."""

from __future__ import annotations

from . import validate
from .edge import batch_items, field, item_spec
from .fw_memo import remembered
from .fw_plan import open_firewall
from .fw_rules import isolation_rules

ITEM_KEYS = ("bridge", "isolated", "internal", "state")


def _plan_isolation(params, stack, opened):
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
    planner, chosen = open_firewall(params["backend"], params.get("netns"), stack, opened)
    # every bridge this call knows of is a peer of every other (plus the ones named in peers)
    peers = {s["bridge"] for _p, s in specs if s["state"] == "present"} | set(params.get("peers") or [])
    plans = []
    for path, spec in specs:
        scope = "isolate:" + spec["bridge"]
        ident = None
        if spec["state"] == "present" and (spec["isolated"] or spec["internal"]):
            ident = ("isolate", spec["bridge"], spec["internal"], tuple(sorted(peers)))
        plans.append(planner.plan_item(path or spec["bridge"], spec["bridge"], scope, ident,
                                       lambda spec=spec, scope=scope: isolation_rules(
                                           scope, spec["bridge"], peers, spec["internal"])))
    return plans, {"backend": chosen, "_commit": planner.commit, "_planner": planner}


plan_isolation = remembered("network_isolation", _plan_isolation)
