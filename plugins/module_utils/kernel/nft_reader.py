# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A minimal nf_tables *dump reader*: tables, chains and rule comments/handles of one family.

Why beside libnftables: ``nft list`` renders every expression of every rule
(~40 ms for 900 rules), while a no-op run only needs each rule's comment and
handle.  This reads them from the kernel's nfnetlink dump directly.  It never
writes; every change goes through libnftables as one transaction.
"""

from __future__ import annotations

import socket
import struct

from .rtnl_reader import NLM_F_REQUEST, _attrs, _cstr, _dump

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN, NFT_MSG_GETRULE, NFT_MSG_GETGEN = 1, 4, 7, 16
NFT_MSG_NEWTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE, NFT_MSG_NEWGEN = 0, 3, 6, 15
NFT_MSG_NEWSET, NFT_MSG_GETSET, NFT_MSG_NEWSETELEM, NFT_MSG_GETSETELEM = 9, 10, 12, 13
NFTA_SET_TABLE, NFTA_SET_NAME = 1, 2
NFTA_SET_ELEM_LIST_TABLE, NFTA_SET_ELEM_LIST_SET, NFTA_SET_ELEM_LIST_ELEMENTS = 1, 2, 3
NFTA_LIST_ELEM, NFTA_SET_ELEM_DATA, NFTA_DATA_VERDICT, NFTA_VERDICT_CHAIN = 1, 2, 2, 2
NFTA_GEN_ID = 1
NFTA_TABLE_NAME = 1
NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME, NFTA_CHAIN_HOOK = 1, 3, 4
NFTA_RULE_TABLE, NFTA_RULE_CHAIN, NFTA_RULE_HANDLE, NFTA_RULE_USERDATA = 1, 2, 3, 7
NFTNL_UDATA_RULE_COMMENT = 0
NFTA_RULE_EXPRESSIONS, NFTA_EXPR_NAME, NFTA_EXPR_DATA = 4, 1, 2
NFTA_IMMEDIATE_DREG, NFTA_IMMEDIATE_DATA, NFTA_DATA_VALUE = 1, 2, 1
NFTA_NAT_TYPE, NFTA_NAT_REG_ADDR_MIN, NFTA_NAT_REG_PROTO_MIN, NFT_NAT_DNAT = 1, 3, 5, 1
NFTA_COUNTER_PACKETS = 2
_NAT_NAME = struct.pack("=HH", 8, NFTA_EXPR_NAME) + b"nat\0"
_MASQ_NAME = struct.pack("=HH", 9, NFTA_EXPR_NAME) + b"masq\0"
_NFGENMSG = struct.Struct("=BBH")
FAMILY_IP = socket.AF_INET


def _msg(kind):
    return (NFNL_SUBSYS_NFTABLES << 8) | kind


def _str_attr(kind, text):
    raw = text.encode() + b"\0"
    attr = struct.pack("=HH", 4 + len(raw), kind) + raw
    return attr + b"\0" * (-len(attr) % 4)


def _nested(buf, start, length, kind):
    """(start, length) of the first attribute ``kind`` inside the nest at start, or None."""
    for atype, s, ln in _attrs(buf, start, start + length):
        if atype == kind:
            return s, ln
    return None


def _comment(buf, start, length):
    """The comment TLV inside NFTA_RULE_USERDATA (type u8, len u8, value)."""
    pos, end = start, start + length
    while pos + 2 <= end:
        kind, size = buf[pos], buf[pos + 1]
        if kind == NFTNL_UDATA_RULE_COMMENT:
            return _cstr(buf, pos + 2, size)
        pos += 2 + size
    return None


class NftReader:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
        self.seq = 0

    def close(self):
        self.sock.close()

    def _each(self, kind, reply, family, attrs=b"", **flags):
        self.seq += 1
        body = _NFGENMSG.pack(family, 0, 0) + attrs
        for mtype, buf, off, end in _dump(self.sock, _msg(kind), body, self.seq, **flags):
            if mtype == _msg(reply):
                yield buf, off + _NFGENMSG.size, end

    def genid(self):
        """The ruleset generation of this namespace: every nf_tables commit (any table, any tool,
        iptables-nft included) moves it, so an unchanged genid means an unchanged ruleset."""
        for buf, start, end in self._each(NFT_MSG_GETGEN, NFT_MSG_NEWGEN, socket.AF_UNSPEC, flags=NLM_F_REQUEST):
            for atype, s, _ln in _attrs(buf, start, end):
                if atype == NFTA_GEN_ID:
                    return struct.unpack_from(">I", buf, s)[0]
        return None

    def tables(self, family=FAMILY_IP):
        out = set()
        for buf, start, end in self._each(NFT_MSG_GETTABLE, NFT_MSG_NEWTABLE, family):
            for atype, s, ln in _attrs(buf, start, end):
                if atype == NFTA_TABLE_NAME:
                    out.add(_cstr(buf, s, ln))
        return out

    def chains(self, family=FAMILY_IP):
        """{(table, chain): is_base_chain}"""
        out = {}
        for buf, start, end in self._each(NFT_MSG_GETCHAIN, NFT_MSG_NEWCHAIN, family):
            table = name = None
            base = False
            for atype, s, ln in _attrs(buf, start, end):
                if atype == NFTA_CHAIN_TABLE:
                    table = _cstr(buf, s, ln)
                elif atype == NFTA_CHAIN_NAME:
                    name = _cstr(buf, s, ln)
                elif atype == NFTA_CHAIN_HOOK:
                    base = True
            out[(table, name)] = base
        return out

    def sets(self, table, family=FAMILY_IP):
        """Names of the sets and maps of ``table``."""
        out = []
        for buf, start, end in self._each(NFT_MSG_GETSET, NFT_MSG_NEWSET, family, _str_attr(NFTA_SET_TABLE, table)):
            name = rtable = None
            for atype, s, ln in _attrs(buf, start, end):
                if atype == NFTA_SET_TABLE:
                    rtable = _cstr(buf, s, ln)
                elif atype == NFTA_SET_NAME:
                    name = _cstr(buf, s, ln)
            if rtable == table and name:
                out.append(name)
        return out

    def verdict_chains(self, table, name, family=FAMILY_IP):
        """The chains the elements of verdict map ``name`` jump or go to."""
        out = []
        attrs = _str_attr(NFTA_SET_ELEM_LIST_TABLE, table) + _str_attr(NFTA_SET_ELEM_LIST_SET, name)
        for buf, start, end in self._each(NFT_MSG_GETSETELEM, NFT_MSG_NEWSETELEM, family, attrs):
            for atype, s, ln in _attrs(buf, start, end):
                if atype != NFTA_SET_ELEM_LIST_ELEMENTS:
                    continue
                for etype, es, eln in _attrs(buf, s, s + ln):
                    if etype != NFTA_LIST_ELEM:
                        continue
                    found = _nested(buf, es, eln, NFTA_SET_ELEM_DATA)
                    found = found and _nested(buf, found[0], found[1], NFTA_DATA_VERDICT)
                    found = found and _nested(buf, found[0], found[1], NFTA_VERDICT_CHAIN)
                    if found:
                        out.append(_cstr(buf, found[0], found[1]))
        return out

    def rules(self, table, family=FAMILY_IP):
        """[(chain, handle, comment)] of every rule in ``table``, in order."""
        out = []
        for buf, start, end in self._each(NFT_MSG_GETRULE, NFT_MSG_NEWRULE, family, _str_attr(NFTA_RULE_TABLE, table)):
            chain = handle = comment = rtable = None
            for atype, s, ln in _attrs(buf, start, end):
                if atype == NFTA_RULE_TABLE:
                    rtable = _cstr(buf, s, ln)
                elif atype == NFTA_RULE_CHAIN:
                    chain = _cstr(buf, s, ln)
                elif atype == NFTA_RULE_HANDLE:
                    handle = struct.unpack_from(">Q", buf, s)[0]
                elif atype == NFTA_RULE_USERDATA:
                    comment = _comment(buf, s, ln)
            if rtable == table:
                out.append((chain, handle, comment))
        return out

    def described_rules(self, table, family=FAMILY_IP):
        """[(comment, target, dnat)] of every rule in ``table`` (for network_info): ``target`` is
        DNAT or MASQUERADE for the rules that end so (None otherwise); a DNAT's ``dnat`` is
        (address, port, packets), decoded from the immediates that load the address and port
        registers, the nat expression that reads them, and the rule's counter."""
        out = []
        af = socket.AF_INET6 if family == socket.AF_INET6 else socket.AF_INET
        for buf, start, end in self._each(NFT_MSG_GETRULE, NFT_MSG_NEWRULE, family, _str_attr(NFTA_RULE_TABLE, table)):
            comment = exprs = None
            for atype, s, ln in _attrs(buf, start, end):
                if atype == NFTA_RULE_USERDATA:
                    comment = _comment(buf, s, ln)
                elif atype == NFTA_RULE_EXPRESSIONS:
                    exprs = (s, ln)
            raw = bytes(buf[exprs[0]:exprs[0] + exprs[1]]) if exprs else b""
            if _MASQ_NAME in raw:
                out.append((comment, "MASQUERADE", None))
            elif _NAT_NAME in raw:  # one byte search instead of a walk for the rules without
                dnat = self._dnat(buf, exprs, af)
                out.append((comment, "DNAT" if dnat else None, dnat))
            else:
                out.append((comment, None, None))
        return out

    @staticmethod
    def _dnat(buf, exprs, af):
        registers, packets = {}, 0
        for _elem, es, eln in _attrs(buf, exprs[0], exprs[0] + exprs[1]):
            name = _nested(buf, es, eln, NFTA_EXPR_NAME)
            data = _nested(buf, es, eln, NFTA_EXPR_DATA)
            if name is None or data is None:
                continue
            kind = _cstr(buf, name[0], name[1])
            fields = {t: (ds, dl) for t, ds, dl in _attrs(buf, data[0], data[0] + data[1])}
            if kind == "immediate" and NFTA_IMMEDIATE_DATA in fields:
                value = _nested(buf, fields[NFTA_IMMEDIATE_DATA][0], fields[NFTA_IMMEDIATE_DATA][1], NFTA_DATA_VALUE)
                if value is not None:
                    reg = struct.unpack_from(">I", buf, fields[NFTA_IMMEDIATE_DREG][0])[0]
                    registers[reg] = bytes(buf[value[0]:value[0] + value[1]])
            elif kind == "counter" and NFTA_COUNTER_PACKETS in fields:
                packets = struct.unpack_from(">Q", buf, fields[NFTA_COUNTER_PACKETS][0])[0]
            elif kind == "nat" and struct.unpack_from(">I", buf, fields[NFTA_NAT_TYPE][0])[0] == NFT_NAT_DNAT:
                addr = registers.get(struct.unpack_from(">I", buf, fields[NFTA_NAT_REG_ADDR_MIN][0])[0]) \
                    if NFTA_NAT_REG_ADDR_MIN in fields else None
                port = registers.get(struct.unpack_from(">I", buf, fields[NFTA_NAT_REG_PROTO_MIN][0])[0]) \
                    if NFTA_NAT_REG_PROTO_MIN in fields else None
                if addr is not None:
                    return socket.inet_ntop(af, addr), struct.unpack(">H", port[:2])[0] if port else None, packets
        return None
