# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a project made on a host, per record, and what goes when the description stops naming it.

``nsbridge.network.apply`` with ``record`` (the roles pass one each, with ``nsbridge_project``)
keeps, on the host, the identities of the objects its calls made (calls.items): the *ownership
record* ``/var/lib/nsbridge/projects/PROJECT/RECORD.json``.  The next apply of the same record
compares: what the record holds and the calls no longer ask for is an orphan, removed first
(``prune``, the default) or kept with a warning naming it.

Proof before removal: the record says what to look at, the marks on the objects (engine.owner)
say whose it is -- an object marked for another project is never removed, whatever a record
says.  A record that is missing (lost, or never written: a first run) or unreadable is replaced
by what the marks prove is the project's (calls.items.scan), with a warning when that finds
anything.  The record is written before the calls run as the union of what it held and what they
make, and afterwards as what exists now: a run killed half-way leaves a record that still names
everything it may have made, so the next run converges.

Records are kept per network namespace the module runs in: the host's under /var/lib/nsbridge,
a named namespace's (a host simulated as a namespace, a test's sandbox: /run/netns/NAME) under
/var/lib/nsbridge/netns/NAME, so each such host has its own.  Hosts simulated on one machine share
its namespaces, workloads and names files: a host's first run (no record yet) never takes as its own
what another simulated host's record holds of those.
"""

from __future__ import annotations

import json
import os

from ..common import validate
from ..kernel.netlink import list_netns, netns_path
from . import items

STATE_ROOT = "/var/lib/nsbridge"
VERSION = 1
EXTERNAL = items.EXTERNAL


def check_project(value, path="project"):
    return validate.project(value, path)


def state_root():
    """Where this host's records are: those of the named namespace (/run/netns/NAME) this runs in,
    if it runs in one, else the host's own."""
    try:
        here = os.stat("/proc/thread-self/ns/net")
    except OSError:
        return STATE_ROOT
    for name in list_netns():
        try:
            st = os.stat(netns_path(name))
        except OSError:
            continue
        if (st.st_ino, st.st_dev) == (here.st_ino, here.st_dev):
            return os.path.join(STATE_ROOT, "netns", name)
    return STATE_ROOT


def _record_folders(project):
    """Where ``project``'s records are for every host on this machine: its own and each host simulated
    as a named namespace (state_root)."""
    simulated = os.path.join(STATE_ROOT, "netns")
    names = sorted(os.listdir(simulated)) if os.path.isdir(simulated) else []
    return [os.path.join(root, "projects", project) for root in [STATE_ROOT] + [os.path.join(simulated, n) for n in names]]


def _machine_wide(identity):
    """True for an object every host simulated on this machine sees: a namespace (/run/netns), a
    workload or a names file, or anything inside a named namespace; not a host's own links or rules."""
    parts = identity.split("|")
    return parts[0] in ("netns", "workload", "names") or (len(parts) > 2 and parts[1] != "")


def _entries_of(calls):
    """{identity: (module, item, call)} the validated calls make, and the identities they remove."""
    made, removed = {}, set()
    for call in calls:
        present, absent = items.identities(call["module"], call["args"])
        for key, (item, args) in present.items():
            made[key] = (call["module"], item, args)
        removed |= absent
    return made, removed


class Ledger:
    """One project's record: what it held, what the calls make now, and the orphans between."""

    def __init__(self, project, record, calls, external=()):
        self.project = check_project(project)
        self.record = record
        self.path = os.path.join(state_root(), "projects", project, record + ".json")
        self.warnings = []
        self.made, self.removed = _entries_of(calls)
        # what the caller makes by other means (the containers role's podman containers): recorded
        # the same way, and handed back when no longer listed, for the caller to remove
        for name in external:
            self.made[items.ident(EXTERNAL, name)] = (EXTERNAL, {"name": name}, {})
        self.had = self._load(calls)

    def _load(self, calls):
        try:
            with open(self.path) as f:
                data = json.load(f)
            if data.get("version") != VERSION or data.get("project") != self.project:
                raise ValueError("not a version %d record of project %r" % (VERSION, self.project))
            return {key: (e["module"], e["item"], e["call"]) for key, e in data["entries"].items()}
        except FileNotFoundError:
            corrupt = None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            corrupt = exc
        modules = {c["module"] for c in calls}
        where = {}
        for call in calls:
            where.setdefault(call["module"], []).append((call["args"].get("netns"), call["args"].get("backend")))
        found = items.scan(self.project, modules, where)
        found = {k: v for k, v in found.items() if k not in self._others()}
        if corrupt is not None:
            self.warnings.append("the record of project %r at %s cannot be read (%s): what the marks prove is the "
                                 "project's is used instead (%d objects)" % (self.project, self.path, corrupt, len(found)))
        elif set(found) - set(self.made):
            self.warnings.append("project %r has no record at %s: the objects its marks name are used instead"
                                 % (self.project, self.path))
        return found

    def _others(self):
        """Identities the project's other records hold (never orphans of this one): this host's other
        records, and what the records of the other hosts simulated on this machine hold of what all of
        them share (namespaces, workloads, names, and what lives inside a namespace)."""
        out = set()
        for folder in _record_folders(self.project):
            mine = folder == os.path.dirname(self.path)
            for name in sorted(os.listdir(folder)) if os.path.isdir(folder) else []:
                if name.endswith(".json") and not (mine and name == self.record + ".json"):
                    try:
                        with open(os.path.join(folder, name)) as f:
                            held = set(json.load(f).get("entries", {}))
                    except (OSError, ValueError, AttributeError):
                        continue
                    out |= held if mine else {k for k in held if _machine_wide(k)}
        return out

    def orphans(self):
        """{identity: entry} the record holds that the calls neither make nor remove themselves."""
        return {k: v for k, v in self.had.items() if k not in self.made and k not in self.removed}

    def new(self):
        """True if the calls make something the record does not hold (worth a check for conflicts)."""
        return any(k not in self.had for k in self.made)

    def prune_calls(self):
        # namespaces the calls remove themselves take what lives inside them too
        removed = {self.had[k][1]["name"] for k in self.removed if k in self.had and self.had[k][0] == "netns"}
        return items.removal_calls({k: v for k, v in self.orphans().items() if v[0] != EXTERNAL}, removed)

    def external_orphans(self):
        """The caller's own objects (``external``) an earlier apply listed and this one does not."""
        return sorted(item["name"] for module, item, _call in self.orphans().values() if module == EXTERNAL)

    def describe(self, entries):
        return items.describe(entries, dict(self.had, **self.made))

    def _bytes(self, entries):
        data = {"version": VERSION, "project": self.project, "record": self.record,
                "entries": {k: {"module": m, "item": i, "call": c} for k, (m, i, c) in sorted(entries.items())}}
        return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()

    def _write(self, entries):
        """Make the record hold ``entries`` (none: no record); returns True if it changed."""
        want = self._bytes(entries) if entries else None
        try:
            with open(self.path, "rb") as f:
                have = f.read()
        except FileNotFoundError:
            have = None
        if have == want:
            return False
        if want is None:
            os.unlink(self.path)
            _remove_empty(os.path.dirname(self.path))
            return True
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        tmp = self.path + ".nsbridge-new"
        with open(tmp, "wb") as f:
            f.write(want)
        os.replace(tmp, self.path)
        return True

    def write_ahead(self):
        """Before the calls run: everything it held and everything they may make."""
        self._write(dict(self.had, **self.made))

    def write_done(self, kept):
        """After they ran: what exists now -- what they made, and the orphans ``kept``."""
        self._write(dict(kept, **self.made))


def _remove_empty(folder):
    """Remove ``folder`` and its parents up to STATE_ROOT while they are empty."""
    while folder.startswith(STATE_ROOT) and folder != STATE_ROOT:
        try:
            os.rmdir(folder)
        except OSError:
            return
        folder = os.path.dirname(folder)
    try:
        os.rmdir(STATE_ROOT)
    except OSError:
        pass
