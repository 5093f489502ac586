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

    # modules that run other modules' calls (apply): the attributes, no state of their own
    CALLS = r'''
attributes:
  check_mode:
    support: full
    description: Every call is planned as its module plans it in check mode; nothing is written.
  diff_mode:
    support: full
    description: Reports each changed object's state before and after, per call.
  idempotent:
    support: full
    description: A second identical run reports C(changed=false).
requirements:
  - pyroute2 >= 0.7 on the managed host
  - Linux with network namespaces; root (CAP_NET_ADMIN and CAP_SYS_ADMIN)
'''

    # read-only modules (network_info)
    INFO = r'''
attributes:
  check_mode:
    support: full
    description: Reads only; check mode runs it the same way.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
  idempotent:
    support: full
    description: Never reports C(changed=true).
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

    # the firewall modules; the backend option's text is module_utils/fw_registry.py's option_doc() and
    # choices() (ansible-test reads fragments as plain text: tests/unit/test_docs.py keeps them equal)
    FIREWALL = r'''
options:
  backend:
    description:
      - "Firewall backend, for IPv4 and IPv6 alike."
      - "C(iptables): legacy xtables (iptables and ip6tables) through python-iptables (libiptc), in owned
        C(NSBRIDGE-*) chains, under the xtables lock."
      - "C(nftables): nf_tables through libnftables' JSON API, in owned C(table ip nsbridge) and C(table ip6
        nsbridge) (plus one marked accept rule in iptables-nft's FORWARD chains where those exist), one transaction."
      - "C(auto) picks C(iptables) if the host's C(iptables) command is the legacy variant; C(nftables) otherwise;
        the result's C(backend) says which was used."
    type: str
    choices: [auto, iptables, nftables]
    default: auto
  netns:
    description:
      - Apply inside this network namespace (e.g. a router namespace); omitted means the host.
    type: str
notes:
  - Every rule carries a comment C(nsbridge <scope> <id> <i>/<n>); re-runs and C(state=absent) find exactly
    their own rules by it, and never read, edit, move or delete a rule nsbridge did not create.
  - IPv4 rules go into IPv4 tables (iptables, C(table ip nsbridge)) and IPv6 rules into IPv6 tables
    (ip6tables, C(table ip6 nsbridge)), in the same call.
  - Owned chains (iptables) C(NSBRIDGE-PREROUTING), C(NSBRIDGE-OUTPUT), C(NSBRIDGE-POSTROUTING) in nat and
    C(NSBRIDGE-FORWARD), C(NSBRIDGE-INPUT) in filter are reached by one jump each (comment C(nsbridge jump));
    the filter jumps are inserted first so a FORWARD policy of DROP does not shadow them. Chains and jumps go
    when their last rule goes. A jump deleted or flushed by hand is put back by the next run (reported as
    the item C(jumps)).
  - Two runs at once are serialised by a lock around observe and commit (C(/run/xtables.lock), the lock
    iptables itself takes; for nftables a lock on the network namespace itself), so neither loses nor
    duplicates rules.
'''
