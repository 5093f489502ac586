"""drift_info: one process tells whether a list of module calls would change the host.

Roles skip every module task when it reports no drift, so it must see every kind of
damage the modules themselves would repair.
"""

import json
import os
import signal
import time

import pytest


def _kill_workload(name):
    with open("/run/nsbridge/workloads/%s.pid" % name) as f:
        pid = json.load(f)["pid"]
    os.killpg(pid, signal.SIGKILL)
    for _attempt in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.02)


def calls(sandbox):
    p = sandbox.prefix
    return [
        {"module": "bridge", "args": {"bridges": [{"name": p + "br", "addresses": ["10.30.0.1/24"]}]}},
        {"module": "nat_masquerade", "args": {"networks": [{"source": "10.30.0.0/24", "bridge": p + "br"}],
                                              "backend": "nftables"}},
        {"module": "netns", "args": {"name": [p + "c1", p + "c2"]}},
        {"module": "veth", "args": {"pairs": [
            {"name": p + "v1", "peer": "eth0", "peer_netns": p + "c1", "bridge": p + "br",
             "peer_addresses": ["10.30.0.2/24"], "peer_gateway": "10.30.0.1"},
            {"name": p + "v2", "peer": "eth0", "peer_netns": p + "c2", "bridge": p + "br",
             "peer_addresses": ["10.30.0.3/24"], "peer_gateway": "10.30.0.1"}]}},
        {"module": "port_publish", "args": {"ports": [{"host_port": 8088, "destination": "10.30.0.2",
                                                       "destination_port": 80, "bridge": p + "br"}],
                                            "backend": "nftables"}},
        {"module": "workload", "args": {"workloads": [{"name": p + "w1", "netns": p + "c1",
                                                       "command": "sleep 300"}]}},
    ]


def build(sandbox):
    for call in calls(sandbox):
        assert not sandbox.run(call["module"], **call["args"]).get("failed")


def drift(sandbox, **kw):
    result = sandbox.run("drift_info", calls=calls(sandbox), **kw)
    assert not result.get("failed"), result
    assert result["changed"] is False
    return {c["module"]: c["items"] for c in result["calls"] if c["drift"]}


def test_fresh_host_drifts_and_nothing_is_made(sandbox):
    before = sorted(sandbox.links()), sorted(sandbox.namespaces())
    found = drift(sandbox)
    assert set(found) == {"bridge", "nat_masquerade", "netns", "veth", "port_publish", "workload"}
    assert (sorted(sandbox.links()), sorted(sandbox.namespaces())) == before


@pytest.mark.parametrize("damage", ["bridge_address", "netns", "veth", "firewall_rule", "firewall_jump", "workload",
                                    "none"])
def test_every_kind_of_damage_is_seen_and_the_module_repairs_it(sandbox, damage):
    p = sandbox.prefix
    build(sandbox)
    assert drift(sandbox) == {}, "a converged host reports no drift"
    expect = {
        "bridge_address": ("bridge", lambda: sandbox.sh(None, "ip", "addr", "flush", "dev", p + "br")),
        "netns": ("netns", lambda: _delete_netns(sandbox, p + "c2", p + "v2")),
        "veth": ("veth", lambda: sandbox.sh(p + "c1", "ip", "link", "delete", "eth0")),
        "firewall_rule": ("port_publish", lambda: sandbox.sh(None, "nft", "flush", "chain", "ip", "nsbridge",
                                                             "prerouting-local/0/tcp/8088")),
        # the way into the published port's rules: every firewall module sees it, the first one repairs it
        "firewall_jump": ("nat_masquerade", lambda: sandbox.sh(None, "nft", "flush", "chain", "ip", "nsbridge",
                                                               "prerouting-local")),
        "workload": ("workload", lambda: _kill_workload(p + "w1")),
        "none": (None, lambda: None),
    }[damage]
    module, act = expect
    act()
    found = drift(sandbox)
    if module is None:
        assert found == {}
        return
    assert module in found, found
    # the module named by drift_info repairs it; then nothing drifts
    runs = [sandbox.run(call["module"], diff=True, **call["args"]) for call in calls(sandbox)]
    assert not [r for r in runs if r.get("failed")], runs
    assert runs[calls(sandbox).index(next(c for c in calls(sandbox) if c["module"] == module))]["changed"]
    left = drift(sandbox)
    assert left == {}, (left, [r.get("diff") for r in runs])


def _delete_netns(sandbox, name, host_end):
    """Delete namespace ``name`` as `ip netns delete` does, and wait until the kernel has finished
    destroying it (it does so later, in a worker): its veth's host end is gone only then."""
    sandbox.sh(None, "ip", "netns", "delete", name)
    deadline = time.monotonic() + 10
    while host_end in sandbox.links() and time.monotonic() < deadline:
        time.sleep(0.05)


def test_bad_arguments_name_the_call(sandbox):
    result = sandbox.run("drift_info", calls=[{"module": "netns", "args": {"name": ["ok"]}},
                                              {"module": "port_publish", "args": {"ports": [{"host_port": 0}]}}])
    assert result["failed"]
    assert "calls[1]" in result["msg"] and "port_publish" in result["msg"] and "host_port" in result["msg"], result
    result = sandbox.run("drift_info", calls=[{"module": "veth", "args": {"pairs": [{"name": "x", "bogus": 1}]}}])
    assert result["failed"] and "calls[0]" in result["msg"] and "bogus" in result["msg"], result
