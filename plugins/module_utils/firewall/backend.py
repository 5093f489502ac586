# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The contract every firewall backend keeps (see registry for the list of backends).

A backend owns its chains (or tables) in one network namespace and knows nothing of items,
specs or modules: the planner (planner.py) tells it which rules to add and which to delete,
identified by their comments, and which logical chains remain in use.  One module call is::

    with backend:                      # lock: observe and commit never interleave with another run
        seen = backend.observe()       # our rules' comments, and which entry paths are in place
        backend.stage_add(rule) ...    # nothing is written yet
        backend.stage_delete(where, comment) ...
        backend.commit(in_use)         # one transaction: all of it or nothing

``where`` is always a ``(Family, logical chain)`` pair (``fw_rules.CHAINS``); both families go
through the same backend and the same commit.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field


@dataclass
class Observation:
    """What a backend saw of its own chains.

    ``rules``: {(family, logical): [comment or None per rule]} in rule order, duplicates kept.
    ``linked``: the (family, logical) chains whose rules packets can reach right now: the jump
    from the built-in (or base) chain, and whatever the backend puts between it and the rules,
    are in place.  A chain in use but not linked (a jump deleted or flushed by hand) is repaired
    by the next commit.
    """

    rules: dict = field(default_factory=dict)
    linked: set = field(default_factory=set)


class FirewallBackend(abc.ABC):
    """One firewall implementation.  Subclasses set the class attributes and the five methods."""

    name = None             # the value of the modules' ``backend`` option
    summary = ""            # one sentence for the ``backend`` option's documentation
    used_when = ""          # when ``auto`` picks it, for the same documentation

    @classmethod
    @abc.abstractmethod
    def host_uses(cls):
        """True if this is the firewall the host itself uses (what ``backend: auto`` picks).
        Backends are asked in the registry's order; the last one should answer True."""

    def __init__(self, netns=None):
        self.netns = netns

    @abc.abstractmethod
    def __enter__(self):
        """Take the lock that serialises runs on this namespace's firewall; return self."""

    @abc.abstractmethod
    def __exit__(self, *exc):
        """Release the lock and whatever the backend opened."""

    @abc.abstractmethod
    def observe(self):
        """Read our chains as the kernel has them now: an :class:`Observation`.  Never writes."""

    @abc.abstractmethod
    def stage_add(self, rule):
        """Remember to add ``rule`` (an fw_rules.Rule with its comment) at commit.  Rules with
        ``first`` go before every other rule of their chain."""

    @abc.abstractmethod
    def stage_delete(self, where, comment):
        """Remember to delete one rule with ``comment`` from ``where`` (family, logical) at commit."""

    @abc.abstractmethod
    def commit(self, in_use):
        """Apply what was staged as one transaction, and make the structure match ``in_use`` (the
        (family, logical) chains that hold rules afterwards): their chains and entry paths exist,
        every other chain of ours and its jump is gone.  Raises KernelError; on error nothing of
        it is applied."""

    @abc.abstractmethod
    def described_rules(self):
        """Every rule of ours, read from the rules themselves (for network_info; never writes):
        [(family, comment, target, dnat)]: ``target`` is ``DNAT``, ``MASQUERADE``, or another
        name (or None) for the other rules; for a DNAT, ``dnat`` = (address, port, packets),
        ``packets`` being the connections that took the rule (a nat rule sees only a
        connection's first packet)."""
