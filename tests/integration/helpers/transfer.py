"""Bulk transfer for the impairment tests: how long does it take to send N bytes?

    transfer.py sink PORT          listens (IPv4 and IPv6), prints "ready", reads each connection to EOF
    transfer.py send HOST PORT N   sends N bytes, waits for the sink's count back, prints the seconds
    transfer.py count PORT         counts UDP datagrams (IPv4 and IPv6) until 3 s pass without one
    transfer.py blast HOST PORT N  sends N UDP datagrams, 1 ms apart

The sink answers each connection with the number of bytes it read once the sender shuts its side,
so the time covers the bytes arriving, not only leaving the sender's buffer.  Only ever used against
addresses inside the test's own namespaces.
"""

import socket
import sys
import time


def sink(port):
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.bind(("::", port))
    srv.listen(4)
    print("ready", flush=True)
    while True:
        conn, _peer = srv.accept()
        with conn:
            total = 0
            while True:
                data = conn.recv(1 << 16)
                if not data:
                    break
                total += len(data)
            conn.sendall(str(total).encode())


def send(host, port, size):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_connection((host, port), timeout=60) if family == socket.AF_INET else \
        socket.socket(family, socket.SOCK_STREAM)
    if family == socket.AF_INET6:
        sock.settimeout(60)
        sock.connect((host, port))
    chunk = b"x" * (1 << 16)
    start = time.monotonic()
    left = size
    while left > 0:
        sent = sock.send(chunk[:min(left, len(chunk))])
        left -= sent
    sock.shutdown(socket.SHUT_WR)
    answer = sock.recv(64).decode()
    elapsed = time.monotonic() - start
    sock.close()
    if int(answer) != size:
        print("sink read %s of %d bytes" % (answer, size), file=sys.stderr)
        sys.exit(1)
    print("%.3f" % elapsed)


SO_RCVBUFFORCE = 33  # socket.h; Python names it only on some builds


def count(port):
    sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    # on a loaded machine this process may not run for a while: a buffer room for every datagram
    # (SO_RCVBUFFORCE, root: past rmem_max) and a long quiet period keep what arrived counted
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 8 << 20)
    sock.bind(("::", port))
    print("ready", flush=True)
    sock.recv(64)
    got = 1
    sock.settimeout(3)
    try:
        while True:
            sock.recv(64)
            got += 1
    except socket.timeout:
        pass
    print(got, flush=True)


def blast(host, port, n):
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    for _i in range(n):
        sock.sendto(b"x", (host, port))
        time.sleep(0.001)


if __name__ == "__main__":
    if sys.argv[1] == "sink":
        sink(int(sys.argv[2]))
    elif sys.argv[1] == "count":
        count(int(sys.argv[2]))
    elif sys.argv[1] == "blast":
        blast(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        send(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
