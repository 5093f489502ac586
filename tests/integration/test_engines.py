"""nsbridge beside real container engines: Debian's docker.io and podman, not rule dumps.

dockerd runs inside the test's private namespace (nsenter: ``ip netns exec`` would remount /sys
and hide the cgroups) with its own data root, exec root, socket and pidfile; the image is a
busybox rootfs imported locally (scripts/engines.sh builds it).  At every step, by traffic:
nsbridge's published port from outside and hairpin, nsbridge's egress masqueraded, Docker's
published port from outside; a re-run of nsbridge changes nothing.  After nsbridge's teardown
Docker still works, its rules are as they were, and forwarding stays on (Docker relies on it).
"""

import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import HELPERS, warning_text

sys.path.insert(0, HELPERS)
import dockerd as engine  # noqa: E402

IMAGE = engine.IMAGE


def _need(path):
    assert os.path.exists(path), "%s is missing: scripts/engines.sh installs the engines and the image" % path


class Dockerd(engine.Dockerd):
    """A dockerd of the test's own, in the sandbox's host namespace, running one web server."""

    def __init__(self, box):
        super().__init__(box.host, "/tmp/nsbridge-docker-" + box.prefix)

    def destroy(self, containers=("web",)):
        super().destroy(containers)

    def run_web(self):
        self.cli("run", "-d", "--restart", "always", "--name", "web", "-p", "8081:80", self.image(),
                 "httpd", "-f", "-p", "80", "-h", "/www")


def docker_rules(box):
    """Docker's rules as iptables-nft shows them (nsbridge's own accept rule left out)."""
    lines = []
    for tool in ("iptables-nft-save", "ip6tables-nft-save"):
        lines += [l.split(" [")[0] for l in box.sh(None, tool).stdout.splitlines()
                  if not l.startswith("#") and "nsbridge" not in l]
    return lines


def nsbridge_network(box):
    """The seed network: br0 with c1 (web server) and c2, an uplink to an outside namespace."""
    c1, c2, outside = box.name("c1"), box.name("c2"), box.name("out")
    calls = [
        ("netns", {"name": [c1, c2, outside]}),
        ("bridge", {"name": "br0", "addresses": ["10.10.0.1/24"]}),
        ("veth", {"pairs": [
            {"name": "vc1", "peer": "eth0", "peer_netns": c1, "bridge": "br0", "hairpin": True,
             "peer_addresses": ["10.10.0.2/24"], "peer_gateway": "10.10.0.1"},
            {"name": "vc2", "peer": "eth0", "peer_netns": c2, "bridge": "br0", "hairpin": True,
             "peer_addresses": ["10.10.0.3/24"], "peer_gateway": "10.10.0.1"},
            {"name": "uplink", "peer": "eth0", "peer_netns": outside, "addresses": ["203.0.113.1/24"],
             "peer_addresses": ["203.0.113.2/24"]}]}),
        ("nat_masquerade", {"source": "10.10.0.0/24", "bridge": "br0"}),
        ("port_publish", {"host_port": 8080, "destination": "10.10.0.2", "destination_port": 80, "bridge": "br0"}),
    ]
    box.c1, box.c2, box.outside, box.calls = c1, c2, outside, calls
    return calls


def build(box):
    changed = False
    for module, args in box.calls:
        result = box.run(module, **args)
        assert not result.get("failed"), (module, result)
        changed |= result["changed"]
    if not box.procs:
        box.serve(box.c1, "c1", 80)
        box.serve(box.outside, "outside", 8000)
    return changed


def teardown(box):
    results = [box.run(module, **dict(args, state="absent")) for module, args in reversed(box.calls)
               if module not in ("netns", "veth")]
    assert not any(r.get("failed") for r in results), results
    return results


def everything_works(box, step):
    assert box.fetch(box.outside, "203.0.113.1", 8080) == "c1 203.0.113.2", "%s: nsbridge's port from outside" % step
    assert box.fetch(box.c2, "203.0.113.1", 8080) == "c1 10.10.0.1", "%s: hairpin" % step
    assert box.fetch(box.c1, "203.0.113.2", 8000) == "outside 203.0.113.1", "%s: nsbridge's egress" % step
    assert box.fetch(box.outside, "203.0.113.1", 8081) == "busybox image", "%s: Docker's port from outside" % step
    assert build(box) is False, "%s: a re-run of nsbridge changed something" % step


def ip_forward(box):
    return box.sh(None, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip()


@pytest.fixture
def docker(sandbox):
    engine = Dockerd(sandbox)
    nsbridge_network(sandbox)
    try:
        yield engine
    finally:
        engine.destroy()


def test_docker_first_then_nsbridge_and_docker_restarted_under_it(sandbox, docker):
    box = sandbox
    docker.start()
    docker.run_web()
    assert ip_forward(box) == "1", "dockerd turns forwarding on"
    assert build(box) is True
    everything_works(box, "nsbridge after Docker")
    # Docker's published port is held by its proxy: nsbridge refuses to take it, as Docker would
    taken = box.run("port_publish", host_port=8081, destination="10.10.0.3", destination_port=80, bridge="br0")
    assert taken.get("failed") and "docker-proxy (pid" in taken["msg"], taken
    docker.stop()
    docker.start()  # --restart always: web comes back, Docker rewrites its rules around ours
    deadline = time.monotonic() + 20
    while "Up" not in docker.cli("ps", "--format", "{{.Status}}") and time.monotonic() < deadline:
        time.sleep(0.3)
    everything_works(box, "Docker restarted under nsbridge")
    rules = docker_rules(box)
    results = teardown(box)
    assert box.fetch(box.outside, "203.0.113.1", 8081) == "busybox image", "Docker broken by nsbridge's teardown"
    assert box.fetch(box.outside, "203.0.113.1", 8080) is None
    assert docker_rules(box) == rules, "Docker's rules changed"
    assert ip_forward(box) == "1"
    assert not any("left on" in warning_text(r) for r in results), "nsbridge never changed ip_forward here"


def test_nsbridge_first_then_docker(sandbox, docker):
    box = sandbox
    assert ip_forward(box) == "0"
    assert build(box) is True
    assert ip_forward(box) == "1"
    docker.start()
    docker.run_web()
    # Docker made iptables-nft's FORWARD chain: the next run puts nsbridge's one accept rule in it
    # (a FORWARD policy of DROP, set now or later, must not cut nsbridge's network off) and says so
    first = [box.run(module, **args) for module, args in box.calls]
    changed = [(module, r["item"]) for (module, _a), res in zip(box.calls, first) for r in res["results"]
               if r["changed"]]
    assert changed and {item for _m, item in changed} == {"jumps"}, changed
    everything_works(box, "Docker after nsbridge")
    rules = docker_rules(box)
    results = teardown(box)
    said = "\n".join(warning_text(r) for r in results)
    assert ip_forward(box) == "1", "nsbridge switched forwarding off under Docker"
    assert "net.ipv4.ip_forward left on" in said and "Docker" in said, said
    assert box.fetch(box.outside, "203.0.113.1", 8081) == "busybox image", "Docker broken by nsbridge's teardown"
    assert docker_rules(box) == rules, "Docker's rules changed"
    again = teardown(box)
    assert not any(r["changed"] for r in again)


class Podman:
    """podman with a storage of the test's own."""

    def __init__(self, box):
        _need("/usr/bin/podman")
        _need(IMAGE)
        self.dir = "/tmp/nsbridge-podman-" + box.prefix
        self.base = ["podman", "--root", self.dir + "/root", "--runroot", self.dir + "/run",
                     "--cgroup-manager", "cgroupfs", "--events-backend", "file"]

    def cli(self, *args, check=True):
        proc = subprocess.run(self.base + list(args), capture_output=True, text=True, timeout=120, check=False)
        assert not check or proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc.stdout.strip()

    def get(self, container, host, port):
        """The body of an HTTP GET from inside ``container`` (busybox nc: its wget crashes on some replies)."""
        reply = self.cli("exec", container, "sh", "-c", 'printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 %s %d'
                         % (host, port), check=False)
        return reply.split("\n\n", 1)[1].strip() if "\n\n" in reply else None  # text mode reads CRLF as LF

    def destroy(self):
        self.cli("rm", "-a", "-f", "-t", "0", check=False)
        subprocess.run(["umount", "-R", self.dir + "/run"], capture_output=True, check=False)
        subprocess.run(["umount", "-R", self.dir + "/root"], capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


def test_podman_containers_in_nsbridge_namespaces(sandbox):
    box = sandbox
    podman = Podman(box)
    nsbridge_network(box)
    try:
        build(box)
        podman.cli("import", IMAGE, "localhost/nsb-busybox:latest")
        for name, netns in (("pweb", box.c2), ("pclient", box.outside)):
            podman.cli("run", "-d", "--name", name, "--network", "ns:/run/netns/" + netns, "localhost/nsb-busybox",
                       "httpd", "-f", "-p", "81", "-h", "/www")
        # a podman container on the nsbridge network reaches the others, and they it
        assert podman.get("pweb", "10.10.0.2", 80) == "c1 10.10.0.3"
        assert box.fetch(box.c1, "10.10.0.3", 81) == "busybox image"
        # ... and is served through nsbridge's published port, from outside
        assert box.run("port_publish", host_port=8082, destination="10.10.0.3", destination_port=81,
                       bridge="br0")["changed"]
        assert podman.get("pclient", "203.0.113.1", 8082) == "busybox image"
        assert podman.get("pweb", "203.0.113.1", 8080) == "c1 10.10.0.1"
        assert build(box) is False
    finally:
        podman.destroy()
