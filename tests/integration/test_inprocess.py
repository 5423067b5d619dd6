# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A record module run on the controller runs in Ansible's worker process (its action plugin);
anywhere else it runs as a module. Both ways give the same result, refusal and files.

A task environment is one of the things that make the action plugin hand the task to the module,
so the same task with and without one compares the two paths on this machine.
"""

import json

from support.ansible_cli import ansible_env, run
from support.store import tree_digest, write_store

PLAYBOOK = """\
- name: The system module both ways
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: In process
      baremetal.provision.system: %(args)s
      register: here
      ignore_errors: true
    - name: As a module
      baremetal.provision.system: %(args)s
      environment: {BAREMETAL_TEST_PATH: module}
      register: there
      ignore_errors: true
    - name: Write both results
      ansible.builtin.copy:
        content: "{{ {'here': here, 'there': there} | to_json }}"
        dest: %(out)s
        mode: "0600"
      check_mode: false
"""

# what only one of the two ways reports: the module's own invocation record
UNSHARED = ("invocation", "_ansible_no_log")


def _both(tmp_path, args, check=True):
    records = write_store(tmp_path / "records")
    out = tmp_path / "results.json"
    book = tmp_path / "both.yml"
    book.write_text(PLAYBOOK % {"args": json.dumps(dict(args, records_dir=records)), "out": json.dumps(str(out))})
    before = tree_digest(records)
    proc = run("ansible-playbook", ["-i", "localhost,", str(book), *(["--check"] if check else []), "--diff"],
               env=ansible_env({"BAREMETAL_CACHE_DIR": str(tmp_path / "cache")}, tmp=tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads(out.read_text())
    here, there = ({k: v for k, v in results[side].items() if k not in UNSHARED} for side in ("here", "there"))
    return here, there, before, tree_digest(records)


def test_a_change_in_check_mode_is_the_same_both_ways(tmp_path):
    here, there, before, after = _both(tmp_path, {"name": "web01", "mac": "52:54:00:aa:bb:01"})
    assert here["changed"] and here == there
    assert here["replaced"]["new_mac"] == "52:54:00:aa:bb:01" and here["diff"]
    assert before == after  # check mode wrote nothing, either way


def test_a_refusal_is_the_same_both_ways(tmp_path):
    # another system's MAC: refused by the store, naming the record and the field
    here, there, before, after = _both(tmp_path, {"name": "web01", "mac": "52:54:00:00:00:02"}, check=False)
    assert here["failed"] and here == there and "interfaces" in here["msg"]
    assert before == after


def test_bad_arguments_are_refused_the_same_both_ways(tmp_path):
    here, there, _before, _after = _both(tmp_path, {"name": "web01", "mac": "52:54:00:aa:bb:01", "from_pool": "spares-dmz"})
    assert here["failed"] and here["msg"] == there["msg"] and "mutually exclusive" in here["msg"]
    here, there, _before, _after = _both(tmp_path, {"name": "web01", "colour": "blue"})
    assert here["failed"] and here["msg"] == there["msg"] and "colour" in here["msg"]


def test_a_real_change_in_process_writes_what_the_module_would(tmp_path):
    # applied twice: the first (in process) changes, the second (module) finds nothing to do
    here, there, before, after = _both(tmp_path, {"name": "web01", "mac": "52:54:00:aa:bb:02"}, check=False)
    assert here["changed"] and not there["changed"] and before != after
    assert here["files"] == ["systems/web01.yml"] and there["system"] == here["system"]
