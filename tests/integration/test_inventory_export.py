# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory as AWX syncs it, and as AWX hands it back to a job, on every ansible-core line.

AWX runs ``ansible-inventory --list --export`` with its environment, reads the output with plain
``json.load`` and stores the values; a job later gets them from an executable inventory script
that prints that JSON. AWX 24.1+ refuses a sync whose values are ``{"__ansible_unsafe": ...}``
objects, so every value that cannot be a template must export as a plain JSON type; the few that
could be one (free text with a brace) stay wrapped, and in the job every value is its literal
text, never what the template would give.
"""

import json
import os
import stat
import sys

import yaml
from support.ansible_cli import ansible_env, run
from support.inventory import write_config
from support.lines import ANSIBLE_CORE_VERSION
from support.store import FILES, write_store

# What `awx-manage inventory_update` sets for ansible-inventory (awx/main/tasks/jobs.py).
AWX_ENV = {
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    "ANSIBLE_INVENTORY_EXPORT": "True",
    "ANSIBLE_VERBOSE_TO_STDERR": "True",
    "ANSIBLE_HOST_PATTERN_MISMATCH": "error",
}
UNSAFE = "__ansible_unsafe"
ARITHMETIC = "{{ 6007 * 7 }}"
EVALUATED = "42049"  # what the arithmetic gives if anything evaluates it
# Jinja's override header picks other delimiters: a template with no brace in it
HEADER = "#jinja2:variable_start_string:'[%', variable_end_string:'%]' [% 6007 * 7 %]"


def _could_be_template(text):
    """The rule the export must follow, written out here on its own: a brace or Jinja's header."""
    return "{" in text or "}" in text or "#jinja2:" in text


def _store(root, marker):
    """The sample store with free text that is a template in the vars of a segment, a profile and
    a system (nested, in a list) and in a description; returns (records dir, payload)."""
    payload = "{{ lookup('ansible.builtin.pipe', 'touch %s') }}" % marker
    files = dict(FILES)
    files["segments/dmz.yml"] += yaml.safe_dump({"vars": {"site_note": ARITHMETIC}, "description": payload})
    files["profiles/rocky9-web.yml"] = files["profiles/rocky9-web.yml"].replace(
        "vars: {role: web}", "vars: " + json.dumps({"role": "web", "motd": "welcome {{ inventory_hostname }}"})
    )
    files["systems/web01.yml"] += yaml.safe_dump(
        {
            "description": payload,
            "vars": {
                "owner": "ops",
                "payload": payload,
                "header": HEADER,
                "closing": "only } closes",
                "nested": {"deep": payload, "list": ["plain text", ARITHMETIC, 7, True, None]},
                "rack": "r01",
            },
            "bmc": {"type": "redfish", "address": "192.0.2.250", "username": "admin", "password_var": "web01_bmc"},
        }
    )
    return write_store(root, files), payload


def _export(tmp_path, config):
    """ansible-inventory --list --export, run as AWX runs it; the output file read as AWX reads it."""
    out = tmp_path / "export.json"
    env = ansible_env(dict(AWX_ENV, BAREMETAL_CACHE_DIR=str(tmp_path / "cache")), tmp=tmp_path)
    proc = run("ansible-inventory", ["--list", "--export", "-i", config, "--output", str(out)], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(str(out), encoding="utf-8") as handle:
        return json.load(handle)


def _walk(node, path=()):
    """(path, kind, value) of every leaf: kind "wrapped" for {"__ansible_unsafe": text}, else "plain"."""
    if isinstance(node, dict) and set(node) == {UNSAFE}:
        yield path, "wrapped", node[UNSAFE]
    elif isinstance(node, dict):
        for key, value in node.items():
            assert isinstance(key, str), (path, key)
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))
    else:
        assert node is None or isinstance(node, (str, int, float, bool)), (path, node)
        yield path, "plain", node


def _unwrapped(node):
    if isinstance(node, dict):
        return node[UNSAFE] if set(node) == {UNSAFE} else {k: _unwrapped(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_unwrapped(v) for v in node]
    return node


def test_export_is_plain_json_except_text_that_could_be_a_template(tmp_path):
    records, payload = _store(tmp_path / "records", tmp_path / "a-command-ran")
    exported = _export(tmp_path, write_config(tmp_path, records_dir="records"))

    hostvars = exported["_meta"]["hostvars"]
    leaves = [(("_meta", "hostvars", *path), kind, value) for path, kind, value in _walk(hostvars)]
    for group, node in exported.items():
        if group == "_meta":
            continue
        # host and group names: plain strings
        assert all(isinstance(name, str) for name in node.get("hosts", []) + node.get("children", [])), (group, node)
        leaves += [((group, "vars", *path), kind, value) for path, kind, value in _walk(node.get("vars", {}))]
    wrapped = {path: value for path, kind, value in leaves if kind == "wrapped"}
    plain = {path: value for path, kind, value in leaves if kind == "plain"}

    # only text that could be a template is wrapped, and all of it is
    assert all(_could_be_template(text) for text in wrapped.values()), wrapped
    assert not [(p, v) for p, v in plain.items() if isinstance(v, str) and _could_be_template(v)], plain
    web = ("_meta", "hostvars", "web01", "bm_vars")
    assert sorted(wrapped) == sorted(
        [
            (*web, "closing"),
            (*web, "header"),
            (*web, "motd"),
            (*web, "nested", "deep"),
            (*web, "nested", "list", 1),
            (*web, "payload"),
            (*web, "site_note"),
            ("_meta", "hostvars", "app01", "bm_vars", "motd"),  # app01 has the same profile
        ]
    ), sorted(wrapped)
    assert wrapped[(*web, "payload")] == payload and wrapped[(*web, "header")] == HEADER
    assert len(plain) > 100, len(plain)

    # everything AWX reads is the records' own value, of the JSON type it has in the records
    assert hostvars["web01"]["ansible_host"] == "192.0.2.50" and hostvars["app01"]["ansible_host"] == "198.51.100.50"
    assert hostvars["web01"]["bm_mac"] == "52:54:00:12:34:56" and hostvars["web01"]["bm_build_generation"] == 1
    assert hostvars["web01"]["bm_interfaces"][0] == {
        "name": "eth0",
        "mac": "52:54:00:12:34:56",
        "ip": "192.0.2.50",
        "ipv6": None,
        "primary": True,
        "segment": "dmz",
    }
    assert hostvars["web01"]["bm_bmc"]["address"] == "192.0.2.250" and hostvars["web01"]["bm_secure_boot"] is False
    assert hostvars["web01"]["bm_network"]["prefix"] == 24 and hostvars["web01"]["bm_network"]["dns"] == ["192.0.2.53"]
    assert hostvars["spare-52-54-00-00-00-01"]["bm_serial"] == "SN001"
    assert hostvars["prov-dmz"] == {"bm_provisioner_segments": ["dmz"]}
    assert exported["all"]["vars"] == {"bm_records_dir": records}
    assert sorted(exported["tier_web"]["hosts"]) == ["web01"] and "pool_spares-dmz" in exported["spares"]["children"]
    assert _unwrapped(hostvars["web01"]["bm_vars"]) == {
        "site_note": ARITHMETIC,
        "site": "dmz-lab",
        "role": "web",
        "motd": "welcome {{ inventory_hostname }}",
        "owner": "ops",
        "payload": payload,
        "header": HEADER,
        "closing": "only } closes",
        "nested": {"deep": payload, "list": ["plain text", ARITHMETIC, 7, True, None]},
        "rack": "r01",
    }


# What AWX gives a job: an executable script printing the stored JSON (all of it for --list,
# nothing more for --host, as _meta.hostvars holds every host's variables).
SCRIPT = """\
#!%(python)s
import json
import sys

if sys.argv[1:] == ["--list"]:
    with open(%(export)r, encoding="utf-8") as handle:
        print(json.dumps(json.load(handle)))
else:
    print("{}")
"""

PLAY = """\
- name: What a job reads of the records, for every system
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Print each value a play uses
      ansible.builtin.debug:
        msg: "{{ hostvars[item].bm_vars.payload }} {{ hostvars[item].bm_vars.header }} {{ hostvars[item].ansible_host }}"
      loop: "{{ groups['tier_web'] }}"
      register: printed
    - name: Pass them to a module
      ansible.builtin.copy:
        content: "{{ {'vars': hostvars[item].bm_vars, 'host': hostvars[item].ansible_host, 'mac': hostvars[item].bm_mac,
                      'gen': hostvars[item].bm_build_generation, 'joined': 'owner ' ~ hostvars[item].bm_vars.payload,
                      'printed': printed.results[0].msg} | to_json }}"
        dest: "%(out)s/{{ item }}.json"
        mode: "0600"
      loop: "{{ groups['tier_web'] }}"
    - name: Pass one as a module's own argument
      ansible.builtin.copy:
        content: "{{ hostvars['web01'].bm_vars.nested.deep }}"
        dest: "%(out)s/deep.txt"
        mode: "0600"
"""


def test_a_job_reads_the_exported_values_as_their_literal_text(tmp_path):
    marker = tmp_path / "a-command-ran"
    _records, payload = _store(tmp_path / "records", marker)
    config = write_config(tmp_path, records_dir="records")
    exported = _export(tmp_path, config)
    export_file = tmp_path / "stored.json"
    export_file.write_text(json.dumps(exported))  # what AWX keeps: the values json.load gave
    script = tmp_path / "awx_inventory.py"
    script.write_text(SCRIPT % {"python": sys.executable, "export": str(export_file)})
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    book = tmp_path / "job.yml"

    env = ansible_env(
        {"ANSIBLE_INVENTORY_UNPARSED_FAILED": "True", "BAREMETAL_CACHE_DIR": str(tmp_path / "cache")}, tmp=tmp_path
    )
    # the job through AWX's script, and, to compare, straight through the plugin
    for source in (str(script), config):
        out = tmp_path / ("out-" + os.path.basename(source))
        out.mkdir()
        book.write_text(PLAY % {"out": str(out)})
        proc = run("ansible-playbook", ["-i", source, str(book)], env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert not marker.exists(), "an exported value ran a command on ansible-core %s" % ANSIBLE_CORE_VERSION
        seen = json.loads((out / "web01.json").read_text())
        literal = "%s %s 192.0.2.50" % (payload, HEADER)
        assert seen["printed"] == literal, (source, seen["printed"])
        assert seen["host"] == "192.0.2.50" and seen["mac"] == "52:54:00:12:34:56" and seen["gen"] == 1
        assert seen["joined"] == "owner " + payload
        assert seen["vars"]["payload"] == payload and seen["vars"]["header"] == HEADER
        assert seen["vars"]["motd"] == "welcome {{ inventory_hostname }}" and seen["vars"]["site_note"] == ARITHMETIC
        assert seen["vars"]["nested"] == {"deep": payload, "list": ["plain text", ARITHMETIC, 7, True, None]}
        assert (out / "deep.txt").read_text() == payload
        assert literal in proc.stdout and EVALUATED not in proc.stdout + json.dumps(seen), source


def test_lean_export_has_the_full_exports_hosts_and_groups_less_the_dropped_variables(tmp_path):
    from ansible_collections.baremetal.provision.plugins.module_utils._views.inventory import (
        LEAN_SPARE_VARS,
        LEAN_VARS,
    )

    _store(tmp_path / "records", tmp_path / "a-command-ran")
    full = _export(tmp_path, write_config(tmp_path, name="full.baremetal.yml", records_dir="records"))
    lean = _export(tmp_path, write_config(tmp_path, name="lean.baremetal.yml", records_dir="records", host_vars="lean"))

    # every group, with the same hosts, children and group variables (all: bm_records_dir)
    assert {k: v for k, v in lean.items() if k != "_meta"} == {k: v for k, v in full.items() if k != "_meta"}
    full_vars, lean_vars = full["_meta"]["hostvars"], lean["_meta"]["hostvars"]
    assert sorted(lean_vars) == sorted(full_vars)
    dropped = set()
    for host, whole in full_vars.items():
        keep = LEAN_SPARE_VARS if whole.get("bm_state") == "spare" else LEAN_VARS
        assert lean_vars[host] == {k: v for k, v in whole.items() if k in keep}, host
        dropped |= set(whole) - keep
    assert {"bm_vars", "bm_interfaces", "bm_network", "bm_mac", "bm_bmc"} <= dropped
    assert lean_vars["web01"] == {
        "ansible_host": "192.0.2.50",
        "bm_name": "web01",
        "bm_provisioner": "prov-dmz",
        "bm_segment": "dmz",
        "bm_state": "active",
        "bm_tier": "web",
    }
    # the free text that could be a template lived in bm_vars: the lean export is plain JSON throughout
    assert all(kind == "plain" for _path, kind, _value in _walk(lean))
    assert len(json.dumps(lean)) < len(json.dumps(full))
