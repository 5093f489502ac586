# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The firewall half of the reconcile engine, shared by nat_masquerade, port_publish and
network_isolation.

Each item owns a *scope*; its desired rules are compared, by comment, with the rules
observed under that scope.  Rules of other scopes (other items, other runs) are never
touched; foreign rules are never even read beyond our chains.  All changes of one call are
staged on the backend and committed as one transaction.
"""

from __future__ import annotations

import collections

from ..engine import owner as owners
from ..engine.reconcile import ItemPlan, Step
from .rules import is_complete, item_tag, parse_comment, render, stamp

# how an error or a warning names the item a scope belongs to
KINDS = {"publish": "published port", "masq": "masquerade of", "isolate": "isolation of bridge"}


class FirewallPlanner:
    """Observe once; plan items; know which chains remain in use after the batch."""

    def __init__(self, backend, owner=None):
        self.backend = backend
        self.owner = owner  # the project the call is for (engine.owner); None: none
        observed = backend.observe()
        self.linked = observed.linked
        self.by_scope = {}  # scope -> [(where, comment)] in observed order
        for where, comments in observed.rules.items():
            for comment in comments:
                parsed = parse_comment(comment)
                if parsed is not None:
                    self.by_scope.setdefault(parsed[0], []).append((where, comment))
        self.final = dict(self.by_scope)
        self.observed = {where for entries in self.by_scope.values() for where, _c in entries}

    def entries(self, scope):
        """The observed rules of ``scope``: [(where, comment)]."""
        return self.by_scope.get(str(scope), [])

    def scopes(self, kind):
        """The observed scopes of ``kind`` (masq, publish, isolate) that have rules, sorted."""
        head = kind + ":"
        return sorted(s for s, e in self.by_scope.items() if e and s.startswith(head))

    def owner_of(self, scope):
        """The project the observed rules of ``scope`` were made for (None: none marked)."""
        for _where, comment in self.entries(scope):
            project = parse_comment(comment)[3]
            if project:
                return project
        return None

    def plan_item(self, key, name, scope, ident, make_rules, also=()):
        """Plan one item.  ``ident``: everything its rules are made from (None: absent, no rules);
        ``make_rules()`` makes them, called only when the item is not already in place.

        ``also``: further scopes this item removes entirely (absent matching more than one).
        """
        scope = str(scope)
        found = self.entries(scope)
        theirs = self.owner_of(scope)
        what = "%s %s" % (KINDS.get(scope.partition(":")[0], "item"), scope.partition(":")[2])
        if ident is not None:
            owners.check(self.owner, theirs, what, key)
        elif found and not owners.removable(self.owner, theirs):
            kept = {"count": len(found), "project": theirs}
            return ItemPlan(key, name, kept, dict(kept), warnings=[owners.left_warning(self.owner, theirs, what)])
        also = [other for other in also if owners.removable(self.owner, self.owner_of(other))]
        # without a project of its own a call keeps the project the rules are marked for
        owner = self.owner or theirs
        tag = None if ident is None else item_tag(scope, ident, owner)
        rid = tag.split(" ")[2] if tag is not None else None
        if tag is not None and found and not also and is_complete([c for _w, c in found], tag, owner):
            # in place: exactly this item's rules, once each; nothing is generated or rendered
            state = {"id": rid, "count": len(found)}
            return ItemPlan(key, name, state, dict(state), [])
        have = collections.Counter(found)
        for other in also:
            have.update(self.entries(other))
            self.final[str(other)] = []
        rules = stamp(make_rules(), tag, owner) if tag is not None else []
        want = {(r.where, r.comment): r for r in rules}
        steps = []
        for (where, comment), count in sorted(have.items()):
            extra = count - (1 if (where, comment) in want else 0)
            for _attempt in range(extra):
                steps.append(Step("delete %s%s rule %s" % (where[1], _v6(where), comment.split(" ", 1)[1]),
                                  _stager(self.backend.stage_delete, where, comment)))
        for (where, comment), rule in want.items():
            if (where, comment) not in have:
                steps.append(Step("add %s" % render(rule), _stager(self.backend.stage_add, rule)))
        self.final[scope] = list(want)
        known = {k: render(r) for k, r in want.items()}
        before = {"count": sum(have.values()), "rules": describe_rules(sorted(have.elements()), known)} if have else None
        after = None
        if rules:
            after = {"id": rid, "count": len(rules), "rules": [known[k] for k in sorted(want)]}
        return ItemPlan(key, name, before, after, steps)

    def in_use(self):
        """The (family, logical) chains that hold rules once this batch is applied."""
        return {where for entries in self.final.values() for (where, _c) in entries}

    def scopes_left(self, kind, family=None):
        """Scopes of ``kind`` with rules (of ``family``, if given) after this batch."""
        head = kind + ":"
        return [s for s, entries in self.final.items() if s.startswith(head)
                and any(family is None or where[0] == family for where, _c in entries)]

    def repair_plan(self):
        """An extra plan when a chain in use has rules that packets cannot reach (its jump was
        deleted or flushed by hand): committing puts the jump back.  None when all is linked."""
        broken = sorted(w for w in self.in_use() if w not in self.linked and w in self.observed)
        if not broken:
            return None
        names = ["%s%s" % (logical, _v6((fam, logical))) for fam, logical in broken]
        return ItemPlan("jumps", "jumps", {"unreachable": names}, {"unreachable": []},
                        [Step("restore the jump into nsbridge's %s chain" % n, lambda: None) for n in names])

    def commit(self):
        self.backend.commit(self.in_use())


def _v6(where):
    return " (ipv6)" if where[0].version == 6 else ""


def _stager(fn, *args):
    return lambda: fn(*args)


def describe_rules(entries, known):
    """The rules as lines for a diff; a rule that is going away, by its id."""
    return [known.get((where, comment)) or "-A %s%s ... (rule %s)" % (where[1], _v6(where), comment.split(" ", 1)[1])
            for where, comment in entries]
