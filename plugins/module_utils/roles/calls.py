# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module calls each role hands to ``nsbridge.network.apply``, in order, for present and absent.

One function per role.  Each returns a list of ``{module, args}``; the role's task runs exactly
that list, so what a role does is read here (and unit-tested), not worked out in Jinja.

Order matters both ways: what others stand on is made first and removed last.  Present: bridges
before their masquerade and isolation; namespaces, then veths into them, then published ports,
then workloads.  Absent: the reverse, and a module with nothing to do is not called at all.
"""

from __future__ import annotations


def _call(module, **args):
    return {"module": module, "args": args}


def network_calls(plan, state, backend):
    """The bridge_network role: bridges, egress NAT, isolation (``plan`` from roles.network)."""
    kinds = (("nat_masquerade", "masquerades"), ("network_isolation", "isolation"))
    firewall = [(module, key, plan[key]) for module, key in kinds if plan[key]]
    if state == "present":
        calls = [_call("bridge", bridges=plan["bridges"])] if plan["bridges"] else []
        return calls + [_call(module, networks=items, backend=backend, state=state) for module, _k, items in firewall]
    calls = [_call(module, networks=items, backend=backend, state=state) for module, _k, items in firewall]
    return calls + ([_call("bridge", bridges=plan["bridges"], state="absent")] if plan["bridges"] else [])


def _names_args(plan, resolv_from):
    args = {"upstream_from": resolv_from} if resolv_from else {}
    if plan.get("names_shared"):
        args["shared"] = plan["names_shared"]
    return args


def container_calls(plan, state, backend, resolv_from=None):
    """The containers role: namespaces, veths, names (hosts files), published ports, workloads (images go
    through podman, beside this list: see the role's tasks)."""
    # names before workloads: a workload sees its namespace's hosts file only if it was there first
    steps = [("netns", "name", "namespaces", {}), ("veth", "pairs", "pairs", {}), ("names", "namespaces", "names", _names_args(plan, resolv_from)),
             ("port_publish", "ports", "ports", {"backend": backend}), ("workload", "workloads", "workloads", {})]
    if state == "absent":
        steps.reverse()
    calls = []
    for module, option, key, extra in steps:
        if plan[key]:
            args = dict(extra, **{option: plan[key]})
            if state == "absent":
                args["state"] = "absent"
            calls.append({"module": module, "args": args})
    return calls


def add_shared_names(calls, shared, exclude=None):
    """``calls`` (container_calls) with ``shared`` ({network: [{address, names, origin}]}, the fleet role's
    names of every host's containers) added to their names call's lists of those networks, leaving out
    the entries whose ``origin`` is ``exclude`` (this host's own, which the list has already).  Done in the
    task that applies them, so no host keeps a copy of the fleet's names as a fact (hosts^2 for the play)."""
    out = []
    for call in calls:
        lists = call["args"].get("shared") if call["module"] == "names" else None
        if lists and any(network in lists for network in shared or {}):
            lists = dict(lists)
            for network, entries in shared.items():
                if network in lists:
                    lists[network] = list(lists[network]) + [
                        {"address": e["address"], "names": e["names"]} for e in entries if e.get("origin") != exclude]
            call = {"module": call["module"], "args": dict(call["args"], shared=lists)}
        out.append(call)
    return out


def fleet_calls(me, settings, state):
    """The fleet role: routed mode, a route to every other host's subnets via its underlay; vxlan
    mode, the overlay device with every other host as a static peer, and routes through it.  Routes
    are purged: a host that left loses its route.  ``me``: this host's entry of roles.fleet's plan;
    ``settings``: mode, vxlan_device, vni, vxlan_port, mtu, cidr6."""
    present = state == "present"
    if settings["mode"] == "routed":
        return [_call("route", purge=True, routes=me["routes"] if present else [])]
    device = settings["vxlan_device"]
    routes = [dict(r, dev=device) for r in me["overlay_routes"]] if present else []
    if not present:
        return [_call("route", purge=True, routes=routes), _call("vxlan", name=device, state="absent")]
    vtep = me["vtep"]
    addresses = [vtep["addresses"][0] + "/32"] + ([vtep["addresses"][1] + "/128"] if settings.get("cidr6") else [])
    return [_call("vxlan", name=device, vni=settings["vni"], port=settings["vxlan_port"], local=me["underlay"],
                  mac=vtep["mac"], mtu=settings["mtu"], addresses=addresses, peers=me["peers"]),
            _call("route", purge=True, routes=routes)]


def fleet_network(me, settings):
    """The fleet network of this host (the roles plan it after nsbridge_networks): its own subnet(s) of the fleet range;
    traffic within the range keeps its source (no masquerade) and may enter the bridge."""
    ranges = [settings["cidr"]] + ([settings["cidr6"]] if settings.get("cidr6") else [])
    network = {"name": settings["network"], "bridge": settings["bridge"], "subnet": me["subnet"],
               "masquerade_exclude": list(ranges), "accept_from": list(ranges),
               "mtu": settings["mtu"] if settings["mode"] == "vxlan" else None}
    if settings.get("cidr6"):
        network["subnet6"] = me["subnet6"]
    return network


PROJECT_LABEL = "io.nsbridge.project"


def image_calls(plan, state, persist, project, gone=()):
    """The containers role's podman containers (one containers.podman.podman_containers call each way):
    ``run`` after the namespaces exist, ``remove`` -- on absent all of them, and ``gone``, the ones an
    earlier run made that the variables no longer describe (apply's ``external_orphans``).  Each is
    labelled with the project.  With persistence podman's restart policy brings them back at boot
    (podman-restart.service runs after nsbridge-restore.service); without, they stay down."""
    label = {PROJECT_LABEL: project}
    if state == "absent":
        remove = [{"name": i["name"], "state": "absent"} for i in plan["images"]]
        return {"run": [], "remove": remove + [{"name": n, "state": "absent"} for n in sorted(gone)]}
    run = [dict(i, label=label, restart_policy="always" if persist else "no") for i in plan["images"]]
    return {"run": run, "remove": [{"name": n, "state": "absent"} for n in sorted(gone)]}
