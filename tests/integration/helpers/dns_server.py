"""A test resolver: ``dns_server.py NAME ADDRESS``: answers A queries for NAME with ADDRESS (and
every other query with NXDOMAIN), on UDP port 53 of every address of the namespace it runs in;
logs each query's source.  The tests run it inside an "outside" namespace they made, to play the
internet's resolver."""

import socket
import struct
import sys


def answer(query, name, address):
    """The response to one DNS query (RFC 1035: header, question, one A answer)."""
    ident, flags = struct.unpack("!HH", query[:4])
    labels, i = [], 12
    while query[i]:
        labels.append(query[i + 1:i + 1 + query[i]].decode(errors="replace"))
        i += 1 + query[i]
    qtype, _qclass = struct.unpack("!HH", query[i + 1:i + 5])
    question = query[12:i + 5]
    asked = ".".join(labels).lower()
    found = asked == name and qtype == 1
    header = struct.pack("!HHHHHH", ident, 0x8180 | (flags & 0x0100) | (0 if found or asked == name else 3),
                         1, 1 if found else 0, 0, 0)
    body = header + question
    if found:
        body += struct.pack("!HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(address)
    return body, asked


def main():
    name, address = sys.argv[1].lower(), sys.argv[2]
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", 53))
    print("ready", flush=True)
    while True:
        query, peer = sock.recvfrom(512)
        try:
            reply, asked = answer(query, name, address)
        except (IndexError, struct.error):
            continue
        sock.sendto(reply, peer)
        print("%s %s" % (peer[0].replace("::ffff:", ""), asked), flush=True)


if __name__ == "__main__":
    main()
