# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exceptions that carry the context a user needs to fix the problem.

They are raised anywhere below the module edge and turned into exactly one
``fail_json`` by :mod:`.edge`; nothing below the edge calls ``fail_json``.
"""

from __future__ import annotations


def field(prefix, name):
    """Join an item path and a field name: ('pairs[3]', 'mtu') -> 'pairs[3].mtu'."""
    return "%s.%s" % (prefix, name) if prefix else name


class NsbridgeError(Exception):
    """Base class. ``path`` names the input field (``pairs[3].peer_addresses[0]``)."""

    def __init__(self, message, path=None):
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self):
        if self.path:
            return "%s: %s" % (self.path, self.message)
        return self.message


class ValidationError(NsbridgeError):
    """Input that can never be applied; raised before anything is written."""


class ConflictError(NsbridgeError):
    """The host holds something that makes the request impossible (a name taken by another kind)."""


class KernelError(NsbridgeError):
    """A kernel call failed while applying a plan."""
