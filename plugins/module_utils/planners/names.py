# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for what a namespace's processes resolve (module ``nsbridge.network.names``).

``ip netns exec NAME`` binds every file of ``/etc/netns/NAME/`` over ``/etc/`` in the process's
own mount namespace (iproute2 ``lib/namespace.c``), so a namespace gets its own ``hosts`` and
``resolv.conf`` without a daemon: workloads see them, so does a user's ``ip netns exec web1 curl
http://db/``, and podman containers get them mounted.  Files are written in place (truncated and
rewritten, never renamed over): a process that has them bound keeps the inode, and sees the change.

``resolv.conf`` names the host's upstream resolvers: the first of ``upstream_from`` that names a
nameserver a namespace can reach (a loopback stub such as systemd-resolved's 127.0.0.53 or a local
dnsmasq cannot be reached from a namespace; ``/run/systemd/resolve/resolv.conf`` holds what
systemd-resolved forwards to), with its ``search`` and ``options``.  ``resolv: none`` names none (an
internal network's containers, as Docker since CVE-2024-29018).  Every file starts with a mark line
naming nsbridge (and the project), and only a marked file is ever changed or removed.

A namespace shares the host's hostname (it has no UTS namespace of its own), so ``hosts`` names it too,
as Docker names a container's hostname: at the namespace's own addresses (those of the entries that
name the namespace, as the roles' entries for a container do), else at 127.0.1.1 (as Debian names a
host).  Without it a program that resolves its own host name at start (``python3 -m http.server``,
Java's ``getLocalHost``, an MTA) asks the upstream resolver, and waits for it (5 s where it does not
answer).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import socket

from ..common import validate
from ..common.errors import ConflictError, ValidationError, field
from ..engine import owner as owners
from ..engine.edge import batch_items, item_spec
from ..engine.reconcile import ItemPlan, Planned, Step

ITEM_OPTIONS = dict(
    netns=dict(type="str"),
    hosts=dict(type="list", elements="dict", options=dict(
        address=dict(type="str", required=True), names=dict(type="list", elements="str", required=True))),
    resolv=dict(type="str", choices=["upstream", "none"], default="upstream"),
    nameservers=dict(type="list", elements="str"),
    include=dict(type="list", elements="str"),
)
# entries many namespaces share (a fleet's containers on other hosts), given once per call: an item's
# ``include`` names the lists it gets, after its own entries
SHARED_OPTION = dict(type="dict", default={})
ITEM_KEYS = tuple(ITEM_OPTIONS) + ("state",)
UPSTREAM_FROM = ["/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"]
ROOT = "/etc/netns"
MARK = "# nsbridge"
LOCALHOST = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
LOCAL_NAMES = {name for line in LOCALHOST for name in line.split()[1:]}
HOSTNAME_ADDRESS = "127.0.1.1"  # where a namespace that has no address of its own finds the host's name


def _mark(project, digest):
    return "%s%s: written by nsbridge.network.names; changes here are overwritten; digest %s\n" % (
        MARK, " (project %s)" % project if project else "", digest)


def _head(path):
    """(exists, marked, project, digest) of a file, from its first line alone: a converged run reads
    no more of a hosts file that may name a thousand containers."""
    try:
        with open(path) as f:
            first = f.readline().rstrip("\n")
    except FileNotFoundError:
        return False, False, None, None
    if not first.startswith(MARK):
        return True, False, None, None
    rest = first[len(MARK):]
    project = rest[len(" (project "):rest.index(")")] if rest.startswith(" (project ") else None
    digest = first.rpartition("; digest ")[2] if "; digest " in first else None
    return True, True, project, digest


def _digest(*parts):
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def upstream(paths):
    """(nameservers, other lines, source path or None, warning or None): the host's upstream resolvers."""
    stubs = []
    for path in paths:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        servers, others = [], []
        for line in lines:
            words = line.split()
            if words[:1] == ["nameserver"] and len(words) > 1:
                try:
                    address = ipaddress.ip_address(words[1].split("%")[0])
                except ValueError:
                    continue
                if address.is_loopback:
                    stubs.append("%s (%s)" % (words[1], path))
                else:
                    servers.append(words[1])
            elif words[:1] in (["search"], ["domain"], ["options"]):
                others.append(" ".join(words))
        if servers:
            return servers, others, path, None
    if stubs:
        return [], [], None, ("the host's resolvers are loopback stubs a namespace cannot reach (%s) and none of %s "
                              "names another: containers resolve only the names in their hosts files"
                              % (", ".join(stubs), ", ".join(paths)))
    return [], [], None, "no upstream resolver found in %s: containers resolve only the names in their hosts files" \
        % ", ".join(paths)


def hosts_text(entries, netns=None, hostname=None):
    """A hosts file: localhost, ``entries``, then ``hostname`` at the addresses of the entries that name
    ``netns`` (the first of each family), or at 127.0.1.1 -- unless an entry names it already."""
    lines = list(LOCALHOST)
    seen = set()
    own = {}
    for entry in entries:
        # each name once per family: a later line naming it again would never be read
        six = ":" in entry["address"]
        names = [n for n in entry["names"] if (six, n) not in seen]
        seen.update((six, n) for n in names)
        if names:
            lines.append("%s\t%s" % (entry["address"], " ".join(names)))
        if netns in entry["names"]:
            own.setdefault(six, entry["address"])
    if hostname and hostname not in LOCAL_NAMES and not {(False, hostname), (True, hostname)} & seen:
        addresses = [address for _six, address in sorted(own.items())] or [HOSTNAME_ADDRESS]
        lines.extend("%s\t%s" % (address, hostname) for address in addresses)
    return "\n".join(lines) + "\n"


def resolv_text(servers, others, source):
    lines = ["nameserver %s" % s for s in servers] + others
    said = "# from %s\n" % source if source else "# no upstream resolvers\n"
    return said + "".join(line + "\n" for line in lines)


def _write_in_place(path, make):
    """Write what ``make()`` returns into ``path`` in place (built only when written)."""
    def run():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = make().encode()
        # in place: a process that has the file bound over its /etc keeps seeing this inode
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.ftruncate(fd, len(data))
        finally:
            os.close(fd)
    return run


def _remove(path):
    def run():
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        try:
            os.rmdir(os.path.dirname(path))  # the namespace's folder, once empty
        except OSError:
            pass
    return run


def _validate(path, item, default_state):
    spec = item_spec(item, ITEM_KEYS, default_state)
    validate.netns_name(spec["netns"], field(path, "netns"))
    for i, entry in enumerate(spec["hosts"] or []):
        here = "%s[%d]" % (field(path, "hosts"), i)
        validate.address(entry["address"], here + ".address")
        for j, name in enumerate(entry["names"]):
            if not name or any(c.isspace() for c in name) or "#" in name:
                raise ValidationError("%r is not a host name" % (name,), "%s.names[%d]" % (here, j))
    for i, server in enumerate(spec["nameservers"] or []):
        validate.address(server, "%s[%d]" % (field(path, "nameservers"), i))
    return spec


def plan_names(params, ctx):
    items = batch_items(params, "namespaces", ITEM_KEYS)
    specs = [(path, _validate(path, item, params["state"])) for path, item in items]
    validate.unique(specs, lambda ps: ps[1]["netns"], lambda i: field(specs[i][0], "netns"), "namespace")
    root = params.get("root") or ROOT
    shared = params.get("shared") or {}
    for name, entries in sorted(shared.items()):
        if not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("address") and
                                                    isinstance(e.get("names"), list) for e in entries):
            raise ValidationError("must be a list of entries, each an address and its names", "shared." + name)
    shared_digests = {name: _digest(entries) for name, entries in shared.items()}
    hostname = socket.gethostname()  # every namespace's too: a new one rewrites the hosts files
    found = None
    plans = []
    for path, spec in specs:
        key = path or spec["netns"]
        folder = os.path.join(root, spec["netns"])
        files = {"hosts": os.path.join(folder, "hosts"), "resolv.conf": os.path.join(folder, "resolv.conf")}
        heads = {name: _head(p) for name, p in files.items()}
        projects = {h[2] for h in heads.values() if h[1] and h[2]}
        theirs = projects.pop() if len(projects) == 1 else None
        before = None
        if any(h[0] for h in heads.values()):
            before = owners.tagged({"netns": spec["netns"], "files": sorted(n for n, h in heads.items() if h[0]),
                                    "digests": {n: h[3] for n, h in sorted(heads.items()) if h[0]}}, theirs)
        what = "the names of namespace %r (%s)" % (spec["netns"], folder)
        if spec["state"] == "absent":
            if before is not None and not owners.removable(ctx.owner, theirs):
                plans.append(ItemPlan(key, spec["netns"], before, before,
                                      warnings=[owners.left_warning(ctx.owner, theirs, what)]))
                continue
            steps = [Step("remove %s" % p, _remove(p)) for name, p in sorted(files.items()) if heads[name][1]]
            plans.append(ItemPlan(key, spec["netns"], before, None, steps))
            continue
        for name, (exists, marked, _project, _digest_) in sorted(heads.items()):
            if exists and not marked:
                raise ConflictError("%s exists and nsbridge did not write it; remove it (or keep the container out "
                                    "of nsbridge)" % files[name], field(path, "netns"))
        owners.check(ctx.owner, theirs, what, key)
        project = ctx.owner or theirs
        if spec["nameservers"] is not None:
            servers, others, source, warning = list(spec["nameservers"]), [], "nameservers", None
        elif spec["resolv"] == "none":
            servers, others, source, warning = [], [], None, None
        else:
            if found is None:
                found = upstream(params.get("upstream_from") or UPSTREAM_FROM)
            servers, others, source, warning = found
        for i, name in enumerate(spec["include"] or []):
            if name not in shared:
                raise ValidationError("%r is not one of shared (%s)" % (name, ", ".join(sorted(shared)) or "none"),
                                      "%s[%d]" % (field(path, "include"), i))
        # what each file is made from, digested: compared with its first line, so an unchanged file is
        # neither read nor rebuilt
        digests = {"hosts": _digest(spec["hosts"] or [], [shared_digests[n] for n in spec["include"] or []], hostname),
                   "resolv.conf": _digest(servers, others, source)}

        content = _content(spec, shared, (servers, others, source), project, digests, hostname)
        steps = [Step("write %s" % files[name], _write_in_place(files[name], lambda n=name, make=content: make(n)))
                 for name in sorted(files) if heads[name][3] != digests[name] or heads[name][2] != project]
        after = owners.tagged({"netns": spec["netns"], "files": sorted(files), "digests": digests,
                               "nameservers": servers}, project)
        plan = ItemPlan(key, spec["netns"], before, after, steps)
        if warning and not any(warning in p.warnings for p in plans):
            plan.warnings.append(warning)
        plans.append(plan)
    return Planned(plans)


def _content(spec, shared, resolvers, project, digests, hostname):
    """What writes a namespace's file ``name`` (hosts or resolv.conf), with its mark line."""
    def content(name):
        if name == "hosts":
            body = hosts_text(list(spec["hosts"] or []) + [e for n in spec["include"] or [] for e in shared[n]],
                              spec["netns"], hostname)
        else:
            body = resolv_text(*resolvers)
        return _mark(project, digests[name]) + body
    return content


def files_of(netns, root=ROOT):
    """The files nsbridge keeps for ``netns`` (what ``ip netns exec`` binds over /etc)."""
    folder = os.path.join(root, netns)
    try:
        return sorted(os.listdir(folder))
    except FileNotFoundError:
        return []


def project_of(folder):
    """The project a namespace's files were written for (None: none, or not nsbridge's)."""
    for name in ("hosts", "resolv.conf"):
        _exists, marked, project, _digest_ = _head(os.path.join(folder, name))
        if marked:
            return project
    return None
