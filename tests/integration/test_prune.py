"""The variables are the truth: what the roles made for a project and the variables no longer
describe goes with the next run, proven by traffic from an outside namespace and by dumps; another
project's objects are never touched.  Both firewall backends, through ansible-playbook in the
sandbox's host namespace; the first project is the sandbox's (PREFIX), the second PREFIXshop.

    out 203.0.113.2 / fd00:113::2 --- up 203.0.113.1 / fd00:113::1 [host]
        front  10.61.0.0/24 + fd00:61::/64   web1 (8080, 8083), web2 (8081, 8082)
        back   10.62.0.0/24                  db
        shop   10.63.0.0/24 (PREFIXshop)     shop1 (9090)
"""

import json
import os
import re
import subprocess

import pytest

from conftest import HELPERS, ROOT

ECHO = "python3 %s/echo_server.py" % HELPERS
PLAY = os.path.join(ROOT, "tests", "integration", "data", "roles.yml")


def play(box, extra, *flags):
    return box.playbook(PLAY, extra, *flags)


def outside(box):
    """An "outside" namespace that plays the internet, wired to the sandbox host by hand."""
    out, up = box.name("out"), box.name("up")
    subprocess.run(["ip", "netns", "add", out], check=True)
    box.sh(None, "ip", "link", "add", up, "type", "veth", "peer", "name", "eth0", "netns", out)
    box.sh(None, "ip", "addr", "add", "203.0.113.1/24", "dev", up)
    box.sh(None, "ip", "-6", "addr", "add", "fd00:113::1/64", "dev", up, "nodad")
    box.sh(None, "ip", "link", "set", up, "up")
    for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "link", "set", "eth0", "up"],
                ["ip", "addr", "add", "203.0.113.2/24", "dev", "eth0"],
                ["ip", "-6", "addr", "add", "fd00:113::2/64", "dev", "eth0", "nodad"]):
        box.sh(out, *cmd)
    return out


def variables(box, backend, **changes):
    p = box.prefix
    nets = {"front": {"name": "front", "bridge": p + "front", "subnet": "10.61.0.0/24", "subnet6": "fd00:61::/64"},
            "back": {"name": "back", "bridge": p + "back", "subnet": "10.62.0.0/24"}}
    ctrs = {"web1": {"name": p + "web1", "network": "front", "ip": "10.61.0.10", "ip6": "fd00:61::10",
                     "publish": ["8080:8000", "8083:8000"], "command": ECHO + " web1 8000"},
            "web2": {"name": p + "web2", "network": "front", "ip": "10.61.0.11", "publish": ["8081:8000", "8082:8000"],
                     "command": ECHO + " web2 8000"},
            "db": {"name": p + "db", "network": "back", "ip": "10.62.0.10", "command": ECHO + " db 8000"}}
    for key, value in changes.items():
        (nets if key in ("front", "back") else ctrs)[key] = value
    return {"nsbridge_networks": [n for n in nets.values() if n], "nsbridge_containers": [c for c in ctrs.values() if c],
            "nsbridge_backend": backend, "nsbridge_project": box.project}


def shop_project(box):
    """The second project (the first is the sandbox's)."""
    return box.project + "shop"


def shop(box, backend, containers=None):
    p = box.prefix
    return {"nsbridge_networks": [{"name": "shop", "bridge": p + "shop", "subnet": "10.63.0.0/24"}],
            "nsbridge_containers": containers if containers is not None else [
                {"name": p + "shop1", "network": "shop", "ip": "10.63.0.10", "publish": ["9090:8000"],
                 "command": ECHO + " shop1 8000"}],
            "nsbridge_backend": backend, "nsbridge_project": shop_project(box)}


def rules(box, backend):
    if backend == "nftables":
        text = box.sh(None, "nft", "list", "ruleset").stdout
        return sorted(re.sub(r"counter packets \d+ bytes \d+", "counter", line).strip()
                      for line in text.splitlines() if "comment" in line)
    text = box.sh(None, "iptables-legacy-save").stdout + box.sh(None, "ip6tables-legacy-save").stdout
    return sorted(line for line in text.splitlines() if line.startswith("-A"))


def of_project(box, backend, project):
    """Everything marked as ``project``'s in the sandbox: rules, links, namespaces, workloads."""
    tail = " %s\"" % project if backend == "nftables" else " %s\"" % project
    marks = sorted("%s %s" % (name, link.get("alias")) for name, link in box.links().items()
                   if (link.get("alias") or "").endswith(":" + project))
    namespaces = sorted(n for n in box.namespaces() if (box.links(n).get("lo", {}).get("alias") or "").endswith(":" + project))
    records = []
    for name in sorted(os.listdir("/run/nsbridge/workloads")) if os.path.isdir("/run/nsbridge/workloads") else []:
        if name.endswith(".pid"):
            with open(os.path.join("/run/nsbridge/workloads", name)) as f:
                record = json.load(f)
            if record.get("project") == project:
                records.append((name, record["pid"], record["digest"]))
    return {"rules": [r for r in rules(box, backend) if tail in r], "links": marks, "namespaces": namespaces,
            "workloads": records}


def answers(box, out, address, port):
    return box.fetch(out, address, port)


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_what_the_variables_stop_listing_goes(sandbox, backend):
    box, p = sandbox, sandbox.prefix
    out = outside(box)
    links_at_start, rules_at_start = sorted(box.links()), rules(box, backend)

    built, changed, failed = play(box, variables(box, backend))
    assert failed == 0 and changed > 0, built.stdout[-3000:]
    for port, name in ((8080, "web1"), (8083, "web1"), (8081, "web2"), (8082, "web2")):
        assert answers(box, out, "203.0.113.1", port) == "%s 203.0.113.2" % name, port
    assert answers(box, out, "fd00:113::1", 8080) == "web1 fd00:113::2", "IPv6 published port"
    assert box.fetch(p + "web1", "10.62.0.10", 8000) is None, "front and back are isolated"

    # web2 and the network back (with db) deleted from the variables, port 8083 un-published and the
    # IPv6 subnet of front removed: check mode and diff mode name every removal first, change nothing
    fewer = variables(box, backend, web2=None, db=None, back=None,
                      front={"name": "front", "bridge": p + "front", "subnet": "10.61.0.0/24"},
                      web1={"name": p + "web1", "network": "front", "ip": "10.61.0.10", "publish": ["8080:8000"],
                            "command": ECHO + " web1 8000"})
    before = (sorted(box.links()), box.namespaces(), rules(box, backend))
    check, changed, failed = play(box, fewer, "--check", "--diff")
    assert failed == 0 and changed > 0, check.stdout[-3000:]
    assert (sorted(box.links()), box.namespaces(), rules(box, backend)) == before, "check mode changed something"
    for said in ("container %sweb2 (namespace" % p, "container %sdb (namespace" % p, "network bridge %sback" % p,
                 "published port tcp:*:8083", "published port tcp:[::]:8083", "masquerade of fd00:61::/64"):
        assert said in check.stdout, said
    assert "pruned: no longer described" in check.stdout, "the diff says what goes"

    fewer_run, changed, failed = play(box, fewer)
    assert failed == 0 and changed > 0, fewer_run.stdout[-3000:]
    assert answers(box, out, "203.0.113.1", 8080) == "web1 203.0.113.2"
    for port in (8081, 8082, 8083):
        assert answers(box, out, "203.0.113.1", port) is None, "port %d still answers" % port
    assert answers(box, out, "fd00:113::1", 8080) is None, "the IPv6 side of front is gone"
    assert sorted(box.namespaces()) == sorted([box.host, out, p + "web1"])
    links = box.links()
    assert p + "back" not in links and p + "front" in links
    eth0 = box.sh(p + "web1", "ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "global").stdout
    assert eth0 == "" and box.sh(p + "web1", "ip", "-6", "route", "show", "default").stdout == ""
    assert not [r for r in rules(box, backend) if "8081" in r or "8083" in r or "10.62.0.0" in r or "fd00:61" in r]
    assert not os.path.exists("/run/nsbridge/workloads/%sweb2.pid" % p)
    again, changed, failed = play(box, fewer)
    assert failed == 0 and changed == 0, again.stdout[-3000:]

    # a rename: the old container goes, the new one comes, with the published port
    renamed = variables(box, backend, web2=None, db=None, back=None, front=fewer["nsbridge_networks"][0],
                        web1={"name": p + "web3", "network": "front", "ip": "10.61.0.10", "publish": ["8080:8000"],
                              "command": ECHO + " web3 8000"})
    moved, changed, failed = play(box, renamed)
    assert failed == 0 and changed > 0, moved.stdout[-3000:]
    assert p + "web1" not in box.namespaces() and p + "web3" in box.namespaces()
    assert answers(box, out, "203.0.113.1", 8080) == "web3 203.0.113.2"

    # a second project beside: its own network and port; the first project's run changes nothing of it,
    # a name the first project holds is an error naming both, and the networks are isolated both ways
    made, changed, failed = play(box, shop(box, backend))
    assert failed == 0 and changed > 0, made.stdout[-3000:]
    shop_before = of_project(box, backend, shop_project(box))
    assert shop_before["rules"] and shop_before["namespaces"] == [p + "shop1"] and shop_before["workloads"]
    assert answers(box, out, "203.0.113.1", 9090) == "shop1 203.0.113.2"
    same, changed, failed = play(box, renamed, "--diff")
    assert failed == 0 and changed == 0, same.stdout[-3000:]
    assert box.fetch(p + "shop1", "10.61.0.10", 8000) is None and box.fetch(p + "web3", "10.63.0.10", 8000) is None
    assert not box.ping(p + "shop1", "10.61.0.10") and not box.ping(p + "web3", "10.63.0.10"), \
        "isolation holds between the networks of two projects"
    first_before = of_project(box, backend, box.project)
    taken, _changed, failed = play(box, shop(box, backend, [{"name": p + "web3", "network": "shop"}]))
    clash = "belongs to project '%s'; project '%s' cannot use it" % (box.project, shop_project(box))
    assert failed == 1 and clash in taken.stdout, taken.stdout[-2000:]
    assert of_project(box, backend, box.project) == first_before and of_project(box, backend, shop_project(box)) == shop_before

    # prune off: the orphan is kept, and named; on again: it goes
    empty = variables(box, backend, web1=None, web2=None, db=None, back=None, front=fewer["nsbridge_networks"][0])
    kept, changed, failed = play(box, dict(empty, nsbridge_prune=False))
    assert failed == 0 and changed == 0, kept.stdout[-3000:]
    said = " ".join((kept.stdout + kept.stderr).split())
    assert "no longer described, kept because prune is off: container %sweb3 (namespace" % p in said, said[-2000:]
    assert answers(box, out, "203.0.113.1", 8080) == "web3 203.0.113.2"
    pruned, changed, failed = play(box, empty)
    assert failed == 0 and changed > 0 and p + "web3" not in box.namespaces(), pruned.stdout[-3000:]
    assert answers(box, out, "203.0.113.1", 8080) is None

    # teardown of the project removes everything of it, an orphan kept with prune off too, and
    # leaves the other project's objects as they were
    one = variables(box, backend, web2=None, db=None, back=None, front=fewer["nsbridge_networks"][0],
                    web1=fewer["nsbridge_containers"][0])
    assert play(box, one)[2] == 0 and p + "web1" in box.namespaces()
    assert play(box, dict(empty, nsbridge_prune=False))[2] == 0 and p + "web1" in box.namespaces()
    gone, changed, failed = play(box, dict(empty, nsbridge_state="absent"))
    assert failed == 0 and changed > 0, gone.stdout[-3000:]
    assert of_project(box, backend, box.project) == {"rules": [], "links": [], "namespaces": [], "workloads": []}
    assert of_project(box, backend, shop_project(box)) == shop_before
    assert answers(box, out, "203.0.113.1", 9090) == "shop1 203.0.113.2"
    assert not os.path.isdir("/var/lib/nsbridge/netns/%s/projects/%s" % (box.host, box.project)), "the records go too"
    _proc, changed, failed = play(box, dict(shop(box, backend), nsbridge_state="absent"))
    assert failed == 0 and changed > 0
    assert sorted(box.links()) == links_at_start and rules(box, backend) == rules_at_start
    assert sorted(box.namespaces()) == sorted([box.host, out])
