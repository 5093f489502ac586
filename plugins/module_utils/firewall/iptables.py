# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iptables backend: python-iptables (libiptc, libip6tc) on hosts whose iptables is the
legacy variant; IPv4 in iptables, IPv6 in ip6tables, both in one call.

Owned chains ``NSBRIDGE-PREROUTING``, ``NSBRIDGE-OUTPUT``, ``NSBRIDGE-POSTROUTING`` (nat) and
``NSBRIDGE-FORWARD``, ``NSBRIDGE-INPUT`` (filter) in each family, each reached by one jump
(comment ``nsbridge jump``) from its built-in chain.  The filter jumps go first in their chain
so the network works under a FORWARD policy of DROP; no foreign rule is edited or moved.

python-iptables is not thread-safe and loses commit errors when another writer commits in
between, so every observe+commit runs under ``flock(/run/xtables.lock)`` (the lock iptables
itself takes), with ``autocommit=False`` and one explicit commit per table whose error is raised.

Rules keyed by a port (and address) live in bucket chains reached through a trie of chains; see
iptables_dispatch.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import shutil
import subprocess
import sys

from ..common.errors import KernelError
from ..common.family import FAMILIES, IPV4
from ..kernel.netlink import entered
from ..kernel.xtables import build as build_entry, chain_comments, described_rules, layout, read_table
from .backend import FirewallBackend, Observation
from .iptables_dispatch import IptablesDispatch
from .lock import lock
from .rules import COMMENT_PREFIX, JUMP_COMMENT

XTABLES_LOCK = "/run/xtables.lock"  # the lock iptables itself takes
PREFIX = "NSBRIDGE-"

CHAIN_MAP = {
    "prerouting": ("nat", "NSBRIDGE-PREROUTING", "PREROUTING"),
    "output": ("nat", "NSBRIDGE-OUTPUT", "OUTPUT"),
    "postrouting": ("nat", "NSBRIDGE-POSTROUTING", "POSTROUTING"),
    "forward": ("filter", "NSBRIDGE-FORWARD", "FORWARD"),
    "input": ("filter", "NSBRIDGE-INPUT", "INPUT"),
}
TABLES = ("nat", "filter")


def _iptc():
    try:
        import iptc  # noqa: F401  (python-iptables; imported late: it loads libiptc)
    except ImportError as exc:
        raise KernelError("backend iptables needs python-iptables on the managed host (%s)" % exc) from None
    except Exception as exc:  # libiptc / xtables missing
        raise KernelError("backend iptables could not load libiptc (%s); install the iptables package" % exc) from None
    return iptc


class _Handle:
    """One family's table as libiptc (or libip6tc) holds it; python-iptables names the calls of
    both ``iptc_*``."""

    def __init__(self, iptc, family, name, known):
        self.family = family
        if family == IPV4:
            # python-iptables probes every table (creating mangle, raw, security in the kernel) when
            # it meets a jump target; answer its probe from /proc instead, which creates none
            iptc.ip4tc.is_table_available = known.__contains__
            self.table = iptc.Table(name, autocommit=False)
            self.entry_type, self.rule_type = iptc.ip4tc.ipt_entry, iptc.Rule
        else:
            iptc.ip6tc.is_table6_available = known.__contains__
            self.table = iptc.Table6(name, autocommit=False)
            self.entry_type, self.rule_type = iptc.ip6tc.ip6t_entry, iptc.Rule6
        self.table.refresh()

    def lib(self, fn):
        return getattr(self.table._iptc, "iptc_" + fn)

    def comments(self, chain):
        """The comment of every rule in ``chain``, read from the raw entries (python-iptables would
        decode every match of every rule into Python objects, ~0.5 ms a rule)."""
        out = []
        size = layout(self.family).size
        entry = self.lib("first_rule")(chain.encode(), self.table._handle)
        while entry:
            raw = ctypes.string_at(ctypes.addressof(entry.contents), entry.contents.target_offset)
            out.append(_comment_in(raw, size))
            entry = self.lib("next_rule")(entry, self.table._handle)
        return out

    def add_blob(self, chain, blob, first):
        buf = ctypes.create_string_buffer(blob, len(blob))
        entry = ctypes.cast(buf, ctypes.POINTER(self.entry_type))
        if first:
            ok = self.lib("insert_entry")(chain.encode(), entry, 0, self.table._handle)
        else:
            ok = self.lib("append_entry")(chain.encode(), entry, self.table._handle)
        if not ok:
            raise KernelError("adding a rule to %s (%s) failed: %s" % (chain, self.family, self.table.strerror()))

    def delete_at(self, chain, position):
        if not self.lib("delete_num_entry")(chain.encode(), position, self.table._handle):
            raise KernelError("deleting rule %d of %s (%s) failed: %s"
                              % (position, chain, self.family, self.table.strerror()))


def _comment_in(raw, header):
    offset = header
    while offset + 32 <= len(raw):
        size = int.from_bytes(raw[offset:offset + 2], sys.byteorder)
        name = raw[offset + 2:offset + 31].split(b"\0", 1)[0]
        if name == b"comment":
            return raw[offset + 32:offset + size].split(b"\0", 1)[0].decode()
        if size < 32:
            break
        offset += size
    return None


class IptablesBackend(FirewallBackend):
    name = "iptables"
    summary = ("legacy xtables (iptables and ip6tables) through python-iptables (libiptc), in owned "
               "C(NSBRIDGE-*) chains, under the xtables lock")
    used_when = "if the host's C(iptables) command is the legacy variant"

    @classmethod
    def host_uses(cls):
        """The host's ``iptables`` command is the legacy variant."""
        binary = shutil.which("iptables") or shutil.which("iptables", path="/usr/sbin:/sbin")
        if not binary:
            return False
        # Debian's alternatives (and most distributions) end in xtables-legacy-multi or
        # xtables-nft-multi: tell from the link without starting a process
        real = os.path.basename(os.path.realpath(binary))
        if real.startswith("xtables-"):
            return "legacy" in real
        try:
            version = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=10, check=False).stdout
        except (OSError, subprocess.SubprocessError):
            return False
        return "legacy" in version

    def __init__(self, netns=None):
        super().__init__(netns)
        self._lock = None
        self._handles = {}       # (family, table) -> _Handle, opened on first write
        self._present = {}       # family -> names of the tables that exist here
        self._adds = []
        self._deletes = []
        self._dispatch = IptablesDispatch()

    def __enter__(self):
        self._lock = lock(XTABLES_LOCK)
        self._lock.__enter__()
        return self

    def __exit__(self, *exc):
        self._lock.__exit__(*exc)

    def _existing_tables(self, family):
        """Tables the kernel already has here; reading this instantiates none."""
        path = "/proc/thread-self/net/%s_tables_names" % ("ip" if family == IPV4 else "ip6")
        with entered(self.netns):
            try:
                with open(path) as f:
                    return set(f.read().split())
            except FileNotFoundError:
                return set()

    def observe(self):
        """Our rules, by one getsockopt per table (see kernel.xtables.read_table): python-iptables and
        libiptc are loaded only when something is to be written."""
        if importlib.util.find_spec("iptc") is None:  # fail early and clearly, without loading it
            raise KernelError("backend iptables needs python-iptables on the managed host")
        seen = Observation()
        self._dispatch = IptablesDispatch()
        for fam in FAMILIES:
            self._present[fam] = existing = self._existing_tables(fam)
            for tname in TABLES:
                if tname not in existing:
                    continue
                with entered(self.netns):
                    found = read_table(fam, tname)  # never instantiate a table just to look at it
                if found is None:
                    continue
                chains = chain_comments(fam, found[0], found[1], PREFIX)
                ours = {logical: chain for logical, (table, chain, _b) in CHAIN_MAP.items() if table == tname}
                for logical, comments in self._dispatch.observe(fam, tname, chains, ours).items():
                    seen.rules[(fam, logical)] = comments
                    builtin = CHAIN_MAP[logical][2]
                    if JUMP_COMMENT in chains.get(builtin, ()) and \
                            self._dispatch.linked(fam, tname, logical, ours[logical]):
                        seen.linked.add((fam, logical))
        return seen

    def described_rules(self):
        out = []
        for fam in FAMILIES:
            existing = self._existing_tables(fam)
            for tname in TABLES:
                if tname not in existing:
                    continue
                with entered(self.netns):
                    found = read_table(fam, tname)
                if found is not None:
                    out += [(fam,) + rule for rule in described_rules(fam, found[0])
                            if (rule[0] or "").startswith(COMMENT_PREFIX + " ")]
        return out

    # -- staging
    def stage_add(self, rule):
        self._adds.append(rule)

    def stage_delete(self, where, comment):
        self._deletes.append((where, comment))

    def _handle(self, iptc, family, tname):
        key = (family, tname)
        if key not in self._handles:
            known = frozenset(self._present.get(family, set()) | {t for f, t in self._handles if f == family} | {tname})
            with entered(self.netns):
                self._handles[key] = _Handle(iptc, family, tname, known)
        return self._handles[key]

    def commit(self, in_use):
        """Apply staged changes, then jumps/chains so exactly ``in_use`` exist, per family."""
        iptc = _iptc()
        touched = set()
        with entered(self.netns):
            try:
                for (fam, logical), comment in self._deletes:
                    tname = CHAIN_MAP[logical][0]
                    if tname not in self._present.get(fam, ()):
                        continue
                    handle = self._handle(iptc, fam, tname)
                    chain = self._dispatch.chain_of(fam, comment) or CHAIN_MAP[logical][1]
                    if not handle.table.is_chain(chain):
                        continue
                    comments = handle.comments(chain)
                    if comment in comments:
                        # by position: libiptc renumbers on delete, so look again each time
                        handle.delete_at(chain, comments.index(comment))
                        self._dispatch.forget(fam, tname, chain)
                        touched.add((fam, tname))
                for rule in self._adds:
                    tname, chain, _b = CHAIN_MAP[rule.chain]
                    handle = self._handle(iptc, rule.family, tname)
                    if not handle.table.is_chain(chain):
                        handle.table.create_chain(chain)
                    target = self._dispatch.place(handle, rule, chain)
                    blob = build_entry(rule)
                    if blob is None:
                        rule_obj = _to_iptc(handle.rule_type, iptc, rule)
                        chain_obj = iptc.Chain(handle.table, target)
                        (chain_obj.insert_rule if rule.first else chain_obj.append_rule)(rule_obj)
                    else:
                        handle.add_blob(target, blob, rule.first)
                    touched.add((rule.family, tname))
                for fam in FAMILIES:
                    for logical, (tname, chain, builtin) in CHAIN_MAP.items():
                        where = (fam, logical)
                        if where not in in_use and tname not in self._present.get(fam, ()) \
                                and (fam, tname) not in self._handles:
                            continue  # nothing of ours can be in a table that did not exist
                        handle = self._handle(iptc, fam, tname)
                        if where in in_use:
                            changed = self._ensure_chain(iptc, handle, logical)
                            changed = self._dispatch.settle(handle, logical, chain) or changed
                        else:
                            changed = self._dispatch.settle(handle, logical, chain)
                            changed = self._remove_chain(iptc, handle, logical) or changed
                        if changed:
                            touched.add((fam, tname))
                for key in sorted(touched, key=lambda k: (k[0].version, k[1])):
                    self._handles[key].table.commit()
            except iptc.IPTCError as exc:
                raise KernelError("iptables commit failed: %s" % exc) from None
            finally:
                self._adds, self._deletes = [], []
                for handle in self._handles.values():
                    handle.table.refresh()

    def _ensure_chain(self, iptc, handle, logical):
        """Create our chain and its jump if missing; True if anything was added."""
        _t, chain, builtin = CHAIN_MAP[logical]
        table = handle.table
        added = False
        if not table.is_chain(chain):
            table.create_chain(chain)
            added = True
        if JUMP_COMMENT not in handle.comments(builtin):
            jump = handle.rule_type()
            if logical in ("prerouting", "output"):
                match = jump.create_match("addrtype")
                match.dst_type = "LOCAL"
            jump.create_match("comment").comment = JUMP_COMMENT
            jump.create_target(chain)
            bchain = iptc.Chain(table, builtin)
            if logical in ("forward", "input"):
                bchain.insert_rule(jump)  # first, so a DROP policy or DROP rule below cannot shadow it
            else:
                bchain.append_rule(jump)
            added = True
        return added

    def _remove_chain(self, iptc, handle, logical):
        _t, chain, builtin = CHAIN_MAP[logical]
        table = handle.table
        removed = False
        comments = handle.comments(builtin)
        while JUMP_COMMENT in comments:
            handle.delete_at(builtin, comments.index(JUMP_COMMENT))
            comments = handle.comments(builtin)
            removed = True
        if table.is_chain(chain):
            ch = iptc.Chain(table, chain)
            ch.flush()
            ch.delete()
            removed = True
        return removed


def _to_iptc(rule_type, iptc, rule):
    """A python-iptables rule, for what kernel.xtables does not pack (sctp)."""
    r = rule_type()
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
    if rule.oif_group is not None:
        r.create_match("devgroup").dst_group = "0x%x" % rule.oif_group
    r.create_match("comment").comment = rule.comment
    target = r.create_target(rule.verdict)
    if rule.verdict == "DNAT":
        to = rule.to_addr if rule.family == IPV4 else "[%s]" % rule.to_addr
        target.to_destination = "%s:%d" % (to, rule.to_port)
    elif rule.verdict == "MARK":
        target.set_xmark = "0x%x/0x%x" % (rule.set_mark, rule.set_mark)
    return r
