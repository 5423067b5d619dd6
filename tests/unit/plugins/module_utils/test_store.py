# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Loading a whole store: every rule between records, every problem at once, inheritance."""

import os

import pytest
from support.store import FILES, load_store, messages, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore

load = load_store


def test_sample_store_is_valid(tmp_path):
    store = load(tmp_path)
    assert messages(store) == []
    assert store.names("systems") == ["app01", "web01"]


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        RecordStore.load(str(tmp_path / "nope"))


def test_inheritance_segment_tier_profile_system(tmp_path):
    store = load(tmp_path)
    web = store.resolve_system("web01")
    assert web["profile"] == "rocky9-web"
    assert web["segment"] == "dmz" and web["provisioner"] == "prov-dmz"
    assert web["fqdn"] == "web01.dmz.example.test"
    assert web["kernel_options"] == "console=ttyS0 inst.text"
    assert web["vars"] == {"site": "dmz-lab", "role": "web"}  # tier var, profile var
    assert web["build_generation"] == 1
    assert web["install_format"] == "kickstart"
    assert web["network"]["netmask"] == "255.255.255.0" and web["network"]["gateway"] == "192.0.2.1"

    app = store.resolve_system("app01")
    assert app["profile"] == "rocky9-web"  # tiers/web's by-model rule is not app's
    assert app["boot_loader"] == "auto"
    assert app["kernel_options"] == "inst.text quiet"  # ~console removes the inherited one
    assert app["vars"] == {"ntp": "198.51.100.123", "site": "lab", "role": "app"}
    assert [i["segment"] for i in app["interfaces"]] == ["app", "dmz"]
    assert app["ip"] == "198.51.100.50" and app["mac"] == "52:54:00:12:34:60"


def test_tier_profile_by_model(tmp_path):
    store = load(tmp_path, systems__web01_yml=FILES["systems/web01.yml"].replace("r650", "r640"))
    assert store.resolve_system("web01")["profile"] == "rocky9-legacy"


def test_every_problem_is_reported_at_once_with_file_and_field(tmp_path):
    store = load(
        tmp_path,
        systems__web01_yml=FILES["systems/web01.yml"]
        .replace("tier: web", "tier: nope")
        .replace("192.0.2.50", "203.0.113.5"),
        tiers__app_yml="segment: app\nprofile: rocky9-web\nsegmnet: x\n",
        changes={"profiles/rocky9-web.yml": FILES["profiles/rocky9-web.yml"].replace("distro: rocky9", "distro: gone")},
    )
    found = messages(store)
    assert "systems/web01.yml: tier: tier 'nope' does not exist: no file tiers/nope.yml (known: app, web)" in found
    assert any(m.startswith("profiles/rocky9-web.yml: distro: distro 'gone' does not exist") for m in found)
    assert any(m.startswith("tiers/app.yml: segmnet: unknown field") for m in found)
    assert len(found) == 3


@pytest.mark.parametrize(
    "ip, reason",
    [
        ("203.0.113.5", "is outside 192.0.2.0/24, the network of segments/dmz.yml"),
        ("192.0.2.0", "is the network address"),
        ("192.0.2.255", "is the broadcast address"),
        ("192.0.2.1", "is the gateway of segments/dmz.yml"),
        ("192.0.2.220", "is inside the dynamic range 192.0.2.200 - 192.0.2.250"),
    ],
)
def test_system_ip_must_be_a_free_host_address_of_its_segment(tmp_path, ip, reason):
    store = load(tmp_path, systems__web01_yml=FILES["systems/web01.yml"].replace("192.0.2.50", ip))
    found = messages(store)
    assert found and all(m.startswith("systems/web01.yml: interfaces[0].ip: %s " % ip) for m in found), found
    assert any(reason in m for m in found), found


def test_duplicate_mac_between_system_and_pool_names_both(tmp_path):
    store = load(
        tmp_path, systems__web01_yml=FILES["systems/web01.yml"].replace("52:54:00:12:34:56", "52-54-00-00-00-01")
    )
    found = messages(store)
    assert (
        "systems/web01.yml: interfaces[0].mac: MAC 52:54:00:00:00:01 is also used by pools/spares-dmz.yml (machines[0].mac)"
        in found
    )
    assert (
        "pools/spares-dmz.yml: machines[0].mac: MAC 52:54:00:00:00:01 is also used by systems/web01.yml (interfaces[0].mac)"
        in found
    )


def test_duplicate_mac_differently_spelled_is_still_a_duplicate(tmp_path):
    store = load(
        tmp_path,
        systems__web02_yml=FILES["systems/web01.yml"]
        .replace('"52:54:00:12:34:56"', "5254.0012.3456")
        .replace(".50", ".51"),
    )
    assert any("MAC 52:54:00:12:34:56 is also used by systems/web01.yml" in m for m in messages(store))


def test_duplicate_ip(tmp_path):
    store = load(tmp_path, systems__web02_yml=FILES["systems/web01.yml"].replace("34:56", "34:57"))
    assert (
        "systems/web02.yml: interfaces[0].ip: IP 192.0.2.50 is also used by systems/web01.yml (interfaces[0].ip)"
        in messages(store)
    )


def test_exactly_one_primary_interface(tmp_path):
    two = FILES["systems/app01.yml"].replace("segment: dmz}", "segment: dmz, primary: true}")
    none = FILES["systems/app01.yml"].replace(", primary: true", "")
    assert "systems/app01.yml: interfaces: exactly one interface must have primary: true (found 2)" in messages(
        load(tmp_path / "a", systems__app01_yml=two)
    )
    assert "systems/app01.yml: interfaces: exactly one interface must have primary: true (found 0)" in messages(
        load(tmp_path / "b", systems__app01_yml=none)
    )


def test_single_interface_is_the_primary_one(tmp_path):
    store = load(tmp_path, systems__web01_yml=FILES["systems/web01.yml"].replace(", primary: true", ""))
    assert messages(store) == []
    assert store.resolve_system("web01")["interfaces"][0]["primary"] is True


def test_references_resolve(tmp_path):
    store = load(tmp_path, **{"templates/rocky9.ks.j2": None, "tiers__app_yml": "segment: nowhere\nprofile: nothing\n"})
    found = messages(store)
    assert "profiles/rocky9-web.yml: template: template 'rocky9.ks.j2' does not exist in templates/" in found
    assert any(m.startswith("tiers/app.yml: segment: segment 'nowhere' does not exist") for m in found)
    assert any(m.startswith("tiers/app.yml: profile: profile 'nothing' does not exist") for m in found)


def test_system_without_any_profile(tmp_path):
    store = load(tmp_path, tiers__app_yml="segment: app\n")
    assert "systems/app01.yml: profile: no install profile: set profile here or on tiers/app.yml" in messages(store)


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("gateway", "198.51.100.1", "outside the segment's network"),
        ("gateway", "192.0.2.255", "the broadcast address of 192.0.2.0/24"),
        ("dynamic_range", "[192.0.2.250, 192.0.2.200]", "reversed"),
        ("dynamic_range", "[192.0.2.200, 198.51.100.5]", "not a host address"),
        ("dynamic_range", "[192.0.2.1, 192.0.2.9]", "contains the gateway"),
        ("network", "192.0.2.0/33", "CIDR"),
        ("dns", "[192.0.2.53, nameserver]", "not an IPv4 address"),
        ("domain", '"dmz.example.test; deny all"', "RFC 1123"),
    ],
)
def test_segment_rules(tmp_path, field, value, reason):
    lines = [line for line in FILES["segments/dmz.yml"].splitlines() if not line.startswith(field + ":")]
    store = load(tmp_path, segments__dmz_yml="\n".join([*lines, "%s: %s" % (field, value)]) + "\n")
    assert any(m.startswith("segments/dmz.yml: %s" % field) and reason in m for m in messages(store)), messages(store)


def test_a_relayed_segment_needs_the_provisioner_address(tmp_path):
    lines = [line for line in FILES["segments/dmz.yml"].splitlines() if not line.startswith("next_server:")]
    store = load(tmp_path, segments__dmz_yml="\n".join([*lines, "relay: 192.0.2.254"]) + "\n")
    assert (
        "segments/dmz.yml: next_server: a segment served through the relay 192.0.2.254 needs next_server: the "
        "provisioner's address its machines reach through the relay" in messages(store)
    ), messages(store)
    relayed = load(tmp_path / "ok", segments__dmz_yml=FILES["segments/dmz.yml"] + "relay: 192.0.2.254\n")
    assert not any("relay" in m or "next_server" in m for m in messages(relayed)), messages(relayed)


def test_overlapping_segments(tmp_path):
    store = load(
        tmp_path,
        segments__app_yml=FILES["segments/app.yml"]
        .replace("198.51.100.0/24", "192.0.2.0/25")
        .replace("198.51.100.1\n", "192.0.2.126\n"),
    )
    assert any(
        m.startswith("segments/app.yml: network: 192.0.2.0/25 overlaps 192.0.2.0/24 of segments/dmz.yml")
        for m in messages(store)
    )


@pytest.mark.parametrize(
    "text, reason",
    [
        (
            "tier: web\ninterfaces:\n  - {name: eth0, mac: 52:54:00:12:34:56, ip: 192.0.2.50}\n",
            None,
        ),  # unquoted MAC is fine
        ("tier: web\ntier: app\n", "duplicate key 'tier'"),
        ("tier: [web\n", "not valid YAML"),
        ("", "the file is empty"),
        ("- tier: web\n", "must be a mapping"),
        (
            "tier: web\ninterfaces: []\npassword: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n",
            "!vault values are not allowed",
        ),
        (
            'tier: web\ninterfaces:\n  - {name: eth0, mac: "52:54:00:12:34:56", ip: 192.0.2.50, primary: yes please}\n',
            "not a boolean",
        ),
        ("tier: web\ninterfaces:\n  - {name: eth0, mac: 12345, ip: 192.0.2.50}\n", "quote it"),
        ("tier: web\ninterfaces: []\nbuild: {generation: -1}\n", "whole number"),
        ("tier: web\ninterfaces: []\n", "at least one interface"),
        ('tier: web\ninterfaces:\n  - {name: eth0, mac: "52:54:00:12:34:56"}\n', "the primary interface needs an ip"),
    ],
)
def test_system_file_level_rules(tmp_path, text, reason):
    store = load(tmp_path, systems__web01_yml=text)
    found = messages(store)
    if reason is None:
        assert found == []
    else:
        assert any(m.startswith("systems/web01.yml") and reason in m for m in found), found


def test_bad_file_names_and_extensions(tmp_path):
    store = load(tmp_path, **{"systems/Web_02.yml": FILES["systems/web01.yml"], "systems/web03.yaml": "tier: web\n"})
    found = messages(store)
    assert any(m.startswith("systems/Web_02.yml: bad record name") for m in found)
    assert "systems/web03.yaml: record files end in .yml, not .yaml" in found


def test_hostile_strings_in_fields_that_reach_configs(tmp_path):
    store = load(
        tmp_path,
        changes={
            "profiles/rocky9-web.yml": 'distro: rocky9\ntemplate: rocky9.ks.j2\nkernel_options: {ks: "http://x/\\"; exec rm"}\n'
        },
        distros__rocky9_yml="family: redhat\nkernel: /srv/a b\ninitrd: /srv/../../etc/shadow\n",
        systems__web01_yml=FILES["systems/web01.yml"].replace("r650", "r650}\n  option x"),
    )
    found = messages(store)
    assert any(m.startswith("profiles/rocky9-web.yml: kernel_options:") and "'\"'" in m for m in found)
    assert any(m.startswith("distros/rocky9.yml: kernel.path:") and "space" in m for m in found)
    assert any(m.startswith("distros/rocky9.yml: initrd.path:") and "'..'" in m for m in found)
    assert any(m.startswith("systems/web01.yml") for m in found)


def test_url_artifact_needs_a_checksum(tmp_path):
    store = load(
        tmp_path, distros__rocky9_yml="family: redhat\nkernel: http://192.0.2.1/vmlinuz\ninitrd: /srv/initrd\n"
    )
    assert (
        "distros/rocky9.yml: kernel.checksum: a URL needs a checksum (sha256:<64 hex> or sha512:<128 hex>)"
        in messages(store)
    )


def test_referrers(tmp_path):
    store = load(tmp_path)
    assert store.referrers("segments", "dmz") == ["pools/spares-dmz.yml", "systems/app01.yml", "tiers/web.yml"]
    assert store.referrers("profiles", "rocky9-legacy") == ["tiers/web.yml"]
    assert store.referrers("distros", "rocky9") == ["profiles/rocky9-legacy.yml", "profiles/rocky9-web.yml"]
    assert store.referrers("tiers", "app") == ["systems/app01.yml"]


def test_parse_cache_serves_a_second_load_and_follows_every_edit(tmp_path, monkeypatch):
    from ansible_collections.baremetal.provision.plugins.module_utils._records import parse_cache as _parse_cache

    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    root = write_store(tmp_path / "records")
    parsed = []
    real_parse = _parse_cache.ParseCache.__init__

    def counting_init(self, root, parse):
        real_parse(self, root, lambda raw: parsed.append(raw) or parse(raw))

    monkeypatch.setattr(_parse_cache.ParseCache, "__init__", counting_init)
    first = RecordStore.load(root)
    assert len(parsed) == len([f for f in FILES if not f.startswith("templates/")])
    del parsed[:]
    second = RecordStore.load(root)
    assert parsed == []  # nothing re-parsed
    assert second.resolve_system("web01") == first.resolve_system("web01")
    # an edit with the same size and mtime is still seen: entries are keyed by content
    path = tmp_path / "records" / "systems" / "web01.yml"
    stat = path.stat()
    shards = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "cache").iterdir()}
    assert 1 < len(shards) <= 16
    path.write_text(FILES["systems/web01.yml"].replace("192.0.2.50", "192.0.2.57"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    third = RecordStore.load(root)
    assert len(parsed) == 1 and third.resolve_system("web01")["ip"] == "192.0.2.57"
    # one edited file rewrites at most two shards (the new entry's and the dropped entry's)
    rewritten = [name for name, mtime in shards.items() if (tmp_path / "cache" / name).stat().st_mtime_ns != mtime]
    assert 1 <= len(rewritten) <= 2, rewritten


def test_a_record_checked_once_is_not_checked_again_until_a_rule_changes(tmp_path, monkeypatch):
    from ansible_collections.baremetal.provision.plugins.module_utils._records import store as _store

    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    # web09 breaks a rule of its own (a bad MAC): it is never remembered as checked
    root = write_store(
        tmp_path / "records",
        extra={"systems/web09.yml": FILES["systems/web01.yml"].replace("52:54:00:12:34:56", "52:54:00:12:34")},
    )
    checks = []
    real_check = _store.check_record
    monkeypatch.setattr(
        _store,
        "check_record",
        lambda kind, path, raw, problems: checks.append(path) or real_check(kind, path, raw, problems),
    )
    first = RecordStore.load(root)
    records = len([f for f in FILES if not f.startswith("templates/")]) + 1
    assert len(checks) == records
    del checks[:]
    second = RecordStore.load(root)
    assert checks == ["systems/web09.yml"]  # only the record with a problem of its own
    assert second.problems() == first.problems() and any(p.path == "systems/web09.yml" for p in second.problems())
    for kind in first.records:
        for name, record in first.records[kind].items():
            assert second.records[kind][name].data == record.data and second.records[kind][name].raw == record.raw
    # the rules between records still run: a second system with web01's IP is refused on a cached load
    (tmp_path / "records" / "systems" / "web08.yml").write_text(
        FILES["systems/web01.yml"].replace("52:54:00:12:34:56", "52:54:00:12:34:58")
    )
    assert any(
        p.path.startswith("systems/web0") and "192.0.2.50" in p.message for p in RecordStore.load(root).problems()
    )
    # a change to the rules' source checks everything again
    del checks[:]
    monkeypatch.setattr(_store, "rules_digest", lambda: "another-rule-set")
    RecordStore.load(root)
    assert len(checks) == records + 1


def test_a_file_unchanged_since_it_was_read_is_not_read_again_and_any_write_is_seen(tmp_path, monkeypatch):
    from ansible_collections.baremetal.provision.plugins.module_utils._records import parse_cache as _parse_cache
    from ansible_collections.baremetal.provision.plugins.module_utils._records import store as _store

    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(_parse_cache.ParseCache, "RACY_NS", 0)  # the files here were written a moment ago
    root = write_store(tmp_path / "records")
    reads = []
    real_open = open
    monkeypatch.setattr(
        _store,
        "open",
        lambda path, *a, **k: reads.append(os.path.relpath(path, root)) or real_open(path, *a, **k),
        raising=False,
    )
    first = RecordStore.load(root)
    assert len(reads) == len([f for f in FILES if not f.startswith("templates/")])
    del reads[:]
    second = RecordStore.load(root)
    assert reads == []
    assert second.resolve_system("web01") == first.resolve_system("web01") and second.problems() == first.problems()
    # a write in place with the same size, its modification time set back: the change time moved
    path = tmp_path / "records" / "systems" / "web01.yml"
    stat = path.stat()
    path.write_text(FILES["systems/web01.yml"].replace("192.0.2.50", "192.0.2.57"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns, path.stat().st_ino) == (
        stat.st_size,
        stat.st_mtime_ns,
        stat.st_ino,
    )
    third = RecordStore.load(root)
    assert reads == ["systems/web01.yml"] and third.resolve_system("web01")["ip"] == "192.0.2.57"


def test_parse_cache_can_be_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BAREMETAL_CACHE", "off")
    RecordStore.load(write_store(tmp_path / "records"))
    assert not (tmp_path / "cache").exists()


def test_the_parse_cache_is_written_by_marshal_alone(tmp_path, monkeypatch):
    """The YAML loader's flow-style types are cached as plain dicts and lists: marshal writes
    every shard in one pass (a JSON round trip of every shard cost seconds at 100,000 systems),
    and what a second load reads equals what the first one parsed."""
    from ansible_collections.baremetal.provision.plugins.module_utils._records import cache_files

    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    root = write_store(tmp_path / "records")
    dumps = cache_files.marshal.dumps
    refused = []

    def strict(value, *args):
        try:
            return dumps(value, *args)
        except ValueError:
            refused.append(value)
            raise

    monkeypatch.setattr(cache_files.marshal, "dumps", strict)
    first = RecordStore.load(root)
    assert not refused and os.listdir(str(tmp_path / "cache"))
    second = RecordStore.load(root)
    assert {n: second.data("systems", n) for n in second.names("systems")} == {
        n: first.data("systems", n) for n in first.names("systems")
    }


def test_parse_errors_are_never_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    root = write_store(tmp_path / "records", extra={"systems/web09.yml": "tier: [web\n"})
    for _dummy in range(2):
        assert any(str(p).startswith("systems/web09.yml: not valid YAML") for p in RecordStore.load(root).problems())


@pytest.mark.parametrize(
    "name", ["all", "ungrouped", "localhost", "systems", "provisioners", "spares", "spare-52-54-00-00-00-01"]
)
def test_a_system_cannot_take_a_name_the_inventory_uses_itself(tmp_path, name):
    files = dict(FILES)
    files["systems/%s.yml" % name] = FILES["systems/web01.yml"].replace("34:56", "34:99").replace(".50", ".99")
    problems = [str(p) for p in RecordStore.load(write_store(tmp_path, files)).problems()]
    assert problems == [
        "systems/%s.yml: bad record name (the file name): %r is a name the inventory uses for its own groups or "
        "hosts (all, localhost, provisioners, spares, systems, ungrouped, spare-<mac>)" % (name, name)
    ]


def test_the_inventory_own_names_are_the_reserved_ones():
    from ansible_collections.baremetal.provision.plugins.module_utils._records import fields as F
    from ansible_collections.baremetal.provision.plugins.module_utils._views import inventory as V

    assert {V.SYSTEMS_GROUP, V.SPARES_GROUP, V.PROVISIONERS_GROUP} <= F.INVENTORY_NAMES
    with pytest.raises(ValueError):
        F.check_system_name(V.spare_host_name("52:54:00:aa:bb:cc"))
    # a tier, profile or pool may still be called like a group: their groups carry a prefix
    assert F.check_record_name("systems") == "systems"


def test_rules_digest_covers_the_rules_between_records(monkeypatch):
    # a view cached for a valid store says it is valid only under the same rules, those between
    # records (uniqueness, references: the store module) as much as those of one record
    import inspect

    from ansible_collections.baremetal.provision.plugins.module_utils._records import fields as _fields
    from ansible_collections.baremetal.provision.plugins.module_utils._records import schema as _schema
    from ansible_collections.baremetal.provision.plugins.module_utils._records import store as _store

    real = inspect.getsource
    digests = {}
    for changed in (None, _fields, _schema, _store):
        monkeypatch.setattr(
            inspect, "getsource", lambda obj, changed=changed: real(obj) + ("\n# changed" if obj is changed else "")
        )
        _store.rules_digest.cache_clear()
        digests[changed.__name__ if changed else "as shipped"] = _store.rules_digest()
    monkeypatch.undo()
    _store.rules_digest.cache_clear()
    assert len(set(digests.values())) == 4 and None not in digests.values(), digests


def test_cache_files_are_trusted_only_when_private_to_the_user(tmp_path, monkeypatch):
    from ansible_collections.baremetal.provision.plugins.module_utils._records.cache_files import (
        read_cached,
        write_cached,
    )

    monkeypatch.delenv("BAREMETAL_CACHE", raising=False)
    folder = tmp_path / "cache"
    path = str(folder / "view.bin")
    write_cached(path, "fp", {"a": 1})
    assert (folder.stat().st_mode & 0o777) == 0o700 and (os.stat(path).st_mode & 0o777) == 0o600
    assert read_cached(path, "fp") == {"a": 1}
    os.chmod(str(folder), 0o777)  # anybody could have put it there
    assert read_cached(path, "fp") is None
    write_cached(path, "fp", {"a": 2})  # our own folder: made private again, then written
    assert (folder.stat().st_mode & 0o777) == 0o700 and read_cached(path, "fp") == {"a": 2}
    os.chmod(path, 0o666)
    assert read_cached(path, "fp") is None
    os.chmod(path, 0o600)
    if os.geteuid() == 0:  # another user's file, in our folder
        os.chown(path, 65534, 65534)
        assert read_cached(path, "fp") is None
        os.chown(path, 0, 0)
        os.chown(str(folder), 65534, 65534)  # another user's folder: neither read nor written
        assert read_cached(path, "fp") is None
        write_cached(path, "fp", {"a": 3})
        os.chown(str(folder), 0, 0)
        assert read_cached(path, "fp") == {"a": 2}


def test_installed_kernel_options_inherit_apart_from_the_installers(tmp_path):
    store = load(
        tmp_path,
        changes={
            "segments/dmz.yml": FILES["segments/dmz.yml"]
            + "installed_kernel_options: {console: tty0, nomodeset: null}\n",
            "profiles/rocky9-web.yml": FILES["profiles/rocky9-web.yml"]
            + "installed_kernel_options: console=ttyS0,115200n8\n",
            "systems/web01.yml": FILES["systems/web01.yml"] + "installed_kernel_options: {~nomodeset: null}\n",
        },
    )
    web = store.resolve_system("web01")
    assert web["installed_kernel_options"] == "console=ttyS0,115200n8"  # profile wins, the system removes one
    assert web["kernel_options"] == "console=ttyS0 inst.text"  # the installer's are untouched
    assert store.resolve_system("app01")["installed_kernel_options"] == "console=ttyS0,115200n8"  # no segment layer
    assert load(tmp_path / "plain").resolve_system("web01")["installed_kernel_options"] == ""


@pytest.mark.parametrize("field", ["kernel_options", "installed_kernel_options"])
def test_the_separator_is_refused_in_either_field_with_the_field_named(tmp_path, field):
    store = load(
        tmp_path,
        changes={
            "profiles/rocky9-legacy.yml": FILES["profiles/rocky9-legacy.yml"] + "%s: console=ttyS0 --- quiet\n" % field,
        },
    )
    found = messages(store)
    assert any(m.startswith("profiles/rocky9-legacy.yml: %s: '---' is not a kernel option" % field) for m in found), (
        found
    )
    bad = load(
        tmp_path / "b",
        changes={
            "systems/web01.yml": FILES["systems/web01.yml"] + 'installed_kernel_options: {console: "ttyS0;reboot"}\n',
        },
    )
    assert any(m.startswith("systems/web01.yml: installed_kernel_options:") and "';'" in m for m in messages(bad))
