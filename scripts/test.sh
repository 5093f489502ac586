#!/usr/bin/env bash
# The whole test suite: unit, integration (real kernel, private namespaces) and an
# end-to-end playbook run. Installs what it needs first (scripts/bootstrap.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_CONFIG="$PWD/ansible.cfg"

stage() {  # stage NAME COMMAND...: run, print its duration, remember a failure
  local name=$1; shift
  local start=$SECONDS
  echo "=== stage: $name"
  "$@"
  local rc=$?
  echo "=== stage: $name: $((SECONDS - start)) s, exit $rc"
  [ $rc -eq 0 ] || failed+=("$name")
}

failed=()
bash scripts/bootstrap.sh || exit 1
stage "unit + integration (pytest)" .venv/bin/python -m pytest tests
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED stages: ${failed[*]}"
  exit 1
fi
echo "all stages passed"
