# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""network_info's drift: a description of the host (the calls a role applies) planned exactly as
apply would plan it (calls.apply.checked), set against what the host report found."""

from __future__ import annotations

from .apply import checked


# what each module's items are in host_report, by the names its plans give them: the report's
# objects of a kind the description covers but does not name are reported as extra
_REPORTED = {
    "netns": lambda r: [c["name"] for c in r["containers"] if c["managed"]],
    "bridge": lambda r: [n["name"] for n in r["networks"] if n["managed"]],
    "veth": lambda r: [i["host_peer"] for c in r["containers"] if c["managed"] for i in c["interfaces"] if i["host_peer"]],
    "workload": lambda r: [w["name"] for c in r["containers"] for w in c["workloads"]],
    "port_publish": lambda r: [p["scope"].partition(":")[2] for p in r["published"]],
    "nat_masquerade": lambda r: [m["source"] for m in r["masquerades"]],
    "network_isolation": lambda r: [i["bridge"] for i in r["isolation"]],
    "route": lambda r: [x["dst"] for x in r["routes"]],
    "vxlan": lambda r: [v["name"] for v in r["vxlan"]],
    "names": lambda r: [c["name"] for c in r["containers"] if c.get("names")],
}


def drift_report(calls, report):
    """network_info's drift section: the calls (a role's description of the host) planned as the
    modules would in check mode, against ``report`` (host_report's answer).

    ``missing``: items the calls describe that do not exist; ``differs``: items that exist but not
    as described (``have`` and ``want``); ``extra``: what nsbridge made that the calls say should
    not exist, or that no call names although calls of its module are there (in the host's own
    namespace: calls with a ``netns`` are planned, but not compared with the report).
    """
    missing, differs, extra, named, covered = [], [], [], set(), set()
    for name, path, params, plans in checked(calls):
        here = params.get("netns") is None
        if here:
            covered.add(name)
        for plan in plans:
            if here:
                named.add((name, plan.name))
            if not plan.changed:
                continue
            what = {"module": name, "call": path, "item": plan.key, "name": plan.name}
            if plan.before is None:
                missing.append(dict(what, want=plan.after))
            elif plan.after is None:
                extra.append(dict(what, have=plan.before))
            else:
                differs.append(dict(what, have=plan.before, want=plan.after))
    for name in sorted(covered):
        for obj in sorted(set(_REPORTED[name](report))):
            if (name, obj) not in named:
                extra.append({"module": name, "call": None, "item": None, "name": obj, "have": None})
    return {"changed": bool(missing or differs or extra), "missing": missing, "differs": differs, "extra": extra}
