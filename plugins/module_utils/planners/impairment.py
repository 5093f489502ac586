# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plans for link impairments on an interface's egress (module ``nsbridge.network.impairment``).

What leaves ``dev`` (in ``netns``) is shaped, delayed or dropped, as a lab's link asks:

- ``rate``: a token bucket (``tbf``), on every kernel that has it;
- ``delay``, ``jitter``, ``corrupt``, ``duplicate``, ``reorder``: ``netem``, which only some kernels
  ship (kernel.features finds out before anything changes; asking for them where it is missing is
  an error naming the value and the kernel feature);
- ``loss``: netem's where it exists, else an nftables rule on ``dev``'s egress hook that drops that
  share of the frames leaving it at random (``numgen random``), in nsbridge's own ``table netdev
  nsbridge_impair`` of the namespace (the egress hook: Linux 5.16; kernels older than that ship netem).

The root qdisc nsbridge makes has handle ``6e62:`` (a child tbf under netem ``6e63:``): that is how
a re-run finds it, changes it in place (``tc qdisc replace``: the link stays, traffic on other links
is untouched) and removes exactly it.  A root qdisc somebody else put on ``dev`` is an error, never
replaced.
"""

from __future__ import annotations

from ..common import impairments as values, validate
from ..common.errors import ConflictError, KernelError, ValidationError, field
from ..engine.edge import batch_items, item_spec
from ..engine.reconcile import ItemPlan, Planned, Step
from ..kernel.features import qdisc_available
from ..kernel.libnftables import Nft
from ..kernel.netlink import Kernel, entered, netns_exists
from .links import require_netns, where

HANDLE, CHILD = 0x6E620000, 0x6E630000
TC_H_ROOT = 0xFFFFFFFF
TABLE = "nsbridge_impair"
NETEM_ONLY = ("delay", "jitter", "corrupt", "duplicate", "reorder")
ITEM_OPTIONS = dict(
    dev=dict(type="str"),
    netns=dict(type="str"),
    rate=dict(type="str"),
    delay=dict(type="str"),
    jitter=dict(type="str"),
    loss=dict(type="str"),
    corrupt=dict(type="str"),
    duplicate=dict(type="str"),
    reorder=dict(type="str"),
    label=dict(type="str"),
)
ITEM_KEYS = tuple(ITEM_OPTIONS) + ("state",)


def validate_item(path, item, default_state, check_mode=False, warnings=None):
    spec = item_spec(item, ITEM_KEYS, default_state)
    validate.ifname(spec.get("dev"), field(path, "dev"))
    if spec.get("netns") is not None:
        validate.netns_name(spec["netns"], field(path, "netns"))
    if spec["state"] == "present":
        spec["want"] = values.normalise(spec, path)
        require_netns(spec.get("netns"), field(path, "netns"), check_mode, warnings)
    else:
        spec["want"] = {key: None for key in values.IMPAIRMENTS}
    return spec


def _netem_missing(spec, path):
    """The error for an item that needs netem on a kernel without it (None: it does not)."""
    asked = [key for key in NETEM_ONLY if spec["want"][key] is not None]
    if not asked or qdisc_available("netem"):
        return None
    what = spec.get("label") or "%s%s" % (spec["dev"], " in %s" % spec["netns"] if spec.get("netns") else "")
    return ValidationError(
        "%s: %s needs the kernel's netem queueing discipline (sch_netem), which this kernel does not have "
        "(tc qdisc add ... netem: unknown qdisc kind); rate (tbf) and loss (nftables) work without it"
        % (what, values.text_of({k: spec["want"][k] for k in asked})), field(path, asked[0]))


def preflight(params):
    """Every item's values, and the kernel features they need, checked before anything changes."""
    for path, item in batch_items(params, "impairments", ITEM_KEYS):
        spec = item_spec(item, ITEM_KEYS, params["state"])
        if spec["state"] != "present":
            continue
        spec["want"] = values.normalise(spec, path)
        error = _netem_missing(spec, path)
        if error is not None:
            raise error


def plan_impairments(params, ctx):
    warnings = []
    specs = [(path, validate_item(path, item, params["state"], ctx.check_mode, warnings))
             for path, item in batch_items(params, "impairments", ITEM_KEYS)]
    validate.unique(specs, lambda ps: (ps[1].get("netns"), ps[1]["dev"]), lambda i: field(specs[i][0], "dev"),
                    "interface")
    for path, spec in specs:  # every value checked before any is planned: nothing half-made
        error = _netem_missing(spec, path)
        if error is not None:
            raise error
    # loss goes through netem where the kernel has it, else through nftables (asked once per process)
    netem = qdisc_available("netem") if specs else False
    kernel = ctx.stack.enter_context(Kernel(ctx.check_mode))
    tables = {}  # netns -> _LossRules (read once; only where loss goes through nftables)
    plans = []
    for path, spec in specs:
        plans.append(_plan_one(kernel, path or spec["dev"], path, spec, netem, tables))
    for table in tables.values():
        table.finish(plans)
    if plans and warnings:
        plans[0].warnings += warnings
    return Planned(plans)


def lab_view(netns, dev):
    """What nsbridge's impairment of ``dev`` (in ``netns``) does now, for network_info: {qdisc, rate,
    netem, loss, loss_by}; read-only."""
    out = {"qdisc": None, "rate": None, "netem": None, "loss": None, "loss_by": None}
    if netns is not None and not netns_exists(netns):
        return out
    with Kernel() as kernel:
        ns = kernel.ns(netns)
        link = ns.link(dev)
        if link is None:
            return out
        have = _observed(*_qdiscs(ns, link["index"]))
        if have is not None:
            out["qdisc"] = have["kind"]
            out["rate"] = values.rate_text(have["tbf"] * 8) if have.get("tbf") else None
            out["netem"] = have.get("netem")
            if have.get("netem") and have["netem"].get("loss"):
                out["loss"], out["loss_by"] = "%g%%" % round(have["netem"]["loss"] * 100.0 / (2 ** 32 - 1), 3), "netem"
        if out["loss"] is None:
            loss = _LossRules(ns).loss_of(dev)
            if loss is not None:
                out["loss"], out["loss_by"] = "%g%%" % loss, "nftables"
    return out


def _qdiscs(ns, index):
    """(root qdisc message or None, child qdisc message or None) on interface ``index``."""
    root = child = None
    for msg in ns.ipr.get_qdiscs(index=index):
        if msg["index"] != index:
            continue
        if msg["parent"] == TC_H_ROOT:
            root = msg
        elif msg["handle"] == CHILD:
            child = msg
    return root, child


def _observed(root, child):
    """What nsbridge's qdiscs on a device do now: {kind, rate (bytes/s), netem fields}; None: none of ours."""
    if root is None or root["handle"] != HANDLE:
        return None
    kind = root.get_attr("TCA_KIND")
    out = {"kind": kind}
    options = root.get_attr("TCA_OPTIONS")
    if kind == "tbf":
        out["tbf"] = options.get_attr("TCA_TBF_PARMS")["rate"] if options is not None else None
    elif kind == "netem":
        out["netem"] = _netem_fields(options)
        if child is not None and child.get_attr("TCA_KIND") == "tbf":
            child_options = child.get_attr("TCA_OPTIONS")
            out["tbf"] = child_options.get_attr("TCA_TBF_PARMS")["rate"] if child_options is not None else None
    return out


def _netem_fields(options):
    if options is None:
        return None
    fields = {k: options.get(k) for k in ("delay", "jitter", "loss", "duplicate")}
    corrupt = options.get_attr("TCA_NETEM_CORRUPT")
    reorder = options.get_attr("TCA_NETEM_REORDER")
    fields["corrupt"] = corrupt["prob_corrupt"] if corrupt else 0
    fields["reorder"] = reorder["prob_reorder"] if reorder else 0
    return fields


def _netem_args(want, with_loss):
    """pyroute2 netem keyword arguments for ``want``."""
    args = {}
    if want["delay"]:
        args["delay"] = want["delay"]
    if want["jitter"]:
        args["jitter"] = want["jitter"]
    if with_loss and want["loss"]:
        args["loss"] = want["loss"]
    if want["duplicate"]:
        args["duplicate"] = want["duplicate"]
    if want["corrupt"]:
        args["prob_corrupt"] = want["corrupt"]
    if want["reorder"]:
        args["prob_reorder"] = want["reorder"]
    return args


def _expected_netem(args):
    """The fields the kernel reports back for netem ``args`` (encoded as pyroute2 encodes them)."""
    from pyroute2.netlink.rtnl.tcmsg import sched_netem  # only where netem is used at all
    encoded = sched_netem.get_parameters(dict(args))
    fields = {k: encoded[k] for k in ("delay", "jitter", "loss", "duplicate")}
    attrs = dict((name, value) for name, value in encoded["attrs"])
    fields["corrupt"] = attrs.get("TCA_NETEM_CORRUPT", {}).get("prob_corrupt", 0)
    fields["reorder"] = attrs.get("TCA_NETEM_REORDER", {}).get("prob_reorder", 0)
    return {k: int(v) for k, v in fields.items()}


def _tbf_args(bits):
    """tbf for ``bits`` per second: a bucket of 10 ms of the rate (at least two full frames), 50 ms of queue."""
    rate = bits // 8
    return dict(rate=rate, burst=max(rate // 100, 3200), latency=50000)


def _plan_one(kernel, key, path, spec, netem, tables):
    dev, want = spec["dev"], spec["want"]
    label = spec.get("label")
    if spec.get("netns") is not None and not netns_exists(spec["netns"]):
        if spec["state"] == "absent" or kernel.check_mode:
            after = None if spec["state"] == "absent" else _after(spec, want, netem)
            return ItemPlan(key, dev, None, after, [Step("impair %s in %s: %s" % (dev, spec["netns"], values.text_of(want)),
                                                         lambda: None)] if after and any(want.values()) else [])
        raise ValidationError("network namespace %r does not exist" % spec["netns"], field(path, "netns"))
    ns = kernel.ns(spec.get("netns"))
    link = ns.link(dev)
    if link is None:
        if spec["state"] == "absent":
            return ItemPlan(key, dev, None, None)
        if kernel.check_mode:
            return ItemPlan(key, dev, None, _after(spec, want, netem), [
                Step("impair %s%s: %s" % (dev, where(ns), values.text_of(want)), lambda: None)] if any(want.values()) else [])
        raise ValidationError("interface %r does not exist%s" % (dev, where(ns)), field(path, "dev"))
    root, child = _qdiscs(ns, link["index"])
    if root is not None and root["handle"] not in (HANDLE, 0) and spec["state"] == "present":
        raise ConflictError("%s%s has a %s root qdisc nsbridge did not make (handle %x:); left alone"
                            % (dev, where(ns), root.get_attr("TCA_KIND"), root["handle"] >> 16), field(path, "dev"))
    have = _observed(root, child)
    loss_by_nft = want["loss"] is not None and not netem
    rules = None
    if not netem:
        if ns.name not in tables:
            tables[ns.name] = _LossRules(ns)
        rules = tables[ns.name]
    before_loss = rules.loss_of(dev) if rules is not None else None
    steps = []
    tbf_wanted = want["rate"] is not None
    netem_args = _netem_args(want, with_loss=netem) if netem else {}
    index = link["index"]
    if netem_args:
        expected = {"kind": "netem", "netem": _expected_netem(netem_args)}
        if tbf_wanted:
            expected["tbf"] = want["rate"] // 8
    elif tbf_wanted:
        expected = {"kind": "tbf", "tbf": want["rate"] // 8}
    else:
        expected = None
    what = "%s%s" % (dev, where(ns))
    if expected != have:
        if expected is None:
            kind = have["kind"]
            steps.append(Step("remove nsbridge's %s qdisc from %s" % (kind, what),
                              lambda: ns.call("remove qdisc of %s" % what, ns.ipr.tc, "del", index=index, handle=HANDLE,
                                              parent=TC_H_ROOT)))
        else:
            if have is not None and have["kind"] == "netem" == expected["kind"] and "tbf" in have \
                    and "tbf" not in expected:
                steps.append(Step("remove the tbf under netem on %s" % what,
                                  lambda: ns.call("remove tbf of %s" % what, ns.ipr.tc, "del", index=index, handle=CHILD,
                                                  parent=HANDLE | 1)))
            steps += _qdisc_steps(ns, index, what, expected, netem_args, want)
    if rules is not None:
        wanted_loss = want["loss"] if loss_by_nft else None
        if wanted_loss != before_loss:
            steps.append(rules.step(dev, wanted_loss, what))
    before = _before(spec, have, before_loss, ns) if have is not None or before_loss is not None else None
    after = _after(spec, want, netem) if spec["state"] == "present" and any(v is not None for v in want.values()) else None
    plan = ItemPlan(key, dev, before, after, steps)
    if label and after is not None:
        after["label"] = label
    return plan


def _qdisc_steps(ns, index, what, expected, netem_args, want):
    if expected["kind"] == "tbf":
        args = _tbf_args(want["rate"])
        return [Step("shape %s to %s (tbf)" % (what, values.rate_text(want["rate"])),
                     lambda: ns.call("tbf on %s" % what, ns.ipr.tc, "replace", "tbf", index, HANDLE, **args))]
    steps = [Step("impair %s: %s (netem)" % (what, values.text_of(dict(want, rate=None))),
                  lambda: ns.call("netem on %s" % what, ns.ipr.tc, "replace", "netem", index, HANDLE, **netem_args))]
    if "tbf" in expected:
        args = _tbf_args(want["rate"])
        steps.append(Step("shape %s to %s (tbf under netem)" % (what, values.rate_text(want["rate"])),
                          lambda: ns.call("tbf on %s" % what, ns.ipr.tc, "replace", "tbf", index, CHILD,
                                          parent=HANDLE | 1, **args)))
    return steps


def _after(spec, want, netem):
    out = {"dev": spec["dev"], "netns": spec.get("netns"), "managed": True,
           "impairment": values.text_of(want), "loss_by": ("netem" if netem else "nftables") if want["loss"] else None}
    out.update({k: spec.get(k) for k in values.IMPAIRMENTS if want[k] is not None})
    return out


def _before(spec, have, loss, ns):
    out = {"dev": spec["dev"], "netns": ns.name, "managed": True}
    if have is not None:
        out["qdisc"] = have["kind"]
        if have.get("tbf"):
            out["rate"] = values.rate_text(have["tbf"] * 8)
        if have.get("netem"):
            out["netem"] = dict(have["netem"])
    if loss is not None:
        out["loss"] = "%g%%" % loss
        out["loss_by"] = "nftables"
    return out


class _LossRules:
    """nsbridge's loss rules of one namespace: ``table netdev nsbridge_impair``, one chain per device on
    its egress hook (a drop there is silent: the sender sees a lost packet, not an error), read once;
    each change one nftables transaction; the table goes when its last chain does.  A chain's device
    that goes and comes back under its name is hooked again by the kernel (or, before Linux 6.x, the
    chain went with it)."""

    def __init__(self, ns):
        self.ns = ns
        self.chains = {}  # dev -> loss percent (None: a chain without our rule)
        self.exists = False
        self._read()
        self.remaining = set(self.chains)

    def _run(self, commands):
        with entered(self.ns.name):
            nft = Nft()
            try:
                return nft.run(commands)
            finally:
                nft.close()

    def _read(self):
        try:
            out = self._run("list table netdev %s" % TABLE)
        except KernelError:
            return  # no table (or no nftables at all: nothing of ours can be there)
        self.exists = True
        for entry in (out or {}).get("nftables", []):
            chain, rule = entry.get("chain"), entry.get("rule")
            if chain:
                self.chains.setdefault(chain["name"], None)
            if rule and str(rule.get("comment", "")).startswith("nsbridge loss "):
                self.chains[rule["chain"]] = float(rule["comment"].rsplit(" ", 1)[1].rstrip("%"))

    def loss_of(self, dev):
        """The share dropped on ``dev`` now (None: none)."""
        return self.chains.get(dev)

    def step(self, dev, loss, what):
        """The step that makes ``dev`` drop ``loss`` percent (None: nothing)."""
        had = dev in self.chains
        if loss is None:
            self.remaining.discard(dev)
        else:
            self.remaining.add(dev)

        def run():
            commands = []
            if not self.exists:
                commands.append({"add": {"table": {"family": "netdev", "name": TABLE}}})
            if had:
                commands.append({"delete": {"chain": {"family": "netdev", "table": TABLE, "name": dev}}})
            if loss is not None:
                commands.append({"add": {"chain": {"family": "netdev", "table": TABLE, "name": dev, "type": "filter",
                                                   "hook": "egress", "dev": dev, "prio": 0, "policy": "accept"}}})
                commands.append({"add": {"rule": {"family": "netdev", "table": TABLE, "chain": dev,
                                                  "comment": "nsbridge loss %g%%" % loss, "expr": [
                                                      {"match": {"op": "<", "left": {"numgen": {
                                                          "mode": "random", "mod": 1000000, "offset": 0}},
                                                          "right": int(round(loss * 10000))}},
                                                      {"counter": None}, {"drop": None}]}}})
            self._run(commands)
            self.exists = True
            self.chains.pop(dev, None)
            if loss is not None:
                self.chains[dev] = loss
        description = ("drop %g%% of what leaves %s at random (nftables)" % (loss, what) if loss is not None
                       else "stop dropping what leaves %s (nftables)" % what)
        return Step(description, run)

    def finish(self, plans):
        """With no chain left, the table goes too (added to the last plan that changes a chain here)."""
        if not self.exists or self.remaining:
            return
        for plan in reversed(plans):
            if any("(nftables)" in s.describe for s in plan.steps):
                plan.steps.append(Step("remove table netdev %s%s (no loss rule left)" % (TABLE, where(self.ns)),
                                       self._drop_table))
                return

    def _drop_table(self):
        if not self.chains:
            self._run([{"delete": {"table": {"family": "netdev", "name": TABLE}}}])
            self.exists = False
