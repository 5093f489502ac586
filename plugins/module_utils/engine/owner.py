# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which project may use and remove what: the rule every planner applies to the marks it finds.

A call made for a project (``nsbridge.network.apply``'s ``project``; the roles' ``nsbridge_project``)
carries it as ``Context.owner``; what it makes is marked with it (link and namespace aliases,
rule comments, workload records).  Without a project (a module used on its own) nothing is
checked, what it makes is not marked, and what it changes keeps the mark it has.

- present: an object marked for another project is a conflict naming both, found while planning,
  before anything changes; one of nsbridge's without a project (made before projects, or by a
  module on its own) is claimed (marked) by the project that describes it now; one nsbridge did not
  make at all (a host's own br0, another tool's namespace) is a conflict naming it and what it holds:
  a project never takes over what others made (a module on its own converges what it is given).
- absent: an object marked for another project is left, with a warning; everything else of
  nsbridge's that the call names goes.
"""

from __future__ import annotations

from ..common.errors import ConflictError


def check(owner, found, what, path):
    """Raise ConflictError when ``what`` (e.g. "network namespace 'web1'"), marked for project
    ``found``, is asked for by project ``owner``."""
    if owner and found and found != owner:
        raise ConflictError("%s belongs to project %r; project %r cannot use it (pick another name in one "
                            "of them)" % (what, found, owner), path)


def refuse_foreign(owner, what, path):
    """Project ``owner`` asks for ``what`` (e.g. "bridge 'br0' (addresses 192.0.2.1/24)"), which exists
    and nsbridge did not make: it is not taken over (a module on its own, with no project, converges it)."""
    raise ConflictError("%s exists and nsbridge did not make it; project %r does not take over what others made "
                        "(their addresses, ports and links would be changed): give nsbridge another name, or "
                        "remove it first" % (what, owner), path)


def claims(owner, found):
    """True if an object of nsbridge's marked for ``found`` should be marked for ``owner`` now."""
    return bool(owner) and found != owner


def removable(owner, found):
    """True if a call for ``owner`` may remove an object of nsbridge's marked for ``found``."""
    return not owner or found in (None, owner)


def left_warning(owner, found, what):
    return "%s belongs to project %r, not %r: left in place" % (what, found, owner)


def tagged(state, project):
    """``state`` (an item's before/after) with the project it is marked for, if it has one."""
    if project:
        state["project"] = project
    return state
