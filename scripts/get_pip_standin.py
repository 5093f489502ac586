"""A stand-in for get-pip.py, which ansible-test downloads from a host that may not be reachable.

ansible-test runs it (as a module, with pip's install options and the packages it wants, e.g.
``pip==24.2``) in each empty virtual environment it makes: pip comes from the interpreter's own
ensurepip, then that pip installs what was asked, from the package index like any other install.
"""

import ensurepip
import os
import runpy
import ssl
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]  # get-pip's own flags
# ansible-test runs this with a bare environment, and the pip some Pythons bundle (3.12's 23.2.1) then
# trusts only its own certificate bundle, not the machine's: point it at the machine's
cafile = ssl.get_default_verify_paths().cafile
if cafile and os.path.exists(cafile):
    os.environ.setdefault("REQUESTS_CA_BUNDLE", cafile)
ensurepip.bootstrap()
sys.argv = ["pip", "install"] + args
runpy.run_module("pip", run_name="__main__", alter_sys=True)
