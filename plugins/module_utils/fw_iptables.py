# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iptables backend: python-iptables (libiptc) on hosts whose iptables is the legacy variant.

Owned chains ``NSBRIDGE-PREROUTING``, ``NSBRIDGE-OUTPUT``, ``NSBRIDGE-POSTROUTING`` (nat) and
``NSBRIDGE-FORWARD``, ``NSBRIDGE-INPUT`` (filter), each reached by one jump (comment
``nsbridge jump``) from its built-in chain.  The filter jumps go first in their chain so
the network works under a FORWARD policy of DROP; no foreign rule is edited or moved.

python-iptables is not thread-safe and loses commit errors when another writer
commits in between, so every observe+commit runs under ``flock(/run/xtables.lock)``
(the lock iptables itself takes), with ``autocommit=False`` and one explicit
commit per table whose error is raised.
"""

from __future__ import annotations

import ctypes
import importlib.util
import sys

from .errors import KernelError
from .fw_lock import lock
from .fw_rules import JUMP_COMMENT
from .ipt_entry import build as build_entry, chain_comments, read_table, digest_without_counters
from .netlink import entered

XTABLES_LOCK = "/run/xtables.lock"  # the lock iptables itself takes

CHAIN_MAP = {
    "prerouting": ("nat", "NSBRIDGE-PREROUTING", "PREROUTING"),
    "output": ("nat", "NSBRIDGE-OUTPUT", "OUTPUT"),
    "postrouting": ("nat", "NSBRIDGE-POSTROUTING", "POSTROUTING"),
    "forward": ("filter", "NSBRIDGE-FORWARD", "FORWARD"),
    "input": ("filter", "NSBRIDGE-INPUT", "INPUT"),
}


def _iptc():
    try:
        import iptc  # noqa: F401  (python-iptables; imported late: it loads libiptc)
    except ImportError as exc:
        raise KernelError("backend iptables needs python-iptables on the managed host (%s)" % exc) from None
    except Exception as exc:  # libiptc / xtables missing
        raise KernelError("backend iptables could not load libiptc (%s); install the iptables package" % exc) from None
    return iptc


class IptablesBackend:
    name = "iptables"

    def __init__(self, netns=None):
        self.netns = netns
        self._lock = None
        self._tables = {}
        self._present = set()  # tables that exist here, as observed
        self._seen = None      # {table: read_table()} as last read; forgotten by a commit
        self._fingerprint = None  # of _seen
        self._pending = {"add": [], "delete": []}

    # -- locking and observation
    def __enter__(self):
        self._lock = lock(XTABLES_LOCK)
        self._lock.__enter__()
        return self

    def __exit__(self, *exc):
        self._lock.__exit__(*exc)

    def _existing_tables(self):
        """Tables the kernel already has here; reading this instantiates none."""
        with entered(self.netns):
            try:
                with open("/proc/thread-self/net/ip_tables_names") as f:
                    return set(f.read().split())
            except FileNotFoundError:
                return set()

    def _table(self, name):
        if name not in self._tables:
            iptc = _iptc()
            # python-iptables probes every table (creating mangle, raw, security in the kernel)
            # when it meets a jump target; answer its probe from /proc instead, which creates
            # none (works for python-iptables 1.0 and 1.2 alike)
            known = frozenset(self._existing_tables() | set(self._tables) | {name})
            iptc.ip4tc.is_table_available = known.__contains__
            with entered(self.netns):
                table = iptc.Table(name, autocommit=False)
                table.refresh()
            self._tables[name] = table
        return self._tables[name]

    def observe(self):
        """{logical chain: [comment, ...]} of our rules, in order (duplicates kept).

        Read with one getsockopt per table (see ipt_entry.read_table): python-iptables and
        libiptc are loaded only when something is to be written.
        """
        if importlib.util.find_spec("iptc") is None:  # fail early and clearly, without loading it
            raise KernelError("backend iptables needs python-iptables on the managed host")
        out = {logical: [] for logical in CHAIN_MAP}
        for tname, (blob, starts, _info) in sorted(self._read().items()):
            chains = chain_comments(blob, starts, "NSBRIDGE-")
            for logical, (table, chain, _builtin) in CHAIN_MAP.items():
                if table == tname:
                    out[logical] = chains.get(chain, [])
        return out

    def _read(self):
        """Our tables as the kernel has them: read once (we hold the lock), again after a commit."""
        if self._seen is None:
            existing = self._existing_tables()
            self._present = existing
            seen = {}
            with entered(self.netns):
                for tname in sorted({t for t, _c, _b in CHAIN_MAP.values()} & existing):
                    found = read_table(tname)  # never instantiate a table just to look at it
                    if found is not None:
                        seen[tname] = found
            self._seen = seen
        return self._seen

    def fingerprint(self):
        """The nat and filter tables as observed (read now if they were not): for each, its name,
        its ipt_getinfo (hook offsets, entry count, size) and a SHA-256 of its rules without their
        packet counters. Equal fingerprints, equal tables (see fw_memo)."""
        seen = self._read()
        if self._fingerprint is None:
            self._fingerprint = b"".join(tname.encode() + info + digest_without_counters(blob)
                                         for tname, (blob, _starts, info) in sorted(seen.items()))
        return self._fingerprint

    # -- staging
    def stage_add(self, rule):
        self._pending["add"].append(rule)

    def stage_delete(self, logical, comment):
        self._pending["delete"].append((logical, comment))

    def commit(self, chains_in_use):
        """Apply staged changes, then jumps/chains so exactly ``chains_in_use`` exist."""
        iptc = _iptc()
        touched = set()
        with entered(self.netns):
            try:
                for logical, comment in self._pending["delete"]:
                    tname, chain, _b = CHAIN_MAP[logical]
                    if tname not in self._present:
                        continue
                    table = self._table(tname)
                    if not table.is_chain(chain):
                        continue
                    comments = _chain_comments(table, chain)
                    if comment in comments:
                        # by position: libiptc renumbers on delete, so look again each time
                        if not table._iptc.iptc_delete_num_entry(chain.encode(), comments.index(comment),
                                                                 table._handle):
                            raise KernelError("deleting rule %r from %s failed: %s"
                                              % (comment, chain, table.strerror()))
                        touched.add(tname)
                ensured = set()
                for rule in self._pending["add"]:
                    tname, chain, _b = CHAIN_MAP[rule.chain]
                    table = self._table(tname)
                    if rule.chain not in ensured:
                        self._ensure_chain(iptc, table, rule.chain)
                        ensured.add(rule.chain)
                    _add(iptc, table, chain, rule)
                    touched.add(tname)
                for logical, (tname, chain, builtin) in CHAIN_MAP.items():
                    if logical not in chains_in_use and tname not in self._present and tname not in self._tables:
                        continue  # nothing of ours can be in a table that did not exist
                    table = self._table(tname)
                    if logical in chains_in_use:
                        if self._ensure_chain(iptc, table, logical):
                            touched.add(tname)
                    elif self._remove_chain(iptc, table, logical):
                        touched.add(tname)
                for tname in sorted(touched):
                    self._tables[tname].commit()
            except iptc.IPTCError as exc:
                raise KernelError("iptables commit failed: %s" % exc) from None
            finally:
                self._pending = {"add": [], "delete": []}
                self._seen = self._fingerprint = None
                for table in self._tables.values():
                    table.refresh()

    def _ensure_chain(self, iptc, table, logical):
        """Create our chain and its jump if missing; True if anything was added."""
        _t, chain, builtin = CHAIN_MAP[logical]
        added = False
        if not table.is_chain(chain):
            table.create_chain(chain)
            added = True
        bchain = iptc.Chain(table, builtin)
        if JUMP_COMMENT not in _chain_comments(table, builtin):
            jump = iptc.Rule()
            if logical in ("prerouting", "output"):
                match = jump.create_match("addrtype")
                match.dst_type = "LOCAL"
            jump.create_match("comment").comment = JUMP_COMMENT
            jump.create_target(chain)
            if logical in ("forward", "input"):
                bchain.insert_rule(jump)  # first, so a DROP policy or DROP rule below cannot shadow it
            else:
                bchain.append_rule(jump)
            added = True
        return added

    def _remove_chain(self, iptc, table, logical):
        _t, chain, builtin = CHAIN_MAP[logical]
        removed = False
        bchain = iptc.Chain(table, builtin)
        for rule in list(bchain.rules):
            if _comment_of(rule) == JUMP_COMMENT:
                bchain.delete_rule(rule)
                removed = True
        if table.is_chain(chain):
            ch = iptc.Chain(table, chain)
            ch.flush()
            ch.delete()
            removed = True
        return removed


_ENTRY_SIZE = 112  # sizeof(struct ipt_entry)
_MATCH_HEADER = 32  # sizeof(struct xt_entry_match)


def _chain_comments(table, chain):
    """The comment of every rule in ``chain``, read from the raw entries.

    python-iptables would decode every match of every rule into Python objects
    (~0.5 ms a rule); reading just the comment match's bytes costs ~10 us.
    """
    comments = []
    lib = table._iptc
    entry = lib.iptc_first_rule(chain.encode(), table._handle)
    while entry:
        raw = ctypes.string_at(ctypes.addressof(entry.contents), entry.contents.target_offset)
        found = None
        offset = _ENTRY_SIZE
        while offset + _MATCH_HEADER <= len(raw):
            size = int.from_bytes(raw[offset:offset + 2], sys.byteorder)
            name = raw[offset + 2:offset + 31].split(b"\0", 1)[0]
            if name == b"comment":
                found = raw[offset + _MATCH_HEADER:offset + size].split(b"\0", 1)[0].decode()
                break
            if size < _MATCH_HEADER:
                break
            offset += size
        comments.append(found)
        entry = lib.iptc_next_rule(entry, table._handle)
    return comments


def _add(iptc, table, chain, rule):
    """Append (or, for ``first`` rules, insert at the top) one rule: a packed entry where we can."""
    blob = build_entry(rule)
    if blob is None:
        if rule.first:
            iptc.Chain(table, chain).insert_rule(_to_iptc(iptc, rule))
        else:
            iptc.Chain(table, chain).append_rule(_to_iptc(iptc, rule))
        return
    buf = ctypes.create_string_buffer(blob, len(blob))
    entry = ctypes.cast(buf, ctypes.POINTER(iptc.ip4tc.ipt_entry))
    if rule.first:
        ok = table._iptc.iptc_insert_entry(chain.encode(), entry, 0, table._handle)
    else:
        ok = table._iptc.iptc_append_entry(chain.encode(), entry, table._handle)
    if not ok:
        raise KernelError("adding %r to %s failed: %s" % (rule.comment, chain, table.strerror()))


def _comment_of(rule):
    for match in rule.matches:
        if match.name == "comment":
            return match.comment
    return None


def _to_iptc(iptc, rule):
    r = iptc.Rule()
    if rule.src:
        r.src = ("!" if rule.src_neg else "") + rule.src
    if rule.dst:
        r.dst = ("!" if rule.dst_neg else "") + rule.dst
    if rule.iif:
        r.in_interface = ("!" if rule.iif_neg else "") + rule.iif
    if rule.oif:
        r.out_interface = ("!" if rule.oif_neg else "") + rule.oif
    if rule.proto:
        r.protocol = rule.proto
        if rule.dport is not None or rule.sport is not None:
            match = r.create_match(rule.proto)
            if rule.dport is not None:
                match.dport = str(rule.dport)
            if rule.sport is not None:
                match.sport = str(rule.sport)
    if rule.ctstate:
        r.create_match("conntrack").ctstate = ",".join(rule.ctstate)
    if rule.mark is not None:
        r.create_match("mark").mark = "0x%x/0x%x" % (rule.mark, rule.mark)
    r.create_match("comment").comment = rule.comment
    target = r.create_target(rule.verdict)
    if rule.verdict == "DNAT":
        target.to_destination = "%s:%d" % (rule.to_addr, rule.to_port)
    elif rule.verdict == "MARK":
        target.set_xmark = "0x%x/0x%x" % (rule.set_mark, rule.set_mark)
    return r
