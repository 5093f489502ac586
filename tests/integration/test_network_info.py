"""network_info on the real kernel, both backends: it reports what the modules made (and only that,
unless asked), by traffic-backed counters, and tells drift from the description the modules ran.

    outside 203.0.113.2 --- uplink 203.0.113.1  [sandbox host]  br0 10.41.0.1/24 fd00:41::1/64 --- c1 .2 ::2 (workload)
                                                                                              \\-- c2 .3 ::3
                                                 nsb-vx (vxlan 42, one peer), a proto-78 route, a foreign bridge
"""

import subprocess

import pytest

from conftest import HELPERS

BACKENDS = ["iptables", "nftables"]


def calls(box):
    c1, c2, out = box.c1, box.c2, box.outside
    fw = {"backend": box.backend}
    return [
        {"module": "netns", "args": {"name": [c1, c2, out]}},
        {"module": "bridge", "args": {"bridges": [
            {"name": "br0", "addresses": ["10.41.0.1/24", "fd00:41::1/64"]},
            {"name": "br1", "addresses": ["10.42.0.1/24"]}]}},
        {"module": "veth", "args": {"pairs": [
            {"name": "vc1", "peer": "eth0", "peer_netns": c1, "bridge": "br0",
             "peer_addresses": ["10.41.0.2/24", "fd00:41::2/64"], "peer_gateway": ["10.41.0.1", "fd00:41::1"]},
            {"name": "vc2", "peer": "eth0", "peer_netns": c2, "bridge": "br0",
             "peer_addresses": ["10.41.0.3/24", "fd00:41::3/64"], "peer_gateway": ["10.41.0.1", "fd00:41::1"]},
            {"name": "uplink", "peer": "eth0", "peer_netns": out,
             "addresses": ["203.0.113.1/24"], "peer_addresses": ["203.0.113.2/24"]}]}},
        {"module": "nat_masquerade", "args": dict(fw, networks=[{"source": "10.41.0.0/24", "bridge": "br0"},
                                                                {"source": "fd00:41::/64", "bridge": "br0",
                                                                 "routed": True}])},
        {"module": "port_publish", "args": dict(fw, ports=[
            {"host_port": 8080, "destination": "10.41.0.2", "destination_port": 8000, "bridge": "br0"},
            {"host_port": 8080, "destination": "fd00:41::2", "destination_port": 8000, "bridge": "br0"}])},
        {"module": "network_isolation", "args": dict(fw, networks=[{"bridge": "br0"}, {"bridge": "br1"}])},
        {"module": "workload", "args": {"workloads": [
            {"name": box.prefix + "w1", "netns": c1, "command": "python3 %s/echo_server.py c1 8000" % HELPERS}]}},
        {"module": "route", "args": {"routes": [{"dst": "10.99.0.0/24", "via": "10.41.0.3"}]}},
        {"module": "vxlan", "args": {"name": "nsb-vx", "vni": 42, "local": "203.0.113.1", "dev": "uplink",
                                     "addresses": ["10.200.1.0/32"],
                                     "peers": [{"underlay": "203.0.113.9", "mac": "02:6e:00:00:00:09",
                                                "addresses": ["10.200.9.0"]}]}},
    ]


@pytest.fixture(params=BACKENDS)
def built(request, sandbox):
    sandbox.backend = request.param
    sandbox.c1, sandbox.c2, sandbox.outside = (sandbox.name(s) for s in ("c1", "c2", "out"))
    result = sandbox.run("apply", calls=calls(sandbox))
    assert not result.get("failed"), result
    # what nsbridge did not make: a bridge and a namespace of someone else's
    sandbox.sh(None, "ip", "link", "add", "theirs0", "type", "bridge")
    subprocess.run(["ip", "netns", "add", sandbox.name("fx")], check=True)
    open("/run/netns/" + sandbox.name("st"), "w").close()  # what a creation killed half-way leaves
    return sandbox


def info(box, **args):
    names = [box.c1, box.c2, box.outside, box.name("fx"), box.name("st")]
    result = box.run("network_info", netns=args.pop("netns", names), **args)
    assert not result.get("failed") and result["changed"] is False, result
    return result


def by(items, key, value):
    found = [i for i in items if i[key] == value]
    assert len(found) == 1, (value, items)
    return found[0]


def test_reports_what_the_modules_made(built):
    box = built
    # a connection from outside through the published port, so the DNAT rule has one to count
    assert box.fetch(box.outside, "203.0.113.1", 8080) == "c1 203.0.113.2"
    r = info(box)
    assert r["schema"] == 1
    assert [n["name"] for n in r["networks"]] == ["br0", "br1"], "the foreign bridge is not listed unless asked"
    br0 = r["networks"][0]
    assert br0["managed"] and br0["addresses"] == ["10.41.0.1/24", "fd00:41::1/64"]
    assert br0["subnets"] == ["10.41.0.0/24", "fd00:41::/64"] and br0["ports"] == ["vc1", "vc2"] and br0["up"]

    assert [c["name"] for c in r["containers"]] == sorted([box.c1, box.c2, box.outside])
    c1 = by(r["containers"], "name", box.c1)
    eth0 = by(c1["interfaces"], "name", "eth0")
    assert eth0["addresses"] == ["10.41.0.2/24", "fd00:41::2/64"] and eth0["host_peer"] == "vc1"
    assert eth0["bridge"] == "br0" and eth0["kind"] == "veth" and eth0["mac"]
    assert {"dst": "default", "via": "10.41.0.1", "dev": "eth0", "family": 4} in c1["routes"]
    assert {"dst": "default", "via": "fd00:41::1", "dev": "eth0", "family": 6} in c1["routes"]
    [w1] = c1["workloads"]
    assert w1["name"] == box.prefix + "w1" and w1["alive"] and "echo_server.py" in w1["command"]

    v4 = by(r["published"], "family", 4)
    assert (v4["backend"], v4["protocol"], v4["host_ip"], v4["host_port"]) == (box.backend, "tcp", None, 8080)
    assert (v4["destination"], v4["destination_port"], v4["complete"]) == ("10.41.0.2", 8000, True)
    assert v4["connections"] == 1, "the one connection from outside"
    v6 = by(r["published"], "family", 6)
    assert (v6["destination"], v6["destination_port"], v6["scope"]) == ("fd00:41::2", 8000, "publish:tcp:[::]:8080")
    masq = by(r["masquerades"], "source", "10.41.0.0/24")
    assert masq["nat"] and masq["complete"] and masq["backend"] == box.backend
    assert by(r["masquerades"], "source", "fd00:41::/64")["nat"] is False, "routed: forward accepts only"
    iso = by(r["isolation"], "bridge", "br0")
    assert iso["families"] == [4, 6] and iso["complete"] and iso["rules"] == 2, "br0 -> br1 in both families"
    assert [i["bridge"] for i in r["isolation"]] == ["br0", "br1"]

    assert r["routes"] == [{"dst": "10.99.0.0/24", "via": "10.41.0.3", "dev": "br0", "metric": 0, "family": 4}]
    [vx] = r["vxlan"]
    assert (vx["name"], vx["vni"], vx["local"], vx["dev"]) == ("nsb-vx", 42, "203.0.113.1", "uplink")
    assert vx["peers"] == [{"underlay": "203.0.113.9", "mac": "02:6e:00:00:00:09", "addresses": ["10.200.9.0"]}]

    assert box.run("network_info", check=True, netns=[box.c1, box.c2, box.outside, box.name("fx"), box.name("st")]) == r


def test_filters_and_foreign(built):
    box = built
    r = info(box, include_foreign=True)
    assert by(r["networks"], "name", "theirs0")["managed"] is False
    fx = by(r["containers"], "name", box.name("fx"))
    assert fx["managed"] is False and fx["interfaces"] == []
    assert by(r["containers"], "name", box.name("st")) == {"name": box.name("st"), "managed": False, "stale": True}
    assert [c["name"] for c in r["containers"]][-2:] == [box.name("fx"), box.name("st")], "nsbridge's first"
    only = info(box, bridge=["br0"])
    assert [c["name"] for c in only["containers"]] == sorted([box.c1, box.c2]), "the uplink's namespace is not on br0"
    assert len(only["published"]) == 2 and len(only["masquerades"]) == 2
    assert [i["bridge"] for i in only["isolation"]] == ["br0"] and [n["name"] for n in only["networks"]] == ["br0"]
    none = info(box, bridge=["theirs0"], include_foreign=True)
    assert [n["name"] for n in none["networks"]] == ["theirs0"]
    assert none["containers"] == [] and none["published"] == [] and none["masquerades"] == []
    assert [c["name"] for c in info(box, netns=[box.c2])["containers"]] == [box.c2]


def test_drift_against_the_description(built):
    box = built
    same = info(box, calls=calls(box))
    assert same["drift"] == {"changed": False, "missing": [], "differs": [], "extra": []}
    # by hand: a container's cable goes, a workload dies, a bridge loses its address;
    # by module: a port no call describes
    box.sh(None, "ip", "link", "del", "vc2")
    box.sh(None, "ip", "addr", "del", "10.42.0.1/24", "dev", "br1")
    box.sh(None, "pkill", "-f", "echo_server.py c1 8000", check=False)
    extra = box.run("port_publish", backend=box.backend,
                    ports=[{"host_port": 9090, "destination": "10.41.0.3", "destination_port": 80}])
    assert extra["changed"]
    r = info(box, calls=calls(box))
    drift = r["drift"]
    assert drift["changed"]
    assert [(m["module"], m["name"]) for m in drift["missing"]] == [("veth", "vc2"), ("workload", box.prefix + "w1")]
    [br1] = drift["differs"]
    assert (br1["module"], br1["name"], br1["call"], br1["item"]) == ("bridge", "br1", "calls[1]", "bridges[1]")
    assert br1["have"]["addresses"] == [] and br1["want"]["addresses"] == ["10.42.0.1/24"]
    assert [(e["module"], e["name"]) for e in drift["extra"]] == [("port_publish", "tcp:*:9090")]
    assert by(r["containers"], "name", box.c1)["workloads"][0]["alive"] is False
