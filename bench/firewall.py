"""Benchmark: publish 200 ports and masquerade 20 subnets, each in both IP families, in one
module call, per backend, against the same rules written with one ``iptables``/``ip6tables -t
TABLE -A ...`` process per rule.

Everything runs in private namespaces made for the run.  Prints times and ratios; the
target (one call <= 0.1 x per-rule commands) is reported, never asserted.  The no-op re-run is
printed against the first call with no target: its <= 0.1 was met by remembered no-op plans, which
0.3.0 removed (a converged site.yml of 100 containers took 2.00 s with them, 2.06 s without).

    .venv/bin/python bench/firewall.py [--ports 200] [--subnets 20]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible_collections.nsbridge.network.plugins.module_utils.kernel import netlink  # noqa: E402
from ansible_collections.nsbridge.network.plugins.module_utils.common.family import IPV4  # noqa: E402
from ansible_collections.nsbridge.network.plugins.module_utils.firewall.iptables import CHAIN_MAP  # noqa: E402
from ansible_collections.nsbridge.network.plugins.module_utils.firewall.rules import (  # noqa: E402
    masquerade_rules, publish_rules, stamp)
from ansible_collections.nsbridge.network.plugins.module_utils.calls.apply import apply_calls  # noqa: E402
from ansible_collections.nsbridge.network.plugins.module_utils.kernel.run_state import forget_netns  # noqa: E402


def workload(ports, subnets):
    publish, masq = [], []
    for i in range(ports):
        net, host = 100 + i % subnets, 2 + i // subnets
        publish.append({"host_port": 20000 + i, "destination": "10.%d.0.%d" % (net, host), "destination_port": 80})
        publish.append({"host_port": 20000 + i, "destination": "fd00:%d::%x" % (net, host), "destination_port": 80})
    for i in range(subnets):
        masq.append({"source": "10.%d.0.0/24" % (100 + i), "bridge": "br%d" % i})
        masq.append({"source": "fd00:%d::/64" % (100 + i), "bridge": "br%d" % i})
    return publish, masq


def module_calls(backend, publish, masq):
    """The two calls the roles would make, through the modules' own argument specs."""
    return apply_calls([{"module": "port_publish", "args": {"ports": publish, "backend": backend}},
                        {"module": "nat_masquerade", "args": {"networks": masq, "backend": backend}}],
                       check_mode=False)["changed"]


def iptables_args(rule):
    table, chain, _builtin = CHAIN_MAP[rule.chain]
    args = ["-t", table, "-A", chain]
    for flag, value, neg in (("-s", rule.src, rule.src_neg), ("-d", rule.dst, rule.dst_neg),
                             ("-i", rule.iif, rule.iif_neg), ("-o", rule.oif, rule.oif_neg)):
        if value:
            args += (["!"] if neg else []) + [flag, value]
    if rule.proto:
        args += ["-p", rule.proto, "-m", rule.proto]
        if rule.dport is not None:
            args += ["--dport", str(rule.dport)]
        if rule.sport is not None:
            args += ["--sport", str(rule.sport)]
    if rule.ctstate:
        args += ["-m", "conntrack", "--ctstate", ",".join(rule.ctstate)]
    args += ["-m", "comment", "--comment", rule.comment, "-j", rule.verdict]
    if rule.verdict == "DNAT":
        to = rule.to_addr if rule.family == IPV4 else "[%s]" % rule.to_addr
        args += ["--to-destination", "%s:%d" % (to, rule.to_port)]
    return args


def per_rule_commands(tools, publish, masq):
    rules = []
    for item in publish:
        scope = "publish:tcp:*:%d" % item["host_port"]
        rules += stamp(publish_rules(scope, "tcp", item["host_port"], item["destination"], 80, None, None, True,
                                     False), "nsbridge %s bench " % scope)
    for item in masq:
        scope = "masq:" + item["source"]
        rules += stamp(masquerade_rules(scope, item["source"], item["bridge"], None, True),
                       "nsbridge %s bench " % scope)
    for tool in tools:
        for table, chain, _b in CHAIN_MAP.values():
            subprocess.run([tool, "-t", table, "-N", chain], check=True)
    for rule in rules:
        subprocess.run([tools[0 if rule.family == IPV4 else 1]] + iptables_args(rule), check=True)
    return len(rules)


def timed(host, fn, *args):
    with netlink.entered(host):
        start = time.perf_counter()
        value = fn(*args)
        return time.perf_counter() - start, value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", type=int, default=200)
    parser.add_argument("--subnets", type=int, default=20)
    args = parser.parse_args()
    publish, masq = workload(args.ports, args.subnets)
    tag = uuid.uuid4().hex[:4]
    print("firewall: %d published ports + %d masqueraded subnets, each in IPv4 and IPv6, in one call per module"
          % (args.ports, args.subnets))
    for backend, tools in (("iptables", ("iptables-legacy", "ip6tables-legacy")),
                           ("nftables", ("iptables-nft", "ip6tables-nft"))):
        hosts = ["bf%s%s%d" % (backend[0], tag, i) for i in range(2)]
        for host in hosts:
            netlink.Kernel.create_netns(host)
        try:
            # load the libraries once (python-iptables, libnftables) so neither timed run pays for imports
            timed(hosts[0], module_calls, backend, publish[:1], masq[:1])
            forget_netns(hosts[0])
            subprocess.run(["ip", "netns", "delete", hosts[0]], check=False)
            netlink.Kernel.create_netns(hosts[0])
            shell, count = timed(hosts[0], per_rule_commands, tools, publish, masq)
            first, changed = timed(hosts[1], module_calls, backend, publish, masq)
            noop, changed_again = timed(hosts[1], module_calls, backend, publish, masq)
            assert changed and not changed_again, "not idempotent"
        finally:
            for host in hosts:
                forget_netns(host)
                subprocess.run(["ip", "netns", "delete", host], check=False)
        print("  %s backend (%d rules)" % (backend, count))
        print("    %s, one process per rule %8.3f s" % ("/".join(tools), shell))
        print("    nsbridge, one call each         %8.3f s" % first)
        print("    nsbridge, no-op re-run          %8.3f s" % noop)
        r1, r2 = first / shell, noop / first
        print("    ratio call/per-rule  %.3f (target <= 0.1) %s" % (r1, "met" if r1 <= 0.1 else "MISSED"))
        print("    ratio no-op/first    %.3f (no target since 0.3.0 removed the remembered no-op plans)" % r2)


if __name__ == "__main__":
    main()
