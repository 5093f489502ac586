# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for static routes (module ``nsbridge.network.route``).

Routes nsbridge makes carry their own routing protocol number (``RTPROT_NSBRIDGE``, shown by
``ip route`` as ``proto 78``): that is how re-runs, ``state: absent`` and ``purge`` find exactly
them, and how a route somebody else made to the same destination is recognised and left alone.
"""

from __future__ import annotations

import ipaddress

from ..common import validate
from ..common.errors import ConflictError, ValidationError, field
from ..engine.edge import batch_items, item_spec
from ..engine.reconcile import ItemPlan, Planned, Step
from ..kernel.netlink import Kernel
from ..kernel.rtnl_writer import RtnlBatch
from .links import where

RTPROT_NSBRIDGE = 78  # unassigned in iproute2's rt_protos (188 is ospf)
IP6_DEFAULT_METRIC = 1024
ITEM_OPTIONS = dict(
    dst=dict(type="str"),
    via=dict(type="str"),
    dev=dict(type="str"),
    onlink=dict(type="bool", default=False),
    metric=dict(type="int", default=0),
)
ITEM_KEYS = tuple(ITEM_OPTIONS) + ("state",)


def validate_route(path, item, default_state):
    spec = item_spec(item, ITEM_KEYS, default_state)
    spec["dst"] = validate.network(spec["dst"], field(path, "dst"))
    # the kernel files an IPv6 route of metric 0 under 1024 (IP6_RT_PRIO_USER): say so up front
    spec["metric"] = spec["metric"] or (IP6_DEFAULT_METRIC if spec["dst"].version == 6 else 0)
    if spec["state"] == "absent":
        return spec
    if spec["via"] is None and spec["dev"] is None:
        raise ValidationError("a route needs via, dev or both", field(path, "via"))
    if spec["via"] is not None:
        spec["via"] = validate.address(spec["via"], field(path, "via"))
        if spec["via"].version != spec["dst"].version:
            raise ValidationError("%s and dst %s are not the same IP version" % (spec["via"], spec["dst"]),
                                  field(path, "via"))
    if spec["dev"] is not None:
        validate.ifname(spec["dev"], field(path, "dev"))
    return spec


def _key(dst, metric):
    return (str(dst), metric)


def describe(route, ns):
    link = ns.link_by_index(route["oif"]) if route["oif"] else None
    return {"dst": "%s/%d" % (route["dst"], route["dst_len"]), "via": route["gateway"],
            "dev": link["ifname"] if link else None, "metric": route["metric"], "onlink": route["onlink"],
            "managed": route["proto"] == RTPROT_NSBRIDGE}


def _connected(ns, address, networks=None):
    """The interface whose address network holds ``address``, or None (not on-link).
    ``networks``: the namespace's [(network, ifindex)], read once for a whole call."""
    for network, index in networks if networks is not None else _networks(ns):
        if address in network:
            link = ns.link_by_index(index)
            return link["ifname"] if link else None
    return None


def _networks(ns):
    return [(ipaddress.ip_interface(text).network, index) for index, addrs in ns.addresses().items() for text in addrs]


def plan_routes(params, ctx):
    items = batch_items(params, "routes", ITEM_KEYS)
    specs = [(path, validate_route(path, item, params["state"])) for path, item in items]
    validate.unique(specs, lambda ps: _key(ps[1]["dst"], ps[1]["metric"]),
                    lambda i: field(specs[i][0], "dst"), "route")
    if params.get("netns") is not None:
        validate.netns_name(params["netns"], "netns")
    kernel = ctx.stack.enter_context(Kernel(ctx.check_mode))
    ns = kernel.ns(params.get("netns"))
    # every change of the call goes out in one batch of messages at commit (kernel.rtnl_writer)
    batch = RtnlBatch(params.get("netns"))
    observed = {}
    for route in ns.routes():
        observed.setdefault(_key(ipaddress.ip_network("%s/%d" % (route["dst"], route["dst_len"])),
                                 route["metric"]), []).append(route)
    plans = []
    wanted = set()
    connected_networks = None
    check_warnings = []
    for path, spec in specs:
        name = str(spec["dst"])  # the texts once per route: an ipaddress object formats itself slowly
        via = str(spec["via"]) if spec["via"] is not None else None
        key = _key(name, spec["metric"])
        wanted.add(key)
        have = observed.get(key, [])
        ours = [r for r in have if r["proto"] == RTPROT_NSBRIDGE]
        theirs = [r for r in have if r["proto"] != RTPROT_NSBRIDGE]
        if spec["state"] == "absent":
            plans.append(ItemPlan(path or name, name, describe(ours[0], ns) if ours else None, None,
                                  [_delete_step(batch, ns, r) for r in ours]))
            continue
        if theirs:
            raise ConflictError("a route to %s (metric %d) exists%s that nsbridge did not make (%s); remove it "
                                "or use another metric" % (name, spec["metric"], where(ns), describe(theirs[0], ns)),
                                field(path, "dst"))
        dev = spec["dev"]
        if spec["via"] is not None and not spec["onlink"]:
            if connected_networks is None:
                connected_networks = _networks(ns)
            connected = _connected(ns, spec["via"], connected_networks)
            if connected is None and kernel.check_mode:
                # an earlier call of the same run may give the namespace that network (a lab's link)
                check_warnings.append("%s: gateway %s is not on a directly connected network%s yet; check mode "
                                      "assumes an earlier task connects it" % (field(path, "via"), spec["via"], where(ns)))
            elif connected is None:
                raise ValidationError("gateway %s is not on a directly connected network%s (no L2 adjacency); "
                                      "set onlink or route through a host that is" % (spec["via"], where(ns)),
                                      field(path, "via"))
            dev = dev or connected
        if dev is not None and ns.link(dev) is None and not kernel.check_mode:
            raise ValidationError("interface %r does not exist%s" % (dev, where(ns)), field(path, "dev"))
        after = {"dst": name, "via": via, "dev": dev,
                 "metric": spec["metric"], "onlink": bool(spec["onlink"]), "managed": True}
        before = describe(ours[0], ns) if ours else None
        steps = []
        if before is None or len(ours) > 1 or any(before[k] != after[k] for k in ("via", "dev", "onlink")):
            steps.append(_replace_step(batch, ns, spec, dev, name, via))
        plans.append(ItemPlan(path or name, name, before, after, steps))
    if params.get("purge"):
        for key, routes in sorted(observed.items()):
            for route in routes:
                if route["proto"] == RTPROT_NSBRIDGE and key not in wanted:
                    before = describe(route, ns)
                    plans.append(ItemPlan("purge", before["dst"], before, None, [_delete_step(batch, ns, route)]))
    if plans and check_warnings:
        plans[0].warnings += check_warnings
    return Planned(plans, commit=batch.send, atomic=False)


def _replace_step(batch, ns, spec, dev, name, via):
    """Queue the route on the call's batch (sent, with every other route of the call, at commit);
    ``name`` and ``via``: the route's destination and gateway as text."""
    def run():
        batch.route("replace", spec["dst"], gateway=spec["via"], oif=ns.index_of(dev) if dev is not None else None,
                    priority=spec["metric"], proto=RTPROT_NSBRIDGE, onlink=bool(spec["onlink"]))
    return Step("route %s%s%s%s" % (name, " via %s" % via if via else "", " dev %s" % dev if dev else "", where(ns)),
                run)


def _delete_step(batch, ns, route):
    dst = "%s/%d" % (route["dst"], route["dst_len"])
    return Step("remove route %s%s" % (dst, where(ns)),
                lambda: batch.route("del", dst, priority=route["metric"], proto=RTPROT_NSBRIDGE))
