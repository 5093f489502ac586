# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-connection cost flat in the number of published ports: rules keyed by port go into buckets.

Measured before this existed, with 2,000 published ports a new connection to the last one cost
181-206 us against 113-125 us to the first (both backends): the first packet of every connection
walked a linear list of DNAT and accept rules.  So a rule that matches one exact *key* -- a
protocol and port (DNAT), or a container address, protocol and port (forward accepts, hairpin
masquerade) -- goes into a chain of its own for that key (a *bucket*), and packets are sent to
the right bucket without walking the others: an nftables verdict map (one hash lookup, see
nftables_dispatch), or for iptables, which has no maps, a trie of chains over the key's digits (a
bounded number of rules per packet, see iptables_dispatch).  Rules without a key (masquerades,
isolation drops, the loopback guard) stay in the logical chain itself, ``first`` ones ahead of
the dispatch.

The planner never sees any of this: it adds and deletes rules by comment in logical chains, and
the backend decides where each one lives.  This file says which rules have which key, and how a
key is written and read back; the backends hold the structure.
"""

from __future__ import annotations

from typing import NamedTuple, Tuple

# logical chain -> the key shapes it dispatches on, in the order a rule is tried against them
SHAPES = {
    "prerouting": (("proto", "dport"),),
    "output": (("proto", "dport"),),
    "postrouting": (("dst", "proto", "dport"),),
    "forward": (("dst", "proto", "dport"), ("src", "proto", "sport")),
}
PROTO_NUMBERS = {"tcp": 6, "udp": 17, "sctp": 132}


class Key(NamedTuple):
    """A bucket: the logical chain, the shape's index in SHAPES[chain], and the values."""

    chain: str
    shape: int
    values: Tuple

    @property
    def fields(self):
        return SHAPES[self.chain][self.shape]

    def text(self):
        """``10.10.0.2/tcp/80``, ``fd00::2/tcp/80``, ``udp/53``: what a bucket is for, as people read it."""
        return "/".join(str(v) for v in self.values)

    @classmethod
    def from_text(cls, chain, shape, text):
        parts = text.split("/")
        fields = SHAPES[chain][shape]
        if len(parts) != len(fields):
            raise ValueError("%r is not a %s key" % (text, "/".join(fields)))
        values = tuple(int(p) if f in ("dport", "sport") else p for f, p in zip(fields, parts))
        return cls(chain, shape, values)


def key_of(rule):
    """The bucket ``rule`` belongs in, or None if it stays in its logical chain."""
    if rule.first:
        return None
    host_suffix = "/%d" % rule.family.bits
    for shape, fields in enumerate(SHAPES.get(rule.chain, ())):
        values = []
        for name in fields:
            value = getattr(rule, name)
            if name in ("dst", "src"):
                # rules name one address as ADDRESS/32 or ADDRESS/128 (Family.host)
                if not value or getattr(rule, name + "_neg") or not value.endswith(host_suffix):
                    break
                value = value[:-len(host_suffix)]
            elif value is None:
                break
            values.append(value)
        else:
            return Key(rule.chain, shape, tuple(values))
    return None
