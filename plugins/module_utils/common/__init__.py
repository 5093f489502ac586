# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Layer 0, the ground floor: what every other package shares and that knows no kernel.

errors (the exceptions that name the field at fault), family (IPv4/IPv6 as a type), validate
(input checks that raise a ValidationError naming the field), impairments (a link impairment's values).
The controller's planning (roles/) imports only this package.  Imports nothing of nsbridge's
outside this package.
"""
