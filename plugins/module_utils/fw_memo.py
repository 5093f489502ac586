# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remembered no-op plans of the firewall modules (nat_masquerade, port_publish, network_isolation).

Asked the same thing again with nothing changed on the host, a firewall module plans nothing;
working that out costs milliseconds of validation and planning per hundred items, several times
what reading the firewall costs.  So after every call that leaves the firewall as asked -- a call
that found nothing to do, or one that changed things and then planned again (after its commit,
under its lock) and found nothing left -- nsbridge keeps, per namespace, module and check mode,
in ``/run/nsbridge/memo-<netns cookie>-<module>-<check|run>``:

- a digest of the module's arguments and of the source code that plans them;
- every part of the observed firewall the plan looked at (FirewallPlanner.reads: the rules of
  each scope it planned, the names of the scopes under a prefix it listed);
- every other value it read (sysctls, interfaces, saved sysctl values: the ``@probe``
  functions of fw_plan), with the value;
- the per-item before/after states and the result fields.

The next call with the same arguments observes the firewall as always and, only if every one
of those reads gives the same answer again, returns the remembered no-op plans without
validating or planning again.  Rules of other scopes (another module's, another call's) may
change meanwhile: the plan did not look at them.  Anything it looked at different, or another
code version, and it plans from scratch.  Only no-op plans are stored, so a memo can never be
the reason a change is skipped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os

from .fw_plan import (PROBES, STATE_DIR, FirewallPlanner, _recorders, forget_state, netns_id, open_backend,
                      write_state)
from .netlink import netns_exists
from .reconcile import ItemPlan

_VERSION = b"1"
# the code a firewall module's plan comes from
_SOURCES = ("edge", "errors", "fw_iptables", "fw_lock", "fw_memo", "fw_nftables", "fw_plan", "fw_rules",
            "ipt_entry", "isolation_plan", "nat_plan", "netlink", "nft_dump", "publish_plan", "reconcile",
            "validate")
_code = None


def _code_digest():
    """A digest of the source the plans come from: a remembered plan is used only by the code
    that made it (an upgraded collection plans from scratch)."""
    global _code
    if _code is None:
        package = __name__.rsplit(".", 1)[0]
        digest = hashlib.blake2b(_VERSION, digest_size=16)
        for name in _SOURCES:
            try:
                spec = importlib.util.find_spec(package + "." + name)
                digest.update(name.encode() + b"\0" + spec.loader.get_data(spec.origin))
            except (AttributeError, ImportError, OSError):
                digest.update(name.encode() + b"\0?")
        _code = digest.digest()
    return _code


def _key(module, params):
    text = repr(sorted(params.items())).encode()
    return hashlib.blake2b(module.encode() + b"\0" + _code_digest() + b"\0" + text, digest_size=16).hexdigest()


def _place(module, params):
    """(memo path, path of the firewall fingerprint they share) for this call, or None."""
    netns = params.get("netns")
    if netns is not None and not netns_exists(netns):
        return None  # the planner names the missing namespace
    base = os.path.join(STATE_DIR, "memo-%s-" % netns_id(netns))
    return base + "%s-%s" % (module, "check" if params.get("_check_mode") else "run"), base + "firewall"


def _load(path, key=None):
    """The memo at ``path`` (if made for ``key``, when given), else None."""
    try:
        with open(path) as f:
            header = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(header, dict) or (key is not None and header.get("key") != key):
        return None
    return header


def _write(path, data):
    """write_state, but on any failure remove ``path``: nothing remembered is never wrong."""
    try:
        write_state(path, data)
        return True
    except OSError:
        forget_state(path)
        return False


def _save(path, header):
    try:
        data = json.dumps(header, separators=(",", ":")).encode()
    except (TypeError, ValueError):
        forget_state(path)
        return
    _write(path, data)


def _siblings(shared):
    """Paths of the memos of the namespace whose shared fingerprint is ``shared``."""
    prefix = os.path.basename(shared)[:-len("firewall")]
    try:
        names = os.listdir(STATE_DIR)
    except OSError:
        return []
    return [os.path.join(STATE_DIR, n) for n in names
            if n.startswith(prefix) and "." not in n and os.path.join(STATE_DIR, n) != shared]


# -- the firewall fingerprint the memos of one namespace share: the backend's fingerprint as last
# seen by a call that checked every memo against it, and a random token naming that content.  A
# memo carries the token it was checked at; while the file holds that token and the firewall
# still gives the same fingerprint, the memo's firewall reads need not be looked at again.

def _shared_token(shared, fingerprint):
    """The token of ``fingerprint`` if the shared file holds exactly it, else None."""
    if fingerprint is None:
        return None
    try:
        with open(shared, "rb") as f:
            data = f.read()
    except OSError:
        return None
    token, _, content = data.partition(b"\n")
    return token.decode() if content == fingerprint else None


def _reads_unchanged(reads):
    for name, args, value in reads:
        fn = PROBES.get(name)
        try:
            if fn is None or fn(*args) != value:
                return False
        except Exception:  # noqa: BLE001 - any failure to read again is a difference
            return False
    return True


def _still_valid(header, chosen, fw):
    """True if the memo ``header`` holds for the firewall as ``fw`` observed it, and the host."""
    keys, digest = header["firewall"]
    return header.get("backend") == chosen and fw.digest_of(keys) == digest \
        and _reads_unchanged(header["reads"])


def _restamp(path, shared, chosen, fw):
    """The firewall changed (or was never stamped): write its fingerprint as seen by ``fw`` to
    the shared file under a new token, and carry every other memo of this namespace that still
    holds over to it; drop the others.  Returns the token, or None."""
    fingerprint = fw.backend.fingerprint()
    if fingerprint is None:
        return None
    token = _shared_token(shared, fingerprint)
    if token is not None:
        return token
    token = os.urandom(16).hex()
    if not _write(shared, token.encode() + b"\n" + fingerprint):
        return None
    for other in _siblings(shared):
        if other == path:
            continue
        header = _load(other)
        if header is not None and _still_valid(header, chosen, fw):
            header["tables"] = token
            _save(other, header)
        else:
            forget_state(other)
    return token


def _drop(place):
    """Forget the memo at ``place``; the shared fingerprint too once no memo of the namespace is left."""
    path, shared = place
    forget_state(path)
    if not _siblings(shared):
        forget_state(shared)


def _store(place, key, chosen, fw, reads, plans, extra):
    path, shared = place
    if all(p.after is None for p in plans):
        _drop(place)  # nothing of ours is left to check (e.g. after a teardown): nothing to remember
        return
    header = {
        "key": key, "backend": chosen, "firewall": fw.read_digest(), "reads": reads,
        "extra": {k: v for k, v in extra.items() if not k.startswith("_")},
        "plans": [[p.key, p.name, p.before, p.after, p.warnings] for p in plans],
    }
    header["tables"] = _restamp(path, shared, chosen, fw)
    _save(path, header)


def _recorded(plan, params, stack, opened):
    """Run ``plan``, noting every probed read: (plans, extra, planner, reads)."""
    reads = []
    _recorders.append(reads)
    try:
        plans, extra = plan(params, stack, opened)
    finally:
        _recorders.pop()
    return plans, extra, extra.pop("_planner"), reads


def _replay(header, chosen):
    plans = [ItemPlan(k, name, before, after, [], list(warnings))
             for k, name, before, after, warnings in header["plans"]]
    return plans, dict(header["extra"], backend=chosen)


def remembered(module, plan):
    """The planner of firewall module ``module`` made from ``plan(params, stack, opened)`` ->
    (plans, extra with ``_planner``: the FirewallPlanner it planned with); see open_firewall."""

    def planner(params, stack):
        place = _place(module, params)
        key = _key(module, params) if place else None
        header = _load(place[0], key) if place else None
        opened = None
        if header is not None:
            backend, chosen = open_backend(params["backend"], params.get("netns"), stack)
            opened = (backend, chosen, None)
            if header.get("backend") == chosen:
                token = header.get("tables")
                if token is not None and _shared_token(place[1], backend.fingerprint()) == token \
                        and _reads_unchanged(header["reads"]):
                    return _replay(header, chosen)  # the firewall is byte for byte as checked
                fw = FirewallPlanner(backend)
                opened = (backend, chosen, fw)
                if _still_valid(header, chosen, fw):
                    # what the plan looked at is as it was (something else changed): stamp anew
                    header["tables"] = _restamp(place[0], place[1], chosen, fw)
                    _save(place[0], header)
                    return _replay(header, chosen)
        plans, extra, fw, reads = _recorded(plan, params, stack, opened)
        if place is None:
            return plans, extra
        if not any(p.changed for p in plans):
            _store(place, key, extra["backend"], fw, reads, plans, extra)
            return plans, extra
        _drop(place)
        commit = extra.get("_commit")
        if params.get("_check_mode") or commit is None:
            return plans, extra
        again_opened = (fw.backend, extra["backend"], None)

        def commit_and_remember():
            commit()
            # plan again, as the next call will, on a fresh observation: what is left to do must
            # be nothing, and that plan is the one to remember.  Whatever goes wrong here, the
            # commit stands: only nothing is remembered.
            try:
                again, again_extra, again_fw, again_reads = _recorded(plan, params, stack, again_opened)
            except Exception:  # noqa: BLE001
                return
            if not any(p.changed for p in again):
                _store(place, key, again_extra["backend"], again_fw, again_reads, again, again_extra)
        extra["_commit"] = commit_and_remember
        return plans, extra

    planner.__doc__ = plan.__doc__
    return planner
