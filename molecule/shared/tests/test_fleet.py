"""Testinfra verifier for the nsbridge fleet: proven by traffic between the fleet's own hosts.

Every test runs in both verify passes. Before the side effect: published ports answer from
another host, containers on one bridge reach each other, the two networks cannot, egress
reaches the outside host masqueraded. After it (the hosts carry /run/nsbridge-fleet-torn-down):
the same checks assert that nothing of it is left.
"""

import os

import pytest
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
# podman:// straight to each container: much faster than a round trip through Ansible per command
testinfra_hosts = ["podman://" + name for name in RUNNER.get_hosts("fleet")]

CURL = "curl -s -o /dev/null -w '%{http_code}' --max-time 5 "


def underlay(name):
    return RUNNER.get_variables(name)["underlay"]


@pytest.fixture(scope="module")
def outside():
    name = RUNNER.get_hosts("outside")[0]
    return testinfra.get_host("podman://" + name), name


def torn_down(host):
    return host.file("/run/nsbridge-fleet-torn-down").exists


def changed(host):
    """The host whose variables dropped container web2 and app's published port (changed.yml)."""
    return host.file("/run/nsbridge-fleet-changed").exists and not torn_down(host)


def test_published_ports_from_another_host(host, outside):
    out, _name = outside
    address = underlay(host.backend.get_hostname())
    for port in (8080, 9090):
        status = out.run(CURL + "http://%s:%d/" % (address, port)).stdout
        if torn_down(host) or (changed(host) and port == 9090):
            assert status == "000", "port %d still answers after teardown" % port
        else:
            assert status == "200", (address, port)


def test_containers_on_one_bridge_reach_each_other(host):
    if torn_down(host):
        assert host.run("ip netns exec web true").rc != 0, "container namespace left behind"
        return
    if changed(host):
        assert host.run("ip netns exec web2 true").rc != 0, "web2 is no longer in the variables"
        assert host.run("ip netns exec web ping -c1 -W1 10.21.0.11").rc != 0
        return
    assert host.run("ip netns exec web " + CURL + "http://10.21.0.11:8000/").stdout == "200"
    assert host.run("ip netns exec web2 ping -c1 -W1 10.21.0.10").rc == 0


def test_isolated_networks_do_not_reach_each_other(host):
    if torn_down(host):
        assert "br-back" not in host.run("ip -br link").stdout
        return
    assert host.run("ip netns exec web " + CURL + "http://10.22.0.10:8000/").stdout != "200"
    assert host.run("ip netns exec app ping -c1 -W1 10.21.0.10").rc != 0
    # ...while each network still works on its own
    assert host.run("ip netns exec app ping -c1 -W1 10.22.0.1").rc == 0


def test_egress_reaches_outside_masqueraded(host, outside):
    out, name = outside
    me = host.backend.get_hostname()
    if torn_down(host):
        assert "nsbridge" not in host.run("nft list ruleset").stdout
        assert "NSBRIDGE" not in host.run("iptables-legacy-save 2>/dev/null; true").stdout
        return
    marker = "/egress-from-%s" % me
    assert host.run("ip netns exec web " + CURL + "http://%s:8000%s" % (underlay(name), marker)).stdout == "404"
    log = out.file("/run/nsbridge/workloads/outside.log").content_string
    # the outside server listens on both families: an IPv4 client shows as ::ffff:a.b.c.d
    sources = [line.split()[0].replace("::ffff:", "") for line in log.splitlines() if marker in line]
    assert sources and set(sources) == {underlay(me)}, "outside saw %s, not the host's address" % sources


def test_traces(host):
    """Before teardown: what nsbridge made is there; after: nothing of it is left."""
    links = host.run("ip -br link").stdout
    if not torn_down(host):
        wanted = RUNNER.get_variables(host.backend.get_hostname()).get("fleet_image_container", False)
        expected = (4 if wanted else 3) - (1 if changed(host) else 0)
        assert "br-front" in links and host.run("ip netns list").stdout.count("\n") == expected
        assert host.run("sysctl -n net.ipv4.ip_forward").stdout.strip() == "1"
        return
    assert host.run("ip netns list").stdout.strip() == ""
    assert "br-front" not in links and "br-back" not in links and "nsb" not in links
    assert host.run("pgrep -f '[h]ttp.server 8000'").rc != 0, "workloads left running"
    assert host.run("sysctl -n net.ipv4.ip_forward").stdout.strip() == "0"


def test_image_based_container(host, outside):
    """Scenarios with fleet_image_container: busybox's httpd from a local image, run by podman in its
    nsbridge namespace, answers through its published port from another host; after teardown it is
    gone.  Other scenarios: no container of podman's at all."""
    out, _name = outside
    wanted = RUNNER.get_variables(host.backend.get_hostname()).get("fleet_image_container", False)
    running = host.run("podman ps -a --format '{{.Names}}'").stdout.split()
    if torn_down(host) or not wanted:
        assert running == [], "podman containers: %s" % running
        return
    assert running == ["imgweb"]
    assert host.run("podman inspect -f '{{.HostConfig.NetworkMode}}' imgweb").stdout.strip() == "ns:/run/netns/imgweb"
    address = underlay(host.backend.get_hostname())
    body = out.run("curl -s --max-time 5 http://%s:8081/" % address).stdout.strip()
    assert body == "busybox image", body
    assert host.run("ip netns exec web curl -s --max-time 5 http://10.21.0.20/").stdout.strip() == "busybox image"


def test_changed_inventory_seen_from_another_host(host):
    """After the variables drop web2 and app's port 9090 on the first host: from another fleet host its
    port 9090 no longer answers while 8080 does, web2's workload, veth and record entries are gone."""
    if not changed(host):
        return
    me = host.backend.get_hostname()
    other = testinfra.get_host("podman://" + [h for h in RUNNER.get_hosts("fleet") if h != me][0])
    assert other.run(CURL + "http://%s:9090/" % underlay(me)).stdout == "000"
    assert other.run(CURL + "http://%s:8080/" % underlay(me)).stdout == "200"
    assert not host.file("/run/nsbridge/workloads/web2.pid").exists
    # every workload carries its name in its environment: web2's process is gone with it
    assert host.run("grep -lsa NSBRIDGE_WORKLOAD=web2 /proc/[0-9]*/environ").stdout.strip() == ""
    record = host.file("/var/lib/nsbridge/projects/default/30-containers.json").content_string
    assert "web2" not in record and "tcp:*:9090" not in record and "tcp:*:8080" in record
