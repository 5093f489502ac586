# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall half of the reconcile engine, shared by nat_masquerade and port_publish.

Each item owns a *scope*; its desired rules are compared, by comment, with the
rules observed under that scope.  Rules of other scopes (other items, other
runs) are never touched; foreign rules are never even read beyond our chains.
All changes of one call are staged and committed as one transaction.
"""

from __future__ import annotations

import collections
import hashlib
import os
import shutil
import socket
import struct
import subprocess

from .errors import KernelError, ValidationError
from .fw_rules import CHAINS, COMMENT_PREFIX, is_complete, item_tag, stamp
from .netlink import entered, netns_exists
from .reconcile import ItemPlan, Step

STATE_DIR = "/run/nsbridge"


def detect_backend():
    """What the host's ``iptables`` command uses: 'iptables' for legacy, 'nftables' otherwise."""
    binary = shutil.which("iptables") or shutil.which("iptables", path="/usr/sbin:/sbin")
    if binary:
        # Debian's alternatives (and most distributions) end in xtables-legacy-multi or
        # xtables-nft-multi: tell from the link without starting a process
        real = os.path.basename(os.path.realpath(binary))
        if real.startswith("xtables-"):
            return "iptables" if "legacy" in real else "nftables"
        try:
            version = subprocess.run([binary, "-V"], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            version = ""
        if "legacy" in version:
            return "iptables"
    return "nftables"


def open_firewall(name, netns, stack, opened=None):
    """(FirewallPlanner, chosen backend name) for one module call: the backend ``name`` ('auto'
    resolved) for ``netns`` entered (locked) on ``stack``, and observed.

    ``opened``: (backend, chosen, planner or None) from earlier in the same call (fw_memo):
    its backend is used again, and its planner if it has not planned anything yet."""
    if opened is not None:
        backend, chosen, planner = opened
        return planner or FirewallPlanner(backend), chosen
    backend, chosen = open_backend(name, netns, stack)
    return FirewallPlanner(backend), chosen


def open_backend(name, netns, stack):
    """Enter (lock + observe-ready) the backend ``name`` ('auto' resolved) for ``netns``."""
    if netns is not None and not netns_exists(netns):
        raise ValidationError("network namespace %r does not exist" % netns, "netns")
    chosen = detect_backend() if name == "auto" else name
    if chosen == "iptables":
        from .fw_iptables import IptablesBackend
        backend = IptablesBackend(netns)
    else:
        from .fw_nftables import NftablesBackend
        backend = NftablesBackend(netns)
    return stack.enter_context(backend), chosen


def render(rule):
    """An iptables-like line for results and diffs (the same for both backends)."""
    parts = ["-A %s" % rule.chain]
    for flag, value, neg in (("-s", rule.src, rule.src_neg), ("-d", rule.dst, rule.dst_neg),
                             ("-i", rule.iif, rule.iif_neg), ("-o", rule.oif, rule.oif_neg)):
        if value:
            parts.append("%s%s %s" % ("! " if neg else "", flag, value))
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
        parts.append("--to-destination %s:%d" % (rule.to_addr, rule.to_port))
    if rule.set_mark is not None:
        parts.append("--or-mark 0x%x" % rule.set_mark)
    return " ".join(parts)


class FirewallPlanner:
    """Observe once; plan items; know which chains remain in use after the batch."""

    def __init__(self, backend):
        self.backend = backend
        observed = backend.observe()
        self.by_scope = {}  # scope -> [(logical chain, comment)] in observed order
        for logical in CHAINS:
            for comment in observed.get(logical, ()):
                parts = comment.split(" ") if comment else ()
                if len(parts) == 4 and parts[0] == COMMENT_PREFIX:
                    self.by_scope.setdefault(parts[1], []).append((logical, comment))
        self.final = {scope: entries for scope, entries in self.by_scope.items()}
        self.reads = {}  # what of the observation this plan depended on (see entries, scopes)

    def entries(self, scope):
        """The observed rules of ``scope``: [(logical chain, comment)]."""
        found = self.by_scope.get(scope, [])
        self.reads.setdefault(("scope", scope), found)
        return found

    def scopes(self, prefix):
        """The observed scopes whose names start with ``prefix`` and that have rules, sorted."""
        found = self._names(prefix)
        self.reads.setdefault(("prefix", prefix), found)
        return found

    def _names(self, prefix):
        return sorted(s for s, e in self.by_scope.items() if e and s.startswith(prefix))

    def read_digest(self):
        """(keys, digest) of what this plan read of the observation (``reads``), for fw_memo."""
        return [list(k) for k in self.reads], _digest(self.reads.values())

    def digest_of(self, keys):
        """The digest read_digest gave, for ``keys`` read from this observation instead."""
        return _digest(self.by_scope.get(name, []) if kind == "scope" else self._names(name)
                       for kind, name in keys)

    def plan_item(self, key, name, scope, ident, make_rules, also=()):
        """Plan one item.  ``ident``: everything its rules are made from (None: absent, no rules);
        ``make_rules()`` makes them, called only when the item is not already in place.

        ``also``: further scopes this item removes entirely (absent matching more than one).
        """
        found = self.entries(scope)
        tag = None if ident is None else item_tag(scope, ident)
        rid = tag.split(" ")[2] if tag is not None else None
        if tag is not None and found and not also and is_complete([c for _l, c in found], tag):
            # in place: exactly this item's rules, once each; nothing is generated or rendered
            state = {"id": rid, "count": len(found)}
            return ItemPlan(key, name, state, dict(state), [])
        have = collections.Counter(found)
        for other in also:
            have.update(self.entries(other))
            self.final[other] = []
        rules = stamp(make_rules(), tag) if tag is not None else []
        want = {(r.chain, r.comment): r for r in rules}
        steps = []
        for (logical, comment), count in sorted(have.items()):
            extra = count - (1 if (logical, comment) in want else 0)
            for _ in range(extra):
                steps.append(Step("delete %s rule %s" % (logical, comment.split(" ", 1)[1]),
                                  _stager(self.backend.stage_delete, logical, comment)))
        for (logical, comment), rule in want.items():
            if (logical, comment) not in have:
                steps.append(Step("add %s" % render(rule), _stager(self.backend.stage_add, rule)))
        self.final[scope] = list(want)
        known = {k: render(r) for k, r in want.items()}
        before = {"count": sum(have.values()), "rules": describe_rules(sorted(have.elements()), known)} if have else None
        after = None
        if rules:
            after = {"id": rid, "count": len(rules), "rules": [known[k] for k in sorted(want)]}
        return ItemPlan(key, name, before, after, steps)

    def chains_in_use(self):
        return {logical for entries in self.final.values() for (logical, _c) in entries}

    def scopes_left(self, prefix):
        """Scopes with rules after this batch whose name starts with ``prefix``."""
        self.scopes(prefix)  # the answer depends on what was observed there
        return [s for s, entries in self.final.items() if entries and s.startswith(prefix)]

    def commit(self):
        self.backend.commit(self.chains_in_use())


def _digest(values):
    return hashlib.blake2b(repr(list(values)).encode(), digest_size=16).hexdigest()


def _stager(fn, *args):
    return lambda: fn(*args)


def describe_rules(entries, known):
    """The rules as lines for a diff; a rule that is going away, by its id."""
    return [known.get((logical, comment)) or "-A %s ... (rule %s)" % (logical, comment.split(" ", 1)[1])
            for logical, comment in entries]


# -- what planning reads besides the firewall, recorded for fw_memo

_recorders = []  # stack of lists: each probed read appends [name, args, value] to the innermost
PROBES = {}


def probe(fn):
    """Mark ``fn`` (JSON-able args and value) as a read a plan depends on: while a plan is
    recorded (fw_memo), every call is noted so that a remembered plan is used only while each
    of them still returns the same."""
    def probed(*args):
        value = fn(*args)
        if _recorders:
            _recorders[-1].append([fn.__name__, list(args), value])
        return value
    probed.__name__ = fn.__name__
    probed.__doc__ = fn.__doc__
    PROBES[fn.__name__] = fn
    return probed


# -- per-namespace sysctls the firewall needs, remembered so absent can put them back

def _sysctl_path(key):
    return "/proc/sys/" + key.replace(".", "/")


@probe
def read_sysctl(netns, key):
    try:
        with entered(netns):
            with open(_sysctl_path(key)) as f:
                return f.read().strip()
    except FileNotFoundError:
        raise KernelError("sysctl %s does not exist%s" % (key, " in %s" % netns if netns else "")) from None


def write_sysctl(netns, key, value):
    with entered(netns):
        with open(_sysctl_path(key), "w") as f:
            f.write(value)


SO_NETNS_COOKIE = 71


def netns_id(netns):
    """An id of the namespace never reused while the machine runs (its netns cookie, Linux 5.14+)."""
    with entered(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            return "c%d" % struct.unpack("=Q", sock.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]
        except OSError:  # older kernels: the inode (may be reused after the namespace is gone)
            return "i%d" % os.stat("/proc/thread-self/ns/net").st_ino
        finally:
            sock.close()


def forget_netns(netns):
    """Remove everything nsbridge remembers for ``netns`` (saved sysctls, the nftables snapshot,
    remembered plans), for a namespace about to be deleted by someone other than nsbridge's modules."""
    cookie = netns_id(netns)
    for name in os.listdir(STATE_DIR) if os.path.isdir(STATE_DIR) else []:
        if name.startswith(("sysctl-%s-" % cookie, "memo-%s-" % cookie)) or name == "nft-%s.json" % cookie:
            forget_state(os.path.join(STATE_DIR, name))


def write_state(path, data):
    """Write bytes ``data`` to ``path`` under STATE_DIR atomically, readable by root only."""
    os.makedirs(STATE_DIR, exist_ok=True)
    tmp = "%s.%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def forget_state(path):
    try:
        os.unlink(path)
    except OSError:
        pass  # gone already, or not ours to remove: nothing is remembered either way


def _memory_path(netns, key):
    return os.path.join(STATE_DIR, "sysctl-%s-%s" % (netns_id(netns), key))


def sysctl_steps(netns, key, value):
    """Steps that set ``key`` to ``value`` and remember the old value (once) for restore_steps."""
    current = read_sysctl(netns, key)
    if current == value:
        return current, []

    def run():
        path = _memory_path(netns, key)
        if not os.path.exists(path):
            os.makedirs(STATE_DIR, exist_ok=True)
            with open(path, "w") as f:
                f.write(current)
        write_sysctl(netns, key, value)

    def undo():
        write_sysctl(netns, key, current)
        try:
            os.unlink(_memory_path(netns, key))
        except FileNotFoundError:
            pass
    return current, [Step("set %s = %s (was %s)" % (key, value, current), run, undo)]


@probe
def interface_exists(netns, ifname):
    with entered(netns):
        return os.path.exists("/proc/sys/net/ipv4/conf/%s" % ifname)


@probe
def saved_value(netns, key):
    """The value ``key`` had before nsbridge changed it, or None if nsbridge did not."""
    try:
        with open(_memory_path(netns, key)) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


@probe
def saved_keys(netns, prefix):
    """Sysctl keys under ``prefix`` whose old value nsbridge remembers for ``netns``."""
    marker = os.path.basename(_memory_path(netns, prefix))
    try:
        names = os.listdir(STATE_DIR)
    except FileNotFoundError:
        return []
    head = marker[:-len(prefix)]
    return sorted(n[len(head):] for n in names if n.startswith(marker))


def restore_steps(netns, key):
    """Steps that put ``key`` back to what it was before nsbridge changed it, if it did."""
    previous = saved_value(netns, key)
    if previous is None:
        return []
    path = _memory_path(netns, key)
    current = read_sysctl(netns, key)

    def run():
        write_sysctl(netns, key, previous)
        os.unlink(path)
    if current == previous:
        return [Step("forget the saved value of %s" % key, lambda: os.unlink(path))]
    return [Step("restore %s = %s" % (key, previous), run, lambda: write_sysctl(netns, key, current))]


IP_FORWARD = "net.ipv4.ip_forward"


def forwarding_steps(planner, netns, want_forwarding, any_absent):
    """Enable IPv4 forwarding when asked; once nothing of nsbridge's is left, put it back."""
    if want_forwarding:
        return sysctl_steps(netns, IP_FORWARD, "1")[1]
    if any_absent and not planner.scopes_left("masq:") and not planner.scopes_left("publish:"):
        return restore_steps(netns, IP_FORWARD)
    return []


def conntrack_flush_step(netns, proto, port):
    """Delete conntrack entries to ``port`` so a re-published UDP/SCTP port is NATed anew."""
    def run():
        try:
            from pyroute2 import Conntrack
            from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple
        except ImportError as exc:
            raise KernelError("flushing conntrack needs pyroute2: %s" % exc) from None
        number = {"udp": socket.IPPROTO_UDP, "sctp": socket.IPPROTO_SCTP, "tcp": socket.IPPROTO_TCP}[proto]
        with entered(netns):
            ct = Conntrack()
        try:
            for entry in list(ct.dump_entries(tuple_orig=NFCTAttrTuple(proto=number, dport=port))):
                try:
                    ct.delete(entry)
                except OSError:
                    pass  # gone meanwhile
        finally:
            ct.close()
    return Step("flush conntrack entries for %s port %d" % (proto, port), run)
