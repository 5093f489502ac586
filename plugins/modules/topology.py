#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The documentation of the action plugin plugins/action/topology.py, which does the work on the
# controller (no module runs on any host), as ansible.builtin.template's module file documents its action.

from __future__ import annotations

DOCUMENTATION = r'''
module: topology
short_description: Draw the picture of nsbridge hosts (Graphviz SVG and DOT, Mermaid in Markdown) on the controller
version_added: "0.4.0"
description:
  - Writes C(topology.dot) (Graphviz source), C(topology.md) (a Mermaid diagram code-review tools render) and,
    when Graphviz's C(dot) is on the controller, C(topology.svg) into O(dest) on the controller, from
    M(nsbridge.network.network_info) results of the hosts.
  - Runs on the controller only, in one step (no module is sent to any host), so the picture of a fleet costs one task
    however many hosts it draws. A file whose content would not change is not written; the SVG is rendered again
    only when the DOT source changed or the SVG is missing, so a re-run on an unchanged network changes nothing.
  - The same network gives the same files (no pids or counters in them).
options:
  infos:
    description:
      - "V({host: that host's network_info result}), e.g. built from C(hostvars)."
      - For a fleet, O(hosts) and O(var) instead. Ansible templates this argument whole, and a fleet host's result
        holds a route or peer for every other host, so the argument grows as the square of the hosts (300 hosts,
        ~9 MB of JSON, ~28 s).
      - Exactly one of O(infos) and O(hosts) is given.
    type: dict
  hosts:
    description:
      - The hosts to draw, each of which registered its M(nsbridge.network.network_info) result in O(var); the
        action reads those results from C(hostvars) as they are, without templating them again.
      - A host without O(var) is an error naming it.
    type: list
    elements: str
    version_added: "0.4.0"
  var:
    description: The variable each host of O(hosts) registered its network_info result in (given with O(hosts)).
    type: str
    version_added: "0.4.0"
  dest:
    description: The directory on the controller the files go in (made, mode C(0755), when missing).
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
    description: The diff shows each text file that changes (DOT and Markdown).
  platform:
    support: full
    platforms: posix
    description: The files are written on the controller, whatever the hosts' platform.
notes:
  - Without C(dot) on the controller the DOT and Markdown are still written and RV(svg) is false.
  - A picture of more than 2,000 nodes (a fleet of ~170 hosts of 10 containers) bounds Graphviz's slowest layout
    passes (C(mclimit), C(nslimit)); 1,000 such hosts are laid out in 23-29 s instead of 79-108 s.
  - A lab's tunnels between hosts do not rank their ends (C(constraint=false)), so each host's part of a lab keeps its
    shape; ranked, a lab ring across 70 hosts was a staircase 70 hosts wide that took C(dot) 9 s, now 0.1 s.
  - Graphviz's C(dot) fails to rank some large pictures of many hosts ("trouble in init_rank", a long-standing
    Graphviz bug). The picture is then laid out again with the links between hosts left out of the ranking
    (C(constraint=false)), and C(topology.dot) is the source it was laid out from. Only if that fails too does
    the task fail, with the first lines of what C(dot) said.
seealso:
  - module: nsbridge.network.network_info
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Read every host
  nsbridge.network.network_info:
  register: info

- name: Draw them, once
  nsbridge.network.topology:
    hosts: "{{ ansible_play_hosts }}"
    var: info
    dest: "{{ playbook_dir }}/topology"
  run_once: true

- name: Or from results gathered some other way
  nsbridge.network.topology:
    infos: "{{ {'h1': h1_info, 'h2': h2_info} }}"
    dest: "{{ playbook_dir }}/topology"
  run_once: true
'''

RETURN = r'''
files:
  description: The files of the picture in O(dest) (the SVG only when it exists).
  returned: always
  type: list
  elements: path
written:
  description: The files this run wrote (or, in check mode, would write).
  returned: always
  type: list
  elements: path
svg:
  description: Whether C(topology.svg) exists (false when Graphviz's C(dot) is not on the controller).
  returned: always
  type: bool
'''
