"""A project never takes over what nsbridge did not make: a bridge, a namespace or a veth of the host
with the name a call asks for (a host's own br0, another tool's namespace) is an error naming it and
what it holds, found before anything changes, and it is left byte-for-byte as it was. A module used
on its own (no project) converges what it is given, as it always did.

Everything runs in the test's own namespaces.
"""

import os
import subprocess

from conftest import ROOT


def state(box, netns=None):
    """Every link of ``netns`` (None: the sandbox host) with its addresses, as ``ip -br addr`` prints them."""
    return box.sh(netns, "ip", "-br", "addr").stdout


def test_a_bridge_of_the_hosts_own_is_not_taken_over(sandbox):
    box = sandbox
    box.sh(None, "ip", "link", "add", "br0", "type", "bridge")
    box.sh(None, "ip", "addr", "add", "192.0.2.10/24", "dev", "br0")
    box.sh(None, "ip", "link", "add", "uplink", "type", "veth", "peer", "name", "uplink-p")
    box.sh(None, "ip", "link", "set", "uplink", "master", "br0")
    before = state(box)
    call = [{"module": "bridge", "args": {"bridges": [{"name": "br0", "addresses": ["10.10.0.1/16"]}]}}]
    for check in (True, False):
        refused = box.run("apply", check=check, calls=call, record="20-networks")
        assert refused.get("failed"), refused
        assert "bridges[0].name: bridge 'br0' (addresses 192.0.2.10/24; ports uplink) exists and nsbridge did not " \
            "make it; project %r does not take over what others made" % box.project in refused["msg"], refused["msg"]
    assert state(box) == before, "the host's bridge changed"

    # the main job, as the README's first command runs it, on a host whose br0 is its own
    proc, _changed, failed = box.playbook(os.path.join(ROOT, "playbooks", "site.yml"),
                                          {"nsbridge_proof": False, "nsbridge_topology": False})
    assert failed == 1 and "bridge 'br0' (addresses 192.0.2.10/24; ports uplink) exists and nsbridge did not" \
        in proc.stdout, proc.stdout[-3000:]
    assert state(box) == before, "site.yml changed the host's bridge"
    assert box.namespaces() == [box.host], "site.yml made containers though its network was refused"

    # a module on its own converges what it is given (no project: the user named that bridge)
    mine = box.run("bridge", name="br0", addresses=["10.10.0.1/16"])
    assert mine["changed"] and not mine.get("failed"), mine
    assert "10.10.0.1/16" in state(box)


def test_a_namespace_or_veth_of_somebody_elses_is_not_taken_over(sandbox):
    box = sandbox
    theirs = box.name("web")
    subprocess.run(["ip", "netns", "add", theirs], check=True)  # as another tool would, from the machine
    box.sh(None, "ip", "link", "add", "vweb", "type", "veth", "peer", "name", "vweb-p")
    box.sh(None, "ip", "link", "set", "vweb-p", "netns", theirs, "name", "eth0")
    inside, outside = state(box, theirs), state(box)
    refused = box.run("apply", calls=[{"module": "netns", "args": {"name": [box.name("db"), theirs]}}],
                      record="30-containers")
    assert refused.get("failed") and "name[1]: network namespace %r (links eth0) exists and nsbridge did not make " \
        "it" % theirs in refused["msg"], refused["msg"]
    assert box.namespaces() == sorted([box.host, theirs]), "nothing is made when one item is refused"
    veth = box.run("apply", record="30-containers", calls=[{"module": "veth", "args": {"pairs": [
        {"name": "vweb", "peer": "eth0", "peer_netns": theirs, "peer_addresses": ["10.10.0.2/16"]}]}}])
    assert veth.get("failed") and "pairs[0].name: veth 'vweb' exists and nsbridge did not make it" in veth["msg"], veth
    assert (state(box, theirs), state(box)) == (inside, outside), "somebody else's namespace or veth changed"
