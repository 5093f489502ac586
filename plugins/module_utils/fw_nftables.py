# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend: libnftables' JSON API, one transaction per module call.

nsbridge owns ``table ip nsbridge``: nat base chains ``prerouting``/``output`` (each with one
``fib daddr type local`` jump into ``prerouting-local``/``output-local``) and ``postrouting``,
and filter base chains ``forward``/``input`` (priority filter - 10, ahead of iptables-nft).

A DROP in another table's base chain cannot be overruled from ours (every base chain on a
hook must accept), and iptables-nft cannot display rules using ``ct state``.  So the forward
rules, besides accepting, set bit ``FORWARD_MARK`` on the packet; where the host has
iptables-nft's ``table ip filter`` with a FORWARD base chain, one rule (comment
``nsbridge jump``, ``-m mark --mark`` as iptables shows it) is inserted first in it to accept
packets carrying that bit.  That rule is the only thing nsbridge writes outside its table.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os

from .errors import KernelError
from .fw_lock import lock
from .fw_plan import STATE_DIR, forget_state, netns_id, write_state
from .fw_rules import JUMP_COMMENT
from .netlink import entered
from .nft_dump import NftReader

TABLE = "nsbridge"
NFT_CTX_OUTPUT_HANDLE = 1 << 3
NFT_CTX_OUTPUT_JSON = 1 << 4

OWN_CHAINS = {
    # logical: (chain in our table, base chain + hook spec, jump condition)
    "prerouting": ("prerouting-local", {"name": "prerouting", "type": "nat", "hook": "prerouting", "prio": -100}),
    "output": ("output-local", {"name": "output", "type": "nat", "hook": "output", "prio": -100}),
    "postrouting": ("postrouting", None),
    "forward": ("forward", None),
    "input": ("input", None),
}
BASE_CHAINS = {
    "postrouting": {"type": "nat", "hook": "postrouting", "prio": 100},
    "forward": {"type": "filter", "hook": "forward", "prio": -10},
    "input": {"type": "filter", "hook": "input", "prio": -10},
}
FORWARD_MARK = 0x00400000


class Nft:
    """A minimal ctypes binding of libnftables (the Debian python3-nftables does the same)."""

    def __init__(self):
        path = ctypes.util.find_library("nftables") or "libnftables.so.1"
        try:
            lib = ctypes.CDLL(path)
        except OSError as exc:
            raise KernelError("backend nftables needs libnftables (Debian: libnftables1): %s" % exc) from None
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        for fn in ("nft_ctx_buffer_output", "nft_ctx_buffer_error", "nft_ctx_free"):
            getattr(lib, fn).argtypes = [ctypes.c_void_p]
        for fn in ("nft_ctx_get_output_buffer", "nft_ctx_get_error_buffer"):
            getattr(lib, fn).argtypes = [ctypes.c_void_p]
            getattr(lib, fn).restype = ctypes.c_char_p
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        self.lib = lib
        self.ctx = lib.nft_ctx_new(0)
        lib.nft_ctx_buffer_output(self.ctx)
        lib.nft_ctx_buffer_error(self.ctx)
        lib.nft_ctx_output_set_flags(self.ctx, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE)

    def run(self, command):
        """Run a text or JSON command; return parsed JSON output (or None); raise on error."""
        if not isinstance(command, str):
            command = json.dumps({"nftables": command})
        rc = self.lib.nft_run_cmd_from_buffer(self.ctx, command.encode())
        out = self.lib.nft_ctx_get_output_buffer(self.ctx).decode()
        err = self.lib.nft_ctx_get_error_buffer(self.ctx).decode()
        if rc != 0:
            raise KernelError("nftables: %s" % (err.strip() or "command failed"))
        return json.loads(out) if out.strip() else None

    def close(self):
        if self.ctx:
            self.lib.nft_ctx_free(self.ctx)
            self.ctx = None


class NftablesBackend:
    name = "nftables"

    def __init__(self, netns=None):
        self.netns = netns
        self._nft = None
        self._handles = {}          # logical -> [(comment, handle, family, table, chain)]
        self._filter_forward = False  # iptables-nft's table ip filter has a FORWARD base chain
        self._jumps = {}            # (table, chain) -> [handle] of our jumps
        self._chains = set()        # (table, chain) that exist among ours
        self._table_exists = False
        self._gen = _UNSEEN          # the genid of the last observation (see fingerprint)
        self._batch = []
        self._deletes = []

    def __enter__(self):
        self._lock = lock()  # one writer at a time: observe and commit must not interleave
        self._lock.__enter__()
        return self

    def __exit__(self, *exc):
        if self._nft:
            self._nft.close()
        self._lock.__exit__(*exc)

    def _run(self, command):
        with entered(self.netns):
            if self._nft is None:  # libnftables' context only when something is written
                self._nft = Nft()
            return self._nft.run(command)

    def _snapshot(self, reader):
        """What observe needs, straight from the kernel: our table's rules and chains, and
        the rules in iptables-nft's FORWARD chain (for our one jump there)."""
        tables = reader.tables()
        chains = reader.chains() if tables else {}
        rules = [[TABLE, c, h, m] for c, h, m in reader.rules(TABLE)] if TABLE in tables else []
        filter_forward = bool(chains.get(("filter", "FORWARD")))
        if filter_forward:
            rules += [["filter", c, h, m] for c, h, m in reader.rules("filter") if c == "FORWARD"]
        return {"table": TABLE in tables, "chains": sorted(c for t, c in chains if t == TABLE),
                "filter_forward": filter_forward, "rules": rules}

    def _read(self):
        """The snapshot, from the genid-checked cache when no nf_tables commit happened since it
        was taken (a dump of 900 rules costs the kernel ~8 ms; asking for the genid, ~20 us)."""
        with entered(self.netns):
            reader = NftReader()
            path = os.path.join(STATE_DIR, "nft-%s.json" % netns_id(None))
        try:
            gen = reader.genid()
            self._gen = None
            try:
                with open(path) as f:
                    cached = json.load(f)
                if gen is not None and cached.get("genid") == gen:
                    self._gen = gen
                    return cached["snapshot"]
            except (OSError, ValueError, AttributeError, KeyError):
                pass
            snapshot = self._snapshot(reader)
            steady = gen is not None and reader.genid() == gen  # nobody committed while we read
            self._gen = gen if steady else None
            if not snapshot["table"]:
                forget_state(path)  # nothing of ours here: nothing to remember either
            elif steady:
                write_state(path, json.dumps({"genid": gen, "snapshot": snapshot}, separators=(",", ":")).encode())
            return snapshot
        finally:
            reader.close()

    def fingerprint(self):
        """The ruleset generation id of the last observation (asked now if there was none), which
        any nf_tables commit by any tool changes; None if it cannot be told (the ruleset changed
        while it was read)."""
        if self._gen is _UNSEEN:
            with entered(self.netns):
                reader = NftReader()
            try:
                self._gen = reader.genid()
            finally:
                reader.close()
        return None if self._gen is None else b"genid %d" % self._gen

    def observe(self):
        # read comments and handles straight from the kernel (see nft_dump); only our
        # table and iptables-nft's FORWARD chain are looked at, never the whole ruleset
        snap = self._read()
        self._filter_forward = snap["filter_forward"]
        self._table_exists = snap["table"]
        self._chains = {(TABLE, c) for c in snap["chains"]}
        out = {logical: [] for logical in OWN_CHAINS}
        self._handles = {logical: [] for logical in OWN_CHAINS}
        self._jumps = {}
        where = {chain: logical for logical, (chain, _base) in OWN_CHAINS.items()}
        for table, chain, handle, comment in snap["rules"]:
            if comment == JUMP_COMMENT:
                self._jumps.setdefault((table, chain), []).append(handle)
                continue
            logical = where.get(chain) if table == TABLE else None
            if logical:
                out[logical].append(comment)
                self._handles[logical].append((comment, handle, (table, chain)))
        return out

    # -- staging
    def stage_add(self, rule):
        chain = OWN_CHAINS[rule.chain][0]
        self._batch.append({"insert" if rule.first else "add": {"rule": {"family": "ip", "table": TABLE, "chain": chain,
                                             "comment": rule.comment, "expr": _to_expr(rule)}}})

    def stage_delete(self, logical, comment):
        for i, (c, handle, key) in enumerate(self._handles.get(logical, [])):
            if c == comment:
                self._deletes.append({"delete": {"rule": {"family": "ip", "table": key[0], "chain": key[1],
                                                          "handle": handle}}})
                del self._handles[logical][i]
                return

    def commit(self, chains_in_use):
        """One transaction: deletes, structure for chains in use, adds, structure removal."""
        setup, teardown = [], []
        if chains_in_use and not self._table_exists:
            setup.append({"add": {"table": {"family": "ip", "name": TABLE}}})
        for logical in OWN_CHAINS:
            if logical not in chains_in_use:
                continue
            chain, base = OWN_CHAINS[logical]
            if (TABLE, chain) not in self._chains:
                spec = dict(family="ip", table=TABLE, name=chain)
                if base is None:
                    spec.update(BASE_CHAINS[logical], policy="accept")
                setup.append({"add": {"chain": spec}})
            if base is not None and (TABLE, base["name"]) not in self._chains:
                setup.append({"add": {"chain": dict(family="ip", table=TABLE, policy="accept", **base)}})
                setup.append({"add": {"rule": {"family": "ip", "table": TABLE, "chain": base["name"],
                                               "comment": JUMP_COMMENT, "expr": [
                                                   _match({"fib": {"result": "type", "flags": ["daddr"]}}, "local"),
                                                   {"jump": {"target": chain}}]}}})
        # the one rule outside our table: accept what our forward chain marked, in iptables-nft's FORWARD
        compat = self._jumps.get(("filter", "FORWARD"), [])
        if "forward" in chains_in_use and self._filter_forward and not compat:
            setup.append({"insert": {"rule": {"family": "ip", "table": "filter", "chain": "FORWARD",
                                              "comment": JUMP_COMMENT, "expr": [
                                                  _match({"&": [{"meta": {"key": "mark"}}, FORWARD_MARK]}, FORWARD_MARK),
                                                  {"counter": None}, {"accept": None}]}}})
        elif "forward" not in chains_in_use:
            for handle in compat:
                teardown.append({"delete": {"rule": {"family": "ip", "table": "filter", "chain": "FORWARD",
                                                     "handle": handle}}})
        if self._table_exists and not chains_in_use:
            teardown.append({"delete": {"table": {"family": "ip", "name": TABLE}}})
        commands = self._deletes + setup + self._batch + teardown
        self._batch, self._deletes = [], []
        if commands:
            self._run(commands)
            self._read()  # still under our lock: the next run finds a fresh snapshot (or none)


_UNSEEN = object()


def _match(left, right, op="=="):
    return {"match": {"op": op, "left": left, "right": right}}


def _prefix(cidr):
    addr, _, length = cidr.partition("/")
    if length in ("", "32"):
        return addr
    return {"prefix": {"addr": addr, "len": int(length)}}


def _to_expr(rule):
    expr = []
    if rule.src:
        expr.append(_match({"payload": {"protocol": "ip", "field": "saddr"}}, _prefix(rule.src),
                           "!=" if rule.src_neg else "=="))
    if rule.dst:
        expr.append(_match({"payload": {"protocol": "ip", "field": "daddr"}}, _prefix(rule.dst),
                           "!=" if rule.dst_neg else "=="))
    if rule.iif:
        expr.append(_match({"meta": {"key": "iifname"}}, rule.iif, "!=" if rule.iif_neg else "=="))
    if rule.oif:
        expr.append(_match({"meta": {"key": "oifname"}}, rule.oif, "!=" if rule.oif_neg else "=="))
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
