# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for published ports (module ``nsbridge.network.port_publish``), IPv4 and IPv6."""

from __future__ import annotations

from typing import NamedTuple, Optional

from ..common import validate
from ..common.errors import ConflictError, ValidationError, field
from ..common.family import IPV4, IPV6, Family, family_of
from ..engine.edge import batch_items, item_spec
from ..engine.reconcile import Planned, Step
from ..firewall.host_settings import (conntrack_flush_step, forwarding_steps, interface_exists, restore_steps, saved_keys,
                                      sysctl_steps)
from ..firewall.planner import FirewallPlanner
from ..firewall.registry import open_backend
from ..firewall.rules import Scope, publish_rules
from ..kernel import sock_diag

PROTOCOLS = ("tcp", "udp", "sctp")
ITEM_OPTIONS = dict(
    host_port=dict(type="raw"),
    destination=dict(type="str"),
    destination_port=dict(type="raw"),
    protocol=dict(type="str", choices=list(PROTOCOLS), default="tcp"),
    host_ip=dict(type="str"),
    bridge=dict(type="str"),
    local=dict(type="bool", default=True),
    localhost=dict(type="bool", default=False),
)
ITEM_KEYS = tuple(ITEM_OPTIONS) + ("state",)


class PublishKey(NamedTuple):
    """What a published port is known by (its scope): ``tcp:*:8080``, ``udp:192.0.2.1:53``,
    ``tcp:[::]:8080`` (IPv6, every address), ``tcp:[2001:db8::1]:8080-8090``."""

    proto: str
    family: Family
    host_ip: Optional[str]       # None: every host address of the family
    first: int
    last: int

    def __str__(self):
        if self.family == IPV4:
            host = self.host_ip or "*"
        else:
            host = "[%s]" % (self.host_ip or "::")
        ports = str(self.first) if self.first == self.last else "%d-%d" % (self.first, self.last)
        return "%s:%s:%s" % (self.proto, host, ports)

    @classmethod
    def parse(cls, text):
        proto, _sep, rest = text.partition(":")
        if rest.startswith("["):
            host, _sep, ports = rest[1:].partition("]:")
            family, host_ip = IPV6, (None if host == "::" else host)
        else:
            host, _sep, ports = rest.partition(":")
            family, host_ip = IPV4, (None if host == "*" else host)
        first, _sep, last = ports.partition("-")
        return cls(proto, family, host_ip, int(first), int(last or first))

    def overlaps(self, other):
        return (self.proto == other.proto and self.family == other.family
                and (self.host_ip == other.host_ip or None in (self.host_ip, other.host_ip))
                and self.first <= other.last and other.first <= self.last)


def validate_publish(path, item, default_state):
    spec = item_spec(item, ITEM_KEYS, default_state)
    if spec["host_port"] is None:
        raise ValidationError("is required", field(path, "host_port"))
    spec["host_ports"] = validate.ports(spec["host_port"], field(path, "host_port"))
    protocol = spec["protocol"] or "tcp"
    if protocol not in PROTOCOLS:
        raise ValidationError("%r is not one of %s" % (protocol, ", ".join(PROTOCOLS)), field(path, "protocol"))
    spec["protocol"] = protocol
    host_ip = None
    if spec["host_ip"] is not None:
        host_ip = validate.address(spec["host_ip"], field(path, "host_ip"))
        spec["host_ip"] = str(host_ip)
    spec["family"] = family_of(host_ip) if host_ip is not None else None
    if spec["state"] == "absent":
        if spec["destination"] is not None:
            spec["family"] = family_of(validate.address(spec["destination"], field(path, "destination")))
        return spec
    if spec["destination"] is None:
        raise ValidationError("is required when state is present", field(path, "destination"))
    destination = validate.address(spec["destination"], field(path, "destination"))
    if host_ip is not None:
        validate.same_family(host_ip, destination, field(path, "host_ip"), "destination")
    spec["destination"] = str(destination)
    spec["family"] = family_of(destination)
    if spec["destination_port"] is None:
        spec["destination_ports"] = spec["host_ports"]
    else:
        spec["destination_ports"] = validate.ports(spec["destination_port"], field(path, "destination_port"))
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
    if spec["localhost"] and spec["family"] == IPV6:
        raise ValidationError("%s is IPv6: publishing on localhost works for IPv4 only (127.0.0.1). Linux drops "
                              "a reply to ::1 that arrives from a bridge and has no route_localnet for IPv6; "
                              "publish on the host's IPv6 addresses instead" % destination, field(path, "localhost"))
    return spec


def key_of(spec):
    first, last = spec["host_ports"]
    return PublishKey(spec["protocol"], spec["family"] or IPV4, spec["host_ip"], first, last)


class PortIndex:
    """Which keys hold each (protocol, family, port): finds overlaps in time linear in ports."""

    def __init__(self):
        self.by_port = {}

    def add(self, key):
        for port in range(key.first, key.last + 1):
            self.by_port.setdefault((key.proto, key.family, port), []).append(key)

    def clashes(self, key):
        for port in range(key.first, key.last + 1):
            for other in self.by_port.get((key.proto, key.family, port), ()):
                if other != key and key.overlaps(other):
                    yield other


def _rules(scope, spec):
    rules = []
    (h0, h1), d0 = spec["host_ports"], spec["destination_ports"][0]
    for offset in range(h1 - h0 + 1):
        rules += publish_rules(str(scope), spec["protocol"], h0 + offset, spec["destination"], d0 + offset,
                               spec["host_ip"], spec["bridge"], spec["local"], spec["localhost"])
    return rules


def _refuse_overlaps(specs, keys, planner):
    given = PortIndex()
    for i, key in enumerate(keys):
        for other in given.clashes(key):
            raise ValidationError("%s overlaps item %d (%s)" % (key, keys.index(other), other),
                                  field(specs[i][0], "host_port"))
        given.add(key)
    existing = PortIndex()
    ours = set(keys)
    for scope in planner.scopes("publish"):
        key = PublishKey.parse(Scope.parse(scope).key)
        if key not in ours:
            existing.add(key)
    for (path, spec), key in zip(specs, keys):
        if spec["state"] != "present":
            continue
        for other in existing.clashes(key):
            theirs = planner.owner_of(str(Scope("publish", str(other))))
            by = "project %r" % theirs if theirs and theirs != planner.owner else "another item"
            raise ConflictError("%s is already published by %s (%s); remove that first"
                                % (key, by, other), field(path, "host_port"))


def _takes(listener, key, localhost):
    """Would publishing ``key`` take connections ``listener`` gets now? (DNAT catches what arrives for the
    port at any address of the host, or at host_ip; 127.0.0.1 only with localhost.)"""
    if listener.protocol != key.proto or not key.first <= listener.port <= key.last:
        return False
    if listener.address.version != key.family.version and not (listener.dual and key.family == IPV4):
        return False
    if listener.address.is_unspecified:
        return True
    if listener.address.is_loopback:
        return localhost
    return key.host_ip is None or key.host_ip == str(listener.address)


def _programs_in_the_way(specs, keys, planner, netns, restoring):
    """Refuse to publish a port a program of the host listens on (its connections would go to the
    container: Docker refuses such a port too, "address already in use"); for a port published
    already, or put back as recorded (``restoring``), {item index: a warning naming the program}."""
    wanted = [(i, key) for i, ((_path, spec), key) in enumerate(zip(specs, keys))
              if spec["state"] == "present" and key.proto in sock_diag.PROTOCOLS]
    found = sock_diag.listeners(netns, sorted({key.proto for _i, key in wanted})) if wanted else []
    published = {PublishKey.parse(Scope.parse(scope).key) for scope in planner.scopes("publish")} if found else ()
    warnings = {}
    for i, key in wanted:
        path, spec = specs[i]
        for listener in found:
            if not _takes(listener, key, spec["localhost"]):
                continue
            who = sock_diag.holder(listener.inode) or "a program (socket inode %d)" % listener.inode
            here = " in %s" % netns if netns else " on the host"
            if key not in published and not restoring:
                raise ConflictError("%s: %s listens on %s%s, and publishing the port would send its connections to "
                                    "%s instead; stop that program or publish another host_port (Docker refuses "
                                    "such a port too: address already in use)"
                                    % (key, who, listener, here, spec["destination"]), field(path, "host_port"))
            warnings[i] = ("%s: %s listens on %s%s too, but connections to the port go to %s, which it is published "
                           "to" % (key, who, listener, here, spec["destination"]))
    return warnings


def _also_removed(spec, key, planner):
    """Absent without host_ip (and without a destination naming the family): the port on every
    host address it is published on, in both families."""
    if spec["state"] != "absent" or spec["host_ip"] is not None:
        return ()
    found = []
    for scope in planner.scopes("publish"):
        other = PublishKey.parse(Scope.parse(scope).key)
        if other != key and (other.proto, other.first, other.last) == (key.proto, key.first, key.last) \
                and (spec["family"] is None or other.family == spec["family"]):
            found.append(scope)
    return found


def plan_publishes(params, ctx):
    items = batch_items(params, "ports", ITEM_KEYS)
    specs = [(path, validate_publish(path, item, params["state"])) for path, item in items]
    keys = [key_of(s) for _p, s in specs]
    netns = params.get("netns")
    if netns is not None:
        validate.netns_name(netns, "netns")
    backend = open_backend(params["backend"], netns, ctx.stack)
    planner = FirewallPlanner(backend, ctx.owner)
    _refuse_overlaps(specs, keys, planner)
    in_the_way = _programs_in_the_way(specs, keys, planner, netns, ctx.restoring)
    plans = []
    for index, ((path, spec), key) in enumerate(zip(specs, keys)):
        scope = Scope("publish", str(key))
        ident = None
        if spec["state"] == "present":
            ident = ("publish", spec["protocol"], spec["host_ports"], spec["destination"],
                     spec["destination_ports"][0], spec["host_ip"], spec["bridge"], spec["local"], spec["localhost"])
        # pruning removes exactly the keys an earlier run made, never others of the same port
        also = () if ctx.pruning else _also_removed(spec, key, planner)
        plan = planner.plan_item(path or str(key), str(key), scope, ident,
                                 lambda spec=spec, scope=scope: _rules(scope, spec), also)
        if index in in_the_way:
            plan.warnings.append(in_the_way[index])
        if spec["state"] == "present" and spec["localhost"]:
            key_localnet = "net.ipv4.conf.%s.route_localnet" % spec["bridge"]
            if interface_exists(netns, spec["bridge"]):
                plan.steps += sysctl_steps(netns, key_localnet, "1")
            elif ctx.check_mode:  # the bridge is made by an earlier task
                plan.steps.append(Step("set %s = 1" % key_localnet, lambda: None))
            else:
                raise ValidationError("bridge %r does not exist (localhost sets route_localnet on it)"
                                      % spec["bridge"], field(path, "bridge"))
        if plan.changed and spec["protocol"] in ("udp", "sctp") and spec["family"] is not None:
            h0, h1 = spec["host_ports"]
            plan.post_steps += [conntrack_flush_step(netns, spec["family"], spec["protocol"], p)
                                for p in range(h0, h1 + 1)]
        plans.append(plan)
    present = [plan for plan, (_p, spec) in zip(plans, specs) if spec["state"] == "present"]
    absent = [plan for plan, (_p, spec) in zip(plans, specs) if spec["state"] == "absent"]
    # a published port is forwarded to the container: forwarding must be on, as Docker sets it
    wanted = {spec["family"] for _p, spec in specs if spec["state"] == "present"}
    steps, warnings = forwarding_steps(planner, netns, wanted, bool(absent))
    if steps or warnings:
        holder = (present or absent)[0 if present else -1]
        holder.steps += steps
        holder.warnings += warnings
    if absent and not planner.scopes_left("publish", IPV4):
        # the last published port is gone: put route_localnet back wherever nsbridge set it
        for name in saved_keys(netns, "net.ipv4.conf."):
            if name.endswith(".route_localnet"):
                absent[-1].steps += restore_steps(netns, name)
    repair = planner.repair_plan()
    if repair is not None:
        plans.append(repair)
    return Planned(plans, {"backend": backend.name}, planner.commit)
