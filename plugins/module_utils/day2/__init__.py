# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Layer 5, managed-host side: living with what was built.

report (network_info: what nsbridge made on a host, by its marks), persist (the record, the restore
program and its unit, kept for a rebuild at boot), restore (the program's entry point).  May import
every layer below; never roles.
"""
