#!/usr/bin/env bash
# The checks a collection is held to before and on Galaxy, on this checkout: ansible-lint
# (production profile, .ansible-lint), antsibull-docs and antsibull-changelog lint, then on the
# tarball `ansible-galaxy collection build` makes: galaxy-importer (what Galaxy runs on an upload)
# and ansible-builder (the execution environment: introspect lists the dependencies, create
# writes a build context). The tools live in .venv-tools (requirements-tools.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bash scripts/bootstrap.sh

if [ ! -x .venv-tools/bin/ansible-lint ] || ! .venv-tools/bin/python -c 'import galaxy_importer, antsibull_changelog' 2>/dev/null; then
  echo "lint: creating .venv-tools"
  /usr/bin/python3 -m venv .venv-tools
  .venv-tools/bin/pip install -q --disable-pip-version-check -r requirements-tools.txt
fi
export PATH="$root/.venv-tools/bin:$PATH"
# the collection itself, and what the molecule files use (containers.podman, community.general: the
# ansible package in .venv, see requirements-fleet.txt)
export ANSIBLE_COLLECTIONS_PATH="$root/.collections:$root/.venv/lib/python3.11/site-packages"
export ANSIBLE_CONFIG="$root/ansible.cfg"
failed=()
check() {  # check NAME COMMAND...
  local name=$1; shift
  echo "--- $name"
  "$@" || failed+=("$name")
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# (in a HOME of its own: ansible-lint links the collection it lints into ~/.ansible/collections)
check "ansible-lint (production)" env HOME="$work/home" ansible-lint --nocolor -q
check "antsibull-docs lint-collection-docs" antsibull-docs lint-collection-docs --plugin-docs .
check "antsibull-changelog lint" antsibull-changelog lint

ansible-galaxy collection build --output-path "$work" >/dev/null
tarball=$(ls "$work"/nsbridge-network-*.tar.gz)
echo "--- built $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KB)"
# galaxy-importer lints what it imports with the ansible-lint it finds, in a HOME of its own
importer() {  # it writes importer_result.json where it runs: there, not in this checkout
  (cd "$work" && HOME="$work/home" python -m galaxy_importer.main "$tarball")
}
check "galaxy-importer" importer

mkdir -p "$work/installed" "$work/ee"
env -u ANSIBLE_COLLECTIONS_PATH ansible-galaxy collection install --force -p "$work/installed" "$tarball" >/dev/null
check "ansible-builder introspect" ansible-builder introspect --sanitize "$work/installed"
cat > "$work/ee/execution-environment.yml" <<EE
---
version: 3
images:
  base_image:
    name: quay.io/ansible/awx-ee:latest
dependencies:
  galaxy:
    collections:
      - name: $tarball
        type: file
EE
check "ansible-builder create" ansible-builder create -f "$work/ee/execution-environment.yml" --context "$work/ee/context"
if [ -f "$work/ee/context/Containerfile" ]; then
  echo "ansible-builder: build context with $(wc -l < "$work/ee/context/Containerfile") Containerfile lines"
fi

if [ ${#failed[@]} -gt 0 ]; then
  echo "lint FAILED: ${failed[*]}"
  exit 1
fi
echo "lint: all checks passed"
