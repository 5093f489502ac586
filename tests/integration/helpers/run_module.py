"""Run one nsbridge module in this process: ``run_module.py MODULE 'JSON ARGS'``; prints its result.

Used by the concurrency tests to have two real processes write at the same time.
"""

import importlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, ".collections"))

from ansible.module_utils.testing import patch_module_args  # noqa: E402

module = importlib.import_module("ansible_collections.nsbridge.network.plugins.modules." + sys.argv[1])
with patch_module_args(json.loads(sys.argv[2])):
    module.main()
