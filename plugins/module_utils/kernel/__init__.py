# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Layer 1: talking to the kernel, and nothing about items, plans or modules.

netlink (namespaces entered with setns, pyroute2 for writes, the ownership marks), rtnl_reader
(a raw rtnetlink dump reader for the observation hot path), nft_reader (nf_tables rule comments
over nfnetlink), libnftables (a ctypes binding of libnftables' JSON API), xtables (the
ipt_entry/ip6t_entry codec and table reader), run_state (what nsbridge keeps under /run/nsbridge,
keyed by namespace cookie).  May import common.
"""
