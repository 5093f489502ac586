# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Layer 2: the owned-chain firewall layer, both families, both backends.

backend (the interface every backend implements), registry (the backends and what
``backend: auto`` picks), iptables / nftables (the two backends), dispatch, iptables_dispatch,
nftables_dispatch (per-port buckets: a connection costs the same whatever the number of published
ports), rules (backend-neutral rules, their comments and ids), planner (the firewall half of the
reconcile engine), lock, reliance (who else relies on forwarding), host_settings (forwarding,
accept_ra, route_localnet and conntrack as steps).  May import common, kernel and engine.
"""
