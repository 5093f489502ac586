#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: impairment
short_description: Rate, delay, loss and other impairments on what leaves an interface (a lab's link)
version_added: "0.4.0"
description:
  - Makes what leaves I(dev) (in I(netns)) as slow, late or lossy as asked, or takes nsbridge's impairment away
    again; one direction of a link each (the other end's interface takes the other direction).
  - I(rate) is a token bucket (C(tbf)). I(delay), I(jitter), I(corrupt), I(duplicate) and I(reorder) need the
    kernel's C(netem) queueing discipline (C(sch_netem)); on a kernel without it asking for them is an error
    naming the value, found before anything changes. I(loss) goes through netem where the kernel has it, else
    through an nftables rule on I(dev)'s egress hook (Linux 5.16) that drops that share of the frames leaving it
    at random, silently as a lossy wire does (C(table netdev nsbridge_impair) of the namespace, one chain per
    interface; the table goes with its last chain).
  - Values change in place on a re-run (C(tc qdisc replace)); the link stays up and other links are untouched.
    A root qdisc on I(dev) that nsbridge did not make (nsbridge's has handle C(6e62:)) is an error, never replaced.
  - An item that asks for nothing, or C(state=absent), removes nsbridge's impairment of I(dev).
options:
  dev:
    description: The interface whose egress is impaired. Required unless I(impairments) is given.
    type: str
  netns:
    description: Namespace of I(dev) (it must exist); omitted, the host's.
    type: str
  rate:
    description: Bandwidth, in tc's units (C(8mbit), C(512kbit), C(1gbit); C(bps) is bytes per second).
    type: str
  delay:
    description: Added latency (C(10ms), C(500us)); needs netem.
    type: str
  jitter:
    description: Variation of I(delay) (C(2ms)); needs netem and I(delay).
    type: str
  loss:
    description: Share of packets dropped at random (C(1%), C(0.5%)).
    type: str
  corrupt:
    description: Share of packets with a bit flipped (C(0.1%)); needs netem.
    type: str
  duplicate:
    description: Share of packets sent twice (C(1%)); needs netem.
    type: str
  reorder:
    description: Share of packets sent at once while the rest wait I(delay) (C(25%)); needs netem and I(delay).
    type: str
  label:
    description: What the interface is (a lab's link end, C(r1:eth1 -> r2)); named in errors and results.
    type: str
  impairments:
    description: Many interfaces in one call; each item takes the options above and I(state).
    type: list
    elements: dict
    suboptions:
      dev: {description: "See top-level I(dev).", type: str, required: true}
      netns: {description: "See top-level I(netns).", type: str}
      rate: {description: "See top-level I(rate).", type: str}
      delay: {description: "See top-level I(delay).", type: str}
      jitter: {description: "See top-level I(jitter).", type: str}
      loss: {description: "See top-level I(loss).", type: str}
      corrupt: {description: "See top-level I(corrupt).", type: str}
      duplicate: {description: "See top-level I(duplicate).", type: str}
      reorder: {description: "See top-level I(reorder).", type: str}
      label: {description: "See top-level I(label).", type: str}
      state: {description: "Overrides the top-level I(state) for this item.", type: str, choices: [present, absent]}
extends_documentation_fragment:
  - nsbridge.network.common
author:
  - nsbridge contributors (!UNKNOWN)
'''

EXAMPLES = r'''
- name: r1 sends to r2 at 8 Mbit/s; r2 loses 1% of what it sends back
  nsbridge.network.impairment:
    impairments:
      - {netns: r1, dev: eth1, rate: 8mbit}
      - {netns: r2, dev: eth1, loss: 1%}

- name: A satellite hop (needs a kernel with sch_netem)
  nsbridge.network.impairment:
    netns: r3
    dev: eth2
    delay: 300ms
    jitter: 20ms
'''

RETURN = r'''
impairments:
  description: The impaired interfaces after the run (or, in check mode, as they would be).
  returned: always
  type: list
  elements: dict
  sample: [{dev: eth1, netns: r1, rate: 8mbit, impairment: "rate 8mbit", loss_by: null, managed: true}]
results:
  description: Per requested interface, what was (or in check mode would be) done.
  returned: always
  type: list
  elements: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.nsbridge.network.plugins.module_utils.calls.catalog import run_module


def main():
    run_module(AnsibleModule, "impairment")


if __name__ == "__main__":
    main()
