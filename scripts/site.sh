#!/usr/bin/env bash
# The main job: build the network described by the inventory (by default the seeds'
# network on this machine) with playbooks/site.yml. Extra arguments go to ansible-playbook.
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
bash scripts/bootstrap.sh
exec .venv/bin/ansible-playbook playbooks/site.yml "$@"
