"""The collection as its users get it: the tarball `ansible-galaxy collection build` makes,
installed into an empty collections path and used from a project outside this checkout.

The tarball holds what a user needs and nothing of this repository's development (an
allow-list); a playbook of the user's own combines the roles by FQCN with a role of its own,
and the network it builds answers by traffic.
"""

import fnmatch
import os
import subprocess
import tarfile
import textwrap

from conftest import ROOT

VENV = os.path.join(ROOT, ".venv", "bin")
# what a user of the collection needs; every file of the tarball matches one of these
ALLOWED = ["MANIFEST.json", "FILES.json", "README.md", "LICENSE", "CHANGELOG.rst", "bindep.txt", "requirements.txt",
           "changelogs", "changelogs/changelog.yaml", "changelogs/config.yaml", "changelogs/fragments",
           "changelogs/fragments/*.yml", "meta", "meta/runtime.yml", "meta/execution-environment.yml",
           "plugins", "plugins/*", "plugins/*/*.py", "plugins/filter/*.yml", "roles", "roles/*", "roles/*/README.md",
           "roles/*/*",
           "roles/*/*/main.yml", "roles/*/meta/argument_specs.yml", "roles/*/tasks/*.yml",
           "playbooks", "playbooks/*.yml", "playbooks/tasks", "playbooks/tasks/*.yml", "playbooks/labs",
           "playbooks/labs/*.yml"]
REQUIRED = ["MANIFEST.json", "LICENSE", "README.md", "CHANGELOG.rst", "meta/runtime.yml",
            "meta/execution-environment.yml", "bindep.txt", "requirements.txt", "plugins/modules/port_publish.py",
            "roles/containers/README.md", "playbooks/site.yml"]


def build(workdir):
    subprocess.run([os.path.join(VENV, "ansible-galaxy"), "collection", "build", "--output-path", workdir, ROOT],
                   capture_output=True, text=True, check=True, cwd=ROOT)
    return next(os.path.join(workdir, f) for f in os.listdir(workdir) if f.endswith(".tar.gz"))


def test_the_tarball_holds_what_a_user_needs_and_nothing_else(tmp_path):
    tarball = build(str(tmp_path))
    with tarfile.open(tarball) as tar:
        names = sorted(m.name.rstrip("/") for m in tar.getmembers())
    strays = [n for n in names if not any(fnmatch.fnmatchcase(n, pattern) for pattern in ALLOWED)]
    assert strays == [], "files a user does not need: %s" % strays
    assert [r for r in REQUIRED if r not in names] == []
    assert os.path.getsize(tarball) < 400 * 1024, "the tarball grew to %d KB" % (os.path.getsize(tarball) // 1024)


def test_installed_from_the_tarball_and_used_by_fqcn_beside_a_role_of_the_users(sandbox, tmp_path):
    p = sandbox.prefix
    tarball = build(str(tmp_path / "dist"))
    project = tmp_path / "project"
    collections = project / "collections"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}  # nothing of this checkout's
    subprocess.run([os.path.join(VENV, "ansible-galaxy"), "collection", "install", "--force", "-p", str(collections), tarball],
                   capture_output=True, text=True, check=True, cwd=str(tmp_path), env=env)
    assert (collections / "ansible_collections" / "nsbridge" / "network" / "MANIFEST.json").exists()
    mark = tmp_path / "user-role-ran"
    (project / "roles" / "site_notes" / "tasks").mkdir(parents=True)
    (project / "roles" / "site_notes" / "tasks" / "main.yml").write_text(textwrap.dedent("""\
        ---
        - name: The user's own role, after nsbridge's
          ansible.builtin.copy:
            dest: "{{ notes_file }}"
            content: "{{ nsbridge_containers | map(attribute='name') | join(',') }}\\n"
            mode: "0644"
        """))
    (project / "ansible.cfg").write_text(textwrap.dedent("""\
        [defaults]
        collections_path = ./collections
        roles_path = ./roles
        inventory = ./hosts.yml
        """))
    (project / "hosts.yml").write_text(textwrap.dedent("""\
        all:
          hosts:
            localhost: {ansible_connection: local, ansible_python_interpreter: %s}
        """ % os.path.join(VENV, "python")))
    (project / "site.yml").write_text(textwrap.dedent("""\
        ---
        - name: A lab built with nsbridge, as a user writes it
          hosts: all
          gather_facts: false
          vars:
            nsbridge_networks: [{name: lab, bridge: %(p)sbr, subnet: 10.66.0.0/24}]
            nsbridge_containers:
              - {name: %(p)sweb, network: lab, ip: 10.66.0.10, publish: ["8090:8000"],
                 command: "python3 -m http.server 8000 --bind 0.0.0.0"}
            notes_file: %(mark)s
          roles:
            - nsbridge.network.bridge_network
            - nsbridge.network.containers
            - site_notes
        """ % {"p": p, "mark": mark}))

    def play(*extra):
        # the sandbox's project, as every test's (tests/conftest.py); a user's play may name its own too
        cmd = ["nsenter", "--net=/run/netns/" + sandbox.host, os.path.join(VENV, "ansible-playbook"), "site.yml",
               "-e", "nsbridge_project=" + sandbox.project]
        return subprocess.run(cmd + list(extra), capture_output=True, text=True, timeout=300, cwd=str(project),
                              env=env, check=False)
    built = play()
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-2000:]
    assert str(collections) in play("--list-tasks", "-vvv").stdout, "the roles came from the installed tarball"
    assert mark.read_text() == p + "web\n"
    for _attempt in range(30):
        answer = sandbox.fetch(None, "10.66.0.1", 8090)
        if answer:
            break
        sandbox.sh(None, "sleep", "0.2")
    assert answer and answer.startswith("<!DOCTYPE"), "the published port of the user's container: %r" % answer
    down = play("-e", "nsbridge_state=absent")
    assert down.returncode == 0, down.stdout[-3000:]
    assert sorted(sandbox.namespaces()) == [sandbox.host]
