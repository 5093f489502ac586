# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for network namespaces (module ``nsbridge.network.netns``)."""

from __future__ import annotations

import os

from ..common import validate
from ..engine import owner as owners
from ..engine.reconcile import ItemPlan, Planned, Step
from ..kernel.netlink import Kernel, mark, netns_exists, netns_path, stale_netns


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
            plans.append(_plan_present(kernel, key, name, exists, ctx.owner))
        else:
            plans.append(_plan_absent(kernel, key, name, exists, ctx.owner))
    return Planned(plans)


def _describe(kernel, name):
    lo = kernel.ns(name).link("lo")
    return owners.tagged({"name": name, "lo_up": bool(lo and lo["up"]), "managed": kernel.netns_is_ours(name)},
                         kernel.netns_owner(name))


def _plan_present(kernel, key, name, exists, owner):
    if not exists:
        return ItemPlan(key, name, None, owners.tagged({"name": name, "lo_up": True, "managed": True}, owner), [
            Step("create network namespace %s" % name,
                 lambda: kernel.create_netns(name, owner),
                 lambda: kernel.remove_netns(name)),
        ])
    before = _describe(kernel, name)
    after = dict(before, lo_up=True)
    lo = {}
    if not before["lo_up"]:
        lo["state"] = "up"
    if before["managed"]:
        owners.check(owner, before.get("project"), "network namespace %r" % name, key)
        if owners.claims(owner, before.get("project")):
            lo["ifalias"] = mark("netns", owner)
            after["project"] = owner
    steps = []
    if lo:
        ns = kernel.ns(name)
        what = " and ".join((["up"] if "state" in lo else []) + (["mark it as project %s's" % owner] if "ifalias" in lo else []))
        steps.append(Step("set lo %s in %s" % (what, name),
                          lambda: ns.call("set lo", ns.ipr.link, "set", index=ns.index_of("lo"), **lo)))
    return ItemPlan(key, name, before, after, steps)


def _plan_absent(kernel, key, name, exists, owner):
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
    if not owners.removable(owner, before.get("project")):
        return ItemPlan(key, name, before, before, warnings=[
            owners.left_warning(owner, before.get("project"), "network namespace %r" % name)])
    return ItemPlan(key, name, before, None, [
        Step("remove network namespace %s" % name, lambda: kernel.remove_netns(name)),
    ])
