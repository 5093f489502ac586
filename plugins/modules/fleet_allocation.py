#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The documentation of the action plugin plugins/action/fleet_allocation.py, which does the work on the
# controller (no module runs on any host), as ansible.builtin.template's module file documents its action.

from __future__ import annotations

DOCUMENTATION = r'''
module: fleet_allocation
short_description: Keep the fleet's allocation file (every host's subnet) on the controller
version_added: "0.4.0"
description:
  - Writes O(allocation), the text the P(nsbridge.network.fleet_map#filter) filter returns as C(allocation), to O(dest) on
    the controller, mode C(0644), by a rename in its directory (a reader never sees half a file).
  - Runs on the controller only, in one step (no module is sent to any host). The C(nsbridge.network.fleet) role uses it for
    C(nsbridge_fleet_allocation_file) when the allocation changes; a file that would not change is not written.
options:
  allocation:
    description: The allocation file's text.
    type: str
    required: true
  dest:
    description: The file on the controller; its directory must exist.
    type: path
    required: true
attributes:
  action:
    support: full
    description: Runs on the controller as an action plugin.
  check_mode:
    support: full
    description: In check mode nothing is written; C(changed) and the diff say what would be.
  diff_mode:
    support: full
    description: The diff shows the file before and after.
  platform:
    support: full
    platforms: posix
    description: The file is written on the controller, whatever the hosts' platform.
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Keep the fleet's allocation beside the inventory
  nsbridge.network.fleet_allocation:
    allocation: "{{ _nsbridge_fleet_map.allocation }}"
    dest: "{{ inventory_dir }}/nsbridge-fleet-fleet.json"
  run_once: true
'''

RETURN = r'''
dest:
  description: The file's path on the controller.
  returned: always
  type: str
'''
