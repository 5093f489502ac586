"""Containers on several networks talk by name, as on Docker's user-defined networks, without a
daemon: through the roles, both firewall backends, proven by lookups and traffic.

    out 203.0.113.2 (resolver for probe.example) --- up 203.0.113.1 [host]
      front 10.81.0.0/24 fd00:81::/64: proxy (eth0), app (alias api), img (podman)
      back  10.82.0.0/24 fd00:82::/64: proxy (eth1, gw_priority 10: its default route), db
      safe  10.83.0.0/24 internal:     vault
"""

import json
import os
import socket
import subprocess

import pytest

from conftest import HELPERS, warning_text
from ansible_collections.nsbridge.network.plugins.module_utils.kernel import netlink
from test_prune import ECHO, outside, play

IMAGE = "localhost/nsb-busybox:latest"


def roles_vars(box, backend, resolv_from, **changes):
    p = box.prefix
    nets = [{"name": "front", "bridge": p + "front", "subnet": "10.81.0.0/24", "subnet6": "fd00:81::/64"},
            {"name": "back", "bridge": p + "back", "subnet": "10.82.0.0/24", "subnet6": "fd00:82::/64"},
            {"name": "safe", "bridge": p + "safe", "subnet": "10.83.0.0/24", "internal": True}]
    ctrs = {"proxy": {"name": p + "proxy", "networks": ["front", {"name": "back", "gw_priority": 10}],
                      "publish": ["8080:8000"], "command": ECHO + " proxy 8000"},
            "app": {"name": p + "app", "network": "front", "aliases": ["api"], "publish": ["127.0.0.1:5000:8000"],
                    "command": ECHO + " app 8000"},
            "db": {"name": p + "db", "network": "back", "ip": "10.82.0.20", "command": ECHO + " db 8000"},
            "vault": {"name": p + "vault", "network": "safe", "command": "sleep 3600"},
            "img": {"name": p + "img", "network": "front", "image": IMAGE, "command": ["sleep", "3600"]}}
    for key, value in changes.items():
        ctrs[key] = value
    return {"nsbridge_networks": nets, "nsbridge_containers": [c for c in ctrs.values() if c],
            "nsbridge_backend": backend, "nsbridge_resolv_from": resolv_from}


def lookup(box, netns, name, family=None):
    """The addresses ``name`` resolves to in ``netns`` (getent, through the namespace's /etc/hosts)."""
    database = {4: "ahostsv4", 6: "ahostsv6"}.get(family, "hosts")
    proc = box.sh(netns, "getent", database, name, check=False)
    return sorted({line.split()[0] for line in proc.stdout.splitlines()}) if proc.returncode == 0 else []


def curl(box, netns, url, family):
    proc = box.sh(netns, "curl", "-s", "-%d" % family, "--max-time", "3", url, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def address(box, netns, dev, family):
    return str(box.address(netns, dev, family).ip)


def pid_of(box, name):
    with open("/run/nsbridge/workloads/%s.pid" % (box.prefix + name)) as f:
        return json.load(f)["pid"]


def podman(*args):
    return subprocess.run(["podman"] + list(args), capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_containers_talk_by_name_on_several_networks(sandbox, backend):
    box, p = sandbox, sandbox.prefix
    out = outside(box)
    os.makedirs(box.files, exist_ok=True)
    stub, upstream = os.path.join(box.files, "stub.conf"), os.path.join(box.files, "upstream.conf")
    with open(stub, "w") as f:
        f.write("# systemd-resolved's stub, as /etc/resolv.conf names it\nnameserver 127.0.0.53\noptions edns0\n")
    with open(upstream, "w") as f:
        f.write("nameserver 203.0.113.2\nsearch example\n")
    box.start(out, "python3", os.path.join(HELPERS, "dns_server.py"), "probe.example", "198.51.100.77")
    proxy, app, db, vault, img = (p + n for n in ("proxy", "app", "db", "vault", "img"))
    variables = roles_vars(box, backend, [stub, upstream])
    try:
        built, changed, failed = play(box, variables)
        assert failed == 0 and changed > 0, built.stdout[-3000:]

        # the proxy, on both networks, reaches app (front) and db (back) by name, in both families
        for family in (4, 6):
            mine = {"front": address(box, proxy, "eth0", family), "back": address(box, proxy, "eth1", family)}
            assert curl(box, proxy, "http://%s:8000/" % app, family) == "app %s" % mine["front"], family
            assert curl(box, proxy, "http://%s:8000/" % db, family) == "db %s" % mine["back"], family
            assert lookup(box, proxy, "api", family) == [address(box, app, "eth0", family)], "the alias"
        assert lookup(box, proxy, "api.front") == lookup(box, proxy, "%s.front" % app) != []
        assert lookup(box, proxy, "%s.back" % db, 4) == ["10.82.0.20"] and lookup(box, proxy, "%s.back" % app) == []
        # the host's name, which every container shares: found in the hosts file, at the container's own
        # address (vault's resolves nothing else: an internal network has no resolver)
        hostname = socket.gethostname()
        assert lookup(box, db, hostname, 4) == ["10.82.0.20"]
        assert lookup(box, db, hostname, 6) == [address(box, db, "eth0", 6)]
        assert lookup(box, vault, hostname) == [address(box, vault, "eth0", 4)]
        assert lookup(box, proxy, hostname, 4)[0] in (address(box, proxy, "eth0", 4), address(box, proxy, "eth1", 4))
        # app shares no network with db: it neither resolves nor reaches it
        assert lookup(box, app, db) == [] and box.fetch(app, "10.82.0.20", 8000) is None
        # the default route follows gw_priority (back), and so do the published port and the host's name
        assert box.sh(proxy, "ip", "-4", "route", "show", "default").stdout.split()[2:5] == ["10.82.0.1", "dev", "eth1"]
        assert "via fd00:82::1 dev eth1" in box.sh(proxy, "ip", "-6", "route", "show", "default").stdout
        assert lookup(box, proxy, "host.containers.internal", 4) == ["10.82.0.1"]
        assert lookup(box, app, "host.docker.internal", 4) == ["10.81.0.1"]
        assert box.fetch(out, "203.0.113.1", 8080) == "proxy 203.0.113.2"
        published = box.run("network_info")["published"]
        assert {x["destination"] for x in published if x["host_port"] == 8080} == \
            {address(box, proxy, "eth1", 4), address(box, proxy, "eth1", 6)}
        # upstream resolvers: the stub is skipped, the real upstream answers (from the outside namespace,
        # masqueraded); the internal network's container gets none
        assert lookup(box, app, "probe.example", 4) == ["198.51.100.77"]
        with open("/etc/netns/%s/resolv.conf" % vault) as f:
            assert "nameserver" not in f.read()
        assert lookup(box, vault, "probe.example") == []
        # a podman container resolves the same names (the namespace's files, mounted)
        got = podman("exec", img, "wget", "-q", "-O", "-", "http://%s:8000/" % app)
        assert got.stdout.strip() == "app %s" % address(box, img, "eth0", 4), got.stdout + got.stderr
        # 127.0.0.1:5000 answers on the host's loopback and nowhere else; 8080 (every address) on it too
        assert box.fetch(None, "127.0.0.1", 5000).startswith("app ") and box.fetch(out, "203.0.113.1", 5000) is None
        assert box.fetch(None, "127.0.0.1", 8080).startswith("proxy ")
        again, changed, failed = play(box, variables)
        assert failed == 0 and changed == 0, again.stdout[-3000:]

        # db renumbered: every hosts file that names it follows, in place (the proxy's workload keeps running
        # and sees it); a network added to and removed from a running container changes only that interface
        before = pid_of(box, "proxy"), pid_of(box, "app")
        hosts_inode = os.stat("/etc/netns/%s/hosts" % proxy).st_ino
        renumbered = roles_vars(box, backend, [stub, upstream],
                                db={"name": db, "network": "back", "ip": "10.82.0.30", "command": ECHO + " db 8000"},
                                proxy=dict(variables["nsbridge_containers"][0],
                                           networks=["front", {"name": "back", "gw_priority": 10}, "safe"]))
        assert play(box, renumbered)[2] == 0
        assert lookup(box, proxy, db, 4) == ["10.82.0.30"] and os.stat("/etc/netns/%s/hosts" % proxy).st_ino == hosts_inode
        assert "eth2" in box.links(proxy) and lookup(box, proxy, vault) != []
        assert (pid_of(box, "proxy"), pid_of(box, "app")) == before, "workloads kept running"
        fewer = roles_vars(box, backend, [stub, upstream], db=None)
        assert play(box, fewer)[2] == 0
        assert "eth2" not in box.links(proxy) and lookup(box, proxy, db) == [] and lookup(box, proxy, vault) == []
        assert pid_of(box, "proxy") == before[0]
        # only a stub, and nothing behind it: the run says so
        stubbed, _changed, failed = play(box, roles_vars(box, backend, [stub], db=None))
        said = " ".join((stubbed.stdout + stubbed.stderr).split())
        assert failed == 0 and "loopback stubs a namespace cannot reach (127.0.0.53" in said, said[-2000:]

        gone, changed, failed = play(box, dict(fewer, nsbridge_state="absent"))
        assert failed == 0 and changed > 0, gone.stdout[-3000:]
        assert not [d for d in os.listdir("/etc/netns") if d.startswith(p)] if os.path.isdir("/etc/netns") else True
    finally:
        podman("rm", "-f", "-t", "0", img)


def test_names_module_writes_in_place_and_only_its_own(sandbox):
    box = sandbox
    ns = box.name("n1")
    for name in (ns, box.name("m2")):  # namespaces to look names up in (the module writes only files)
        netlink.Kernel.create_netns(name)
    hosts = [{"address": "10.9.0.2", "names": ["a", "a.net"]}, {"address": "fd00:9::2", "names": ["a"]}]
    first = box.run("names", netns=ns, hosts=hosts, resolv="none", diff=True)
    assert first["changed"] and not first.get("failed"), first
    path = "/etc/netns/%s/hosts" % ns
    inode = os.stat(path).st_ino
    with open(path) as f:
        text = f.read()
    assert text.startswith("# nsbridge") and "10.9.0.2\ta a.net\n" in text and "fd00:9::2\ta\n" in text
    # the host's name (a namespace shares it): no entry names the namespace, so at 127.0.1.1, and found
    # there, not asked of a resolver
    assert text.endswith("127.0.1.1\t%s\n" % socket.gethostname())
    assert lookup(box, ns, socket.gethostname()) == ["127.0.1.1"]
    assert box.run("names", netns=ns, hosts=hosts, resolv="none")["changed"] is False
    box.run("names", netns=ns, hosts=hosts[:1], resolv="none")
    assert os.stat(path).st_ino == inode, "written in place, never renamed over"
    other = box.name("n2")
    os.makedirs("/etc/netns/%s" % other, exist_ok=True)
    with open("/etc/netns/%s/hosts" % other, "w") as f:
        f.write("10.0.0.1 theirs\n")
    refused = box.run("names", netns=other, hosts=hosts)
    assert refused["failed"] and "nsbridge did not write it" in refused["msg"]
    kept = box.run("names", netns=other, state="absent")
    assert not kept["changed"] and os.path.exists("/etc/netns/%s/hosts" % other), "not ours: never removed"
    gone = box.run("names", netns=ns, state="absent")
    assert gone["changed"] and not os.path.exists("/etc/netns/%s" % ns)
    # several namespaces in one call, each its own entries and the shared lists it includes
    two = box.run("names", upstream_from=[os.path.join(box.files, "none")],
                  shared={"front": [{"address": "10.9.1.1", "names": ["x"]}],
                          "own": [{"address": "10.9.1.9", "names": [box.name("m1")]},
                                  {"address": "fd00:9::9", "names": [box.name("m1")]}]},
                  namespaces=[{"netns": box.name("m1"), "hosts": [{"address": "10.9.2.1", "names": ["one"]}],
                               "include": ["front", "own"]},
                              {"netns": box.name("m2"), "hosts": [{"address": "10.9.2.2", "names": ["two"]}]}])
    assert two["changed"] and not two.get("failed"), two
    with open("/etc/netns/%s/hosts" % box.name("m1")) as f:
        first = f.read()
    with open("/etc/netns/%s/hosts" % box.name("m2")) as f:
        second = f.read()
    assert "\tone\n" in first and "10.9.1.1\tx\n" in first and "\ttwo\n" not in first
    assert "\ttwo\n" in second and "\tone\n" not in second and "10.9.1.1" not in second
    # an entry names m1: the host's name is at m1's own addresses, one of each family (as Docker's hostname)
    hostname = socket.gethostname()
    assert first.endswith("10.9.1.9\t%s\nfd00:9::9\t%s\n" % (hostname, hostname)) and "127.0.1.1" not in first
    # a namespace whose entries name the host's name already keeps theirs
    named = box.run("names", netns=box.name("m2"), upstream_from=[os.path.join(box.files, "none")],
                    hosts=[{"address": "10.9.2.2", "names": ["two", hostname]}])
    assert named["changed"] and lookup(box, box.name("m2"), hostname) == ["10.9.2.2"]
    box.run("names", state="absent", namespaces=[{"netns": box.name("m1")}, {"netns": box.name("m2")}])
    empty = box.run("names", netns=box.name("n3"), upstream_from=[os.path.join(box.files, "none")])
    assert "no upstream resolver found" in warning_text(empty)
    box.run("names", netns=box.name("n3"), state="absent")
