# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``struct ipt_entry`` / ``struct ip6t_entry`` for the rules nsbridge writes, and a reader of
the kernel's xtables blobs; both families.

Why: python-iptables builds every match through the xtables parsers (~0.9 ms a rule, most
of a 900-rule run).  nsbridge's rules use a handful of matches and targets, whose kernel
structures are fixed; packing them directly costs ~20 us a rule.  The blobs are handed to
libiptc / libip6tc (``iptc_append_entry``) through python-iptables' own handle, so the table,
lock and commit path stay exactly python-iptables'.  Rules with anything else (sctp) return
None and go the python-iptables way.  Reading goes straight to getsockopt (one call per table,
what ``iptables-legacy-save`` reads first), never through libiptc.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import ipaddress
import socket
import struct
from dataclasses import dataclass

from ..common.family import IPV4

# linux/netfilter_ipv4/ip_tables.h, netfilter_ipv6/ip6_tables.h, x_tables.h, match/target headers
INV_VIA_IN, INV_VIA_OUT, INV_SRCIP, INV_DSTIP = 0x01, 0x02, 0x08, 0x10
IP6T_F_PROTO = 0x01
_HEADER = struct.Struct("=H29sB")                             # xt_entry_match / xt_entry_target
PROTOS = {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP, "sctp": socket.IPPROTO_SCTP}
XT_SCTP_SRC_PORTS, XT_SCTP_DEST_PORTS = 0x01, 0x02
XT_DEVGROUP_MATCH_DST = 0x04
VERDICTS = {"ACCEPT": -2, "DROP": -1, "RETURN": -5}
CT_STATES = {"INVALID": 1, "ESTABLISHED": 2, "RELATED": 4, "NEW": 8}
HOOKS = ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")


@dataclass(frozen=True)
class Layout:
    """Where the fields of one family's entry are."""

    ip: struct.Struct          # struct ipt_ip / ip6t_ip6, padded
    size: int                  # sizeof(struct ipt_entry / ip6t_entry)
    offsets: int               # byte of target_offset (next_offset follows)
    sockopt_level: int
    af: int


IPT = Layout(struct.Struct("=4s4s4s4s16s16s16s16sHBB"), 112, 88, socket.IPPROTO_IP, socket.AF_INET)
IP6T = Layout(struct.Struct("=16s16s16s16s16s16s16s16sHBBB3x"), 168, 140, socket.IPPROTO_IPV6, socket.AF_INET6)


def layout(family):
    return IPT if family == IPV4 else IP6T


def _align(n):
    return (n + 7) & ~7


def _block(name, revision, data):
    size = _align(_HEADER.size + len(data))
    return _HEADER.pack(size, name.encode(), revision) + data + b"\0" * (size - _HEADER.size - len(data))


@functools.lru_cache(maxsize=4096)
def _addr(family, cidr):
    width = family.bits // 8
    if not cidr:
        return b"\0" * width, b"\0" * width
    net = ipaddress.ip_network(cidr, strict=False)
    return net.network_address.packed, net.netmask.packed


@functools.lru_cache(maxsize=1024)
def _iface(name):
    if not name:
        return b"\0" * 16, b"\0" * 16
    raw = name.encode()
    return raw.ljust(16, b"\0"), (b"\xff" * (len(raw) + 1)).ljust(16, b"\0")


def _header(family, src=None, dst=None, iif=None, oif=None, proto=None, inv=0):
    """struct ipt_ip / ip6t_ip6 for these matches."""
    src, smsk = _addr(family, src)
    dst, dmsk = _addr(family, dst)
    iif, iifm = _iface(iif)
    oif, oifm = _iface(oif)
    number = PROTOS.get(proto, 0)
    lay = layout(family)
    if lay is IPT:
        return lay.ip.pack(src, dst, smsk, dmsk, iif, oif, iifm, oifm, number, 0, inv)
    return lay.ip.pack(src, dst, smsk, dmsk, iif, oif, iifm, oifm, number, 0, IP6T_F_PROTO if number else 0, inv)


def build(rule):
    """The entry for ``rule`` (an fw_rules.Rule) as bytes, or None if it needs python-iptables."""
    if rule.proto and rule.proto not in PROTOS:
        return None
    inv = ((INV_SRCIP if rule.src_neg else 0) | (INV_DSTIP if rule.dst_neg else 0)
           | (INV_VIA_IN if rule.iif_neg else 0) | (INV_VIA_OUT if rule.oif_neg else 0))
    ip = _header(rule.family, rule.src, rule.dst, rule.iif, rule.oif, rule.proto, inv)
    lay = layout(rule.family)
    matches = b""
    if rule.proto and (rule.dport is not None or rule.sport is not None):
        sp = (rule.sport, rule.sport) if rule.sport is not None else (0, 0xFFFF)
        dp = (rule.dport, rule.dport) if rule.dport is not None else (0, 0xFFFF)
        matches += port_match(rule.proto, sp, dp)
    if rule.ctstate:
        state = 0
        for name in rule.ctstate:
            state |= CT_STATES[name]
        # xt_conntrack_mtinfo3: 8 addresses, expires, l4proto, 4 ports, flags, invert, state, status, 4 highs
        data = b"\0" * 128 + struct.pack("=IIHHHHHHHHHHHHHH", 0, 0, 0, 0, 0, 0, 0, 1, 0, state, 0, 0, 0, 0, 0, 0)
        matches += _block("conntrack", 3, data[:162])
    if rule.mark is not None:
        matches += _block("mark", 1, struct.pack("=IIB", rule.mark, rule.mark, 0))
    if rule.oif_group is not None:
        # struct xt_devgroup_info: flags (XT_DEVGROUP_MATCH_DST), src_group, src_mask, dst_group, dst_mask
        matches += _block("devgroup", 0, struct.pack("=IIIII", XT_DEVGROUP_MATCH_DST, 0, 0, rule.oif_group,
                                                     0xFFFFFFFF))
    matches += comment_match(rule.comment)
    target = _target(rule)
    if target is None:
        return None
    return assemble(lay, ip, matches, target)


def port_match(proto, sports, dports):
    """A tcp, udp or sctp match on source and destination port ranges."""
    if proto == "tcp":
        return _block("tcp", 0, struct.pack("=HHHHBBBB", sports[0], sports[1], dports[0], dports[1], 0, 0, 0, 0))
    if proto == "udp":
        return _block("udp", 0, struct.pack("=HHHHB", sports[0], sports[1], dports[0], dports[1], 0))
    # struct xt_sctp_info: dpts, spts, chunkmap[64], chunk_match_type, flag_info[4], flag_count, flags, invflags
    flags = (XT_SCTP_SRC_PORTS if sports != (0, 0xFFFF) else 0) | (XT_SCTP_DEST_PORTS if dports != (0, 0xFFFF) else 0)
    data = struct.pack("=HHHH", dports[0], dports[1], sports[0], sports[1]) + b"\0" * 256 \
        + struct.pack("=I", 0) + b"\0" * 12 + struct.pack("=iII", 0, flags, 0)
    return _block("sctp", 0, data)


def jump_entry(family, chain, comment, src=None, dst=None, proto=None, sports=None, dports=None):
    """An entry that jumps to user chain ``chain`` when the packet matches (libiptc resolves the
    name at commit); ``chain=""`` makes it fall through (a rule that only carries its comment)."""
    matches = b""
    if sports or dports:
        matches += port_match(proto, sports or (0, 0xFFFF), dports or (0, 0xFFFF))
    matches += comment_match(comment)
    return assemble(layout(family), _header(family, src=src, dst=dst, proto=proto), matches,
                    _block(chain, 0, struct.pack("=i", 0)))


def comment_match(comment):
    return _block("comment", 0, comment.encode()[:255].ljust(256, b"\0"))


def assemble(lay, ip, matches, target):
    target_offset = lay.size + len(matches)
    tail = struct.pack("=IHHI", 0, target_offset, target_offset + len(target), 0)
    pad = b"\0" * (lay.size - len(ip) - len(tail) - 16)
    return ip + tail + pad + b"\0" * 16 + matches + target


def _target(rule):
    if rule.verdict in VERDICTS:
        # libiptc maps the names of the standard verdicts itself (an empty name means fall through)
        return _block(rule.verdict, 0, struct.pack("=i", VERDICTS[rule.verdict]))
    if rule.verdict == "MASQUERADE":
        if rule.family == IPV4:  # nf_nat_ipv4_multi_range_compat with one range
            return _block("MASQUERADE", 0, struct.pack("=IIIIHH", 1, 0, 0, 0, 0, 0))
        return _block("MASQUERADE", 0, b"\0" * 40)  # struct nf_nat_range, nothing set
    if rule.verdict == "DNAT":
        # revision 2, struct nf_nat_range2: flags (MAP_IPS | PROTO_SPECIFIED), min/max address,
        # min/max/base port (what iptables 1.8 writes and shows)
        to = ipaddress.ip_address(rule.to_addr).packed.ljust(16, b"\0")
        port = struct.pack("!H", rule.to_port)
        return _block("DNAT", 2, struct.pack("=I", 3) + to + to + port + port + b"\0\0")
    if rule.verdict == "MARK":
        return _block("MARK", 2, struct.pack("=II", rule.set_mark, rule.set_mark))
    return None


# -- reading: the kernel's table blob, straight from getsockopt (no libiptc, no python-iptables)

SO_GET_INFO, SO_GET_ENTRIES = 64, 65                          # same numbers for ip and ip6 tables
_GETINFO = struct.Struct("=32sI5I5III")                      # struct ipt_getinfo (84 bytes)
ENTRIES = 40                                                  # struct ipt_get_entries up to entrytable[]
_OFFSETS = struct.Struct("=HH")                               # target_offset, next_offset
_COMMENT_BLOCK = _align(_HEADER.size + 256)                   # a comment match: header + 256 bytes
_COMMENT_HEAD = struct.pack("=H", _COMMENT_BLOCK) + b"comment\0"
_libc = None


def _getsockopt(fd, level, option, buf):
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.getsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                                     ctypes.POINTER(ctypes.c_uint32)]
    size = ctypes.c_uint32(len(buf))
    if _libc.getsockopt(fd, level, option, buf, ctypes.byref(size)) != 0:
        return ctypes.get_errno()
    return 0


def read_table(family, name):
    """(blob, {hook entry position: built-in chain name}) of table ``name`` of ``family`` in the
    current namespace, or None if it has none.  ``blob`` is struct ipt_get_entries as the kernel
    filled it: the rules start at byte ENTRIES (no copy of them is made).

    The caller must have checked /proc/net/ip{,6}_tables_names, since asking for a table loads it.
    """
    lay = layout(family)
    with socket.socket(lay.af, socket.SOCK_RAW, socket.IPPROTO_RAW) as sock:
        for _attempt in range(10):
            info = ctypes.create_string_buffer(name.encode().ljust(_GETINFO.size, b"\0"), _GETINFO.size)
            err = _getsockopt(sock.fileno(), lay.sockopt_level, SO_GET_INFO, info)
            if err == errno.ENOENT:
                return None
            if err:
                raise OSError(err, "reading %s table %s" % (family, name))
            fields = _GETINFO.unpack(info.raw)
            hooks, valid, size = fields[2:7], fields[1], fields[-1]
            buf = bytearray(ENTRIES + size)
            buf[:len(name)] = name.encode()
            struct.pack_into("=I", buf, 32, size)
            err = _getsockopt(sock.fileno(), lay.sockopt_level, SO_GET_ENTRIES,
                              (ctypes.c_char * len(buf)).from_buffer(buf))
            if err == errno.EAGAIN:
                continue  # the table changed between the two calls
            if err:
                raise OSError(err, "reading %s table %s" % (family, name))
            return buf, {ENTRIES + hooks[i]: HOOKS[i] for i in range(5) if valid & (1 << i)}
    raise OSError(errno.EAGAIN, "%s table %s kept changing while being read" % (family, name))


def _comment_at(blob, start, target, header):
    """The comment of the entry at ``start`` whose target is at ``target``, or None."""
    head = target - _COMMENT_BLOCK
    if head >= start + header and blob[head:head + 10] == _COMMENT_HEAD:
        # nsbridge puts the comment last: one slice instead of a walk
        text = head + _HEADER.size
        return blob[text:blob.find(b"\0", text, target)].decode()
    pos = start + header
    while pos + _HEADER.size <= target:
        size = struct.unpack_from("=H", blob, pos)[0]
        if blob[pos + 2:pos + 10] == b"comment\0":
            return blob[pos + _HEADER.size:pos + size].split(b"\0", 1)[0].decode()
        if size < _HEADER.size:
            break
        pos += size
    return None


def _entries(family, blob):
    """(start, target) of every entry of a table's ``blob``, in order: ``target`` is the absolute
    offset of the entry's target."""
    offsets = layout(family).offsets
    unpack = _OFFSETS.unpack_from
    pos, end = ENTRIES, len(blob)
    while pos < end:
        target, step = unpack(blob, pos + offsets)
        if step == 0:
            break
        yield pos, pos + target
        pos += step


def _target_name(blob, t):
    """The name of the target at ``t`` (empty for a standard verdict or a jump)."""
    return blob[t + 2:t + 31].split(b"\0", 1)[0].decode(errors="replace")


def _head_name(blob, t):
    """The chain a user chain's head entry (an ERROR target at ``t``) names."""
    return blob[t + _HEADER.size:t + _HEADER.size + 32].split(b"\0", 1)[0].decode()


def chain_comments(family, blob, starts, prefix):
    """{chain: [comment or None per rule]} for the user chains named ``prefix``* and for every
    built-in chain (by hook name), in rule order (``blob`` and ``starts`` from read_table)."""
    header = layout(family).size
    out = {}
    current = None
    for pos, t in _entries(family, blob):
        is_head = blob[t + 2:t + 8] == b"ERROR\0"
        if is_head or pos in starts:
            if current is not None and out[current]:
                out[current].pop()  # a chain ends with its policy or its unconditional RETURN
            current = None
            if pos in starts:
                current = starts[pos]
                out[current] = []
            elif is_head:
                chain = _head_name(blob, t)
                if chain.startswith(prefix):
                    current = chain
                    out[chain] = []
                continue
        if current is not None:
            out[current].append(_comment_at(blob, pos, t, header))
    return out


def all_rules(family, blob, starts):
    """Every rule of every chain (built-in ones by hook name), policies and chain ends left out:
    yields (chain, comment or None, target name, verdict) -- the target name is empty for a
    standard verdict (ACCEPT -2, DROP -1, RETURN -5) or a jump (verdict >= 0: an offset)."""
    header = layout(family).size
    pending = None          # the previous rule: yielded once the next one shows it was not a chain end
    chain = None
    for pos, t in _entries(family, blob):
        name = _target_name(blob, t)
        if name == "ERROR" or pos in starts:
            pending = None  # the last rule of the chain before was its policy or its RETURN
            if pos in starts:
                chain = starts[pos]
            else:
                chain = _head_name(blob, t)
                continue
        if pending is not None:
            yield pending
        verdict = struct.unpack_from("=i", blob, t + _HEADER.size)[0] if not name else None
        pending = (chain, _comment_at(blob, pos, t, header), name, verdict)


def described_rules(family, blob):
    """(comment, target, dnat) of every rule with a comment in a table's ``blob`` (from read_table),
    for network_info: ``target`` the target's name (a standard verdict by its name, a jump as
    JUMP), and for a DNAT (revision 2, as nsbridge writes it) ``dnat`` = (address, port, packets):
    where a published port leads and how many connections took it."""
    names = {code: name for name, code in VERDICTS.items()}
    lay = layout(family)
    for pos, t in _entries(family, blob):
        comment = _comment_at(blob, pos, t, lay.size)
        if comment is not None:
            name = _target_name(blob, t)
            dnat = None
            if not name:
                verdict = struct.unpack_from("=i", blob, t + _HEADER.size)[0]
                name = names.get(verdict, "JUMP")
            elif name == "DNAT" and blob[t + 31] == 2:
                data = t + _HEADER.size + 4               # past nf_nat_range2.flags
                raw = bytes(blob[data:data + (4 if family == IPV4 else 16)])
                dnat = (str(ipaddress.ip_address(raw)), struct.unpack_from("!H", blob, data + 32)[0],
                        struct.unpack_from("=Q", blob, pos + lay.size - 16)[0])
            yield comment, name, dnat
