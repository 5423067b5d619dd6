# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The views a record module leaves behind (the inventory's, each provisioner's) are a base file
and one delta: a chain of edits reads and writes the delta only, and whoever reads a view (a fresh
process, or one that holds the inventory view from before the edits) gets exactly what a fresh
build of the files gives, and a provisioner's view the revision it would have had written whole."""

import json
import os

import pytest
from support.store import write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as E
from ansible_collections.baremetal.provision.plugins.module_utils._records.cache_files import write_cached
from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import StoreScan
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import Transaction
from ansible_collections.baremetal.provision.plugins.module_utils._views import cache as C
from ansible_collections.baremetal.provision.plugins.module_utils._views import inventory as V
from ansible_collections.baremetal.provision.plugins.module_utils._views import inventory_patch as IP
from ansible_collections.baremetal.provision.plugins.module_utils._views import provisioner as P

WEB02 = """\
tier: web
hardware_model: r650
interfaces:
  - {name: eth0, mac: "52:54:00:12:34:57", ip: 192.0.2.51, primary: true}
"""

EDITS = (
    lambda txn: E.edit_system(txn, "web01", {"mac": "52:54:00:12:34:99"}),
    lambda txn: E.edit_system(txn, "web03", {"tier": "web", "mac": "52:54:00:12:34:70", "ip": "192.0.2.70"}),
    lambda txn: E.retire_system(txn, "app01"),
    lambda txn: E.edit_system(txn, "web01", {"from_pool": "spares-dmz"}),
    lambda txn: E.retire_system(txn, "web02", "spares-dmz"),
)


def _fingerprint(root):
    return StoreScan(root).fingerprint(C.INVENTORY_FINGERPRINT_EXTRA)


def _fresh(root):
    """What a build of the files gives, as plain data, in its order."""
    return json.dumps(V.build_view(RecordStore.load(root)))


def _based(tmp_path, monkeypatch, name="records"):
    """A store whose views are cached whole, as the inventory plugin and a render leave them."""
    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    root = write_store(tmp_path / name, extra={"systems/web02.yml": WEB02})
    write_cached(C.inventory_path(root), _fingerprint(root), V.build_view(RecordStore.load(root)))
    C.cached_provisioner_view(root, "prov-dmz", RecordStore.load)
    return root


def _provisioner_view(root):
    return C.provisioner_view(root, "prov-dmz", StoreScan(root).fingerprint("prov-dmz"))


def _edit(root, edit):
    with Transaction(root) as txn:
        edit(txn)
        assert txn.commit()
        return C.warm(root, txn)


def test_a_chain_of_edits_writes_the_delta_and_never_the_base(tmp_path, monkeypatch):
    root = _based(tmp_path, monkeypatch)
    base = os.stat(C.inventory_path(root))
    base_fingerprint = _fingerprint(root)
    spares = set(C.inventory_view(root, base_fingerprint)["groups"]["pool_spares-dmz"]["hosts"])
    for number, edit in enumerate(EDITS, 1):
        assert _edit(root, edit)["inventory"] == "patched"
        delta = C.inventory_delta(root, _fingerprint(root))
        assert delta is not None and delta["base"] == base_fingerprint, "edit %d: a delta over the first base" % number
        view = C.inventory_view(root, _fingerprint(root))
        assert json.dumps(view) == _fresh(root), "edit %d" % number
        spares.update(view["groups"]["pool_spares-dmz"]["hosts"])
    after = os.stat(C.inventory_path(root))
    assert (after.st_ino, after.st_mtime_ns) == (base.st_ino, base.st_mtime_ns), "the base was not written again"
    # every host the edits changed, and only those: the four systems, and the pool's spares before
    # and after each edit of it (web01 took a spare, web02 became one)
    changed = set(C.inventory_delta(root, _fingerprint(root))["hosts"])
    assert changed == {"web01", "web02", "web03", "app01"} | spares


def test_more_changed_hosts_than_a_delta_keeps_writes_the_view_whole(tmp_path, monkeypatch):
    root = _based(tmp_path, monkeypatch)
    monkeypatch.setattr(C, "DELTA_KEPT", 2)
    assert _edit(root, EDITS[0])["inventory"] == "patched"
    assert C.inventory_delta(root, _fingerprint(root)) is not None
    assert _edit(root, EDITS[1])["inventory"] == "patched"  # web01 and web03: two hosts
    assert C.inventory_delta(root, _fingerprint(root)) is not None
    assert _edit(root, EDITS[2])["inventory"] == "patched"  # app01 makes three: written whole
    assert C.inventory_delta(root, _fingerprint(root)) is None
    found = C.inventory_view_of(root, _fingerprint(root))
    assert found[1] == (_fingerprint(root), frozenset()), "a new base"
    assert json.dumps(found[0]) == _fresh(root)
    assert _edit(root, lambda txn: E.edit_system(txn, "web02", {"ip": "192.0.2.52"}))["inventory"] == "patched"
    assert C.inventory_delta(root, _fingerprint(root))["base"] == found[1][0], "the next delta is over the new base"
    assert json.dumps(C.inventory_view(root, _fingerprint(root))) == _fresh(root)


def test_a_reader_holding_the_view_before_the_edits_reads_only_the_delta(tmp_path, monkeypatch):
    root = _based(tmp_path, monkeypatch)
    held = C.inventory_view_of(root, _fingerprint(root))
    real, reads = C.read_cached, []
    for edit in EDITS[:3]:
        _edit(root, edit)
        reads.clear()
        monkeypatch.setattr(C, "read_cached", lambda path, fp: reads.append(path) or real(path, fp))
        found = C.inventory_view_of(root, _fingerprint(root), held)
        monkeypatch.setattr(C, "read_cached", real)
        # the base's header is looked at (is it the view of this very store?), its hosts are not loaded
        assert reads == [C.inventory_path(root), C.inventory_delta_path(root)]
        assert json.dumps(found[0]) == _fresh(root)
        held = found
    # a held view of another base, or one that changed hosts the delta does not hold: the base is read
    stranger = (held[0], ("another base", frozenset()))
    assert json.dumps(C.inventory_view_of(root, _fingerprint(root), stranger)[0]) == _fresh(root)
    ahead = (dict(held[0], hosts={}), (held[1][0], held[1][1] | {"web09"}))
    assert json.dumps(C.inventory_view_of(root, _fingerprint(root), ahead)[0]) == _fresh(root)


def test_a_delta_whose_base_is_gone_is_never_used(tmp_path, monkeypatch):
    root = _based(tmp_path, monkeypatch)
    _edit(root, EDITS[0])
    write_cached(C.inventory_path(root), "another store", {"version": 0})
    assert C.inventory_view(root, _fingerprint(root)) is None
    # the next edit finds no view of the store before it: it builds the view whole
    assert _edit(root, EDITS[1])["inventory"] == "built"
    assert json.dumps(C.inventory_view(root, _fingerprint(root))) == _fresh(root)


def test_hosts_and_groups_that_do_not_match_are_built_instead():
    meta = {
        "version": 3,
        "groups": {"systems": {"hosts": ["a", "b"], "children": []}, "provisioners": {"hosts": [], "children": []}},
    }
    assert IP.with_hosts(meta, {"a": {}, "b": {}}, {})["hosts"] == {"a": {}, "b": {}}
    assert IP.with_hosts(meta, {"a": {}}, {}) is None, "a host of a group without variables"
    assert IP.with_hosts(meta, {"a": {}, "b": {}, "c": {}}, {}) is None, "a host in no group"
    assert IP.with_hosts(meta, {"a": {}, "b": {}}, {"b": None}) is None, "a host gone but still in a group"
    twice = {
        "version": 3,
        "groups": {"systems": {"hosts": ["a"], "children": []}, "provisioners": {"hosts": ["a"], "children": []}},
    }
    assert IP.with_hosts(twice, {"a": {}}, {}) is None, "a host in two of the lists"


def test_a_provisioners_view_keeps_a_delta_too_with_the_revisions_of_a_whole_write(tmp_path, monkeypatch):
    root = _based(tmp_path, monkeypatch)
    base = os.stat(C.provisioner_path(root, "prov-dmz"))
    whole = _based(tmp_path, monkeypatch, "whole")  # the same store and edits, every view written whole
    for number, edit in enumerate(EDITS, 1):
        assert "prov-dmz" in _edit(root, edit)["provisioners"]
        monkeypatch.setattr(C, "DELTA_KEPT", 0)
        _edit(whole, edit)
        monkeypatch.undo()
        monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
        assert C._provisioner_delta(root, "prov-dmz", StoreScan(root).fingerprint("prov-dmz")) is not None
        assert C._provisioner_delta(whole, "prov-dmz", StoreScan(whole).fingerprint("prov-dmz")) is None
        view, written = _provisioner_view(root), _provisioner_view(whole)
        fresh = P.build_view(RecordStore.load(root), "prov-dmz")
        assert json.dumps(C.content(view)) == json.dumps(json.loads(json.dumps(fresh))), "edit %d" % number
        # the same revision and changes as the view written whole (a sync's scope relies on them)
        assert (view["revision"], view["changes"]) == (written["revision"], written["changes"]), "edit %d" % number
        assert len(view["changes"]) == number
    after = os.stat(C.provisioner_path(root, "prov-dmz"))
    assert (after.st_ino, after.st_mtime_ns) == (base.st_ino, base.st_mtime_ns), "the base was not written again"
    # the render finds it without loading the store
    found = C.cached_provisioner_view(root, "prov-dmz", lambda path: pytest.fail("the store was loaded"))
    assert found == _provisioner_view(root)


def test_a_provisioner_delta_whose_base_is_gone_is_never_used(tmp_path, monkeypatch):
    root = _based(tmp_path, monkeypatch)
    _edit(root, EDITS[0])
    write_cached(C.provisioner_path(root, "prov-dmz"), "another store", {"systems": []})
    assert _provisioner_view(root) is None
    _edit(root, EDITS[1])
    assert C._provisioner_delta(root, "prov-dmz", StoreScan(root).fingerprint("prov-dmz")) is None, "built whole"
    fresh = P.build_view(RecordStore.load(root), "prov-dmz")
    assert json.dumps(C.content(_provisioner_view(root))) == json.dumps(json.loads(json.dumps(fresh)))


def test_a_render_takes_the_view_the_edit_left_without_a_scan(tmp_path, monkeypatch):
    root = _based(tmp_path, monkeypatch)
    left = _edit(root, EDITS[0])["fingerprints"]["prov-dmz"]
    assert left == StoreScan(root).fingerprint("prov-dmz")
    monkeypatch.setattr(C, "store_fingerprint", lambda *args: pytest.fail("the store was scanned"))
    view, how = C.view_for_render(root, "prov-dmz", lambda path: pytest.fail("the store was loaded"), left)
    assert how == "left by the record change" and view == _provisioner_view(root)
    monkeypatch.undo()
    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    # no view under it (another controller's, or a cleared cache): the store is scanned, as without it
    assert C.view_for_render(root, "prov-dmz", RecordStore.load, "not cached here") == (view, "cached")
    os.unlink(C.provisioner_delta_path(root, "prov-dmz"))
    view, how = C.view_for_render(root, "prov-dmz", RecordStore.load, left)
    assert how == "built" and C.content(view) == json.loads(
        json.dumps(P.build_view(RecordStore.load(root), "prov-dmz"))
    )
