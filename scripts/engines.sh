#!/usr/bin/env bash
# What the tests that run nsbridge beside real container engines need, installed idempotently:
# Debian's docker.io and podman, strace (to kill modules mid-run), and a tiny local image
# (busybox) both engines import, since no registry is reachable.  docker.io must not start a
# daemon on this host: the tests start dockerd themselves, each in a private network namespace.
set -euo pipefail

debs=(docker.io podman runc busybox-static strace)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "engines: installing ${missing[*]}"
  made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# nsbridge engines.sh: no service starts while packages install\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
fi

# the image: busybox (sh, httpd, ...) and a page that names it
cache=/var/cache/nsbridge
image=$cache/busybox-rootfs.v2.tar  # the name changes with what is in it
if [ ! -s "$image" ]; then
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  mkdir -p "$root/bin" "$root/www" "$root/tmp" "$cache"
  cp /bin/busybox "$root/bin/busybox"
  for tool in sh true httpd sleep cat wget nc ip echo printf; do ln -s busybox "$root/bin/$tool"; done
  echo "busybox image" > "$root/www/index.html"
  tar -C "$root" -cf "$image.tmp" .
  mv "$image.tmp" "$image"
  echo "engines: built $image"
fi

podman image exists localhost/nsb-busybox:latest || podman import --quiet "$image" localhost/nsb-busybox:latest >/dev/null
bash "$(dirname "$0")/podman-conf.sh" localhost/nsb-busybox:latest
echo "engines: docker.io $(dpkg-query -W -f='${Version}' docker.io), podman $(dpkg-query -W -f='${Version}' podman), image $image"
