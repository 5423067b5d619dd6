# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory plugin baremetal.provision.records, loaded through Ansible's plugin loader."""

import os

import pytest
from ansible.errors import AnsibleParserError
from support.fleet import write_fleet
from support.inventory import group_hosts, host_vars, manager, plugin_parse, write_config
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils import _inventory_view


@pytest.fixture
def store(tmp_path):
    return write_store(tmp_path / "records")


@pytest.fixture
def config(tmp_path, store):
    return write_config(tmp_path, records_dir="records")


def test_verify_file_takes_only_baremetal_configs(tmp_path, store):
    from support.inventory import _install_finder

    _install_finder()
    from ansible.plugins.loader import inventory_loader

    plugin = inventory_loader.get("baremetal.provision.records")
    good = write_config(tmp_path, name="a.baremetal.yml", records_dir="records")
    also = write_config(tmp_path, name="b.baremetal.yaml", records_dir="records")
    other = write_config(tmp_path, name="hosts.yml", records_dir="records")
    assert plugin.verify_file(good) and plugin.verify_file(also)
    assert not plugin.verify_file(other)
    assert not plugin.verify_file(str(tmp_path / "missing.baremetal.yml"))


def test_groups(config):
    data = plugin_parse(config)
    assert group_hosts(data, "systems") == ["app01", "web01"]
    assert group_hosts(data, "tier_web") == ["web01"]
    assert group_hosts(data, "tier_app") == ["app01"]
    assert group_hosts(data, "segment_dmz") == ["web01"]
    assert group_hosts(data, "segment_app") == ["app01"]
    assert group_hosts(data, "profile_rocky9-web") == ["app01", "web01"]
    assert group_hosts(data, "model_r650") == ["web01"]
    assert group_hosts(data, "model_r640") == ["app01"]
    assert group_hosts(data, "provisioners") == ["prov-app", "prov-dmz"]
    assert group_hosts(data, "pool_spares-dmz") == [
        "spare-52-54-00-00-00-01", "spare-52-54-00-00-00-02", "spare-52-54-00-00-00-03",
    ]
    assert [g.name for g in data.groups["spares"].child_groups] == ["pool_spares-dmz"]
    # spares are never in a segment, tier or systems group: a play on segment_dmz does not reach them
    assert not any(h.startswith("spare-") for h in group_hosts(data, "segment_dmz") + group_hosts(data, "systems"))


def test_hostvars_are_the_merged_inherited_record(config):
    data = plugin_parse(config)
    web = host_vars(data, "web01")
    assert web["ansible_host"] == "192.0.2.50"
    assert web["bm_mac"] == "52:54:00:12:34:56"
    assert web["bm_ip"] == "192.0.2.50"
    assert web["bm_segment"] == "dmz" and web["bm_tier"] == "web" and web["bm_provisioner"] == "prov-dmz"
    assert web["bm_profile"] == "rocky9-web" and web["bm_distro"] == "rocky9" and web["bm_family"] == "redhat"
    assert web["bm_fqdn"] == "web01.dmz.example.test"
    assert web["bm_build_generation"] == 1
    assert web["bm_state"] == "active"
    assert web["bm_network"]["gateway"] == "192.0.2.1" and web["bm_network"]["prefix"] == 24
    # tier vars override nothing here; profile adds role
    assert web["bm_vars"] == {"site": "dmz-lab", "role": "web"}
    app = host_vars(data, "app01")
    # segment vars, overridden by the profile, then by the system (the nearest wins)
    assert app["bm_vars"] == {"ntp": "198.51.100.123", "site": "lab", "role": "app"}
    # segment console=tty0, profile console=ttyS0 inst.text, system removes console and adds quiet
    assert app["bm_kernel_options"] == "inst.text quiet"
    assert app["bm_build_generation"] == 3
    assert [(i["name"], i["mac"], i["segment"], i["primary"]) for i in app["bm_interfaces"]] == [
        ("eth0", "52:54:00:12:34:60", "app", True), ("eth1", "52:54:00:12:34:61", "dmz", False),
    ]


def test_profile_by_hardware_model(tmp_path):
    text = FILES["systems/web01.yml"].replace("r650", "r640")
    write_store(tmp_path / "records", extra={"systems/web01.yml": text})
    data = plugin_parse(write_config(tmp_path, records_dir="records"))
    assert host_vars(data, "web01")["bm_profile"] == "rocky9-legacy"
    assert group_hosts(data, "profile_rocky9-legacy") == ["web01"]


def test_provisioners_added_even_when_not_systems_and_keep_system_vars(tmp_path):
    segment = FILES["segments/app.yml"].replace("provisioner: prov-app", "provisioner: web01")
    write_store(tmp_path / "records", extra={"segments/app.yml": segment})
    data = plugin_parse(write_config(tmp_path, records_dir="records"))
    assert group_hosts(data, "provisioners") == ["prov-dmz", "web01"]
    assert host_vars(data, "prov-dmz") == {"bm_provisioner_segments": ["dmz"]}
    web = host_vars(data, "web01")
    assert web["bm_provisioner_segments"] == ["app"]
    assert web["bm_mac"] == "52:54:00:12:34:56"


def test_spare_hosts(config):
    spare = host_vars(plugin_parse(config), "spare-52-54-00-00-00-02")
    assert spare == {
        "bm_mac": "52:54:00:00:00:02", "bm_hardware_model": "r640", "bm_serial": "SN002",
        "bm_segment": "dmz", "bm_pool": "spares-dmz", "bm_state": "spare", "bm_bmc": None,
    }
    assert "ansible_host" not in spare


def test_records_dir_relative_to_config_and_from_environment(tmp_path, store, monkeypatch):
    sub = tmp_path / "inventories"
    sub.mkdir()
    data = plugin_parse(write_config(sub, records_dir="../records"))
    assert group_hosts(data, "systems") == ["app01", "web01"]
    monkeypatch.setenv("BAREMETAL_RECORDS", store)
    data = plugin_parse(write_config(sub, name="env.baremetal.yml"))
    assert group_hosts(data, "systems") == ["app01", "web01"]


def test_missing_records_dir_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("BAREMETAL_RECORDS", raising=False)
    with pytest.raises(AnsibleParserError, match=r"records_dir: not set"):
        plugin_parse(write_config(tmp_path))
    with pytest.raises(AnsibleParserError, match=r"records_dir: .*nowhere is not a directory"):
        plugin_parse(write_config(tmp_path, records_dir="nowhere"))


def test_invalid_store_fails_with_every_problem(tmp_path):
    bad_web = FILES["systems/web01.yml"].replace('"52:54:00:12:34:56"', '"52:54:00:12:34:60"')
    bad_tier = FILES["tiers/app.yml"].replace("segment: app", "segment: nowhere")
    write_store(tmp_path / "records", extra={"systems/web01.yml": bad_web, "tiers/app.yml": bad_tier})
    with pytest.raises(AnsibleParserError) as info:
        plugin_parse(write_config(tmp_path, records_dir="records"))
    message = str(info.value)
    assert "systems/web01.yml: interfaces[0].mac" in message
    assert "systems/app01.yml: interfaces[0].mac" in message
    assert "tiers/app.yml: segment" in message
    assert "4 problems" in message, message


def test_on_invalid_warn_keeps_valid_records(tmp_path, capsys):
    broken = "tier: web\ninterfaces: not-a-list\n"
    write_store(tmp_path / "records", extra={"systems/web02.yml": broken})
    with pytest.raises(AnsibleParserError, match=r"systems/web02.yml: interfaces"):
        plugin_parse(write_config(tmp_path, records_dir="records"))
    data = plugin_parse(write_config(tmp_path, name="warn.baremetal.yml", records_dir="records", on_invalid="warn"))
    assert group_hosts(data, "systems") == ["app01", "web01"]
    assert "systems/web02.yml: interfaces" in capsys.readouterr().err


def test_constructed_options(tmp_path, store):
    config = write_config(
        tmp_path, records_dir="records",
        compose={"ansible_user": "'admin-' ~ bm_tier", "boot_gen": "bm_build_generation + 1"},
        groups={"legacy_hw": "bm_hardware_model == 'r640'"},
        keyed_groups=[{"key": "bm_vars.role", "prefix": "role"}, {"key": "bm_family", "prefix": "os"}],
    )
    data = plugin_parse(config)
    assert host_vars(data, "web01")["ansible_user"] == "admin-web"
    assert host_vars(data, "app01")["boot_gen"] == 4
    # constructed options apply to every host, spares included
    assert group_hosts(data, "legacy_hw") == ["app01", "spare-52-54-00-00-00-02"]
    assert group_hosts(data, "role_app") == ["app01"]
    assert group_hosts(data, "role_web") == ["web01"]
    assert group_hosts(data, "os_redhat") == ["app01", "web01"]


def test_constructed_strict_reports_the_host(tmp_path, store):
    config = write_config(tmp_path, records_dir="records", strict=True, compose={"x": "bm_no_such_var.y"})
    with pytest.raises(Exception, match=r"Could not set x for host"):
        plugin_parse(config)
    lenient = write_config(tmp_path, name="l.baremetal.yml", records_dir="records", compose={"x": "bm_no_such_var.y"})
    assert "x" not in host_vars(plugin_parse(lenient), "web01")


def test_cache_is_used_while_the_store_is_unchanged(tmp_path, store, monkeypatch):
    config = write_config(
        tmp_path, records_dir="records", cache=True,
        cache_plugin="ansible.builtin.jsonfile", cache_connection=str(tmp_path / "cache"),
    )
    calls = []
    real = _inventory_view.build_view

    def counting(store_obj):
        calls.append(1)
        return real(store_obj)

    from ansible_collections.baremetal.provision.plugins.inventory import records as plugin_module

    monkeypatch.setattr(plugin_module, "build_view", counting)
    first = plugin_parse(config)
    assert len(calls) == 1
    second = plugin_parse(config)
    assert len(calls) == 1, "an unchanged store must come from the cache"
    assert host_vars(second, "app01") == host_vars(first, "app01")
    assert os.listdir(str(tmp_path / "cache"))
    # an edit (a module run, a git pull) is seen at once
    path = os.path.join(store, "systems", "web01.yml")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("vars: {rack: r07}\n")
    third = plugin_parse(config)
    assert len(calls) == 2
    assert host_vars(third, "web01")["bm_vars"]["rack"] == "r07"
    # a new file is seen too
    write_store(store, files={"systems/web09.yml": FILES["systems/web01.yml"].replace("12:34:56", "12:34:59").replace(".50", ".59")})
    assert "web09" in plugin_parse(config).hosts
    assert len(calls) == 3


def test_own_view_cache_and_process_memo_follow_every_edit(tmp_path, store, monkeypatch):
    from ansible_collections.baremetal.provision.plugins.inventory import records as plugin_module
    from ansible_collections.baremetal.provision.plugins.module_utils import _view_cache

    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "own-cache"))
    config = write_config(tmp_path, records_dir="records")
    calls = []
    real = _inventory_view.build_view
    monkeypatch.setattr(plugin_module, "build_view", lambda store_obj: calls.append(1) or real(store_obj))
    monkeypatch.setattr(plugin_module, "_MEMO", {})
    first = plugin_parse(config)
    assert len(calls) == 1 and os.path.exists(_view_cache.inventory_path(store))
    assert host_vars(plugin_parse(config), "web01") == host_vars(first, "web01") and len(calls) == 1  # memo
    plugin_module._MEMO.clear()
    assert host_vars(plugin_parse(config), "web01") == host_vars(first, "web01") and len(calls) == 1  # own cache file
    path = os.path.join(store, "systems", "web01.yml")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("vars: {rack: r08}\n")
    assert host_vars(plugin_parse(config), "web01")["bm_vars"]["rack"] == "r08" and len(calls) == 2
    # off means off: neither the file nor the memo of another fingerprint is used
    monkeypatch.setenv("BAREMETAL_CACHE", "off")
    os.unlink(_view_cache.inventory_path(store))
    plugin_module._MEMO.clear()
    plugin_parse(config)
    assert len(calls) == 3 and not os.path.exists(_view_cache.inventory_path(store))


def test_record_values_are_never_evaluated_as_templates(tmp_path):
    web = FILES["systems/web01.yml"] + "vars: {note: \"{{ 7 * 6 }}\"}\n"
    write_store(tmp_path / "records", extra={"systems/web01.yml": web})
    inventory = manager(write_config(tmp_path, records_dir="records"))
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar, trust_as_template
    from ansible.vars.manager import VariableManager

    variables = VariableManager(loader=DataLoader(), inventory=inventory).get_vars(host=inventory.get_host("web01"))
    templar = Templar(loader=DataLoader(), variables=variables)
    assert templar.template(variables["bm_vars"])["note"] == "{{ 7 * 6 }}"
    assert templar.template(trust_as_template("{{ bm_vars.note }}")) == "{{ 7 * 6 }}"


def test_fleet_view_matches_the_records(tmp_path):
    root = write_fleet(tmp_path / "records", 120, segments=4, supernet="192.0.2.0/24")
    data = plugin_parse(write_config(tmp_path, records_dir="records"))
    systems = group_hosts(data, "systems")
    assert len(systems) == 120
    assert len({host_vars(data, h)["bm_mac"] for h in systems}) == 120
    assert sorted(g for g in data.groups if g.startswith("pool_")) == [
        "pool_spares-app", "pool_spares-data", "pool_spares-dmz", "pool_spares-mgmt",
    ]
    assert sum(len(group_hosts(data, g)) for g in data.groups if g.startswith("segment_")) == 120
    assert len(os.listdir(os.path.join(root, "systems"))) == 120


def test_host_of_another_source_gets_record_variables_as_set_variable_gives_them(tmp_path, store, monkeypatch):
    from ansible import constants as C
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader
    from support.inventory import _install_finder

    _install_finder()
    config = write_config(tmp_path, records_dir="records")
    for behaviour, expected in (("replace", {"site": "dmz-lab", "role": "web"}),
                                ("merge", {"owner": "ops", "site": "dmz-lab", "role": "web"})):
        monkeypatch.setattr(C, "DEFAULT_HASH_BEHAVIOUR", behaviour)
        data = InventoryData()
        data.current_source = "/elsewhere/hosts.yml"
        data.add_host("web01")
        data.set_variable("web01", "bm_vars", {"owner": "ops", "site": "elsewhere"})
        data.set_variable("web01", "rack", "r01")
        data.current_source = config
        inventory_loader.get("baremetal.provision.records").parse(data, DataLoader(), config, cache=True)
        web = data.hosts["web01"].vars
        assert web["bm_vars"] == expected, behaviour
        assert web["rack"] == "r01" and web["inventory_file"] == "/elsewhere/hosts.yml" and web["bm_mac"] == "52:54:00:12:34:56"
