# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each module's call is made of, as objects on the host: the items a call asks to exist,
each by an identity that names one object (``veth|web-netns|nsb1234``), and the module call that
removes a set of them again -- exactly them, nothing else (calls.ownership prunes with it).

Identities come from a call's validated parameters with the module's own normalisation (a
published port is its PublishKey, a subnet its network), so the same object is named the same
whatever way a call spelled it.  ``scan`` finds a project's objects by their marks alone, for a
record that is lost.
"""

from __future__ import annotations

import os

from ..common import validate
from ..common.errors import KernelError, NsbridgeError
from ..engine.edge import batch_items
from ..firewall.planner import FirewallPlanner
from ..firewall.registry import by_name
from ..firewall.rules import Scope
from ..kernel.netlink import Kernel, is_ours, list_netns, netns_exists, owner_of
from ..planners import names, port_publish, workload

# modules whose objects go first when several go: what stands on something before what it stands on
REMOVAL_ORDER = ("workload", "port_publish", "network_isolation", "nat_masquerade", "route", "names", "impairment",
                 "veth", "tunnel", "vxlan", "bridge", "netns")
# batch modules: the list option and the item options (a call's items; the single form is one item)
_BATCH = {"bridge": "bridges", "veth": "pairs", "workload": "workloads", "route": "routes", "names": "namespaces",
          "port_publish": "ports", "nat_masquerade": "networks", "network_isolation": "networks",
          "tunnel": "tunnels", "impairment": "impairments"}
_FIREWALL = ("port_publish", "nat_masquerade", "network_isolation")
EXTERNAL = "external"  # what a caller makes by other means and names for the record (podman:NAME)


def _any(family):
    """An address of ``family`` that only says which family a removal is in."""
    return "0.0.0.0" if family.version == 4 else "::"


def ident(*parts):
    return "|".join("" if p is None else str(p) for p in parts)


def _items(module, params):
    """[(item, call-level args)] of a validated call, present or absent alike."""
    if module == "netns":
        return [({"name": n, "state": params["state"]}, {}) for n in params["name"]]
    if module == "vxlan":
        return [({"name": params["name"], "netns": params.get("netns"), "state": params["state"]}, {})]
    list_key = _BATCH[module]
    keys = set(params.get(list_key)[0]) if params.get(list_key) else set(params) - {list_key}
    keys |= {"state"}
    call = {}
    if module in _FIREWALL or module == "route":
        call = {k: params.get(k) for k in ("netns", "backend") if k in params}
    out = []
    for _path, item in batch_items(params, list_key, sorted(keys)):
        item["state"] = item.get("state") or params["state"]
        out.append((item, call))
    return out


def _identity(module, item, call):
    """(identity, the item as its removal names it) of one item."""
    netns = call.get("netns") if call else item.get("netns")
    if module == "netns":
        return ident(module, item["name"]), {"name": item["name"]}
    if module == "impairment":
        return ident(module, item.get("netns"), item["dev"]), {"dev": item["dev"], "netns": item.get("netns")}
    if module in ("bridge", "veth", "vxlan", "tunnel"):
        keep = {"name": item["name"], "netns": item.get("netns")}
        if module == "veth":  # for saying which container a pair belonged to
            keep.update(peer=item.get("peer"), peer_netns=item.get("peer_netns"),
                        peer_addresses=item.get("peer_addresses"))
        return ident(module, item.get("netns"), item["name"]), keep
    if module == "workload":
        return ident(module, item["name"]), {"name": item["name"], "netns": item.get("netns")}
    if module == "names":
        return ident(module, item["netns"]), {"netns": item["netns"]}
    if module == "route":
        dst = validate.network(item["dst"], "dst")
        metric = item.get("metric") or (1024 if dst.version == 6 else 0)
        return ident(module, netns, dst, metric), {"dst": str(dst), "metric": metric}
    if module == "nat_masquerade":
        source = str(validate.network(item["source"], "source"))
        return ident(module, netns, source), {"source": source, "bridge": item.get("bridge")}
    if module == "network_isolation":
        return ident(module, netns, item["bridge"]), {"bridge": item["bridge"]}
    spec = port_publish.validate_publish("", item, "absent")
    key = port_publish.key_of(spec)
    keep = {"host_port": "%d-%d" % (key.first, key.last), "protocol": key.proto, "host_ip": key.host_ip,
            "destination": item.get("destination") or _any(key.family)}
    return ident(module, netns, key), keep


def identities(module, params):
    """{identity: (removal item, call-level args)} of the objects a validated call asks to exist,
    and the set of identities it asks to be absent."""
    present, absent = {}, set()
    for item, call in _items(module, params):
        try:
            key, keep = _identity(module, item, call)
        except NsbridgeError:
            continue  # the call itself says what is wrong with it, when it runs
        if item["state"] == "present":
            present[key] = (keep, call)
        else:
            absent.add(key)
    return present, absent


def _inside(module, item, call, gone):
    """True if the object lives wholly inside namespaces that go too: the kernel destroys a namespace's
    links, routes and qdiscs with it, all dying namespaces at once (one wait for all, where deleting
    them first costs one per namespace: 200 lab nodes, 8 s)."""
    if module == "veth":
        return item.get("netns") in gone and item.get("peer_netns") in gone
    if module in ("tunnel", "bridge", "impairment"):
        return item.get("netns") in gone
    if module == "route":
        return (call or {}).get("netns") in gone
    return False


def removal_calls(entries, going=()):
    """The module calls that remove exactly ``entries`` ({identity: (module, item, call args)}), in
    REMOVAL_ORDER, one call per module and call-level arguments; what lives wholly inside namespaces
    that go too (among ``entries``, or ``going``) is left to go with them."""
    gone = {item["name"] for module, item, _call in entries.values() if module == "netns"} | set(going)
    groups = {}
    for key in sorted(entries):
        module, item, call = entries[key]
        if _inside(module, item, call, gone):
            continue
        groups.setdefault((module, tuple(sorted((call or {}).items()))), []).append(item)
    out = []
    for (module, call), items in sorted(groups.items(), key=lambda g: (REMOVAL_ORDER.index(g[0][0]), g[0][1])):
        args = dict(call)
        if module == "netns":
            args["name"] = sorted(i["name"] for i in items)
        elif module == "vxlan":
            out += [{"module": module, "args": {"name": i["name"], "netns": i.get("netns"), "state": "absent"}}
                    for i in items]
            continue
        else:
            fields = {"veth": ("name", "netns"), "tunnel": ("name", "netns"), "impairment": ("dev", "netns"),
                      "port_publish": ("host_port", "protocol", "host_ip", "destination")}
            args[_BATCH[module]] = [{k: v for k, v in i.items() if k in fields.get(module, i) and v is not None}
                                    for i in items]
        args["state"] = "absent"
        out.append({"module": module, "args": args})
    return out


def describe(entries, known):
    """Lines a user reads: what of a project goes (or is kept), by container and network.

    ``entries``: {identity: (module, item, call)} going; ``known``: every recorded entry (to tell
    which container a published port's destination address is)."""
    owner_of_address = {}
    for module, item, _call in known.values():
        if module == "veth" and item.get("peer_netns"):
            for address in item.get("peer_addresses") or []:
                owner_of_address[str(address).split("/", 1)[0]] = item["peer_netns"]
    by_netns, by_bridge, rest = {}, {}, []
    namespaces = {item["name"] for module, item, _c in entries.values() if module == "netns"}
    bridges = {item["name"] for module, item, _c in entries.values() if module == "bridge"}
    for key in sorted(entries):
        module, item, _call = entries[key]
        if module == "netns":
            by_netns.setdefault(item["name"], []).insert(0, "namespace")
        elif module == "veth" and item.get("peer_netns") in namespaces:
            by_netns.setdefault(item["peer_netns"], []).append("veth " + item["name"])
        elif module == "workload" and item.get("netns") in namespaces:
            by_netns.setdefault(item["netns"], []).append("workload " + item["name"])
        elif module == "names" and item["netns"] in namespaces:
            by_netns.setdefault(item["netns"], []).append("names")
        elif module == EXTERNAL and item["name"].partition(":")[2] in namespaces:
            by_netns.setdefault(item["name"].partition(":")[2], []).append("%s container" % item["name"].partition(":")[0])
        elif module == "port_publish" and owner_of_address.get(item.get("destination")) in namespaces:
            by_netns.setdefault(owner_of_address[item["destination"]], []).append("published port " + key.split("|")[2])
        elif module == "bridge":
            by_bridge.setdefault(item["name"], []).insert(0, "bridge")
        elif module in ("nat_masquerade", "network_isolation") and item.get("bridge") in bridges:
            by_bridge.setdefault(item["bridge"], []).append(
                "masquerade " + item["source"] if module == "nat_masquerade" else "isolation")
        else:
            rest.append(_one(module, key, item, owner_of_address))
    order = ("namespace", "veth", "names", "workload", "published", "podman", "bridge", "masquerade", "isolation")
    for parts in list(by_netns.values()) + list(by_bridge.values()):
        parts.sort(key=lambda part: next((i for i, k in enumerate(order) if part.startswith(k)), len(order)))
    lines = ["container %s (%s)" % (name, ", ".join(parts)) for name, parts in sorted(by_netns.items())]
    lines += ["network bridge %s (%s)" % (name, ", ".join(parts)) for name, parts in sorted(by_bridge.items())]
    return lines + rest


def _one(module, key, item, owner_of_address):
    if module == "port_publish":
        of = owner_of_address.get(item.get("destination"))
        return "published port %s%s" % (key.split("|")[2], " of container %s" % of if of else "")
    if module == "nat_masquerade":
        return "masquerade of %s" % item["source"]
    if module == "network_isolation":
        return "isolation of bridge %s" % item["bridge"]
    if module == "route":
        return "route %s" % item["dst"]
    if module == "names":
        return "names of namespace %s" % item["netns"]
    if module == EXTERNAL:
        return "%s container %s" % tuple(item["name"].split(":", 1)) if ":" in item["name"] else item["name"]
    if module == "impairment":
        return "impairment of %s%s" % (item["dev"], " in %s" % item["netns"] if item.get("netns") else "")
    return "%s %s%s" % ({"workload": "workload", "veth": "veth", "vxlan": "vxlan device"}.get(module, module),
                        item.get("name"), " in %s" % item["netns"] if module == "tunnel" and item.get("netns") else "")


def scan(project, modules, netns_of):
    """{identity: (module, item, call)} of the objects of ``modules`` whose marks say they were made
    for ``project`` (routes and impairments carry no project: they are not found this way).  ``netns_of``: {module:
    [(call netns, backend)]} where the current calls look."""
    found = {}
    if "netns" in modules:
        with Kernel() as kernel:
            for name in list_netns():
                if netns_exists(name) and kernel.netns_owner(name) == project:
                    found[ident("netns", name)] = ("netns", {"name": name}, {})
                kernel.drop(name)
    links = [m for m in ("bridge", "veth", "vxlan", "tunnel") if m in modules]
    if links:
        kinds = {"bridge": "bridge", "veth": "veth", "vxlan": "vxlan", "tunnel": "vxlan"}
        with Kernel() as kernel:
            for netns in sorted({n for m in links for n, _b in netns_of.get(m, [(None, None)])}, key=str):
                if netns is not None and not netns_exists(netns):
                    continue
                for link in kernel.ns(netns).links().values():
                    # a tunnel and the fleet's vxlan device are both vxlan links: their marks tell them apart
                    module = next((m for m in links if kinds[m] == link["kind"]
                                   and (m not in ("vxlan", "tunnel") or _mark_kind(link) in (m, None))), None)
                    if module and is_ours(link) and owner_of(link) == project:
                        item = {"name": link["ifname"], "netns": netns}
                        found[ident(module, netns, link["ifname"])] = (module, item, {})
    if "workload" in modules:
        try:
            recorded = [n[:-4] for n in os.listdir(workload.WORKLOAD_DIR) if n.endswith(".pid")]
        except FileNotFoundError:
            recorded = []
        for name in recorded:
            record = workload.read_record(name)
            if record and record.get("project") == project:
                found[ident("workload", name)] = ("workload", {"name": name, "netns": record.get("netns")}, {})
    if "names" in modules:
        root = names.ROOT
        for netns in sorted(os.listdir(root)) if os.path.isdir(root) else []:
            if names.project_of(os.path.join(root, netns)) == project:
                found[ident("names", netns)] = ("names", {"netns": netns}, {})
    for module in (m for m in _FIREWALL if m in modules):
        for netns, backend in sorted(set(netns_of.get(module, [])), key=str):
            found.update(_scan_rules(project, module, netns, backend))
    return found


def _mark_kind(link):
    parts = (link.get("alias") or "").split(":")
    return parts[1] if len(parts) > 1 else None


def _scan_rules(project, module, netns, backend_name):
    kind = {"port_publish": "publish", "nat_masquerade": "masq", "network_isolation": "isolate"}[module]
    out = {}
    try:
        with by_name(backend_name or "auto")(netns) as backend:
            planner = FirewallPlanner(backend)
            scopes = [s for s in planner.scopes(kind) if planner.owner_of(s) == project]
    except KernelError:
        return out
    call = {"netns": netns, "backend": backend_name}
    for text in scopes:
        key = Scope.parse(text).key
        if module == "port_publish":
            parsed = port_publish.PublishKey.parse(key)
            item = {"host_port": "%d-%d" % (parsed.first, parsed.last), "protocol": parsed.proto,
                    "host_ip": parsed.host_ip, "destination": _any(parsed.family)}
            out[ident(module, netns, parsed)] = (module, item, call)
        elif module == "nat_masquerade":
            out[ident(module, netns, key)] = (module, {"source": key}, call)
        else:
            out[ident(module, netns, key)] = (module, {"bridge": key}, call)
    return out
