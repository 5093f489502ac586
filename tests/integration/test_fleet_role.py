"""The fleet role's bad variables fail before anything is made, each naming the variable (and the hosts):
checked by the role's argument spec and its filters, not by assert tasks (each a worker process a host).
Its network reaches bridge_network and containers beside nsbridge_networks, even one given with -e."""

import ipaddress
import os

from conftest import ROOT

PLAY = os.path.join(ROOT, "tests", "integration", "data", "fleet.yml")
LAB_PLAY = os.path.join(ROOT, "tests", "integration", "data", "fleet_lab.yml")


def test_a_wrong_fleet_is_an_error_naming_the_variable(sandbox):
    p = sandbox.prefix
    base = {"nsbridge_fleet_cidr": "10.230.0.0/16", "nsbridge_fleet_bridge": p + "fl",
            "nsbridge_fleet_allocation_file": "", "nsbridge_containers": [], "nsbridge_networks": []}
    links = sorted(sandbox.links())
    cases = [
        ({"nsbridge_fleet_mode": "bgp"}, "nsbridge_fleet_mode"),
        ({"nsbridge_fleet_group": p + "nosuch"},
         "nsbridge.network fleet: nsbridge_fleet_group %snosuch is not a group of the inventory" % p),
        ({"nsbridge_fleet_members": {"other": {"underlay": "192.0.2.1"}}},
         "host localhost is not in the fleet (nsbridge_fleet_members)"),
        ({"nsbridge_fleet_cidr6": "fd00:230::/48",
          "nsbridge_fleet_members": {"localhost": {"underlay": "192.0.2.1", "underlay6": "2001:db8::1"},
                                     "other": {"underlay": "192.0.2.2"}}},
         "nsbridge_fleet_cidr6 in routed mode needs nsbridge_fleet_underlay6 (an IPv6 address on the underlay) "
         "for other"),
        # the fleet network is the role's: a network of the user's by its name is an error, not replaced
        ({"nsbridge_networks": [{"name": "fleet", "bridge": p + "mine", "subnet": "10.231.0.0/24"}],
          "nsbridge_fleet_members": {"localhost": {"underlay": "192.0.2.1"}}},
         "nsbridge_networks[0]: network 'fleet' is the fleet role's (nsbridge_fleet_network, on bridge %sfl)" % p),
    ]
    for change, says in cases:
        proc, changed, failed = sandbox.playbook(PLAY, dict(base, **change))
        assert failed == 1 and changed == 0 and says in proc.stdout, (change, proc.stdout[-3000:])
        assert sorted(sandbox.namespaces()) == [sandbox.host] and sorted(sandbox.links()) == links, change
    # the same fleet, right: it builds, over an underlay the sandbox's host has (its peer is never sent to)
    sandbox.sh(None, "ip", "link", "add", p + "u0", "type", "veth", "peer", "name", p + "u1")
    sandbox.sh(None, "ip", "addr", "add", "192.0.2.1/24", "dev", p + "u0")
    sandbox.sh(None, "ip", "link", "set", p + "u0", "up")
    # nsbridge_networks, like every variable here, is an extra var (-e): it outranks any fact a role sets,
    # so the fleet network must reach the other roles beside it, not in it
    good = dict(base, nsbridge_fleet_members={"localhost": {"underlay": "192.0.2.1"}, "other": {"underlay": "192.0.2.2"}},
                nsbridge_containers=[{"name": p + "c1", "network": "fleet"}])
    proc, changed, failed = sandbox.playbook(PLAY, good)
    routes = sandbox.sh(None, "ip", "route").stdout
    assert failed == 0 and changed > 0 and " via 192.0.2.2 dev %su0" % p in routes, proc.stdout[-3000:] + routes
    bridge = sandbox.address(None, p + "fl")
    assert bridge in ipaddress.ip_network("10.230.0.0/16") and bridge.network != ipaddress.ip_network("10.230.0.0/16")
    # the container on the fleet network has an address of this host's fleet subnet, and reaches its gateway
    assert sandbox.address(p + "c1", "eth0").network == bridge.network
    assert sandbox.ping(p + "c1", str(bridge.ip))
    proc, changed, failed = sandbox.playbook(PLAY, good)
    assert failed == 0 and changed == 0, proc.stdout[-3000:]
    proc, changed, failed = sandbox.playbook(PLAY, dict(good, nsbridge_state="absent"))
    assert failed == 0 and changed > 0 and "192.0.2.2" not in sandbox.sh(None, "ip", "route").stdout, proc.stdout[-3000:]
    assert p + "fl" not in sandbox.links() and sandbox.namespaces() == [sandbox.host]


def test_lab_nodes_join_the_fleet_network(sandbox):
    """The lab role plans the fleet role's network too: a node on it gets an address of this host's fleet
    subnet and reaches the fleet bridge; nsbridge_networks (an extra var here) never lists it."""
    p = sandbox.prefix
    lab = {"name": p + "l", "nodes": {p + "n1": {"networks": ["fleet"]}, p + "n2": {}},
           "links": [{"endpoints": [p + "n1:eth1", p + "n2:eth1"]}]}
    extra = {"nsbridge_fleet_cidr": "10.232.0.0/16", "nsbridge_fleet_bridge": p + "fl", "nsbridge_fleet_allocation_file": "",
             "nsbridge_fleet_members": {"localhost": {"underlay": "192.0.2.1"}}, "nsbridge_networks": [],
             "nsbridge_containers": [], "nsbridge_lab": lab}
    proc, changed, failed = sandbox.playbook(LAB_PLAY, extra)
    assert failed == 0 and changed > 0, proc.stdout[-3000:]
    bridge = sandbox.address(None, p + "fl")
    assert sandbox.address(p + "n1", "eth0").network == bridge.network
    assert sandbox.ping(p + "n1", str(bridge.ip))
    assert p + "n2" in sandbox.namespaces() and "eth1" in sandbox.links(p + "n2")
    proc, changed, failed = sandbox.playbook(LAB_PLAY, extra)
    assert failed == 0 and changed == 0, proc.stdout[-3000:]
    proc, changed, failed = sandbox.playbook(LAB_PLAY, dict(extra, nsbridge_state="absent"))
    assert failed == 0 and changed > 0, proc.stdout[-3000:]
    assert p + "fl" not in sandbox.links() and sandbox.namespaces() == [sandbox.host]
