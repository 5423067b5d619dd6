# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory view patched after a record edit equals the view built from the whole store."""

import copy
import json
import os
import random

import pytest
from support.fleet import write_fleet

from ansible_collections.baremetal.provision.plugins.module_utils import _editors as E
from ansible_collections.baremetal.provision.plugins.module_utils import _inventory_view as V
from ansible_collections.baremetal.provision.plugins.module_utils import _view_cache as C
from ansible_collections.baremetal.provision.plugins.module_utils._errors import StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._transaction import Transaction


def _plain(view):
    """As the view comes back from the JSON cache (the patch starts from such a view)."""
    return json.loads(json.dumps(view))


def _edits(store, rng):
    """A random edit of the kinds the replace, provision and retire playbooks make."""
    systems = store.names("systems")
    pools = [p for p in store.names("pools") if store.data("pools", p).get("machines")]
    name = rng.choice(systems)
    tiers = store.names("tiers")
    choices = [
        ("new MAC", lambda txn: E.edit_system(txn, name, {"mac": "52:54:0e:%02x:%02x:%02x" % (rng.randrange(256), rng.randrange(256), rng.randrange(256))})),
        ("reinstall", lambda txn: E.edit_system(txn, name, {"reinstall": True})),
        ("vars", lambda txn: E.edit_system(txn, name, {"vars": {"rack": "r%d" % rng.randrange(99)}})),
        ("retire", lambda txn: E.retire_system(txn, name)),
        ("other tier", lambda txn: E.edit_system(txn, name, {"tier": rng.choice(tiers)})),
    ]
    if pools:
        pool = rng.choice(pools)
        segment = store.data("pools", pool)["segment"]
        same_segment = [s for s in systems if store.resolve_system(s)["segment"] == segment]
        if same_segment:
            target = rng.choice(same_segment)
            choices.append(("spare from pool", lambda txn: E.edit_system(txn, target, {"from_pool": pool})))
            choices.append(("retire to pool", lambda txn: E.retire_system(txn, target, pool)))
    return rng.choice(choices)


@pytest.mark.parametrize("seed", range(12))
def test_patched_inventory_view_equals_a_full_build(tmp_path, monkeypatch, seed):
    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    # half the seeds write the whole view file again every few edits, half only notes
    monkeypatch.setattr(C, "NOTE_HOSTS", 4 if seed % 2 else 1000)
    rng = random.Random(seed)
    root = write_fleet(tmp_path / "records", 60, segments=3, seed=seed)
    # the inventory plugin's view in memory, read from the whole view file it wrote
    fingerprint = V.store_fingerprint(root, C.INVENTORY_FINGERPRINT_EXTRA)
    C.write_cached(C.inventory_path(root), fingerprint, _plain(V.build_view(RecordStore.load(root))))
    held, _how = C.held_view(root, fingerprint)
    outcomes = {"patched": 0, "built": 0, "whole": 0, "noted": 0}
    for _step in range(10):
        try:
            with Transaction(root) as txn:
                scan = V.StoreScan.of_load(txn.store)  # as the record module takes it, under the lock
                before = scan.fingerprint(C.INVENTORY_FINGERPRINT_EXTRA)
                assert before == fingerprint
                label, edit = _edits(txn.store, rng)
                edit(txn)
                pending = txn.commit()
                # the record module patches its own copy: the worker is a fork
                base = C.Base(C.Held(copy.deepcopy(held.view), held.disk, held.touched), scan, before)
                warmed = C.warm(root, txn.store, pending, base=base) if pending else None
        except (StoreError, ValueError):  # a refused edit (a MAC clash, an IP outside...): nothing to compare
            continue
        if warmed is None:
            continue
        outcomes[warmed["inventory"]] += 1
        # under the fingerprint of a full scan: the one the base's scan gave after the edit is the same
        fingerprint = V.store_fingerprint(root, C.INVENTORY_FINGERPRINT_EXTRA)
        built = _plain(V.build_view(RecordStore.load(root)))
        # a new process: the whole view file, and the note of the edits since it was written
        fresh, _how = C.held_view(root, fingerprint)
        # the inventory plugin in the playbook's process (refresh_inventory): the view it holds and the note
        held, how = C.held_view(root, fingerprint, {before: held})
        assert fresh.view == held.view == built, label
        # and group and host order, which the dict comparisons above do not see
        assert list(fresh.view["groups"]) == list(held.view["groups"]) == list(built["groups"]), label
        assert list(fresh.view["hosts"]) == list(held.view["hosts"]), label
        if warmed["inventory"] == "patched":
            assert how.startswith("patched in memory"), how
            outcomes["whole" if held.disk == fingerprint else "noted"] += 1
    assert outcomes["patched"] > 0 and outcomes["noted"] > 0, outcomes
    if seed % 2:
        assert outcomes["whole"] > 0, outcomes


def test_a_note_is_used_only_for_its_own_store_and_base(tmp_path, monkeypatch):
    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    root = write_fleet(tmp_path / "records", 20, segments=2)
    fingerprint = V.store_fingerprint(root, C.INVENTORY_FINGERPRINT_EXTRA)
    view = _plain(V.build_view(RecordStore.load(root)))
    C.write_cached(C.inventory_path(root), fingerprint, view)
    held = C.Held(view, fingerprint, frozenset())
    with Transaction(root) as txn:
        scan = V.StoreScan.of_load(txn.store)
        E.edit_system(txn, txn.store.names("systems")[0], {"reinstall": True})
        C.warm(root, txn.store, txn.commit(), base=C.Base(C.Held(copy.deepcopy(view), fingerprint, frozenset()), scan, fingerprint))
    after = V.store_fingerprint(root, C.INVENTORY_FINGERPRINT_EXTRA)
    # the note names the whole view file as its base: a view in memory of another store is not used
    found, how = C.held_view(root, after, {"another store": C.Held(copy.deepcopy(view), "another file", frozenset())})
    assert how.startswith("from the cache folder") and found.view == _plain(V.build_view(RecordStore.load(root)))
    # nor one that changed hosts the note does not cover
    found, how = C.held_view(root, after, {"later": C.Held(copy.deepcopy(view), fingerprint, frozenset({"web99"}))})
    assert how.startswith("from the cache folder")
    # a store changed since (by hand): nothing cached fits it
    with open(os.path.join(root, "systems", RecordStore.load(root).names("systems")[1] + ".yml"), "a", encoding="utf-8") as handle:
        handle.write("# edited by hand\n")
    assert C.held_view(root, V.store_fingerprint(root, C.INVENTORY_FINGERPRINT_EXTRA), {fingerprint: held}) is None


def test_patch_declines_what_it_cannot_follow(tmp_path):
    root = write_fleet(tmp_path / "records", 20, segments=2)
    store = RecordStore.load(root)
    base = _plain(V.build_view(store))
    # a segment or tier edit changes every system in it: a full build, never a patch
    assert V.patch_view(copy.deepcopy(base), store, ["segments/dmz.yml"]) is None
    assert V.patch_view(copy.deepcopy(base), store, ["tiers/web.yml"]) is None
    # a system moved into a tier no other system has, and out of the only one it was in: the new
    # group takes its place in the order, the emptied one goes, as in a full build
    name = store.names("systems")[0]
    tiers = store.names("tiers")
    with open(os.path.join(root, "tiers", tiers[0] + ".yml"), encoding="utf-8") as handle:
        tier_text = handle.read()
    with open(os.path.join(root, "tiers", "aaa-lonely.yml"), "w", encoding="utf-8") as handle:
        handle.write(tier_text)
    with Transaction(root) as txn:
        E.edit_system(txn, name, {"tier": "aaa-lonely"})
        pending = txn.commit()
        base = _plain(V.build_view(txn.store))
    with Transaction(root) as txn:
        E.edit_system(txn, name, {"tier": tiers[0]})
        pending = txn.commit()
        patched = V.patch_view(copy.deepcopy(base), txn.store, pending)
    built = _plain(V.build_view(RecordStore.load(root)))
    assert "tier_aaa-lonely" in base["groups"] and "tier_aaa-lonely" not in built["groups"]
    assert patched == built and list(patched["groups"]) == list(built["groups"])


def test_a_spare_moving_from_one_pool_to_another_is_patched_as_built(tmp_path):
    root = write_fleet(tmp_path / "records", 30, segments=2)
    store = RecordStore.load(root)
    base = _plain(V.build_view(store))
    pools = [p for p in store.names("pools") if store.data("pools", p).get("machines")]
    assert len(pools) >= 2
    # both directions, so the pool written second is once the giver and once the taker
    for giver, taker in ((pools[0], pools[1]), (pools[1], pools[0])):
        with Transaction(root) as txn:
            give = copy.deepcopy(txn.store.data("pools", giver))
            take = copy.deepcopy(txn.store.data("pools", taker))
            take["machines"].append(give["machines"].pop())
            txn.put("pools", giver, give)
            txn.put("pools", taker, take)
            pending = txn.commit()
            patched = V.patch_view(copy.deepcopy(base), txn.store, pending)
        built = _plain(V.build_view(RecordStore.load(root)))
        assert patched == built and list(patched["groups"]) == list(built["groups"])
        base = built


def test_a_scan_after_writing_some_files_is_the_full_scan_of_the_store(tmp_path):
    root = write_fleet(tmp_path / "records", 20, segments=2)
    scan = V.StoreScan(root)
    systems = sorted(os.listdir(os.path.join(root, "systems")))
    # a new file (into its place in the order), a removed one and a replaced one (a new inode)
    written = ["systems/aaa-new.yml", "systems/" + systems[0], "systems/" + systems[1]]
    with open(os.path.join(root, written[0]), "w", encoding="utf-8") as handle:
        handle.write("tier: web\n")
    os.unlink(os.path.join(root, written[1]))
    replacement = os.path.join(root, "systems", ".tmp")
    with open(replacement, "w", encoding="utf-8") as handle:
        handle.write("tier: web\n")
    os.replace(replacement, os.path.join(root, written[2]))
    after = scan.after_writing(written)
    assert after.fingerprint("x") == V.StoreScan(root).fingerprint("x") != scan.fingerprint("x")
    # a file changed that the writer does not name: the fingerprints differ (a view is then not found)
    with open(os.path.join(root, "systems", systems[2]), "a", encoding="utf-8") as handle:
        handle.write("# edited by hand\n")
    assert after.after_writing(written).fingerprint("x") != V.StoreScan(root).fingerprint("x")


def test_the_scan_a_load_makes_is_the_full_scan_of_the_store(tmp_path):
    root = write_fleet(tmp_path / "records", 20, segments=2)
    # what a load skips still counts: a temporary file, a misnamed record, a folder
    for relpath in ("systems/.bm-tmp-x", "systems/web99.yaml", "pools/notes"):
        if relpath.endswith("notes"):
            os.mkdir(os.path.join(root, relpath))
        else:
            with open(os.path.join(root, relpath), "w", encoding="utf-8") as handle:
                handle.write("x: 1\n")
    store = RecordStore.load(root)
    assert V.StoreScan.of_load(store).lines == V.StoreScan(root).lines
    assert V.StoreScan.of_load(store).fingerprint("x") == V.StoreScan(root).fingerprint("x")
