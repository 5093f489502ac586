# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for Linux bridges (module ``nsbridge.network.bridge``)."""

from __future__ import annotations

import os

from ..common import validate
from ..common.errors import ConflictError, ValidationError, field
from ..engine import owner as owners
from ..engine.edge import item_spec
from ..engine.reconcile import ItemPlan, Planned, Step
from ..kernel.netlink import BRIDGE_GROUP, is_ours, mark, owner_of
from .links import (address_steps, delete_link, ownership, parse_addresses, plan_link_batch, removable_link, require_netns,
                    sorted_addresses, where)

ITEM_OPTIONS = dict(
    name=dict(type="str"),
    addresses=dict(type="list", elements="str"),
    mtu=dict(type="int"),
    stp=dict(type="bool", default=False),
    mac=dict(type="str"),
    ports=dict(type="list", elements="str"),
    netns=dict(type="str"),
)
ITEM_KEYS = tuple(ITEM_OPTIONS) + ("state",)


def validate_bridge(path, item, default_state, check_mode=False, warnings=None):
    """Check one item and return it normalised (parsed addresses, resolved state)."""
    spec = item_spec(item, ITEM_KEYS, default_state)
    validate.ifname(item.get("name"), field(path, "name"))
    if item.get("netns") is not None:
        validate.netns_name(item["netns"], field(path, "netns"))
    spec["addresses"] = parse_addresses(item.get("addresses"), field(path, "addresses"))
    validate.mtu(item.get("mtu"), field(path, "mtu"))
    if item.get("mac") is not None:
        spec["mac"] = validate.mac(item["mac"], field(path, "mac"))
    for i, port in enumerate(item.get("ports") or []):
        validate.ifname(port, "%s[%d]" % (field(path, "ports"), i))
        if port == item["name"]:
            raise ValidationError("a bridge cannot be its own port", "%s[%d]" % (field(path, "ports"), i))
    if spec["state"] == "present":
        require_netns(item.get("netns"), field(path, "netns"), check_mode, warnings)
    return spec


def plan_bridges(params, ctx):
    _specs, plans = plan_link_batch(params, ctx, "bridges", ITEM_KEYS, validate_bridge, "bridge",
                                    plan_bridge, plan_bridge_absent)
    return Planned(plans)


def describe(ns, link):
    """The bridge as the module reports it."""
    addrs = ns.addresses().get(link["index"], set())
    ports = sorted(l["ifname"] for l in ns.links().values() if l["master"] == link["index"])
    return owners.tagged({"name": link["ifname"], "netns": ns.name, "addresses": sorted_addresses(addrs),
                          "mtu": link["mtu"], "stp": bool(link["stp"]), "mac": link["mac"], "up": link["up"],
                          "ports": ports, "managed": is_ours(link)}, owner_of(link))


def plan_bridge(kernel, key, path, spec, warnings=None, owner=None):
    ns = kernel.ns(spec["netns"])
    name = spec["name"]
    link = ns.link(name)
    if link is not None and link["kind"] != "bridge":
        raise ConflictError("%r exists%s and is a %s link, not a bridge"
                            % (name, where(ns), link["kind"] or "physical"), field(path, "name"))
    if owner and link is not None and not is_ours(link):
        have = describe(ns, link)
        held = ["addresses " + ", ".join(have["addresses"])] if have["addresses"] else []
        held += ["ports " + ", ".join(have["ports"])] if have["ports"] else []
        owners.refuse_foreign(owner, "bridge %r%s%s" % (name, where(ns), " (%s)" % "; ".join(held) if held else ""),
                              field(path, "name"))
    for i, port in enumerate(spec.get("ports") or []):
        if ns.link(port) is None:
            raise ValidationError("interface %r does not exist%s" % (port, where(ns)),
                                  "%s[%d]" % (field(path, "ports"), i))

    steps = []
    stp = bool(spec["stp"])
    if link is None:
        before = None
        after = {"name": name, "netns": ns.name,
                 "addresses": sorted_addresses(str(a) for a in spec["addresses"] or []),
                 "mtu": spec["mtu"], "stp": stp, "mac": spec.get("mac"), "up": True,
                 "ports": sorted(spec.get("ports") or []), "managed": True}
        owners.tagged(after, owner)
        # The address is always set, never left to the kernel: a bridge without a set address takes
        # the lowest of its ports' and changes whenever a port joins or leaves, which leaves every
        # container's ARP entry for its gateway pointing at a MAC nobody answers to (Docker, too,
        # fixes its bridges' addresses). Without ``mac``: a random locally administered one.
        create = dict(ifname=name, kind="bridge", br_stp_state=int(stp),
                      address=spec.get("mac") or random_mac(), group=BRIDGE_GROUP)
        if spec["mtu"]:
            create["mtu"] = spec["mtu"]
        steps.append(Step("create bridge %s%s" % (name, where(ns)),
                          lambda: (ns.invalidate(name), ns.call("create bridge %s" % name, ns.ipr.link, "add", **create)),
                          lambda: delete_link(ns, name, "bridge")))
        steps.append(Step("set %s up" % name,
                          lambda: ns.call("set %s up" % name, ns.ipr.link, "set", ifname=name,
                                          state="up", ifalias=mark("bridge", owner))))
        steps += address_steps(ns, name, set(), spec["addresses"])
    else:
        before = describe(ns, link)
        after = dict(before)
        changes = {}
        if spec["mtu"] and link["mtu"] != spec["mtu"]:
            changes["mtu"] = after["mtu"] = spec["mtu"]
        if spec.get("mac") and link["mac"] != spec["mac"]:
            changes["address"] = after["mac"] = spec["mac"]
        if not link["up"]:
            changes["state"] = "up"
            after["up"] = True
        if is_ours(link):
            # marked (a run killed before it named it left no alias) and, for a project, claimed
            owners.tagged(after, ownership(link, "bridge", owner, "bridge %r%s" % (name, where(ns)), key, changes))
            if link.get("group") != BRIDGE_GROUP:  # made before bridges had a group of their own
                changes["group"] = BRIDGE_GROUP
        if changes:
            steps.append(Step("set %s %s" % (name, ", ".join("%s=%s" % kv for kv in sorted(changes.items()))),
                              lambda: ns.call("set %s" % name, ns.ipr.link, "set", ifname=name, **changes)))
        if bool(link["stp"]) != stp:
            after["stp"] = stp
            steps.append(Step("set stp %s on %s" % ("on" if stp else "off", name),
                              lambda: ns.call("set stp on %s" % name, ns.ipr.link, "set", ifname=name,
                                              kind="bridge", br_stp_state=int(stp))))
        have = ns.addresses().get(link["index"], set())
        steps += address_steps(ns, name, have, spec["addresses"])
        if spec["addresses"] is not None:
            after["addresses"] = sorted_addresses(str(a) for a in spec["addresses"])
    for port in spec.get("ports") or []:
        plink = ns.link(port)
        if link is None or plink["master"] != link["index"] or not plink["up"]:
            steps.append(Step("enslave %s to %s" % (port, name), _enslave(ns, port, name),
                              _release(ns, port, plink)))
    after["ports"] = sorted(set(after["ports"]) | set(spec.get("ports") or []))
    return ItemPlan(key, name, before, after, steps)


def random_mac():
    """A random unicast, locally administered MAC address."""
    octets = bytearray(os.urandom(6))
    octets[0] = (octets[0] & 0xFC) | 0x02
    return bytes(octets).hex(":")


def _enslave(ns, port, bridge):
    def call():
        ns.call("enslave %s to %s" % (port, bridge), ns.ipr.link, "set", ifname=port,
                master=ns.index_of(bridge), state="up")
    return call


def _release(ns, port, plink):
    def call():
        ns.call("release %s" % port, ns.ipr.link, "set", ifname=port, master=plink["master"] or 0,
                state="up" if plink["up"] else "down")
    return call


def _seen(ns, link):
    return describe(ns, link) if link["kind"] == "bridge" else {"name": link["ifname"], "kind": link["kind"]}


def plan_bridge_absent(kernel, key, spec, owner=None):
    name = spec["name"]
    ns, before, ended = removable_link(kernel, key, spec, "bridge", "bridge", owner, _seen)
    if ended is not None:
        return ended
    return ItemPlan(key, name, before, None, [
        Step("delete bridge %s%s" % (name, where(ns)),
             lambda: delete_link(ns, name, "bridge")),
    ])
