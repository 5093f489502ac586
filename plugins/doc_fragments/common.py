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

    # the firewall modules
    FIREWALL = r'''
options:
  backend:
    description:
      - Firewall backend. C(iptables) writes legacy xtables through python-iptables (libiptc), under the
        xtables lock. C(nftables) writes C(table ip nsbridge) (plus owned chains in iptables-nft's
        C(table ip filter) where that exists) through libnftables' JSON API, as one transaction.
      - C(auto) picks what the host's C(iptables) command uses (legacy means C(iptables), anything else
        C(nftables)); the result's C(backend) says which was used.
    type: str
    choices: [auto, iptables, nftables]
    default: auto
  netns:
    description:
      - Apply inside this network namespace (e.g. a router namespace); omitted means the host.
    type: str
notes:
  - Every rule carries a comment C(nsbridge <scope> <hash>); re-runs and C(state=absent) find exactly
    their own rules by it, and never read, edit, move or delete a rule nsbridge did not create.
  - Owned chains (iptables) C(NSBRIDGE-PREROUTING), C(NSBRIDGE-OUTPUT), C(NSBRIDGE-POSTROUTING) in nat and
    C(NSBRIDGE-FORWARD), C(NSBRIDGE-INPUT) in filter are reached by one jump each (comment C(nsbridge jump));
    the filter jumps are inserted first so a FORWARD policy of DROP does not shadow them. Chains and jumps go
    when their last rule goes.
  - Two runs at once are serialised by a lock (C(/run/xtables.lock) or C(/run/nsbridge.lock)) around
    observe and commit, so neither loses nor duplicates rules.
'''
