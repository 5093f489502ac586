# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Option documentation shared by the nsbridge modules."""

from __future__ import annotations


class ModuleDocFragment:
    # state and the check/diff/idempotence attributes: every module
    DOCUMENTATION = r'''
options:
  state:
    description:
      - C(present) creates or converges the object(s); C(absent) removes what nsbridge made.
      - In a batch list, an item's own I(state) overrides this one.
      - C(absent) never removes an object nsbridge did not create (recognised by its mark);
        it warns and leaves it in place.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Check mode runs the same plan as a real run and reports the same C(changed), without writing.
  diff_mode:
    support: full
    description: Reports each changed object's state before and after.
  idempotent:
    support: full
    description: A second identical run reports C(changed=false).
requirements:
  - pyroute2 >= 0.7 on the managed host
  - Linux with network namespaces; root (CAP_NET_ADMIN and CAP_SYS_ADMIN)
'''

    # where an object lives
    NETNS = r'''
options:
  netns:
    description:
      - Name of the network namespace (as in C(ip netns)) the object lives in; omitted means the host.
      - The namespace must exist; nsbridge never creates one as a side effect.
    type: str
'''
