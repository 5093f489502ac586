#!/usr/bin/env bash
# Make podman usable on this kind of VM, only if it cannot run a container with its defaults:
# the kernel refuses runc setting RLIMIT_NPROC/NOFILE to the machine's own maximum (podman's
# default), so cap them; use runc where crun is missing; no systemd here, so cgroupfs and a file
# events log.  Usage: podman-conf.sh IMAGE (an image already in podman's store, to probe with).
set -euo pipefail
image=$1
conf=/etc/containers/containers.conf.d/nsbridge-fleet.conf
probe() { timeout 120 podman run --rm --network none "$image" true >/dev/null 2>&1; }
if ! probe && ! grep -q "nsbridge fleet" "$conf" 2>/dev/null; then
  echo "podman-conf: podman cannot start a container as configured; writing $conf"
  mkdir -p /etc/containers/containers.conf.d
  {
    echo "# nsbridge fleet: runtime and limits this machine accepts"
    echo "[containers]"
    echo 'default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]'
    echo "[engine]"
    command -v crun >/dev/null || echo 'runtime = "runc"'
    echo 'cgroup_manager = "cgroupfs"'
    echo 'events_logger = "file"'
  } >> "$conf"
fi
probe || { echo "podman-conf: podman still cannot run $image" >&2; podman run --rm --network none "$image" true; exit 1; }
