# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Layer 5, controller side: what the roles and their filters compute from the inventory.

network (nsbridge_networks and nsbridge_containers checked and turned into module batches).
Runs on the controller, touches no host.  May import common, engine, planners (their validators)
and calls; never day2.
"""
