# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Buckets for the nftables backend (see dispatch): one verdict map per logical chain and key
shape, as kube-proxy's nftables mode does.

In a family's table, a bucket is the regular chain ``<chain>/<shape>/<key>`` (``forward/0/
10.10.0.2/tcp/80``; an IPv6 address is written with ``_`` for ``:`` so that ``nft list ruleset``
reads back), map ``<chain>/<shape>`` holds one element per bucket (``10.10.0.2 . tcp . 80 : jump
forward/0/...``) and one rule in ``<chain>`` (comment ``nsbridge dispatch <shape>``) looks the
packet up in it: one hash lookup, however many ports are published.
"""

from __future__ import annotations

import collections

from .dispatch import SHAPES, Key, key_of

DISPATCH_COMMENT = "nsbridge dispatch"
_TYPES = {"proto": "inet_proto", "dport": "inet_service", "sport": "inet_service"}


def bucket_name(chain_name, key):
    return "%s/%d/%s" % (chain_name, key.shape, key.text().replace(":", "_"))


def map_name(chain_name, shape):
    return "%s/%d" % (chain_name, shape)


def _key_from_bucket(logical, bucket):
    _chain, shape, text = bucket.split("/", 2)
    return Key.from_text(logical, int(shape), text.replace("_", ":"))


class _Family:
    """One family's dispatch as observed, and the changes staged since."""

    def __init__(self):
        self.counts = {}            # bucket chain -> its number of rules, as observed
        self.maps = {}              # map name -> set of the bucket chains its elements jump to
        self.dispatch = {}          # (chain name, shape) -> [handles of dispatch rules]
        self.delta = collections.Counter()
        self.unlinked = None        # names of logical chains with a bucket packets cannot reach


class NftDispatch:
    def __init__(self, table, chains):
        """``chains``: logical -> the name of the chain its rules go in (nftables.CHAINS)."""
        self.table = table
        self.names = {logical: spec[0] for logical, spec in chains.items()}
        self.logical_of = {name: logical for logical, name in self.names.items()}
        self.fams = {}

    def observe(self, reader, fam, rules):
        """Group our table's rules ``[(chain, handle, comment)]`` by logical chain (buckets and all),
        after reading the dispatch maps; the dispatch rules themselves are kept here."""
        state = self.fams[fam] = _Family()
        if rules is not None:
            for name in reader.sets(self.table, fam.af):
                if "/" in name:
                    state.maps[name] = set(reader.verdict_chains(self.table, name, fam.af))
        grouped = {logical: [] for logical in self.names}
        for chain, handle, comment in rules or ():
            base = chain.split("/", 1)[0]
            logical = self.logical_of.get(base)
            if logical is None:
                continue
            if chain != base:
                state.counts[chain] = state.counts.get(chain, 0) + 1
            elif comment and comment.startswith(DISPATCH_COMMENT + " "):
                state.dispatch.setdefault((chain, int(comment.split(" ")[2])), []).append(handle)
                continue
            grouped[logical].append((chain, handle, comment))
        return grouped

    def note_chains(self, fam, chains):
        """Buckets that exist with no rule in them are buckets too (to be removed)."""
        state = self.fams[fam]
        for chain in chains:
            if "/" in chain and chain.split("/", 1)[0] in self.logical_of:
                state.counts.setdefault(chain, 0)

    def linked(self, fam, logical):
        """Every bucket of ``logical`` with rules has its element and its dispatch rule."""
        state = self.fams[fam]
        if state.unlinked is None:
            state.unlinked = set()
            for bucket, count in state.counts.items():
                if count:
                    name, shape, _key = bucket.split("/", 2)
                    mname = "%s/%s" % (name, shape)
                    if bucket not in state.maps.get(mname, ()) or not state.dispatch.get((name, int(shape))):
                        state.unlinked.add(name)
        return self.names[logical] not in state.unlinked

    def place(self, rule):
        """The chain ``rule`` is added to (its bucket, or its logical chain)."""
        name = self.names[rule.chain]
        key = key_of(rule)
        if key is None:
            return name
        bucket = bucket_name(name, key)
        self.fams[rule.family].delta[bucket] += 1
        return bucket

    def forget(self, fam, chain):
        """A rule of ``chain`` is deleted."""
        if "/" in chain:
            self.fams[fam].delta[chain] -= 1

    def settle(self, fam, existing):
        """(commands before the adds, commands after them) that make maps, elements, dispatch rules
        and bucket chains match the buckets that hold rules once this commit is applied."""
        state = self.fams[fam]
        pre, adds, drops = [], [], []
        final = {b: state.counts.get(b, 0) + state.delta.get(b, 0) for b in set(state.counts) | set(state.delta)}
        for logical, fields_list in SHAPES.items():
            name = self.names[logical]
            for shape, fields in enumerate(fields_list):
                mname = map_name(name, shape)
                prefix = mname + "/"
                buckets = sorted(b for b in final if b.startswith(prefix))
                live = [b for b in buckets if final[b] > 0]
                have = state.maps.get(mname)
                spec = {"family": fam.nft, "table": self.table, "name": mname}
                if live and have is None:
                    pre.append({"add": {"map": dict(spec, type=[_TYPES.get(f, fam.name + "_addr") for f in fields],
                                                    map="verdict")}})
                new = []
                for bucket in live:
                    if bucket not in existing:
                        pre.append({"add": {"chain": {"family": fam.nft, "table": self.table, "name": bucket}}})
                    if bucket not in (have or ()):
                        new.append([_element(logical, bucket), {"jump": {"target": bucket}}])
                if new:  # one command for all of a map's new elements: libnftables parses a command per element slowly
                    adds.append({"add": {"element": dict(spec, elem=new)}})
                if live and not state.dispatch.get((name, shape)):
                    adds.append({"add": {"rule": {"family": fam.nft, "table": self.table, "chain": name,
                                                  "comment": "%s %d" % (DISPATCH_COMMENT, shape),
                                                  "expr": [_vmap(fam, fields, mname)]}}})
                dead = [b for b in buckets if final[b] <= 0 and b in existing]
                gone = [_element(logical, b) for b in dead if b in (have or ())]
                if gone:
                    drops.append({"delete": {"element": dict(spec, elem=gone)}})
                drops += [{"delete": {"chain": {"family": fam.nft, "table": self.table, "name": b}}} for b in dead]
                if not live:
                    drops += [{"delete": {"rule": {"family": fam.nft, "table": self.table, "chain": name,
                                                   "handle": h}}} for h in state.dispatch.get((name, shape), ())]
                    if have is not None:
                        drops.append({"delete": {"map": spec}})
        state.delta.clear()
        # elements go before the chains they jump to, dispatch rules before their maps
        drops.sort(key=lambda c: ("element", "rule", "chain", "map").index(next(iter(c["delete"]))))
        return pre, adds + drops


def _element(logical, bucket):
    return {"concat": list(_key_from_bucket(logical, bucket).values)}


def _vmap(fam, fields, mname):
    parts = []
    for field in fields:
        if field in ("dst", "src"):
            parts.append({"payload": {"protocol": fam.nft, "field": "daddr" if field == "dst" else "saddr"}})
        elif field == "proto":
            parts.append({"meta": {"key": "l4proto"}})
        else:
            parts.append({"payload": {"protocol": "th", "field": field}})
    return {"vmap": {"key": {"concat": parts}, "data": "@" + mname}}
