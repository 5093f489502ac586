# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host-wide settings the firewall modules change (forwarding, accept_ra, route_localnet) and
conntrack flushes, as reconcile Steps.

Whatever nsbridge changes it remembers first (under /run/nsbridge, per namespace cookie), so
that the last ``state: absent`` puts back exactly what was there before.
"""

from __future__ import annotations

import os
import socket

from ..common.errors import KernelError
from ..common.family import FAMILIES, IPV6
from ..engine.reconcile import Step
from ..kernel.netlink import MARK, Namespace, entered
from ..kernel.run_state import STATE_DIR, forget_state, netns_id, read_state, state_names, write_state
from .reliance import relying_on_forwarding


def _sysctl_path(key):
    return "/proc/sys/" + key.replace(".", "/")


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


def _memory_path(netns, key):
    return os.path.join(STATE_DIR, "sysctl-%s-%s" % (netns_id(netns), key))


def saved_value(netns, key):
    """The value ``key`` had before nsbridge changed it, or None if nsbridge did not."""
    return read_state(_memory_path(netns, key))


def saved_keys(netns, prefix):
    """Sysctl keys under ``prefix`` whose old value nsbridge remembers for ``netns``."""
    head = "sysctl-%s-" % netns_id(netns)
    return [n[len(head):] for n in state_names(head + prefix)]


def interface_exists(netns, ifname):
    with entered(netns):
        return os.path.exists("/proc/sys/net/ipv4/conf/%s" % ifname)


def sysctl_steps(netns, key, value):
    """Steps that set ``key`` to ``value`` and remember the old value (once) for restore_steps."""
    current = read_sysctl(netns, key)
    if current == value:
        return []

    def run():
        path = _memory_path(netns, key)
        if not os.path.exists(path):
            write_state(path, current.encode())
        write_sysctl(netns, key, value)

    def undo():
        write_sysctl(netns, key, current)
        forget_state(_memory_path(netns, key))
    return [Step("set %s = %s (was %s)" % (key, value, current), run, undo)]


def restore_steps(netns, key):
    """Steps that put ``key`` back to what it was before nsbridge changed it, if it did."""
    previous = saved_value(netns, key)
    if previous is None:
        return []
    path = _memory_path(netns, key)
    try:
        current = read_sysctl(netns, key)
    except KernelError:  # the interface it belonged to is gone: nothing to put back
        return [Step("forget the saved value of %s (gone)" % key, lambda: forget_state(path))]

    def run():
        write_sysctl(netns, key, previous)
        forget_state(path)
    if current == previous:
        return [Step("forget the saved value of %s" % key, lambda: forget_state(path))]
    return [Step("restore %s = %s" % (key, previous), run, lambda: write_sysctl(netns, key, current))]


def _accept_ra_steps(netns):
    """With IPv6 forwarding on, Linux ignores router advertisements on interfaces with accept_ra=1,
    and the host silently loses its SLAAC default route.  Raise those interfaces (not lo, not
    nsbridge's own links) to accept_ra=2, as Docker does; restore_forwarding puts them back."""
    handle = Namespace(netns)
    try:
        links = handle.links()
    finally:
        handle.close()
    steps = []
    for name, link in sorted(links.items()):
        if name == "lo" or (link.get("alias") or "").startswith(MARK):
            continue
        key = "net.ipv6.conf.%s.accept_ra" % name
        try:
            if read_sysctl(netns, key) == "1":
                steps += sysctl_steps(netns, key, "2")
        except KernelError:
            continue  # IPv6 is off on this interface
    return steps


def _leave_steps(netns, key, why):
    """nsbridge no longer needs ``key`` but something else does: forget the saved value, keep the setting."""
    path = _memory_path(netns, key)
    return [Step("leave %s as it is (%s)" % (key, why), lambda: forget_state(path))]


def forwarding_steps(planner, netns, wanted, releasing):
    """(steps, warnings): turn forwarding on for each family in ``wanted``; when ``releasing`` (an
    item of this call goes away) and no masquerade or published port of a family is left, put that
    family's forwarding (and, for IPv6, accept_ra) back to what it was -- unless something else came
    to rely on it meanwhile (see reliance): then it stays on, and a warning says who relies on it."""
    steps, warnings = [], []
    for fam in FAMILIES:
        if fam in wanted:
            turn_on = sysctl_steps(netns, fam.forwarding, "1")
            steps += turn_on
            if turn_on and fam == IPV6:
                steps += _accept_ra_steps(netns)
            continue
        if not releasing or planner.scopes_left("masq", fam) or planner.scopes_left("publish", fam):
            continue
        keys = [fam.forwarding] + ([k for k in saved_keys(netns, "net.ipv6.conf.") if k.endswith(".accept_ra")]
                                   if fam == IPV6 else [])
        if saved_value(netns, fam.forwarding) is None:
            steps += [s for key in keys[1:] for s in restore_steps(netns, key)]
            continue
        others = relying_on_forwarding(netns, fam)
        if not others:
            steps += [s for key in keys for s in restore_steps(netns, key)]
            continue
        why = "relied on by " + "; ".join(others)
        warnings.append("%s left on although nsbridge turned it on and needs it no more: %s%s"
                        % (fam.forwarding, why, " (and accept_ra=2 kept where nsbridge raised it, or the "
                                                "host would lose its SLAAC route)" if len(keys) > 1 else ""))
        for key in keys:
            steps += _leave_steps(netns, key, why)
    return steps, warnings


def conntrack_flush_step(netns, family, proto, port):
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
            wanted = NFCTAttrTuple(family=family.af, proto=number, dport=port)
            for entry in list(ct.dump_entries(tuple_orig=wanted)):
                try:
                    ct.delete(entry)
                except OSError:
                    pass  # gone meanwhile
        finally:
            ct.close()
    return Step("flush conntrack entries (%s) for %s port %d" % (family, proto, port), run)
