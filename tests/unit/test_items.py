"""Calls as objects on a host (calls/items.py): one identity per object whatever the spelling, the
calls that remove exactly a set of them, and what a user reads about them."""

from ansible_collections.nsbridge.network.plugins.module_utils.calls.apply import _validate_all
from ansible_collections.nsbridge.network.plugins.module_utils.calls.items import (describe, identities,
                                                                                   removal_calls)
from ansible_collections.nsbridge.network.plugins.module_utils.common import validate

import pytest
from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import ValidationError


def entries(*calls):
    out, gone = {}, set()
    for name, _path, params in _validate_all(list(calls), False):
        present, absent = identities(name, params)
        out.update({k: (name, item, call) for k, (item, call) in present.items()})
        gone |= absent
    return out, gone


def made_by(*calls):
    """{identity: entry} the calls make."""
    return entries(*calls)[0]


def test_one_identity_per_object_whatever_the_spelling():
    a = made_by({"module": "port_publish", "args": {"ports": [{"host_port": "8080", "destination": "10.0.0.2"}]}},
                {"module": "nat_masquerade", "args": {"source": "10.0.0.0/24"}},
                {"module": "route", "args": {"routes": [{"dst": "fd00::/64", "via": "fd00:1::1"}], "netns": "n1"}})
    b = made_by({"module": "port_publish", "args": {"host_port": 8080, "destination": "10.0.0.2", "protocol": "tcp",
                                                    "destination_port": 8080}},
                {"module": "nat_masquerade", "args": {"networks": [{"source": "10.0.0.0/24", "bridge": "br0"}]}},
                {"module": "route", "args": {"routes": [{"dst": "fd00::/64", "via": "fd00:1::1", "metric": 1024}],
                                             "netns": "n1"}})
    assert sorted(a) == sorted(b) == ["nat_masquerade||10.0.0.0/24", "port_publish||tcp:*:8080",
                                      "route|n1|fd00::/64|1024"]


def test_items_of_every_kind_and_absent_ones():
    made, gone = entries(
        {"module": "netns", "args": {"name": ["web1", "web2"]}},
        {"module": "veth", "args": {"pairs": [{"name": "v1", "peer": "eth0", "peer_netns": "web1",
                                               "peer_addresses": ["10.0.0.2/24"]}], "netns": None}},
        {"module": "vxlan", "args": {"name": "nsb-vx", "vni": 7, "local": "192.0.2.1"}},
        {"module": "workload", "args": {"workloads": [{"name": "w1", "netns": "web1", "command": "sleep 9"},
                                                      {"name": "w2", "state": "absent"}]}},
        {"module": "port_publish", "args": {"ports": [{"host_port": 53, "protocol": "udp",
                                                       "destination": "fd00::2", "host_ip": "fd00::1"}]}})
    assert sorted(made) == ["netns|web1", "netns|web2", "port_publish||udp:[fd00::1]:53", "veth||v1", "vxlan||nsb-vx",
                            "workload|w1"]
    assert gone == {"workload|w2"}


def test_removal_calls_remove_exactly_them_dependents_first():
    made = made_by(
        {"module": "netns", "args": {"name": ["web2"]}},
        {"module": "bridge", "args": {"name": "br1"}},
        {"module": "veth", "args": {"pairs": [{"name": "v2", "peer": "eth0", "peer_netns": "web2"}]}},
        {"module": "port_publish", "args": {"backend": "iptables", "ports": [
            {"host_port": 8081, "destination": "fd00::3"}, {"host_port": 8082, "destination": "10.0.0.3",
                                                            "host_ip": "127.0.0.1", "bridge": "br1"}]}},
        {"module": "workload", "args": {"name": "w2", "netns": "web2", "command": "sleep 9"}})
    calls = removal_calls(made)
    assert [c["module"] for c in calls] == ["workload", "port_publish", "veth", "bridge", "netns"]
    assert all(c["args"]["state"] == "absent" for c in calls)
    ports = calls[1]["args"]
    assert ports["backend"] == "iptables" and sorted(ports["ports"], key=str) == sorted([
        {"host_port": "8081-8081", "protocol": "tcp", "destination": "fd00::3"},
        {"host_port": "8082-8082", "protocol": "tcp", "host_ip": "127.0.0.1", "destination": "10.0.0.3"}], key=str)
    assert calls[4]["args"] == {"name": ["web2"], "state": "absent"}
    # and every one of them is a valid call of its module
    assert len(_validate_all(calls, False)) == len(calls)


def test_what_goes_is_said_by_container_and_network():
    made = made_by(
        {"module": "netns", "args": {"name": ["web2"]}},
        {"module": "bridge", "args": {"name": "nsb-back"}},
        {"module": "veth", "args": {"pairs": [{"name": "v2", "peer": "eth0", "peer_netns": "web2",
                                               "peer_addresses": ["10.0.0.3/24"]}]}},
        {"module": "port_publish", "args": {"ports": [{"host_port": 8081, "destination": "10.0.0.3"},
                                                      {"host_port": 8083, "destination": "10.0.0.9"}]}},
        {"module": "nat_masquerade", "args": {"networks": [{"source": "10.9.0.0/24", "bridge": "nsb-back"}]}},
        {"module": "network_isolation", "args": {"networks": [{"bridge": "nsb-back"}]}})
    assert describe(made, made) == ["container web2 (namespace, veth v2, published port tcp:*:8081)",
                                    "network bridge nsb-back (bridge, masquerade 10.9.0.0/24, isolation)",
                                    "published port tcp:*:8083"]


def test_project_names():
    assert validate.project("shop-2_a", "nsbridge_project") == "shop-2_a"
    for bad in ("", "-x", "a" * 25, "a/b", "a b", None, 7):
        with pytest.raises(ValidationError, match="nsbridge_project: .* is not a project name"):
            validate.project(bad, "nsbridge_project")
