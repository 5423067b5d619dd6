# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An edit of systems and pools is checked on what it touches, and its views are patched: both
must come out exactly as the whole-store check and a fresh build of the views from the files."""

import json
import os

import pytest
from support.store import write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as E
from ansible_collections.baremetal.provision.plugins.module_utils._records import index as I
from ansible_collections.baremetal.provision.plugins.module_utils._records.cache_files import read_cached, write_cached
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import StoreScan
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import Transaction
from ansible_collections.baremetal.provision.plugins.module_utils._views import cache as C
from ansible_collections.baremetal.provision.plugins.module_utils._views import inventory as V
from ansible_collections.baremetal.provision.plugins.module_utils._views import provisioner as P

PROVISIONERS = ("prov-dmz", "prov-app")

WEB02 = """\
tier: web
hardware_model: r650
interfaces:
  - {name: eth0, mac: "52:54:00:12:34:57", ip: 192.0.2.51, primary: true}
"""


def _new_system(txn):
    E.edit_system(
        txn,
        "web03",
        {"tier": "web", "mac": "52:54:00:12:34:70", "ip": "192.0.2.70", "hardware_model": "r750"},
    )


EDITS = {
    "mac": lambda txn: E.edit_system(txn, "web01", {"mac": "52:54:00:12:34:99"}),
    "from-pool": lambda txn: E.edit_system(txn, "web01", {"from_pool": "spares-dmz"}),
    "new-system-new-group": _new_system,
    "retire-last-of-its-tier": lambda txn: E.retire_system(txn, "app01"),
    "retire-to-pool": lambda txn: E.retire_system(txn, "web02", "spares-dmz"),
    "pool-removed": lambda txn: E.remove_record(txn, "pools", "spares-dmz"),
    "two-systems": lambda txn: (
        E.edit_system(txn, "web01", {"mac": "52:54:00:12:34:98"}),
        E.edit_system(txn, "web02", {"ip": "192.0.2.52"}),
    ),
}


def _store(tmp_path, monkeypatch, extra=None):
    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    return write_store(tmp_path / "records", extra={"systems/web02.yml": WEB02, **(extra or {})})


def _read(root, name):
    with open(os.path.join(root, name), "rb") as handle:
        return handle.read()


def _dumped(value):
    return json.dumps(value)  # in order: hosts and groups come out in the order they are kept


def _cache_views(root):
    """The views of the store as it is, cached as the inventory plugin and a sync leave them."""
    store = RecordStore.load(root)
    scan = StoreScan(root)
    write_cached(C.inventory_path(root), scan.fingerprint(C.INVENTORY_FINGERPRINT_EXTRA), V.build_view(store))
    for provisioner in PROVISIONERS:
        write_cached(
            C.provisioner_path(root, provisioner), scan.fingerprint(provisioner), P.build_view(store, provisioner)
        )


@pytest.mark.parametrize("edit", list(EDITS.values()), ids=list(EDITS))
def test_an_indexed_edit_ends_as_a_whole_check_and_a_fresh_build(tmp_path, monkeypatch, edit):
    root = _store(tmp_path, monkeypatch)
    with Transaction(root):
        pass  # the first run checks the whole store and indexes it
    _cache_views(root)
    with Transaction(root) as txn:
        assert I.remembered_problems(root, txn.scan_before) == frozenset(), "the index stood for the store"
        edit(txn)
        assert txn.commit()
        warmed = C.warm(root, txn)
    fresh = RecordStore.load(root)
    assert txn.after_problems == frozenset(fresh.problems()) == frozenset()
    scan = StoreScan(root)
    assert I.remembered_problems(root, scan) == frozenset(), "the index stands for the store after the edit"
    assert warmed["inventory"] == "patched"
    inventory = C.inventory_view(root, scan.fingerprint(C.INVENTORY_FINGERPRINT_EXTRA))
    assert _dumped(inventory) == _dumped(json.loads(json.dumps(V.build_view(fresh))))
    assert warmed["provisioners"], "the change touched a provisioner"
    for provisioner in warmed["provisioners"]:
        view = C.provisioner_view(root, provisioner, scan.fingerprint(provisioner))
        assert _dumped(C.content(view)) == _dumped(json.loads(json.dumps(P.build_view(fresh, provisioner)))), (
            provisioner
        )


def test_a_change_of_a_tier_is_checked_and_built_whole(tmp_path, monkeypatch):
    root = _store(tmp_path, monkeypatch)
    with Transaction(root):
        pass
    _cache_views(root)
    with Transaction(root) as txn:
        E.set_fields(txn, "tiers", "web", {"vars": {"site": "elsewhere"}})
        assert not txn._incremental()
        txn.commit()
        assert C.warm(root, txn)["inventory"] == "built"
    inventory = read_cached(C.inventory_path(root), StoreScan(root).fingerprint(C.INVENTORY_FINGERPRINT_EXTRA))
    assert inventory["hosts"]["web01"]["bm_vars"]["site"] == "elsewhere"


# three systems on one MAC, a fourth on the IP of another: each edit below takes one away or adds one
CLASHES = {
    "systems/web02.yml": WEB02.replace("52:54:00:12:34:57", "52:54:00:12:34:56"),
    "systems/web03.yml": WEB02.replace("52:54:00:12:34:57", "52:54:00:12:34:56").replace("192.0.2.51", "192.0.2.53"),
    "systems/web04.yml": WEB02.replace("52:54:00:12:34:57", "52:54:00:12:34:58").replace("192.0.2.51", "192.0.2.53"),
}

FIXES = {
    "one-of-three-leaves-the-mac": lambda txn: E.edit_system(txn, "web03", {"mac": "52:54:00:12:34:59"}),
    "one-of-three-retired": lambda txn: E.retire_system(txn, "web02"),
    "the-ip-clash-resolved": lambda txn: E.edit_system(txn, "web04", {"ip": "192.0.2.54"}),
    "a-spare-taken-by-a-clashing-system": lambda txn: E.edit_system(txn, "web03", {"from_pool": "spares-dmz"}),
}


@pytest.mark.parametrize("edit", list(FIXES.values()), ids=list(FIXES))
def test_problems_the_edit_takes_away_leave_the_index_exact(tmp_path, monkeypatch, edit):
    root = _store(tmp_path, monkeypatch, CLASHES)
    with Transaction(root) as txn:
        assert len(txn.before_problems) >= 5, "the store starts with its clashes"
    with Transaction(root) as txn:
        edit(txn)
        after = txn._problems_after()
        assert after == frozenset(txn.store.problems()), "the index's problems after the edit are the whole check's"
        assert after != txn.before_problems
        # the clash's other sides now name fewer systems: not a new problem of theirs
        assert txn.new_problems() == []
        txn.commit()
    assert txn.after_problems == frozenset(RecordStore.load(root).problems())
    assert C.warm(root, txn) is None, "a store with problems leaves no view"


def test_a_record_joining_a_clash_is_refused(tmp_path, monkeypatch):
    root = _store(tmp_path, monkeypatch, CLASHES)
    with Transaction(root) as txn:
        E.edit_system(txn, "web04", {"mac": "52:54:00:12:34:56"})
        assert [str(p) for p in txn.new_problems()] == [
            "systems/web04.yml: interfaces[0].mac: MAC 52:54:00:12:34:56 is also used by "
            "systems/web01.yml (interfaces[0].mac), systems/web02.yml (interfaces[0].mac), "
            "systems/web03.yml (interfaces[0].mac)"
        ]


REFUSED = {
    "a-spare-mac": lambda txn: E.edit_system(txn, "web01", {"mac": "52:54:00:00:00:02"}),
    "another-system-ip": lambda txn: E.edit_system(txn, "web02", {"ip": "198.51.100.50"}),
    "an-ip-outside": lambda txn: E.edit_system(txn, "web02", {"ip": "203.0.113.9"}),
    "a-missing-tier": lambda txn: E.edit_system(txn, "web05", {"tier": "nope", "mac": "52:54:00:12:35:01"}),
    "a-mac-of-a-clash": lambda txn: E.edit_system(txn, "web01", {"mac": "52:54:00:12:34:58"}),
}


@pytest.mark.parametrize("edit", list(REFUSED.values()), ids=list(REFUSED))
def test_a_refusal_names_what_the_whole_check_would(tmp_path, monkeypatch, edit):
    root = _store(tmp_path, monkeypatch, {"systems/web04.yml": CLASHES["systems/web04.yml"]})
    files = {name: _read(root, name) for name in ("systems/web01.yml", "systems/web02.yml")}
    with Transaction(root) as txn:
        edit(txn)
        local = txn.new_problems()
        whole = sorted(set(txn.store.problems()) - txn.before_problems)
        assert local == whole and local, "the edit's own checks find what the whole store's do"
        with pytest.raises(StoreError):
            txn.commit()
    for name, text in files.items():
        assert _read(root, name) == text, "nothing was written"


def test_a_store_changed_outside_the_modules_is_checked_whole(tmp_path, monkeypatch):
    root = _store(tmp_path, monkeypatch)
    with Transaction(root):
        pass
    # a git pull: web02 now clashes with web01, and no module saw it
    path = os.path.join(root, "systems", "web02.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(WEB02.replace("52:54:00:12:34:57", "52:54:00:12:34:56"))
    assert I.remembered_problems(root, StoreScan(root)) is None, "the index does not stand for this store"
    with Transaction(root) as txn:
        assert any("also used by" in p.message for p in txn.before_problems)


def test_the_index_is_the_users_own(tmp_path, monkeypatch):
    root = _store(tmp_path, monkeypatch)
    with Transaction(root) as txn:
        scan = txn.scan_before
    assert I.remembered_problems(root, scan) == frozenset()
    monkeypatch.setenv("BAREMETAL_CACHE", "off")
    assert I.remembered_problems(root, scan) is None
    monkeypatch.delenv("BAREMETAL_CACHE")
    os.chmod(tmp_path / "cache", 0o777)
    assert I.remembered_problems(root, scan) is None, "a cache folder others can write to is not read"


def test_the_store_keeps_its_owners_up_to_date(tmp_path, monkeypatch):
    root = _store(tmp_path, monkeypatch)
    store = RecordStore.load(root)
    owners = store.owners()
    assert owners[("MAC", "52:54:00:12:34:56")] == [("systems/web01.yml", "interfaces[0].mac")]
    store.put("systems", "web01", {"tier": "web", "interfaces": [{"name": "eth0", "mac": "52:54:00:00:00:01"}]})
    assert ("MAC", "52:54:00:12:34:56") not in owners
    assert sorted(owners[("MAC", "52:54:00:00:00:01")]) == [
        ("pools/spares-dmz.yml", "machines[0].mac"),
        ("systems/web01.yml", "interfaces[0].mac"),
    ]
    store.remove("pools", "spares-dmz")
    assert owners[("MAC", "52:54:00:00:00:01")] == [("systems/web01.yml", "interfaces[0].mac")]
    assert ("serial", "SN001") not in owners


def test_a_savepoint_undoes_an_item_and_leaves_its_files_as_they_were(tmp_path, monkeypatch):
    # the pool's file is not in the modules' form: undoing through put would rewrite it
    pool = "# spares of the dmz, by hand\nsegment: dmz\nmachines:\n  - mac: '52:54:00:00:00:01'\n    hardware_model: r650\n"
    root = _store(tmp_path, monkeypatch, {"pools/spares-dmz.yml": pool})
    with Transaction(root) as txn:
        E.edit_system(txn, "web02", {"ip": "192.0.2.52"})
        point = txn.savepoint()
        E.edit_system(txn, "web01", {"from_pool": "spares-dmz"})  # the pool and web01 staged
        assert set(txn.pending()) == {"pools/spares-dmz.yml", "systems/web01.yml", "systems/web02.yml"}
        txn.restore(point)
        assert set(txn.pending()) == {"systems/web02.yml"}
        assert txn.store.data("pools", "spares-dmz")["machines"][0]["mac"] == "52:54:00:00:00:01"
        assert txn.store.data("systems", "web01")["interfaces"][0]["mac"] == "52:54:00:12:34:56"
        assert txn.new_problems() == []
        txn.commit()
    assert _read(root, "pools/spares-dmz.yml").decode() == pool
    assert txn.after_problems == frozenset(RecordStore.load(root).problems())
