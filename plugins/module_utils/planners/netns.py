# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for network namespaces (module ``nsbridge.network.netns``).

With ``sysctls``, each namespace named also holds those ``net.*`` values (a lab's router forwards:
``net.ipv4.ip_forward: 1``); a namespace's own sysctls die with it, so they need no undoing when it
goes.  Only the keys given are read and set.
"""

from __future__ import annotations

import os
import re

from ..common import validate
from ..common.errors import KernelError, ValidationError
from ..engine import owner as owners
from ..engine.reconcile import ItemPlan, Planned, Step
from ..firewall.host_settings import read_sysctl, write_sysctl
from ..kernel.netlink import Kernel, mark, netns_exists, netns_path, stale_netns

SYSCTL = re.compile(r"^net(\.[A-Za-z0-9_-]+)+$")


def _path(names, i):
    return "name[%d]" % i if len(names) > 1 else "name"


def plan_namespaces(params, ctx):
    names = params["name"]
    state = params["state"]
    for i, name in enumerate(names):
        validate.netns_name(name, _path(names, i))
    validate.unique(names, lambda n: n, lambda i: _path(names, i), "namespace")
    sysctls = _sysctls(params.get("sysctls"))

    kernel = ctx.stack.enter_context(Kernel())
    plans = []
    for i, name in enumerate(names):
        key = _path(names, i)
        # a bare /run/netns file left by a creation that was killed is no namespace: made anew
        exists = netns_exists(name)
        if state == "present":
            plans.append(_with_sysctls(_plan_present(kernel, key, name, exists, ctx.owner), name, exists, sysctls))
        else:
            plans.append(_plan_absent(kernel, key, name, exists, ctx.owner))
    return Planned(plans)


def _sysctls(values):
    """{key: value as the kernel prints it} of the ``sysctls`` option."""
    out = {}
    for key, value in sorted((values or {}).items()):
        path = "sysctls.%s" % key
        if not SYSCTL.match(str(key)):
            raise ValidationError("%r is not a network sysctl (net.*: a namespace holds only those)" % key, path)
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, (int, str)) or not str(value).strip():
            raise ValidationError("must be a number or a string (what sysctl -w would take)", path)
        out[key] = " ".join(str(value).split())
    return out


def _with_sysctls(plan, name, exists, sysctls):
    """``plan`` of namespace ``name``, and the steps that set its ``sysctls`` where they differ."""
    if not sysctls:
        return plan
    have = {}
    for key in sysctls if exists else ():
        try:
            have[key] = " ".join(read_sysctl(name, key).split())
        except KernelError as exc:
            raise ValidationError(str(exc), "sysctls.%s" % key) from None
    if plan.before is not None:
        plan.before["sysctls"] = have
    plan.after["sysctls"] = dict(sysctls)
    for key, value in sysctls.items():
        if have.get(key) != value:
            plan.steps.append(Step("set %s = %s in %s" % (key, value, name),
                                   lambda key=key, value=value: _write(name, key, value),
                                   (lambda key=key: write_sysctl(name, key, have[key])) if key in have else None))
    return plan


def _write(name, key, value):
    try:
        write_sysctl(name, key, value)
    except OSError as exc:
        raise KernelError("sysctl %s = %s in %s: %s" % (key, value, name, exc.strerror or exc)) from None


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
    if owner and not before["managed"]:
        links = sorted(l["ifname"] for l in kernel.ns(name).links().values() if l["ifname"] != "lo")
        owners.refuse_foreign(owner, "network namespace %r%s" % (name, " (links %s)" % ", ".join(links) if links else ""),
                              key)
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
