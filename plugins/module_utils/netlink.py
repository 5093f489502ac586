# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel access for links, addresses, routes and namespaces.

Writes go through pyroute2, one verb per netlink command.  Reads of whole
namespaces go through :mod:`.rtnl_dump` (see its docstring for why).

Namespaces are entered with setns(2) on the calling thread just long enough
to open a socket there: a netlink socket stays bound to the namespace it was
opened in.  ``pyroute2.IPRoute(netns=...)`` forks a helper (~9 ms) and would
create a missing namespace unless ``flags=0``; this costs ~0.5 ms and never
creates anything.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import socket

from .errors import KernelError
from .rtnl_dump import Reader


def pyroute2():
    """Import pyroute2 on first write (~0.2 s): a run that only observes never pays for it."""
    try:
        import pyroute2 as lib
        from pyroute2 import netns as _netns  # noqa: F401
        from pyroute2.netlink import exceptions as _exceptions  # noqa: F401
    except ImportError as exc:
        raise KernelError("the Python library pyroute2 is required on the managed host (%s)" % exc) from None
    return lib

NETNS_RUN_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000
MARK = "nsbridge"  # IFLA_IFALIAS prefix of every link nsbridge creates

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


@contextlib.contextmanager
def entered(netns):
    """Run the body with this thread inside ``netns`` (None = where we are)."""
    if netns is None:
        yield
        return
    path = netns_path(netns)
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise KernelError("network namespace %r does not exist" % netns) from None
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(home)
    finally:
        os.close(target)
        os.close(home)


def netns_path(name):
    return os.path.join(NETNS_RUN_DIR, name)


def netns_exists(name):
    return os.path.exists(netns_path(name))


def list_netns():
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return []


def errno_of(exc):
    return getattr(exc, "code", None) or getattr(exc, "errno", None)


class Namespace:
    """Handles on one namespace: a pyroute2 IPRoute for writes and a Reader for dumps."""

    def __init__(self, name):
        self.name = name
        self._ipr = None
        with entered(name):
            self.reader = Reader(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
        self._links = None
        self._addrs = None
        self._routes = None
        self._all_routes = None
        self._nsids = {}
        self._indexes = {}  # ifname -> ifindex learnt after the snapshot (re-created links)
        self._stale = set()  # ifnames created or deleted since the snapshot

    @property
    def ipr(self):
        """pyroute2 handle for writes, opened on first use (a no-op run never pays for it)."""
        if self._ipr is None:
            lib = pyroute2()
            with entered(self.name):
                self._ipr = lib.IPRoute()
        return self._ipr

    def close(self):
        if self._ipr is not None:
            self._ipr.close()
        self.reader.close()

    # -- observation (cached: observe once, then plans and applies use the snapshot)
    def links(self):
        if self._links is None:
            self._links = self.reader.links()
        return self._links

    def addresses(self):
        if self._addrs is None:
            self._addrs = self.reader.addresses()
        return self._addrs

    def neighbours(self, family):
        """ARP (socket.AF_INET) or FDB (7, AF_BRIDGE) entries: [(ifindex, dst, lladdr, state)]."""
        return self.reader.neighbours(family)

    def routes(self):
        if self._all_routes is None:
            self._all_routes = self.reader.routes()
        return self._all_routes

    def default_routes(self):
        if self._routes is None:
            self._routes = self.reader.default_routes()
        return self._routes

    def nsid_of(self, other):
        """The id this namespace knows namespace ``other`` by (None: not known here)."""
        if other not in self._nsids:
            try:
                fd = os.open(netns_path(other) if other else "/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return None  # gone (or not made yet): nothing here can be in it
            try:
                self._nsids[other] = self.reader.nsid(fd)
            finally:
                os.close(fd)
        return self._nsids[other]

    def invalidate(self, ifname):
        """A step created or deleted ``ifname``: its snapshot index is no longer true."""
        self._stale.add(ifname)
        self._indexes.pop(ifname, None)

    def link(self, ifname):
        return self.links().get(ifname)

    def link_by_index(self, index):
        for link in self.links().values():
            if link["index"] == index:
                return link
        return None

    # -- verbs: each one netlink request; errors carry what was attempted
    def call(self, what, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except pyroute2().netlink.exceptions.NetlinkError as exc:
            where = " in namespace %r" % self.name if self.name else ""
            raise KernelError("%s%s failed: %s" % (what, where, os.strerror(exc.code) if exc.code else exc)) from None

    def index_of(self, ifname):
        """ifindex of ``ifname``: from the snapshot unless a step re-made it since."""
        if ifname in self._indexes:
            return self._indexes[ifname]
        link = self._links.get(ifname) if self._links is not None and ifname not in self._stale else None
        if link is not None:
            return link["index"]
        found = self.call("looking up %s" % ifname, self.ipr.link_lookup, ifname=ifname)
        if not found:
            raise KernelError("interface %r not found%s" % (ifname, " in namespace %r" % self.name if self.name else ""))
        self._indexes[ifname] = found[0]
        return found[0]


class NotYetNamespace:
    """Check mode only: a namespace an earlier task of the same run would create. It is empty."""

    def __init__(self, name):
        self.name = name

    def links(self):
        return {}

    def routes(self):
        return []

    def addresses(self):
        return {}

    def default_routes(self):
        return {}

    def link(self, ifname):
        return None

    def link_by_index(self, index):
        return None

    def close(self):
        pass


class Kernel:
    """All namespaces a module call touches, opened once each.

    With ``check_mode``, a missing namespace is planned as empty (a task before this
    one would create it), so check mode on a fresh host predicts a whole play.
    """

    def __init__(self, check_mode=False):
        self._ns = {}
        self.check_mode = check_mode

    def ns(self, name=None):
        """Handles on namespace ``name`` (None = the one this process runs in)."""
        handle = self._ns.get(name)
        if handle is None:
            if name is not None and self.check_mode and not netns_exists(name):
                handle = NotYetNamespace(name)
            else:
                handle = Namespace(name)
            self._ns[name] = handle
        return handle

    def drop(self, name):
        handle = self._ns.pop(name, None)
        if handle is not None:
            handle.close()

    def close(self):
        for handle in self._ns.values():
            handle.close()
        self._ns.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- namespaces
    @staticmethod
    def create_netns(name):
        """Create /run/netns/NAME in this thread (no fork), bring ``lo`` up, mark it as ours."""
        lib = pyroute2()
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            if _libc.unshare(CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise KernelError("unshare(CLONE_NEWNET) failed: %s" % os.strerror(err))
            try:
                lib.netns.attach(name, "thread-self")
                with lib.IPRoute() as ipr:
                    ipr.link("set", index=1, state="up", ifalias=MARK + ":netns")
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    raise KernelError("network namespace %r already exists" % name) from None
                raise KernelError("creating network namespace %r failed: %s" % (name, exc)) from None
            finally:
                _setns(home)
        finally:
            os.close(home)

    def remove_netns(self, name):
        self.drop(name)
        try:
            pyroute2().netns.remove(name)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise KernelError("removing network namespace %r failed: %s" % (name, exc)) from None

    def netns_is_ours(self, name):
        lo = self.ns(name).link("lo")
        return bool(lo and (lo.get("alias") or "").startswith(MARK))
