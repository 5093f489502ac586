# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's argument spec, planner and result key, in one place.

Each module's ``main()`` takes its entry from here, and ``drift_info`` uses the very same
entries to plan several module calls in one process: one definition, so the check can never
read a call differently from the module that will run it.  Planners are imported only when
their entry is asked for.
"""

from __future__ import annotations

from .edge import FIREWALL_OPTIONS, STATE_CHOICES, batch_spec, run


def _plain(**options):
    """Keyword arguments for a module with no batch form: its options plus ``state``."""
    return dict(argument_spec=dict(options, state=dict(type="str", choices=STATE_CHOICES, default="present")),
                supports_check_mode=True)


def _bridge():
    from .bridge_plan import plan_bridges
    items = dict(
        name=dict(type="str"),
        addresses=dict(type="list", elements="str"),
        mtu=dict(type="int"),
        stp=dict(type="bool", default=False),
        mac=dict(type="str"),
        ports=dict(type="list", elements="str"),
        netns=dict(type="str"),
    )
    return batch_spec(items, "name", "bridges"), plan_bridges, "bridges"


def _veth():
    from .veth_plan import plan_pairs
    items = dict(
        name=dict(type="str"),
        peer=dict(type="str"),
        netns=dict(type="str"),
        peer_netns=dict(type="str"),
        bridge=dict(type="str"),
        hairpin=dict(type="bool"),
        addresses=dict(type="list", elements="str"),
        peer_addresses=dict(type="list", elements="str"),
        peer_gateway=dict(type="str"),
        mtu=dict(type="int"),
        mac=dict(type="str"),
        peer_mac=dict(type="str"),
    )
    return batch_spec(items, "name", "pairs"), plan_pairs, "pairs"


def _netns():
    from .netns_plan import plan_namespaces
    return _plain(name=dict(type="list", elements="str", required=True)), plan_namespaces, "namespaces"


def _nat_masquerade():
    from .nat_plan import plan_masquerades
    items = dict(
        source=dict(type="str"),
        bridge=dict(type="str"),
        out_interface=dict(type="str"),
        forward=dict(type="bool", default=True),
        exclude=dict(type="list", elements="str"),
        accept_from=dict(type="list", elements="str"),
    )
    spec = batch_spec(items, "source", "networks", ip_forward=dict(type="bool", default=True), **FIREWALL_OPTIONS)
    return spec, plan_masquerades, "masquerades"


def _port_publish():
    from .publish_plan import plan_publishes
    items = dict(
        host_port=dict(type="raw"),
        destination=dict(type="str"),
        destination_port=dict(type="raw"),
        protocol=dict(type="str", choices=["tcp", "udp", "sctp"], default="tcp"),
        host_ip=dict(type="str"),
        bridge=dict(type="str"),
        local=dict(type="bool", default=True),
        localhost=dict(type="bool", default=False),
    )
    return batch_spec(items, "host_port", "ports", **FIREWALL_OPTIONS), plan_publishes, "published"


def _network_isolation():
    from .isolation_plan import plan_isolation
    items = dict(
        bridge=dict(type="str"),
        isolated=dict(type="bool", default=True),
        internal=dict(type="bool", default=False),
    )
    spec = batch_spec(items, "bridge", "networks", peers=dict(type="list", elements="str"), **FIREWALL_OPTIONS)
    return spec, plan_isolation, "isolation"


def _workload():
    from .workload_plan import plan_workloads
    items = dict(name=dict(type="str"), netns=dict(type="str"), command=dict(type="str"))
    return batch_spec(items, "name", "workloads"), plan_workloads, "workloads"


def _route():
    from .route_plan import plan_routes
    items = dict(
        dst=dict(type="str"),
        via=dict(type="str"),
        dev=dict(type="str"),
        onlink=dict(type="bool", default=False),
        metric=dict(type="int", default=0),
    )
    spec = batch_spec(items, "dst", "routes", purge=dict(type="bool", default=False), netns=dict(type="str"))
    return spec, plan_routes, "routes"


def _vxlan():
    from .vxlan_plan import plan_vxlan
    spec = _plain(
        name=dict(type="str", required=True),
        vni=dict(type="int"),
        local=dict(type="str"),
        dev=dict(type="str"),
        port=dict(type="int", default=4789),
        mtu=dict(type="int"),
        mac=dict(type="str"),
        addresses=dict(type="list", elements="str"),
        peers=dict(type="list", elements="dict", default=[], options=dict(
            underlay=dict(type="str", required=True), mac=dict(type="str", required=True),
            address=dict(type="str", required=True))),
        netns=dict(type="str"),
    )
    return spec, plan_vxlan, "vxlan"


ENTRIES = {
    "bridge": _bridge,
    "veth": _veth,
    "netns": _netns,
    "nat_masquerade": _nat_masquerade,
    "port_publish": _port_publish,
    "network_isolation": _network_isolation,
    "workload": _workload,
    "route": _route,
    "vxlan": _vxlan,
}


def entry(name):
    """(AnsibleModule keyword arguments, planner, result key) of module ``name``."""
    return ENTRIES[name]()


def run_module(module_class, name):
    """A module's whole main(): ``module_class`` is AnsibleModule (imported by the module, not here)."""
    spec, plan, result_key = entry(name)
    run(module_class(**spec), name, plan, result_key)
