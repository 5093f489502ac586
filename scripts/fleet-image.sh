#!/usr/bin/env bash
# Build (once; cached) the local Debian bookworm image the molecule fleet runs on, and make
# podman usable on this kind of VM. No registry is reachable: the image is debootstrapped from
# Debian's mirror and imported. The managed hosts' Python dependencies come from Debian
# packages baked in here, as a user's Debian hosts would install them.
set -euo pipefail
IMAGE=${NSBRIDGE_FLEET_IMAGE:-localhost/nsbridge-fleet:bookworm-4}  # the tag changes with what is in it

# The Debian mirror this machine's apt already uses (NSBRIDGE_DEBIAN_MIRROR overrides it): the first
# "deb" source serving bookworm's main component, in one-line or deb822 (.sources) format.
apt_mirror() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '$1 == "deb" && $0 ~ / bookworm / && $0 ~ / main/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
         /(^|\n)Types:[^\n]*deb([ \n]|$)/ && /(^|\n)Suites:[^\n]*bookworm([ \n]|$)/ && /(^|\n)Components:[^\n]*main/ {
           for (i = 1; i <= NF; i++) if ($i ~ /^URIs:/) { split($i, u, /[ \t]+/); print u[2]; exit } }' "$f"
  done
}
MIRROR=${NSBRIDGE_DEBIAN_MIRROR:-$(apt_mirror | head -n 1)}
[ -n "$MIRROR" ] || { echo "fleet-image: no Debian bookworm mirror in /etc/apt; set NSBRIDGE_DEBIAN_MIRROR" >&2; exit 1; }

need=()
for p in podman runc debootstrap; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "fleet-image: installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if podman image exists "$IMAGE"; then
  echo "fleet-image: $IMAGE is cached"
else
root=$(mktemp -d /var/tmp/nsbridge-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
pkgs=python3,python3-pyroute2,python3-iptables,python3-nftables,libnftables1,iproute2,iptables,nftables
pkgs=$pkgs,conntrack,iputils-ping,curl,procps,kmod,util-linux
echo "fleet-image: debootstrap bookworm (minbase) from $MIRROR into $root"
debootstrap --variant=minbase --include="$pkgs" bookworm "$root" "$MIRROR" >/var/tmp/nsbridge-debootstrap.log 2>&1 \
  || { tail -20 /var/tmp/nsbridge-debootstrap.log; exit 1; }
# podman, for the containers role's image-based containers, with apt inside the new system (debootstrap's
# own resolver leaves podman's dependencies unconfigured); it runs there as inside a privileged container:
# vfs storage (no overlay on overlay), runc and cgroupfs, as on the controller. openssh-server (not started
# here): bench/fleet.py reaches the hosts over SSH with pipelining, as a real fleet is reached
printf '#!/bin/sh\nexit 101\n' > "$root"/usr/sbin/policy-rc.d
chmod +x "$root"/usr/sbin/policy-rc.d
cp /etc/resolv.conf "$root"/etc/resolv.conf
mount -t proc proc "$root"/proc
trap 'umount "$root"/proc 2>/dev/null || true; rm -rf "$root"' EXIT
{ chroot "$root" apt-get update -qq \
    && DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -qq --no-install-recommends podman runc uidmap openssh-server; } \
  >>/var/tmp/nsbridge-debootstrap.log 2>&1 || { tail -20 /var/tmp/nsbridge-debootstrap.log; exit 1; }
umount "$root"/proc
rm -f "$root"/usr/sbin/policy-rc.d "$root"/etc/resolv.conf
# a host has an /etc/resolv.conf (podman --network none mounts none): without one, `ip netns exec` cannot
# bind a namespace's /etc/netns/NAME/resolv.conf over it and says so on every command. No nameserver in it:
# the fleet's hosts resolve nothing outside
printf '# nsbridge fleet host: no nameservers (this test fleet reaches nothing outside)\n' > "$root"/etc/resolv.conf
# the legacy iptables on purpose: the iptables-legacy scenario flips it per host
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
mkdir -p "$root"/etc/containers/containers.conf.d
printf '[storage]\ndriver = "vfs"\nrunroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n' \
  > "$root"/etc/containers/storage.conf
printf '[containers]\ndefault_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' \
  > "$root"/etc/containers/containers.conf.d/nsbridge.conf
tar -C "$root" -c . | podman import --quiet --change 'CMD ["sleep", "infinity"]' - "$IMAGE" >/dev/null
echo "fleet-image: built $IMAGE"
fi

bash "$(dirname "$0")/podman-conf.sh" "$IMAGE"
echo "fleet-image: podman runs $IMAGE"
