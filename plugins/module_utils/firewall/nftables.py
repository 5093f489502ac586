# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend: libnftables' JSON API, both families in one transaction per module call.

nsbridge owns ``table ip nsbridge`` (IPv4) and ``table ip6 nsbridge`` (IPv6), each with nat base
chains ``prerouting``/``output`` (each with one ``fib daddr type local`` jump into
``prerouting-local``/``output-local``) and ``postrouting``, and filter base chains
``forward``/``input`` (priority filter - 10, ahead of iptables-nft).

A DROP in another table's base chain cannot be overruled from ours (every base chain on a
hook must accept), and iptables-nft cannot display rules using ``ct state``.  So the forward
rules, besides accepting, set bit ``FORWARD_MARK`` on the packet; where the host has
iptables-nft's ``table ip filter`` (or ``ip6 filter``) with a FORWARD base chain, one rule
(comment ``nsbridge jump``, ``-m mark --mark`` as iptables shows it) is inserted first in it to
accept packets carrying that bit.  That rule is the only thing nsbridge writes outside its tables.

Rules keyed by a port (and address) live in bucket chains reached through verdict maps; see
nftables_dispatch.
"""

from __future__ import annotations

from ..common.family import FAMILIES
from ..kernel.libnftables import Nft
from ..kernel.netlink import entered
from ..kernel.nft_reader import NftReader
from .backend import FirewallBackend, Observation
from .lock import netns_lock
from .nftables_dispatch import NftDispatch
from .rules import JUMP_COMMENT

TABLE = "nsbridge"
# logical chain -> (the chain its rules go in, the base chain it hangs off, that base chain's hook)
CHAINS = {
    "prerouting": ("prerouting-local", "prerouting", {"type": "nat", "hook": "prerouting", "prio": -100}),
    "output": ("output-local", "output", {"type": "nat", "hook": "output", "prio": -100}),
    "postrouting": ("postrouting", "postrouting", {"type": "nat", "hook": "postrouting", "prio": 100}),
    "forward": ("forward", "forward", {"type": "filter", "hook": "forward", "prio": -10}),
    "input": ("input", "input", {"type": "filter", "hook": "input", "prio": -10}),
}
FORWARD_MARK = 0x00400000


class _Seen:
    """One family's part of an observation."""

    def __init__(self):
        self.table = False
        self.chains = set()
        self.rules = None          # [(chain, handle, comment)] of our table (None: no table)
        self.filter_forward = False
        self.compat = []           # handles of our accept rule in iptables-nft's FORWARD
        self.jumps = {}            # base chain -> [handle] of its jump rules


class NftablesBackend(FirewallBackend):
    name = "nftables"
    summary = ("nf_tables through libnftables' JSON API, in owned C(table ip nsbridge) and C(table ip6 nsbridge) "
               "(plus one marked accept rule in iptables-nft's FORWARD chains where those exist), one transaction")
    used_when = "otherwise"

    @classmethod
    def host_uses(cls):
        return True  # the default of current distributions: whatever is not legacy

    def __init__(self, netns=None):
        super().__init__(netns)
        self._lock = None
        self._nft = None
        self._seen = {fam: _Seen() for fam in FAMILIES}
        self._handles = {}         # (family, logical) -> [(comment, handle, chain)]
        self._batch = []
        self._deletes = []
        self._dispatch = NftDispatch(TABLE, CHAINS)

    def __enter__(self):
        self._lock = netns_lock(self.netns)  # one writer at a time: observe and commit must not interleave
        self._lock.__enter__()
        return self

    def __exit__(self, *exc):
        if self._nft:
            self._nft.close()
        self._lock.__exit__(*exc)

    def _run(self, commands):
        with entered(self.netns):
            if self._nft is None:  # libnftables' context only when something is written
                self._nft = Nft()
            return self._nft.run(commands)

    def observe(self):
        """Comments and handles straight from the kernel (see kernel.nft_reader): only our tables and
        iptables-nft's FORWARD chains are read, never the whole ruleset."""
        seen = Observation()
        self._handles = {}
        with entered(self.netns):
            reader = NftReader()
        try:
            for fam in FAMILIES:
                self._seen[fam] = snap = self._read(reader, fam)
                grouped = self._dispatch.observe(reader, fam, snap.rules)
                self._dispatch.note_chains(fam, snap.chains)
                for logical, rules in grouped.items():
                    seen.rules[(fam, logical)] = [comment for _c, _h, comment in rules]
                    self._handles[(fam, logical)] = [(comment, handle, c) for c, handle, comment in rules]
        finally:
            reader.close()
        for fam in FAMILIES:
            snap = self._seen[fam]
            for logical, (chain, base, _hook) in CHAINS.items():
                where = (fam, logical)
                reachable = base == chain or bool(snap.jumps.get(base))
                if logical == "forward" and snap.filter_forward and not snap.compat:
                    reachable = False
                if reachable and self._dispatch.linked(fam, logical):
                    seen.linked.add(where)
        return seen

    def described_rules(self):
        with entered(self.netns):
            reader = NftReader()
        try:
            return [(fam,) + rule for fam in FAMILIES if TABLE in reader.tables(fam.af)
                    for rule in reader.described_rules(TABLE, fam.af) if rule[0] and rule[0] != JUMP_COMMENT]
        finally:
            reader.close()

    @staticmethod
    def _read(reader, fam):
        snap = _Seen()
        tables = reader.tables(fam.af)
        chains = reader.chains(fam.af) if tables else {}
        snap.table = TABLE in tables
        snap.chains = {c for t, c in chains if t == TABLE}
        snap.filter_forward = bool(chains.get(("filter", "FORWARD")))
        if snap.table:
            snap.rules = []
            for chain, handle, comment in reader.rules(TABLE, fam.af):
                if comment == JUMP_COMMENT:
                    snap.jumps.setdefault(chain, []).append(handle)
                else:
                    snap.rules.append((chain, handle, comment))
        if snap.filter_forward:
            snap.compat = [h for c, h, m in reader.rules("filter", fam.af) if c == "FORWARD" and m == JUMP_COMMENT]
        return snap

    # -- staging
    def stage_add(self, rule):
        chain = self._dispatch.place(rule)
        verb = "insert" if rule.first else "add"
        self._batch.append({verb: {"rule": {"family": rule.family.nft, "table": TABLE, "chain": chain,
                                            "comment": rule.comment, "expr": to_expr(rule)}}})

    def stage_delete(self, where, comment):
        entries = self._handles.get(where, [])
        for i, (c, handle, chain) in enumerate(entries):
            if c == comment:
                self._deletes.append({"delete": {"rule": {"family": where[0].nft, "table": TABLE, "chain": chain,
                                                          "handle": handle}}})
                self._dispatch.forget(where[0], chain)
                del entries[i]
                return

    def commit(self, in_use):
        """One transaction: deletes, structure for chains in use, adds, structure removal."""
        setup, late, teardown = [], [], []
        for fam in FAMILIES:
            snap = self._seen[fam]
            used = {logical for f, logical in in_use if f == fam}
            if used and not snap.table:
                setup.append({"add": {"table": {"family": fam.nft, "name": TABLE}}})
            for logical in used:
                chain, base, hook = CHAINS[logical]
                if base not in snap.chains:
                    setup.append({"add": {"chain": dict(family=fam.nft, table=TABLE, name=base, policy="accept",
                                                        **hook)}})
                if chain != base:
                    if chain not in snap.chains:
                        setup.append({"add": {"chain": {"family": fam.nft, "table": TABLE, "name": chain}}})
                    if not snap.jumps.get(base):
                        setup.append({"add": {"rule": {"family": fam.nft, "table": TABLE, "chain": base,
                                                       "comment": JUMP_COMMENT, "expr": [
                                                           _match({"fib": {"result": "type", "flags": ["daddr"]}},
                                                                  "local"),
                                                           {"jump": {"target": chain}}]}}})
            # the one rule outside our table: accept what our forward chain marked, in iptables-nft's FORWARD
            if "forward" in used and snap.filter_forward and not snap.compat:
                setup.append({"insert": {"rule": {"family": fam.nft, "table": "filter", "chain": "FORWARD",
                                                  "comment": JUMP_COMMENT, "expr": [
                                                      _match({"&": [{"meta": {"key": "mark"}}, FORWARD_MARK]},
                                                             FORWARD_MARK),
                                                      {"counter": None}, {"accept": None}]}}})
            elif "forward" not in used:
                for handle in snap.compat:
                    teardown.append({"delete": {"rule": {"family": fam.nft, "table": "filter", "chain": "FORWARD",
                                                         "handle": handle}}})
            if used:
                pre, post = self._dispatch.settle(fam, snap.chains)
                setup += pre
                late += post
            if snap.table and not used:
                teardown.append({"delete": {"table": {"family": fam.nft, "name": TABLE}}})
        commands = self._deletes + setup + self._batch + late + teardown
        self._batch, self._deletes = [], []
        if commands:
            self._run(commands)


def _match(left, right, op="=="):
    return {"match": {"op": op, "left": left, "right": right}}


def _prefix(family, cidr):
    addr, _sep, length = cidr.partition("/")
    if length in ("", str(family.bits)):
        return addr
    return {"prefix": {"addr": addr, "len": int(length)}}


def to_expr(rule):
    """The nftables JSON expression of ``rule`` (in its family's table)."""
    expr = []
    fam = rule.family
    if rule.src:
        expr.append(_match({"payload": {"protocol": fam.nft, "field": "saddr"}}, _prefix(fam, rule.src),
                           "!=" if rule.src_neg else "=="))
    if rule.dst:
        expr.append(_match({"payload": {"protocol": fam.nft, "field": "daddr"}}, _prefix(fam, rule.dst),
                           "!=" if rule.dst_neg else "=="))
    if rule.iif:
        expr.append(_match({"meta": {"key": "iifname"}}, rule.iif, "!=" if rule.iif_neg else "=="))
    if rule.oif:
        expr.append(_match({"meta": {"key": "oifname"}}, rule.oif, "!=" if rule.oif_neg else "=="))
    if rule.oif_group is not None:
        expr.append(_match({"meta": {"key": "oifgroup"}}, rule.oif_group))
    if rule.proto:
        expr.append(_match({"meta": {"key": "l4proto"}}, rule.proto))
        if rule.dport is not None:
            expr.append(_match({"payload": {"protocol": rule.proto, "field": "dport"}}, rule.dport))
        if rule.sport is not None:
            expr.append(_match({"payload": {"protocol": rule.proto, "field": "sport"}}, rule.sport))
    if rule.ctstate:
        expr.append(_match({"ct": {"key": "state"}}, [s.lower() for s in rule.ctstate], "in"))
    if rule.mark is not None:
        expr.append(_match({"&": [{"meta": {"key": "mark"}}, rule.mark]}, rule.mark))
    expr.append({"counter": None})
    if rule.verdict == "MASQUERADE":
        expr.append({"masquerade": None})
    elif rule.verdict == "DNAT":
        expr.append({"dnat": {"addr": rule.to_addr, "port": rule.to_port}})
    elif rule.verdict == "ACCEPT" and rule.chain == "forward":
        expr.append({"mangle": {"key": {"meta": {"key": "mark"}},
                                "value": {"|": [{"meta": {"key": "mark"}}, FORWARD_MARK]}}})
        expr.append({"accept": None})
    elif rule.verdict == "MARK":
        expr.append({"mangle": {"key": {"meta": {"key": "mark"}},
                                "value": {"|": [{"meta": {"key": "mark"}}, rule.set_mark]}}})
    else:
        expr.append({rule.verdict.lower(): None})
    return expr
