# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Record values are data, never templates, on every ansible-core line.

Every string field of every kind of record gets a template with a lookup that would run a
command and an arithmetic expression. The validator refuses it (naming the record and the
field) or takes it; what it takes must reach plays, constructed variables and groups, module
results (in process and as a module) and rendered install configs as the very text of the
record, and the command must never run.
"""

import json
import os

import yaml
from support.ansible_cli import ansible_env, run
from support.inventory import write_config
from support.lines import ANSIBLE_CORE_VERSION
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore

ARITHMETIC = "{{ 6007 * 7 }}"
EVALUATED = "42049"  # what the arithmetic gives if anything evaluates it

# every optional field that holds text, on every kind of record
FULL = dict(FILES)
FULL.update(
    {
        "segments/dmz.yml": FILES["segments/dmz.yml"] + "description: the DMZ\nvars: {site: dmz, ntp: [192.0.2.123]}\n",
        "tiers/web.yml": FILES["tiers/web.yml"] + "description: web tier\n",
        "distros/rocky9.yml": FILES["distros/rocky9.yml"] + "description: Rocky 9\nos_version: '9.4'\n",
        "profiles/rocky9-web.yml": FILES["profiles/rocky9-web.yml"] + "description: web profile\n",
        "systems/web01.yml": FILES["systems/web01.yml"]
        + (
            "description: first web server\n"
            "vars: {owner: ops, labels: [a, b], nested: {deep: x}}\n"
            "bmc: {type: redfish, address: 192.0.2.250, username: admin, password_var: web01_bmc_password}\n"
        ),
        "pools/spares-dmz.yml": FILES["pools/spares-dmz.yml"] + "description: spares\n",
        "templates/rocky9.ks.j2": "# {{ name }}\n{% for key, value in vars | dictsort %}{{ key }}={{ value }}\n{% endfor %}",
    }
)


def _leaves(node, path=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, (*path, index))
    elif isinstance(node, str):
        yield path


def _set(node, path, value):
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def _field(path):
    return "".join(("[%d]" % p) if isinstance(p, int) else ("." + p if i else p) for i, p in enumerate(path))


def _poisoned_store(root, marker):
    """Write FULL with the payload in every string field the validator takes; returns
    ({record file: [field, ...]} taken, {record file: [field, ...]} refused)."""
    payload = "%s {{ lookup('ansible.builtin.pipe', 'touch %s') }}" % (ARITHMETIC, marker)
    write_store(root, files=FULL)
    taken, refused = {}, {}
    for relpath, text in sorted(FULL.items()):
        if relpath.startswith("templates/"):
            continue
        data = yaml.safe_load(text)
        for path in _leaves(data):
            trial = yaml.safe_load(text)
            _set(trial, path, payload)
            write_store(root, files={relpath: yaml.safe_dump(trial)})
            problems = [str(p) for p in RecordStore.load(root).problems()]
            if problems:
                # refused, naming the record and the field (a mapping such as kernel_options by its name)
                assert any(p.startswith("%s: %s" % (relpath, path[0])) for p in problems), (relpath, path, problems)
                refused.setdefault(relpath, []).append(_field(path))
            else:
                _set(data, path, payload)
                taken.setdefault(relpath, []).append(_field(path))
        write_store(root, files={relpath: yaml.safe_dump(data)})
    # a template as a key of vars, at any depth: refused (keys are identifiers)
    with open(os.path.join(root, "systems/web01.yml"), encoding="utf-8") as handle:
        system = yaml.safe_load(handle)
    for where, key in (("vars", "vars key"), ("nested", "vars.nested key")):
        trial = yaml.safe_load(yaml.safe_dump(system))
        (trial["vars"] if where == "vars" else trial["vars"]["nested"])[payload] = "key"
        write_store(root, files={"systems/web01.yml": yaml.safe_dump(trial)})
        assert str(RecordStore.load(root).problems()[0]).startswith("systems/web01.yml: vars: " + key)
    write_store(root, files={"systems/web01.yml": yaml.safe_dump(system)})
    assert not RecordStore.load(root).problems()
    return taken, refused, payload


PLAYBOOK = """\
- name: Everything a play can read of the records
  hosts: web01
  gather_facts: false
  tasks:
    - name: Host variables, constructed variables and groups
      ansible.builtin.copy:
        content: "{{ {'hostvars': hostvars[inventory_hostname] | dict2items | selectattr('key', 'match', '^(bm_|copied)') | items2dict,
                      'groups': group_names, 'vars_text': bm_vars | string, 'msg': 'owner is ' ~ bm_vars.owner} | to_json }}"
        dest: %(out)s/hostvars.json
        mode: "0600"
      delegate_to: localhost

- name: Module results, both ways, and a render
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  module_defaults:
    group/baremetal.provision.records:
      records_dir: %(records)s
  tasks:
    - name: In process
      baremetal.provision.system_info: {name: web01}
      register: here
    - name: As a module
      baremetal.provision.system_info: {name: web01}
      environment: {BAREMETAL_TEST_PATH: module}
      register: there
    - name: A whole store
      baremetal.provision.records_info:
      register: store
    - name: An edit in check mode
      baremetal.provision.system:
        name: web01
        mac: "52:54:00:aa:bb:01"
      check_mode: true
      diff: true
      register: edit
    - name: Install configs rendered on the controller
      baremetal.provision.provisioner_sync:
        records_dir: %(records)s
        provisioner: prov-dmz
        web: {root: %(out)s/www, conf_dir: %(out)s/nginx, state_dir: %(out)s/state}
      register: render
    - name: What each gave, and what a task templating their values gives
      ansible.builtin.copy:
        content: "{{ {'here': here, 'there': there, 'store': store, 'edit': edit, 'render': render,
                      'templated': 'owner is ' ~ here.systems[0].vars.owner} | to_json }}"
        dest: %(out)s/results.json
        mode: "0600"
"""


def test_record_values_are_never_templates(tmp_path):
    marker = tmp_path / "a-command-ran"
    records = str(tmp_path / "records")
    taken, refused, payload = _poisoned_store(records, marker)
    # the probe is not vacuous: free text is taken in every kind that has it, and the rest refused
    kinds = {relpath.split("/")[0] for relpath in taken}
    assert kinds == {"segments", "tiers", "distros", "profiles", "systems", "pools"}, taken
    assert "vars.owner" in taken["systems/web01.yml"] and "bmc.address" in refused["systems/web01.yml"]

    out = tmp_path / "out"
    (out / "state").mkdir(parents=True)
    (out / "state" / "secret").write_text("00" * 32 + "\n")
    config = write_config(
        tmp_path,
        records_dir="records",
        compose={"copied_owner": "bm_vars.owner", "copied_all": "bm_vars"},
        keyed_groups=[{"key": "bm_vars.owner", "prefix": "owner"}],
    )
    book = tmp_path / "values.yml"
    book.write_text(PLAYBOOK % {"out": str(out), "records": records})
    proc = run(
        "ansible-playbook",
        ["-i", config, str(book)],
        env=ansible_env({"BAREMETAL_CACHE_DIR": str(tmp_path / "cache")}, tmp=tmp_path),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not marker.exists(), "a record value ran a command on ansible-core %s" % ANSIBLE_CORE_VERSION

    seen = json.loads((out / "hostvars.json").read_text())
    hostvars = seen["hostvars"]
    assert hostvars["bm_vars"]["owner"] == payload and hostvars["copied_owner"] == payload
    assert hostvars["copied_all"] == hostvars["bm_vars"] and hostvars["bm_vars"]["nested"]["deep"] == payload
    assert seen["msg"] == "owner is " + payload and payload in seen["vars_text"]
    assert any(group.startswith("owner_") for group in seen["groups"])
    results = json.loads((out / "results.json").read_text())
    assert results["here"]["systems"][0]["vars"]["owner"] == payload
    assert results["here"]["systems"] == results["there"]["systems"]
    assert results["templated"] == "owner is " + payload
    assert results["store"]["valid"] and results["edit"]["changed"]
    assert ARITHMETIC in json.dumps(results["edit"]["diff"])  # the record file's text, before and after
    rendered = (out / "www" / "ks" / "web01.cfg").read_text()
    assert "owner=%s\n" % payload in rendered and "site=%s\n" % payload in rendered, rendered
    everything = json.dumps([seen, results]) + rendered
    assert EVALUATED not in everything
