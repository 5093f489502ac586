#!/usr/bin/env bash
# Build (once; cached) the local Debian bookworm image the molecule fleet runs on, and make
# podman usable on this kind of VM. No registry is reachable: the image is debootstrapped from
# Debian's mirror and imported. The managed hosts' Python dependencies come from Debian
# packages baked in here, as a user's Debian hosts would install them.
set -euo pipefail
IMAGE=${NSBRIDGE_FLEET_IMAGE:-localhost/nsbridge-fleet:bookworm}
MIRROR=${NSBRIDGE_DEBIAN_MIRROR:-http://deb.debian.org/debian}

need=()
for p in podman runc debootstrap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "fleet-image: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

probe() { timeout 120 podman run --rm --network none "$IMAGE" true >/dev/null 2>&1; }

if podman image exists "$IMAGE"; then
  echo "fleet-image: $IMAGE is cached"
else
root=$(mktemp -d /var/tmp/nsbridge-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
pkgs=python3,python3-pyroute2,python3-iptables,python3-nftables,libnftables1,iproute2,iptables,nftables
pkgs=$pkgs,conntrack,iputils-ping,curl,procps,kmod,util-linux
echo "fleet-image: debootstrap bookworm (minbase) into $root"
debootstrap --variant=minbase --include="$pkgs" bookworm "$root" "$MIRROR" >/var/tmp/nsbridge-debootstrap.log 2>&1 \
  || { tail -20 /var/tmp/nsbridge-debootstrap.log; exit 1; }
# the legacy iptables on purpose: the iptables-legacy scenario flips it per host
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | podman import --quiet --change 'CMD ["sleep", "infinity"]' - "$IMAGE" >/dev/null
echo "fleet-image: built $IMAGE"
fi

# podman on this kind of VM: the kernel refuses runc setting RLIMIT_NPROC/NOFILE to the
# machine's own maximum (podman's default), so cap them; and use runc where crun is missing.
# Written only when podman cannot run a container with its own defaults.
conf=/etc/containers/containers.conf.d/nsbridge-fleet.conf
if ! probe && ! grep -q "nsbridge fleet" "$conf" 2>/dev/null; then
  echo "fleet-image: podman cannot start a container as configured; writing $conf"
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
probe || { echo "fleet-image: podman still cannot run $IMAGE" >&2; podman run --rm --network none "$IMAGE" true; exit 1; }
echo "fleet-image: podman runs $IMAGE"
