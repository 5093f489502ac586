# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``nsbridge.network.network_plan`` filter: role variables in, whole module batches out.

All validation of the roles' variables happens here, on the controller, before any
host is touched; every error names the network or container and the field.
"""

from __future__ import annotations

DOCUMENTATION = r'''
name: network_plan
short_description: Turn nsbridge role variables into the module batches the roles pass on
version_added: "0.1.0"
description:
  - Validates I(networks) and I(containers) (unknown keys, unknown networks, addresses outside the subnet,
    duplicate addresses or published ports, names too long), in IPv4 and IPv6, with the validators the
    modules use, and returns one list per module call. Errors name the network or container and the key.
  - Containers without C(ip) (C(ip6)) get an address derived from a hash of their name (the same on every
    run; on a hash collision the next free address, in name order), in each family their network has.
  - A published port without a host address is published in every family the container has (as Docker's
    C(-p 8080:80) on a dual-stack network); C([::]:8080:80) or C(0.0.0.0:8080:80) selects one.
  - A container's C(eth0) gets the MAC Docker derives from its address (C(02:42) and the last four octets),
    so re-creating the interface does not leave stale ARP or NDP entries for it behind.
positional: containers, runtime, state, backend, project, resolv_from, shared_names, fleet
options:
  _input:
    description: The networks (C(nsbridge_networks)).
    type: list
    elements: dict
    required: true
  containers:
    description: The containers (C(nsbridge_containers)).
    type: list
    elements: dict
  runtime:
    description: The container runtime for containers with an C(image) (C(nsbridge_container_runtime)); only C(podman).
    type: str
    default: podman
  state:
    description: C(present) or C(absent) (C(nsbridge_state)), for the module calls the plan returns.
    type: str
    default: present
    version_added: "0.4.0"
  backend:
    description: The firewall backend the calls name (C(nsbridge_backend)).
    type: str
    default: auto
    version_added: "0.4.0"
  project:
    description: The project the roles make everything for (C(nsbridge_project)); checked here.
    type: str
    default: default
    version_added: "0.4.0"
  resolv_from:
    description: Where the containers' upstream resolvers are read on the host, in order (C(nsbridge_resolv_from)).
    type: list
    elements: path
    version_added: "0.4.0"
  shared_names:
    description:
      - "{network: [{address, names}]}: names every container on that network resolves too (the fleet role sets it:
        the containers of the fleet's other hosts)."
    type: dict
    version_added: "0.4.0"
  fleet:
    description:
      - This host's part of the fleet (C(nsbridge_fleet_host), which the fleet role sets); its C(network), the fleet
        network, is planned after I(_input)'s. A network of I(_input) with its name is an error.
    type: dict
    version_added: "0.4.0"
'''

EXAMPLES = r'''
plan: "{{ nsbridge_networks | nsbridge.network.network_plan(nsbridge_containers) }}"
'''

RETURN = r'''
_value:
  description:
    - C(namespaces), C(bridges), C(masquerades), C(isolation), C(pairs), C(ports), C(workloads), C(names) (items
      for C(nsbridge.network.names) - each namespace's hosts entries and resolvers), C(summary), and
      C(images) (items for C(containers.podman.podman_containers)).
    - C(network_calls) and C(container_calls), the module calls of the C(bridge_network) and C(containers) roles for
      I(state), in the order C(nsbridge.network.apply) runs them; C(image_names), the image-based containers as
      C(podman:NAME) (for apply's C(external)).
  type: dict
'''

from ansible.errors import AnsibleFilterError

from ansible_collections.nsbridge.network.plugins.module_utils.common.errors import ValidationError
from ansible_collections.nsbridge.network.plugins.module_utils.common import validate
from ansible_collections.nsbridge.network.plugins.module_utils.roles.calls import add_shared_names, container_calls, network_calls
from ansible_collections.nsbridge.network.plugins.module_utils.roles.calls import image_calls as role_image_calls
from ansible_collections.nsbridge.network.plugins.module_utils.roles.network import network_plan as plan_roles, with_fleet


class PlanError(AnsibleFilterError):
    pass


def network_plan(networks, containers=None, runtime="podman", state="present", backend="auto", project="default",
                 resolv_from=None, shared_names=None, fleet=None):
    """The roles' variables, checked and turned into module batches (module_utils/roles/network.py),
    with each role's module calls (module_utils/roles/calls.py); ``fleet``: the fleet role's part of
    this host, whose network joins ``networks``."""
    try:
        validate.project(project, "nsbridge_project")
        plan = plan_roles(with_fleet(networks, fleet), containers, runtime, shared_names)
    except ValidationError as exc:
        raise PlanError("nsbridge.network roles: %s" % exc) from None
    plan["network_calls"] = network_calls(plan, state, backend)
    plan["container_calls"] = container_calls(plan, state, backend, resolv_from)
    plan["image_names"] = ["podman:" + i["name"] for i in plan["images"]]
    return plan


def image_calls(plan, state="present", persist=False, project="default", gone=None):
    """The containers role's podman containers to run and to remove (module_utils/roles/calls.py);
    ``gone``: apply's external_orphans (podman:NAME) for the containers no longer described."""
    names = [g.partition(":")[2] for g in gone or [] if g.startswith("podman:")]
    return role_image_calls(plan, state, persist, project, names)


class FilterModule:
    def filters(self):
        return {"network_plan": network_plan, "image_calls": image_calls, "add_shared_names": add_shared_names}
