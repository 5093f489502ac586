# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Layer 1: the one reconcile engine, which knows no kernel.

reconcile (ItemPlan/Step, apply_plans: check mode reports exactly the plans a real run runs, a
failing item rolls back its own steps), edge (a module's params in, one exit_json/fail_json out,
and the single-or-batch argument spec every module shares), owner (which project may use and
remove what, by the marks a planner finds).  May import common.
"""
