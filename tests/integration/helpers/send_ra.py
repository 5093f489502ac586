"""Send one IPv6 router advertisement: ``send_ra.py IFNAME PREFIX/64 [ROUTER_LIFETIME]``.

Plays the LAN's router in a test's own namespace (to ff02::1 on IFNAME only), so the test can
show the host takes SLAAC addresses and its default route from it.
"""

import ipaddress
import socket
import struct
import sys


def main():
    ifname, prefix = sys.argv[1], ipaddress.ip_network(sys.argv[2])
    lifetime = int(sys.argv[3]) if len(sys.argv) > 3 else 1800
    with open("/sys/class/net/%s/address" % ifname) as f:
        mac = bytes.fromhex(f.read().strip().replace(":", ""))
    # type, code, checksum (the kernel fills it), hop limit, flags, router lifetime, reachable, retrans
    ra = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, lifetime, 0, 0)
    # prefix information: on-link + autonomous, valid and preferred lifetimes
    ra += struct.pack("!BBBBIII", 3, 4, prefix.prefixlen, 0xC0, 86400, 14400, 0) + prefix.network_address.packed
    ra += struct.pack("!BB", 1, 1) + mac                     # source link-layer address
    sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifname.encode())
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(ifname))
    sock.sendto(ra, ("ff02::1", 0, 0, socket.if_nametoindex(ifname)))


if __name__ == "__main__":
    main()
