# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One writer at a time: observe-then-commit must not interleave between two runs."""

from __future__ import annotations

import contextlib
import fcntl
import os

NSBRIDGE_LOCK = "/run/nsbridge.lock"


@contextlib.contextmanager
def lock(path=NSBRIDGE_LOCK):
    """Hold an exclusive flock on ``path`` for the body (blocking until it is free)."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
