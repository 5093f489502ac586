# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pieces the link planners (bridge, veth, vxlan, tunnel) share: addresses, namespaces, the ownership
mark, what an absent item may remove, the device that holds an address."""

from __future__ import annotations

import ipaddress
import random

from ..common import validate
from ..common.errors import KernelError, ValidationError, field
from ..engine import owner as owners
from ..engine.edge import batch_items
from ..engine.reconcile import ItemPlan, Step
from ..kernel.netlink import Kernel, is_ours, mark, netns_exists, owner_of
from ..kernel.rtnl_writer import RtnlBatch

IFA_F_NODAD = 0x02


def require_netns(name, path, check_mode=False, warnings=None):
    """A namespace the item names must exist: nsbridge never creates one implicitly.

    In check mode a missing one is assumed to come from an earlier task (with a warning).
    """
    if name is not None and not netns_exists(name):
        if check_mode:
            if warnings is not None:
                warnings.append("%s: network namespace %r does not exist yet; check mode assumes an earlier "
                                "task creates it" % (path, name))
            return
        raise ValidationError(
            "network namespace %r does not exist (create it first with nsbridge.network.netns)" % name, path)


def require_bridge(ns, name, path, check_mode=False, warnings=None):
    """Bridge ``name`` that an item attaches to must exist in ``ns`` (check mode: an earlier task or
    call may create it, with a warning)."""
    br = ns.link(name)
    if br is None and check_mode:
        if warnings is not None:
            warnings.append("%s: bridge %r does not exist yet; check mode assumes an earlier task creates it"
                            % (path, name))
    elif br is None or br["kind"] != "bridge":
        raise ValidationError("bridge %r does not exist%s" % (name, where(ns)) if br is None
                              else "%r%s is not a bridge" % (name, where(ns)), path)


def parse_addresses(values, path):
    """Validate a list of CIDRs; None (leave as is) passes through."""
    if values is None:
        return None
    parsed = [validate.interface_cidr(v, "%s[%d]" % (path, i)) for i, v in enumerate(values)]
    validate.unique([str(p) for p in parsed], lambda a: a, lambda i: "%s[%d]" % (path, i), "address")
    return parsed


def address_steps(ns, ifname, have, want):
    """Steps that make the addresses on ``ifname`` exactly ``want`` (None: leave them)."""
    if want is None:
        return []
    wanted = {str(a): a for a in want}
    steps = []
    for text in sorted(set(have) - set(wanted)):
        iface = ipaddress.ip_interface(text)
        steps.append(Step(
            "remove address %s from %s%s" % (text, ifname, where(ns)),
            _addr_call(ns, "del", ifname, iface),
            _addr_call(ns, "add", ifname, iface)))
    for text, iface in wanted.items():
        if text not in have:
            steps.append(Step(
                "add address %s to %s%s" % (text, ifname, where(ns)),
                _addr_call(ns, "add", ifname, iface),
                _addr_call(ns, "del", ifname, iface)))
    return steps


def _addr_call(ns, verb, ifname, iface):
    def call():
        kwargs = dict(index=ns.index_of(ifname), address=str(iface.ip), prefixlen=iface.network.prefixlen)
        if iface.version == 4 and iface.network.prefixlen < 31:
            kwargs["broadcast"] = str(iface.network.broadcast_address)
        if iface.version == 6 and verb == "add":
            # usable at once, as container engines do: no duplicate address detection on links
            # nsbridge made (nothing else can hold the address), so no ~2 s of "tentative"
            kwargs["flags"] = IFA_F_NODAD
        ns.call("%s address %s on %s" % (verb, iface, ifname), ns.ipr.addr, verb, **kwargs)
    return call


def sorted_addresses(addrs):
    return sorted(addrs, key=lambda a: (ipaddress.ip_interface(a).version, ipaddress.ip_interface(a)))


def delete_link(ns, name, kind=None):
    """Delete link ``name`` (``kind`` only names it in an error: 'delete bridge br0 failed ...'); gone
    already is done. One rtnetlink message of our own, not pyroute2's (see kernel.rtnl_writer)."""
    ns.invalidate(name)
    batch = RtnlBatch(ns.name)
    batch.delete_link(name, "delete %s%s" % (kind + " " if kind else "", name))
    batch.send()


class Removals:
    """The links one call deletes, deleted together when the first of their steps runs.

    Per namespace each link is put in a device group no link there uses, then the group is deleted
    in one message: the kernel unregisters them at once and waits for one RCU grace period instead
    of one per link (100 veth pairs: 1.6 s one by one, 0.04 s so).  Plans keep their order and each
    item its own action; only the first pays.  A batch that fails puts the links it kept back in
    their groups and names those that failed.
    """

    def __init__(self):
        self._links = {}  # namespace name -> (Namespace, [(ifname, ifindex, group)])
        self._done = False

    def step(self, ns, name, describe):
        link = ns.link(name)
        self._links.setdefault(ns.name, (ns, []))[1].append((name, link["index"], link["group"]))
        return Step(describe, self._run)

    def _run(self):
        if self._done:
            return
        self._done = True
        for ns, links in self._links.values():
            used = {link["group"] for link in ns.links().values()}
            group = random.choice([g for g in random.sample(range(1 << 16, 1 << 31), 8) if g not in used])
            batch = RtnlBatch(ns.name)
            for name, index, _group in links:
                ns.invalidate(name)
                batch.link_group(index, group, "delete %s" % name)
            batch.delete_group(group, "delete the %d links marked for it" % len(links))
            try:
                batch.send()
            except KernelError:
                back = RtnlBatch(ns.name)
                for name, index, old in links:
                    back.link_group(index, old, "put %s back in group %d" % (name, old))
                try:
                    back.send()
                except KernelError:
                    pass  # gone already, or the first error is the one to report
                raise


def where(ns):
    """' in NAME' for messages about a namespace, '' for the host."""
    return " in %s" % ns.name if ns.name else ""


def plan_link_batch(params, ctx, list_key, item_keys, validate_item, what, plan_present, plan_absent):
    """The shape every link planner shares: validate all items, then plan each against one snapshot.

    ``validate_item(path, item, default_state, check_mode, warnings) -> spec``;
    ``plan_present(kernel, key, path, spec, warnings, owner)``, ``plan_absent(kernel, key, spec, owner)``
    -> ItemPlan (``owner``: the project the call is for, see engine.owner).
    Warnings gathered on the way (check mode assuming earlier tasks) go on the first plan.
    """
    check_mode = ctx.check_mode
    warnings = []
    specs = [(path, validate_item(path, item, params["state"], check_mode, warnings))
             for path, item in batch_items(params, list_key, item_keys)]
    validate.unique(specs, lambda ps: (ps[1].get("netns"), ps[1]["name"]),
                    lambda i: field(specs[i][0], "name"), what)
    kernel = ctx.stack.enter_context(Kernel(check_mode))
    plans = []
    for path, spec in specs:
        key = path or spec["name"]
        if spec["state"] == "present":
            plans.append(plan_present(kernel, key, path, spec, warnings, ctx.owner))
        else:
            plans.append(plan_absent(kernel, key, spec, ctx.owner))
    if plans and warnings:
        plans[0].warnings += warnings
    return specs, plans


def ownership(link, kind, owner, what, path, changes):
    """For a link of nsbridge's a present item uses: a conflict if another project owns it; its
    mark (alias) put into ``changes`` (link set kwargs) if it lacks it or this project's name."""
    found = owner_of(link)
    owners.check(owner, found, what, path)
    if not link.get("alias") or owners.claims(owner, found):
        changes["ifalias"] = mark(kind, owner or found)
    return owner or found


def left_to_owner(key, name, before, link, owner, what):
    """The plan for an absent item whose link is marked for another project (None: it may go)."""
    found = owner_of(link)
    if owners.removable(owner, found):
        return None
    return ItemPlan(key, name, before, before, warnings=[owners.left_warning(owner, found, what)])


def _seen(ns, link):
    return {"name": link["ifname"], "netns": ns.name, "kind": link["kind"], "managed": is_ours(link)}


def removable_link(kernel, key, spec, kind, module, owner, before_of=_seen):
    """The first half of an absent item's plan: ``(ns, before, None)`` when the item's link is an
    nsbridge ``kind`` link this project may remove, else ``(None, None, plan)`` with the plan that
    ends the item: nothing there, a link nsbridge.network.``module`` did not make (left, with a
    warning) or another project's (left, said).  ``before_of(ns, link)``: the link as the diff shows it."""
    name = spec["name"]
    if spec.get("netns") is not None and not netns_exists(spec["netns"]):
        return None, None, ItemPlan(key, name, None, None)
    ns = kernel.ns(spec.get("netns"))
    link = ns.link(name)
    if link is None:
        return None, None, ItemPlan(key, name, None, None)
    before = before_of(ns, link)
    if link["kind"] != kind or not is_ours(link):
        return None, None, ItemPlan(key, name, before, before, warnings=[
            "%r%s was not created by nsbridge.network.%s; left in place" % (name, where(ns), module)])
    kept = left_to_owner(key, name, before, link, owner, "%s %r%s" % (module, name, where(ns)))
    return (None, None, kept) if kept is not None else (ns, before, None)


def device_holding(ns, address):
    """The name of the interface of ``ns`` that holds ``address`` (no prefix), or None."""
    for index, addrs in ns.addresses().items():
        if any(a.split("/")[0] == address for a in addrs):
            found = ns.link_by_index(index)
            return found["ifname"] if found else None
    return None
