#!/usr/bin/env python3
"""A test workload: answers TCP (HTTP) and UDP with its name and the peer's address.

    echo_server.py NAME PORT [udp|local]

HTTP: every GET returns ``NAME PEER_IP``.  UDP: every datagram is answered with
``NAME PEER_IP``.  Runs until killed; the tests start it inside a namespace.
"""

import http.server
import socket
import sys


def main():
    name, port = sys.argv[1], int(sys.argv[2])
    if len(sys.argv) > 3 and sys.argv[3] == "udp":
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", port))
        print("ready", flush=True)
        while True:
            _data, peer = sock.recvfrom(2048)
            sock.sendto(("%s %s" % (name, peer[0])).encode(), peer)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = ("%s %s" % (name, self.client_address[0])).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    http.server.ThreadingHTTPServer.allow_reuse_address = True
    bind = "127.0.0.1" if sys.argv[3:] == ["local"] else "0.0.0.0"
    server = http.server.ThreadingHTTPServer((bind, port), Handler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
