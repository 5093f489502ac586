"""The lab role on one host: a triangle of routers with static routes (both families, by name), a
LAN segment, impairments measured in their direction, a link cut and restored, a link removed, and
a teardown that leaves the host as it was.  Through ansible-playbook, in the sandbox's host namespace.

    r1 --eth1-- r2 --eth2-- r3 --eth2-- r1      (p2p /30 + /64 each)
    r1:eth3, r2:eth3, h1:eth1                   (a LAN segment, 172.16.x.0/24)
"""

import glob
import os
import re
import subprocess
import sys

from conftest import HELPERS, ROOT

from ansible_collections.nsbridge.network.plugins.module_utils.kernel.features import qdisc_available

PLAY = os.path.join(ROOT, "tests", "integration", "data", "lab.yml")
ECHO = "%s %s/echo_server.py" % (sys.executable, HELPERS)
TRANSFER = os.path.join(HELPERS, "transfer.py")


def triangle(box, **change):
    p = box.prefix
    nodes = {
        p + "r1": {"forwarding": True, "command": ECHO + " r1 8000",
                   "routes": [{"dst": p + "r3:eth1", "via": p + "r2:eth1"}]},
        p + "r2": {"forwarding": True, "command": ECHO + " r2 8000",
                   "routes": [{"dst": p + "r3:eth2", "via": p + "r3:eth1"}]},
        p + "r3": {"forwarding": True, "command": ECHO + " r3 8000",
                   "routes": [{"dst": p + "r1:eth1", "via": p + "r1:eth2"}, {"dst": p + "h1:eth1", "via": p + "r1:eth2"}]},
        p + "h1": {"routes": [{"dst": "default", "via": p + "r1:eth3"}]},
    }
    links = {
        "r1r2": {"endpoints": [p + "r1:eth1", p + "r2:eth1"]},
        "r2r3": {"endpoints": [p + "r2:eth2", p + "r3:eth1"], "netem": {p + "r2": {"rate": "8mbit"}}},
        "r3r1": {"endpoints": [p + "r3:eth2", p + "r1:eth2"]},
        "lan": {"endpoints": [p + "r1:eth3", p + "r2:eth3", p + "h1:eth1"], "name": "lan"},
    }
    for key, value in change.items():
        (links if key in links else nodes)[key] = value
    return {"nsbridge_lab": {"name": p + "tri", "nodes": nodes, "links": [v for v in links.values() if v],
                             "addressing": {"p2p": {"ipv4": "10.1.0.0/16", "ipv6": "fd00:1::/48"},
                                            "lan": {"ipv4": "172.16.0.0/16"}}}}


def host_state(box):
    """Everything of the sandbox a lab could touch, as the host's tools print it: namespaces, the host's
    links, routes and ruleset, hosts files."""
    return (sorted(box.namespaces()), box.sh(None, "ip", "-d", "link").stdout, box.sh(None, "ip", "route").stdout,
            box.sh(None, "ip", "-6", "route").stdout, box.sh(None, "nft", "list", "ruleset").stdout,
            sorted(glob.glob("/etc/netns/%s*" % box.prefix)))


def addresses(box, node, ifname):
    out = box.sh(node, "ip", "-j", "addr", "show", "dev", ifname).stdout
    return re.findall(r'"local":"([0-9a-f.:]+)","prefixlen":\d+,"(?:broadcast":"[0-9.]+","|)scope":"global"', out)


def test_a_triangle_lab_on_one_host(sandbox):
    box, p = sandbox, sandbox.prefix
    before = host_state(box)
    check, changed, failed = box.playbook(PLAY, triangle(box), "--check", "--diff")
    assert failed == 0 and changed > 0, check.stdout[-3000:]
    assert host_state(box) == before, "check mode changed something"

    built, changed, failed = box.playbook(PLAY, triangle(box))
    assert failed == 0 and changed > 0, built.stdout[-3000:]
    again, changed, failed = box.playbook(PLAY, triangle(box))
    assert failed == 0 and changed == 0, again.stdout[-3000:]

    # every link carries ping and TCP in both families; routes reach the far links; names resolve
    ends = (("r1", "r2", "eth1"), ("r2", "r1", "eth1"), ("r2", "r3", "eth1"), ("r3", "r2", "eth2"),
            ("r3", "r1", "eth2"), ("r1", "r3", "eth2"), ("r1", "r2", "eth3"), ("r2", "r1", "eth3"))
    for a, b, ifname in ends:  # a reaches b's end of their link
        for address in addresses(box, p + b, ifname):
            assert box.ping(p + a, address), (a, b, ifname, address)
            assert box.fetch(p + a, address, 8000).startswith(b + " "), (a, b, address)
    r3_far = addresses(box, p + "r3", "eth1")
    assert len(r3_far) == 2 and all(box.ping(p + "r1", a) for a in r3_far), "r1 -> r2 -> r3 by static route"
    assert "r3 " in box.fetch(p + "h1", r3_far[0], 8000), "the LAN host through its default route and r1"
    assert box.sh(p + "r1", "ping", "-c1", "-W1", p + "r3-eth1").returncode == 0, "by name"
    assert box.sh(p + "r1", "ping", "-6", "-c1", "-W1", p + "r3").returncode == 0, "by name, IPv6"

    # network_info reports the lab: its nodes, links and impairments
    labs = box.run("network_info")["labs"]
    assert [(lab["name"], lab["nodes"], lab["switches"]) for lab in labs] == [
        (p + "tri", sorted(p + n for n in ("h1", "r1", "r2", "r3")), [p + "tri-lan"])]
    kinds = sorted((link["kind"], tuple(link["ends"])) for link in labs[0]["links"])
    assert ("veth", (p + "r1:eth1", p + "r2:eth1")) in kinds
    assert ("lan", tuple(sorted([p + "r1:eth3", p + "r2:eth3", p + "h1:eth1"]))) in \
        [(k, tuple(sorted(e))) for k, e in kinds]
    assert [(i["end"], i["rate"]) for i in labs[0]["impairments"]] == [(p + "r2:eth2", "8mbit")]

    # the rate applies to what r2 sends on r2-r3 only
    box.start(p + "r3", sys.executable, TRANSFER, "sink", "5201")
    box.start(p + "r2", sys.executable, TRANSFER, "sink", "5202")
    r3_addr = addresses(box, p + "r3", "eth1")[0]
    r2_addr = addresses(box, p + "r2", "eth2")[0]
    slow = float(box.sh(p + "r2", sys.executable, TRANSFER, "send", r3_addr, "5201", "1000000", timeout=60).stdout)
    fast = float(box.sh(p + "r3", sys.executable, TRANSFER, "send", r2_addr, "5202", "1000000", timeout=60).stdout)
    assert 0.75 < slow < 2.5 and fast < 0.4, (slow, fast)

    # changed in place: a new rate, then a loss the other way, the link itself untouched
    index = box.links(p + "r2")["eth2"]["index"]

    def r2r3(netem):
        return triangle(box, r2r3={"endpoints": [p + "r2:eth2", p + "r3:eth1"], "netem": netem})
    run, changed, failed = box.playbook(PLAY, r2r3({p + "r2": {"rate": "32mbit"}}), "--diff")
    assert failed == 0 and changed == 1, run.stdout[-3000:]
    faster = float(box.sh(p + "r2", sys.executable, TRANSFER, "send", r3_addr, "5201", "1000000", timeout=60).stdout)
    assert faster < 0.6, faster
    run, changed, failed = box.playbook(PLAY, r2r3({p + "r2": {"rate": "32mbit"}, p + "r3": {"loss": "30%"}}))
    assert failed == 0 and changed == 1, run.stdout[-3000:]
    assert box.links(p + "r2")["eth2"]["index"] == index
    counter = box.start(p + "r2", sys.executable, TRANSFER, "count", "5301")
    box.sh(p + "r3", sys.executable, TRANSFER, "blast", r2_addr, "5301", "500", timeout=60)
    assert 55 <= 100.0 * int(counter.stdout.readline()) / 500 <= 85, "about 30% lost from r3 to r2"
    counter = box.start(p + "r3", sys.executable, TRANSFER, "count", "5302")
    box.sh(p + "r2", sys.executable, TRANSFER, "blast", r3_addr, "5302", "200", timeout=60)
    assert int(counter.stdout.readline()) == 200, "nothing lost from r2 to r3"

    # a link cut: no traffic over it (r1 -> r2 goes round by r3 only where routes say so); back up: traffic
    r2_on_r1r2 = addresses(box, p + "r2", "eth1")
    cut, changed, failed = box.playbook(PLAY, triangle(box, r1r2=dict(triangle(box)["nsbridge_lab"]["links"][0],
                                                                      state="down")))
    assert failed == 0 and changed > 0, cut.stdout[-3000:]
    assert not box.links(p + "r1")["eth1"]["up"] and not box.links(p + "r2")["eth1"]["up"]
    assert not box.ping(p + "r1", r2_on_r1r2[0])
    assert box.ping(p + "r2", r3_far[0]), "the other links carry on"
    restored, changed, failed = box.playbook(PLAY, triangle(box))
    assert failed == 0 and changed > 0, restored.stdout[-3000:]
    assert all(box.ping(p + "r1", a) for a in r2_on_r1r2)
    assert all(box.ping(p + "r1", a) for a in r3_far), "the route through the link is back"

    # a link removed from the topology goes with the next run; the rest stays
    # (the routes through it go round the other way)
    nodes = triangle(box)["nsbridge_lab"]["nodes"]
    fewer, changed, failed = box.playbook(PLAY, triangle(box, r3r1=None, **{
        p + "r2": dict(nodes[p + "r2"], routes=[]),
        p + "r3": dict(nodes[p + "r3"], routes=[{"dst": p + "r1:eth1", "via": p + "r2:eth2"},
                                                {"dst": p + "h1:eth1", "via": p + "r2:eth2"}])}))
    assert failed == 0 and changed > 0, fewer.stdout[-3000:]
    assert "eth2" not in box.links(p + "r1") and "eth2" not in box.links(p + "r3")
    assert box.ping(p + "r1", r2_on_r1r2[0])

    # a node removed: it goes, and the LAN it was on becomes a link between the two left (its switch goes)
    smaller = triangle(box, r3r1=None, lan={"endpoints": [p + "r1:eth3", p + "r2:eth3"]}, **{
        p + "h1": None, p + "r2": dict(nodes[p + "r2"], routes=[]),
        p + "r3": dict(nodes[p + "r3"], routes=[{"dst": p + "r1:eth1", "via": p + "r2:eth2"}])})
    smaller["nsbridge_lab"]["nodes"] = {k: v for k, v in smaller["nsbridge_lab"]["nodes"].items() if v is not None}
    run, changed, failed = box.playbook(PLAY, smaller)
    assert failed == 0 and changed > 0, run.stdout[-3000:]
    assert p + "h1" not in box.namespaces() and p + "tri-lan" not in box.namespaces()
    assert sandbox.links(p + "r1")["eth3"]["kind"] == "veth"
    assert all(box.ping(p + "r2", a) for a in addresses(box, p + "r1", "eth3"))
    again, changed, failed = box.playbook(PLAY, smaller)
    assert failed == 0 and changed == 0, again.stdout[-3000:]

    # teardown: the host as it was
    gone, changed, failed = box.playbook(PLAY, dict(triangle(box), nsbridge_state="absent"))
    assert failed == 0 and changed > 0, gone.stdout[-3000:]
    assert host_state(box) == before
    assert not glob.glob("/run/nsbridge/workloads/%s*" % p)


def test_bad_topologies_fail_before_anything_changes(sandbox):
    box, p = sandbox, sandbox.prefix
    before = host_state(box)
    lab = triangle(box)["nsbridge_lab"]
    lab["nodes"] = {name: {k: v for k, v in node.items() if k != "routes"} for name, node in lab["nodes"].items()}
    bad = [
        (dict(lab, links=lab["links"] + [{"endpoints": [p + "r1:eth9", p + "x9:eth1"]}]),
         "nsbridge_lab.links[4].endpoints[1]: '%sx9' names no node of the lab" % p),
        (dict(lab, links=lab["links"] + [{"endpoints": [p + "r1:eth1", p + "h1:eth2"]}]),
         "nsbridge_lab.links[4].endpoints[0]: %sr1:eth1 is already an end of nsbridge_lab.links[0]" % p),
        (dict(lab, links=[{"endpoints": [p + "r1:eth1", p + "r2:eth1"], "addresses": ["10.9.0.1/30", "10.9.1.2/30"]}]),
         "nsbridge_lab.links[0].addresses[1]: 10.9.1.2/30 is outside the link's subnet 10.9.0.0/30"),
        (dict(lab, nodes=dict(lab["nodes"], **{p + "r1": {"host": "nowhere"}})),
         "nsbridge_lab.nodes.%sr1.host: 'nowhere' is not a host of the inventory" % p),
        (dict(lab, links=[{"endpoints": [p + "r1:eth1", p + "r2:eth1"], "netem": {"loss": "150%"}}]),
         "nsbridge_lab.links[0].netem.loss: '150%' is outside 0..100%"),
        (dict(lab, links=[{"endpoints": [p + "r1:averyveryverylongname", p + "r2:eth1"]}]),
         "nsbridge_lab.links[0].endpoints[0]: 'averyveryverylongname' is 21 bytes"),
    ]
    if not qdisc_available("netem"):
        bad.append((dict(lab, links=[{"endpoints": [p + "r1:eth1", p + "r2:eth1"], "netem": {p + "r2": {"delay": "5ms"}}}]),
                    "link %sr1:eth1 -- %sr2:eth1, %sr2:eth1 -> %sr1: delay 5ms needs the kernel's netem" % (p, p, p, p)))
    for lab_vars, says in bad:
        run, _changed, failed = box.playbook(PLAY, {"nsbridge_lab": lab_vars})
        assert failed == 1 and says in run.stdout, (says, run.stdout[-2000:])
        assert host_state(box) == before, says


def test_a_node_from_an_image(sandbox):
    """A node with an image runs under podman in the node's namespace, reached over its lab link (and by
    name) from a plain node; removed with the lab.  The image is the local busybox one scripts/engines.sh
    imports into podman."""
    box, p = sandbox, sandbox.prefix
    web = p + "web"

    def podman(*args):
        return subprocess.run(["podman"] + list(args), capture_output=True, text=True, timeout=60,
                              check=False).stdout.strip()
    lab = {"nsbridge_lab": {"name": p + "img", "nodes": {
        web: {"image": "localhost/nsb-busybox:latest", "command": ["httpd", "-f", "-p", "80", "-h", "/www"]},
        p + "cli": {}}, "links": [{"endpoints": [web + ":eth1", p + "cli:eth1"]}]}}
    try:
        built, changed, failed = box.playbook(PLAY, lab)
        assert failed == 0 and changed > 0, built.stdout[-3000:]
        assert podman("inspect", "-f", "{{.HostConfig.NetworkMode}}", web) == "ns:/run/netns/" + web
        server = addresses(box, web, "eth1")[0]
        assert box.fetch(p + "cli", server, 80) == "busybox image"
        again, changed, failed = box.playbook(PLAY, lab)
        assert failed == 0 and changed == 0, again.stdout[-3000:]
        down, changed, failed = box.playbook(PLAY, dict(lab, nsbridge_state="absent"))
        assert failed == 0 and changed > 0, down.stdout[-3000:]
        assert podman("ps", "-a", "--filter", "name=" + p, "--format", "{{.Names}}") == ""
        assert sorted(box.namespaces()) == [box.host]
    finally:
        podman("rm", "-f", "-t", "0", web)
