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
  module on its own) is claimed (marked) by the project that describes it now.
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
