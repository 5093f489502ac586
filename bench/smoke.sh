#!/usr/bin/env bash
# Every benchmark at a tiny size, so that one which stops running fails CI (scripts/test.sh runs
# this). Figures are printed, never asserted: at these sizes they say nothing about the targets.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
py=.venv/bin/python
failed=()
smoke() {  # smoke NAME ARGS...: bench/NAME.py at a tiny size
  local name=$1; shift
  local start=$SECONDS
  echo "--- bench/$name.py $*"
  PATH="$PWD/.venv/bin:$PATH" "$py" "bench/$name.py" "$@"
  local rc=$?
  echo "--- bench/$name.py: $((SECONDS - start)) s, exit $rc"
  [ $rc -eq 0 ] || failed+=("$name")
}
smoke endpoints -n 5
smoke firewall --ports 5 --subnets 2
smoke dataplane --sizes 2,20 --samples 20 --rounds 1
smoke network_info -n 5 --runs 1
smoke playbook -n 3
smoke fleet -n 2 --hosts 3 --megabytes 5
smoke fleet_plan --sizes 10,50
smoke fleet_play --sizes 2,4
smoke fleet_dataplane -n 5
smoke lab -n 4 --links 6
smoke topology --sizes 3,10 --lab-sizes 3,10
# every bench has a line above: a new one without a smoke run is a failure too
for f in bench/*.py; do
  name=$(basename "$f" .py)
  grep -q "^smoke $name " "$0" || { echo "bench/$name.py has no smoke run in $0"; failed+=("$name (no smoke run)"); }
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "bench smoke FAILED: ${failed[*]}"
  exit 1
fi
echo "bench smoke: every benchmark ran"
