#!/usr/bin/env bash
# The main job: build the network described by the inventory (by default the seeds'
# network on this machine) with playbooks/site.yml. Extra arguments go to ansible-playbook.
set -euo pipefail
cd "$(dirname "$0")/.."
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
# PYTHONUNBUFFERED (set by many container images and CI shells) makes Python read a script from a pipe
# one byte per read(): every module Ansible pipelines to this host (nsbridge's apply is ~360 KB) then
# costs ~0.2 s more. ansible-playbook flushes its own output and does not need it.
unset PYTHONUNBUFFERED
bash scripts/bootstrap.sh
exec .venv/bin/ansible-playbook playbooks/site.yml "$@"
