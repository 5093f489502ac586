# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Text files the collection's action plugins keep on the controller (the picture, the fleet's
allocation): read whole, replaced whole (a reader never sees half a file)."""

from __future__ import annotations

import os
import tempfile


def read_text(path):
    """The text at ``path``, or None when there is no file."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def write_text(path, text, mode=0o644):
    """Replace ``path`` with ``text`` (mode ``mode``) by a rename in its directory."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".%s." % os.path.basename(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
