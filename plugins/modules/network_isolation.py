#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: network_isolation
short_description: Keep container networks apart, as Docker's isolation chains do
version_added: "0.1.0"
description:
  - For an I(isolated) network, drops forwarded traffic from its bridge to every other bridge named in the
    call (the I(networks) of the call plus I(peers)), like Docker's C(DOCKER-ISOLATION-STAGE-1/2).
  - For an I(internal) network, drops all forwarded traffic into or out of its bridge except within it
    (Docker's C(--internal), VirtualBox's internal network).
  - The drop rules are placed before every accept nsbridge keeps in its forward chain, in both IP families.
options:
  bridge:
    description: The network's bridge. Required unless I(networks) is given.
    type: str
  isolated:
    description: Drop traffic from this bridge to the other bridges.
    type: bool
    default: true
  internal:
    description: No forwarded traffic in or out of this bridge at all.
    type: bool
    default: false
  peers:
    description: Further bridges counted as other networks (e.g. managed by another play).
    type: list
    elements: str
  networks:
    description: Many networks in one call; each item takes I(bridge), I(isolated), I(internal), I(state).
    type: list
    elements: dict
    suboptions:
      bridge: {description: "See top-level I(bridge).", type: str, required: true}
      isolated: {description: "See top-level I(isolated).", type: bool, default: true}
      internal: {description: "See top-level I(internal).", type: bool, default: false}
      state: {description: "Overrides the top-level I(state) for this item.", type: str, choices: [present, absent]}
extends_documentation_fragment:
  - nsbridge.network.common
  - nsbridge.network.common.firewall
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: Two networks that cannot reach each other, and one with no way out
  nsbridge.network.network_isolation:
    networks:
      - {bridge: br-front}
      - {bridge: br-back}
      - {bridge: br-vault, internal: true}
'''

RETURN = r'''
backend:
  description: The backend used (C(auto) resolved).
  returned: always
  type: str
isolation:
  description:
    - Per present network, C(id) (a digest of its spec, carried in its rules' comments) and C(count) (its
      number of rules); C(rules), its rules as iptables-like lines, when this run changes (or would change) it.
    - An item already in place is checked by id without generating its rules.
  returned: always
  type: list
  elements: dict
results:
  description: Per requested network, in input order, what was (or in check mode would be) done.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import run_module


def main():
    run_module(AnsibleModule, "network_isolation")


if __name__ == "__main__":
    main()
