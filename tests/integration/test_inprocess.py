# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A record module or provisioner_sync run on the controller runs in Ansible's worker process (its
action plugin); anywhere else it runs as a module. Both ways give the same result, refusal and files.

A task environment is one of the things that make the action plugin hand the task to the module,
so the same task with and without one compares the two paths on this machine.
"""

import json

import pytest
from support.ansible_cli import ansible_env, run
from support.lines import LINE
from support.store import tree_digest, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import netboot as N
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import scope as S

PLAYBOOK = """\
- name: A record module both ways
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: In process
      baremetal.provision.%(module)s: %(here)s
      register: here
      ignore_errors: true
    - name: As a module
      baremetal.provision.%(module)s: %(there)s
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
# Before ansible-core 2.19, a module's failure at -vvv carries the traceback of the exception being
# handled, whose file names say where the code ran (the AnsiballZ payload or the collection): both
# ways have it, with different paths. From 2.19 on, neither result has it.
TRACEBACK = ("exception",) if LINE < (2, 19) else ()


def _run_both(tmp_path, module, here_args, there_args, check):
    """Run the module's task both ways in one playbook: (here, there, ansible-playbook's output),
    each result without what only one way reports."""
    out = tmp_path / "results.json"
    book = tmp_path / "both.yml"
    book.write_text(
        PLAYBOOK
        % {
            "module": module,
            "here": json.dumps(here_args),
            "there": json.dumps(there_args),
            "out": json.dumps(str(out)),
        }
    )
    proc = run(
        "ansible-playbook",
        ["-vvv", "-i", "localhost,", str(book), *(["--check"] if check else []), "--diff"],
        env=ansible_env({"BAREMETAL_CACHE_DIR": str(tmp_path / "cache")}, tmp=tmp_path),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _one_payload(proc.stdout, module)
    results = json.loads(out.read_text())
    for side in ("here", "there"):
        if results[side].get("failed") and TRACEBACK and "problems" in results[side]:  # a refusal raised by the store
            assert "Traceback" in results[side]["exception"] or "line " in results[side]["exception"], side
    here, there = (
        {k: v for k, v in results[side].items() if k not in UNSHARED + TRACEBACK} for side in ("here", "there")
    )
    return here, there, proc.stdout


def _both(tmp_path, args, check=True, module="system"):
    records = write_store(tmp_path / "records")
    before = tree_digest(records)
    args = dict(args, records_dir=records)
    here, there, _stdout = _run_both(tmp_path, module, args, args, check)
    return here, there, before, tree_digest(records)


def _one_payload(stdout, module):
    """Each task took its own way: one module payload went over (the module's), none for the in-process run."""
    payloads = [
        line
        for line in stdout.splitlines()
        if line.lstrip().startswith("<localhost> PUT") and "AnsiballZ_%s.py" % module in line
    ]
    assert len(payloads) == 1, payloads


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
    here, there, _before, _after = _both(
        tmp_path, {"name": "web01", "mac": "52:54:00:aa:bb:01", "from_pool": "spares-dmz"}
    )
    assert here["failed"] and here["msg"] == there["msg"] and "mutually exclusive" in here["msg"]
    here, there, _before, _after = _both(tmp_path, {"name": "web01", "colour": "blue"})
    assert here["failed"] and here["msg"] == there["msg"] and "colour" in here["msg"]


@pytest.mark.parametrize(
    "module, args",
    [
        (
            "pool",
            {"name": "spares-dmz", "add": [{"mac": "52:54:00:aa:bb:09", "hardware_model": "r650", "serial": "SN9"}]},
        ),
        ("segment", {"name": "dmz", "dns": ["192.0.2.54"]}),
        ("tier", {"name": "web", "vars": {"site": "elsewhere"}}),
        ("profile", {"name": "rocky9-web", "description": "changed", "template_content": "# changed by the test\n"}),
        ("distro", {"name": "rocky9", "description": "changed"}),
        ("system_info", {"name": "web01"}),
        ("records_info", {}),
    ],
)
def test_every_record_module_gives_the_same_result_both_ways(tmp_path, module, args):
    here, there, before, after = _both(tmp_path, args, module=module)
    assert here == there and before == after
    assert here["changed"] == (not module.endswith("_info"))
    if module.endswith("_info"):
        assert here.get("systems", [{}])[0].get("name", "web01") == "web01" and here.get("valid", True)
    else:
        assert here["diff"] and here["files"]


def test_a_real_change_in_process_writes_what_the_module_would(tmp_path):
    # applied twice: the first (in process) changes, the second (module) finds nothing to do
    here, there, before, after = _both(tmp_path, {"name": "web01", "mac": "52:54:00:aa:bb:02"}, check=False)
    assert here["changed"] and not there["changed"] and before != after
    assert here["files"] == ["systems/web01.yml"] and there["system"] == here["system"]


# provisioner_sync: the provisioner is this controller. Each way renders into its own folders,
# with the same HMAC key in both state folders (the install configs carry tokens made with it).
def _sync_args(out, **change):
    args = {
        "provisioner": "prov-dmz",
        "dhcp": {"config": str(out / "dhcp" / "dhcpd.conf")},
        "tftp": {"root": str(out / "tftp"), "state_dir": str(out / "state")},
        "web": {
            "root": str(out / "www"),
            "conf_dir": str(out / "nginx"),
            "state_dir": str(out / "state"),
            "secrets": {"root_password_hash": "$6$saltsalt$notarealhash"},
        },
    }
    args.update(change)
    (out / "state").mkdir(parents=True)
    (out / "state" / "secret").write_text("00" * 32 + "\n")
    return args


def _sync_both(tmp_path, check, **change):
    records = write_store(tmp_path / "records")
    here_dir, there_dir = tmp_path / "here", tmp_path / "there"
    here_args = dict(_sync_args(here_dir, **change), records_dir=records)
    there_args = dict(_sync_args(there_dir, **change), records_dir=records)
    here, there, stdout = _run_both(tmp_path, "provisioner_sync", here_args, there_args, check)
    return here, there, tree_digest(here_dir), tree_digest(there_dir), stdout


def test_a_render_in_process_writes_what_the_module_writes(tmp_path):
    here, there, here_tree, there_tree, stdout = _sync_both(tmp_path, check=False)
    assert here["changed"] and here["components"]["tftp"]["written"]
    # the DHCP diff names each way's own config path: compare the rest
    assert [d for d in here["diff"] if "before_header" not in d] == [
        d for d in there["diff"] if "before_header" not in d
    ]
    assert {k: v for k, v in here.items() if k != "diff"} == {k: v for k, v in there.items() if k != "diff"}
    # the record of the whole sync names each way's own trees (its options digest): compare the rest
    synced = "state/" + S.SYNCED
    assert synced in here_tree and synced in there_tree
    assert dict(here_tree, **{synced: None}) == dict(there_tree, **{synced: None}) and "www/ks/web01.cfg" in here_tree
    here_synced, there_synced = (N.read_json(str(tmp_path / way / "state" / S.SYNCED), {}) for way in ("here", "there"))
    assert sorted(here_synced) == sorted(there_synced) == ["tftp", "web"]
    assert {c: e["view"] for c, e in here_synced.items()} == {c: e["view"] for c, e in there_synced.items()}
    assert "notarealhash" not in json.dumps(here) and "notarealhash" not in stdout


def test_a_render_in_check_mode_is_the_same_both_ways_and_writes_nothing(tmp_path):
    here, there, here_tree, there_tree, _stdout = _sync_both(tmp_path, check=True)
    assert here["changed"] and {k: v for k, v in here.items() if k != "diff"} == {
        k: v for k, v in there.items() if k != "diff"
    }
    assert set(here_tree) == set(there_tree) == {"state/secret"}


def test_a_render_refusal_is_the_same_both_ways(tmp_path):
    # a bad value for the daemon (ISC dhcpd takes its extra statements as text)
    here, there, here_tree, there_tree, _stdout = _sync_both(
        tmp_path, check=False, dhcp={"config": "/nonexistent/dhcpd.conf", "extra": {"a": 1}}
    )
    assert here["failed"] and here == there and here["msg"].startswith("dhcp: dhcp.extra: must be")
    assert set(here_tree) == set(there_tree) == {"state/secret"}
    # and an argument the module does not take
    here, there, _here_tree, _there_tree, _stdout = _sync_both(
        tmp_path / "again", check=False, tftp={"root": "/x", "colour": "blue"}
    )
    assert here["failed"] and here["msg"] == there["msg"] and "colour" in here["msg"]
