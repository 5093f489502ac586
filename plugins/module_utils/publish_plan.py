# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for published ports (module ``nsbridge.network.port_publish``)."""

from __future__ import annotations

import re

from . import validate
from .edge import batch_items, field, item_spec
from .errors import ConflictError, ValidationError
from .fw_memo import remembered
from .fw_plan import (conntrack_flush_step, forwarding_steps, interface_exists, open_firewall,
                      restore_steps, saved_keys, sysctl_steps)
from .fw_rules import publish_rules
from .reconcile import Step

ITEM_KEYS = ("host_port", "destination", "destination_port", "protocol", "host_ip", "bridge",
             "local", "localhost", "state")
PROTOCOLS = ("tcp", "udp", "sctp")
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$")


def parse_ports(value, path):
    """``8080``, ``"8080"`` or ``"8080-8090"`` -> (first, last); 1..65535, first <= last."""
    if isinstance(value, bool):
        raise ValidationError("%r is not a port or port range" % (value,), path)
    if isinstance(value, int):
        first = last = value
    else:
        match = _RANGE.match(str(value))
        if not match:
            raise ValidationError("%r is not a port or a range like 8080-8090" % (value,), path)
        first = int(match.group(1))
        last = int(match.group(2) or first)
    for port in (first, last):
        if not 1 <= port <= 65535:
            raise ValidationError("port %d is outside 1..65535" % port, path)
    if first > last:
        raise ValidationError("range %d-%d is reversed" % (first, last), path)
    return first, last


def validate_publish(path, item, default_state):
    spec = item_spec(item, ITEM_KEYS, default_state)
    if spec["host_port"] is None:
        raise ValidationError("is required", field(path, "host_port"))
    spec["host_ports"] = parse_ports(spec["host_port"], field(path, "host_port"))
    protocol = spec["protocol"] or "tcp"
    if protocol not in PROTOCOLS:
        raise ValidationError("%r is not one of %s" % (protocol, ", ".join(PROTOCOLS)), field(path, "protocol"))
    spec["protocol"] = protocol
    if spec["host_ip"] is not None:
        spec["host_ip"] = validate.ipv4(validate.address, spec["host_ip"], field(path, "host_ip"),
                                        "only IPv4 is published")
    if spec["state"] == "absent":
        return spec
    if spec["destination"] is None:
        raise ValidationError("is required when state is present", field(path, "destination"))
    spec["destination"] = validate.ipv4(validate.address, spec["destination"], field(path, "destination"),
                                        "only IPv4 destinations are published")
    if spec["destination_port"] is None:
        spec["destination_ports"] = spec["host_ports"]
    else:
        spec["destination_ports"] = parse_ports(spec["destination_port"], field(path, "destination_port"))
    hp, dp = spec["host_ports"], spec["destination_ports"]
    if hp[1] - hp[0] != dp[1] - dp[0]:
        raise ValidationError("range %d-%d has %d ports but host_port %d-%d has %d"
                              % (dp[0], dp[1], dp[1] - dp[0] + 1, hp[0], hp[1], hp[1] - hp[0] + 1),
                              field(path, "destination_port"))
    if spec["bridge"] is not None:
        validate.ifname(spec["bridge"], field(path, "bridge"))
    spec["local"] = True if spec["local"] is None else spec["local"]
    spec["localhost"] = bool(spec["localhost"])
    if spec["localhost"] and not spec["bridge"]:
        raise ValidationError("localhost needs bridge (route_localnet is set on it)", field(path, "localhost"))
    return spec


def scope_of_item(spec):
    first, last = spec["host_ports"]
    ports = str(first) if first == last else "%d-%d" % (first, last)
    return "publish:%s:%s:%s" % (spec["protocol"], spec["host_ip"] or "*", ports)


def _parse_scope(scope):
    _kind, proto, host_ip, ports = scope.split(":", 3)
    first, _, last = ports.partition("-")
    return proto, host_ip, int(first), int(last or first)


def _overlaps(a, b):
    pa, ia, fa, la = a
    pb, ib, fb, lb = b
    return pa == pb and (ia == ib or "*" in (ia, ib)) and fa <= lb and fb <= la


class PortIndex:
    """Which scope holds each (protocol, port): finds overlaps in time linear in ports."""

    def __init__(self):
        self.by_port = {}

    def add(self, scope):
        parsed = _parse_scope(scope)
        proto, _ip, first, last = parsed
        for port in range(first, last + 1):
            self.by_port.setdefault((proto, port), []).append((parsed, scope))

    def clashes(self, scope):
        parsed = _parse_scope(scope)
        proto, _ip, first, last = parsed
        for port in range(first, last + 1):
            for other_parsed, other in self.by_port.get((proto, port), ()):
                if other != scope and _overlaps(parsed, other_parsed):
                    yield other


def _rules(scope, spec):
    rules = []
    (h0, h1), d0 = spec["host_ports"], spec["destination_ports"][0]
    for offset in range(h1 - h0 + 1):
        rules += publish_rules(scope, spec["protocol"], h0 + offset, spec["destination"], d0 + offset,
                               spec["host_ip"], spec["bridge"], spec["local"], spec["localhost"])
    return rules


def _plan_publishes(params, stack, opened):
    items = batch_items(params, "ports", ITEM_KEYS)
    specs = [(path, validate_publish(path, item, params["state"])) for path, item in items]
    scopes = [scope_of_item(s) for _p, s in specs]
    given = PortIndex()
    for i, scope in enumerate(scopes):
        for other in given.clashes(scope):
            j = scopes.index(other)
            raise ValidationError("%s overlaps item %d (%s)" % (scope.split(":", 1)[1], j, other.split(":", 1)[1]),
                                  field(specs[i][0], "host_port"))
        given.add(scope)
    if params.get("netns") is not None:
        validate.netns_name(params["netns"], "netns")
    netns = params.get("netns")
    planner, chosen = open_firewall(params["backend"], netns, stack, opened)
    ours = set(scopes)
    published = planner.scopes("publish:")
    existing = PortIndex()
    for other in published:
        if other not in ours:
            existing.add(other)
    for (path, spec), scope in zip(specs, scopes):
        if spec["state"] != "present":
            continue
        for other in existing.clashes(scope):
            raise ConflictError("%s is already published by another item (%s); remove that first"
                                % (scope.split(":", 1)[1], other.split(":", 1)[1]), field(path, "host_port"))
    plans = []
    for (path, spec), scope in zip(specs, scopes):
        ident = None
        if spec["state"] == "present":
            ident = ("publish", spec["protocol"], spec["host_ports"], spec["destination"],
                     spec["destination_ports"][0], spec["host_ip"], spec["bridge"], spec["local"], spec["localhost"])
        also = ()
        if spec["state"] == "absent" and spec["host_ip"] is None:
            # absent without host_ip: the port on every host address it is published on
            proto, _ip, first, last = _parse_scope(scope)
            also = [other for other in published if other != scope
                    and _parse_scope(other)[0] == proto and _parse_scope(other)[2:] == (first, last)]
        plan = planner.plan_item(path or scope.split(":", 1)[1], scope.split(":", 1)[1], scope, ident,
                                 lambda spec=spec, scope=scope: _rules(scope, spec), also)
        if spec["state"] == "present" and spec["localhost"]:
            if not interface_exists(netns, spec["bridge"]) and not params.get("_check_mode"):
                raise ValidationError("bridge %r does not exist (localhost sets route_localnet on it)"
                                      % spec["bridge"], field(path, "bridge"))
            if interface_exists(netns, spec["bridge"]):
                _was, steps = sysctl_steps(netns, "net.ipv4.conf.%s.route_localnet" % spec["bridge"], "1")
            else:  # check mode, bridge made by an earlier task
                steps = [Step("set net.ipv4.conf.%s.route_localnet = 1" % spec["bridge"], lambda: None)]
            plan.steps += steps
        if plan.changed and spec["protocol"] in ("udp", "sctp"):
            h0, h1 = spec["host_ports"]
            plan.post_steps += [conntrack_flush_step(netns, spec["protocol"], p) for p in range(h0, h1 + 1)]
        plans.append(plan)
    present = [plan for plan, (_p, spec) in zip(plans, specs) if spec["state"] == "present"]
    absent = [plan for plan, (_p, spec) in zip(plans, specs) if spec["state"] == "absent"]
    # a published port is forwarded to the container: forwarding must be on, as Docker sets it
    steps = forwarding_steps(planner, netns, bool(present), bool(absent))
    if steps:
        (present or absent)[0 if present else -1].steps += steps
    if absent and not planner.scopes_left("publish:"):
        # the last published port is gone: put route_localnet back wherever nsbridge set it
        for key in saved_keys(netns, "net.ipv4.conf."):
            if key.endswith(".route_localnet"):
                absent[-1].steps += restore_steps(netns, key)
    return plans, {"backend": chosen, "_commit": planner.commit, "_planner": planner}


plan_publishes = remembered("port_publish", _plan_publishes)
