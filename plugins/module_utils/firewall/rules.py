# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backend-neutral firewall rules and what each module item asks for.

Every rule nsbridge writes carries a comment ``nsbridge <scope> <id> <i>/<n>[ <project>]``:
*scope* names the item that owns it (``masq:10.10.0.0/16``, ``publish:tcp:*:8080``,
``publish:tcp:[::]:8080``), *id* is a digest of everything the item's rules are made
from (and of ``RULES_VERSION``), and ``i/n`` numbers the item's *n* rules (in both
families together), and *project* the project the item was made for (none without one; see
engine.owner).  Re-runs and ``state: absent`` find exactly their rules by comment;
an item whose spec changed has a new id, so its old rules are replaced, never matched
loosely.  An item is unchanged when its scope holds exactly the rules ``1/n`` .. ``n/n``
of its id, once each: a no-op run neither generates nor renders a single rule.

Every rule belongs to one IP family; a backend keeps each family's rules in that family's
tables.  Logical chains (each backend maps them onto its own owned chains):

- ``prerouting``: nat, traffic to a local address arriving from outside (DNAT)
- ``output``: nat, traffic to a local address sent by the host itself (DNAT)
- ``postrouting``: nat (MASQUERADE)
- ``forward``: filter (ACCEPT for container traffic when FORWARD's policy is DROP)
- ``input``: filter (the guard against spoofed 127.0.0.1 with route_localnet)
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Optional, Tuple

from ..common.family import FAMILIES, IPV4, Family, family_of

COMMENT_PREFIX = "nsbridge"
JUMP_COMMENT = "nsbridge jump"
CHAINS = ("prerouting", "output", "postrouting", "forward", "input")
NAT_CHAINS = ("prerouting", "output", "postrouting")
# a packet DNATed from a bridge back onto it (hairpin) or from 127.0.0.1 gets this
# bit, and the postrouting rule masquerades it so the reply comes back through us
HAIRPIN_MARK = 0x00800000
# bump whenever the rules generated from the same item spec change (masquerade_rules,
# publish_rules, isolation_rules): every item's id changes with it, so re-runs rewrite
# their rules.  tests/unit/test_fw_rules.py fingerprints the generators to catch a miss.
RULES_VERSION = 4


@dataclass(frozen=True)
class Scope:
    """The item that owns a rule: ``kind`` (masq, publish, isolate) and a kind-specific ``key``.

    Written into comments as ``kind:key``; the key itself may hold colons (IPv6), so the text
    is only ever split at its first colon.
    """

    kind: str
    key: str

    def __str__(self):
        return "%s:%s" % (self.kind, self.key)

    @classmethod
    def parse(cls, text):
        kind, sep, key = (text or "").partition(":")
        return cls(kind, key) if sep and kind and key else None


@dataclass(frozen=True)
class Rule:
    family: Family
    chain: str
    scope: str
    verdict: str                           # ACCEPT, DROP, RETURN, MASQUERADE, DNAT, MARK
    src: Optional[str] = None              # CIDR
    src_neg: bool = False
    dst: Optional[str] = None
    dst_neg: bool = False
    iif: Optional[str] = None
    iif_neg: bool = False
    oif: Optional[str] = None
    oif_neg: bool = False
    oif_group: Optional[int] = None        # the outgoing device is in this device group
    proto: Optional[str] = None            # tcp, udp, sctp
    dport: Optional[int] = None
    sport: Optional[int] = None
    ctstate: Tuple[str, ...] = ()          # ("RELATED", "ESTABLISHED")
    mark: Optional[int] = None             # match: mark & mark == mark
    to_addr: Optional[str] = None          # DNAT
    to_port: Optional[int] = None
    set_mark: Optional[int] = None         # MARK --or-mark
    first: bool = False                    # goes before every accept in its chain (isolation drops)
    comment: Optional[str] = None          # set by stamp()

    @property
    def where(self):
        """The (family, logical chain) this rule goes into."""
        return (self.family, self.chain)


def item_id(ident):
    """The id of an item whose rules are made from ``ident`` (a tuple of plain values)."""
    return hashlib.blake2b(repr((RULES_VERSION,) + tuple(ident)).encode(), digest_size=6).hexdigest()


def item_tag(scope, ident, owner=None):
    """The comment prefix every rule of the item carries: ``nsbridge <scope> <id> `` (the id
    covers the project the item is made for, if any)."""
    ident = tuple(ident) + ((("project", owner),) if owner else ())
    return "%s %s %s " % (COMMENT_PREFIX, scope, item_id(ident))


def parse_comment(comment):
    """(scope text, id, 'i/n', project or None) of one of nsbridge's item comments, or None."""
    parts = (comment or "").split(" ")
    if len(parts) in (4, 5) and parts[0] == COMMENT_PREFIX:
        return parts[1], parts[2], parts[3], parts[4] if len(parts) == 5 else None
    return None


def _tail(owner):
    return " " + owner if owner else ""


def stamp(rules, tag, owner=None):
    """The rules with their comments: ``<tag><i>/<n>[ <project>]``."""
    n = len(rules)
    return [dataclasses.replace(rule, comment="%s%d/%d%s" % (tag, i, n, _tail(owner))) for i, rule in enumerate(rules, 1)]


def is_complete(comments, tag, owner=None):
    """True if ``comments`` are exactly the rules 1/n..n/n of ``tag`` (and project), each once."""
    cut = len(tag)
    seen = set()
    for comment in comments:
        if not comment.startswith(tag):
            return False
        seen.add(comment[cut:])
    n = len(comments)
    tail = _tail(owner)
    return len(seen) == n and seen == {"%d/%d%s" % (i, n, tail) for i in range(1, n + 1)}


def render(rule):
    """An iptables-like line for results and diffs (the same for both backends; IPv6 ones start ``ip6``)."""
    parts = ["-A %s" % rule.chain] if rule.family == IPV4 else ["ip6 -A %s" % rule.chain]
    for flag, value, neg in (("-s", rule.src, rule.src_neg), ("-d", rule.dst, rule.dst_neg),
                             ("-i", rule.iif, rule.iif_neg), ("-o", rule.oif, rule.oif_neg)):
        if value:
            parts.append("%s%s %s" % ("! " if neg else "", flag, value))
    if rule.oif_group is not None:
        parts.append("-m devgroup --dst-group 0x%x" % rule.oif_group)
    if rule.proto:
        parts.append("-p %s" % rule.proto)
    if rule.sport is not None:
        parts.append("--sport %d" % rule.sport)
    if rule.dport is not None:
        parts.append("--dport %d" % rule.dport)
    if rule.ctstate:
        parts.append("--ctstate %s" % ",".join(rule.ctstate))
    if rule.mark is not None:
        parts.append("--mark 0x%x/0x%x" % (rule.mark, rule.mark))
    parts.append("-j %s" % rule.verdict)
    if rule.verdict == "DNAT":
        to = rule.to_addr if rule.family == IPV4 else "[%s]" % rule.to_addr
        parts.append("--to-destination %s:%d" % (to, rule.to_port))
    if rule.set_mark is not None:
        parts.append("--or-mark 0x%x" % rule.set_mark)
    return " ".join(parts)


def masquerade_rules(scope, source, bridge, out_interface, forward, exclude=(), accept_from=(), nat=True):
    """Docker's egress NAT: ``-s SUBNET ! -o BRIDGE -j MASQUERADE`` plus FORWARD accepts, in the
    family of ``source`` (NAT66 for an IPv6 subnet, as Docker does for ULA subnets).

    ``exclude``: destinations reached with the containers' own addresses (e.g. a fleet range),
    by RETURN rules placed before every masquerade.  ``accept_from``: networks allowed to open
    connections into the bridge (other hosts' containers).  ``nat=False``: the subnet is routed
    with its own addresses (forward accepts only).
    """
    fam = family_of(source)

    def rule(chain, verdict, **kw):
        return Rule(fam, chain, scope, verdict, **kw)
    rules = []
    if nat:
        rules += [rule("postrouting", "RETURN", src=source, dst=cidr, first=True) for cidr in exclude]
        if out_interface:
            rules.append(rule("postrouting", "MASQUERADE", src=source, oif=out_interface))
        elif bridge:
            rules.append(rule("postrouting", "MASQUERADE", src=source, oif=bridge, oif_neg=True))
        else:
            rules.append(rule("postrouting", "MASQUERADE", src=source))
    if forward:
        if bridge:
            # new traffic out of the bridge, replies back in, and container-to-container
            # on the bridge (it crosses FORWARD when br_netfilter is on)
            rules.append(rule("forward", "ACCEPT", iif=bridge, oif=bridge, oif_neg=True))
            rules.append(rule("forward", "ACCEPT", oif=bridge, ctstate=("RELATED", "ESTABLISHED")))
            rules.append(rule("forward", "ACCEPT", iif=bridge, oif=bridge))
        else:
            rules.append(rule("forward", "ACCEPT", src=source, oif=out_interface))
            rules.append(rule("forward", "ACCEPT", dst=source, iif=out_interface, ctstate=("RELATED", "ESTABLISHED")))
        for cidr in accept_from:
            rules.append(rule("forward", "ACCEPT", src=cidr, dst=source, oif=bridge))
    return rules


def publish_rules(scope, proto, host_port, dest, dest_port, host_ip, bridge, local, localhost):
    """Docker's port publishing for one port, in the family of ``dest``: DNAT from outside and
    from the host, hairpin, FORWARD.  ``localhost`` (127.0.0.1) exists for IPv4 only."""
    fam = family_of(dest)

    def rule(chain, verdict, **kw):
        return Rule(fam, chain, scope, verdict, proto=proto, **kw)
    dst = fam.host(host_ip) if host_ip else None
    rules = [rule("prerouting", "DNAT", dst=dst, dport=host_port, to_addr=dest, to_port=dest_port)]
    if bridge:
        # hairpin: a container on the bridge reaching the published port gets masqueraded,
        # so the reply goes back through the host's conntrack instead of straight across the bridge
        rules.insert(0, rule("prerouting", "MARK", iif=bridge, dst=dst, dport=host_port, set_mark=HAIRPIN_MARK))
    if local:
        rules.append(rule("output", "DNAT", dst=dst or fam.loopback, dst_neg=not dst, dport=host_port,
                          to_addr=dest, to_port=dest_port))
    if localhost:
        if fam != IPV4:
            raise ValueError("localhost publishing exists for IPv4 only")
        rules.append(rule("output", "MARK", dst="127.0.0.1/32", dport=host_port, set_mark=HAIRPIN_MARK))
        rules.append(rule("output", "DNAT", dst="127.0.0.1/32", dport=host_port, to_addr=dest, to_port=dest_port))
        # route_localnet lets 127.0.0.1 be routed; never let another machine use that
        # (new connections only: replies to our own 127.0.0.1 clients arrive here still carrying
        # the container's source, before conntrack restores it)
        rules.append(Rule(fam, "input", scope, "DROP", dst="127.0.0.0/8", src="127.0.0.0/8", src_neg=True,
                          iif="lo", iif_neg=True, ctstate=("NEW",)))
    if bridge or localhost:
        rules.append(rule("postrouting", "MASQUERADE", mark=HAIRPIN_MARK, dst=fam.host(dest), dport=dest_port))
    rules.append(rule("forward", "ACCEPT", dst=fam.host(dest), oif=bridge, dport=dest_port))
    rules.append(rule("forward", "ACCEPT", src=fam.host(dest), iif=bridge, sport=dest_port,
                      ctstate=("RELATED", "ESTABLISHED")))
    return rules


def isolation_rules(scope, bridge, others, internal, bridges_group):
    """Docker's network isolation, in both families: nothing crosses from this bridge to any other
    nsbridge bridge on the host, whichever project or call made it (they are all in device group
    ``bridges_group``), nor to the bridges named in ``others``; an internal network (Docker
    --internal, VirtualBox 'internal') does not leave its bridge at all.  One rule covers every
    nsbridge bridge, so a network coming or going rewrites nobody else's rules."""
    rules = []
    for fam in FAMILIES:
        if internal:
            rules += [Rule(fam, "forward", scope, "DROP", iif=bridge, oif=bridge, oif_neg=True, first=True),
                      Rule(fam, "forward", scope, "DROP", oif=bridge, iif=bridge, iif_neg=True, first=True)]
        else:
            rules.append(Rule(fam, "forward", scope, "DROP", iif=bridge, oif=bridge, oif_neg=True,
                              oif_group=bridges_group, first=True))
            rules += [Rule(fam, "forward", scope, "DROP", iif=bridge, oif=other, first=True)
                      for other in sorted(others) if other != bridge]
    return rules
