# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sync of the changed systems only (scope=changed) leaves the provisioner's trees, ACL map and
netboot index exactly as a sync of every system would, and looks at every system whenever the
provisioner's last sync cannot vouch for the others."""

import json
import os

import pytest
from support.store import write_store
from support.sync import copy_netboot_state, sync_options

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import netboot as N
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_memo as M
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import scope as S
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import sync as P
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import tree_sync as T
from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as E
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import Transaction
from ansible_collections.baremetal.provision.plugins.module_utils._views import cache as C

WEB02 = """\
tier: web
hardware_model: r650
interfaces:
  - {name: eth0, mac: "52:54:00:12:34:57", ip: 192.0.2.51, primary: true}
"""

EDITS = {
    "mac": lambda txn: E.edit_system(txn, "web01", {"mac": "52:54:00:12:34:99"}),
    "from-pool": lambda txn: E.edit_system(txn, "web01", {"from_pool": "spares-dmz"}),
    "new-system": lambda txn: E.edit_system(
        txn, "web03", {"tier": "web", "mac": "52:54:00:12:34:70", "ip": "192.0.2.70", "hardware_model": "r750"}
    ),
    "retire": lambda txn: E.retire_system(txn, "web02"),
    "retire-to-pool": lambda txn: E.retire_system(txn, "web02", "spares-dmz"),
    "ip": lambda txn: E.edit_system(txn, "web02", {"ip": "192.0.2.52"}),
    "two-systems": lambda txn: (
        E.edit_system(txn, "web01", {"mac": "52:54:00:12:34:98"}),
        E.edit_system(txn, "web02", {"ip": "192.0.2.53"}),
    ),
}


def _options(base, component, scope=S.ALL):
    return sync_options(base, component, scope=scope)


def _files(root, skip=(T.MANIFEST,)):
    """{relpath: bytes} of every file under root but skip."""
    out = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            relpath = os.path.relpath(path, root)
            if relpath not in skip:
                with open(path, "rb") as handle:
                    out[relpath] = handle.read()
    return out


def _state(base):
    """What the provisioner serves: both trees, the ACL map and the netboot index."""
    return {
        "tftp": _files(os.path.join(base, "tftp")),
        "www": _files(os.path.join(base, "www")),
        "nginx": _files(os.path.join(base, "nginx")),
        "index": N.read_json(os.path.join(base, "state", N.INDEX), None),
    }


def _sync(view, base, scope):
    return {component: P.sync(component, view, _options(base, component, scope)) for component in ("tftp", "web")}


def _fresh(view, tmp_path, like):
    """A sync of every system into a fresh provisioner with like's secret and netboot state."""
    base = str(tmp_path / ("fresh-%d" % len(os.listdir(str(tmp_path)))))
    copy_netboot_state(os.path.join(like, "state"), os.path.join(base, "state"))
    _sync(view, base, S.ALL)
    return _state(base)


def _edit(root, edit):
    with Transaction(root) as txn:
        edit(txn)
        assert txn.commit()
        assert C.warm(root, txn)


@pytest.fixture(name="lab")
def _lab(tmp_path, monkeypatch):
    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    root = write_store(tmp_path / "records", extra={"systems/web02.yml": WEB02})
    base = str(tmp_path / "prov")
    view = C.cached_provisioner_view(root, "prov-dmz", RecordStore.load)
    results = _sync(view, base, S.ALL)  # site: the whole sync the next ones build on
    assert results["tftp"]["scope"] == S.ALL and results["tftp"]["rendered"] == len(view["systems"])
    return root, base


def _view(root):
    return C.cached_provisioner_view(root, "prov-dmz", lambda path: pytest.fail("the warmed view was not used"))


@pytest.mark.parametrize("edit", list(EDITS.values()), ids=list(EDITS))
def test_a_sync_of_the_changed_systems_leaves_what_a_whole_sync_leaves(tmp_path, lab, edit):
    root, base = lab
    _edit(root, edit)
    view = _view(root)
    results = _sync(view, base, S.CHANGED)
    for component in ("tftp", "web"):
        assert results[component]["scope"] == S.CHANGED, results[component].get("scope_reason")
        assert results[component]["rendered"] <= 2, "only the changed systems were rendered"
    assert _state(base) == _fresh(view, tmp_path, base)
    # and the next edit builds on it
    _edit(root, lambda txn: E.edit_system(txn, "web01", {"mac": "52:54:00:12:34:55"}))
    view = _view(root)
    assert _sync(view, base, S.CHANGED)["tftp"]["scope"] == S.CHANGED
    assert _state(base) == _fresh(view, tmp_path, base)


def test_edits_that_were_never_synced_are_synced_together(tmp_path, lab):
    root, base = lab
    for edit in (EDITS["mac"], EDITS["retire"], EDITS["new-system"]):
        _edit(root, edit)  # three runs whose sync did not happen (a failed play, a check run)
    view = _view(root)
    assert len(view["changes"]) == 3
    results = _sync(view, base, S.CHANGED)
    assert results["tftp"]["scope"] == S.CHANGED and results["tftp"]["removed"], "web02's files went"
    assert _state(base) == _fresh(view, tmp_path, base)


def test_a_sync_of_the_same_records_again_renders_nothing(lab):
    root, base = lab
    _edit(root, EDITS["mac"])
    view = _view(root)
    _sync(view, base, S.CHANGED)
    again = _sync(view, base, S.CHANGED)
    assert again["tftp"]["scope"] == S.CHANGED and again["tftp"]["rendered"] == 0
    assert not again["tftp"]["written"] and not again["web"]["written"]


def _reason(view, base, component="tftp"):
    result = P.sync(component, view, _options(base, component, S.CHANGED))
    assert result["scope"] == S.ALL
    return result["scope_reason"]


def test_a_first_sync_looks_at_every_system(tmp_path, monkeypatch):
    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    root = write_store(tmp_path / "records")
    view = C.cached_provisioner_view(root, "prov-dmz", RecordStore.load)
    assert "no whole sync" in _reason(view, str(tmp_path / "prov"))


def test_changed_options_or_secret_look_at_every_system(lab):
    root, base = lab
    _edit(root, EDITS["mac"])
    view = _view(root)
    result = P.sync("web", view, dict(_options(base, "web", S.CHANGED), secrets={"note": "n2"}))
    assert result["scope"] == S.ALL and "options" in result["scope_reason"]
    os.unlink(os.path.join(base, "state", N.SECRET))  # a new secret: every token changes
    assert "secret" in _reason(view, base, "web")


def test_records_changed_outside_the_modules_look_at_every_system(lab):
    root, base = lab
    with open(os.path.join(root, "systems", "web02.yml"), "w", encoding="utf-8") as handle:
        handle.write(WEB02.replace("192.0.2.51", "192.0.2.57"))  # a git pull, say
    view = C.cached_provisioner_view(root, "prov-dmz", RecordStore.load)
    assert view["changes"] == {}
    assert "not made from" in _reason(view, base)


def test_a_view_built_again_from_the_same_records_has_the_same_revision(lab, monkeypatch, tmp_path):
    root, _base = lab
    first = C.cached_provisioner_view(root, "prov-dmz", RecordStore.load)
    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "another-controller"))
    again = C.cached_provisioner_view(root, "prov-dmz", RecordStore.load)
    assert again["revision"] == first["revision"]
    _edit(root, EDITS["mac"])
    assert _view(root)["revision"] != first["revision"]


def test_a_cold_and_a_warm_load_give_a_built_view_the_same_revision(tmp_path, monkeypatch):
    """A first load returns the YAML loader's own types, a load through the parse cache plain
    ones: the revision of the same content must not tell them apart."""
    from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import build_view

    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    root = write_store(tmp_path / "records")
    cold = C._built(build_view(RecordStore.load(root), "prov-dmz"))
    warm = C._built(build_view(RecordStore.load(root), "prov-dmz"))
    assert cold["revision"] == warm["revision"]


def test_a_sync_killed_half_way_leaves_no_record_of_a_whole_sync(lab, monkeypatch):
    root, base = lab
    _edit(root, EDITS["mac"])
    view = _view(root)

    def killed(*args, **kwargs):
        raise OSError("killed")

    monkeypatch.setattr(T, "apply", killed)
    with pytest.raises(OSError):
        P.sync("tftp", view, _options(base, "tftp", S.CHANGED))
    monkeypatch.undo()
    assert "tftp" not in N.read_json(os.path.join(base, "state", S.SYNCED), {})
    assert "no whole sync" in _reason(view, base)


def test_a_render_memo_that_is_not_the_last_syncs_looks_at_every_system(lab):
    root, base = lab
    _edit(root, EDITS["mac"])
    view = _view(root)
    path = M.memo_path(os.path.join(base, "state"), "tftp")
    with open(path, encoding="utf-8") as handle:
        memo = json.load(handle)
    memo["systems"].pop(sorted(memo["systems"])[0])
    N.write_json(path, memo, mode=0o600)
    assert "render memo" in _reason(view, base)


def test_a_netboot_index_that_is_not_the_last_syncs_looks_at_every_system(tmp_path, lab):
    """The web step patches the index, and the nginx map comes from it: an index removed by hand
    must not leave a map of the changed systems alone."""
    root, base = lab
    _edit(root, EDITS["mac"])
    view = _view(root)
    os.unlink(os.path.join(base, "state", N.INDEX))
    assert "netboot index" in _reason(view, base, "web")
    assert _state(base)["nginx"] == _fresh(view, tmp_path, base)["nginx"]


def test_a_retired_systems_files_go_even_when_the_manifest_went(tmp_path, lab):
    root, base = lab
    os.unlink(os.path.join(base, "tftp", T.MANIFEST))
    _edit(root, EDITS["retire"])
    view = _view(root)
    assert _sync(view, base, S.CHANGED)["tftp"]["scope"] == S.CHANGED
    assert _state(base)["tftp"] == _fresh(view, tmp_path, base)["tftp"]


def test_check_mode_records_nothing(lab):
    root, base = lab
    _edit(root, EDITS["mac"])
    view = _view(root)
    synced = N.read_json(os.path.join(base, "state", S.SYNCED), {})
    result = P.sync("tftp", view, _options(base, "tftp", S.CHANGED), check_mode=True)
    assert result["scope"] == S.CHANGED and result["written"]
    assert N.read_json(os.path.join(base, "state", S.SYNCED), {}) == synced


def test_a_file_removed_by_hand_is_put_back_by_a_whole_sync(lab):
    """What a sync of the changed systems does not look at: another system's files."""
    root, base = lab
    _edit(root, EDITS["mac"])
    view = _view(root)
    other = next(s for s in view["systems"] if s["name"] == "web02")
    path = os.path.join(base, "tftp", "pxelinux.cfg", "01-" + other["mac"].replace(":", "-"))
    os.unlink(path)
    assert _sync(view, base, S.CHANGED)["tftp"]["scope"] == S.CHANGED
    assert not os.path.exists(path)
    assert _sync(view, base, S.ALL)["tftp"]["written"] == ["pxelinux.cfg/" + os.path.basename(path)]
    assert os.path.exists(path)


def test_the_chain_of_changes_is_bounded(lab, monkeypatch):
    root, _base = lab
    monkeypatch.setattr(C, "CHANGES_KEPT", 2)
    for number in range(4):
        _edit(root, lambda txn, n=number: E.edit_system(txn, "web01", {"mac": "52:54:00:12:35:%02x" % n}))
    view = _view(root)
    assert len(view["changes"]) == 2 and all(names == ["web01"] for names in view["changes"].values())
    monkeypatch.setattr(C, "CHANGED_KEPT", 1)
    _edit(root, EDITS["ip"])  # web02 and web01 since the older views: more than one name
    assert list(_view(root)["changes"].values()) == [["web02"]]
