# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters topology_graph, topology_dot, topology_mermaid: a picture of what network_info found
(documented in topology_graph.yml, topology_dot.yml, topology_mermaid.yml beside this file; the
drawing is in module_utils/roles/topology.py)."""

from __future__ import annotations

from ansible_collections.nsbridge.network.plugins.module_utils.roles.topology import (
    topology_dot, topology_graph, topology_mermaid)


class FilterModule:
    def filters(self):
        return {"topology_graph": topology_graph, "topology_dot": topology_dot, "topology_mermaid": topology_mermaid}
