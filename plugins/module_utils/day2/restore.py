# -*- coding: utf-8 -*-
# Copyright: nsbridge contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore program's entry point (``nsbridge-restore.pyz``, see persist): at boot, the recorded
calls of every role, in record name order, through the same engine the modules use.  No Ansible:
the records hold validated parameters.  Prints one line per call; exit status 1 if a call failed
(the records after it still run: one role's failure should not leave the others' networks down).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..calls.apply import CallFailed, apply_calls
from ..calls.housekeeping import sweep
from ..common.errors import NsbridgeError
from .persist import RECORDS


def _say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="nsbridge-restore", description="Rebuild what nsbridge's roles recorded.")
    parser.add_argument("--root", default="/", help="where the records are (default /)")
    parser.add_argument("--check", action="store_true", help="only say what would change")
    args = parser.parse_args(argv)
    records_dir = os.path.join(args.root, RECORDS)
    names = sorted(f for f in os.listdir(records_dir) if f.endswith(".json")) if os.path.isdir(records_dir) else []
    status = 0
    if not args.check:
        sweep()
    for name in names:
        with open(os.path.join(records_dir, name)) as f:
            record = json.load(f)
        try:
            result = apply_calls(record["calls"], args.check, validated=True, project=record.get("project"),
                                 restoring=True)
        except (CallFailed, NsbridgeError) as exc:
            _say("nsbridge-restore: %s: %s" % (name, exc))
            status = 1
            continue
        for call in result["calls"]:
            done = [r["name"] for r in call["results"] if r["changed"]]
            _say("nsbridge-restore: %s: %s: %s" % (name, call["module"], "%s %s" % (
                "would change" if args.check else "changed", ", ".join(done)) if done else "as recorded"))
        for warning in result["warnings"]:
            _say("nsbridge-restore: %s: warning: %s" % (name, warning))
    if not args.check:
        sweep()
    if not names:
        _say("nsbridge-restore: nothing recorded in %s" % records_dir)
    return status
