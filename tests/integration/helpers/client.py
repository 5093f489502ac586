"""Test client: ``client.py tcp HOST PORT`` or ``client.py udp HOST PORT [SRC_PORT]``.

HOST may be IPv4 or IPv6.  Prints the server's answer; exits 1 on timeout or refusal.  Only
ever used against addresses inside the test's own namespaces.
"""

import socket
import sys
import urllib.request


def main():
    kind, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    v6 = ":" in host
    try:
        if kind == "tcp":
            url = "http://%s:%d/" % ("[%s]" % host if v6 else host, port)
            with urllib.request.urlopen(url, timeout=3) as resp:
                print(resp.read().decode())
        else:
            sock = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_DGRAM)
            if len(sys.argv) > 4:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("::" if v6 else "0.0.0.0", int(sys.argv[4])))
            sock.settimeout(2)
            sock.sendto(b"ping", (host, port))
            print(sock.recvfrom(2048)[0].decode())
    except OSError as exc:
        print("error: %s" % exc, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
