"""Every module, role and filter documents itself: ansible-doc renders each one without error."""

import glob
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins/modules/*.py")))
ROLES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "roles/*")))
FILTERS = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins/filter/*.py")))


def ansible_doc(*args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([os.path.join(ROOT, ".venv/bin/ansible-doc")] + list(args), capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120)


@pytest.mark.parametrize("kind,name", [("module", m) for m in MODULES] + [("role", r) for r in ROLES]
                         + [("filter", f) for f in FILTERS])
def test_ansible_doc_renders(kind, name):
    proc = ansible_doc("-t", kind, "nsbridge.network." + name)
    assert proc.returncode == 0 and "ERROR" not in proc.stderr, proc.stderr
    assert "nsbridge.network." + name in proc.stdout


def test_every_module_is_listed():
    assert len(MODULES) >= 9
    listing = ansible_doc("-l", "nsbridge.network").stdout
    for module in MODULES:
        assert "nsbridge.network." + module in listing
