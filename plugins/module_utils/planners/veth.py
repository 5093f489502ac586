# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for veth pairs (module ``nsbridge.network.veth``).

``name`` stays in ``netns`` (default: the host); ``peer`` goes to ``peer_netns``.
A pair whose peer is elsewhere than asked (another namespace, another name) is
re-created, as Docker re-creates an endpoint; every other difference is
converged in place.
"""

from __future__ import annotations

import errno
import os
import socket

from ..common import validate
from ..common.errors import ConflictError, KernelError, ValidationError, field
from ..engine.edge import item_spec
from ..engine.reconcile import ItemPlan, Planned, Step
from ..engine import owner as owners
from ..kernel.netlink import GROUP, is_ours, mark, netns_path, owner_of, pyroute2
from .links import (Removals, address_steps, delete_link, ownership, parse_addresses, plan_link_batch, removable_link,
                    require_bridge, require_netns, sorted_addresses, where)

ITEM_OPTIONS = dict(
    name=dict(type="str"),
    peer=dict(type="str"),
    netns=dict(type="str"),
    peer_netns=dict(type="str"),
    bridge=dict(type="str"),
    hairpin=dict(type="bool"),
    addresses=dict(type="list", elements="str"),
    peer_addresses=dict(type="list", elements="str"),
    peer_gateway=dict(type="list", elements="str"),
    mtu=dict(type="int"),
    mac=dict(type="str"),
    peer_mac=dict(type="str"),
    up=dict(type="bool", default=True),
)
ITEM_KEYS = tuple(ITEM_OPTIONS) + ("state",)


def validate_pair(path, item, default_state, check_mode=False, warnings=None):
    """Check one item; return it normalised.  Nothing here touches the kernel but existence checks."""
    spec = item_spec(item, ITEM_KEYS, default_state)
    validate.ifname(item.get("name"), field(path, "name"))
    for key in ("netns", "peer_netns"):
        if item.get(key) is not None:
            validate.netns_name(item[key], field(path, key))
    if spec["state"] == "absent":
        return spec
    if not item.get("peer"):
        raise ValidationError("is required when state is present", field(path, "peer"))
    validate.ifname(item["peer"], field(path, "peer"))
    if item["peer"] == item["name"] and item.get("peer_netns") == item.get("netns"):
        raise ValidationError("peer %r has the same name as name in the same namespace" % item["peer"],
                              field(path, "peer"))
    if item.get("bridge") is not None:
        validate.ifname(item["bridge"], field(path, "bridge"))
    elif item.get("hairpin"):
        raise ValidationError("hairpin needs bridge", field(path, "hairpin"))
    spec["addresses"] = parse_addresses(item.get("addresses"), field(path, "addresses"))
    spec["peer_addresses"] = parse_addresses(item.get("peer_addresses"), field(path, "peer_addresses"))
    if item.get("peer_gateway") and item.get("up") is False:
        raise ValidationError("a default route needs the pair up (up: false)", field(path, "peer_gateway"))
    if item.get("peer_gateway") is not None:
        spec["peer_gateway"] = _gateways(item["peer_gateway"], spec["peer_addresses"], field(path, "peer_gateway"))
    validate.mtu(item.get("mtu"), field(path, "mtu"))
    for key in ("mac", "peer_mac"):
        if item.get(key) is not None:
            spec[key] = validate.mac(item[key], field(path, key))
    require_netns(item.get("netns"), field(path, "netns"), check_mode, warnings)
    require_netns(item.get("peer_netns"), field(path, "peer_netns"), check_mode, warnings)
    return spec


def _gateways(values, peer_addresses, path):
    """The default gateways of the peer end: at most one per family, each inside a peer address's
    network of its family (when peer_addresses are given)."""
    gateways = {}
    for i, value in enumerate(values):
        where = "%s[%d]" % (path, i)
        gateway = validate.address(value, where)
        if gateway.version in gateways:
            raise ValidationError("a second IPv%d gateway (%s is given too)" % (gateway.version, gateways[gateway.version]),
                                  where)
        if peer_addresses is not None and not any(
                a.version == gateway.version and gateway in a.network for a in peer_addresses):
            raise ValidationError(
                "%s is outside every IPv%d peer_addresses network (%s)"
                % (gateway, gateway.version, ", ".join(str(a.network) for a in peer_addresses
                                                       if a.version == gateway.version) or "none given"), where)
        gateways[gateway.version] = gateway
    return [gateways[v] for v in sorted(gateways)]


def plan_pairs(params, ctx):
    removals = Removals()
    specs, plans = plan_link_batch(params, ctx, "pairs", ITEM_KEYS, validate_pair, "interface", plan_pair,
                                   lambda kernel, key, spec, owner: plan_pair_absent(kernel, key, spec, owner,
                                                                                     removals))
    present = [ps for ps in specs if ps[1]["state"] == "present"]
    validate.unique(present, lambda ps: (ps[1].get("peer_netns"), ps[1]["peer"]),
                    lambda i: field(present[i][0], "peer"), "peer interface")
    return Planned(plans)


def _gateways_of(pns, peer_link):
    """The peer end's default gateways, IPv4 first: {version: address}."""
    found = {}
    for family, version in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        gw, oif = pns.default_routes().get(family) or (None, None)
        if gw and oif == peer_link["index"]:
            found[version] = gw
    return found


def describe(ns, link, pns, peer_link):
    """The pair as the module reports it."""
    master = ns.link_by_index(link["master"]) if link["master"] else None
    return {
        "name": link["ifname"], "netns": ns.name, "peer": peer_link["ifname"], "peer_netns": pns.name,
        "bridge": master["ifname"] if master else None, "hairpin": bool(link["hairpin"]),
        "mtu": link["mtu"], "mac": link["mac"], "peer_mac": peer_link["mac"],
        "up": link["up"], "peer_up": peer_link["up"],
        "addresses": sorted_addresses(ns.addresses().get(link["index"], ())),
        "peer_addresses": sorted_addresses(pns.addresses().get(peer_link["index"], ())),
        "peer_gateway": [gw for _v, gw in sorted(_gateways_of(pns, peer_link).items())],
        "managed": is_ours(link), **({"project": owner_of(link)} if owner_of(link) else {}),
    }


def _find_peer(ns, link, pns):
    """The observed peer of ``link`` if it sits in ``pns``, else None.

    ifindexes repeat across namespaces, so a peer elsewhere is recognised by the
    nsid ``ns`` knows ``pns`` by, plus the peer pointing back at ``link``.
    """
    if ns.name == pns.name:
        return ns.link_by_index(link["peer_index"]) if link["peer_netnsid"] is None else None
    if link["peer_netnsid"] is None or link["peer_netnsid"] != ns.nsid_of(pns.name):
        return None
    candidate = pns.link_by_index(link["peer_index"])
    if candidate is not None and candidate["kind"] == "veth" and candidate["peer_index"] == link["index"]:
        return candidate
    return None


def plan_pair(kernel, key, path, spec, warnings=None, owner=None):
    ns = kernel.ns(spec["netns"])
    pns = kernel.ns(spec["peer_netns"])
    name, peer = spec["name"], spec["peer"]
    if spec.get("bridge") is not None:
        require_bridge(ns, spec["bridge"], field(path, "bridge"), kernel.check_mode, warnings)
    link = ns.link(name)
    if link is not None and link["kind"] != "veth":
        raise ConflictError("%r exists%s and is a %s link, not a veth"
                            % (name, where(ns), link["kind"] or "physical"), field(path, "name"))
    if owner and link is not None and not is_ours(link):
        owners.refuse_foreign(owner, "veth %r%s" % (name, where(ns)), field(path, "name"))
    peer_link = _find_peer(ns, link, pns) if link is not None else None
    if peer_link is not None and peer_link["ifname"] != peer:
        peer_link = None  # peer renamed: re-create
    steps = []
    before = None
    if link is not None and is_ours(link):
        owners.check(owner, owner_of(link), "veth %r%s" % (name, where(ns)), key)
    if link is not None and peer_link is None:
        if not is_ours(link):
            raise ConflictError("veth %r exists%s but its peer is not %r in %s, and nsbridge did not create it"
                                % (name, where(ns), peer, spec["peer_netns"] or "the host namespace"),
                                field(path, "name"))
        before = {"name": name, "netns": ns.name, "peer": "(elsewhere)"}
        steps.append(Step("delete veth %s%s (its peer is not %s%s)" % (name, where(ns), peer, where(pns)),
                          lambda: delete_link(ns, name)))
        link = None
    taken = pns.link(peer)
    if link is None and taken is not None:
        if kernel.check_mode and is_ours(taken) and owner_of(taken) in (owner, None):
            # this project's own end of another pair: an earlier call of the run (a prune) removes it
            if warnings is not None:
                warnings.append("%s: interface %r%s is still the end of another pair of nsbridge's; check mode "
                                "assumes an earlier call removes it" % (field(path, "peer"), peer, where(pns)))
        else:
            raise ConflictError("interface %r already exists%s and is not the peer of %r"
                                % (peer, where(pns), name), field(path, "peer"))
    if link is None:
        after = owners.tagged(_after_new(ns, pns, spec), owner)
        steps += _create_steps(ns, pns, spec, owner)
    else:
        before = describe(ns, link, pns, peer_link)
        after = dict(before)
        steps += _converge_steps(ns, pns, spec, link, peer_link, before, after, owner)
    return ItemPlan(key, name, before, after, steps)


def _after_new(ns, pns, spec):
    return {
        "name": spec["name"], "netns": ns.name, "peer": spec["peer"], "peer_netns": pns.name,
        "bridge": spec.get("bridge"), "hairpin": bool(spec.get("hairpin")), "mtu": spec.get("mtu"),
        "mac": spec.get("mac"), "peer_mac": spec.get("peer_mac"), "up": _up(spec), "peer_up": _up(spec),
        "addresses": sorted_addresses(str(a) for a in spec["addresses"] or []),
        "peer_addresses": sorted_addresses(str(a) for a in spec["peer_addresses"] or []),
        "peer_gateway": [str(g) for g in spec.get("peer_gateway") or []],
        "managed": True,
    }


def _up(spec):
    return spec.get("up") is not False


def _create_steps(ns, pns, spec, owner=None):
    name, peer = spec["name"], spec["peer"]
    state = "up" if _up(spec) else "down"

    def create():
        peer_attrs = {"ifname": peer, "group": GROUP}
        if spec.get("mtu"):
            peer_attrs["mtu"] = spec["mtu"]
        if spec.get("peer_mac"):
            peer_attrs["address"] = spec["peer_mac"]
        kwargs = {"ifname": name, "kind": "veth", "peer": peer_attrs, "group": GROUP}
        if spec.get("mtu"):
            kwargs["mtu"] = spec["mtu"]
        if spec.get("mac"):
            kwargs["address"] = spec["mac"]
        fd = None
        if pns.name != ns.name:
            fd = os.open(netns_path(pns.name) if pns.name else "/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            peer_attrs["net_ns_fd"] = fd
        ns.invalidate(name)
        pns.invalidate(peer)
        try:
            ns.call("create veth %s" % name, ns.ipr.link, "add", **kwargs)
        finally:
            if fd is not None:
                os.close(fd)

    steps = [Step("create veth %s%s with peer %s%s" % (name, where(ns), peer, where(pns)), create,
                  lambda: delete_link(ns, name))]
    host_set = {"state": state, "ifalias": mark("veth", owner)}
    if spec.get("bridge"):
        steps.append(Step("attach %s to %s and set it %s" % (name, spec["bridge"], state),
                          lambda: ns.call("set %s" % name, ns.ipr.link, "set", ifname=name,
                                          master=ns.index_of(spec["bridge"]), **host_set)))
    else:
        steps.append(Step("set %s %s" % (name, state),
                          lambda: ns.call("set %s" % name, ns.ipr.link, "set", ifname=name, **host_set)))
    if spec.get("hairpin"):
        steps.append(_hairpin_step(ns, name, True))
    steps.append(Step("set %s %s%s" % (peer, state, where(pns)),
                      lambda: pns.call("set %s %s" % (peer, state), pns.ipr.link, "set", ifname=peer,
                                       state=state, ifalias=mark("veth-peer", owner))))
    steps += address_steps(ns, name, set(), spec["addresses"])
    steps += address_steps(pns, peer, set(), spec["peer_addresses"])
    for gateway in spec.get("peer_gateway") or []:
        steps.append(_gateway_step(pns, peer, gateway, None))
    return steps


def _hairpin_step(ns, name, on):
    return Step("set hairpin %s on %s" % ("on" if on else "off", name),
                lambda: ns.call("set hairpin on %s" % name, ns.ipr.link, "set", ifname=name,
                                kind="bridge_slave", IFLA_BRPORT_MODE=int(on)))


def _gateway_step(pns, peer, gateway, old):
    family = socket.AF_INET if gateway.version == 4 else socket.AF_INET6
    dst = "0.0.0.0/0" if gateway.version == 4 else "::/0"

    def call():
        pns.call("set default route via %s" % gateway, pns.ipr.route, "replace", dst=dst, family=family,
                 gateway=str(gateway), oif=pns.index_of(peer))

    def undo():
        if old is None:
            pns.call("remove default route", pns.ipr.route, "del", dst=dst, family=family)
    return Step("set default route via %s dev %s%s" % (gateway, peer, where(pns)), call, undo)


def _converge_steps(ns, pns, spec, link, peer_link, before, after, owner=None):
    name, peer = spec["name"], spec["peer"]
    steps = []
    host, remote = {}, {}
    if spec.get("mtu"):
        if link["mtu"] != spec["mtu"]:
            host["mtu"] = spec["mtu"]
        if peer_link["mtu"] != spec["mtu"]:
            remote["mtu"] = spec["mtu"]
        after["mtu"] = spec["mtu"]
    if spec.get("mac") and link["mac"] != spec["mac"]:
        host["address"] = after["mac"] = spec["mac"]
    if spec.get("peer_mac") and peer_link["mac"] != spec["peer_mac"]:
        remote["address"] = after["peer_mac"] = spec["peer_mac"]
    bridge_link = ns.link(spec["bridge"]) if spec.get("bridge") else None
    if bridge_link is not None:
        want = bridge_link["index"]
        if link["master"] != want:
            host["master"] = want
            after["bridge"] = spec["bridge"]
    if link["up"] != _up(spec):
        host["state"] = "up" if _up(spec) else "down"
        after["up"] = _up(spec)
    if is_ours(link):  # marked (a run killed before it named it left no alias) and claimed for a project
        project = ownership(link, "veth", owner, "veth %r%s" % (name, where(ns)), spec["name"], host)
        owners.tagged(after, project)
        if owner_of(peer_link) != project and (peer_link.get("alias") or "").startswith("nsbridge"):
            remote["ifalias"] = mark("veth-peer", project)
    if peer_link["up"] != _up(spec):
        remote["state"] = "up" if _up(spec) else "down"
        after["peer_up"] = _up(spec)
    if host:
        steps.append(Step("set %s %s" % (name, _kv(host)),
                          lambda: ns.call("set %s" % name, ns.ipr.link, "set", ifname=name, **host)))
    if remote:
        steps.append(Step("set %s %s%s" % (peer, _kv(remote), where(pns)),
                          lambda: pns.call("set %s" % peer, pns.ipr.link, "set", ifname=peer, **remote)))
    if spec.get("hairpin") is not None and spec.get("bridge") and bool(link["hairpin"]) != spec["hairpin"]:
        steps.append(_hairpin_step(ns, name, spec["hairpin"]))
        after["hairpin"] = spec["hairpin"]
    steps += address_steps(ns, name, ns.addresses().get(link["index"], set()), spec["addresses"])
    if spec["addresses"] is not None:
        after["addresses"] = sorted_addresses(str(a) for a in spec["addresses"])
    steps += address_steps(pns, peer, pns.addresses().get(peer_link["index"], set()), spec["peer_addresses"])
    if spec["peer_addresses"] is not None:
        after["peer_addresses"] = sorted_addresses(str(a) for a in spec["peer_addresses"])
    have = _gateways_of(pns, peer_link)
    for gateway in spec.get("peer_gateway") or []:
        if have.get(gateway.version) != str(gateway):
            steps.append(_gateway_step(pns, peer, gateway, have.get(gateway.version)))
            have[gateway.version] = str(gateway)
    if spec.get("peer_gateway") is not None:
        # exactly the gateways listed: a family's default route through this end that is no longer
        # listed goes (a network's IPv6 side removed; the default route moved to another interface)
        listed = {g.version for g in spec["peer_gateway"]}
        for version in sorted(set(have) - listed):
            steps.append(_no_gateway_step(pns, peer, version, have.pop(version)))
    after["peer_gateway"] = [gw for _v, gw in sorted(have.items())]
    return steps


def _no_gateway_step(pns, peer, version, old):
    family = socket.AF_INET if version == 4 else socket.AF_INET6
    dst = "0.0.0.0/0" if version == 4 else "::/0"

    def call():
        try:
            pns.ipr.route("del", dst=dst, family=family, gateway=old, oif=pns.index_of(peer))
        except pyroute2().netlink.exceptions.NetlinkError as exc:
            if exc.code not in (errno.ESRCH, errno.ENOENT):  # gone already (another route replaced it)
                raise KernelError("remove default route via %s%s failed: %s" % (old, where(pns), os.strerror(exc.code)))

    def undo():
        pns.call("restore default route via %s" % old, pns.ipr.route, "replace", dst=dst, family=family,
                 gateway=old, oif=pns.index_of(peer))
    return Step("remove default route via %s dev %s%s" % (old, peer, where(pns)), call, undo)


def _kv(changes):
    return ", ".join("%s=%s" % kv for kv in sorted(changes.items()))


def plan_pair_absent(kernel, key, spec, owner=None, removals=None):
    name = spec["name"]
    ns, before, ended = removable_link(kernel, key, spec, "veth", "veth", owner)
    if ended is not None:
        return ended
    describe = "delete veth %s%s (and its peer)" % (name, where(ns))
    if removals is None:
        return ItemPlan(key, name, before, None, [Step(describe, lambda: delete_link(ns, name))])
    return ItemPlan(key, name, before, None, [removals.step(ns, name, describe)])
