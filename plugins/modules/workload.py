#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: workload
short_description: Keep a command running inside a network namespace (a container's process)
version_added: "0.1.0"
description:
  - Starts I(command) with C(sh -c) inside I(netns), in its own session, and keeps a record of it in
    C(/run/nsbridge/workloads/NAME.pid) (pid, start time, digest of command, namespace and environment;
    readable by root alone); output goes to C(NAME.log).
  - A workload's environment is its own, as a Docker container's is - C(PATH) (Docker's default), C(HOME) (of
    the user the module runs as), I(env), and C(NSBRIDGE_WORKLOAD) (its name, by which nsbridge finds it) -
    never the module's environment, which on a local connection is the operator's shell.
  - A running workload with the same command, namespace and environment is left alone; a changed one is
    restarted; C(state=absent) stops its whole process group.
  - There is no supervisor; a workload that dies is started again by the next run.
options:
  name:
    description: Workload name (e.g. the container's name). Required unless I(workloads) is given.
    type: str
  netns:
    description: Namespace to run in; must exist.
    type: str
  command:
    description: Shell command line. Required with C(state=present).
    type: str
  env:
    description:
      - Environment variables of the command (name - value), beside C(PATH) and C(HOME), which it may override.
      - Values are kept in the workload's record and shown in diff mode, as Docker's C(-e) values are in
        C(docker inspect); give a secret to the command in a file instead.
    type: dict
    version_added: "0.4.0"
  workloads:
    description: Many workloads in one call; each item takes I(name), I(netns), I(command), I(env), I(state).
    type: list
    elements: dict
    suboptions:
      name: {description: "See top-level I(name).", type: str, required: true}
      netns: {description: "See top-level I(netns).", type: str}
      command: {description: "See top-level I(command).", type: str}
      env: {description: "See top-level I(env).", type: dict}
      state: {description: "Overrides the top-level I(state) for this item.", type: str, choices: [present, absent]}
extends_documentation_fragment:
  - nsbridge.network.common
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: A web server in container web1
  nsbridge.network.workload:
    name: web1
    netns: web1
    command: python3 -m http.server 8000

- name: A worker with its own settings (and nothing else of the controller's environment)
  nsbridge.network.workload:
    name: worker1
    netns: worker1
    command: exec worker --queue "$QUEUE"
    env:
      QUEUE: jobs
'''

RETURN = r'''
workloads:
  description: The workloads running after the run (pid is absent for one not yet started in check mode).
  returned: always
  type: list
  elements: dict
results:
  description: Per requested workload, in input order, what was (or in check mode would be) done.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import run_module


def main():
    run_module(AnsibleModule, "workload")


if __name__ == "__main__":
    main()
