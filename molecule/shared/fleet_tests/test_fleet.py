"""Testinfra verifier for the fleet (routed and vxlan scenarios): every container reaches every other host's container
by its own address, traffic leaving the fleet is masqueraded, and the fleet converges when a host
leaves and another joins (checked in the second verify pass, marked by /run/nsbridge-fleet-phase2).
"""

import ipaddress
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


def phase2():
    return h(FLEET[0]).file("/run/nsbridge-fleet-phase2").exists


def members():
    return RUNNER.get_hosts("fleet_later" if phase2() else "fleet_initial")


def app_ip(name):
    out = h(name).run("ip netns exec app ip -4 -o addr show dev eth0").stdout.split()
    return out[3].split("/")[0]


def underlay(name):
    return RUNNER.get_variables(name)["underlay"]


def test_each_container_reaches_every_other_host_by_its_own_address(host):
    me = host.backend.name
    if me not in members():
        assert host.run("ip netns list").stdout.strip() == "", "a host that left keeps namespaces"
        assert "nsb-fleet" not in host.run("ip -br link").stdout
        assert "proto 78" not in host.run("ip route").stdout
        return
    mine = app_ip(me)
    for other in members():
        if other == me:
            continue
        theirs = app_ip(other)
        marker = "/from-%s-%s" % (me, "p2" if phase2() else "p1")
        assert host.run("ip netns exec app ping -c1 -W1 %s" % theirs).rc == 0, (me, other)
        assert host.run("ip netns exec app " + CURL + "http://%s:8000%s" % (theirs, marker)).stdout == "404"
        log = h(other).file("/run/nsbridge/workloads/app.log").content_string
        seen = [line.split()[0] for line in log.splitlines() if marker in line]
        assert seen == [mine], "%s saw %s, not the sender's own address %s" % (other, seen, mine)


def subnet_of(name):
    return h(name).run("ip -4 -o addr show dev nsb-fleet").stdout.split()[3]


def test_routes_are_exactly_the_other_members(host):
    me = host.backend.name
    if me not in members():
        return
    assert subnet_of(me).startswith("10.200.")
    routes = [line for line in host.run("ip route").stdout.splitlines() if "proto 78" in line]
    vias = sorted(line.split(" via ")[1].split()[0] for line in routes)
    if RUNNER.get_variables(me)["nsbridge_fleet_mode"] == "vxlan":
        # through the overlay, to each peer's VXLAN address (its subnet's network address)
        expected = sorted(str(ipaddress.ip_interface(subnet_of(o)).network.network_address)
                          for o in members() if o != me)
        assert all(" dev nsb-vx " in line for line in routes), routes
        assert "mtu 1450" in host.run("ip link show dev nsb-fleet").stdout
    else:
        expected = sorted(underlay(o) for o in members() if o != me)
    assert vias == expected


def test_leaving_the_fleet_is_masqueraded(host):
    me = host.backend.name
    if me not in members():
        return
    marker = "/egress-%s-%s" % (me, "p2" if phase2() else "p1")
    assert host.run("ip netns exec app " + CURL + "http://%s:8000%s" % (underlay(OUTSIDE), marker)).stdout == "404"
    log = h(OUTSIDE).file("/run/nsbridge/workloads/outside.log").content_string
    assert [line.split()[0] for line in log.splitlines() if marker in line] == [underlay(me)]
