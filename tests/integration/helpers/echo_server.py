"""A test workload: answers TCP (HTTP) and UDP with its name and the peer's address.

    echo_server.py NAME PORT [udp|local|local6|v6only|at=ADDRESS]

Listens on IPv4 and IPv6 alike (``local``: only 127.0.0.1, ``local6``: only ::1, ``v6only``: every
IPv6 address and no IPv4, ``at=ADDRESS``: only that address).  HTTP: every
GET returns ``NAME PEER_IP``.  UDP: every datagram is answered with ``NAME PEER_IP``.  An IPv4
peer is shown as IPv4 (not ``::ffff:a.b.c.d``).  Runs until killed; the tests start it inside a
namespace.
"""

import http.server
import socket
import sys


def peer_text(address):
    return address[7:] if address.startswith("::ffff:") and "." in address else address


def dual_stack(kind):
    sock = socket.socket(socket.AF_INET6, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    return sock


def main():
    name, port = sys.argv[1], int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else ""
    if mode == "udp":
        sock = dual_stack(socket.SOCK_DGRAM)
        sock.bind(("::", port))
        print("ready", flush=True)
        while True:
            _data, peer = sock.recvfrom(2048)
            sock.sendto(("%s %s" % (name, peer_text(peer[0]))).encode(), peer)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = ("%s %s" % (name, peer_text(self.client_address[0]))).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    bind = mode[3:] if mode.startswith("at=") else {"local": "127.0.0.1", "local6": "::1"}.get(mode, "::")

    class Server(http.server.ThreadingHTTPServer):
        allow_reuse_address = True
        address_family = socket.AF_INET6 if ":" in bind else socket.AF_INET

        def server_bind(self):
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart binds again at once
            if self.address_family == socket.AF_INET6:
                dual = bind == "::" and mode != "v6only"  # :: takes IPv4 too, unless v6only
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if dual else 1)
            socket.socket.bind(self.socket, self.server_address)  # no reverse lookup of the bind address
            self.server_address = self.socket.getsockname()

    server = Server((bind, port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
