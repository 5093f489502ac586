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
"""

from __future__ import annotations

import ipaddress
import os

from ..common import validate
from ..common.errors import ConflictError, ValidationError
from ..engine import owner as owners
from ..engine.edge import batch_items, field, item_spec
from ..engine.reconcile import ItemPlan, Planned, Step

ITEM_OPTIONS = dict(
    netns=dict(type="str"),
    hosts=dict(type="list", elements="dict", options=dict(
        address=dict(type="str", required=True), names=dict(type="list", elements="str", required=True))),
    resolv=dict(type="str", choices=["upstream", "none"], default="upstream"),
    nameservers=dict(type="list", elements="str"),
)
ITEM_KEYS = tuple(ITEM_OPTIONS) + ("state",)
UPSTREAM_FROM = ["/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"]
ROOT = "/etc/netns"
MARK = "# nsbridge"
LOCALHOST = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]


def _mark(project):
    return "%s%s: written by nsbridge.network.names; changes here are overwritten\n" % (
        MARK, " (project %s)" % project if project else "")


def _owner(text):
    """(marked, project) of a file's contents (None: no file)."""
    if text is None:
        return False, None
    first = text.split("\n", 1)[0]
    if not first.startswith(MARK):
        return False, None
    rest = first[len(MARK):]
    return True, rest[len(" (project "):rest.index(")")] if rest.startswith(" (project ") else None


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


def hosts_text(entries, project):
    lines = list(LOCALHOST)
    for entry in entries:
        lines.append("%s\t%s" % (entry["address"], " ".join(entry["names"])))
    return _mark(project) + "\n".join(lines) + "\n"


def resolv_text(servers, others, project, source):
    lines = ["nameserver %s" % s for s in servers] + others
    said = "# from %s\n" % source if source else "# no upstream resolvers\n"
    return _mark(project) + said + "".join(line + "\n" for line in lines)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def _write_in_place(path, text):
    def run():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = text.encode()
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
    found = None
    plans = []
    for path, spec in specs:
        key = path or spec["netns"]
        folder = os.path.join(root, spec["netns"])
        files = {"hosts": os.path.join(folder, "hosts"), "resolv.conf": os.path.join(folder, "resolv.conf")}
        have = {name: _read(p) for name, p in files.items()}
        marks = {name: _owner(text) for name, text in have.items()}
        projects = {project for (marked, project) in marks.values() if marked and project}
        theirs = projects.pop() if len(projects) == 1 else None
        before = None
        if any(text is not None for text in have.values()):
            before = owners.tagged({"netns": spec["netns"], "files": sorted(n for n, t in have.items() if t is not None),
                                    "hosts": _entries_of(have["hosts"])}, theirs)
        what = "the names of namespace %r (%s)" % (spec["netns"], folder)
        if spec["state"] == "absent":
            if before is not None and not owners.removable(ctx.owner, theirs):
                plans.append(ItemPlan(key, spec["netns"], before, before,
                                      warnings=[owners.left_warning(ctx.owner, theirs, what)]))
                continue
            steps = [Step("remove %s" % p, _remove(p)) for name, p in sorted(files.items()) if marks[name][0]]
            plans.append(ItemPlan(key, spec["netns"], before, None, steps))
            continue
        for name, (marked, _project) in sorted(marks.items()):
            if have[name] is not None and not marked:
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
        want = {"hosts": hosts_text(spec["hosts"] or [], project),
                "resolv.conf": resolv_text(servers, others, project, source)}
        steps = [Step("write %s" % files[name], _write_in_place(files[name], want[name]))
                 for name in sorted(files) if have[name] != want[name]]
        after = owners.tagged({"netns": spec["netns"], "files": sorted(files), "hosts": _entries_of(want["hosts"]),
                               "nameservers": servers}, project)
        if before is not None and have["resolv.conf"] is not None:
            before["nameservers"] = [line.split()[1] for line in have["resolv.conf"].splitlines()
                                     if line.startswith("nameserver ")]
        plan = ItemPlan(key, spec["netns"], before, after, steps)
        if warning and not any(warning in p.warnings for p in plans):
            plan.warnings.append(warning)
        plans.append(plan)
    return Planned(plans)


def _entries_of(text):
    """The hosts file's own entries (localhost lines and comments left out), for diffs."""
    if not text:
        return []
    return [line for line in text.splitlines() if line and not line.startswith("#") and line not in LOCALHOST]


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
        marked, project = _owner(_read(os.path.join(folder, name)))
        if marked:
            return project
    return None
