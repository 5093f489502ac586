# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' containers: checked, attached to their networks, addressed, routed and named.

A container is on one network (``network: front``, the shorthand), on several (``networks: [front,
{name: back, aliases: [db], gw_priority: 10}]``: interfaces eth0, eth1, ... in list order), on none
(``network: none``) or in another container's namespace (``network: container:OTHER``).  Each
attachment has its own stable address per family, derived from the container's name in that
network (explicit ones first), so adding a container renumbers nobody.  The default route, per
family, goes through the network with the highest ``gw_priority`` (ties: the first listed), never
through an internal one, as Docker's gw-priority does; published ports reach the container's
address on that network.

Names, as on Docker's user-defined networks, without a daemon: every container resolves the name
and aliases of every container it shares a network with, ``NAME.NETWORK``, and
``host.containers.internal`` / ``host.docker.internal`` (the gateway of its default-route network),
through its namespace's own hosts file (planners.names writes /etc/netns/NAME/hosts): the lists of
the networks it is on, in its own order (a name on two shared networks resolves on the first).
"""

from __future__ import annotations

import hashlib
import re

from ..common import validate
from ..common.errors import ValidationError

NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$")
CONTAINER = "container %r"  # how errors name a container of nsbridge_containers (where), by its name
CONTAINER_KEYS = ("name", "network", "networks", "ip", "ip6", "aliases", "publish", "command", "image", "env",
                  "volumes")
ATTACHMENT_KEYS = ("name", "ip", "ip6", "aliases", "gw_priority")
MAX_INTERFACES = 64  # eth0..eth63: one veth pair and one bridge port each
HOST_NAMES = ("host.containers.internal", "host.docker.internal")


def fail(where, message):
    raise ValidationError(message, where)


def known_keys(item, keys, where):
    """A key the roles do not know is a typo (publsh:) that would otherwise be silently ignored."""
    unknown = sorted(str(k) for k in item if k not in keys)
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        fail(where, "unknown key%s %s (known: %s)" % (plural, ", ".join(map(repr, unknown)), ", ".join(keys)))


def host_ifname(container, network=None):
    """The host end of a container's veth pair on ``network``: stable, unique, within IFNAMSIZ (the
    first network's is the container's own digest, as before containers had several)."""
    key = container if network is None else "%s/%s" % (container, network)
    return "nsb" + hashlib.sha256(key.encode()).hexdigest()[:10]


def _aliases(value, where):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(a, str) and NAME.match(a) for a in value):
        fail(where, "must be a list of names (Docker's naming rules, at most 63 characters)")
    return list(value)


def _attachments(c, nets, where):
    """[{network, where, ip, ip6, aliases, gw_priority, index}] of a container on networks."""
    if c.get("networks") is not None:
        if c.get("network") not in (None, ""):
            fail(where + ".networks", "give network or networks, not both (network: %r)" % (c["network"],))
        for key in ("ip", "ip6", "aliases"):
            if c.get(key) is not None:
                fail(where + "." + key, "with networks, give it per network (networks[].%s)" % key)
        entries = c["networks"]
        if not isinstance(entries, list) or not entries:
            fail(where + ".networks", "must be a non-empty list of network names or {name, ip, ip6, aliases, "
                                      "gw_priority} (network: none for a container without a network)")
        if len(entries) > MAX_INTERFACES:
            fail(where + ".networks", "%d networks: a container has at most %d interfaces (eth0..eth%d)"
                 % (len(entries), MAX_INTERFACES, MAX_INTERFACES - 1))
        out, seen = [], {}
        for i, entry in enumerate(entries):
            here = "%s.networks[%d]" % (where, i)
            entry = {"name": entry} if isinstance(entry, str) else entry
            if not isinstance(entry, dict) or not entry.get("name"):
                fail(here, "a network name or a dict with name")
            known_keys(entry, ATTACHMENT_KEYS, here)
            name = entry["name"]
            if name not in nets:
                fail(here + ".name", "unknown network %r (known: %s)" % (name, ", ".join(sorted(nets)) or "none"))
            if name in seen:
                fail(here + ".name", "network %r is also networks[%d]" % (name, seen[name]))
            seen[name] = i
            priority = entry.get("gw_priority", 0)
            if isinstance(priority, bool) or not isinstance(priority, int):
                fail(here + ".gw_priority", "%r is not an integer" % (priority,))
            out.append({"network": name, "where": here, "ip": entry.get("ip"), "ip6": entry.get("ip6"),
                        "aliases": _aliases(entry.get("aliases"), here + ".aliases"), "gw_priority": priority,
                        "index": i})
        return out
    return [{"network": c["network"], "where": where, "ip": c.get("ip"), "ip6": c.get("ip6"),
             "aliases": _aliases(c.get("aliases"), where + ".aliases"), "gw_priority": 0, "index": 0}]


def containers(specs, nets, label=CONTAINER):
    """[(name, spec, mode, where, attachments)] in list order, and {name: spec}; ``label`` % name is how
    errors name a container (``where``; the lab's nodes are ``nsbridge_lab.nodes.%s``)."""
    items, seen = [], {}
    for i, c in enumerate(specs or []):
        if not isinstance(c, dict) or not c.get("name"):
            fail("nsbridge_containers[%d]" % i, "every container needs a name")
        name = str(c["name"])
        where = label % name
        known_keys(c, CONTAINER_KEYS, where)
        if not NAME.match(name):
            fail(where + ".name", "must match %s (at most 63 characters)" % NAME.pattern)
        if name in seen:
            fail(where, "name is used twice")
        seen[name] = c
        network = c.get("network")
        attachments = []
        if c.get("networks") is not None:
            mode = "bridge"
            attachments = _attachments(c, nets, where)
        elif network in (None, ""):
            fail(where + ".network", "is required (a network name, none, or container:NAME; or networks)")
        elif network == "none":
            mode = "none"
        elif str(network).startswith("container:"):
            mode = "container"
        elif network in nets:
            mode = "bridge"
            attachments = _attachments(c, nets, where)
        else:
            fail(where + ".network", "unknown network %r (known: %s)" % (network, ", ".join(sorted(nets)) or "none"))
        if mode != "bridge":
            for key in ("ip", "ip6", "aliases"):
                if c.get(key) is not None:
                    what = "aliases" if key == "aliases" else "an address"
                    fail(where + "." + key, "only a container on a network has %s" % what)
        items.append((name, c, mode, where, attachments))
    return items, seen


def _allocate(family, name, where):
    """A stable address for ``name``: a hashed start, the first free one after it."""
    subnet = family["subnet"]
    size = subnet.num_addresses - (2 if subnet.version == 4 else 1)
    start = int(hashlib.sha256(name.encode()).hexdigest(), 16) % size
    for step in range(min(size, 1 << 16)):
        candidate = subnet.network_address + 1 + (start + step) % size
        if candidate != family["gateway"] and candidate not in family["taken"]:
            return candidate
    fail(where, "%s has no free address left" % subnet)


def _explicit(owner, att, key, net, version):
    """The address an attachment asks for with ``key`` (ip, ip6), checked; None if it asks none.
    ``owner``: how errors name the container that asks (its ``where``)."""
    if att.get(key) is None:
        return None
    where = att["where"] + "." + key
    family = net["families"].get(version)
    if family is None:
        fail(where, "network %r has no IPv%d subnet" % (net["name"], version))
    ip = validate.address(att[key], where)
    if ip.version != version:
        fail(where, "%s is not an IPv%d address" % (ip, version))
    subnet = family["subnet"]
    if ip not in subnet or ip == subnet.network_address or (version == 4 and ip == subnet.broadcast_address):
        fail(where, "%s is outside network %r (%s)" % (ip, net["name"], subnet))
    if ip == family["gateway"]:
        fail(where, "%s is network %r's gateway" % (ip, net["name"]))
    if ip in family["taken"]:
        fail(where, "%s is also %s's address" % (ip, family["taken"][ip]))
    family["taken"][ip] = owner
    return ip


def address(items, nets):
    """Give every attachment its addresses (``att["ips"]``: {4: ip, 6: ip}): explicit ones first, then
    hashed ones in name order (stable whatever the list order; adding a container renumbers nobody)."""
    for _name, _c, _mode, where, atts in items:
        for att in atts:
            att["ips"] = {}
            for version, key in ((4, "ip"), (6, "ip6")):
                ip = _explicit(where, att, key, nets[att["network"]], version)
                if ip is not None:
                    att["ips"][version] = ip
    for name, _c, _mode, where, atts in sorted(items, key=lambda item: item[0]):
        for att in atts:
            for version, family in sorted(nets[att["network"]]["families"].items()):
                if version not in att["ips"]:
                    ip = _allocate(family, name, "%s.%s" % (att["where"], "ip" if version == 4 else "ip6"))
                    family["taken"][ip] = where
                    att["ips"][version] = ip


def default_routes(atts, nets):
    """{version: attachment} the default route of each family goes through: the highest gw_priority
    among networks with a gateway of that family that are not internal (ties: the first listed)."""
    out = {}
    for version in (4, 6):
        candidates = [a for a in atts if not nets[a["network"]]["internal"]
                      and (nets[a["network"]]["families"].get(version) or {}).get("gateway")]
        if candidates:
            out[version] = max(candidates, key=lambda a: (a["gw_priority"], -a["index"]))
    return out


def check_names(items):
    """A name or alias claimed twice on one network, or an alias equal to another container's name
    there: an error naming the container, the key and the other party."""
    for network in sorted({a["network"] for _n, _c, _m, _w, atts in items for a in atts}):
        claimed = {}
        for name, _c, _mode, where, atts in items:
            for att in atts:
                if att["network"] != network:
                    continue
                for alias in [name] + att["aliases"]:
                    other = claimed.get(alias)
                    if other is not None and other[0] != name:
                        what = "its name" if alias == name else "alias %r" % alias
                        theirs = "the name" if other[1] else "an alias"
                        fail(where + ".name" if alias == name else att["where"] + ".aliases",
                             "%s is also %s of %s on network %r" % (what, theirs, other[2], network))
                    claimed.setdefault(alias, (name, alias == name, where))


def network_entries(items):
    """{network: [{address, names}]}: every container on each network, by its name, aliases and
    NAME.NETWORK -- one list per network, which the hosts file of every container on it includes
    (planners.names' shared lists: given once, not once per container)."""
    out = {}
    for other, _c, _mode, _where, atts in items:
        for att in atts:
            names = [other] + att["aliases"]
            names += ["%s.%s" % (n, att["network"]) for n in names]
            for version in sorted(att["ips"]):
                out.setdefault(att["network"], []).append({"address": str(att["ips"][version]), "names": names})
    return out


def gateway_entries(nets, routes):
    """The host's names (host.containers.internal, host.docker.internal): the gateway of the
    container's default-route network, per family."""
    return [{"address": str(nets[att["network"]]["families"][version]["gateway"]), "names": list(HOST_NAMES)}
            for version, att in sorted(routes.items())]
