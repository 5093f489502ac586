# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What nsbridge made on a host, found by the marks it keeps (network_info's core; read-only).

Links and namespaces carry nsbridge's alias or device group (netlink.is_ours), routes its
protocol number (proto 78), firewall rules their ``nsbridge <scope> <id> <i>/<n>`` comments,
workloads their records under /run/nsbridge.  One dump per kind and namespace, through the same
readers the planners use; nothing here writes.  The shape of the answer is network_info's RETURN
(an interface: roles, asserts and the topology playbook read it), so change both together.
"""

from __future__ import annotations

import contextlib
import glob
import ipaddress
import json
import os
import socket

from ..calls.ownership import state_root
from ..common.errors import KernelError
from ..common.family import IPV4
from ..firewall.registry import BACKENDS
from ..firewall.rules import Scope, parse_comment
from ..kernel.netlink import Namespace, is_ours, list_netns, netns_exists, netns_path, owner_of, stale_netns
from ..kernel.rtnl_reader import AF_BRIDGE
from ..planners.names import files_of as names_files
from ..planners.port_publish import PublishKey
from ..planners.route import RTPROT_NSBRIDGE
from ..planners.impairment import lab_view as impairment_view
from ..planners.tunnel import FLOOD
from ..planners.vxlan import NUD_PERMANENT, describe_peers
from ..planners.workload import WORKLOAD_DIR, observe as observe_workload, read_record

SCHEMA_VERSION = 1


def _sorted(addresses):
    """Addresses IPv4 first, then by value (without ipaddress objects: thousands per report)."""
    def key(text):
        ip, _sep, length = text.partition("/")
        six = ":" in ip
        return six, socket.inet_pton(socket.AF_INET6 if six else socket.AF_INET, ip), int(length or 0)
    return sorted(addresses, key=key)


def _prefix(route):
    return "%s/%d" % (route["dst"], route["dst_len"])


class _Seen:
    """One namespace as dumped once: links, addresses, routes."""

    def __init__(self, name):
        self.name = name
        self.ns = Namespace(name)
        try:
            self.links = self.ns.links()
            self.addrs = self.ns.addresses()
            self.by_index = {link["index"]: link for link in self.links.values()}
        except BaseException:
            self.ns.close()
            raise

    def routes(self):
        return self.ns.routes()

    def addresses(self, link):
        return _sorted(self.addrs.get(link["index"], ()))

    def close(self):
        self.ns.close()


def _networks(host, bridges, include_foreign):
    out = []
    for name, link in sorted(host.links.items()):
        if link["kind"] != "bridge" or (bridges and name not in bridges):
            continue
        ours = is_ours(link)
        if not ours and not include_foreign:
            continue
        subnets = sorted({str(ipaddress.ip_interface(a).network) for a in host.addresses(link)},
                         key=lambda n: (ipaddress.ip_network(n).version, n))
        out.append({"name": name, "managed": ours, "project": owner_of(link), "addresses": host.addresses(link),
                    "subnets": subnets,
                    "mtu": link["mtu"], "mac": link["mac"], "up": link["up"],
                    "ports": sorted(p["ifname"] for p in host.links.values() if p["master"] == link["index"])})
    return out


def _workloads():
    """{netns: [workload]} from the workload module's records (a dead workload's record stays
    until the next run of the workload module, so it is reported, not alive)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(WORKLOAD_DIR, "*.pid"))):
        name = os.path.basename(path)[:-4]
        record = read_record(name)
        if not record or "netns" not in record:
            continue
        running = observe_workload(name)
        alive = running is not None and not running.get("stale")
        out.setdefault(record["netns"], []).append({"name": name, "pid": record.get("pid"), "alive": alive,
                                                    "command": record.get("command"),
                                                    "project": record.get("project")})
    return out


def _container(name, seen, host, workloads):
    interfaces = []
    for ifname, link in sorted(seen.links.items()):
        if ifname == "lo":
            continue
        peer = bridge = None
        if link["kind"] == "veth" and link["peer_index"] and link["peer_netnsid"] is not None:
            # the host end: the host's veth at our peer index whose own peer index is ours (both
            # ends name each other; cheaper than asking each namespace for the host's nsid)
            other = host.by_index.get(link["peer_index"])
            if other is not None and other["kind"] == "veth" and other["peer_index"] == link["index"] \
                    and other["peer_netnsid"] is not None:
                peer = other["ifname"]
                master = host.by_index.get(other["master"]) if other["master"] else None
                bridge = master["ifname"] if master else None
        interfaces.append({"name": ifname, "kind": link["kind"], "mac": link["mac"], "mtu": link["mtu"],
                           "up": link["up"], "addresses": seen.addresses(link), "host_peer": peer,
                           "bridge": bridge})
        if link["kind"] == "vxlan" and is_ours(link):
            interfaces[-1].update(_tunnel_details(seen, link))
    routes = []
    for route in seen.routes():
        dev = seen.by_index.get(route["oif"])
        routes.append({"dst": "default" if route["dst_len"] == 0 else _prefix(route), "via": route["gateway"],
                       "dev": dev["ifname"] if dev else None,
                       "family": 4 if route["family"] == socket.AF_INET else 6})
    routes.sort(key=lambda r: (r["family"], r["dst"] != "default", r["dst"]))
    return {"name": name, "interfaces": interfaces, "routes": routes, "workloads": workloads.get(name, []),
            "names": names_files(name)}


def _containers(names, bridges, include_foreign, host):
    """Every namespace nsbridge made (and with include_foreign the others), one dump per kind each."""
    workloads = _workloads()
    here = os.stat("/proc/thread-self/ns/net")
    out, foreign = [], []
    for name in list_netns():
        if names and name not in names:
            continue
        with contextlib.suppress(OSError):
            st = os.stat(netns_path(name))
            if (st.st_ino, st.st_dev) == (here.st_ino, here.st_dev):
                continue  # the namespace this runs in is the host, not one of its containers
        if not netns_exists(name):
            if stale_netns(name) and include_foreign and not bridges:
                foreign.append({"name": name, "managed": False, "stale": True})
            continue
        try:
            seen = _Seen(name)
        except (KernelError, OSError):
            continue  # deleted while we looked
        try:
            ours = is_ours(seen.links.get("lo"))
            if not ours and not include_foreign:
                continue
            entry = _container(name, seen, host, workloads)
        finally:
            seen.close()
        if bridges and not any(i["bridge"] in bridges for i in entry["interfaces"]):
            continue
        entry["managed"] = ours
        entry["project"] = owner_of(seen.links.get("lo"))
        (out if ours else foreign).append(entry)
    return out + foreign


def _firewall(netns):
    """Our published ports, masquerades and isolation, per backend that has any: one read of
    each backend's own rules (their comments say whose they are, their targets what they do)."""
    published, masquerades, isolation = [], [], []
    for backend_class in BACKENDS:
        try:
            with backend_class(netns) as backend:
                rules = backend.described_rules()
        except KernelError:
            continue  # e.g. no python-iptables: nsbridge cannot have written legacy rules here either
        scopes = {}
        for fam, comment, target, dnat in rules:
            parsed = parse_comment(comment)
            if parsed is not None:
                scopes.setdefault(parsed[0], []).append((fam, comment, parsed, target, dnat))
        for text, found in sorted(scopes.items()):
            scope = Scope.parse(text)
            if scope is None:
                continue
            ids = sorted({parsed[1] for _f, _c, parsed, _t, _d in found})
            totals = {parsed[2].split("/")[1] for _f, _c, parsed, _t, _d in found}
            n = int(totals.pop()) if len(totals) == 1 and len(ids) == 1 else None
            projects = sorted({parsed[3] for _f, _c, parsed, _t, _d in found if parsed[3]})
            common = {"backend": backend_class.name, "id": ids[0] if len(ids) == 1 else ids, "rules": len(found),
                      "project": projects[0] if len(projects) == 1 else (projects or None),
                      "complete": n == len(found) and len({c for _f, c, _p, _t, _d in found}) == n,
                      "families": sorted({fam.version for fam, _c, _p, _t, _d in found}), "scope": text}
            dnats = [d for _f, _c, _p, _t, d in found if d is not None]
            if scope.kind == "publish":
                key = PublishKey.parse(scope.key)
                ports = key.first if key.first == key.last else "%d-%d" % (key.first, key.last)
                published.append(dict(common, protocol=key.proto, host_ip=key.host_ip, host_port=ports,
                                      family=4 if key.family == IPV4 else 6,
                                      destination=dnats[0][0] if dnats else None,
                                      destination_port=dnats[0][1] if dnats else None,
                                      connections=sum(d[2] for d in dnats)))
            elif scope.kind == "masq":
                masquerades.append(dict(common, source=scope.key,
                                        nat=any(t == "MASQUERADE" for _f, _c, _p, t, _d in found)))
            elif scope.kind == "isolate":
                isolation.append(dict(common, bridge=scope.key))
    return published, masquerades, isolation


def _fleet(host):
    routes = []
    for route in host.routes():
        if route["proto"] != RTPROT_NSBRIDGE:
            continue
        dev = host.by_index.get(route["oif"])
        routes.append({"dst": _prefix(route), "via": route["gateway"], "dev": dev["ifname"] if dev else None,
                       "metric": route["metric"], "family": 4 if route["family"] == socket.AF_INET else 6})
    routes.sort(key=lambda r: (r["family"], r["dst"]))
    vxlans = []
    links = [link for link in host.links.values() if link["kind"] == "vxlan" and is_ours(link)]
    if links:
        arp = [n for family in (socket.AF_INET, socket.AF_INET6) for n in host.ns.neighbours(family)]
        fdb = host.ns.neighbours(AF_BRIDGE)
        for link in sorted(links, key=lambda item: item["ifname"]):
            index = link["index"]
            have_arp = {dst: mac for i, dst, mac, state in arp if i == index and dst and mac and state & NUD_PERMANENT}
            have_fdb = {mac: dst for i, dst, mac, _s in fdb if i == index and mac and dst}
            dev = host.by_index.get(link.get("vxlan_link")) if link.get("vxlan_link") else None
            vxlans.append({"name": link["ifname"], "vni": link.get("vni"), "local": link.get("vxlan_local"),
                           "port": link.get("vxlan_port"), "dev": dev["ifname"] if dev else None, "mtu": link["mtu"],
                           "mac": link["mac"], "addresses": host.addresses(link),
                           "peers": describe_peers(have_arp, have_fdb)})
    return routes, vxlans


LAB_RECORD = "40-lab-"


def _lab_records():
    """[(project, lab name, entries)] of the lab role's records on this host."""
    out = []
    for path in sorted(glob.glob(os.path.join(state_root(), "projects", "*", LAB_RECORD + "*.json"))):
        try:
            with open(path) as f:
                data = json.load(f)
            out.append((data["project"], data["record"][len(LAB_RECORD):], list(data["entries"].values())))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


def _end(netns, ifname):
    return "%s:%s" % (netns, ifname)


def _labs(containers):
    """Each lab this host holds part of (by the lab role's records): its nodes and switches here, its
    links (veth pairs, tunnels to other hosts with their VNI and remote underlays, LAN segments) and
    the impairments of their ends, as the kernel has them now."""
    seen = {c["name"]: {i["name"]: i for i in c.get("interfaces", [])} for c in containers}
    out = []
    for project, name, entries in _lab_records():
        by = {}
        for entry in entries:
            by.setdefault(entry["module"], []).append(entry["item"])
        switches = sorted({b["netns"] for b in by.get("bridge", []) if b.get("netns")})
        nodes = sorted({n["name"] for n in by.get("netns", [])} - set(switches))
        links, segments = [], {s: {"kind": "lan", "switch": s, "ends": [], "tunnel": None} for s in switches}
        for pair in by.get("veth", []):
            if pair.get("netns") in segments:
                segments[pair["netns"]]["ends"].append(_end(pair.get("peer_netns"), pair.get("peer")))
                continue
            if pair.get("netns") not in nodes:
                continue  # a node's interface on an nsbridge network: see containers
            iface = seen.get(pair["netns"], {}).get(pair["name"]) or {}
            links.append({"kind": "veth", "ends": [_end(pair["netns"], pair["name"]),
                                                   _end(pair.get("peer_netns"), pair.get("peer"))],
                          "up": iface.get("up"), "mtu": iface.get("mtu")})
        for tunnel in by.get("tunnel", []):
            iface = seen.get(tunnel.get("netns"), {}).get(tunnel["name"]) or {}
            entry = {"kind": "tunnel", "ends": [_end(tunnel.get("netns"), tunnel["name"])], "vni": iface.get("vni"),
                     "local": iface.get("local"), "remotes": iface.get("remotes", []), "up": iface.get("up"),
                     "mtu": iface.get("mtu")}
            if tunnel.get("netns") in segments:
                segments[tunnel["netns"]]["tunnel"] = entry
            else:
                links.append(entry)
        impairments = [dict(impairment_view(i.get("netns"), i["dev"]), end=_end(i.get("netns"), i["dev"]))
                       for i in by.get("impairment", [])]
        out.append({"name": name, "project": project, "nodes": nodes, "switches": switches,
                    "links": links + [segments[s] for s in switches], "impairments": impairments})
    return out


def _tunnel_details(seen, link):
    """A tunnel's VNI, local address and flood list (its all-zeros FDB entries)."""
    flood = sorted(dst for i, dst, mac, _s in seen.ns.neighbours(AF_BRIDGE) if i == link["index"] and mac == FLOOD and dst)
    return {"vni": link.get("vni"), "local": link.get("vxlan_local"), "remotes": flood}


def _subnets_of(networks):
    return [ipaddress.ip_network(s) for n in networks for s in n["subnets"]]


def _inside(address, subnets):
    if address is None:
        return False
    net = ipaddress.ip_network(address, strict=False)
    return any(net.version == s.version and net.subnet_of(s) for s in subnets)


def host_report(netns=None, bridges=None, include_foreign=False):
    """The report network_info returns (without its drift section): see that module's RETURN.

    ``netns``: only these namespaces as containers; ``bridges``: only these bridges as networks,
    the containers with an interface on them, and the firewall items of their subnets.
    """
    host = _Seen(None)
    try:
        networks = _networks(host, bridges, include_foreign)
        containers = _containers(netns, bridges, include_foreign, host)
        routes, vxlans = _fleet(host)
    finally:
        host.close()
    published, masquerades, isolation = _firewall(None)
    if bridges:
        subnets = _subnets_of(networks)
        published = [p for p in published if _inside(p["destination"], subnets)]
        masquerades = [m for m in masquerades if _inside(m["source"], subnets)]
        isolation = [i for i in isolation if i["bridge"] in bridges]
    return {"schema": SCHEMA_VERSION, "networks": networks, "containers": containers, "published": published,
            "masquerades": masquerades, "isolation": isolation, "routes": routes, "vxlan": vxlans,
            "labs": _labs(containers)}
