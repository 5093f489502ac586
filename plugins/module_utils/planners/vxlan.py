# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for VXLAN overlay devices (module ``nsbridge.network.vxlan``), flannel-vxlan style.

A VXLAN device with learning off and static state for every peer: a permanent ARP entry
(peer's overlay address -> peer's device MAC) and an FDB entry (peer MAC -> peer's underlay
address).  No multicast, no flooding, no learning: works across any L3 underlay.  Every
neighbour and FDB entry on the device is nsbridge's (the device is), so entries for peers no
longer listed are removed.
"""

from __future__ import annotations

import socket

from ..common import validate
from ..common.errors import ConflictError, ValidationError, field

from ..engine.reconcile import ItemPlan, Planned, Step
from ..engine import owner as owners
from ..kernel.netlink import GROUP, Kernel, is_ours, mark, owner_of
from ..kernel.rtnl_writer import RtnlBatch
from .links import (address_steps, delete_link, device_holding, left_to_owner, ownership, parse_addresses,
                    sorted_addresses, where)

AF_BRIDGE = 7
NUD_PERMANENT = 0x80
OPTIONS = dict(
    name=dict(type="str", required=True),
    vni=dict(type="int"),
    local=dict(type="str"),
    dev=dict(type="str"),
    port=dict(type="int", default=4789),
    mtu=dict(type="int"),
    mac=dict(type="str"),
    addresses=dict(type="list", elements="str"),
    peers=dict(type="list", elements="dict", default=[], options=dict(
        underlay=dict(type="str", required=True), mac=dict(type="str", required=True),
        address=dict(type="str"), addresses=dict(type="list", elements="str"))),
    netns=dict(type="str"),
)


def _validate(params):
    spec = dict(params)
    validate.ifname(spec["name"], "name")
    if spec["state"] == "absent":
        return spec
    for key in ("vni", "local"):
        if spec.get(key) is None:
            raise ValidationError("is required when state is present", key)
    if not 1 <= spec["vni"] <= 16777215:
        raise ValidationError("%d is outside 1..16777215" % spec["vni"], "vni")
    spec["local"] = str(validate.address(spec["local"], "local"))
    if spec.get("dev") is not None:
        validate.ifname(spec["dev"], "dev")
    if spec.get("mac"):
        spec["mac"] = validate.mac(spec["mac"], "mac")
    validate.mtu(spec.get("mtu"), "mtu")
    spec["addresses"] = parse_addresses(spec.get("addresses"), "addresses")
    peers, overlay = [], []
    for i, peer in enumerate(spec.get("peers") or []):
        path = "peers[%d]" % i
        addresses = [str(validate.address(peer["address"], field(path, "address")))] if peer.get("address") else []
        addresses += [str(validate.address(a, "%s[%d]" % (field(path, "addresses"), j)))
                      for j, a in enumerate(peer.get("addresses") or [])]
        if not addresses:
            raise ValidationError("a peer needs its overlay address (address or addresses)", field(path, "address"))
        peers.append({"underlay": str(validate.address(peer.get("underlay"), field(path, "underlay"))),
                      "mac": validate.mac(peer.get("mac"), field(path, "mac")), "addresses": sorted(set(addresses))})
        overlay += [(a, i) for a in addresses]
    validate.unique(peers, lambda p: p["mac"], lambda i: "peers[%d].mac" % i, "peer MAC")
    validate.unique(overlay, lambda a: a[0], lambda i: "peers[%d].addresses" % overlay[i][1], "peer address")
    spec["peers"] = peers
    return spec


def plan_vxlan(params, ctx):
    spec = _validate(params)
    kernel = ctx.stack.enter_context(Kernel(ctx.check_mode))
    ns = kernel.ns(params.get("netns"))
    # the peers' neighbour and FDB entries go out in one batch of messages at commit (kernel.rtnl_writer)
    batch = RtnlBatch(params.get("netns"))
    name = spec["name"]
    link = ns.link(name)
    if link is not None and link["kind"] != "vxlan":
        raise ConflictError("%r exists%s and is a %s link, not vxlan" % (name, where(ns), link["kind"] or "physical"),
                            "name")
    if spec["state"] == "absent":
        if link is None:
            return Planned([ItemPlan(name, name, None, None)])
        if not is_ours(link):
            return Planned([ItemPlan(name, name, {"name": name}, {"name": name}, warnings=[
                "%r%s was not created by nsbridge; left in place" % (name, where(ns))])])
        before = owners.tagged({"name": name, "vni": link.get("vni")}, owner_of(link))
        kept = left_to_owner(name, name, before, link, ctx.owner, "vxlan %r%s" % (name, where(ns)))
        if kept is not None:
            return Planned([kept])
        return Planned([ItemPlan(name, name, before, None, [
            Step("delete vxlan %s%s" % (name, where(ns)),
                 lambda: delete_link(ns, name))])])

    dev = spec.get("dev")
    if dev is None:
        dev = device_holding(ns, spec["local"])
        if dev is None and not kernel.check_mode:
            raise ValidationError("no interface%s holds %s; give dev" % (where(ns), spec["local"]), "local")
    after = {"name": name, "vni": spec["vni"], "local": spec["local"], "dev": dev, "port": spec["port"],
             "mtu": spec.get("mtu"), "mac": spec.get("mac"),
             "addresses": sorted_addresses(str(a) for a in spec["addresses"] or []),
             "peers": sorted(spec["peers"], key=lambda p: p["mac"])}
    owners.tagged(after, ctx.owner)
    steps = []
    if link is not None and is_ours(link):
        owners.check(ctx.owner, owner_of(link), "vxlan %r%s" % (name, where(ns)), "name")
    if link is not None and (link.get("vni") != spec["vni"] or link.get("vxlan_local") != spec["local"]
                             or link.get("vxlan_port") != spec["port"]):
        if not is_ours(link):
            raise ConflictError("vxlan %r exists%s with other parameters and nsbridge did not create it"
                                % (name, where(ns)), "name")
        steps.append(Step("delete vxlan %s (vni, local or port changed)" % name,
                          lambda: delete_link(ns, name)))
        link = None
    if link is None:
        before = None
        create = dict(ifname=name, kind="vxlan", vxlan_id=spec["vni"], vxlan_local=spec["local"],
                      vxlan_port=spec["port"], vxlan_learning=0, group=GROUP)
        if spec.get("mtu"):
            create["mtu"] = spec["mtu"]
        if spec.get("mac"):
            create["address"] = spec["mac"]

        def make():
            ns.invalidate(name)
            if dev is not None:
                create["vxlan_link"] = ns.index_of(dev)
            ns.call("create vxlan %s" % name, ns.ipr.link, "add", **create)
        steps.append(Step("create vxlan %s vni %d local %s%s" % (name, spec["vni"], spec["local"], where(ns)), make,
                          lambda: delete_link(ns, name)))
        steps.append(Step("set %s up" % name, lambda: ns.call("set %s up" % name, ns.ipr.link, "set", ifname=name,
                                                              state="up", ifalias=mark("vxlan", ctx.owner))))
        steps += address_steps(ns, name, set(), spec["addresses"])
        have_arp, have_fdb = {}, {}
    else:
        index = link["index"]
        have_arp = {dst: mac for family in (socket.AF_INET, socket.AF_INET6)
                    for i, dst, mac, state in ns.neighbours(family)
                    if i == index and dst and mac and state & NUD_PERMANENT}
        have_fdb = {mac: dst for i, dst, mac, _s in ns.neighbours(AF_BRIDGE) if i == index and mac and dst}
        before = {"name": name, "vni": link.get("vni"), "local": link.get("vxlan_local"), "dev": dev,
                  "port": link.get("vxlan_port"), "mtu": link["mtu"], "mac": link["mac"],
                  "addresses": sorted_addresses(ns.addresses().get(index, ())),
                  "peers": describe_peers(have_arp, have_fdb)}
        owners.tagged(before, owner_of(link))
        changes = {}
        if is_ours(link):
            owners.tagged(after, ownership(link, "vxlan", ctx.owner, "vxlan %r" % name, "name", changes))
        if spec.get("mtu") and link["mtu"] != spec["mtu"]:
            changes["mtu"] = spec["mtu"]
        if spec.get("mac") and link["mac"] != spec["mac"]:
            changes["address"] = spec["mac"]
        if not link["up"]:
            changes["state"] = "up"
        if changes:
            steps.append(Step("set %s %s" % (name, changes),
                              lambda: ns.call("set %s" % name, ns.ipr.link, "set", ifname=name, **changes)))
        steps += address_steps(ns, name, ns.addresses().get(index, set()), spec["addresses"])
        after["mtu"] = spec.get("mtu") or link["mtu"]
        after["mac"] = spec.get("mac") or link["mac"]
    wanted_arp = {a: p["mac"] for p in spec["peers"] for a in p["addresses"]}
    wanted_fdb = {p["mac"]: p["underlay"] for p in spec["peers"]}
    steps += _peer_steps(batch, ns, name, have_arp, have_fdb, wanted_arp, wanted_fdb)
    return Planned([ItemPlan(name, name, before, after, steps)], commit=batch.send, atomic=False)


def _peer_steps(batch, ns, name, have_arp, have_fdb, wanted_arp, wanted_fdb):
    """At most two steps for the peers' entries: forget those no longer wanted, set those missing or changed.
    One step names how many peers it touches, not each entry: a fleet host has O(hosts) peers, and its
    result is held by the controller with every other host's (which peers, in diff mode: before and after).
    A failed entry is still named on its own, by the batch that sends them (kernel.rtnl_writer)."""
    forget, forgotten = [], set()
    for dst in sorted(set(have_arp) - set(wanted_arp)):
        forget.append(_neigh(batch, ns, name, "del", dst, have_arp[dst]))
        forgotten.add(have_arp[dst])
    for mac in sorted(set(have_fdb) - set(wanted_fdb)):
        forget.append(_fdb(batch, ns, name, "del", mac, have_fdb[mac]))
        forgotten.add(mac)
    update, updated = [], set()
    for dst, mac in sorted(wanted_arp.items()):
        if have_arp.get(dst) != mac:
            update.append(_neigh(batch, ns, name, "replace", dst, mac))
            updated.add(mac)
    for mac, underlay in sorted(wanted_fdb.items()):
        if have_fdb.get(mac) != underlay:
            if mac in have_fdb:
                update.append(_fdb(batch, ns, name, "del", mac, have_fdb[mac]))
            update.append(_fdb(batch, ns, name, "append", mac, underlay))
            updated.add(mac)
    steps = []
    if forget:
        steps.append(Step("forget %s on %s (neighbour and fdb entries)" % (_peers(forgotten), name), _all(forget)))
    if update:
        steps.append(Step("set %s on %s (neighbour and fdb entries)" % (_peers(updated), name), _all(update)))
    return steps


def _peers(macs):
    return "%d peer%s" % (len(macs), "" if len(macs) == 1 else "s")


def _all(queued):
    def run():
        for queue in queued:
            queue()
    return run


def describe_peers(have_arp, have_fdb):
    """Peers as the vxlan module describes them, from permanent neighbour and fdb entries."""
    peers = {}
    for dst, mac in have_arp.items():
        peers.setdefault(mac, {"underlay": have_fdb.get(mac), "mac": mac, "addresses": []})["addresses"].append(dst)
    for peer in peers.values():
        peer["addresses"].sort()
    return sorted(peers.values(), key=lambda p: p["mac"])


def _neigh(batch, ns, name, verb, dst, mac):
    """Queue a permanent neighbour entry on the device (sent with the call's batch, at commit)."""
    return lambda: batch.neighbour(verb, ns.index_of(name), dst, mac)


def _fdb(batch, ns, name, verb, mac, underlay):
    return lambda: batch.fdb(verb, ns.index_of(name), mac, underlay)
