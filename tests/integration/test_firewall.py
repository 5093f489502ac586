"""nat_masquerade and port_publish on the real kernel, both backends, proven by traffic.

Topology (all inside the test's own namespaces):

    outside (203.0.113.2) --- uplink 203.0.113.1 [sandbox host] br0 10.10.0.1/24 --- c1 10.10.0.2
                                                                                  \\-- c2 10.10.0.3

The host's FORWARD policy is DROP and Docker's rule set is loaded first.
"""

import json
import shlex
import os
import subprocess
import sys

import pytest

from conftest import HELPERS, converge_four_times, warning_text

from ansible_collections.nsbridge.network.plugins.module_utils.firewall.rules import parse_comment

DATA = os.path.join(os.path.dirname(__file__), "data")
BACKENDS = ["iptables", "nftables"]


def save(sandbox, backend):
    """The host's xtables rules as iptables-save shows them (without counters)."""
    tool = "iptables-legacy-save" if backend == "iptables" else "iptables-nft-save"
    lines = sandbox.sh(None, tool).stdout.splitlines()
    return [l for l in lines if not l.startswith("#") and not l.startswith(":")] + \
           [l.split(" [")[0] for l in lines if l.startswith(":")]


def our_comments(sandbox, backend):
    """Every item rule's comment nsbridge left in the kernel (jumps and dispatch excluded), duplicates kept."""
    if backend == "iptables":
        lines = sandbox.sh(None, "iptables-legacy-save").stdout.splitlines()
        found = [l.split('--comment "')[1].split('"')[0] for l in lines if '--comment "nsbridge ' in l]
    else:
        ruleset = json.loads(sandbox.sh(None, "nft", "-j", "list", "ruleset").stdout)["nftables"]
        found = [e["rule"].get("comment", "") for e in ruleset if "rule" in e]
        found = [c for c in found if c.startswith("nsbridge ")]
    return [c for c in found if parse_comment(c) is not None]


def ruleset_text(sandbox, backend):
    if backend == "iptables":
        return sandbox.sh(None, "iptables-legacy-save").stdout
    return sandbox.sh(None, "nft", "list", "ruleset").stdout


def foreign(lines):
    return [l for l in lines if "nsbridge" not in l and "NSBRIDGE" not in l]


@pytest.fixture(params=BACKENDS)
def docker_host(request, sandbox):
    backend = request.param
    restore = "iptables-legacy-restore" if backend == "iptables" else "iptables-nft-restore"
    with open(os.path.join(DATA, "docker_rules.v4")) as rules:
        subprocess.run(["ip", "netns", "exec", sandbox.host, restore], stdin=rules, check=True)
    c1, c2, outside = sandbox.name("c1"), sandbox.name("c2"), sandbox.name("out")
    sandbox.run("netns", name=[c1, c2, outside])
    sandbox.run("bridge", name="br0", addresses=["10.10.0.1/24"])
    sandbox.run("veth", pairs=[
        {"name": "vc1", "peer": "eth0", "peer_netns": c1, "bridge": "br0", "hairpin": True,
         "peer_addresses": ["10.10.0.2/24"], "peer_gateway": "10.10.0.1"},
        {"name": "vc2", "peer": "eth0", "peer_netns": c2, "bridge": "br0", "hairpin": True,
         "peer_addresses": ["10.10.0.3/24"], "peer_gateway": "10.10.0.1"},
        {"name": "uplink", "peer": "eth0", "peer_netns": outside,
         "addresses": ["203.0.113.1/24"], "peer_addresses": ["203.0.113.2/24"]},
    ])
    sandbox.serve(c1, "c1", 80)
    sandbox.serve(outside, "outside", 8000)
    sandbox.backend = backend
    sandbox.c1, sandbox.c2, sandbox.outside = c1, c2, outside
    return sandbox


def test_egress_is_masqueraded_under_forward_drop(docker_host):
    box = docker_host
    before = save(box, box.backend)
    assert box.fetch(box.c1, "203.0.113.2", 8000) is None, "no path out before nsbridge"
    converge_four_times(box, "nat_masquerade", source="10.10.0.0/24", bridge="br0", backend=box.backend)
    assert box.fetch(box.c1, "203.0.113.2", 8000) == "outside 203.0.113.1", "egress arrives as the host"
    assert box.fetch(box.c1, "10.10.0.3", 80) is None  # nothing listens on c2:80
    box.serve(box.c2, "c2", 80)
    assert box.fetch(box.c1, "10.10.0.3", 80) == "c2 10.10.0.2", "container to container keeps its source"
    assert box.sh(None, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1"
    after = save(box, box.backend)
    assert foreign(after) == foreign(before), "foreign rules moved or changed"

    gone = box.run("nat_masquerade", source="10.10.0.0/24", state="absent", backend=box.backend)
    assert gone["changed"]
    assert save(box, box.backend) == before, "absent left something behind"
    # Docker's rules are loaded here: Docker relies on ip_forward, so it stays on and the run says why
    assert box.sh(None, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "1", "forwarding taken from Docker"
    assert "Docker (iptables" in warning_text(gone) or "Docker (nftables" in warning_text(gone), warning_text(gone)
    assert box.run("nat_masquerade", source="10.10.0.0/24", state="absent", backend=box.backend)["changed"] is False
    assert box.fetch(box.c1, "203.0.113.2", 8000) is None


def test_published_port_from_outside_host_and_hairpin(docker_host):
    box = docker_host
    before = save(box, box.backend)
    box.run("nat_masquerade", source="10.10.0.0/24", bridge="br0", backend=box.backend)
    check, real, _check_again, _real_again = converge_four_times(
        box, "port_publish", ports=[
            {"host_port": 8080, "destination": "10.10.0.2", "destination_port": 80, "bridge": "br0"},
            {"host_port": 8082, "destination": "10.10.0.2", "destination_port": 80, "bridge": "br0", "localhost": True},
            {"host_port": 8083, "destination": "10.10.0.2", "destination_port": 80, "host_ip": "10.10.0.1"},
        ], backend=box.backend)
    assert real["backend"] == box.backend
    assert "-A prerouting -p tcp --dport 8080 -j DNAT --to-destination 10.10.0.2:80" in real["diff"]["after"]["tcp:*:8080"]["rules"]
    assert box.fetch(box.outside, "203.0.113.1", 8080) == "c1 203.0.113.2", "from another machine"
    assert box.fetch(None, "203.0.113.1", 8080).startswith("c1 "), "from the host itself"
    assert box.fetch(None, "10.10.0.1", 8080).startswith("c1 ")
    assert box.fetch(box.c2, "203.0.113.1", 8080) == "c1 10.10.0.1", "hairpin from a container, masqueraded"
    assert box.fetch(box.c1, "203.0.113.1", 8080) == "c1 10.10.0.1", "a container reaching itself"
    assert box.fetch(None, "127.0.0.1", 8082).startswith("c1 "), "localhost publishing"
    assert box.fetch(None, "127.0.0.1", 8080) is None, "8080 is not published on localhost"
    # host_ip: only that address
    box.sh(box.outside, "ip", "route", "add", "10.10.0.0/24", "via", "203.0.113.1")
    assert box.fetch(box.outside, "10.10.0.1", 8083) == "c1 203.0.113.2"
    assert box.fetch(box.outside, "203.0.113.1", 8083) is None
    assert foreign(save(box, box.backend)) == foreign(before)

    # route_localnet is on for br0 now: a container must still not reach the host's
    # localhost-only services by sending to 127.0.0.1 (the CVE-2020-8558 class)
    box.start(None, sys.executable, os.path.join(HELPERS, "echo_server.py"), "private", "9999", "local")
    assert box.fetch(None, "127.0.0.1", 9999) == "private 127.0.0.1"
    box.sh(box.c2, "ip", "route", "del", "local", "127.0.0.1", "dev", "lo", "table", "local")
    box.sh(box.c2, "ip", "route", "del", "local", "127.0.0.0/8", "dev", "lo", "table", "local")
    box.sh(box.c2, "sysctl", "-qw", "net.ipv4.conf.eth0.route_localnet=1")
    box.sh(box.c2, "ip", "route", "add", "127.0.0.1/32", "via", "10.10.0.1", "dev", "eth0")
    assert box.fetch(box.c2, "127.0.0.1", 9999) is None
    seen = box.sh(None, "ss", "-Htn", "state", "syn-recv", "sport", "=", ":9999").stdout
    assert seen.strip() == "", "a neighbour's packet to 127.0.0.1 reached the host's localhost-only service"

    gone = box.run("port_publish", ports=[{"host_port": p, "state": "absent"} for p in (8080, 8082, 8083)],
                   backend=box.backend)
    assert gone["changed"]
    assert box.fetch(box.outside, "203.0.113.1", 8080) is None
    assert box.sh(None, "sysctl", "-n", "net.ipv4.conf.br0.route_localnet").stdout.strip() == "0", gone["results"]
    box.run("nat_masquerade", source="10.10.0.0/24", state="absent", backend=box.backend)
    assert save(box, box.backend) == before


def test_udp_works_again_after_the_container_is_recreated(docker_host):
    box = docker_host
    box.serve(box.c1, "c1-udp", 5353, udp=True)
    publish = dict(host_port=5353, protocol="udp", destination="10.10.0.2", bridge="br0", backend=box.backend)
    box.run("port_publish", **publish)
    assert box.fetch(box.outside, "203.0.113.1", 5353, udp=True, src_port=40000) == "c1-udp 203.0.113.2"
    # the container goes away; the client keeps sending (its conntrack entry still points at c1)
    box.run("veth", name="vc1", state="absent")
    assert box.fetch(box.outside, "203.0.113.1", 5353, udp=True, src_port=40000) is None
    # re-created with a new address, port re-published
    c3 = box.name("c3")
    box.run("netns", name=[c3])
    box.run("veth", name="vc3", peer="eth0", peer_netns=c3, bridge="br0",
            peer_addresses=["10.10.0.4/24"], peer_gateway="10.10.0.1")
    box.serve(c3, "c3-udp", 5353, udp=True)
    result = box.run("port_publish", **dict(publish, destination="10.10.0.4"))
    assert any("flush conntrack" in a for a in result["results"][0]["actions"])
    assert box.fetch(box.outside, "203.0.113.1", 5353, udp=True, src_port=40000) == "c3-udp 203.0.113.2"


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_input_fails_clearly_and_writes_nothing(sandbox, backend):
    before = save(sandbox, backend)
    cases = [
        ("port_publish", dict(host_port=0, destination="10.0.0.2"), "host_port", "outside 1..65535"),
        ("port_publish", dict(host_port=65536, destination="10.0.0.2"), "host_port", "outside 1..65535"),
        ("port_publish", dict(host_port="9000-8000", destination="10.0.0.2"), "host_port", "reversed"),
        ("port_publish", dict(host_port="8000-8009", destination="10.0.0.2", destination_port="80-85"),
         "destination_port", "has 6 ports but host_port 8000-8009 has 10"),
        ("port_publish", dict(host_port="http", destination="10.0.0.2"), "host_port", "not a port"),
        ("port_publish", dict(host_port=80, destination="web1"), "destination", "not an IPv4 or IPv6 address"),
        ("port_publish", dict(host_port=80, destination="10.0.0.2", host_ip="eth0"), "host_ip", "not an IPv4"),
        ("port_publish", dict(ports=[{"host_port": 80, "destination": "10.0.0.2"},
                                     {"host_port": "70-90", "destination": "10.0.0.3"}]),
         "ports[1].host_port", "overlaps item 0"),
        ("port_publish", dict(host_port=80, destination="10.0.0.2", localhost=True), "localhost", "needs bridge"),
        ("nat_masquerade", dict(source="10.0.0.1/24"), "source", "not an IPv4 or IPv6 network"),
        ("nat_masquerade", dict(networks=[{"source": "10.0.0.0/24"}, {"source": "10.0.0.0/24"}]),
         "networks[1].source", "also given by item 0"),
        ("nat_masquerade", dict(source="10.0.0.0/24", bridge="x" * 16), "bridge", "at most 15 bytes"),
    ]
    for module, args, field, text in cases:
        result = sandbox.run(module, backend=backend, **args)
        assert result.get("failed"), (module, args)
        assert "nsbridge.network.%s: %s: " % (module, field) in result["msg"] and text in result["msg"], result["msg"]
    bad_proto = sandbox.run("port_publish", host_port=80, destination="10.0.0.2", protocol="icmp", backend=backend)
    assert bad_proto["failed"] and "protocol" in bad_proto["msg"]
    assert save(sandbox, backend) == before, "bad input wrote something"
    if backend == "nftables":
        assert "nsbridge" not in sandbox.sh(None, "nft", "list", "ruleset").stdout


@pytest.mark.parametrize("backend", BACKENDS)
def test_conflicting_publish_from_another_call_is_refused(sandbox, backend):
    sandbox.run("port_publish", host_port="8000-8010", destination="10.0.0.2", backend=backend)
    clash = sandbox.run("port_publish", host_port=8005, destination="10.0.0.3", backend=backend)
    assert clash["failed"] and "already published by another item (tcp:*:8000-8010)" in clash["msg"]
    # the same scope re-pointed is a change, not a clash
    moved = sandbox.run("port_publish", host_port="8000-8010", destination="10.0.0.9", backend=backend)
    assert moved["changed"] and not moved.get("failed")
    text = ruleset_text(sandbox, backend)
    assert "10.0.0.9" in text and "10.0.0.2" not in text


def _spawn(sandbox, module, args):
    return subprocess.Popen(["ip", "netns", "exec", sandbox.host, sys.executable,
                             os.path.join(HELPERS, "run_module.py"), module, json.dumps(args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_runs_at_once_lose_nothing_and_duplicate_nothing(sandbox, backend):
    def batch(base):
        return {"backend": backend, "ports": [{"host_port": base + i, "destination": "10.0.0.%d" % (2 + i % 200)}
                                              for i in range(60)]}
    procs = [_spawn(sandbox, "port_publish", batch(10000)), _spawn(sandbox, "port_publish", batch(20000)),
             _spawn(sandbox, "port_publish", batch(10000)),
             _spawn(sandbox, "nat_masquerade", {"backend": backend, "source": "10.0.0.0/24"})]
    outputs = [p.communicate(timeout=120) for p in procs]
    results = [json.loads(out) for out, _err in outputs]
    assert not any(r.get("failed") for r in results), results
    # the two identical runs: exactly one of them did the work
    assert [results[0]["changed"], results[2]["changed"]].count(True) == 1
    comments = our_comments(sandbox, backend)
    assert len(comments) == len(set(comments)), "duplicate rules"
    for base in (10000, 20000):
        for i in range(60):
            assert any("publish:tcp:*:%d " % (base + i) in c for c in comments), "lost port %d" % (base + i)
    assert any(c.startswith("nsbridge masq:10.0.0.0/24") for c in comments)
    again = sandbox.run("port_publish", **batch(20000))
    assert again["changed"] is False


def test_auto_backend_reports_its_choice(sandbox):
    result = sandbox.run("nat_masquerade", source="10.99.0.0/24", check=True)
    assert result["backend"] in ("iptables", "nftables") and result["changed"]
    version = subprocess.run(["iptables", "-V"], capture_output=True, text=True, check=False).stdout
    assert result["backend"] == ("iptables" if "legacy" in version else "nftables")


def test_foreign_table_untouched_and_warnings_free(sandbox):
    """A foreign nft table with its own chains stays byte-for-byte the same through apply and absent."""
    theirs = ("table inet theirs {\n chain c {\n type filter hook forward priority 10; policy accept;\n"
              " ip saddr 192.0.2.0/24 counter drop\n }\n}\n")
    subprocess.run(["ip", "netns", "exec", sandbox.host, "nft", "-f", "-"], input=theirs, text=True, check=True)
    sandbox.sh(None, "ip", "link", "add", "br0", "type", "bridge")
    ours = dict(source="10.10.0.0/24", bridge="br0", backend="nftables")
    before = sandbox.sh(None, "nft", "list", "table", "inet", "theirs").stdout
    result = sandbox.run("nat_masquerade", **ours)
    assert result["changed"] and not warning_text(result)
    assert sandbox.sh(None, "nft", "list", "table", "inet", "theirs").stdout == before
    sandbox.run("nat_masquerade", state="absent", **ours)
    assert sandbox.sh(None, "nft", "list", "table", "inet", "theirs").stdout == before
    assert "table ip nsbridge" not in sandbox.sh(None, "nft", "list", "ruleset").stdout


def test_exclude_keeps_source_and_accept_from_lets_peers_in(docker_host):
    """A fleet range: traffic to it keeps the container's address; peers in it may connect in."""
    box = docker_host
    backend = box.backend
    box.sh(box.outside, "ip", "route", "add", "10.10.0.0/24", "via", "203.0.113.1")
    box.run("nat_masquerade", source="10.10.0.0/24", bridge="br0", exclude=["203.0.113.0/24"],
            accept_from=["203.0.113.0/24"], backend=backend)
    assert box.fetch(box.c1, "203.0.113.2", 8000) == "outside 10.10.0.2", "excluded: source kept"
    assert box.fetch(box.outside, "10.10.0.2", 80) == "c1 203.0.113.2", "accept_from: peer connects in"
    box.run("nat_masquerade", source="10.10.0.0/24", bridge="br0", backend=backend)
    assert box.fetch(box.c1, "203.0.113.2", 8000) == "outside 203.0.113.1", "without exclude: masqueraded"
    assert box.fetch(box.outside, "10.10.0.2", 80) is None, "without accept_from: FORWARD drops new connections"


def _delete_one_of_ours(sandbox, backend, chain_hint):
    """Delete, by hand, the first nsbridge item rule of our forward chains (a foreign tool's edit)."""
    if backend == "iptables":
        line = next(l for l in sandbox.sh(None, "iptables-legacy-save", "-t", "filter").stdout.splitlines()
                    if l.startswith("-A NSBRIDGE-F") and '--comment "nsbridge publish' in l)
        sandbox.sh(None, "iptables-legacy", "-D", *shlex.split(line)[1:])
        return
    listing = json.loads(sandbox.sh(None, "nft", "-j", "-a", "list", "table", "ip", "nsbridge").stdout)
    rule = next(e["rule"] for e in listing["nftables"] if "rule" in e and e["rule"]["chain"].startswith(chain_hint)
                and parse_comment(e["rule"].get("comment")))
    sandbox.sh(None, "nft", "delete", "rule", "ip", "nsbridge", rule["chain"], "handle", str(rule["handle"]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_rules_changed_by_hand_are_repaired_and_nothing_else_is_rewritten(sandbox, backend):
    """A no-op run decides from the items' ids without generating rules; it must still notice
    a rule of its own that someone deleted or duplicated, and repair exactly that."""
    ports = {"backend": backend, "ports": [{"host_port": 9000 + i, "destination": "10.0.0.%d" % (2 + i)}
                                           for i in range(5)]}
    sandbox.run("port_publish", **ports)
    whole = sorted(our_comments(sandbox, backend))
    assert sandbox.run("port_publish", **ports)["changed"] is False

    _delete_one_of_ours(sandbox, backend, "forward")
    assert len(our_comments(sandbox, backend)) == len(whole) - 1
    check = sandbox.run("port_publish", check=True, diff=True, **ports)
    assert check["changed"]
    assert len(check["diff"]["after"]) == 1, "only the damaged item is planned: %s" % check["diff"]
    repaired = sandbox.run("port_publish", **ports)
    assert [r["name"] for r in repaired["results"] if r["changed"]] == [next(iter(check["diff"]["after"]))]
    assert all(a.startswith("add ") for r in repaired["results"] for a in r["actions"]), "only the missing rule added"
    assert sorted(our_comments(sandbox, backend)) == whole
    assert sandbox.run("port_publish", **ports)["changed"] is False

    # a duplicate of one of our rules (same comment) is removed again
    if backend == "iptables":
        line = next(l for l in sandbox.sh(None, "iptables-legacy-save", "-t", "filter").stdout.splitlines()
                    if l.startswith("-A NSBRIDGE-F") and "nsbridge publish" in l)
        sandbox.sh(None, "iptables-legacy", *shlex.split(line))
    else:
        sandbox.sh(None, "nft", "add", "rule", "ip", "nsbridge", "forward", "ip", "daddr", "10.0.0.2", "accept",
                   "comment", '"%s"' % next(c for c in whole if "publish:tcp:*:9000 " in c))
    assert len(our_comments(sandbox, backend)) == len(whole) + 1
    fixed = sandbox.run("port_publish", **ports)
    assert fixed["changed"] and sorted(our_comments(sandbox, backend)) == whole
    sandbox.run("port_publish", state="absent", ports=[{"host_port": p["host_port"]} for p in ports["ports"]],
                backend=backend)
    assert our_comments(sandbox, backend) == []
