# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What nsbridge keeps under /run/nsbridge outlives nothing it belongs to.

Run before and after every module's real run (never in check mode, never by drift_info):

- saved sysctl values of a namespace that is gone (deleted behind nsbridge's back with
  ``ip netns del``) are forgotten: they are keyed by the namespace's cookie, which no other
  namespace will ever have;
- a workload whose namespace name is gone is stopped (it would keep the deleted namespace alive)
  and forgotten;
- the ownership records kept for a named namespace that is gone (a host simulated as a namespace,
  calls.ownership) go with it;
- empty directories go, so that after a teardown nothing of nsbridge's is left under /run.
"""

from __future__ import annotations

import os
import shutil

from ..kernel.netlink import entered_fd, list_netns, netns_exists, netns_path
from ..kernel.run_state import STATE_DIR, forget_state, netns_id, state_names
from ..planners.workload import WORKLOAD_DIR, read_record, stop
from . import ownership


def _live_cookies(wanted):
    """The cookies of every namespace that exists, or just this one's if that is all ``wanted``
    holds.  Every namespace: the named ones and those of every process (the host's among them),
    each entered once to ask its cookie."""
    live = {netns_id(None)}
    if wanted <= live:
        return live
    paths = {}
    candidates = [netns_path(n) for n in list_netns()]
    candidates += ["/proc/%s/ns/net" % pid for pid in os.listdir("/proc") if pid.isdigit()]
    for path in candidates:
        try:
            paths.setdefault(os.stat(path).st_ino, path)
        except OSError:
            continue  # gone meanwhile, or a bare file
    for path in paths.values():
        try:
            with entered_fd(path):
                live.add(netns_id(None))
        except OSError:
            continue
    return live


def sweep():
    """Forget state of namespaces that are gone; remove empty directories."""
    files = state_names("sysctl-")
    cookies = {name.split("-", 2)[1] for name in files}
    if cookies:
        live = _live_cookies(cookies)
        for name in files:
            if name.split("-", 2)[1] not in live:
                forget_state(os.path.join(STATE_DIR, name))
    try:
        records = [n[:-4] for n in os.listdir(WORKLOAD_DIR) if n.endswith(".pid")]
    except FileNotFoundError:
        records = []
    for name in records:
        record = read_record(name)
        if record is not None and not netns_exists(record.get("netns") or ""):
            stop(record, name)
    netns_records = os.path.join(ownership.STATE_ROOT, "netns")
    for name in os.listdir(netns_records) if os.path.isdir(netns_records) else []:
        if not os.path.exists(netns_path(name)):
            shutil.rmtree(os.path.join(netns_records, name), ignore_errors=True)
    for path in (WORKLOAD_DIR, STATE_DIR, netns_records, ownership.STATE_ROOT):
        try:
            os.rmdir(path)  # only if empty
        except OSError:
            pass
