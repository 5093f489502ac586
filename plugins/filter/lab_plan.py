# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``nsbridge.network.lab_plan`` filter: a lab's topology in, one host's module calls out."""

from __future__ import annotations

DOCUMENTATION = r'''
name: lab_plan
short_description: Turn a lab topology (nsbridge_lab) into one host's module calls
version_added: "0.4.0"
description:
  - Checks the whole lab - node names, endpoints (C(NODE:INTERFACE)) naming nodes of the lab, one interface used
    by two links, addresses outside their link's subnet, C(host) keys naming hosts of the inventory, impairment
    values netem would refuse - and returns the calls of I(host)'s part. Errors name the node or the link and
    the field, before anything changes.
  - Every host computes the same lab from the inventory alone, so a play under C(--limit) builds exactly the
    limited hosts' part. See the P(nsbridge.network.lab#role) role for what a link becomes.
positional: host, inventory, hostvars, networks, containers, runtime, state, fleet
options:
  _input:
    description: The lab (C(nsbridge_lab)).
    type: dict
    required: true
  host:
    description: The host whose part is returned (C(inventory_hostname)).
    type: str
    required: true
  inventory:
    description: The inventory's hosts (C(groups['all'])), for the nodes' C(host) keys.
    type: list
    elements: str
    required: true
  hostvars:
    description: C(hostvars), read for the underlay address of the hosts the lab places nodes on.
    type: dict
  networks:
    description: C(nsbridge_networks), for nodes on C(networks).
    type: list
    elements: dict
  containers:
    description: C(nsbridge_containers), whose names the nodes may not take.
    type: list
    elements: dict
  runtime:
    description: The runtime of nodes with an C(image) (C(nsbridge_container_runtime)).
    type: str
    default: podman
  state:
    description: C(present) or C(absent).
    type: str
    default: present
  fleet:
    description:
      - This host's part of the fleet (C(nsbridge_fleet_host), which the fleet role sets); nodes may join its
        C(network), the fleet network, too.
    type: dict
    version_added: "0.4.0"
'''

EXAMPLES = r'''
lab: "{{ nsbridge_lab | nsbridge.network.lab_plan(inventory_hostname, groups['all'], hostvars) }}"
'''

RETURN = r'''
_value:
  description:
    - C(calls), the module calls for C(nsbridge.network.apply), in order; C(record), the apply record (C(40-lab-NAME));
      C(images) and C(image_names), the nodes that run an image under podman; C(summary), the lab's nodes and
      links as planned (hosts, addresses, VNIs, impairments).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import ValidationError
from ansible_collections.nsbridge.network.plugins.module_utils.roles.lab import from_containerlab, plan
from ansible_collections.nsbridge.network.plugins.module_utils.roles.network import with_fleet


def lab_plan(lab, host, inventory, hostvars=None, networks=None, containers=None, runtime="podman", state="present",
             fleet=None):
    try:
        return plan(lab, host, list(inventory), hostvars, with_fleet(networks, fleet), containers, runtime, state)
    except ValidationError as exc:
        raise AnsibleFilterError("nsbridge.network lab: %s" % exc) from None


def containerlab_lab(topology, hosts=None, images=False):
    try:
        return from_containerlab(topology, hosts, images)
    except ValidationError as exc:
        raise AnsibleFilterError("nsbridge.network containerlab_lab: %s" % exc) from None


class FilterModule:
    def filters(self):
        return {"lab_plan": lab_plan, "containerlab_lab": containerlab_lab}
