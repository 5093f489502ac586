#!/usr/bin/env bash
# Install everything nsbridge needs on a Debian machine (as root), idempotently:
# Debian packages, a venv with ansible-core and the Python libraries, and this
# checkout linked in as the collection nsbridge.network where Ansible finds it.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

debs=(iproute2 iptables nftables libnftables1 conntrack iputils-ping curl python3-venv kmod procps graphviz)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

py=/usr/bin/python3
# the venv holds what requirements-dev.txt (and requirements.txt) said when it was last installed:
# an edit of either is installed on the next run
wanted=$(cat requirements-dev.txt requirements.txt | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import ansible, pyroute2, iptc, pytest' 2>/dev/null; then
  echo "bootstrap: creating .venv"
  "$py" -m venv .venv
  rm -f .venv/nsbridge-requirements
fi
if [ "$(cat .venv/nsbridge-requirements 2>/dev/null)" != "$wanted" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt
  echo "$wanted" > .venv/nsbridge-requirements
fi

mkdir -p .collections/ansible_collections/nsbridge
ln -sfn "$root" .collections/ansible_collections/nsbridge/network
