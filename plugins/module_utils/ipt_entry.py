# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build ``struct ipt_entry`` blobs for the rules nsbridge writes, for libiptc to append.

Why: python-iptables builds every match through the xtables parsers (~0.9 ms a rule, most
of a 900-rule run).  nsbridge's rules use a handful of matches and targets, whose kernel
structures are fixed; packing them directly costs ~20 us a rule.  The blobs are handed to
libiptc (``iptc_append_entry``) through python-iptables' own handle, so the table, lock and
commit path stay exactly python-iptables'.  Rules with anything else (sctp) return None and
go the python-iptables way.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import socket
import struct

# linux/netfilter_ipv4/ip_tables.h, x_tables.h and the match/target headers
IPT_INV_VIA_IN, IPT_INV_VIA_OUT, IPT_INV_SRCIP, IPT_INV_DSTIP = 0x01, 0x02, 0x08, 0x10
_IPT_IP = struct.Struct("=4s4s4s4s16s16s16s16sHBB")        # 84 bytes
_ENTRY_TAIL = struct.Struct("=IHHIQQ")                        # nfcache, offsets, comefrom, counters
_HEADER = struct.Struct("=H29sB")                             # xt_entry_match / xt_entry_target
PROTOS = {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP}
VERDICTS = {"ACCEPT": -2, "DROP": -1, "RETURN": -5}
CT_STATES = {"INVALID": 1, "ESTABLISHED": 2, "RELATED": 4, "NEW": 8}


def _align(n):
    return (n + 7) & ~7


def _block(name, revision, data):
    size = _align(_HEADER.size + len(data))
    return _HEADER.pack(size, name.encode(), revision) + data + b"\0" * (size - _HEADER.size - len(data))


def _addr(cidr):
    if not cidr:
        return b"\0" * 4, b"\0" * 4
    addr, _, length = cidr.partition("/")
    length = int(length or 32)
    mask = (0xFFFFFFFF << (32 - length)) & 0xFFFFFFFF if length else 0
    return socket.inet_aton(addr), struct.pack("!I", mask)


def _iface(name):
    if not name:
        return b"\0" * 16, b"\0" * 16
    raw = name.encode()
    return raw.ljust(16, b"\0"), (b"\xff" * (len(raw) + 1)).ljust(16, b"\0")


def build(rule):
    """The entry for ``rule`` (an fw_rules.Rule) as bytes, or None if it needs python-iptables."""
    if rule.proto and rule.proto not in PROTOS:
        return None
    src, smsk = _addr(rule.src)
    dst, dmsk = _addr(rule.dst)
    iif, iifm = _iface(rule.iif)
    oif, oifm = _iface(rule.oif)
    inv = ((IPT_INV_SRCIP if rule.src_neg else 0) | (IPT_INV_DSTIP if rule.dst_neg else 0)
           | (IPT_INV_VIA_IN if rule.iif_neg else 0) | (IPT_INV_VIA_OUT if rule.oif_neg else 0))
    ip = _IPT_IP.pack(src, dst, smsk, dmsk, iif, oif, iifm, oifm, PROTOS.get(rule.proto, 0), 0, inv)
    matches = b""
    if rule.proto and (rule.dport is not None or rule.sport is not None):
        sp = (rule.sport, rule.sport) if rule.sport is not None else (0, 0xFFFF)
        dp = (rule.dport, rule.dport) if rule.dport is not None else (0, 0xFFFF)
        if rule.proto == "tcp":
            matches += _block("tcp", 0, struct.pack("=HHHHBBBB", sp[0], sp[1], dp[0], dp[1], 0, 0, 0, 0))
        else:
            matches += _block("udp", 0, struct.pack("=HHHHB", sp[0], sp[1], dp[0], dp[1], 0))
    if rule.ctstate:
        state = 0
        for name in rule.ctstate:
            state |= CT_STATES[name]
        # xt_conntrack_mtinfo3: 8 addresses, expires, l4proto, 4 ports, flags, invert, state, status, 4 highs
        data = b"\0" * 128 + struct.pack("=IIHHHHHHHHHHHHHH", 0, 0, 0, 0, 0, 0, 0, 1, 0, state, 0, 0, 0, 0, 0, 0)
        matches += _block("conntrack", 3, data[:162])
    if rule.mark is not None:
        matches += _block("mark", 1, struct.pack("=IIB", rule.mark, rule.mark, 0))
    comment = rule.comment.encode()[:255]
    matches += _block("comment", 0, comment.ljust(256, b"\0"))
    if rule.verdict in VERDICTS:
        # libiptc maps the names of the standard verdicts itself (an empty name means fall through)
        target = _block(rule.verdict, 0, struct.pack("=i", VERDICTS[rule.verdict]))
    elif rule.verdict == "MASQUERADE":
        target = _block("MASQUERADE", 0, struct.pack("=IIIIHH", 1, 0, 0, 0, 0, 0))
    elif rule.verdict == "DNAT":
        # revision 2, struct nf_nat_range2: flags (MAP_IPS | PROTO_SPECIFIED), min/max address,
        # min/max/base port (what iptables 1.8 writes and shows)
        to = socket.inet_aton(rule.to_addr).ljust(16, b"\0")
        port = struct.pack("!H", rule.to_port)
        target = _block("DNAT", 2, struct.pack("=I", 3) + to + to + port + port + b"\0\0")
    elif rule.verdict == "MARK":
        target = _block("MARK", 2, struct.pack("=II", rule.set_mark, rule.set_mark))
    else:
        return None
    target_offset = 112 + len(matches)
    tail = _ENTRY_TAIL.pack(0, target_offset, target_offset + len(target), 0, 0, 0)
    return ip + tail + matches + target


# -- reading: the kernel's table blob, straight from getsockopt (no libiptc, no python-iptables)

IPT_SO_GET_INFO, IPT_SO_GET_ENTRIES = 64, 65
_GETINFO = struct.Struct("=32sI5I5III")                      # struct ipt_getinfo (84 bytes)
_GET_ENTRIES_HEAD = ENTRIES = 40                              # struct ipt_get_entries up to entrytable[]
_OFFSETS = struct.Struct("=HH")                               # target_offset, next_offset at byte 88
_COMMENT_BLOCK = _align(_HEADER.size + 256)                   # a comment match: header + 256 bytes
_COMMENT_HEAD = struct.pack("=H", _COMMENT_BLOCK) + b"comment\0"
_libc = None


def _getsockopt(fd, option, buf):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.getsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                     ctypes.POINTER(ctypes.c_uint32)]
    size = ctypes.c_uint32(len(buf))
    if _libc.getsockopt(fd, socket.IPPROTO_IP, option, buf, ctypes.byref(size)) != 0:
        return ctypes.get_errno()
    return 0


def read_table(name):
    """(blob, hook entry positions in it, the rest of struct ipt_getinfo: valid hooks, hook
    entries, underflows, entry count, size) of table ``name`` in the current namespace, or None
    if it has none.  ``blob`` is struct ipt_get_entries as the kernel filled it: the rules start
    at byte ENTRIES (no copy of them is made).

    One getsockopt copies the whole table (what ``iptables-legacy-save`` reads first); the
    caller must have checked /proc/net/ip_tables_names, since asking for a table loads it.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
        for _attempt in range(10):
            info = ctypes.create_string_buffer(name.encode().ljust(_GETINFO.size, b"\0"), _GETINFO.size)
            err = _getsockopt(sock.fileno(), IPT_SO_GET_INFO, info)
            if err == errno.ENOENT:
                return None
            if err:
                raise OSError(err, "reading iptables table %s" % name)
            fields = _GETINFO.unpack(info.raw)
            hooks, valid, size = fields[2:7], fields[1], fields[-1]
            buf = bytearray(_GET_ENTRIES_HEAD + size)
            buf[:len(name)] = name.encode()
            struct.pack_into("=I", buf, 32, size)
            err = _getsockopt(sock.fileno(), IPT_SO_GET_ENTRIES, (ctypes.c_char * len(buf)).from_buffer(buf))
            if err == errno.EAGAIN:
                continue  # the table changed between the two calls
            if err:
                raise OSError(err, "reading iptables table %s" % name)
            starts = {hooks[i] for i in range(5) if valid & (1 << i)}
            return buf, {_GET_ENTRIES_HEAD + s for s in starts}, info.raw[32:]
    raise OSError(errno.EAGAIN, "iptables table %s kept changing while being read" % name)


_COUNTERS = 96  # struct xt_counters (packets, bytes): 16 bytes at byte 96 of every ipt_entry
_ZERO16 = bytes(16)


def digest_without_counters(blob):
    """A SHA-256 of the rules in ``blob`` (from read_table) with their packet and byte counters
    zeroed -- in ``blob`` itself, which nothing reads counters from: of what the table says, not
    of what went through it.  Equal tables, equal digests; and zeroing cannot make two different
    tables equal: both are walked from the first rule and each rule's next_offset (byte 90,
    kept) is the same in both before it is followed, so the same bytes are zeroed in both."""
    unpack = _OFFSETS.unpack_from
    pos, end = ENTRIES, len(blob) - 112
    while pos <= end:
        blob[pos + _COUNTERS:pos + _COUNTERS + 16] = _ZERO16
        step = unpack(blob, pos + 88)[1]
        if step == 0:
            break
        pos += step
    return hashlib.sha256(memoryview(blob)[ENTRIES:]).digest()


def _comment_at(blob, start, target):
    """The comment of the entry at ``start`` whose target is at ``target``, or None."""
    head = target - _COMMENT_BLOCK
    if head >= start + 112 and blob[head:head + 10] == _COMMENT_HEAD:
        # nsbridge puts the comment last: one slice instead of a walk
        return blob[head + _HEADER.size:target].split(b"\0", 1)[0].decode()
    pos = start + 112
    while pos + _HEADER.size <= target:
        size = struct.unpack_from("=H", blob, pos)[0]
        if blob[pos + 2:pos + 10] == b"comment\0":
            return blob[pos + _HEADER.size:pos + size].split(b"\0", 1)[0].decode()
        if size < _HEADER.size:
            break
        pos += size
    return None


def chain_comments(blob, starts, prefix):
    """{chain: [comment or None per rule]} for the user chains named ``prefix``*, in rule order
    (``blob`` and ``starts`` as read_table returns them)."""
    out = {}
    current = None
    pos, end = ENTRIES, len(blob)
    unpack = _OFFSETS.unpack_from
    while pos < end:
        target, step = unpack(blob, pos + 88)
        if step == 0:
            break
        t = pos + target
        is_head = blob[t + 2:t + 8] == b"ERROR\0"
        if is_head or pos in starts:
            if current is not None and out[current]:
                out[current].pop()  # a user chain ends with its unconditional RETURN
            current = None
            if is_head:
                chain = blob[t + _HEADER.size:t + _HEADER.size + 32].split(b"\0", 1)[0].decode()
                if chain.startswith(prefix):
                    current = chain
                    out[chain] = []
                pos += step
                continue
        if current is not None:
            out[current].append(_comment_at(blob, pos, t))
        pos += step
    return out
