# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel access for links, addresses, routes and namespaces.

Writes go through pyroute2, one verb per netlink command.  Reads of whole
namespaces go through :mod:`.rtnl_reader` (see its docstring for why).

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

from ..common.errors import KernelError
from .rtnl_reader import Reader


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
MNT_DETACH = 2
MARK = "nsbridge"  # IFLA_IFALIAS prefix of every link nsbridge creates: nsbridge:KIND[:PROJECT]
# ... and the device group it is created in: unlike the alias, the group is set by the very message
# that creates the link, so a run killed right after the creation still leaves a link that is
# recognisably nsbridge's (the next run finishes it, or removes it)
GROUP = 0x6E73
# bridges have a group of their own: a rule can then match "any nsbridge bridge" (network isolation
# holds against every nsbridge network on the host, whichever project made it) in one expression
BRIDGE_GROUP = 0x6E62

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
    try:
        target = os.open(netns_path(netns), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise KernelError("network namespace %r does not exist" % netns) from None
    with _inside(target):
        yield


@contextlib.contextmanager
def entered_fd(path):
    """Run the body with this thread inside the namespace at ``path`` (/proc/PID/ns/net...)."""
    with _inside(os.open(path, os.O_RDONLY | os.O_CLOEXEC)):
        yield


@contextlib.contextmanager
def _inside(target):
    """setns to the namespace open as ``target`` (closed afterwards) for the body, and back."""
    try:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(home)
    finally:
        os.close(target)


def netns_path(name):
    return os.path.join(NETNS_RUN_DIR, name)


def netns_exists(name):
    """True if /run/netns/NAME is a namespace (a bind mount of one, not a bare file left by a
    creation that was killed half-way)."""
    return os.path.ismount(netns_path(name))


def stale_netns(name):
    """True if /run/netns/NAME is only the empty file a killed creation left (no namespace)."""
    path = netns_path(name)
    return os.path.exists(path) and not os.path.ismount(path)


def list_netns():
    try:
        return sorted(os.listdir(NETNS_RUN_DIR))
    except FileNotFoundError:
        return []


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
    def create_netns(name, owner=None):
        """Create /run/netns/NAME in this thread (no fork), bring ``lo`` up, mark it as ours (and
        ``owner``'s, the project it is made for).

        The namespace is marked before it gets its name: killed in between, it goes with the
        thread; killed while it is being named, a bare file is left, which stale_netns tells."""
        lib = pyroute2()
        if stale_netns(name):
            os.unlink(netns_path(name))
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            if _libc.unshare(CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                raise KernelError("unshare(CLONE_NEWNET) failed: %s" % os.strerror(err))
            try:
                with lib.IPRoute() as ipr:
                    ipr.link("set", index=1, state="up", ifalias=mark("netns", owner))
                lib.netns.attach(name, "thread-self")
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    raise KernelError("network namespace %r already exists" % name) from None
                raise KernelError("creating network namespace %r failed: %s" % (name, exc)) from None
            finally:
                _setns(home)
        finally:
            os.close(home)

    def remove_netns(self, name):
        """Unname namespace ``name`` as ``ip netns delete`` does: detach its bind mount, remove the file
        (the namespace goes when nothing holds it any more). Two system calls, so a removal never
        imports pyroute2 (~0.12 s)."""
        self.drop(name)
        path = netns_path(name)
        if _libc.umount2(path.encode(), MNT_DETACH) != 0:
            err = ctypes.get_errno()
            if err not in (errno.EINVAL, errno.ENOENT):  # EINVAL: no mount there (a bare file a killed creation left)
                raise KernelError("removing network namespace %r failed: %s" % (name, os.strerror(err)))
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise KernelError("removing network namespace %r failed: %s" % (name, exc)) from None

    def netns_is_ours(self, name):
        lo = self.ns(name).link("lo")
        return bool(lo and (lo.get("alias") or "").startswith(MARK))

    def netns_owner(self, name):
        """The project namespace ``name`` was made for (its lo's mark), or None."""
        return owner_of(self.ns(name).link("lo"))


def is_ours(link):
    """True if nsbridge created this link: its alias carries the mark, or its device group is
    nsbridge's (set at creation, before the alias)."""
    return bool(link) and ((link.get("alias") or "").startswith(MARK) or link.get("group") in (GROUP, BRIDGE_GROUP))


def mark(kind, owner=None):
    """The alias nsbridge gives what it makes: ``nsbridge:KIND``, or ``nsbridge:KIND:PROJECT`` when it
    is made for a project (nsbridge.network.apply's ``project``)."""
    return "%s:%s:%s" % (MARK, kind, owner) if owner else "%s:%s" % (MARK, kind)


def owner_of(link):
    """The project a link (or a namespace, by its lo) was made for, by its mark; None: no project."""
    parts = ((link or {}).get("alias") or "").split(":", 2)
    return parts[2] if len(parts) == 3 and parts[0] == MARK and parts[2] else None
