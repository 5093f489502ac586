# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Surviving a reboot: the calls a role applied, recorded on the host, and what rebuilds them at boot.

``apply`` with ``record: NAME`` and ``persist: true`` keeps three things in step with the host's
description, as file plans of the same reconcile engine (check and diff modes included):

- the record ``/etc/nsbridge/desired/NAME.json``: the calls, with each module's parameters as its
  argument spec validated them (so restoring needs no Ansible);
- the restore program ``/usr/local/lib/nsbridge/nsbridge-restore.pyz``: this package's own code (the
  planners and the engine the modules run, taken from the module that writes it) as a zip
  application, run by the host's Python;
- the systemd unit ``nsbridge-restore.service``, enabled by its link in ``multi-user.target.wants``
  (no systemctl needed, so an image can be prepared offline), which runs the program at boot.

``persist: false`` (and teardown) removes the record; with the last record go the program and the
unit.  Everything is written under ``root`` (``/`` on a host; another directory to prepare an image).
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import pkgutil
import sys
import zipfile

from ..common.errors import NsbridgeError
from ..engine.reconcile import ItemPlan, Planned, Step

RECORDS = "etc/nsbridge/desired"
DEFAULT_PROJECT = "default"
PROGRAM = "usr/local/lib/nsbridge/nsbridge-restore.pyz"
UNIT_NAME = "nsbridge-restore.service"
UNIT = "etc/systemd/system/" + UNIT_NAME
WANTS = "etc/systemd/system/multi-user.target.wants/" + UNIT_NAME
PACKAGE = __name__.rsplit(".", 2)[0]            # ansible_collections.nsbridge.network.plugins.module_utils
ENTRY = PACKAGE + ".day2.restore"               # the program's entry point: main()
_STAMP = (2020, 1, 1, 0, 0, 0)                   # fixed zip times: the same code makes the same bytes

UNIT_TEXT = """\
# nsbridge: rebuilds at boot what nsbridge's roles recorded (nsbridge_persist: true): namespaces,
# links, addresses, routes, firewall rules and workloads, with the planners and engine the modules
# use. On a host already as recorded it changes nothing. Written by nsbridge.network.apply.
[Unit]
Description=Rebuild nsbridge container networks
Documentation=https://galaxy.ansible.com/ui/repo/published/nsbridge/network/
# after the host's own interfaces are configured (a fleet's routes go via the underlay) and its firewall
# is loaded (that may flush the ruleset); before network-online.target and the container engines, so
# what waits for the network finds the containers' networks there
After=network.target nftables.service netfilter-persistent.service iptables.service ip6tables.service firewalld.service
Before=network-online.target podman-restart.service docker.service
ConditionDirectoryNotEmpty=/{records}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={python} /{program}

[Install]
WantedBy=multi-user.target
"""

MAIN = """\
import sys
from {entry} import main
sys.exit(main())
"""


def _path(root, relative):
    return os.path.join(root, relative)


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def record_bytes(calls, project=None):
    data = {"version": 1, "calls": calls}
    if project:
        data["project"] = project  # the restore marks what it makes as the project's, as the run did
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()


def record_file(record, project=None):
    """The record's file name: RECORD.json for the default project (as before projects), else
    RECORD@PROJECT.json (restored in name order: a record's projects one after the other)."""
    return record + ("" if project in (None, DEFAULT_PROJECT) else "@" + project) + ".json"


def program_bytes():
    """The collection's module_utils as a zip application (deterministic bytes): every package
    with its ``__init__`` and every module of it, ``__init__`` files (empty) for the packages above,
    and a __main__ that runs day2.restore.main.

    Only what the running module carries is there to copy (AnsiballZ packs the module_utils a
    module imports): ``nsbridge.network.apply``, which writes the program, imports day2.restore for
    that reason.  Anything less would make a program that cannot restore, so it is refused here."""
    package = sys.modules[PACKAGE]
    if ENTRY not in sys.modules and importlib.util.find_spec(ENTRY) is None:
        raise NsbridgeError("the restore program cannot be built: %s is not available to this module" % ENTRY)
    parts = PACKAGE.split(".")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        def add(name, data):
            info = zipfile.ZipInfo(name, _STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
        add("__main__.py", MAIN.format(entry=ENTRY))
        for depth in range(1, len(parts) + 1):
            add("/".join(parts[:depth]) + "/__init__.py", b"")
        for info in sorted(pkgutil.walk_packages(package.__path__, PACKAGE + "."), key=lambda m: m.name):
            spec = importlib.util.find_spec(info.name)
            source = spec.loader.get_source(info.name) or ""
            path = info.name.replace(".", "/") + ("/__init__.py" if info.ispkg else ".py")
            add(path, source.encode())
    return buf.getvalue()


def unit_bytes(root="/"):
    del root  # the unit names paths as the booted host sees them
    return UNIT_TEXT.format(python=sys.executable, program=PROGRAM, records=RECORDS).encode()


def _write(path, data, mode=0o644):
    def run():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".nsbridge-new"
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    return run


def _remove(path):
    def run():
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    return run


def _link(path, target):
    def run():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if os.path.lexists(path):
            os.unlink(path)
        os.symlink(target, path)
    return run


def _file_plan(key, path, want, mode=0o644):
    """Make ``path`` hold ``want`` (None: not exist), readable by ``mode``."""
    have = _read(path)
    before = None if have is None else {"path": path, "bytes": len(have)}
    after = None if want is None else {"path": path, "bytes": len(want)}
    if have == want:
        return ItemPlan(key, path, before, after)
    if want is None:
        return ItemPlan(key, path, before, None, [Step("remove %s" % path, _remove(path), _write(path, have, mode))])
    undo = _remove(path) if have is None else _write(path, have, mode)
    return ItemPlan(key, path, before, after, [Step("write %s" % path, _write(path, want, mode), undo)])


def plan_persist(record, calls, persist, root="/", project=None):
    """Plans that keep record ``record`` of ``project`` (``calls`` validated) and, while any record is
    left, the restore program and its enabled unit."""
    records_dir = _path(root, RECORDS)
    name = record_file(record, project)
    mine = os.path.join(records_dir, name)
    # root's alone: a workload's env is in it (what its command may need to log in somewhere)
    plans = [_file_plan("record", mine, record_bytes(calls, project) if persist else None, 0o600)]
    others = [f for f in (os.listdir(records_dir) if os.path.isdir(records_dir) else [])
              if f.endswith(".json") and f != name]
    needed = persist or bool(others)
    plans.append(_file_plan("program", _path(root, PROGRAM), program_bytes() if needed else None))
    unit = _path(root, UNIT)
    plans.append(_file_plan("unit", unit, unit_bytes(root) if needed else None))
    wants = _path(root, WANTS)
    target = "/" + UNIT
    linked = os.path.islink(wants) and os.readlink(wants) == target
    if needed and not linked:
        plans.append(ItemPlan("enabled", wants, None, {"path": wants, "target": target},
                              [Step("enable %s (link %s)" % (UNIT_NAME, wants), _link(wants, target), _remove(wants))]))
    elif not needed and os.path.lexists(wants):
        plans.append(ItemPlan("enabled", wants, {"path": wants}, None,
                              [Step("disable %s (remove %s)" % (UNIT_NAME, wants), _remove(wants))]))
    return Planned(plans)
