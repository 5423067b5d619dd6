# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory plugin baremetal.provision.records, loaded through Ansible's plugin loader."""

import os

import pytest
from ansible.errors import AnsibleParserError
from ansible.utils.unsafe_proxy import wrap_var
from support.fleet import write_fleet
from support.inventory import _install_finder, group_hosts, host_vars, manager, plugin_parse, write_config
from support.lines import NATIVE_TYPES, TRUST_TAGS, tags_of, template_text, wrap_for_parse
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._views import inventory as _inventory_view


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
        "spare-52-54-00-00-00-01",
        "spare-52-54-00-00-00-02",
        "spare-52-54-00-00-00-03",
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
        ("eth0", "52:54:00:12:34:60", "app", True),
        ("eth1", "52:54:00:12:34:61", "dmz", False),
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
        "bm_mac": "52:54:00:00:00:02",
        "bm_hardware_model": "r640",
        "bm_serial": "SN002",
        "bm_segment": "dmz",
        "bm_pool": "spares-dmz",
        "bm_state": "spare",
        "bm_bmc": None,
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
        tmp_path,
        records_dir="records",
        compose={"ansible_user": "'admin-' ~ bm_tier", "boot_gen": "bm_build_generation + 1"},
        groups={"legacy_hw": "bm_hardware_model == 'r640'"},
        keyed_groups=[{"key": "bm_vars.role", "prefix": "role"}, {"key": "bm_family", "prefix": "os"}],
    )
    data = plugin_parse(config)
    assert host_vars(data, "web01")["ansible_user"] == "admin-web"
    # a template's result keeps its type from 2.19 on; before, it is text
    assert host_vars(data, "app01")["boot_gen"] == (4 if NATIVE_TYPES else "4")
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
        tmp_path,
        records_dir="records",
        cache=True,
        cache_plugin="ansible.builtin.jsonfile",
        cache_connection=str(tmp_path / "cache"),
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
    write_store(
        store,
        files={"systems/web09.yml": FILES["systems/web01.yml"].replace("12:34:56", "12:34:59").replace(".50", ".59")},
    )
    assert "web09" in plugin_parse(config).hosts
    assert len(calls) == 3


def test_own_view_cache_and_process_memo_follow_every_edit(tmp_path, store, monkeypatch):
    from ansible_collections.baremetal.provision.plugins.inventory import records as plugin_module
    from ansible_collections.baremetal.provision.plugins.module_utils._views import cache as _view_cache

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


def test_a_refresh_after_an_edit_reads_the_changed_hosts_only(tmp_path, store, monkeypatch):
    """What meta: refresh_inventory does after a record module's edit in the same playbook: the
    view it read before, and the edit's delta over it, make the new view; the base file, every
    host of the fleet, is not loaded again, and the hosts are what a fresh read gives."""
    from ansible_collections.baremetal.provision.plugins.inventory import records as plugin_module
    from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as E
    from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import Transaction
    from ansible_collections.baremetal.provision.plugins.module_utils._views import cache as _view_cache

    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "own-cache"))
    config = write_config(tmp_path, records_dir="records")
    monkeypatch.setattr(plugin_module, "_MEMO", {})
    before = plugin_parse(config)
    assert host_vars(before, "web01")["bm_mac"] == "52:54:00:12:34:56"
    with Transaction(store) as txn:
        E.edit_system(txn, "web01", {"mac": "52:54:00:12:34:99"})
        assert txn.commit()
        assert _view_cache.warm(store, txn)["inventory"] == "patched"
    real = _view_cache.read_cached
    loaded = []

    def read_cached(path, fingerprint):
        value = real(path, fingerprint)
        loaded.append((os.path.basename(path), value is not None))
        return value

    monkeypatch.setattr(_view_cache, "read_cached", read_cached)
    monkeypatch.setattr(plugin_module, "build_view", lambda store_obj: pytest.fail("the view was built"))
    after = plugin_parse(config)
    base = os.path.basename(_view_cache.inventory_path(store))
    assert (base, True) not in loaded and (os.path.basename(_view_cache.inventory_delta_path(store)), True) in loaded
    assert host_vars(after, "web01")["bm_mac"] == "52:54:00:12:34:99"
    assert host_vars(after, "app01") == host_vars(before, "app01")
    # a process that held nothing reads the base and the delta, and sees the same
    plugin_module._MEMO.clear()
    loaded.clear()
    fresh = plugin_parse(config)
    assert (base, True) in loaded
    assert sorted(fresh.hosts) == sorted(after.hosts)
    assert all(host_vars(fresh, host) == host_vars(after, host) for host in fresh.hosts)


def test_record_values_are_never_evaluated_as_templates(tmp_path):
    web = FILES["systems/web01.yml"] + 'vars: {note: "{{ 7 * 6 }}"}\n'
    write_store(tmp_path / "records", extra={"systems/web01.yml": web})
    inventory = manager(write_config(tmp_path, records_dir="records"))
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager

    variables = VariableManager(loader=DataLoader(), inventory=inventory).get_vars(host=inventory.get_host("web01"))
    templar = Templar(loader=DataLoader(), variables=variables)
    assert templar.template(variables["bm_vars"])["note"] == "{{ 7 * 6 }}"
    assert templar.template(template_text("{{ bm_vars.note }}")) == "{{ 7 * 6 }}"


def test_fleet_view_matches_the_records(tmp_path):
    root = write_fleet(tmp_path / "records", 120, segments=4, supernet="192.0.2.0/24")
    data = plugin_parse(write_config(tmp_path, records_dir="records"))
    systems = group_hosts(data, "systems")
    assert len(systems) == 120
    assert len({host_vars(data, h)["bm_mac"] for h in systems}) == 120
    assert sorted(g for g in data.groups if g.startswith("pool_")) == [
        "pool_spares-app",
        "pool_spares-data",
        "pool_spares-dmz",
        "pool_spares-mgmt",
    ]
    assert sum(len(group_hosts(data, g)) for g in data.groups if g.startswith("segment_")) == 120
    assert len(os.listdir(os.path.join(root, "systems"))) == 120


def test_host_of_another_source_gets_record_variables_as_set_variable_gives_them(tmp_path, store, monkeypatch):
    from ansible import constants as C
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader

    _install_finder()
    config = write_config(tmp_path, records_dir="records")
    for behaviour, expected in (
        ("replace", {"site": "dmz-lab", "role": "web"}),
        ("merge", {"owner": "ops", "site": "dmz-lab", "role": "web"}),
    ):
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
        assert (
            web["rack"] == "r01"
            and web["inventory_file"] == "/elsewhere/hosts.yml"
            and web["bm_mac"] == "52:54:00:12:34:56"
        )


# --- the bulk populate builds what ansible-core's public API builds -----------------------------
#
# InventoryModule._populate adds hosts either through InventoryData.add_host (the reference,
# plugin_utils/_populate.add_hosts_public) or, for speed, with ansible-core's inventory objects
# directly (add_hosts_bulk). These tests build the same inventory both ways on the installed
# ansible-core and compare everything a play, a vars plugin or ansible-inventory can see.


def _names(objects):
    return [obj.name for obj in objects]


def _tagged(value):
    return value, type(value).__name__, tags_of(value)


def _vars_of(snapshot_vars):
    """{name: value} of a host's "vars" in a snapshot."""
    return {name: value for name, value, _type, _tags in snapshot_vars}


def _inventory_snapshot(data):
    """Everything observable of an InventoryData: names and order of hosts and groups, each
    host's variables (order, types and tags included) and groups, each group's members,
    relatives and computed hosts, and the 'groups' magic variable."""
    hosts = {
        name: {
            "name": _tagged(host.name),
            "address": host.address,
            "implicit": host.implicit,
            "vars": [(key, *_tagged(value)) for key, value in host.vars.items()],
            "groups": _names(host.groups),
            "get_groups": _names(host.get_groups()),
            "magic": host.get_magic_vars(),
        }
        for name, host in data.hosts.items()
    }
    groups = {
        name: {
            "name": group.name,
            "hosts": _names(group.hosts),
            "host_names": sorted(group.host_names),
            "child_groups": _names(group.child_groups),
            "parent_groups": _names(group.parent_groups),
            "get_hosts": _names(group.get_hosts()),
            "get_ancestors": sorted(_names(group.get_ancestors())),
            "depth": group.depth,
            "vars": group.vars,
            "priority": group.priority,
        }
        for name, group in data.groups.items()
    }
    return {
        # the names as keys too: a name still trusted as a template would reach plays through them
        "host_order": [_tagged(name) for name in data.hosts],
        "group_order": [_tagged(name) for name in data.groups],
        "hosts": hosts,
        "groups": groups,
        "groups_dict": {name: list(members) for name, members in data.get_groups_dict().items()},
        "localhost": data.localhost.name if data.localhost else None,
    }


def _paths(monkeypatch):
    """[(label, bulk_ready stand-in)]: the real guard (which must choose the bulk path on the
    installed ansible-core, or the comparison would be of the reference with itself), then a
    guard that always refuses (the public path). The first records what it answered.

    ansible-core adds a group's ancestors to a host, and walks descendants, in the iteration
    order of sets of Group objects, which hash by id(): two builds of one inventory can list a
    host's groups in different orders whenever a group has two ancestors, whichever path built
    them. Hashing groups by name here makes that order the same for both builds, so the
    comparison can be exact; it changes no behaviour of either path."""
    from ansible.inventory.data import InventoryData
    from ansible.inventory.group import Group

    from ansible_collections.baremetal.provision.plugins.plugin_utils import _populate as populate

    monkeypatch.setattr(Group, "__hash__", lambda group: hash(group.name))
    real = populate.bulk_ready
    assert real(InventoryData()), "ansible-core's inventory objects lack what the bulk populate needs"
    answers = []

    def recording(data):
        answers.append(real(data))
        return answers[-1]

    return populate, [("bulk", recording), ("public", lambda data: False)], answers


def _parse_both(monkeypatch, config, before=None):
    """{"bulk"|"public": (snapshot after parse, snapshot after reconcile_inventory)} for one config, each
    on a new InventoryData set up as InventoryManager does (current source, data wrapper);
    before(data) adds what another inventory source would have added first."""
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader

    _install_finder()
    populate, paths, answers = _paths(monkeypatch)
    result = {}
    for label, ready in paths:
        monkeypatch.setattr(populate, "bulk_ready", ready)
        data = InventoryData()
        if before:
            before(data)
        data.current_source = config
        plugin = inventory_loader.get("baremetal.provision.records")
        plugin.parse(wrap_for_parse(data, plugin), DataLoader(), config, cache=True)
        data.current_source = None
        parsed = _inventory_snapshot(data)
        data.reconcile_inventory()
        result[label] = (parsed, _inventory_snapshot(data))
    assert answers == [True], "the bulk path was not taken"
    return result


@pytest.fixture(scope="module")
def fleet_config(tmp_path_factory):
    """A 300-system fleet in 4 segments (pools of spares, provisioners) and its config."""
    base = tmp_path_factory.mktemp("fleet")
    write_fleet(base / "records", 300, segments=4)
    return write_config(base, records_dir="records")


def test_bulk_populate_matches_public_api_on_a_fleet(monkeypatch, fleet_config):
    both = _parse_both(monkeypatch, fleet_config)
    assert both["bulk"][0] == both["public"][0]
    assert both["bulk"][1] == both["public"][1]
    parsed, reconciled = both["bulk"]
    assert len(parsed["host_order"]) > 300
    # what add_host sets for a host first seen in a source, and the membership order it gives
    spare = next(name for name in parsed["hosts"] if name.startswith("spare-"))
    spare_vars = parsed["hosts"][spare]["vars"]
    assert [(k, v) for k, v, _type, _tags in spare_vars[:2]] == [
        ("inventory_file", fleet_config),
        ("inventory_dir", os.path.dirname(fleet_config)),
    ]
    pool = "pool_" + _vars_of(spare_vars)["bm_pool"]
    # the ancestors first, as Host.add_group does (in the order of a set: either), then the group
    # itself; the top groups are under "all" before any host is added
    assert parsed["hosts"][spare]["groups"] == reconciled["hosts"][spare]["groups"]
    assert sorted(parsed["hosts"][spare]["groups"][:2]) == ["all", "spares"] and parsed["hosts"][spare]["groups"][
        2:
    ] == [pool]
    assert parsed["hosts"]["web00000"]["groups"] == [
        "all",
        "systems",
        "model_r640",
        "profile_rocky9-legacy",
        "segment_dmz",
        "tier_web",
    ]


def test_bulk_populate_merges_into_hosts_of_another_source_like_the_public_api(monkeypatch, fleet_config):
    def other_source(data):
        data.current_source = "/elsewhere/hosts.yml"
        for group in ("datacenter", "tier_web", "racks"):
            data.add_group(group)
        data.add_child("all", "datacenter")
        data.add_child("datacenter", "tier_web")  # a group of the view, with parents of its own
        for host, group in (
            ("web00000", "racks"),
            ("prov-dmz", "racks"),
            ("db00004", "tier_web"),
            ("localhost", "racks"),
        ):
            data.add_host(host, group=group)
        data.set_variable("web00000", "rack_owner", "ops")
        data.set_variable("web00000", "bm_vars", {"extra": 1})
        # caches a missed reset would leave stale
        data.get_groups_dict()
        for group in data.groups.values():
            group.get_hosts()

    both = _parse_both(monkeypatch, fleet_config, before=other_source)
    assert both["bulk"][0] == both["public"][0]
    assert both["bulk"][1] == both["public"][1]
    parsed = both["bulk"][0]
    web = _vars_of(parsed["hosts"]["web00000"]["vars"])
    assert web["inventory_file"] == "/elsewhere/hosts.yml" and web["rack_owner"] == "ops"
    assert web["bm_vars"] == {
        "tier_owner": "team-web",
        "rack": "r26",
    }  # the record's value replaces it (the default hash_behaviour)
    assert parsed["hosts"]["web00000"]["groups"][:3] == ["racks", "all", "systems"]
    assert set(parsed["hosts"]["web00000"]["groups"]) >= {"datacenter", "all", "tier_web"}
    assert parsed["localhost"] == "localhost"
    assert "web00000" in parsed["groups_dict"]["systems"] and "db00004" in parsed["groups_dict"]["datacenter"]


def test_bulk_populate_matches_public_api_with_two_inventory_sources(monkeypatch, tmp_path, fleet_config):
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    other = tmp_path / "hosts.yml"
    other.write_text(
        "all:\n  hosts:\n    localhost: {ansible_connection: local}\n  children:\n"
        "    datacenter:\n      children:\n        tier_web:\n          hosts:\n            web00000: {rack_owner: ops}\n"
        "    racks:\n      hosts:\n        prov-dmz: {bm_vars: {extra: 1}}\n        api00001:\n",
        encoding="utf-8",
    )
    _install_finder()
    populate, paths, answers = _paths(monkeypatch)
    seen = {}
    for label, ready in paths:
        monkeypatch.setattr(populate, "bulk_ready", ready)
        inventory = InventoryManager(loader=DataLoader(), sources=[str(other), fleet_config])
        seen[label] = _inventory_snapshot(inventory._inventory)
        inventory.refresh_inventory()
        seen[label + " refreshed"] = _inventory_snapshot(inventory._inventory)
    assert answers == [True, True], "the bulk path was not taken"  # the parse, then the refresh
    assert seen["bulk"] == seen["public"]
    assert seen["bulk refreshed"] == seen["public refreshed"] == seen["bulk"]
    assert {"all", "datacenter", "tier_web", "systems"} <= set(seen["bulk"]["hosts"]["web00000"]["groups"])
    web = _vars_of(seen["bulk"]["hosts"]["web00000"]["vars"])
    assert web["inventory_file"] == str(other) and web["rack_owner"] == "ops" and web["bm_tier"] == "web"


def test_bulk_populate_matches_public_api_with_constructed_options(monkeypatch, tmp_path, fleet_config):
    config = write_config(
        os.path.dirname(fleet_config),
        name="constructed.baremetal.yml",
        records_dir="records",
        compose={"ansible_user": "'admin-' ~ bm_tier | default('spare')"},
        groups={"legacy_hw": "bm_hardware_model == 'r640'"},
        keyed_groups=[
            {"key": "bm_vars.rack | default('unracked')", "prefix": "rack"},
            {"key": "bm_state", "prefix": "state"},
        ],
    )
    both = _parse_both(monkeypatch, config)
    assert both["bulk"][0] == both["public"][0]
    assert both["bulk"][1] == both["public"][1]
    parsed = both["bulk"][0]
    assert {"rack_r26", "state_active", "legacy_hw"} <= set(parsed["hosts"]["web00000"]["groups"])
    assert "web00000" in parsed["groups"]["rack_r26"]["hosts"] and parsed["groups"]["state_spare"]["hosts"]
    assert _vars_of(parsed["hosts"]["web00000"]["vars"])["ansible_user"] == "admin-web"


def test_bulk_populate_handles_localhost_and_trusted_names_like_add_host(monkeypatch, tmp_path):
    from ansible_collections.baremetal.provision.plugins.inventory import records as plugin_module

    segment = FILES["segments/app.yml"].replace("provisioner: prov-app", "provisioner: localhost")
    write_store(tmp_path / "records", extra={"segments/app.yml": segment})
    config = write_config(tmp_path, records_dir="records")
    real = _inventory_view.build_view

    def tagging(store_obj):  # a view whose names carry a tag, as a cache plugin could give back
        view = real(store_obj)
        tagged = template_text("web01") if TRUST_TAGS else wrap_var("web01")  # a str subclass either way
        view["hosts"] = {(tagged if name == "web01" else name): hostvars for name, hostvars in view["hosts"].items()}
        for members in view["groups"].values():
            members["hosts"] = [tagged if name == "web01" else name for name in members["hosts"]]
        return view

    monkeypatch.setenv("BAREMETAL_CACHE", "off")
    monkeypatch.setattr(plugin_module, "_MEMO", {})
    monkeypatch.setattr(plugin_module, "build_view", tagging)
    both = _parse_both(monkeypatch, config)
    assert both["bulk"][0] == both["public"][0]
    assert both["bulk"][1] == both["public"][1]
    parsed = both["bulk"][0]
    assert parsed["localhost"] == "localhost" and parsed["groups"]["provisioners"]["hosts"] == ["localhost", "prov-dmz"]
    name, _type, tags = parsed["hosts"]["web01"]["name"]
    assert name == "web01" and not any(type(tag).__name__ == "TrustedAsTemplate" for tag in tags)


def test_bulk_populate_guard_refuses_objects_it_does_not_know():
    from ansible.inventory.data import InventoryData

    from ansible_collections.baremetal.provision.plugins.plugin_utils import _populate as populate

    assert populate.bulk_ready(InventoryData())

    class Elsewhere(InventoryData):  # an inventory whose groups are not ansible-core's Group
        def __init__(self):
            super().__init__()
            self.groups = {name: object() for name in self.groups}

    class Bare:
        groups = None

    assert not populate.bulk_ready(Elsewhere())
    assert not populate.bulk_ready(Bare())


def test_bulk_populate_refuses_an_empty_host_name_like_add_host(monkeypatch, tmp_path, store):
    from ansible.errors import AnsibleError

    from ansible_collections.baremetal.provision.plugins.inventory import records as plugin_module

    real = _inventory_view.build_view

    def with_empty_name(store_obj):
        view = real(store_obj)
        view["groups"]["systems"]["hosts"].append("")
        return view

    monkeypatch.setenv("BAREMETAL_CACHE", "off")
    monkeypatch.setattr(plugin_module, "_MEMO", {})
    monkeypatch.setattr(plugin_module, "build_view", with_empty_name)
    config = write_config(tmp_path, records_dir="records")
    populate, paths, answers = _paths(monkeypatch)
    for _label, ready in paths:
        monkeypatch.setattr(populate, "bulk_ready", ready)
        with pytest.raises(AnsibleError, match="Invalid empty host name"):
            plugin_parse(config)
    assert answers == [True]


@pytest.mark.parametrize("transform", ["always", "silently"])
def test_group_names_follow_ansibles_setting_for_invalid_characters(monkeypatch, fleet_config, transform):
    # TRANSFORM_INVALID_GROUP_CHARS=always: a dash in a record's name becomes an underscore in its group
    import ansible.constants as C

    monkeypatch.setattr(C, "TRANSFORM_INVALID_GROUP_CHARS", transform)
    both = _parse_both(monkeypatch, fleet_config)
    assert both["bulk"] == both["public"]
    _parsed, reconciled = both["bulk"]
    pools = [group for group in reconciled["groups"] if group.startswith("pool_")]
    assert pools and not [group for group in reconciled["groups"] if "-" in group]
    assert reconciled["groups"]["spares"]["child_groups"] == pools
    spare = next(name for name in reconciled["hosts"] if name.startswith("spare-"))
    pool = "pool_" + _vars_of(reconciled["hosts"][spare]["vars"])["bm_pool"].replace("-", "_")
    assert sorted(reconciled["hosts"][spare]["groups"][:2]) == ["all", "spares"] and reconciled["hosts"][spare][
        "groups"
    ][2:] == [pool]
    assert "web00000" in reconciled["groups"]["profile_rocky9_legacy"]["host_names"]


def test_a_pool_below_its_min_spares_is_a_warning_at_each_load(tmp_path, capsys):
    low = FILES["pools/spares-dmz.yml"].replace("segment: dmz\n", "segment: dmz\nmin_spares: {r650: 3, r640: 1}\n")
    write_store(tmp_path / "records", extra={"pools/spares-dmz.yml": low})
    config = write_config(tmp_path, records_dir="records")
    plugin_parse(config)
    err = " ".join(capsys.readouterr().err.split())  # older lines wrap a warning to the terminal's width
    assert "pool spares-dmz has 2 spares of hardware model r650 left, below its min_spares of 3" in err
    assert "r640" not in err
    # a later load takes the view from a cache: the warning travels with it (Ansible shows a
    # warning once per process, so the cached view is what is checked here)
    assert _inventory_view.build_view(RecordStore.load(str(tmp_path / "records")))["warnings"] == [
        "pool spares-dmz has 2 spares of hardware model r650 left, below its min_spares of 3: enlist or add some"
    ]
