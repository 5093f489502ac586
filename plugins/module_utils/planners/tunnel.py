# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for VXLAN tunnels whose ends live in a namespace (module ``nsbridge.network.tunnel``).

A lab's link between nodes on two hosts: each host makes its end, a VXLAN device created from the
host namespace -- so its UDP socket, the underlay, is the host's -- straight into the node's
namespace under the endpoint's name (``ip link add eth1 netns r1 type vxlan ...``, as Docker's
overlay driver moves its VXLAN into the network's sandbox).  The other ends are a static flood list:
one all-zeros FDB entry per remote underlay address (``bridge fdb append 00:00:00:00:00:00 dst
...``), learning on, so a point-to-point link and a LAN segment spanning several hosts (a tunnel
enslaved to the segment's bridge) are the same thing.  No multicast, no controller.

Unlike module ``vxlan`` (the fleet's overlay: learning off, a static ARP and FDB entry per peer)
a tunnel carries any frames between its ends: it is a wire, not a router's interface.
"""

from __future__ import annotations

import ipaddress
import os

from ..common import validate
from ..common.errors import ConflictError, KernelError, ValidationError, field
from ..engine import owner as owners
from ..engine.edge import item_spec
from ..engine.reconcile import ItemPlan, Planned, Step
from ..kernel.netlink import GROUP, is_ours, mark, netns_path, owner_of
from ..kernel.rtnl_writer import RtnlBatch
from .links import (Removals, address_steps, device_holding, ownership, parse_addresses, plan_link_batch, removable_link,
                    require_bridge, require_netns, sorted_addresses, where)

AF_BRIDGE = 7
FLOOD = "00:00:00:00:00:00"
# what VXLAN adds to each frame: outer IP (20 or 40) + UDP (8) + VXLAN (8) + inner Ethernet (14)
OVERHEAD = {4: 50, 6: 70}
ITEM_OPTIONS = dict(
    name=dict(type="str"),
    netns=dict(type="str"),
    vni=dict(type="int"),
    local=dict(type="str"),
    dev=dict(type="str"),
    port=dict(type="int", default=4789),
    remotes=dict(type="list", elements="str"),
    mtu=dict(type="int"),
    mac=dict(type="str"),
    addresses=dict(type="list", elements="str"),
    master=dict(type="str"),
    up=dict(type="bool", default=True),
    label=dict(type="str"),
)
ITEM_KEYS = tuple(ITEM_OPTIONS) + ("state",)


def validate_tunnel(path, item, default_state, check_mode=False, warnings=None):
    spec = item_spec(item, ITEM_KEYS, default_state)
    validate.ifname(spec.get("name"), field(path, "name"))
    if spec.get("netns") is not None:
        validate.netns_name(spec["netns"], field(path, "netns"))
    if spec["state"] == "absent":
        return spec
    for key in ("vni", "local"):
        if spec.get(key) is None:
            raise ValidationError("is required when state is present", field(path, key))
    if not 1 <= spec["vni"] <= 16777215:
        raise ValidationError("%d is outside 1..16777215" % spec["vni"], field(path, "vni"))
    if not 1 <= spec["port"] <= 65535:
        raise ValidationError("%d is not a UDP port" % spec["port"], field(path, "port"))
    local = validate.address(spec["local"], field(path, "local"))
    spec["local"] = str(local)
    remotes = []
    for i, remote in enumerate(spec.get("remotes") or []):
        where_ = "%s[%d]" % (field(path, "remotes"), i)
        address = validate.address(remote, where_)
        if address.version != local.version:
            raise ValidationError("%s is not IPv%d as local %s is" % (address, local.version, local), where_)
        if str(address) == spec["local"]:
            raise ValidationError("%s is this end's own address (local)" % address, where_)
        remotes.append(str(address))
    validate.unique(remotes, lambda r: r, lambda i: "%s[%d]" % (field(path, "remotes"), i), "remote")
    spec["remotes"] = sorted(remotes, key=ipaddress.ip_address)
    for key in ("dev", "master"):
        if spec.get(key) is not None:
            validate.ifname(spec[key], field(path, key))
    if spec.get("mac"):
        spec["mac"] = validate.mac(spec["mac"], field(path, "mac"))
    validate.mtu(spec.get("mtu"), field(path, "mtu"))
    spec["addresses"] = parse_addresses(spec.get("addresses"), field(path, "addresses"))
    require_netns(spec.get("netns"), field(path, "netns"), check_mode, warnings)
    return spec


def plan_tunnels(params, ctx):
    removals = Removals()
    batches = {}  # netns -> RtnlBatch of flood entries, sent at commit
    floods = {}  # netns -> its FDB dump, read once

    def present(kernel, key, path, spec, warnings, owner):
        netns = spec.get("netns")
        if netns not in batches:
            batches[netns] = RtnlBatch(netns)
        return plan_tunnel(kernel, key, path, spec, batches[netns], warnings, owner, floods)

    def absent(kernel, key, spec, owner):
        return plan_tunnel_absent(kernel, key, spec, owner, removals)

    specs, plans = plan_link_batch(params, ctx, "tunnels", ITEM_KEYS, validate_tunnel, "tunnel", present, absent)
    present_specs = [ps for ps in specs if ps[1]["state"] == "present"]
    validate.unique(present_specs, lambda ps: (ps[1]["local"], ps[1]["port"], ps[1]["vni"]),
                    lambda i: field(present_specs[i][0], "vni"), "VNI on one local address and port")

    def commit():
        for batch in batches.values():
            batch.send()
    return Planned(plans, commit=commit, atomic=False)


def _seen_tagged(ns, link):
    return owners.tagged({"name": link["ifname"], "netns": ns.name, "kind": link["kind"], "managed": is_ours(link)},
                         owner_of(link) if link["kind"] == "vxlan" and is_ours(link) else None)


def _underlay(host, spec, path, check_mode):
    """(underlay device name, its MTU) on the host: ``dev``, or the interface holding ``local``."""
    dev = spec.get("dev")
    if dev is None:
        dev = device_holding(host, spec["local"])
        if dev is None:
            if check_mode:
                return None, None
            raise ValidationError("no interface of the host holds %s; give dev" % spec["local"], field(path, "local"))
    link = host.link(dev)
    if link is None:
        if check_mode:
            return dev, None
        raise ValidationError("underlay interface %r does not exist on the host" % dev, field(path, "dev"))
    return dev, link["mtu"]


def describe(ns, link, flood):
    return owners.tagged({
        "name": link["ifname"], "netns": ns.name, "vni": link.get("vni"), "local": link.get("vxlan_local"),
        "port": link.get("vxlan_port"), "remotes": sorted(flood, key=ipaddress.ip_address), "mtu": link["mtu"],
        "mac": link["mac"], "master": (ns.link_by_index(link["master"]) or {}).get("ifname") if link["master"] else None,
        "up": link["up"], "addresses": sorted_addresses(ns.addresses().get(link["index"], ())), "managed": is_ours(link),
    }, owner_of(link))


def _flood_of(ns, index, floods):
    if ns.name not in floods:
        floods[ns.name] = [(i, dst) for i, dst, mac, _state in ns.neighbours(AF_BRIDGE) if mac == FLOOD and dst]
    return {dst for i, dst in floods[ns.name] if i == index}


def plan_tunnel(kernel, key, path, spec, batch, warnings=None, owner=None, floods=None):
    ns, host = kernel.ns(spec.get("netns")), kernel.ns(None)
    name = spec["name"]
    what = "tunnel %r%s" % (name, where(ns))
    dev, dev_mtu = _underlay(host, spec, path, kernel.check_mode)
    version = ipaddress.ip_address(spec["local"]).version
    if spec.get("mtu") and dev_mtu and spec["mtu"] + OVERHEAD[version] > dev_mtu:
        raise ValidationError("%d leaves no room for VXLAN's %d bytes on underlay %s (mtu %d): at most %d"
                              % (spec["mtu"], OVERHEAD[version], dev, dev_mtu, dev_mtu - OVERHEAD[version]),
                              field(path, "mtu"))
    if spec.get("master") is not None:
        require_bridge(ns, spec["master"], field(path, "master"), kernel.check_mode, warnings)
    link = ns.link(name)
    if link is not None and (link["kind"] != "vxlan" or not is_ours(link)):
        raise ConflictError("%r exists%s and is %s nsbridge did not make" % (
            name, where(ns), "a %s link" % (link["kind"] or "physical") if link["kind"] != "vxlan" else "a vxlan device"),
            field(path, "name"))
    if link is not None:
        owners.check(owner, owner_of(link), what, key)
    after = owners.tagged({
        "name": name, "netns": ns.name, "vni": spec["vni"], "local": spec["local"], "port": spec["port"],
        "remotes": spec["remotes"], "mtu": spec.get("mtu") or (dev_mtu - OVERHEAD[version] if dev_mtu else None),
        "mac": spec.get("mac"), "master": spec.get("master"), "up": spec["up"],
        "addresses": sorted_addresses(str(a) for a in spec["addresses"] or []), "managed": True}, owner)
    if spec.get("label"):
        after["label"] = spec["label"]
    steps, before, flood = [], None, set()
    if link is not None:
        flood = _flood_of(ns, link["index"], {} if floods is None else floods)
        before = describe(ns, link, flood)
        if (link.get("vni"), link.get("vxlan_local"), link.get("vxlan_port")) != (spec["vni"], spec["local"], spec["port"]):
            steps.append(Step("delete %s (vni, local or port changed)" % what, _delete(ns, name)))
            link, flood = None, set()
    if link is None:
        steps += _create_steps(ns, host, spec, dev, owner, what)
        if spec["addresses"] is None:
            after["addresses"] = []
    else:
        changes = {}
        owners.tagged(after, ownership(link, "tunnel", owner, what, key, changes))
        if spec.get("mtu") and link["mtu"] != spec["mtu"]:
            changes["mtu"] = spec["mtu"]
        if not spec.get("mtu"):
            after["mtu"] = link["mtu"]
        if spec.get("mac") and link["mac"] != spec["mac"]:
            changes["address"] = spec["mac"]
        after["mac"] = spec.get("mac") or link["mac"]
        if spec.get("master") is not None:
            br = ns.link(spec["master"])
            if br is not None and link["master"] != br["index"]:
                changes["master"] = br["index"]
        elif link["master"]:
            changes["master"] = 0
        if link["up"] != spec["up"]:
            changes["state"] = "up" if spec["up"] else "down"
        if changes:
            steps.append(Step("set %s %s%s" % (name, ", ".join("%s=%s" % kv for kv in sorted(changes.items())), where(ns)),
                              lambda: ns.call("set %s" % name, ns.ipr.link, "set", index=ns.index_of(name), **changes)))
        steps += address_steps(ns, name, ns.addresses().get(link["index"], set()), spec["addresses"])
        if spec["addresses"] is None:
            after["addresses"] = before["addresses"]
    for dst in sorted(flood - set(spec["remotes"])):
        steps.append(Step("forget remote %s on %s" % (dst, name), _fdb(batch, ns, name, "del", dst)))
    for dst in spec["remotes"]:
        if dst not in flood:
            steps.append(Step("flood to remote %s on %s" % (dst, name), _fdb(batch, ns, name, "append", dst)))
    return ItemPlan(key, name, before, after, steps)


def _fdb(batch, ns, name, verb, dst):
    """An all-zeros FDB entry (flood list) on the device, queued for the call's batch (sent at commit)."""
    return lambda: batch.fdb(verb, ns.index_of(name), FLOOD, dst)


def _delete(ns, name):
    def run():
        ns.invalidate(name)
        ns.call("delete tunnel %s" % name, ns.ipr.link, "del", ifname=name)
    return run


def _create_steps(ns, host, spec, dev, owner, what):
    name = spec["name"]
    create = dict(ifname=name, kind="vxlan", vxlan_id=spec["vni"], vxlan_port=spec["port"], vxlan_learning=1,
                  group=GROUP)
    create["vxlan_local6" if ":" in spec["local"] else "vxlan_local"] = spec["local"]
    if spec.get("mtu"):
        create["mtu"] = spec["mtu"]
    if spec.get("mac"):
        create["address"] = spec["mac"]

    def make():
        # sent from the host namespace: the device's socket is the host's, the device goes into netns
        args = dict(create)
        if dev is not None:
            args["vxlan_link"] = host.index_of(dev)
        fd = None
        if ns.name is not None:
            try:
                fd = os.open(netns_path(ns.name), os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                raise KernelError("network namespace %r does not exist" % ns.name) from None
            args["net_ns_fd"] = fd
        ns.invalidate(name)
        try:
            host.call("create %s vni %d local %s" % (what, spec["vni"], spec["local"]), host.ipr.link, "add", **args)
        finally:
            if fd is not None:
                os.close(fd)

    settings = {"ifalias": mark("tunnel", owner), "state": "up" if spec["up"] else "down"}
    steps = [Step("create %s vni %d local %s" % (what, spec["vni"], spec["local"]), make, _delete(ns, name))]
    if spec.get("master"):
        steps.append(Step("attach %s to %s and set it %s" % (name, spec["master"], settings["state"]),
                          lambda: ns.call("set %s" % name, ns.ipr.link, "set", index=ns.index_of(name),
                                          master=ns.index_of(spec["master"]), **settings)))
    else:
        steps.append(Step("set %s %s%s" % (name, settings["state"], where(ns)),
                          lambda: ns.call("set %s" % name, ns.ipr.link, "set", index=ns.index_of(name), **settings)))
    steps += address_steps(ns, name, set(), spec["addresses"])
    return steps


def plan_tunnel_absent(kernel, key, spec, owner, removals):
    name = spec["name"]
    ns, before, ended = removable_link(kernel, key, spec, "vxlan", "tunnel", owner, _seen_tagged)
    if ended is not None:
        return ended
    return ItemPlan(key, name, before, None, [removals.step(ns, name, "delete tunnel %s%s" % (name, where(ns)))])
