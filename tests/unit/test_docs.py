"""Every module, role and filter documents itself: ansible-doc renders each one without error."""

import glob
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULES = sorted(os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins/modules/*.py")))
ROLES = sorted(os.path.basename(p) for p in glob.glob(os.path.join(ROOT, "roles/*")))
# a file with one filter documents it inside; a file with several, in a NAME.yml beside it per filter
FILTERS = sorted([os.path.basename(p)[:-3] for p in glob.glob(os.path.join(ROOT, "plugins/filter/*.py"))
                  if "DOCUMENTATION" in open(p).read()]
                 + [os.path.basename(p)[:-4] for p in glob.glob(os.path.join(ROOT, "plugins/filter/*.yml"))])


def ansible_doc(*args):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run([os.path.join(ROOT, ".venv/bin/ansible-doc")] + list(args), capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=120, check=False)


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


def test_the_backend_option_is_documented_from_the_registry():
    """The firewall fragment is plain text (ansible-test reads fragments without running them), so
    this keeps it the registry's: every backend, its summary, the choices."""
    import json
    import yaml
    from ansible_collections.nsbridge.network.plugins.doc_fragments.common import ModuleDocFragment
    from ansible_collections.nsbridge.network.plugins.module_utils.calls import catalog
    from ansible_collections.nsbridge.network.plugins.module_utils.firewall import registry as fw_registry
    backend = yaml.safe_load(ModuleDocFragment.FIREWALL)["options"]["backend"]
    assert backend["description"] == fw_registry.option_doc(), (
        "update plugins/doc_fragments/common.py FIREWALL from fw_registry.option_doc():\n"
        + "\n".join("      - " + json.dumps(line) for line in fw_registry.option_doc()))
    assert backend["choices"] == fw_registry.choices()
    spec = catalog.entry("port_publish")[0]["argument_spec"]["backend"]
    assert spec["choices"] == fw_registry.choices() and spec["default"] == fw_registry.AUTO
