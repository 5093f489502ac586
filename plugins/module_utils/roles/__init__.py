# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Layer 5, controller side: what the roles and their filters compute from the inventory.

network (nsbridge_networks and nsbridge_containers checked and turned into module batches), containers,
fleet, lab, calls, topology, controller_files.  Runs on the controller, touches no host.  Imports only
common (the validators live there): every ansible-playbook worker that runs a task naming one of the
filters imports it anew, so nothing of the host side may ride along (tests/unit/test_layers.py).
"""
