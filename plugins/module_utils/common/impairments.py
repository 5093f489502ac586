# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A link impairment's values (rate, delay, jitter, loss, corrupt, duplicate, reorder): read as tc writes
them, checked against what tbf and netem hold, and written back.  The impairment module's planner and the
lab role's plan (on the controller, where no kernel is touched) both check with these."""

from __future__ import annotations

import re

from .errors import ValidationError, field

IMPAIRMENTS = ("rate", "delay", "jitter", "loss", "corrupt", "duplicate", "reorder")

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)\s*$", re.I)
_RATE_UNITS = {"bit": 1, "kbit": 10 ** 3, "mbit": 10 ** 6, "gbit": 10 ** 9,
               "bps": 8, "kbps": 8 * 10 ** 3, "mbps": 8 * 10 ** 6, "gbps": 8 * 10 ** 9}
_TIME = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(us|usec|ms|msec|s|sec)\s*$", re.I)
_TIME_UNITS = {"us": 1, "usec": 1, "ms": 1000, "msec": 1000, "s": 10 ** 6, "sec": 10 ** 6}
_PERCENT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
MAX_RATE = (2 ** 32 - 1) * 8  # tbf's rate is 32 bits of bytes per second


def parse_rate(value, path):
    """'8mbit' -> 8000000 (bits per second), tc's units (kbit = 1000 bit; bps = bytes per second)."""
    found = _RATE.match(str(value))
    if not found:
        raise ValidationError("%r is not a rate (as tc writes them: 8mbit, 512kbit, 1gbit; bps is bytes/s)" % value, path)
    bits = int(float(found.group(1)) * _RATE_UNITS[found.group(2).lower()])
    if not 8 <= bits <= MAX_RATE:
        raise ValidationError("%r is outside 8bit..%dbit (what tbf holds)" % (value, MAX_RATE), path)
    return bits


def parse_time(value, path):
    """'10ms' -> 10000 (microseconds)."""
    found = _TIME.match(str(value))
    if not found:
        raise ValidationError("%r is not a time (10ms, 500us, 1s)" % value, path)
    usec = int(round(float(found.group(1)) * _TIME_UNITS[found.group(2).lower()]))
    if usec > 60 * 10 ** 6:
        raise ValidationError("%r is more than netem delays (at most 60s)" % value, path)
    return usec


def parse_percent(value, path):
    """'1%' -> 1.0; 0 < value <= 100."""
    found = _PERCENT.match(str(value))
    if not found:
        raise ValidationError("%r is not a share (1%%, 0.5%%)" % value, path)
    share = float(found.group(1))
    if not 0 < share <= 100:
        raise ValidationError("%r is outside 0..100%%" % value, path)
    return share


def normalise(item, path):
    """{rate: bits/s, delay: us, jitter: us, loss/corrupt/duplicate/reorder: percent} of an item; None
    for what it does not ask.  Raises ValidationError for a value netem or tbf would refuse."""
    out = {}
    for key in IMPAIRMENTS:
        value = item.get(key)
        if value is None or value == "":
            out[key] = None
        elif key == "rate":
            out[key] = parse_rate(value, field(path, key))
        elif key in ("delay", "jitter"):
            out[key] = parse_time(value, field(path, key))
        else:
            out[key] = parse_percent(value, field(path, key))
    if out["jitter"] and not out["delay"]:
        raise ValidationError("jitter needs a delay to vary", field(path, "jitter"))
    if out["reorder"] and not out["delay"]:
        raise ValidationError("reorder needs a delay (netem sends the reordered packets at once, the rest "
                              "delayed)", field(path, "reorder"))
    return out


def text_of(impairment):
    """'rate 8mbit, loss 1%' (what is asked, as a user wrote it back)."""
    parts = []
    for key in IMPAIRMENTS:
        value = impairment.get(key)
        if value is None:
            continue
        if key == "rate":
            parts.append("rate %s" % rate_text(value))
        elif key in ("delay", "jitter"):
            parts.append("%s %s" % (key, "%gms" % (value / 1000.0) if value % 1000 == 0 or value >= 1000 else "%dus" % value))
        else:
            parts.append("%s %g%%" % (key, value))
    return ", ".join(parts)


def rate_text(bits):
    """8000000 -> '8mbit': in the largest of tc's units that holds ``bits`` whole."""
    for unit, factor in (("gbit", 10 ** 9), ("mbit", 10 ** 6), ("kbit", 10 ** 3)):
        if bits % factor == 0:
            return "%d%s" % (bits // factor, unit)
    return "%dbit" % bits
