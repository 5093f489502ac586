# -*- coding: utf-8 -*-
"""Test harness shared by unit and integration tests.

Integration tests run the real modules (real AnsibleModule, real kernel) in
this process, with the calling thread moved into a private namespace that
plays "the host" for that test.  So nothing a test does — links, bridges,
sysctls, firewall rules — lands on the machine's own network stack; only the
namespace files under /run/netns are shared, and every one carries the test's
unique prefix and is removed when the test ends, pass or fail.

Every test is its own nsbridge project too (``Sandbox.project``, the prefix), unless it names one:
a host's first run with no record takes as its own what the marks of its project prove is the
project's, machine-wide (calls/ownership.py). In the default project a test would take, and prune,
what a run of the machine's own left without a record (a namespace deleted before its teardown).
"""

from __future__ import annotations

import contextlib
import glob
import importlib
import io
import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from unittest import mock

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skipped test never counts as passed (as a skipped stage of scripts/test.sh): it fails, saying why
    it was skipped. A test for what only some kernels have branches inside, as test_impairment's do."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = "skipped, and a skipped test never counts as passed: %s" % reason


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible.module_utils import _internal as ansible_internal  # noqa: E402
from ansible.module_utils.common import warnings as ansible_warnings  # noqa: E402
from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.nsbridge.network.plugins.module_utils.firewall.host_settings import write_sysctl  # noqa: E402
from ansible_collections.nsbridge.network.plugins.module_utils.kernel import netlink  # noqa: E402
from ansible_collections.nsbridge.network.plugins.module_utils.kernel.run_state import forget_netns  # noqa: E402

MODULES = "ansible_collections.nsbridge.network.plugins.modules."
HELPERS = os.path.join(ROOT, "tests", "integration", "helpers")


class Sandbox:
    """A test's private world: a unique prefix, a 'host' namespace, its own project, and cleanup."""

    def __init__(self):
        self.prefix = "t" + uuid.uuid4().hex[:5]  # 6 bytes: leaves 9 for interface names
        self.host = self.prefix + "host"
        self.project = self.prefix  # the project runs are made for, unless the test names one
        self.procs = []
        self.files = os.path.join(tempfile.gettempdir(), "nsbridge-test-" + self.prefix)  # the test's own files
        netlink.Kernel.create_netns(self.host)
        # a fresh host forwards nothing, as Debian's; a new namespace inherits the machine's IPv4
        # forwarding instead (a machine running Docker, or podman on its default network, forwards)
        write_sysctl(self.host, "net.ipv4.ip_forward", "0")

    def name(self, suffix):
        """A unique name for a namespace or interface (<= 15 bytes for short suffixes)."""
        return self.prefix + suffix

    def run(self, module, check=False, diff=False, host=None, **args):
        """Run nsbridge.network.<module> in this sandbox's host namespace (or ``host``, another namespace
        of the sandbox playing a second host); return its JSON result. An apply with a record is made for
        the sandbox's project unless ``project`` names another."""
        mod = importlib.import_module(MODULES + module)
        if module == "apply" and "record" in args:
            args.setdefault("project", self.project)
        args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
        # a module process starts with no warnings; in-process runs must too
        ansible_warnings._global_warnings.clear()
        ansible_warnings._global_deprecations.clear()
        out = io.StringIO()
        # a module is never "the controller", even if a controller-side import (a filter test) said so
        with patch_module_args(args), contextlib.redirect_stdout(out), netlink.entered(host or self.host), \
                mock.patch.object(ansible_internal, "is_controller", False):
            try:
                mod.main()
            except SystemExit:
                pass
        return json.loads(out.getvalue())

    def playbook(self, path, extra, *flags, env=None):
        """Run ``ansible-playbook path`` on localhost inside this sandbox's host namespace, with ``extra``
        as extra vars (and ``env`` added to its environment): (the finished process, changed, failed) from
        its recap. The roles make everything for the sandbox's project unless ``extra`` names another."""
        extra = dict({"nsbridge_project": self.project}, **extra)
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1", **(env or {}))
        cmd = ["nsenter", "--net=/run/netns/" + self.host, os.path.join(ROOT, ".venv", "bin", "ansible-playbook"),
               path, "-e", json.dumps(extra)] + list(flags)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT, env=env, check=False)
        recap = re.search(r"localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", proc.stdout)
        assert recap, proc.stdout[-3000:] + proc.stderr[-2000:]
        return proc, int(recap.group(2)), int(recap.group(4))

    def sh(self, netns, *cmd, check=True, timeout=20):
        """Run a command inside namespace ``netns`` (None: the sandbox host)."""
        full = ["ip", "netns", "exec", netns or self.host] + list(cmd)
        proc = subprocess.run(full, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("%s failed (%d): %s%s" % (" ".join(full), proc.returncode, proc.stdout, proc.stderr))
        return proc

    def ping(self, netns, address):
        """True if one ping from ``netns`` to ``address`` (an address this sandbox made) is answered."""
        return self.sh(netns, "ping", "-c", "1", "-W", "1", "-q", address, check=False).returncode == 0

    def address(self, netns, ifname, family=4):
        """The first global address of ``ifname`` in ``netns`` (None: the sandbox host), as an ip_interface
        (ADDRESS/PREFIX)."""
        out = self.sh(netns, "ip", "-%d" % family, "-o", "addr", "show", "dev", ifname, "scope", "global").stdout
        return ipaddress.ip_interface(out.split()[3])

    def namespaces(self):
        return [n for n in netlink.list_netns() if n.startswith(self.prefix)]

    def links(self, netns=None):
        """{ifname: link} in ``netns`` (None: the sandbox host)."""
        with netlink.Kernel() as kernel:
            return kernel.ns(netns or self.host).links()

    def start(self, netns, *cmd):
        """Start a long-running command in ``netns``; wait for its 'ready' line; killed at cleanup."""
        proc = subprocess.Popen(["ip", "netns", "exec", netns or self.host] + list(cmd),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.procs.append(proc)
        line = proc.stdout.readline()
        assert line.strip() == "ready", "%s did not start: %s%s" % (cmd, line, proc.stderr.read() if proc.poll() is not None else "")
        return proc

    def serve(self, netns, name, port, udp=False):
        """Run the echo server (HTTP, or UDP) in ``netns``."""
        cmd = [sys.executable, os.path.join(HELPERS, "echo_server.py"), name, str(port)]
        return self.start(netns, *(cmd + (["udp"] if udp else [])))

    def fetch(self, netns, host, port, udp=False, src_port=None):
        """Ask the echo server at host:port from ``netns``; its answer ('NAME PEER_IP') or None."""
        cmd = [sys.executable, os.path.join(HELPERS, "client.py"), "udp" if udp else "tcp", host, str(port)]
        if src_port:
            cmd.append(str(src_port))
        proc = self.sh(netns, *cmd, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else None

    def cleanup(self):
        shutil.rmtree(self.files, ignore_errors=True)
        for proc in self.procs:
            proc.kill()
            proc.wait()
        # workloads a failed test left running (the workload module's records)
        for record in glob.glob("/run/nsbridge/workloads/%s*.pid" % self.prefix):
            try:
                with open(record) as f:
                    os.killpg(json.load(f)["pid"], signal.SIGKILL)
            except (OSError, ValueError, KeyError):
                pass
            for path in (record, record[:-4] + ".log"):
                if os.path.exists(path):
                    os.unlink(path)
        # sysctl values and nftables snapshots nsbridge keeps for these namespaces die with them
        for name in self.namespaces():
            if netlink.netns_exists(name):  # not a bare file a killed creation left
                forget_netns(name)
        # the names files of the sandbox's namespaces (planners.names), if a test left them
        for folder in glob.glob("/etc/netns/%s*" % self.prefix):
            shutil.rmtree(folder, ignore_errors=True)
        # the ownership records the modules kept for a sandbox namespace (calls.ownership.state_root)
        for folder in glob.glob("/var/lib/nsbridge/netns/%s*" % self.prefix):
            shutil.rmtree(folder, ignore_errors=True)
        for folder in ("/var/lib/nsbridge/netns", "/var/lib/nsbridge"):
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        # namespaces first: their links go with them; the host namespace last
        for name in sorted(self.namespaces(), key=lambda n: n == self.host):
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


@pytest.fixture
def sandbox():
    box = Sandbox()
    try:
        yield box
    finally:
        box.cleanup()
        assert not box.namespaces(), "sandbox namespaces left behind"


def converge_four_times(sandbox, module, **args):
    """The community.docker pattern: check, real, check again, real again.

    Returns the four results after asserting the changed pattern and that the
    check run wrote nothing (the host's links are the same before and after it).
    """
    before_links = sorted(sandbox.links())
    before_ns = sorted(sandbox.namespaces())
    first_check = sandbox.run(module, check=True, diff=True, **args)
    assert not first_check.get("failed"), first_check
    assert first_check["changed"] is True, first_check
    assert sorted(sandbox.links()) == before_links, "check mode changed the host's links"
    assert sorted(sandbox.namespaces()) == before_ns, "check mode changed namespaces"
    real = sandbox.run(module, diff=True, **args)
    assert not real.get("failed"), real
    assert real["changed"] is True, real
    assert real["diff"] == first_check["diff"], "check mode predicted another change than the real run made"
    second_check = sandbox.run(module, check=True, diff=True, **args)
    assert second_check["changed"] is False, second_check
    second = sandbox.run(module, diff=True, **args)
    assert second["changed"] is False, second
    return first_check, real, second_check, second


def warning_text(result):
    """All warning messages of a module result as one string (2.19 returns structured warnings)."""
    out = []
    for w in result.get("warnings", []):
        out.append(w["event"]["msg"] if isinstance(w, dict) and "event" in w else str(w))
    return "\n".join(out)
