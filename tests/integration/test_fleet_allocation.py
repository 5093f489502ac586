"""The fleet's allocation file, kept on the controller by the fleet_allocation action (the fleet role's
task): the same bytes and mode ansible.builtin.copy wrote before it, check and diff mode that tell the
truth, a re-run that writes nothing, and a clear error for a directory that is not there.

Through ansible-playbook on localhost; no kernel object is made (the file is the whole sandbox).
"""

import json
import os
import stat
import subprocess
import textwrap

from conftest import ROOT

ALLOCATION = json.dumps({"version": 1, "hosts": {"h1": {"subnet": "10.200.1.0/24"}, "h2": {"subnet": "10.200.2.0/24"}}},
                        indent=2, sort_keys=True) + "\n"


def play(tmp_path, dest, *flags, allocation=ALLOCATION):
    book = tmp_path / "play.yml"
    book.write_text(textwrap.dedent("""\
        - hosts: localhost
          gather_facts: false
          tasks:
            - name: The allocation
              nsbridge.network.fleet_allocation:
                allocation: "{{ allocation }}"
                dest: "{{ dest }}"
              register: kept
            - name: Say what it did
              ansible.builtin.debug:
                msg: "KEPT {{ kept | to_json }}"
        """))
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"allocation": allocation, "dest": dest}))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible-playbook"), str(book), "-e", "@" + str(extra)]
                          + list(flags), capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=False)
    line = next((l for l in proc.stdout.splitlines() if '"msg": "KEPT ' in l), None)
    kept = json.loads(json.loads("{" + line.strip() + "}")["msg"][len("KEPT "):]) if line else None
    return proc, kept


def test_written_as_copy_wrote_it_and_check_and_diff_tell_the_truth(tmp_path):
    dest = str(tmp_path / "nsbridge-fleet-fleet.json")
    proc, kept = play(tmp_path, dest, "--check", "--diff")
    assert kept and kept["changed"] is True, proc.stdout[-2000:]
    assert not os.path.exists(dest), "check mode wrote nothing"
    assert '"10.200.2.0/24"' in proc.stdout, "the diff shows the allocation that would be written"

    proc, kept = play(tmp_path, dest)
    assert kept and kept["changed"] is True, proc.stdout[-2000:]
    with open(dest, "rb") as f:
        assert f.read() == ALLOCATION.encode()
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o644
    # the bytes ansible.builtin.copy (the role's task before) writes from the same content
    by_copy = str(tmp_path / "by-copy.json")
    subprocess.run([os.path.join(ROOT, ".venv", "bin", "ansible"), "localhost", "-m", "ansible.builtin.copy",
                    "-a", json.dumps({"content": ALLOCATION, "dest": by_copy, "mode": "0644"})],
                   capture_output=True, text=True, timeout=300, cwd=ROOT, check=True,
                   env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg")))
    with open(dest, "rb") as ours, open(by_copy, "rb") as theirs:
        assert ours.read() == theirs.read()

    inode = os.stat(dest).st_ino
    proc, kept = play(tmp_path, dest, "--check", "--diff")
    assert kept and kept["changed"] is False and "diff" not in kept, proc.stdout[-2000:]
    proc, kept = play(tmp_path, dest)
    assert kept and kept["changed"] is False, proc.stdout[-2000:]
    assert os.stat(dest).st_ino == inode, "a file that would not change is not written"

    # a host joins: only the new text, and no temporary file left beside it
    joined = ALLOCATION.replace('"h2"', '"h2": {"subnet": "10.200.2.0/24"}, "h3"')
    proc, kept = play(tmp_path, dest, "--diff", allocation=joined)
    assert kept and kept["changed"] is True and "10.200.2.0/24" in proc.stdout, proc.stdout[-2000:]
    with open(dest, encoding="utf-8") as f:
        assert f.read() == joined
    assert sorted(os.listdir(tmp_path)) == ["by-copy.json", "extra.json", "nsbridge-fleet-fleet.json", "play.yml"]


def test_a_missing_directory_is_an_error_naming_the_variable(tmp_path):
    dest = str(tmp_path / "nowhere" / "fleet.json")
    proc, kept = play(tmp_path, dest)
    assert proc.returncode != 0 and kept is None
    assert "nsbridge_fleet_allocation_file" in proc.stdout and "nowhere" in proc.stdout, proc.stdout[-2000:]
    assert not os.path.exists(os.path.dirname(dest))
