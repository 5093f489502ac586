# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Layer 4: module calls as data, run in one process.

catalog (every module's argument spec, planner and result key; run_module is each module's whole
main), apply (several calls planned or applied exactly as their modules would: the apply and
drift_info modules, the restore program), drift (network_info's drift section), housekeeping
(tidying /run/nsbridge before and after every real run), items (a call's objects by identity, the
calls that remove exactly them), ownership (what a project's record made; what no longer described
goes).  May import every layer below.
"""
