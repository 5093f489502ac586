"""A published port never silently takes the connections of a program of the host: port_publish
refuses a host port a program listens on (as Docker refuses one: "address already in use"),
naming the program, and changes nothing; a port published already only warns. Which listeners
count is what DNAT would take from them, proven by traffic:

    outside (203.0.113.2) --- uplink 203.0.113.1 [sandbox host] br0 10.10.0.1/24 --- c1 10.10.0.2

Everything runs in the test's own namespaces; traffic goes only to their addresses.
"""

import os
import sys

import pytest

from conftest import HELPERS, warning_text

from test_firewall import BACKENDS, save

ECHO = os.path.join(HELPERS, "echo_server.py")


@pytest.fixture
def host(sandbox):
    c1, outside = sandbox.name("c1"), sandbox.name("out")
    sandbox.run("netns", name=[c1, outside])
    sandbox.run("bridge", name="br0", addresses=["10.10.0.1/24"])
    sandbox.run("veth", pairs=[
        {"name": "vc1", "peer": "eth0", "peer_netns": c1, "bridge": "br0",
         "peer_addresses": ["10.10.0.2/24"], "peer_gateway": "10.10.0.1"},
        {"name": "uplink", "peer": "eth0", "peer_netns": outside,
         "addresses": ["203.0.113.1/24"], "peer_addresses": ["203.0.113.2/24"]},
    ])
    sandbox.c1, sandbox.outside = c1, outside
    return sandbox


def program(box, name, port, mode=""):
    """A program of the sandbox host listening on ``port`` (echo_server's modes)."""
    return box.start(None, sys.executable, ECHO, name, str(port), *([mode] if mode else []))


def publish(box, port, backend="nftables", **args):
    return box.run("port_publish", host_port=port, destination="10.10.0.2", bridge="br0", backend=backend, **args)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_port_a_program_listens_on_is_refused_and_nothing_changes(host, backend):
    box = host
    box.serve(box.c1, "c1", 8080)
    before = save(box, backend)
    prog = program(box, "hostprog", 8080)  # every address, IPv4 and IPv6
    for check in (True, False):
        refused = box.run("port_publish", check=check, host_port=8080, destination="10.10.0.2", bridge="br0",
                          backend=backend)
        assert refused.get("failed"), refused
        msg = refused["msg"]
        assert msg.startswith("nsbridge.network.port_publish: host_port: tcp:*:8080: "), msg
        assert "(pid %d) listens on tcp [::]:8080 on the host" % prog.pid in msg, msg
        assert "address already in use" in msg and "10.10.0.2" in msg, msg
    assert save(box, backend) == before, "a refused port wrote something"
    assert box.fetch(box.outside, "203.0.113.1", 8080) == "hostprog 203.0.113.2", "the program keeps its connections"

    # the program gone, the port is published; a program that binds it afterwards is warned about
    prog.kill()
    prog.wait()
    assert publish(box, 8080, backend)["changed"]
    assert box.fetch(box.outside, "203.0.113.1", 8080) == "c1 203.0.113.2"
    late = program(box, "late", 8080)
    again = publish(box, 8080, backend)
    assert again["changed"] is False and not again.get("failed"), again
    assert "(pid %d) listens on tcp [::]:8080 on the host too" % late.pid in warning_text(again), again
    assert box.fetch(box.outside, "203.0.113.1", 8080) == "c1 203.0.113.2", "published ports take precedence"


def test_only_listeners_whose_connections_it_would_take_count(host):
    box = host
    box.serve(box.c1, "c1", 80)
    # 127.0.0.1 only: the port is published on the host's other addresses (localhost is off)
    program(box, "loopback", 8081, "local")
    assert publish(box, 8081, destination_port=80)["changed"]
    assert box.fetch(box.outside, "203.0.113.1", 8081) == "c1 203.0.113.2"
    assert box.fetch(None, "127.0.0.1", 8081) == "loopback 127.0.0.1", "the loopback program keeps its own"
    # with localhost the port is published on 127.0.0.1 too: a loopback program is in the way
    program(box, "loopback2", 8082, "local")
    assert "listens on tcp 127.0.0.1:8082" in publish(box, 8082, destination_port=80, localhost=True)["msg"]

    # an IPv6-only socket gets no IPv4 connections: an IPv4 port is free for publishing
    program(box, "v6only", 8083, "v6only")
    assert publish(box, 8083, destination_port=80)["changed"]
    assert box.fetch(box.outside, "203.0.113.1", 8083) == "c1 203.0.113.2"

    # one address: publishing on another address of the host is fine, on every address is not
    program(box, "one", 8084, "at=203.0.113.1")
    assert "listens on tcp 203.0.113.1:8084" in publish(box, 8084, destination_port=80)["msg"]
    assert "listens on tcp 203.0.113.1:8084" in publish(box, 8084, destination_port=80, host_ip="203.0.113.1")["msg"]
    assert publish(box, 8084, destination_port=80, host_ip="10.10.0.1")["changed"]
    assert box.fetch(box.outside, "203.0.113.1", 8084) == "one 203.0.113.2", "its address stays its own"

    # UDP and TCP are different ports
    box.start(None, sys.executable, ECHO, "dns", "5353", "udp")
    assert publish(box, 5353, destination_port=80)["changed"], "a TCP port beside a UDP program"
    udp = publish(box, 5353, protocol="udp")
    assert udp["failed"] and "listens on udp [::]:5353" in udp["msg"], udp
