"""Testinfra verifier for the fleet (routed and vxlan scenarios, dual-stack): every container reaches every other
host's container by its own address in both families, traffic leaving the fleet is masqueraded (IPv6 too where the
underlay has IPv6), and the fleet converges when a host leaves and another joins (checked in the second verify
pass, marked by /run/nsbridge-fleet-phase2).
"""

import ipaddress
import os
import uuid

import testinfra
import testinfra.utils.ansible_runner

RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
FLEET = RUNNER.get_hosts("fleet")
OUTSIDE = RUNNER.get_hosts("outside")[0]
testinfra_hosts = ["podman://" + name for name in FLEET]
CURL = "curl -s -o /dev/null -w '%{http_code}' --max-time 5 "
RUN = uuid.uuid4().hex[:8]  # markers of this verify pass (a scenario verifies several times)


def h(name):
    return testinfra.get_host("podman://" + name)


def phase2():
    return h(FLEET[0]).file("/run/nsbridge-fleet-phase2").exists


def members():
    return RUNNER.get_hosts("fleet_later" if phase2() else "fleet_initial")


def app_ip(name, family=4):
    out = h(name).run("ip netns exec app ip -%d -o addr show dev eth0 scope global" % family).stdout.split()
    return out[3].split("/")[0]


def underlay(name, family=4):
    return RUNNER.get_variables(name).get("underlay" if family == 4 else "underlay6")


def dual_stack(name):
    return bool(RUNNER.get_variables(name).get("nsbridge_fleet_cidr6"))


def url(address, path):
    return "http://%s:8000%s" % ("[%s]" % address if ":" in address else address, path)


def clients(log, marker):
    """The client addresses a server logged for requests to marker (a dual-stack socket logs IPv4 clients as
    ::ffff:a.b.c.d)."""
    return [line.split()[0].replace("::ffff:", "") for line in log.splitlines() if marker in line]


def families(name):
    return (4, 6) if dual_stack(name) else (4,)


def test_each_container_reaches_every_other_host_by_its_own_address(host):
    me = host.backend.name
    if me not in members():
        assert host.run("ip netns list").stdout.strip() == "", "a host that left keeps namespaces"
        assert "nsb-fleet" not in host.run("ip -br link").stdout
        assert "proto 78" not in host.run("ip route").stdout
        assert "proto 78" not in host.run("ip -6 route").stdout
        assert "nsb" not in host.run("ip6tables-save 2>/dev/null; nft list ruleset 2>/dev/null").stdout.lower()
        return
    for family in families(me):
        mine = app_ip(me, family)
        for other in members():
            if other == me:
                continue
            theirs = app_ip(other, family)
            marker = "/from-%s-v%d-%s" % (me, family, RUN)
            assert host.run("ip netns exec app ping -%d -c1 -W1 %s" % (family, theirs)).rc == 0, (me, other, family)
            assert host.run("ip netns exec app " + CURL + url(theirs, marker)).stdout == "404"
            seen = clients(h(other).file("/run/nsbridge/workloads/app.log").content_string, marker)
            assert seen == [mine], "%s saw %s, not the sender's own address %s" % (other, seen, mine)


def subnet_of(name, family=4):
    return h(name).run("ip -%d -o addr show dev nsb-fleet scope global" % family).stdout.split()[3]


def test_routes_are_exactly_the_other_members(host):
    me = host.backend.name
    if me not in members():
        return
    assert subnet_of(me).startswith("10.200.")
    if dual_stack(me):
        assert ipaddress.ip_interface(subnet_of(me, 6)).network.subnet_of(ipaddress.ip_network("fd00:200::/48"))
    for family in families(me):
        routes = [line for line in host.run("ip -%d route" % family).stdout.splitlines() if "proto 78" in line]
        vias = sorted(line.split(" via ")[1].split()[0] for line in routes)
        if RUNNER.get_variables(me)["nsbridge_fleet_mode"] == "vxlan":
            # through the overlay, to each peer's VXLAN address (its subnet's network address)
            expected = sorted(str(ipaddress.ip_interface(subnet_of(o, family)).network.network_address)
                              for o in members() if o != me)
            assert all(" dev nsb-vx " in line for line in routes), routes
            assert "mtu 1450" in host.run("ip link show dev nsb-fleet").stdout
        else:
            expected = sorted(underlay(o, family) for o in members() if o != me)
        assert vias == expected, (family, routes)


def test_leaving_the_fleet_is_masqueraded(host):
    me = host.backend.name
    if me not in members():
        return
    checked = 0
    for family in families(me):
        if not (underlay(me, family) and underlay(OUTSIDE, family)):
            continue  # no IPv6 underlay in this scenario: IPv6 leaves the fleet nowhere
        marker = "/egress-%s-v%d-%s" % (me, family, RUN)
        assert host.run("ip netns exec app " + CURL + url(underlay(OUTSIDE, family), marker)).stdout == "404"
        log = h(OUTSIDE).file("/run/nsbridge/workloads/outside.log").content_string
        assert clients(log, marker) == [underlay(me, family)], family
        checked += 1
    assert checked >= 1


def test_each_container_reaches_every_other_hosts_container_by_name(host):
    """The fleet's containers resolve each other's names (NAME.HOST; NAME.fleet and NAME where only one
    host has it) from the inventory, without a daemon or a query to another host."""
    me = host.backend.name
    if me not in members():
        return
    for other in members():
        if other == me:
            continue
        name = "app.%s" % other
        for family in families(me):
            got = host.run("ip netns exec app getent ahostsv%d %s" % (family, name))
            assert got.rc == 0 and got.stdout.split()[0] == app_ip(other, family), (me, name, family, got.stdout)
            marker = "/by-name-from-%s-v%d-%s" % (me, family, RUN)
            assert host.run("ip netns exec app curl -%d -s -o /dev/null -w '%%{http_code}' --max-time 5 http://%s:8000%s"
                            % (family, name, marker)).stdout == "404"
            seen = clients(h(other).file("/run/nsbridge/workloads/app.log").content_string, marker)
            assert seen == [app_ip(me, family)], (me, other, family, seen)
