# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall backends nsbridge has, in the order ``backend: auto`` asks them.

Everything that names backends comes from here: the modules' ``backend`` option (its choices
and its documentation, see doc_fragments/common.py) and the choice ``auto`` makes.  A new
backend is a new file implementing backend.FirewallBackend, named in BACKENDS below.
"""

from __future__ import annotations

from ..common.errors import ValidationError
from ..kernel.netlink import netns_exists
from .iptables import IptablesBackend
from .nftables import NftablesBackend

BACKENDS = (IptablesBackend, NftablesBackend)
AUTO = "auto"


def names():
    return [backend.name for backend in BACKENDS]


def choices():
    """The ``backend`` option's choices."""
    return [AUTO] + names()


def detect():
    """The backend the host itself uses: the first in BACKENDS that says so."""
    for backend in BACKENDS:
        if backend.host_uses():
            return backend
    return BACKENDS[-1]


def by_name(name):
    """The backend class for an option value (``auto`` resolved)."""
    if name == AUTO:
        return detect()
    for backend in BACKENDS:
        if backend.name == name:
            return backend
    raise ValidationError("%r is not one of %s" % (name, ", ".join(choices())), "backend")


def open_backend(name, netns, stack):
    """The backend ``name`` for ``netns``, entered (locked) on ``stack``."""
    if netns is not None and not netns_exists(netns):
        raise ValidationError("network namespace %r does not exist" % netns, "netns")
    return stack.enter_context(by_name(name)(netns))


def option_doc():
    """The ``backend`` option's description lines, one per backend (for the doc fragment)."""
    lines = ["Firewall backend, for IPv4 and IPv6 alike."]
    lines += ["C(%s): %s." % (backend.name, backend.summary) for backend in BACKENDS]
    lines.append("C(auto) picks %s; the result's C(backend) says which was used."
                 % "; ".join("C(%s) %s" % (backend.name, backend.used_when) for backend in BACKENDS))
    return lines
