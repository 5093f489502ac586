# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What this kernel can do that not every kernel can: asked by trying, in a throwaway namespace.

Kernels differ in the queueing disciplines they ship: Debian's, Ubuntu's and RHEL's have
``sch_netem``, some cloud and CI kernels do not (``tc qdisc add ... netem`` answers "Specified qdisc
kind is unknown").  A planner that needs one asks here before anything changes; the answer is
found once per process by adding the qdisc to ``lo`` of a namespace made for the question
(``unshare --net``), which goes with the process: nothing of the host is touched.
"""

from __future__ import annotations

import shutil
import subprocess

_TRIES = {
    "netem": "tc qdisc add dev lo root netem delay 1ms",
    "tbf": "tc qdisc add dev lo root tbf rate 1mbit burst 16kb latency 50ms",
}
_known = {}


def qdisc_available(kind):
    """True if this kernel makes a qdisc of ``kind`` (one of netem, tbf)."""
    if kind not in _known:
        unshare, tc = shutil.which("unshare"), shutil.which("tc")
        if unshare is None or tc is None:
            _known[kind] = False
        else:
            try:
                done = subprocess.run([unshare, "--net", "sh", "-c", "ip link set lo up; " + _TRIES[kind]],
                                      capture_output=True, timeout=20, check=False)
                _known[kind] = done.returncode == 0
            except (OSError, subprocess.TimeoutExpired):
                _known[kind] = False
    return _known[kind]
