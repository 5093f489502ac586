# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IP families: everything that differs between IPv4 and IPv6, in one place.

Rules, scopes, backends and host settings ask the family of an address instead of
assuming IPv4 (``/32``, ``ip_forward``, ``family ip``, ``127.0.0.0/8``).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Family:
    version: int            # 4 or 6 (first: families sort IPv4 first)
    name: str               # "ipv4", "ipv6"
    af: int                 # socket.AF_INET, socket.AF_INET6
    bits: int               # address length: 32, 128
    any_net: str            # the whole address space
    loopback: str           # the loopback network
    forwarding: str         # the sysctl that turns forwarding on for the namespace
    nft: str                # nftables family of nsbridge's table: "ip", "ip6"

    def host(self, address):
        """``address`` as a single-address network: ``10.0.0.2/32``, ``fd00::2/128``."""
        return "%s/%d" % (address, self.bits)

    def __str__(self):
        return self.name


IPV4 = Family(4, "ipv4", socket.AF_INET, 32, "0.0.0.0/0", "127.0.0.0/8", "net.ipv4.ip_forward", "ip")
IPV6 = Family(6, "ipv6", socket.AF_INET6, 128, "::/0", "::1/128", "net.ipv6.conf.all.forwarding", "ip6")
FAMILIES = (IPV4, IPV6)
BY_VERSION = {f.version: f for f in FAMILIES}


def family_of(value):
    """The Family of an address, network or interface (text or an ipaddress object)."""
    if isinstance(value, str):
        text = value.split("/", 1)[0].strip("[]")
        return IPV6 if ":" in text else IPV4
    return BY_VERSION[value.version]
