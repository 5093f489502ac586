# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One writer at a time: observe-then-commit must not interleave between two runs."""

from __future__ import annotations

import contextlib
import fcntl
import os

from ..kernel.netlink import netns_path


@contextlib.contextmanager
def lock(path):
    """Hold an exclusive flock on file ``path`` for the body (blocking until it is free)."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextlib.contextmanager
def netns_lock(netns):
    """Hold an exclusive flock on the network namespace itself (its nsfs inode, whether named by
    /run/netns/NAME or /proc/thread-self/ns/net): runs on the same namespace wait for each other,
    runs on different ones do not, and no lock file is left anywhere."""
    path = netns_path(netns) if netns else "/proc/thread-self/ns/net"
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
