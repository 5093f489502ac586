"""Nothing nsbridge keeps under /run outlives what it belongs to.

A namespace deleted behind nsbridge's back (``ip netns del``): its saved sysctl values and its
workloads are gone once the next run has passed.  A teardown leaves nothing under /run.
"""

import os

from ansible_collections.nsbridge.network.plugins.module_utils.kernel.run_state import STATE_DIR, netns_id, state_names
from ansible_collections.nsbridge.network.plugins.module_utils.planners.workload import WORKLOAD_DIR, marked_groups


def mine(cookie):
    return state_names("sysctl-%s-" % cookie)


def test_state_of_a_namespace_deleted_behind_our_back_goes_with_the_next_run(sandbox):
    router, c1 = sandbox.name("rt"), sandbox.name("c1")
    sandbox.run("netns", name=[router, c1])
    # a new namespace starts with the machine's IPv4 forwarding: this one, as a host that does not forward
    sandbox.sh(router, "sysctl", "-qw", "net.ipv4.ip_forward=0")
    assert not sandbox.run("nat_masquerade", netns=router, source="10.9.0.0/24", backend="nftables").get("failed")
    cookie = netns_id(router)
    assert mine(cookie) == ["sysctl-%s-net.ipv4.ip_forward" % cookie]
    worker = sandbox.name("w1")
    sandbox.run("workload", name=worker, netns=c1, command="sleep 300")
    assert os.path.exists(os.path.join(WORKLOAD_DIR, worker + ".pid")) and worker in marked_groups()

    sandbox.sh(None, "ip", "netns", "delete", router)
    sandbox.sh(None, "ip", "netns", "delete", c1)
    assert mine(cookie), "nothing has run since"
    assert not sandbox.run("bridge", name="br0").get("failed")  # any module's next real run
    assert mine(cookie) == [], "saved values of a namespace that is gone"
    assert not os.path.exists(os.path.join(WORKLOAD_DIR, worker + ".pid"))
    assert worker not in marked_groups(), "the workload kept the deleted namespace alive"
    sandbox.run("bridge", name="br0", state="absent")


def test_a_teardown_leaves_nothing_under_run(sandbox):
    c1 = sandbox.name("c1")
    before = sorted(os.listdir(STATE_DIR)) if os.path.isdir(STATE_DIR) else None
    sandbox.run("netns", name=[c1])
    sandbox.run("bridge", name="br0", addresses=["10.9.0.1/24"])
    sandbox.run("port_publish", host_port=8080, destination="10.9.0.2", bridge="br0", localhost=True, backend="nftables")
    sandbox.run("workload", name=sandbox.name("w1"), netns=c1, command="sleep 300")
    assert mine(netns_id(None)) == [] and mine(netns_id(sandbox.host))  # ip_forward, route_localnet saved
    sandbox.run("workload", name=sandbox.name("w1"), state="absent")
    sandbox.run("port_publish", host_port=8080, state="absent", backend="nftables")
    sandbox.run("bridge", name="br0", state="absent")
    sandbox.run("netns", name=[c1], state="absent")
    assert mine(netns_id(sandbox.host)) == []
    if before is None:
        assert not os.path.exists(STATE_DIR), os.listdir(STATE_DIR)
    else:  # something else on this machine keeps state there (a site.sh run): only ours went
        assert sorted(os.listdir(STATE_DIR)) == before
    assert not os.path.exists("/run/nsbridge.lock")
