"""A dockerd of one's own (Debian's docker.io, installed by scripts/engines.sh, never started as a
service), inside a network namespace: its own data root, exec root, socket and pidfile.  nsenter,
not ``ip netns exec``, which would remount /sys and hide the cgroups.  The engine tests and
bench/playbook.py (the peer users would pick) run it."""

import os
import shutil
import subprocess
import time

IMAGE = "/var/cache/nsbridge/busybox-rootfs.v2.tar"
DOCKER, DOCKERD = "/usr/bin/docker", "/usr/sbin/dockerd"


class Dockerd:
    def __init__(self, netns, folder):
        for path in (DOCKERD, IMAGE):
            if not os.path.exists(path):
                raise RuntimeError("%s is missing: scripts/engines.sh installs the engines and the image" % path)
        self.netns = netns
        self.dir = folder
        self.sock = "unix://%s/docker.sock" % self.dir
        self.proc = None
        self.log = None

    def cli(self, *args, check=True, timeout=60):
        proc = subprocess.run([DOCKER, "-H", self.sock] + list(args), capture_output=True, text=True, timeout=timeout,
                              check=False)
        if check and proc.returncode != 0:
            raise AssertionError("docker %s failed: %s%s" % (" ".join(args), proc.stdout, proc.stderr))
        return proc.stdout.strip()

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self.log = open(os.path.join(self.dir, "dockerd.log"), "ab")
        self.proc = subprocess.Popen(
            ["nsenter", "--net=/run/netns/" + self.netns, DOCKERD, "--data-root", self.dir + "/data",
             "--exec-root", self.dir + "/exec", "-H", self.sock, "--pidfile", self.dir + "/docker.pid",
             "--exec-opt", "native.cgroupdriver=cgroupfs"], stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while not self.up() and time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("dockerd exited; see %s/dockerd.log" % self.dir)
            time.sleep(0.3)
        if not self.up():
            raise AssertionError("dockerd did not start; see %s/dockerd.log" % self.dir)

    def up(self):
        return subprocess.run([DOCKER, "-H", self.sock, "version"], capture_output=True, timeout=30,
                              check=False).returncode == 0

    def image(self):
        if "nsb-busybox" not in self.cli("images", "--format", "{{.Repository}}"):
            self.cli("import", IMAGE, "nsb-busybox:latest")
        return "nsb-busybox"

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.log.close()

    def destroy(self, containers=()):
        if self.proc is not None and containers:
            self.cli("rm", "-f", *containers, check=False, timeout=300)
        self.stop()
        subprocess.run(["umount", "-R", self.dir + "/exec"], capture_output=True, check=False)
        subprocess.run(["umount", "-R", self.dir + "/data"], capture_output=True, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)
