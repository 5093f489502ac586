# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for network namespaces (module ``nsbridge.network.netns``)."""

from __future__ import annotations

import os

from ..common import validate
from ..engine.reconcile import ItemPlan, Planned, Step
from ..kernel.netlink import Kernel, netns_exists, netns_path, stale_netns


def _path(names, i):
    return "name[%d]" % i if len(names) > 1 else "name"


def plan_namespaces(params, ctx):
    names = params["name"]
    state = params["state"]
    for i, name in enumerate(names):
        validate.netns_name(name, _path(names, i))
    validate.unique(names, lambda n: n, lambda i: _path(names, i), "namespace")

    kernel = ctx.stack.enter_context(Kernel())
    plans = []
    for i, name in enumerate(names):
        key = _path(names, i)
        # a bare /run/netns file left by a creation that was killed is no namespace: made anew
        exists = netns_exists(name)
        if state == "present":
            plans.append(_plan_present(kernel, key, name, exists))
        else:
            plans.append(_plan_absent(kernel, key, name, exists))
    return Planned(plans)


def _describe(kernel, name):
    lo = kernel.ns(name).link("lo")
    return {"name": name, "lo_up": bool(lo and lo["up"]), "managed": kernel.netns_is_ours(name)}


def _plan_present(kernel, key, name, exists):
    if not exists:
        return ItemPlan(key, name, None, {"name": name, "lo_up": True, "managed": True}, [
            Step("create network namespace %s" % name,
                 lambda: kernel.create_netns(name),
                 lambda: kernel.remove_netns(name)),
        ])
    before = _describe(kernel, name)
    steps = []
    if not before["lo_up"]:
        ns = kernel.ns(name)
        steps.append(Step("set lo up in %s" % name,
                          lambda: ns.call("set lo up", ns.ipr.link, "set", index=ns.index_of("lo"), state="up")))
    return ItemPlan(key, name, before, dict(before, lo_up=True), steps)


def _plan_absent(kernel, key, name, exists):
    if not exists:
        if stale_netns(name):  # the bare file a creation killed half-way left: no namespace, only its name
            return ItemPlan(key, name, None, None, [
                Step("remove %s (a file left by an interrupted creation)" % netns_path(name),
                     lambda: os.unlink(netns_path(name)))])
        return ItemPlan(key, name, None, None)
    before = _describe(kernel, name)
    if not before["managed"]:
        return ItemPlan(key, name, before, before, warnings=[
            "network namespace %r was not created by nsbridge; left in place" % name])
    return ItemPlan(key, name, before, None, [
        Step("remove network namespace %s" % name, lambda: kernel.remove_netns(name)),
    ])
