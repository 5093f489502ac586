# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who else relies on forwarding, before nsbridge puts a forwarding sysctl back.

nsbridge turns forwarding on when it needs it and, at teardown, puts back the value it found.
Meanwhile Docker, Podman, libvirt or anything else may have come to rely on forwarding being on:
switching it off then breaks their published ports and their containers' egress.  So before
restoring, nsbridge looks, in the namespace concerned, for what counts as relying on forwarding
in that IP family:

- another stack's chains or tables, by name (Docker ``DOCKER*``, Podman/netavark ``NETAVARK*``
  and ``table inet netavark``, CNI ``CNI-*``, libvirt ``LIBVIRT_*`` and ``libvirt_network``,
  Kubernetes ``KUBE-*``, ...), in legacy xtables or in nf_tables (iptables-nft included);
- any NAT rule that is not nsbridge's (MASQUERADE, SNAT, DNAT, REDIRECT, NETMAP): someone routes
  or publishes through this host;
- any ACCEPT rule in a FORWARD chain (or an nftables forward hook) that is not nsbridge's;
- a bridge nsbridge did not make that has ports and an address of the family: a network of
  containers or VMs routed through the host.

Any of these found, the sysctl is left on and the run warns, naming them.  Nothing is written
here; the reads are the same ones ``iptables-save`` and ``nft list ruleset`` make.
"""

from __future__ import annotations

from ..common.errors import KernelError
from ..common.family import IPV4
from ..kernel.netlink import Namespace, entered, is_ours
from ..kernel.xtables import all_rules, read_table

ENGINES = (("DOCKER", "Docker"), ("NETAVARK", "Podman (netavark)"), ("CNI-", "CNI"), ("LIBVIRT", "libvirt"),
           ("KUBE-", "Kubernetes"), ("FLANNEL", "flannel"), ("CILIUM", "Cilium"), ("CALI-", "Calico"),
           ("LXC", "LXC"), ("INCUS", "Incus"), ("LXD", "LXD"))
ENGINE_TABLES = {"netavark": "Podman (netavark)", "libvirt_network": "libvirt", "kube-proxy": "Kubernetes",
                 "docker": "Docker", "lxc": "LXC", "incus": "Incus", "lxd": "LXD", "cni": "CNI"}
NAT_TARGETS = ("MASQUERADE", "SNAT", "DNAT", "REDIRECT", "NETMAP")
NAT_EXPRS = ("masquerade", "snat", "dnat", "redirect")
NSBRIDGE = ("NSBRIDGE", "nsbridge")
ACCEPT = -2  # the standard verdict of -j ACCEPT in a table's blob


def _engine(name):
    for prefix, who in ENGINES:
        if name.upper().startswith(prefix):
            return who
    return None


def _xtables(netns, family):
    """Reasons found in the legacy xtables of ``family`` (iptables or ip6tables)."""
    found = []
    names = "/proc/thread-self/net/%s_tables_names" % ("ip" if family == IPV4 else "ip6")
    tool = "iptables" if family == IPV4 else "ip6tables"
    with entered(netns):
        try:
            with open(names) as f:
                tables = set(f.read().split())
        except FileNotFoundError:
            return found
        for tname in ("nat", "filter"):
            read = read_table(family, tname) if tname in tables else None
            if read is None:
                continue
            for chain, comment, target, verdict in all_rules(family, read[0], read[1]):
                if chain.startswith(NSBRIDGE) or (comment or "").startswith("nsbridge "):
                    continue
                who = _engine(chain)
                if who:
                    found.append("%s (%s %s chain %s)" % (who, tool, tname, chain))
                elif tname == "nat" and target in NAT_TARGETS:
                    found.append("a %s rule in %s nat %s" % (target, tool, chain))
                elif tname == "filter" and chain == "FORWARD" and verdict == ACCEPT:
                    found.append("an ACCEPT rule in %s filter FORWARD" % tool)
    return found


def _nftables(netns, family):
    """Reasons found in nf_tables (native tables and iptables-nft's alike) of ``family``."""
    from ..kernel.libnftables import Nft
    with entered(netns):
        try:
            nft = Nft()
        except KernelError:
            return []  # no libnftables: nothing can have written nf_tables through it here either
        try:
            listing = (nft.run("list ruleset") or {}).get("nftables", [])
        finally:
            nft.close()
    families = ("ip", "inet") if family == IPV4 else ("ip6", "inet")
    found = []
    forward_chains = set()
    for entry in listing:
        chain = entry.get("chain")
        if chain and chain.get("hook") == "forward":
            forward_chains.add((chain["family"], chain["table"], chain["name"]))
    for entry in listing:
        table, rule = entry.get("table"), entry.get("rule")
        if table and table["family"] in families and table["name"] in ENGINE_TABLES:
            found.append("%s (nftables table %s %s)" % (ENGINE_TABLES[table["name"]], table["family"], table["name"]))
        if not rule or rule["family"] not in families or rule["table"] == "nsbridge" \
                or (rule.get("comment") or "").startswith("nsbridge "):
            continue
        where = "nftables table %s %s chain %s" % (rule["family"], rule["table"], rule["chain"])
        who = _engine(rule["chain"])
        text = repr(rule.get("expr", ()))
        if who:
            found.append("%s (%s)" % (who, where))
        elif any("'%s'" % expr in text for expr in NAT_EXPRS):
            found.append("a NAT rule in %s" % where)
        elif (rule["family"], rule["table"], rule["chain"]) in forward_chains and "'accept'" in text:
            found.append("an accept rule in %s" % where)
    return found


def _bridges(netns, family):
    handle = Namespace(netns)
    try:
        links, addresses = handle.links(), handle.addresses()
    finally:
        handle.close()
    found = []
    for name, link in sorted(links.items()):
        if link["kind"] != "bridge" or is_ours(link):
            continue
        mine = [a for a in addresses.get(link["index"], ()) if (":" in a) == (family != IPV4)]
        ports = [l for l in links.values() if l["master"] == link["index"]]
        if mine and ports:
            found.append("bridge %s (%s, %d port%s)" % (name, mine[0], len(ports), "" if len(ports) == 1 else "s"))
    return found


def relying_on_forwarding(netns, family):
    """What, besides nsbridge, relies on ``family``'s forwarding in ``netns``: sorted reasons."""
    found = _xtables(netns, family) + _nftables(netns, family) + _bridges(netns, family)
    return sorted(set(found))
