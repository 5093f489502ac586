# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which programs of a namespace wait for connections on which ports: the kernel's socket dump
(NETLINK_SOCK_DIAG, what ``ss -tuln`` reads) of listening TCP and unconnected UDP sockets, and
the process that holds a socket (``ss -p``: the /proc/PID/fd links).

A published port DNATs what arrives for it to a container, so a program of the host listening
on that port would silently stop getting those connections; port_publish reads this to refuse
such a port, as Docker refuses one another program holds ("address already in use").
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from typing import NamedTuple, Optional

from .netlink import entered
from .rtnl_reader import _attrs, _dump

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
TCP_CLOSE, TCP_LISTEN = 7, 10
INET_DIAG_SKV6ONLY = 11
PROTOCOLS = {"tcp": (socket.IPPROTO_TCP, 1 << TCP_LISTEN),
             "udp": (socket.IPPROTO_UDP, 1 << TCP_CLOSE)}  # an unconnected UDP socket is in CLOSE
# inet_diag_req_v2: family, protocol, extensions, pad, states, and a zero socket id (48 bytes)
_REQ = struct.Struct("=BBBxI48x")
# inet_diag_msg: family, state, timer, retrans; id: sport, dport (big-endian), src, dst, if, cookie;
# expires, rqueue, wqueue, uid, inode
_MSG = struct.Struct("=BBxx2s2x16s16x4x8xIIIII")


class Listener(NamedTuple):
    """A socket that takes what arrives for ``port`` at ``address`` (0.0.0.0 or :: for every
    address of its family; ``dual``: a :: socket that takes IPv4 too)."""

    protocol: str
    address: object  # ipaddress.IPv4Address / IPv6Address
    port: int
    dual: bool
    inode: int

    def __str__(self):
        host = str(self.address) if self.address.version == 4 else "[%s]" % self.address
        return "%s %s:%d" % (self.protocol, host, self.port)


def listeners(netns=None, protocols=("tcp", "udp")):
    """The listening sockets of ``netns`` (None: this one) for ``protocols`` (tcp, udp). A kernel
    that cannot dump one (no udp_diag, no IPv6) lists none of it."""
    out = []
    with entered(netns):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    try:
        seq = 0
        for name in protocols:
            number, states = PROTOCOLS[name]
            for family in (socket.AF_INET, socket.AF_INET6):
                seq += 1
                try:
                    for _type, buf, start, end in _dump(sock, SOCK_DIAG_BY_FAMILY, _REQ.pack(family, number, 0, states),
                                                        seq):
                        out.append(_listener(name, buf, start, end))
                except OSError:
                    continue
    finally:
        sock.close()
    return out


def _listener(protocol, buf, start, end):
    family, _state, sport, src, _expires, _rq, _wq, _uid, inode = _MSG.unpack_from(buf, start)
    port = struct.unpack(">H", sport)[0]
    if family == socket.AF_INET:
        return Listener(protocol, ipaddress.IPv4Address(src[:4]), port, False, inode)
    address = ipaddress.IPv6Address(src)
    if address.ipv4_mapped is not None:
        return Listener(protocol, address.ipv4_mapped, port, False, inode)
    v6only = False
    for atype, s, _ln in _attrs(buf, start + _MSG.size, end):
        if atype == INET_DIAG_SKV6ONLY:
            v6only = bool(buf[s])
    return Listener(protocol, address, port, address.is_unspecified and not v6only, inode)


def holder(inode, proc="/proc") -> Optional[str]:
    """'NAME (pid PID)' of a process that has socket ``inode`` open, or None (gone, or not in this
    PID namespace). Reads every process's fd links: only for a socket already found in the way."""
    target = "socket:[%d]" % inode
    for pid in os.listdir(proc):
        fd_dir = os.path.join(proc, pid, "fd")
        try:
            fds = os.listdir(fd_dir) if pid.isdigit() else ()
        except OSError:
            continue  # the process ended, or its fds are not ours to read
        for fd in fds:
            try:
                if os.readlink(os.path.join(fd_dir, fd)) == target:
                    with open(os.path.join(proc, pid, "comm")) as f:
                        return "%s (pid %s)" % (f.read().strip(), pid)
            except OSError:
                continue  # closed meanwhile
    return None
