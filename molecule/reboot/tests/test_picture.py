"""The fleet's picture (playbooks/topology.yml, drawn after the reboot) shows what network_info found
on the hosts, nothing else: every network, container, published port and the routes between hosts."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"], "tests"))

from picture import expected, from_svg  # noqa: E402

testinfra_hosts = ["local://"]
PICTURE = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "topology")


def test_the_picture_is_the_facts():
    with open(os.path.join(PICTURE, "facts.json")) as f:
        facts = json.load(f)
    assert sorted(facts) == ["nsbr-h1", "nsbr-h2"]
    nodes, edges = expected(facts)
    # the routes between hosts go through the fleet's hub: host -> hub -> the other host's network
    assert {("nsbr-h1/host", "fleet/routes"), ("fleet/routes", "nsbr-h2/net/nsb-fleet"),
            ("nsbr-h2/host", "fleet/routes"), ("fleet/routes", "nsbr-h1/net/nsb-fleet")} <= edges
    assert {"nsbr-h1/ctr/web", "nsbr-h2/ctr/app", "nsbr-h1/port/tcp:*:8080"} <= nodes
    assert from_svg(os.path.join(PICTURE, "topology.svg")) == (nodes, edges)
    with open(os.path.join(PICTURE, "topology.md")) as f:
        mermaid = f.read()
    assert "nsbr_h1_host -.->|\"to nsbr-h2\"| fleet_routes" in mermaid
    assert "fleet_routes -.->|\"via 192.168.79.12\"| nsbr_h2_net_nsb_fleet" in mermaid
