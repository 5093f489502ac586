"""site.yml and teardown.yml end to end, through ansible-playbook, inside the test's own namespace.

The playbooks run in the sandbox's "host" namespace with the sandbox's names, so
the machine's own network is never touched.
"""

import json
import os
import subprocess

import pytest

from conftest import ROOT
from picture import expected, from_svg, network_info


def playbook(sandbox, name, extra, *flags):
    """playbooks/NAME through the sandbox (tests/conftest.py), its picture drawn in the sandbox's files."""
    extra = dict({"nsbridge_topology_dir": os.path.join(sandbox.files, "topology")}, **extra)
    return sandbox.playbook(os.path.join(ROOT, "playbooks", name), extra, *flags)


def test_site_check_build_idempotent_teardown(sandbox):
    p = sandbox.prefix
    extra = {
        "nsbridge_networks": [{"name": "default", "bridge": p + "br0", "subnet": "10.10.0.0/16"}],
        "nsbridge_containers": [
            {"name": p + "web1", "network": "default", "ip": "10.10.0.10", "publish": ["8080:8000"],
             "command": "python3 -m http.server 8000 --bind 0.0.0.0"},
            {"name": p + "web2", "network": "default", "command": "python3 -m http.server 8000 --bind 0.0.0.0",
             "env": {"GREETING": "hello"}},
            {"name": p + "side", "network": "container:" + p + "web2"},
            {"name": p + "none", "network": "none"},
        ],
        "nsbridge_proof_netns": p + "out", "nsbridge_proof_uplink_if": p + "up",
    }
    links_before = sorted(sandbox.links())
    check, changed, failed = playbook(sandbox, "site.yml", extra, "--check")
    assert failed == 0 and changed > 0, check.stdout[-3000:]
    assert sorted(sandbox.namespaces()) == [sandbox.host] and sorted(sandbox.links()) == links_before, \
        "check mode made something"
    assert not os.path.exists(os.path.join(sandbox.files, "topology")), "check mode drew no picture"

    real, changed, failed = playbook(sandbox, "site.yml", extra)
    assert failed == 0 and changed > 0, real.stdout[-3000:]
    assert "egress reached the outside namespace masqueraded as 198.51.100.1" in real.stdout
    status = sandbox.sh(p + "out", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://198.51.100.1:8080/")
    assert status.stdout == "200", "published port from the outside namespace"
    assert p + "none" in sandbox.namespaces() and list(sandbox.links(p + "none")) == ["lo"]
    # a container's process has its env and PATH and HOME, nothing of the environment Ansible ran in
    # (ANSIBLE_CONFIG, which playbook() sets, among it)
    with open("/run/nsbridge/workloads/%sweb2.pid" % p) as f, \
            open("/proc/%d/environ" % json.load(f)["pid"], "rb") as environ:
        names = dict(item.split(b"=", 1) for item in environ.read().split(b"\0") if item)
    assert sorted(names) == [b"GREETING", b"HOME", b"NSBRIDGE_WORKLOAD", b"PATH"] and names[b"GREETING"] == b"hello"
    # the picture (topology.yml, run by site.yml) shows what network_info finds, nothing else
    picture = os.path.join(sandbox.files, "topology")
    assert "%s/topology.svg and topology.md" % picture in real.stdout, "the summary points at the picture"
    facts = sandbox.run("network_info")
    nodes, edges = expected({"localhost": facts})
    assert "localhost/ctr/%sweb1" % p in nodes and "localhost/port/tcp:*:8080" in nodes
    assert from_svg(os.path.join(picture, "topology.svg")) == (nodes, edges)
    with open(os.path.join(picture, "topology.md")) as f:
        assert "```mermaid\nflowchart LR\n" in f.read()

    again, changed, failed = playbook(sandbox, "site.yml", extra)
    assert failed == 0 and changed == 0, again.stdout[-3000:]

    # damage what the roles made, behind their back: the next run must see it and repair it. The
    # host's ARP entry for web1 is fresh (the curl above); the re-created eth0 has the same MAC
    # (Docker's 02:42 + address), so the proof's curl through the published port right after the
    # repair is answered at once instead of going to a MAC that is gone
    assert sandbox.links(p + "web1")["eth0"]["mac"] == "02:42:0a:0a:00:0a"
    sandbox.sh(p + "web1", "ip", "link", "delete", "eth0")
    fix, changed, failed = playbook(sandbox, "site.yml", extra)
    assert failed == 0 and changed > 0, fix.stdout[-3000:]
    assert sandbox.links(p + "web1")["eth0"]["mac"] == "02:42:0a:0a:00:0a"
    assert "egress reached the outside namespace masqueraded as 198.51.100.1" in fix.stdout
    again, changed, failed = playbook(sandbox, "site.yml", extra)
    assert failed == 0 and changed == 0, again.stdout[-3000:]

    down, changed, failed = playbook(sandbox, "teardown.yml", extra)
    assert failed == 0 and changed > 0, down.stdout[-3000:]
    assert sorted(sandbox.namespaces()) == [sandbox.host]
    assert sorted(sandbox.links()) == links_before
    assert "nsbridge" not in sandbox.sh(None, "nft", "list", "ruleset").stdout
    assert sandbox.sh(None, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "0"
    left = os.listdir("/run/nsbridge/workloads") if os.path.isdir("/run/nsbridge/workloads") else []
    assert not [f for f in left if f.startswith(p)], left
    _proc, changed, failed = playbook(sandbox, "teardown.yml", extra)
    assert failed == 0 and changed == 0


def test_bad_variables_fail_before_anything_is_made(sandbox):
    p = sandbox.prefix
    extra = {
        "nsbridge_networks": [{"name": "default", "bridge": p + "br0", "subnet": "10.10.0.0/16"}],
        "nsbridge_containers": [{"name": p + "a", "network": "default", "ip": "10.20.0.5"}],
        "nsbridge_proof": False,
    }
    proc, _changed, failed = playbook(sandbox, "site.yml", extra)
    assert failed == 1
    assert "container '%sa'.ip: 10.20.0.5 is outside network 'default' (10.10.0.0/16)" % p in proc.stdout
    assert sorted(sandbox.namespaces()) == [sandbox.host] and p + "br0" not in sandbox.links()


LABS = ["veth_pair", "l2_bridge", "host_only", "internal", "docker_default", "bridged_segments", "dual_stack"]


def host_settings(sandbox):
    """The host-wide settings a lab may change (forwarding in both families, route_localnet, accept_ra)."""
    keys = ["net.ipv4.ip_forward", "net.ipv6.conf.all.forwarding", "net.ipv4.conf.all.route_localnet",
            "net.ipv6.conf.all.accept_ra", "net.ipv6.conf.default.accept_ra"]
    return {k: sandbox.sh(None, "sysctl", "-n", k).stdout.strip() for k in keys}


@pytest.mark.parametrize("lab", LABS)
def test_lab_builds_proves_converges_and_goes(sandbox, lab):
    extra = {"lab_prefix": sandbox.prefix}
    links_before = sorted(sandbox.links())
    settings_before = host_settings(sandbox)
    name = "labs/%s.yml" % lab
    first, changed, failed = playbook(sandbox, name, extra)
    assert failed == 0 and changed > 0, first.stdout[-3000:]
    _proc, changed, failed = playbook(sandbox, name, extra)
    assert failed == 0 and changed == 0, "second run changed something"
    down, changed, failed = playbook(sandbox, name, dict(extra, lab_state="absent"))
    assert failed == 0 and changed > 0, down.stdout[-3000:]
    assert sorted(sandbox.namespaces()) == [sandbox.host], "lab namespaces left behind"
    assert sorted(sandbox.links()) == links_before, "lab links left behind"
    assert "nsbridge" not in sandbox.sh(None, "nft", "list", "ruleset").stdout
    assert host_settings(sandbox) == settings_before, "host-wide settings not put back"
    _proc, changed, failed = playbook(sandbox, name, dict(extra, lab_state="absent"))
    assert failed == 0 and changed == 0


def test_image_based_containers_through_the_roles(sandbox):
    """A container from an image runs under podman in its nsbridge namespace (one podman_containers
    call for all), is reached through its published port, re-created when its spec changes, shares
    its namespace with container:NAME, and goes with the teardown.  The image is the local busybox
    one scripts/engines.sh imports into podman."""
    p = sandbox.prefix
    web, side = p + "img", p + "imgside"
    extra = {
        "nsbridge_networks": [{"name": "default", "bridge": p + "br0", "subnet": "10.10.0.0/16"}],
        "nsbridge_containers": [
            {"name": web, "network": "default", "ip": "10.10.0.20", "publish": ["8081:80"],
             "image": "localhost/nsb-busybox:latest", "command": ["httpd", "-f", "-p", "80", "-h", "/www"],
             "env": {"WHO": "first"}},
            {"name": side, "network": "container:" + web, "image": "localhost/nsb-busybox:latest",
             "command": ["sleep", "3600"]},
        ],
        "nsbridge_proof": False,
    }

    def podman(*args):
        return subprocess.run(["podman"] + list(args), capture_output=True, text=True, timeout=60, check=False).stdout.strip()
    try:
        built, changed, failed = playbook(sandbox, "site.yml", extra)
        assert failed == 0 and changed > 0, built.stdout[-3000:]
        assert podman("inspect", "-f", "{{.HostConfig.NetworkMode}}", web) == "ns:/run/netns/" + web
        assert podman("inspect", "-f", "{{.HostConfig.NetworkMode}}", side) == "ns:/run/netns/" + web
        # without nsbridge_persist podman must not start it at boot, into a namespace that is gone
        assert podman("inspect", "-f", "{{.HostConfig.RestartPolicy.Name}}", web) == "no"
        assert sandbox.fetch(None, "10.10.0.1", 8081) == "busybox image", "through the published port"
        again, changed, failed = playbook(sandbox, "site.yml", extra)
        assert failed == 0 and changed == 0, again.stdout[-3000:]
        first = podman("inspect", "-f", "{{.Id}}", web)
        extra["nsbridge_containers"][0]["env"] = {"WHO": "second"}
        moved, changed, failed = playbook(sandbox, "site.yml", extra)
        assert failed == 0 and changed > 0, moved.stdout[-3000:]
        assert podman("inspect", "-f", "{{.Id}}", web) != first, "a changed spec re-creates the container"
        assert "WHO=second" in podman("inspect", "-f", "{{.Config.Env}}", web)
        down, changed, failed = playbook(sandbox, "teardown.yml", extra)
        assert failed == 0 and changed > 0, down.stdout[-3000:]
        assert podman("ps", "-a", "--filter", "name=" + p, "--format", "{{.Names}}") == ""
        assert sorted(sandbox.namespaces()) == [sandbox.host]
    finally:
        podman("rm", "-f", "-t", "0", web, side)


def test_an_image_needs_a_runtime_that_joins_namespaces(sandbox):
    p = sandbox.prefix
    extra = {"nsbridge_networks": [{"name": "default", "bridge": p + "br0", "subnet": "10.10.0.0/16"}],
             "nsbridge_containers": [{"name": p + "img", "network": "default", "image": "localhost/x"}],
             "nsbridge_container_runtime": "docker", "nsbridge_proof": False}
    proc, _changed, failed = playbook(sandbox, "site.yml", extra)
    assert failed == 1 and "nsbridge_container_runtime: 'docker' cannot start a container inside" in proc.stdout
    assert sorted(sandbox.namespaces()) == [sandbox.host], "nothing was made"


def test_a_picture_graphviz_cannot_rank_is_drawn_once_and_then_left_alone(sandbox):
    """148 fleet hosts, a picture Debian 12's dot fails to rank ("trouble in init_rank"): the action lays it
    out with the links between hosts unranked, writes that DOT as the SVG's source, and a re-run changes
    nothing (the DOT it wrote is the one it would write)."""
    os.makedirs(sandbox.files, exist_ok=True)
    members = range(1, 149)
    infos = {"h%d" % n: network_info(n, "routed", members) for n in members}
    dest, play = os.path.join(sandbox.files, "pic"), os.path.join(sandbox.files, "play.yml")
    pictured = os.path.join(sandbox.files, "infos.json")
    with open(pictured, "w", encoding="utf-8") as f:
        json.dump({"pictured": infos}, f)
    with open(play, "w", encoding="utf-8") as f:
        json.dump([{"hosts": "all", "gather_facts": False, "tasks": [
            {"name": "Draw", "nsbridge.network.topology": {"infos": "{{ pictured }}", "dest": dest}}]}], f)
    proc, changed, failed = sandbox.playbook(play, {}, "-e", "@" + pictured)
    assert (changed, failed) == (1, 0), proc.stdout[-2000:]
    with open(os.path.join(dest, "topology.dot"), encoding="utf-8") as f:
        assert "constraint=false" in f.read()
    assert from_svg(os.path.join(dest, "topology.svg")) == expected(infos)
    proc, changed, failed = sandbox.playbook(play, {}, "-e", "@" + pictured)
    assert (changed, failed) == (0, 0), proc.stdout[-2000:]


def test_the_picture_reads_each_hosts_registered_result_and_names_a_host_without_one(sandbox):
    """playbooks/topology.yml gives the action the hosts and the variable they registered network_info in;
    the action reads the results as registered (a fleet's are O(hosts^2) to template again)."""
    os.makedirs(sandbox.files, exist_ok=True)
    dest, play = os.path.join(sandbox.files, "pic"), os.path.join(sandbox.files, "play.yml")
    for var, fails in (("info", False), ("nothing", True)):
        with open(play, "w", encoding="utf-8") as f:
            json.dump([{"hosts": "all", "gather_facts": False, "tasks": [
                {"name": "Read", "nsbridge.network.network_info": {"include_foreign": True}, "register": "info"},
                {"name": "Draw", "nsbridge.network.topology": {"hosts": "{{ ansible_play_hosts }}", "var": var,
                                                               "dest": dest}, "run_once": True}]}], f)
        proc, _changed, failed = sandbox.playbook(play, {})
        if fails:
            assert failed == 1 and "no network_info result in nothing (var) on localhost" in proc.stdout, \
                proc.stdout[-2000:]
        else:
            assert failed == 0, proc.stdout[-2000:]
            facts = sandbox.run("network_info", include_foreign=True)
            assert from_svg(os.path.join(dest, "topology.svg")) == expected({"localhost": facts})
