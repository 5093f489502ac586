# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's argument spec, planner and result key, in one place.

Each module's ``main()`` takes its entry from here, and ``drift_info`` uses the very same
entries to plan several module calls in one process: one definition, so the check can never
read a call differently from the module that will run it.  A batch module's item options are
defined once, beside its planner (``ITEM_OPTIONS``), which reads its item keys from them.
Planners are imported only when their entry is asked for.
"""

from __future__ import annotations

from ..engine.edge import STATE_CHOICES, batch_spec, run


def _plain(**options):
    """Keyword arguments for a module with no batch form: its options plus ``state``."""
    return dict(argument_spec=dict(options, state=dict(type="str", choices=STATE_CHOICES, default="present")),
                supports_check_mode=True)


def _firewall_options():
    """Call-level options every firewall module takes (documented by the common.firewall fragment)."""
    from ..firewall.registry import AUTO, choices
    return dict(netns=dict(type="str"), backend=dict(type="str", choices=choices(), default=AUTO))


def _bridge():
    from ..planners import bridge as p
    return batch_spec(p.ITEM_OPTIONS, "name", "bridges"), p.plan_bridges, "bridges"


def _veth():
    from ..planners import veth as p
    return batch_spec(p.ITEM_OPTIONS, "name", "pairs"), p.plan_pairs, "pairs"


def _netns():
    from ..planners.netns import plan_namespaces
    return (_plain(name=dict(type="list", elements="str", required=True), sysctls=dict(type="dict")),
            plan_namespaces, "namespaces")


def _nat_masquerade():
    from ..planners import nat_masquerade as p
    spec = batch_spec(p.ITEM_OPTIONS, "source", "networks", ip_forward=dict(type="bool", default=True),
                      **_firewall_options())
    return spec, p.plan_masquerades, "masquerades"


def _port_publish():
    from ..planners import port_publish as p
    return batch_spec(p.ITEM_OPTIONS, "host_port", "ports", **_firewall_options()), p.plan_publishes, "published"


def _network_isolation():
    from ..planners import network_isolation as p
    spec = batch_spec(p.ITEM_OPTIONS, "bridge", "networks", peers=dict(type="list", elements="str"),
                      **_firewall_options())
    return spec, p.plan_isolation, "isolation"


def _workload():
    from ..planners import workload as p
    return batch_spec(p.ITEM_OPTIONS, "name", "workloads"), p.plan_workloads, "workloads"


def _route():
    from ..planners import route as p
    spec = batch_spec(p.ITEM_OPTIONS, "dst", "routes", purge=dict(type="bool", default=False), netns=dict(type="str"))
    return spec, p.plan_routes, "routes"


def _names():
    from ..planners import names as p
    spec = batch_spec(p.ITEM_OPTIONS, "netns", "namespaces",
                      upstream_from=dict(type="list", elements="path", default=list(p.UPSTREAM_FROM)),
                      root=dict(type="path", default=p.ROOT), shared=p.SHARED_OPTION)
    return spec, p.plan_names, "names"


def _vxlan():
    from ..planners import vxlan as p
    return _plain(**p.OPTIONS), p.plan_vxlan, "vxlan"


def _tunnel():
    from ..planners import tunnel as p
    return batch_spec(p.ITEM_OPTIONS, "name", "tunnels"), p.plan_tunnels, "tunnels"


def _impairment():
    from ..planners import impairment as p
    return batch_spec(p.ITEM_OPTIONS, "dev", "impairments"), p.plan_impairments, "impairments"


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
    "names": _names,
    "tunnel": _tunnel,
    "impairment": _impairment,
}


def _impairment_preflight():
    from ..planners.impairment import preflight
    return preflight


# what some modules check on the host before any call of an apply runs (a kernel feature a later
# call needs): an error there leaves everything as it was
PREFLIGHT = {"impairment": _impairment_preflight}


def preflight(name, params):
    """Raise the error a call would meet on this host for a reason found without planning it."""
    if name in PREFLIGHT:
        PREFLIGHT[name]()(params)


def calls_option(required):
    """The ``calls`` option of the modules that take other modules' calls (apply, drift_info,
    network_info)."""
    return dict(type="list", elements="dict", required=required, options=dict(
        module=dict(type="str", required=True, choices=sorted(ENTRIES)),
        args=dict(type="dict", default={}),
    ))


def entry(name):
    """(AnsibleModule keyword arguments, planner, result key) of module ``name``."""
    return ENTRIES[name]()


def run_module(module_class, name):
    """A module's whole main(): ``module_class`` is AnsibleModule (imported by the module, not here).
    A real run also tidies what nsbridge keeps under /run (see housekeeping), before and after."""
    from .housekeeping import sweep
    spec, plan, result_key = entry(name)
    module = module_class(**spec)
    if not module.check_mode:
        sweep()
    try:
        run(module, name, plan, result_key)
    finally:
        if not module.check_mode:
            sweep()
