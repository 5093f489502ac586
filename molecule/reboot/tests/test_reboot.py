"""Testinfra verifier for the reboot scenario: after the hosts rebooted and ran their unit's
command, the network is back, proven by traffic: a published port from outside, egress
masqueraded, container to container on a host, and container to container across hosts."""

import os

import testinfra
import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
FLEET = RUNNER.get_hosts("fleet")
OUTSIDE = RUNNER.get_hosts("outside")[0]
testinfra_hosts = ["podman://" + name for name in FLEET]
CURL = "curl -s -o /dev/null -w '%{http_code}' --max-time 5 "


def h(name):
    return testinfra.get_host("podman://" + name)


def ip_of(name, container):
    out = h(name).run("ip netns exec %s ip -4 -o addr show dev eth0" % container).stdout.split()
    return out[3].split("/")[0]


def underlay(name):
    return RUNNER.get_variables(name)["underlay"]


def clients(host, log, marker):
    text = host.file("/run/nsbridge/workloads/%s.log" % log).content_string
    return [line.split()[0].replace("::ffff:", "") for line in text.splitlines() if marker in line]


def test_what_rebuilds_it_is_recorded(host):
    assert sorted(host.file("/etc/nsbridge/desired").listdir()) == ["10-fleet.json", "20-networks.json",
                                                                    "30-containers.json"]
    wants = host.file("/etc/systemd/system/multi-user.target.wants/nsbridge-restore.service")
    assert wants.is_symlink and wants.linked_to == "/etc/systemd/system/nsbridge-restore.service"
    assert host.run("python3 -c 'import ansible'").rc != 0, "the host has no Ansible: the restore needs none"


def test_published_port_from_outside(host):
    me = host.backend.name
    marker = "/published-from-outside-%s" % me
    assert h(OUTSIDE).run(CURL + "http://%s:8080%s" % (underlay(me), marker)).stdout == "404"
    assert clients(host, "web", marker) == [underlay(OUTSIDE)]


def test_egress_is_masqueraded(host):
    me = host.backend.name
    marker = "/egress-after-reboot-%s" % me
    assert host.run("ip netns exec app " + CURL + "http://%s:8000%s" % (underlay(OUTSIDE), marker)).stdout == "404"
    assert clients(h(OUTSIDE), "outside", marker) == [underlay(me)]


def test_container_to_container_on_the_host(host):
    me = host.backend.name
    marker = "/app-to-web-%s" % me
    assert host.run("ip netns exec app " + CURL + "http://%s:8000%s" % (ip_of(me, "web"), marker)).stdout == "404"
    assert clients(host, "web", marker) == [ip_of(me, "app")]


def test_container_to_container_across_hosts(host):
    me = host.backend.name
    for other in FLEET:
        if other == me:
            continue
        marker = "/across-%s-%s" % (me, other)
        theirs = ip_of(other, "app")
        assert host.run("ip netns exec app ping -c1 -W1 %s" % theirs).rc == 0
        assert host.run("ip netns exec app " + CURL + "http://%s:8000%s" % (theirs, marker)).stdout == "404"
        assert clients(h(other), "app", marker) == [ip_of(me, "app")]


def test_image_based_container_is_back(host):
    """podman-restart.service started it again (restart policy always, as nsbridge_persist sets) in the
    namespace the unit made again; it answers through its published port from outside."""
    assert host.run("podman inspect -f '{{.HostConfig.RestartPolicy.Name}}' imgweb").stdout.strip() == "always"
    assert host.run("podman inspect -f '{{.State.Running}}' imgweb").stdout.strip() == "true"
    me = host.backend.name
    body = h(OUTSIDE).run("curl -s --max-time 5 http://%s:8081/" % underlay(me)).stdout.strip()
    assert body == "busybox image", body
