# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Layer 3: one planner per module, named after it (bridge, veth, netns, port_publish, ...), plus
links (what the link planners share).  A planner observes once and returns the engine's plans;
its module's item options (ITEM_OPTIONS) live beside it.  May import common, kernel, engine and
firewall; a planner may use another planner's helpers (veth and bridge share links).
"""
