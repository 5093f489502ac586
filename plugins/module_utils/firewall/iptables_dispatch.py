# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Buckets for the iptables backend (see dispatch).  iptables has no maps, so a packet reaches
its bucket through a trie of chains over the digits of the key (address nibbles, the protocol,
port nibbles): each chain holds at most 16 rules (one per next digit that occurs; a run of
digits shared by every key below is one edge), so a packet walks at most a handful of short
chains whatever the number of published ports, instead of one list of them all.

Names (iptables allows 28 characters): the logical chain ``NSBRIDGE-FORWARD`` holds one rule
``-j NSBRIDGE-F0`` (comment ``nsbridge dispatch``) per key shape in use; ``NSBRIDGE-F0`` is the
root of that shape's trie, ``NSBRIDGE-F0n<hash of the prefix>`` an inner node, and
``NSBRIDGE-F0-<hash of the key>`` a bucket.  Every edge carries the comment ``nsbridge edge
<child>``, and every bucket starts with a rule that only carries ``nsbridge bucket <key>``: so
the whole structure is read back from the kernel, and rebuilt from it, like the rules are.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import ipaddress
import re

from ..kernel.xtables import jump_entry
from .dispatch import PROTO_NUMBERS, SHAPES, Key, key_of

CODES = {"prerouting": "P", "output": "O", "postrouting": "S", "forward": "F"}
LOGICAL_OF = {code: logical for logical, code in CODES.items()}
MARKER, EDGE, DISPATCH = "nsbridge bucket", "nsbridge edge", "nsbridge dispatch"
NAME = re.compile(r"^NSBRIDGE-([POSF])(\d)(?:([n-])[0-9a-f]{8})?$")
_PROTO_NAMES = {number: name for name, number in PROTO_NUMBERS.items()}


def root_name(logical, shape):
    return "NSBRIDGE-%s%d" % (CODES[logical], shape)


def _hash(text):
    return hashlib.blake2b(text.encode(), digest_size=4).hexdigest()


def bucket_name(key):
    return "%s-%s" % (root_name(key.chain, key.shape), _hash(key.text()))


def _node_name(root, prefix):
    return "%sn%s" % (root, _hash(repr(prefix)))


@functools.lru_cache(maxsize=16384)
def digits(family, key):
    """The key as a digit string: ((field, bits), value) per digit, nibbles for addresses and ports."""
    out = []
    for field, value in zip(key.fields, key.values):
        if field in ("dst", "src"):
            packed = ipaddress.ip_address(value).packed
            out += [((field, 4), b >> 4 if half == 0 else b & 15) for b in packed for half in (0, 1)]
        elif field == "proto":
            out.append(((field, 8), PROTO_NUMBERS[value]))
        else:
            out += [((field, 4), (value >> shift) & 15) for shift in (12, 8, 4, 0)]
    return tuple(out)


def edge_entry(family, prefix, child):
    """The rule that sends packets whose key starts with ``prefix`` on to ``child``."""
    fields = collections.OrderedDict()
    for (field, bits), value in prefix:
        have, width = fields.get(field, (0, 0))
        fields[field] = ((have << bits) | value, width + bits)
    kwargs = {}
    for field, (value, width) in fields.items():
        if field in ("dst", "src"):
            cls = ipaddress.IPv4Address if family.version == 4 else ipaddress.IPv6Address
            kwargs[field] = "%s/%d" % (cls(value << (family.bits - width)), width)
        elif field == "proto":
            kwargs["proto"] = _PROTO_NAMES[value]
        else:
            low = value << (16 - width)
            kwargs[field + "s"] = (low, low + (1 << (16 - width)) - 1)
    return jump_entry(family, child, "%s %s" % (EDGE, child), **kwargs)


def trie(root, entries):
    """{chain: [(child chain, prefix)]} for ``entries`` [(digits, bucket chain)], from ``root``."""
    nodes = {}

    def walk(name, depth, items):
        edges = nodes.setdefault(name, [])
        groups = collections.OrderedDict()
        for item in items:
            groups.setdefault(item[0][depth][1], []).append(item)
        for group in groups.values():
            if len(group) == 1:
                edges.append((group[0][1], group[0][0]))
                continue
            end = depth + 1
            first = group[0][0]
            while all(item[0][end] == first[end] for item in group):
                end += 1
            child = _node_name(root, first[:end])
            edges.append((child, first[:end]))
            walk(child, end, group)
    if entries:
        walk(root, 0, sorted(entries))
    return nodes


class _Table:
    """One family's table of ours as observed, and what this commit changes."""

    def __init__(self):
        self.buckets = {}        # bucket chain -> [Key (or its marker text until needed), number of item rules]
        self.edges = {}          # trie chain (root or node) -> [child chain per edge rule, in order]
        self.dispatch = {}       # logical chain -> [root per dispatch rule, in order]


class IptablesDispatch:
    def __init__(self):
        self.tables = {}         # (family, table name) -> _Table
        self.where = {}          # (family, comment) -> the chain the rule with it is in

    def observe(self, family, tname, chains, logical_chains):
        """{logical: [comment]} of the item rules of ``chains`` (chain_comments of one table),
        buckets included; ``logical_chains``: logical -> our chain of it in this table."""
        state = self.tables[(family, tname)] = _Table()
        by_name = {chain: logical for logical, chain in logical_chains.items()}
        out = {logical: [] for logical in logical_chains}
        for chain, comments in chains.items():
            match = NAME.match(chain)
            logical = by_name.get(chain) or (LOGICAL_OF[match.group(1)] if match else None)
            if logical is None or logical not in out:
                continue
            if match and match.group(3) == "-":
                marker = comments[0] if comments else None
                if not marker or not marker.startswith(MARKER + " "):
                    continue  # not a bucket of ours after all: never read into
                state.buckets[chain] = [(logical, int(match.group(2)), marker[len(MARKER) + 1:]), len(comments) - 1]
                comments = comments[1:]
            elif match:
                state.edges[chain] = [c[len(EDGE) + 1:] for c in comments if c and c.startswith(EDGE + " ")]
                continue
            else:
                state.dispatch[chain] = [c[len(DISPATCH) + 1:] for c in comments if c and c.startswith(DISPATCH + " ")]
            for comment in comments:
                self.where.setdefault((family, comment), chain)
            out[logical] += comments
        return out

    def _wanted(self, family, tname, logical):
        """{root: trie} of the buckets of ``logical`` that hold rules."""
        state = self.tables.get((family, tname)) or _Table()
        for entry in state.buckets.values():
            if not isinstance(entry[0], Key):
                entry[0] = Key.from_text(*entry[0])
        out = {}
        for shape in range(len(SHAPES.get(logical, ()))):
            root = root_name(logical, shape)
            entries = [(digits(family, key), chain) for chain, (key, count) in state.buckets.items()
                       if count > 0 and key.chain == logical and key.shape == shape]
            out[root] = trie(root, entries)
        return out

    def linked(self, family, tname, logical, chain):
        """Every bucket of ``logical`` with rules is reached: from a dispatch rule in ``chain``,
        down the edges as they are in the kernel."""
        state = self.tables.get((family, tname)) or _Table()
        reached, todo = set(), list(state.dispatch.get(chain, ()))
        while todo:
            name = todo.pop()
            if name not in reached:
                reached.add(name)
                todo += state.edges.get(name, ())
        return all(chain in reached for chain, (key, count) in state.buckets.items()
                   if count > 0 and key[0] == logical)

    def chain_of(self, family, comment):
        return self.where.get((family, comment))

    def place(self, handle, rule, default):
        """The chain ``rule`` goes in: its bucket (made, with its marker rule, if new) or ``default``."""
        key = key_of(rule)
        if key is None:
            return default
        state = self.tables.setdefault((rule.family, handle.table.name), _Table())
        bucket = bucket_name(key)
        if bucket not in state.buckets:
            # new; or there without its marker (flushed by hand): what is in it was never read
            if handle.table.is_chain(bucket):
                _flush(handle, bucket)
            else:
                handle.table.create_chain(bucket)
            handle.add_blob(bucket, jump_entry(rule.family, "", "%s %s" % (MARKER, key.text())), False)
            state.buckets[bucket] = [key, 0]
        state.buckets[bucket][1] += 1
        return bucket

    def forget(self, family, tname, chain):
        """A rule of ``chain`` was deleted."""
        state = self.tables.get((family, tname))
        if state is not None and chain in state.buckets:
            state.buckets[chain][1] -= 1

    def settle(self, handle, logical, chain):
        """Make the tries of ``logical`` lead to exactly its buckets with rules; remove the rest.
        True if anything changed."""
        family, table = handle.family, handle.table
        state = self.tables.setdefault((family, table.name), _Table())
        changed = False
        wanted = self._wanted(family, table.name, logical)
        keep = set()
        for nodes in wanted.values():
            for node in nodes:  # every chain first: libiptc resolves a jump's target when it is added
                if not table.is_chain(node):
                    table.create_chain(node)
                    changed = True
        for root, nodes in wanted.items():
            keep |= set(nodes)
            for node, edges in nodes.items():
                have = list(state.edges.get(node, ()))
                if have != [child for child, _p in edges]:
                    # an edge set that differs is rewritten whole: nodes have at most 16 edges
                    _flush(handle, node)
                    for child, prefix in edges:
                        handle.add_blob(node, edge_entry(family, prefix, child), False)
                    state.edges[node] = [child for child, _p in edges]
                    changed = True
            present = root in state.dispatch.get(chain, ())
            if nodes and not present:
                handle.add_blob(chain, jump_entry(family, root, "%s %s" % (DISPATCH, root)), False)
                state.dispatch.setdefault(chain, []).append(root)
                changed = True
            elif not nodes and present:
                _delete_comment(handle, chain, "%s %s" % (DISPATCH, root))
                state.dispatch[chain].remove(root)
                changed = True
        code = "NSBRIDGE-%s" % CODES.get(logical, "?")
        gone = [c for c in state.edges if c.startswith(code) and c not in keep]
        gone += [c for c, (key, count) in state.buckets.items() if key[0] == logical and count <= 0
                 and table.is_chain(c)]
        for name in gone:
            _flush(handle, name)
        for name in gone:
            table.delete_chain(name)
            state.edges.pop(name, None)
            state.buckets.pop(name, None)
            changed = True
        return changed


def _flush(handle, chain):
    if handle.table.is_chain(chain):
        handle.lib("flush_entries")(chain.encode(), handle.table._handle)


def _delete_comment(handle, chain, comment):
    comments = handle.comments(chain)
    while comment in comments:
        handle.delete_at(chain, comments.index(comment))
        comments = handle.comments(chain)
