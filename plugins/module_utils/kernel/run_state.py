# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What nsbridge remembers between runs, under /run/nsbridge (gone at reboot, as the namespaces are).

Files are keyed by the namespace's cookie (``netns_id``), never by its name: a name can be
re-used by another namespace, a cookie cannot.
"""

from __future__ import annotations

import os
import socket
import struct

from .netlink import entered

STATE_DIR = "/run/nsbridge"
SO_NETNS_COOKIE = 71


def netns_id(netns):
    """An id of the namespace never reused while the machine runs (its netns cookie, Linux 5.14+)."""
    with entered(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            return "c%d" % struct.unpack("=Q", sock.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8))[0]
        except OSError:  # older kernels: the inode (may be reused after the namespace is gone)
            return "i%d" % os.stat("/proc/thread-self/ns/net").st_ino
        finally:
            sock.close()


def write_state(path, data):
    """Write bytes ``data`` to ``path`` under STATE_DIR atomically, readable by root only."""
    os.makedirs(STATE_DIR, exist_ok=True)
    tmp = "%s.%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def read_state(path):
    """The text at ``path``, or None if there is none."""
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def forget_state(path):
    try:
        os.unlink(path)
    except OSError:
        pass  # gone already, or not ours to remove: nothing is remembered either way


def state_names(prefix=""):
    """Names of the files under STATE_DIR that start with ``prefix``."""
    try:
        return sorted(n for n in os.listdir(STATE_DIR) if n.startswith(prefix))
    except FileNotFoundError:
        return []


def forget_netns(netns):
    """Remove everything nsbridge remembers for ``netns`` (saved sysctl values), for a namespace
    about to be deleted by someone other than nsbridge's modules."""
    for name in state_names("sysctl-%s-" % netns_id(netns)):
        forget_state(os.path.join(STATE_DIR, name))
