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

from .rtnl_dump import NLM_F_REQUEST, _attrs, _cstr, _dump

NETLINK_NETFILTER = 12
NFNL_SUBSYS_NFTABLES = 10
NFT_MSG_GETTABLE, NFT_MSG_GETCHAIN, NFT_MSG_GETRULE, NFT_MSG_GETGEN = 1, 4, 7, 16
NFT_MSG_NEWTABLE, NFT_MSG_NEWCHAIN, NFT_MSG_NEWRULE, NFT_MSG_NEWGEN = 0, 3, 6, 15
NFTA_GEN_ID = 1
NFTA_TABLE_NAME = 1
NFTA_CHAIN_TABLE, NFTA_CHAIN_NAME, NFTA_CHAIN_HOOK = 1, 3, 4
NFTA_RULE_TABLE, NFTA_RULE_CHAIN, NFTA_RULE_HANDLE, NFTA_RULE_USERDATA = 1, 2, 3, 7
NFTNL_UDATA_RULE_COMMENT = 0
_NFGENMSG = struct.Struct("=BBH")
FAMILY_IP = socket.AF_INET


def _msg(kind):
    return (NFNL_SUBSYS_NFTABLES << 8) | kind


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

    def rules(self, table, family=FAMILY_IP):
        """[(chain, handle, comment)] of every rule in ``table``, in order."""
        name = table.encode() + b"\0"
        attr = struct.pack("=HH", 4 + len(name), NFTA_RULE_TABLE) + name
        attr += b"\0" * (-len(attr) % 4)
        out = []
        for buf, start, end in self._each(NFT_MSG_GETRULE, NFT_MSG_NEWRULE, family, attr):
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
