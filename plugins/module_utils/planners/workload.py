# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for long-running workloads inside namespaces (module ``nsbridge.network.workload``).

A workload is a command started in its own session inside a namespace, its
output in ``/run/nsbridge/workloads/NAME.log``.  ``NAME.pid`` records the pid,
the process start time (so a recycled pid is never mistaken for ours) and a
digest of the command, namespace and environment (so a changed one is restarted).

A workload's environment is its own, as a Docker container's is: ``PATH``, ``HOME``, the item's
``env`` and the marker below, never the environment of the module (which, on a local connection, is
the operator's shell: Ansible's variables, an agent socket, credentials exported there).
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import signal
import subprocess
import time

from ..common import validate
from ..common.errors import KernelError, ValidationError, field
from ..engine import owner as owners
from ..engine.edge import batch_items, item_spec
from ..engine.reconcile import ItemPlan, Planned, Step
from ..kernel.netlink import netns_exists, netns_path
from ..kernel.run_state import write_state
from .names import files_of

ITEM_OPTIONS = dict(name=dict(type="str"), netns=dict(type="str"), command=dict(type="str"), env=dict(type="dict"))
ITEM_KEYS = tuple(ITEM_OPTIONS) + ("state",)
WORKLOAD_DIR = "/run/nsbridge/workloads"
MARKER = "NSBRIDGE_WORKLOAD"  # in every workload's environment: its name
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # Docker's default PATH


def environment(name, env):
    """The whole environment workload ``name`` starts with: its own, not the module's."""
    try:
        home = pwd.getpwuid(os.geteuid()).pw_dir
    except KeyError:
        home = "/"
    return dict({"PATH": PATH, "HOME": home}, **env, **{MARKER: name})


def _start_time(pid):
    """The start time of live process ``pid``; None if it is gone or a zombie nobody reaped yet
    (its parent may be an init that never reaps, or the process that started it)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    if len(fields) < 20 or fields[0] in ("Z", "X"):
        return None
    return fields[19]


def _digest(netns, command, env=None):
    # without env, the digest of the releases before env (a running workload is not restarted by an upgrade)
    return hashlib.sha256(json.dumps([netns, command] + ([sorted(env.items())] if env else [])).encode()).hexdigest()[:12]


def netns_inode(netns):
    """The inode of namespace ``netns`` (None if there is none by that name): a namespace deleted
    and made again under the same name is another namespace."""
    try:
        return os.stat(netns_path(netns)).st_ino if netns_exists(netns) else None
    except OSError:
        return None


def read_record(name):
    try:
        with open(os.path.join(WORKLOAD_DIR, name + ".pid")) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def observe(name):
    """{pid, digest, ...} of the running workload ``name``, or None.  A workload whose namespace
    was deleted (and maybe made anew) under it runs in the old one: not the workload asked for."""
    record = read_record(name)
    if record is None or _start_time(record.get("pid", -1)) != record.get("start"):
        return None
    if record.get("inode") is not None and netns_inode(record["netns"]) != record["inode"]:
        record["stale"] = True
    return record


def stop(record, name):
    """Stop a recorded workload and forget it."""
    _stop(record, name)


def _stop(record, name):
    _terminate(record)
    _wait_gone([(record, name)])


def _terminate(record):
    try:
        os.killpg(record["pid"], signal.SIGTERM)
    except ProcessLookupError:
        pass


def _wait_gone(stopping, grace=2.5):
    """Wait for the process groups of every (record, name) sent SIGTERM to be gone -- every process
    of it, not only its leader (a server's port is free only when the server is) -- together, with one
    look through /proc per round; SIGKILL what is left after ``grace`` seconds; forget them."""
    groups = {r["pid"] for r, _n in stopping if r.get("pid")}
    deadline = time.monotonic() + grace
    while groups and _alive_in(groups) and time.monotonic() < deadline:
        time.sleep(0.01)
    if groups and _alive_in(groups):
        _kill_groups(groups)
    for _record, name in stopping:
        for suffix in (".pid", ".log"):
            try:
                os.unlink(os.path.join(WORKLOAD_DIR, name + suffix))
            except FileNotFoundError:
                pass


def marked_groups():
    """{workload name: process groups} of every process carrying ``MARKER=name`` in its
    environment: how workloads whose record is gone (a run killed between starting one and
    writing its record, a record deleted by hand) are still found.  One pass over /proc."""
    head = MARKER.encode() + b"="
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as f:
                env = f.read()
            if head not in env:
                continue
            for item in env.split(b"\0"):
                if item.startswith(head):
                    found.setdefault(item[len(head):].decode(errors="replace"), set()).add(os.getpgid(int(entry)))
        except OSError:
            continue  # gone meanwhile, or not readable
    return found


def _kill_groups(groups):
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except ProcessLookupError:
            pass
    # SIGKILL is delivered asynchronously: wait (briefly) until they are gone, so that the next
    # run, or anything reading /proc right after this one, no longer finds them
    deadline = time.monotonic() + 2
    while _alive_in(groups) and time.monotonic() < deadline:
        time.sleep(0.01)


def _alive_in(groups):
    """True while a process (not a zombie) of one of ``groups`` exists."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open("/proc/%s/stat" % entry) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) in groups:
                return True
    return False


def _write_record(name, record):
    # root's alone, as the workload's /proc/PID/environ is: its env may hold what the command needs to log in
    write_state(os.path.join(WORKLOAD_DIR, name + ".pid"), json.dumps(record).encode())


def _launch(name, netns, command, env, owner=None):
    """Start one workload and record it at once (a run killed right after still knows it); its
    first 0.2 s are checked together with the others' (see _Batch)."""
    os.makedirs(WORKLOAD_DIR, exist_ok=True)
    log_path = os.path.join(WORKLOAD_DIR, name + ".log")
    with open(log_path, "ab") as log, open(os.devnull, "rb") as devnull:
        # its own session, no inherited pipes: it outlives this module and Ansible does not wait for it
        proc = subprocess.Popen(["ip", "netns", "exec", netns, "sh", "-c", command], stdin=devnull,
                                stdout=log, stderr=log, start_new_session=True, close_fds=True, cwd="/", env=environment(name, env))
    record = {"pid": proc.pid, "start": _start_time(proc.pid), "digest": _digest(netns, command, env),
              "netns": netns, "command": command, "inode": netns_inode(netns), "files": files_of(netns)}
    if env:
        record["env"] = env
    if owner:
        record["project"] = owner
    _write_record(name, record)
    return proc, log_path


class _Batch:
    """A call's stops and starts, done together: every stop is signalled in its item's step and
    waited for once; every start waits for the stops (a restarted server must find its port free),
    then all start at once and are checked once, 0.2 s later, for having exited at once (100 starts
    cost one pause, not a hundred)."""

    SETTLE = 0.2

    def __init__(self):
        self.stopping, self.orphaned, self.starting = [], [], []

    def stop(self, record, name):
        _terminate(record)
        self.stopping.append((record, name))

    def start(self, spec, orphaned, owner):
        self.orphaned += orphaned
        self.starting.append((spec, owner))

    def describe(self):
        parts = []
        if self.stopping_planned:
            parts.append("wait for %d stopped workload%s" % (self.stopping_planned, "s"[:self.stopping_planned > 1]))
        if self.starting_planned:
            parts.append("start %d workload%s together and check them %.1f s later"
                         % (self.starting_planned, "s"[:self.starting_planned > 1], self.SETTLE))
        return "; ".join(parts)

    def run(self):
        _wait_gone(self.stopping)
        _kill_groups(sorted(set(self.orphaned)))
        launched = [(spec["name"],) + _launch(spec["name"], spec["netns"], spec["command"], spec["env"], owner)
                    for spec, owner in self.starting]
        if not launched:
            return
        time.sleep(self.SETTLE)
        failed = []
        for name, proc, log_path in launched:
            if proc.poll() is not None:
                with open(log_path, "rb") as log:
                    tail = log.read()[-400:].decode(errors="replace")
                failed.append("workload %r exited at once (status %s): %s" % (name, proc.returncode, tail.strip()))
                _wait_gone([(read_record(name) or {"pid": proc.pid, "start": None}, name)], grace=0)
        if failed:
            raise KernelError("; ".join(failed))


def _what_changed(record, spec):
    if record.get("command") != spec["command"] or record.get("netns") != spec["netns"]:
        return "command changed"
    return "environment changed"


def plan_workloads(params, ctx):
    items = batch_items(params, "workloads", ITEM_KEYS)
    specs = []
    for path, item in items:
        spec = item_spec(item, ITEM_KEYS, params["state"])
        validate.netns_name(spec["name"], field(path, "name"))  # also a file name
        if spec["state"] == "present":
            if not spec["command"]:
                raise ValidationError("is required when state is present", field(path, "command"))
            validate.netns_name(spec["netns"] or "", field(path, "netns"))
            spec["env"] = validate.environment(spec["env"], field(path, "env"), reserved=(MARKER,))
            if not netns_exists(spec["netns"]) and not ctx.check_mode:
                raise ValidationError("network namespace %r does not exist" % spec["netns"], field(path, "netns"))
        specs.append((path, spec))
    validate.unique(specs, lambda ps: ps[1]["name"], lambda i: field(specs[i][0], "name"), "workload")
    records = {spec["name"]: observe(spec["name"]) for _path, spec in specs}
    marked = marked_groups() if not all(records.values()) else {}
    batch = _Batch()
    plans = []
    for path, spec in specs:
        name = spec["name"]
        record = records[name]
        orphaned = sorted(marked.get(name, ())) if record is None else []
        before = owners.tagged(dict({"name": name, "netns": record["netns"], "command": record["command"]},
                                    **({"env": record["env"]} if record.get("env") else {}), pid=record["pid"]),
                               record.get("project")) if record else None
        if record and spec["state"] == "present":
            owners.check(ctx.owner, record.get("project"), "workload %r" % name, path or name)
        if record and spec["state"] == "absent" and not owners.removable(ctx.owner, record.get("project")):
            plans.append(ItemPlan(path or name, name, before, before, warnings=[
                owners.left_warning(ctx.owner, record.get("project"), "workload %r" % name)]))
            continue
        if spec["state"] == "absent":
            steps = [Step("stop workload %s (pid %d)" % (name, record["pid"]),
                          lambda r=record, n=name: batch.stop(r, n))] if record else []
            if orphaned:
                steps.append(Step("stop workload %s that has no record (process groups %s)"
                                  % (name, ", ".join(map(str, orphaned))), lambda o=orphaned: _kill_groups(o)))
            plans.append(ItemPlan(path or name, name, before, None, steps))
            continue
        after = owners.tagged(dict({"name": name, "netns": spec["netns"], "command": spec["command"]},
                                   **({"env": spec["env"]} if spec["env"] else {})),
                              ctx.owner or (record or {}).get("project"))
        digest = _digest(spec["netns"], spec["command"], spec["env"])
        steps = []
        # a workload sees its namespace's /etc/netns files only if they were there when it started
        files_changed = record is not None and record.get("files") != files_of(spec["netns"])
        if record and record.get("digest") == digest and not record.get("stale") \
                and not files_changed:
            after["pid"] = record["pid"]
            if owners.claims(ctx.owner, record.get("project")):
                claimed = dict(record, project=ctx.owner)
                claimed.pop("stale", None)
                steps.append(Step("mark workload %s as project %s's" % (name, ctx.owner),
                                  lambda n=name, r=claimed: _write_record(n, r)))
        else:
            if record:
                why = "its namespace was made anew" if record.get("stale") else \
                    _what_changed(record, spec) if record.get("digest") != digest else \
                    "its namespace's names came or went (/etc/netns/%s)" % spec["netns"]
                steps.append(Step("stop workload %s (%s)" % (name, why), lambda r=record, n=name: batch.stop(r, n)))
            steps.append(Step("start %s in %s: %s" % (name, spec["netns"], spec["command"]),
                              lambda s=spec, o=orphaned: batch.start(s, o, ctx.owner)))
        plans.append(ItemPlan(path or name, name, before, after, steps))
    batch.stopping_planned = sum(1 for p in plans for st in p.steps if st.describe.startswith("stop workload"))
    batch.starting_planned = sum(1 for p in plans for st in p.steps if st.describe.startswith("start "))
    changed = [p for p in plans if p.steps]
    if batch.stopping_planned or batch.starting_planned:
        # after every item's steps: the waits and the starts, once for the whole call
        changed[-1].post_steps.append(Step(batch.describe(), batch.run))
    return Planned(plans)
