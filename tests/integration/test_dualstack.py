"""The firewall modules in both IP families on the real kernel, both backends, proven by traffic.

Topology (all inside the test's own namespaces), the seed network made dual-stack:

    outside 203.0.113.2        --- uplink 203.0.113.1        [sandbox host] br0 10.10.0.1/24   --- c1 .2  ::2
            2001:db8:ff::2/64             2001:db8:ff::1/64                    fd00:10::1/64    \\-- c2 .3  ::3
                                                                               br1 fd00:11::1/64 --- c3 fd00:11::2

The host's FORWARD policy is DROP in both families and Docker's IPv4 and IPv6 rule sets are loaded first.
"""

import os
import subprocess
import sys
import time

import pytest

from conftest import HELPERS, converge_four_times, warning_text

DATA = os.path.join(os.path.dirname(__file__), "data")
BACKENDS = ["iptables", "nftables"]
V4, V6 = "10.10.0.0/24", "fd00:10::/64"


def save(box, backend, family):
    """The host's xtables rules of ``family`` as *-save shows them (without counters)."""
    tool = {("iptables", 4): "iptables-legacy-save", ("iptables", 6): "ip6tables-legacy-save",
            ("nftables", 4): "iptables-nft-save", ("nftables", 6): "ip6tables-nft-save"}[(backend, family)]
    lines = box.sh(None, tool).stdout.splitlines()
    return [l for l in lines if not l.startswith("#") and not l.startswith(":")] + \
           [l.split(" [")[0] for l in lines if l.startswith(":")]


def both(box):
    """Both families' xtables rules and, for nftables, the whole ruleset (stateless: no counters)."""
    ruleset = box.sh(None, "nft", "-s", "list", "ruleset").stdout if box.backend == "nftables" else ""
    return save(box, box.backend, 4), save(box, box.backend, 6), ruleset


def foreign(lines):
    return [l for l in lines if "nsbridge" not in l and "NSBRIDGE" not in l]


def sysctl(box, key):
    return box.sh(None, "sysctl", "-n", key).stdout.strip()


@pytest.fixture(params=BACKENDS)
def dual(request, sandbox):
    backend = request.param
    kind = "legacy" if backend == "iptables" else "nft"
    for family in ("", "6"):
        with open(os.path.join(DATA, "docker_rules.v%s" % (family or "4"))) as rules:
            subprocess.run(["ip", "netns", "exec", sandbox.host, "ip%stables-%s-restore" % (family, kind)],
                           stdin=rules, check=True)
    c1, c2, c3, outside = (sandbox.name(s) for s in ("c1", "c2", "c3", "out"))
    sandbox.run("netns", name=[c1, c2, c3, outside])
    sandbox.run("bridge", bridges=[{"name": "br0", "addresses": ["10.10.0.1/24", "fd00:10::1/64"]},
                                   {"name": "br1", "addresses": ["fd00:11::1/64"]}])
    result = sandbox.run("veth", pairs=[
        {"name": "vc1", "peer": "eth0", "peer_netns": c1, "bridge": "br0", "hairpin": True,
         "peer_addresses": ["10.10.0.2/24", "fd00:10::2/64"], "peer_gateway": ["10.10.0.1", "fd00:10::1"]},
        {"name": "vc2", "peer": "eth0", "peer_netns": c2, "bridge": "br0", "hairpin": True,
         "peer_addresses": ["10.10.0.3/24", "fd00:10::3/64"], "peer_gateway": ["fd00:10::1", "10.10.0.1"]},
        {"name": "vc3", "peer": "eth0", "peer_netns": c3, "bridge": "br1",
         "peer_addresses": ["fd00:11::2/64"], "peer_gateway": "fd00:11::1"},
        {"name": "uplink", "peer": "eth0", "peer_netns": outside,
         "addresses": ["203.0.113.1/24", "2001:db8:ff::1/64"], "peer_addresses": ["203.0.113.2/24", "2001:db8:ff::2/64"]},
    ])
    assert not result.get("failed"), result
    assert result["pairs"][1]["peer_gateway"] == ["10.10.0.1", "fd00:10::1"]
    sandbox.serve(c1, "c1", 80)
    sandbox.serve(outside, "outside", 8000)
    sandbox.backend = backend
    sandbox.c1, sandbox.c2, sandbox.c3, sandbox.outside = c1, c2, c3, outside
    return sandbox


def test_ipv6_on_the_bridge_and_nat66_egress(dual):
    box = dual
    before = both(box)
    # addresses are usable at once (no DAD wait): the gateway answers from the first packet
    assert "tentative" not in box.sh(box.c1, "ip", "-6", "addr", "show", "dev", "eth0", "scope", "global").stdout
    assert box.ping(box.c1, "fd00:10::1")
    assert box.fetch(box.c1, "2001:db8:ff::2", 8000) is None, "no path out before nsbridge"
    check, real, _check_again, _real_again = converge_four_times(box, "nat_masquerade", networks=[
        {"source": V4, "bridge": "br0"}, {"source": V6, "bridge": "br0"}], backend=box.backend)
    # container to container crosses FORWARD (br_netfilter), whose policy is DROP: now accepted
    assert box.ping(box.c1, "fd00:10::3")
    assert any(line.startswith("ip6 -A postrouting -s fd00:10::/64 ! -o br0 -j MASQUERADE")
               for line in real["diff"]["after"][V6]["rules"])
    assert box.fetch(box.c1, "2001:db8:ff::2", 8000) == "outside 2001:db8:ff::1", "IPv6 egress arrives as the host"
    assert box.fetch(box.c1, "203.0.113.2", 8000) == "outside 203.0.113.1", "IPv4 egress too"
    assert sysctl(box, "net.ipv6.conf.all.forwarding") == "1" and sysctl(box, "net.ipv4.ip_forward") == "1"
    assert [foreign(x) for x in both(box)[:2]] == \
        [foreign(x) for x in before[:2]], "foreign rules moved or changed"

    gone = box.run("nat_masquerade", networks=[{"source": V6}], state="absent", backend=box.backend)
    assert gone["changed"]
    # Docker's IPv6 rules are on this host: they rely on forwarding, which therefore stays on
    assert sysctl(box, "net.ipv6.conf.all.forwarding") == "1", "forwarding taken from under Docker"
    assert "net.ipv6.conf.all.forwarding left on" in warning_text(gone) and "Docker" in warning_text(gone)
    assert sysctl(box, "net.ipv4.ip_forward") == "1", "IPv4 still masqueraded"
    assert box.fetch(box.c1, "2001:db8:ff::2", 8000) is None
    box.run("nat_masquerade", source=V4, state="absent", backend=box.backend)
    assert both(box) == before, "absent left something behind"
    assert box.run("nat_masquerade", source=V6, state="absent", backend=box.backend)["changed"] is False


def test_routed_ipv6_keeps_the_container_address(dual):
    box = dual
    before = both(box)
    box.sh(box.outside, "ip", "-6", "route", "add", "fd00:10::/64", "via", "2001:db8:ff::1")
    converge_four_times(box, "nat_masquerade", source=V6, bridge="br0", routed=True, backend=box.backend)
    assert box.fetch(box.c1, "2001:db8:ff::2", 8000) == "outside fd00:10::2", "routed: the outside sees the container"
    assert box.fetch(box.outside, "fd00:10::2", 80) is None, "no new connections into the bridge (FORWARD DROP)"
    box.run("nat_masquerade", source=V6, state="absent", backend=box.backend)
    assert both(box) == before


def test_published_port_over_ipv6_from_outside_host_and_hairpin(dual):
    box = dual
    before = both(box)
    box.run("nat_masquerade", networks=[{"source": V4, "bridge": "br0"}, {"source": V6, "bridge": "br0"}],
            backend=box.backend)
    ports = [
        {"host_port": 8080, "destination": "10.10.0.2", "destination_port": 80, "bridge": "br0"},
        {"host_port": 8080, "destination": "fd00:10::2", "destination_port": 80, "bridge": "br0"},
        {"host_port": 8083, "destination": "fd00:10::2", "destination_port": 80, "host_ip": "fd00:10::1"},
    ]
    _check, real, _check_again, _real_again = converge_four_times(box, "port_publish", ports=ports, backend=box.backend)
    assert set(real["diff"]["after"]) == {"tcp:*:8080", "tcp:[::]:8080", "tcp:[fd00:10::1]:8083"}
    assert box.fetch(box.outside, "2001:db8:ff::1", 8080) == "c1 2001:db8:ff::2", "IPv6 from another machine"
    assert box.fetch(box.outside, "203.0.113.1", 8080) == "c1 203.0.113.2", "and IPv4, on the same port"
    assert box.fetch(None, "2001:db8:ff::1", 8080).startswith("c1 "), "from the host itself"
    assert box.fetch(box.c2, "2001:db8:ff::1", 8080) == "c1 fd00:10::1", "hairpin, masqueraded"
    assert box.fetch(box.c1, "2001:db8:ff::1", 8080) == "c1 fd00:10::1", "a container reaching itself"
    # host_ip: only that address
    box.sh(box.outside, "ip", "-6", "route", "add", "fd00:10::/64", "via", "2001:db8:ff::1")
    assert box.fetch(box.outside, "fd00:10::1", 8083) == "c1 2001:db8:ff::2"
    assert box.fetch(box.outside, "2001:db8:ff::1", 8083) is None
    assert [foreign(x) for x in both(box)[:2]] == [foreign(x) for x in before[:2]]

    # absent without host_ip or destination: the port in every family and on every address
    gone = box.run("port_publish", ports=[{"host_port": p, "state": "absent"} for p in (8080, 8083)],
                   backend=box.backend)
    assert gone["changed"]
    assert box.fetch(box.outside, "2001:db8:ff::1", 8080) is None
    assert box.fetch(box.outside, "203.0.113.1", 8080) is None
    box.run("nat_masquerade", networks=[{"source": V4}, {"source": V6}], state="absent", backend=box.backend)
    assert both(box) == before, "teardown left something behind"
    assert sysctl(box, "net.ipv6.conf.all.forwarding") == "1", "Docker relies on it"


def test_isolation_in_ipv6(dual):
    box = dual
    before = both(box)
    box.run("nat_masquerade", networks=[{"source": V6, "bridge": "br0"}, {"source": "fd00:11::/64", "bridge": "br1"}],
            backend=box.backend)
    box.serve(box.c3, "c3", 80)
    assert box.fetch(box.c1, "fd00:11::2", 80) == "c3 fd00:11::1", "the networks reach each other (masqueraded) before isolation"
    converge_four_times(box, "network_isolation", networks=[{"bridge": "br0"}, {"bridge": "br1"}],
                        backend=box.backend)
    assert box.fetch(box.c1, "fd00:11::2", 80) is None, "isolated in IPv6"
    assert box.fetch(box.c1, "2001:db8:ff::2", 8000) == "outside 2001:db8:ff::1", "egress still works"
    box.run("network_isolation", networks=[{"bridge": "br0"}, {"bridge": "br1"}], state="absent", backend=box.backend)
    box.run("nat_masquerade", networks=[{"source": V6}, {"source": "fd00:11::/64"}], state="absent",
            backend=box.backend)
    assert both(box) == before


def test_a_neighbour_cannot_reach_the_hosts_ipv6_loopback(dual):
    """route_localnet has no IPv6 twin, and Linux drops a packet to ::1 that arrives on any interface
    but lo before any firewall hook: the guard the IPv4 localhost publishing needs is the kernel's here."""
    box = dual
    box.run("nat_masquerade", source=V6, bridge="br0", backend=box.backend)
    box.start(None, sys.executable, os.path.join(HELPERS, "echo_server.py"), "private", "9999", "local6")
    assert box.fetch(None, "::1", 9999) == "private ::1"
    box.sh(box.c2, "ip", "-6", "route", "del", "local", "::1", "table", "local", check=False)
    box.sh(box.c2, "ip", "-6", "route", "add", "::1/128", "via", "fd00:10::1", "dev", "eth0")
    assert box.fetch(box.c2, "::1", 9999) is None
    seen = box.sh(None, "ss", "-Htn", "state", "syn-recv", "sport", "=", ":9999").stdout
    assert seen.strip() == "", "a neighbour's packet to ::1 reached the host's loopback-only service"
    refused = box.run("port_publish", host_port=8090, destination="fd00:10::2", bridge="br0", localhost=True,
                      backend=box.backend)
    assert refused.get("failed") and "localhost: fd00:10::2 is IPv6" in refused["msg"], refused
    box.run("nat_masquerade", source=V6, state="absent", backend=box.backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_ipv6_input_fails_clearly_and_writes_nothing(sandbox, backend):
    before = (save(sandbox, backend, 4), save(sandbox, backend, 6))
    cases = [
        ("nat_masquerade", dict(source="fd00::1/64"), "source", "not an IPv4 or IPv6 network"),
        ("nat_masquerade", dict(source="fd00::/64", exclude=["10.0.0.0/8"]), "exclude[0]",
         "10.0.0.0/8 is IPv4 but source fd00::/64 is IPv6"),
        ("nat_masquerade", dict(source="10.0.0.0/24", accept_from=["fd00::/48"]), "accept_from[0]",
         "one rule cannot mix families"),
        ("port_publish", dict(host_port=80, destination="fd00::2", host_ip="192.0.2.1"), "host_ip",
         "192.0.2.1 is IPv4 but destination fd00::2 is IPv6"),
        ("port_publish", dict(host_port=80, destination="fd00::2", host_ip="fd00::zz"), "host_ip",
         "not an IPv4 or IPv6 address"),
        ("port_publish", dict(host_port=80, destination="fd00::2", bridge="br0", localhost=True), "localhost",
         "IPv4 only"),
        ("port_publish", dict(ports=[{"host_port": 80, "destination": "fd00::2"},
                                     {"host_port": "70-90", "destination": "fd00::3"}]),
         "ports[1].host_port", "overlaps item 0"),
    ]
    for module, args, field, text in cases:
        result = sandbox.run(module, backend=backend, **args)
        assert result.get("failed"), (module, args)
        assert "nsbridge.network.%s: %s: " % (module, field) in result["msg"] and text in result["msg"], result["msg"]
    c = sandbox.name("c")
    sandbox.run("netns", name=[c])
    for args, field, text in [
        (dict(peer_addresses=["fd00::2/64"], peer_gateway="fd01::1"), "peer_gateway[0]",
         "fd01::1 is outside every IPv6 peer_addresses network (fd00::/64)"),
        (dict(peer_addresses=["10.0.0.2/24"], peer_gateway=["fd00::1"]), "peer_gateway[0]",
         "outside every IPv6 peer_addresses network (none given)"),
        (dict(peer_addresses=["fd00::2/64"], peer_gateway=["fd00::1", "fd00::3"]), "peer_gateway[1]",
         "a second IPv6 gateway"),
        (dict(peer_addresses=["fd00::/64"]), "peer_addresses[0]", "the network address itself"),
    ]:
        result = sandbox.run("veth", name="v6bad", peer="eth0", peer_netns=c, **args)
        assert result.get("failed") and "veth: %s: " % field in result["msg"] and text in result["msg"], result["msg"]
    assert (save(sandbox, backend, 4), save(sandbox, backend, 6)) == before, "bad input wrote something"
    assert "v6bad" not in sandbox.links()


def _wait(predicate, seconds=6.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_hosts_own_slaac_survives_ipv6_forwarding(sandbox, backend):
    """Forwarding on makes Linux ignore router advertisements on accept_ra=1 interfaces: the host's
    SLAAC default route would silently expire.  nsbridge raises such interfaces to accept_ra=2."""
    router = sandbox.name("rtr")
    sandbox.run("netns", name=[router])
    # the host's LAN uplink, not made by nsbridge (plain ip commands), and the LAN's router
    sandbox.sh(None, "ip", "link", "add", "lan0", "type", "veth", "peer", "name", "eth0", "netns", router)
    sandbox.sh(router, "ip", "link", "set", "eth0", "up")
    sandbox.sh(None, "ip", "link", "set", "lan0", "up")
    assert sysctl(sandbox, "net.ipv6.conf.lan0.accept_ra") == "1"
    assert _wait(lambda: "tentative" not in sandbox.sh(router, "ip", "-6", "addr", "show", "dev", "eth0").stdout)
    ra = [sys.executable, os.path.join(HELPERS, "send_ra.py"), "eth0"]

    def addresses():
        return sandbox.sh(None, "ip", "-6", "addr", "show", "dev", "lan0", "scope", "global").stdout

    sandbox.sh(router, *(ra + ["2001:db8:77::/64"]))
    assert _wait(lambda: "2001:db8:77:" in addresses()), "SLAAC before nsbridge"
    assert "default via fe80::" in sandbox.sh(None, "ip", "-6", "route").stdout

    result = sandbox.run("nat_masquerade", source=V6, bridge="br0", backend=backend)
    assert not result.get("failed"), result
    assert sysctl(sandbox, "net.ipv6.conf.all.forwarding") == "1"
    assert sysctl(sandbox, "net.ipv6.conf.lan0.accept_ra") == "2"
    assert sysctl(sandbox, "net.ipv6.conf.lo.accept_ra") == "1", "lo is left alone"
    # a new advertisement (a renumbering) is still taken: the host keeps its IPv6 connectivity
    sandbox.sh(router, *(ra + ["2001:db8:78::/64"]))
    assert _wait(lambda: "2001:db8:78:" in addresses()), "the host ignored a router advertisement"
    assert "default via fe80::" in sandbox.sh(None, "ip", "-6", "route").stdout
    assert sandbox.run("nat_masquerade", source=V6, bridge="br0", backend=backend)["changed"] is False

    sandbox.run("nat_masquerade", source=V6, state="absent", backend=backend)
    assert sysctl(sandbox, "net.ipv6.conf.all.forwarding") == "0"
    assert sysctl(sandbox, "net.ipv6.conf.lan0.accept_ra") == "1", "accept_ra put back"
