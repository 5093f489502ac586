# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for long-running workloads inside namespaces (module ``nsbridge.network.workload``).

A workload is a command started in its own session inside a namespace, its
output in ``/run/nsbridge/workloads/NAME.log``.  ``NAME.pid`` records the pid,
the process start time (so a recycled pid is never mistaken for ours) and a
digest of the command and namespace (so a changed command is restarted).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time

from . import validate
from .edge import batch_items, field, item_spec
from .errors import KernelError, ValidationError
from .netlink import netns_exists
from .reconcile import ItemPlan, Step

ITEM_KEYS = ("name", "netns", "command", "state")
WORKLOAD_DIR = "/run/nsbridge/workloads"


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


def _digest(netns, command):
    return hashlib.sha256(json.dumps([netns, command]).encode()).hexdigest()[:12]


def observe(name):
    """{pid, digest} of the running workload ``name``, or None."""
    try:
        with open(os.path.join(WORKLOAD_DIR, name + ".pid")) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    if _start_time(record.get("pid", -1)) != record.get("start"):
        return None
    return record


def _stop(record, name):
    try:
        os.killpg(record["pid"], signal.SIGTERM)
    except ProcessLookupError:
        pass
    for _ in range(50):
        if _start_time(record["pid"]) != record["start"]:
            break
        time.sleep(0.05)
    else:
        try:
            os.killpg(record["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
    for suffix in (".pid", ".log"):
        try:
            os.unlink(os.path.join(WORKLOAD_DIR, name + suffix))
        except FileNotFoundError:
            pass


def _start(name, netns, command):
    os.makedirs(WORKLOAD_DIR, exist_ok=True)
    log_path = os.path.join(WORKLOAD_DIR, name + ".log")
    with open(log_path, "ab") as log, open(os.devnull, "rb") as devnull:
        # its own session, no inherited pipes: it outlives this module and Ansible does not wait for it
        proc = subprocess.Popen(["ip", "netns", "exec", netns, "sh", "-c", command], stdin=devnull,
                                stdout=log, stderr=log, start_new_session=True, close_fds=True, cwd="/")
    time.sleep(0.2)
    if proc.poll() is not None:
        with open(log_path, "rb") as log:
            tail = log.read()[-400:].decode(errors="replace")
        raise KernelError("workload %r exited at once (status %s): %s" % (name, proc.returncode, tail.strip()))
    record = {"pid": proc.pid, "start": _start_time(proc.pid), "digest": _digest(netns, command),
              "netns": netns, "command": command}
    with open(os.path.join(WORKLOAD_DIR, name + ".pid"), "w") as f:
        json.dump(record, f)


def plan_workloads(params, stack):
    items = batch_items(params, "workloads", ITEM_KEYS)
    specs = []
    for path, item in items:
        spec = item_spec(item, ITEM_KEYS, params["state"])
        validate.netns_name(spec["name"], field(path, "name"))  # also a file name
        if spec["state"] == "present":
            if not spec["command"]:
                raise ValidationError("is required when state is present", field(path, "command"))
            validate.netns_name(spec["netns"] or "", field(path, "netns"))
            if not netns_exists(spec["netns"]) and not params.get("_check_mode"):
                raise ValidationError("network namespace %r does not exist" % spec["netns"], field(path, "netns"))
        specs.append((path, spec))
    validate.unique(specs, lambda ps: ps[1]["name"], lambda i: field(specs[i][0], "name"), "workload")
    plans = []
    for path, spec in specs:
        name = spec["name"]
        record = observe(name)
        before = {"name": name, "netns": record["netns"], "command": record["command"], "pid": record["pid"]} \
            if record else None
        if spec["state"] == "absent":
            steps = [Step("stop workload %s (pid %d)" % (name, record["pid"]), lambda r=record, n=name: _stop(r, n))] \
                if record else []
            plans.append(ItemPlan(path or name, name, before, None, steps))
            continue
        after = {"name": name, "netns": spec["netns"], "command": spec["command"]}
        steps = []
        if record and record.get("digest") == _digest(spec["netns"], spec["command"]):
            after["pid"] = record["pid"]
        else:
            if record:
                steps.append(Step("stop workload %s (command changed)" % name,
                                  lambda r=record, n=name: _stop(r, n)))
            steps.append(Step("start %s in %s: %s" % (name, spec["netns"], spec["command"]),
                              lambda s=spec: _start(s["name"], s["netns"], s["command"])))
        plans.append(ItemPlan(path or name, name, before, after, steps))
    return plans, {}
