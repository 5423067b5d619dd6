# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The records inventory plugin with host_vars=lean: the same hosts and groups as full, lean
variables, and a cache of its own that never stands for the full view's (nor the full for it)."""

import json
import os

import pytest
from support.inventory import group_hosts, host_vars, plugin_parse, write_config
from support.store import write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records.cache_files import read_cached, write_cached
from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import store_fingerprint
from ansible_collections.baremetal.provision.plugins.module_utils._views import cache as _view_cache
from ansible_collections.baremetal.provision.plugins.module_utils._views import inventory as _inventory_view


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    from ansible_collections.baremetal.provision.plugins.inventory import records

    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(records, "_MEMO", {})
    return records


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "records")


def _header(path):
    with open(path, "rb") as handle:
        return json.loads(handle.readline())


def _counting(monkeypatch, plugin_module):
    calls = []
    real = _inventory_view.build_view
    monkeypatch.setattr(plugin_module, "build_view", lambda store_obj: calls.append(1) or real(store_obj))
    return calls


def test_lean_hosts_and_groups_equal_full_with_lean_variables(tmp_path, store, plugin_module):
    full = plugin_parse(write_config(tmp_path, name="full.baremetal.yml", records_dir="records"))
    lean = plugin_parse(write_config(tmp_path, name="lean.baremetal.yml", records_dir="records", host_vars="lean"))
    assert sorted(lean.hosts) == sorted(full.hosts)
    assert sorted(lean.groups) == sorted(full.groups)
    for group in full.groups:
        assert group_hosts(lean, group) == group_hosts(full, group), group
        assert sorted(g.name for g in lean.groups[group].child_groups) == sorted(
            g.name for g in full.groups[group].child_groups
        )
    for host in full.hosts:
        whole = host_vars(full, host)
        keep = _inventory_view.LEAN_SPARE_VARS if whole.get("bm_state") == "spare" else _inventory_view.LEAN_VARS
        assert host_vars(lean, host) == {k: v for k, v in whole.items() if k in keep}, host
    assert "bm_vars" in host_vars(full, "web01") and "bm_vars" not in host_vars(lean, "web01")
    assert lean.groups["all"].vars["bm_records_dir"] == full.groups["all"].vars["bm_records_dir"]


def test_full_and_lean_cache_files_and_fingerprints_are_apart(tmp_path, store, plugin_module, monkeypatch):
    calls = _counting(monkeypatch, plugin_module)
    full_config = write_config(tmp_path, name="full.baremetal.yml", records_dir="records")
    lean_config = write_config(tmp_path, name="lean.baremetal.yml", records_dir="records", host_vars="lean")
    plugin_parse(full_config)
    assert len(calls) == 1
    full_path = _view_cache.inventory_path(store)
    lean_path = plugin_module.lean_inventory_path(store)
    assert lean_path != full_path and os.path.dirname(lean_path) == os.path.dirname(full_path)
    # the lean view is made from the full view the cache folder holds: no record is read again
    data = plugin_parse(lean_config)
    assert len(calls) == 1 and "bm_vars" not in host_vars(data, "web01")
    full_fp = store_fingerprint(store, "error")
    lean_fp = store_fingerprint(store, "error" + plugin_module.LEAN_FINGERPRINT)
    assert _header(full_path)["fingerprint"] == full_fp and _header(lean_path)["fingerprint"] == lean_fp
    assert full_fp != lean_fp
    assert _inventory_view.view_host_vars(read_cached(full_path, full_fp)) == "full"  # left as it was
    assert _inventory_view.view_host_vars(read_cached(lean_path, lean_fp)) == "lean"
    # the full view is what the record modules leave behind under INVENTORY_FINGERPRINT_EXTRA
    assert _view_cache.inventory_view(store, store_fingerprint(store, _view_cache.INVENTORY_FINGERPRINT_EXTRA))
    # each form from its own file, in a new process (no memo)
    plugin_module._MEMO.clear()
    assert "bm_vars" in host_vars(plugin_parse(full_config), "web01")
    assert "bm_vars" not in host_vars(plugin_parse(lean_config), "web01")
    assert len(calls) == 1


def test_a_view_of_the_other_form_under_the_right_fingerprint_is_not_used(tmp_path, store, plugin_module, monkeypatch):
    calls = _counting(monkeypatch, plugin_module)
    full_config = write_config(tmp_path, name="full.baremetal.yml", records_dir="records")
    lean_config = write_config(tmp_path, name="lean.baremetal.yml", records_dir="records", host_vars="lean")
    full_fp = store_fingerprint(store, "error")
    lean_fp = store_fingerprint(store, "error" + plugin_module.LEAN_FINGERPRINT)
    whole = _inventory_view.build_view(plugin_module.load_snapshot(store))
    # a lean view where the full one belongs: the full inventory is built, with every variable
    write_cached(_view_cache.inventory_path(store), full_fp, _inventory_view.lean_view(whole))
    assert "bm_vars" in host_vars(plugin_parse(full_config), "web01") and len(calls) == 1
    # a full view where the lean one belongs: the lean inventory still holds lean variables only
    plugin_module._MEMO.clear()
    write_cached(plugin_module.lean_inventory_path(store), lean_fp, whole)
    assert "bm_vars" not in host_vars(plugin_parse(lean_config), "web01")


def test_lean_follows_every_edit(tmp_path, store, plugin_module, monkeypatch):
    calls = _counting(monkeypatch, plugin_module)
    lean_config = write_config(tmp_path, name="lean.baremetal.yml", records_dir="records", host_vars="lean")
    assert "web01" in group_hosts(plugin_parse(lean_config), "model_r650")
    assert len(calls) == 1 and os.path.exists(plugin_module.lean_inventory_path(store))
    plugin_parse(lean_config)
    assert len(calls) == 1  # the memo
    path = os.path.join(store, "systems", "web01.yml")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    with open(path + ".new", "w", encoding="utf-8") as handle:  # a new inode, as every writer gives
        handle.write(text.replace("hardware_model: r650", "hardware_model: r640"))
    os.replace(path + ".new", path)
    assert "web01" in group_hosts(plugin_parse(lean_config), "model_r640") and len(calls) == 2
    plugin_module._MEMO.clear()
    data = plugin_parse(lean_config)
    assert "web01" in group_hosts(data, "model_r640") and "bm_hardware_model" not in host_vars(data, "web01")
    assert len(calls) == 2  # from the lean file


def test_host_vars_accepts_only_full_or_lean(tmp_path, store, plugin_module):
    from ansible.errors import AnsibleError

    with pytest.raises(AnsibleError, match="host_vars"):
        plugin_parse(write_config(tmp_path, name="bad.baremetal.yml", records_dir="records", host_vars="some"))
