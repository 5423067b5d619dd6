# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The render memo: a sync renders only the systems whose inputs changed, and the trees it leaves
are exactly those of a sync that renders every system."""

import contextlib
import copy
import json
import os

import pytest
from support.fleet import write_fleet
from support.sync import copy_netboot_state, sync_options

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import netboot as N
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_memo as M
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import sync as P
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import tree_sync as T
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import build_view

TEMPLATE = (
    "# kickstart for {{ name }} gen {{ build_generation }}\n# {{ callback_url }} {{ secrets.note | default('') }}\n"
)


@pytest.fixture(name="view", scope="module")
def _fleet_view(tmp_path_factory):
    root = write_fleet(str(tmp_path_factory.mktemp("records")), 24, segments=1)
    view = build_view(RecordStore.load(root), "prov-dmz")
    for system in view["systems"]:
        system["template"] = "memo.j2"
    view["templates"] = {"memo.j2": TEMPLATE}
    return view


def _options(base, component):
    return sync_options(base, component)


def _tree(root):
    """{relpath: bytes} of every file in a tree but its manifest."""
    out = {}
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            relpath = os.path.relpath(path, root)
            if relpath != T.MANIFEST:
                with open(path, "rb") as handle:
                    out[relpath] = handle.read()
    return out


def _full(view, component, base, memo_base, **changes):
    """The tree a sync of every system gives: a fresh tree, the same secret and netboot state."""
    options = dict(_options(str(base), component), **changes)
    copy_netboot_state(_options(str(memo_base), component)["state_dir"], options["state_dir"])
    result = P.sync(component, view, options)
    assert result["rendered"] == len(view["systems"])
    return _tree(options["root"])


@pytest.mark.parametrize("component", ["tftp", "web"])
def test_a_sync_renders_only_what_changed_and_leaves_the_full_tree(tmp_path, view, component):
    view = copy.deepcopy(view)
    options = _options(str(tmp_path / "memo"), component)
    first = P.sync(component, view, options)
    assert first["rendered"] == len(view["systems"]) and first["changed"]
    again = P.sync(component, view, options)
    assert again["rendered"] == 0 and not again["changed"]

    # a replace: one system's MAC and build generation change
    target = view["systems"][3]
    old_mac = target["interfaces"][0]["mac"]
    target["interfaces"][0]["mac"] = target["mac"] = "52:54:0f:00:00:01"
    target["build_generation"] += 1
    changed = P.sync(component, view, options)
    assert changed["rendered"] == 1 and changed["changed"]
    if component == "tftp":
        assert any(old_mac.replace(":", "-") in path for path in changed["removed"])
        assert any("52-54-0f-00-00-01" in path for path in changed["written"])
    else:  # the token in its callback URL carries the new generation
        assert changed["written"] == ["ks/%s.cfg" % target["name"], "state:index.json"]
    assert _tree(options["root"]) == _full(view, component, tmp_path / "full1", tmp_path / "memo")

    # a retired system loses its files; the others are not rendered
    retired = view["systems"].pop(5)
    gone = P.sync(component, view, options)
    assert gone["rendered"] == 0 and gone["removed"]
    assert not any(
        retired["name"] in path or retired["mac"].replace(":", "-") in path for path in _tree(options["root"])
    )
    assert _tree(options["root"]) == _full(view, component, tmp_path / "full2", tmp_path / "memo")


def test_what_a_system_renders_from_besides_its_record_renders_it_again(tmp_path, view):
    view = copy.deepcopy(view)
    base = str(tmp_path / "memo")
    web, tftp = _options(base, "web"), _options(base, "tftp")
    assert P.sync("web", view, web)["rendered"] == len(view["systems"])
    assert P.sync("tftp", view, tftp)["rendered"] == len(view["systems"])

    # the netboot state: a system whose install completed boots locally, only it is rendered
    done = view["systems"][2]
    N.write_json(os.path.join(base, "state", N.COMPLETED), {done["name"]: done["build_generation"]})
    result = P.sync("tftp", view, tftp)
    assert result["rendered"] == 1 and result["armed"] == len(view["systems"]) - 1
    assert P.sync("web", view, web)["rendered"] == 0  # install configs do not depend on it

    # the secrets the role passes, the template's text, the provisioner's secret
    assert P.sync("web", view, dict(web, secrets={"note": "n2"}))["rendered"] == len(view["systems"])
    view["templates"]["memo.j2"] = TEMPLATE + "# changed\n"
    assert P.sync("web", view, dict(web, secrets={"note": "n2"}))["rendered"] == len(view["systems"])
    os.unlink(os.path.join(base, "state", N.SECRET))
    assert P.sync("web", view, dict(web, secrets={"note": "n2"}))["rendered"] == len(view["systems"])
    # a segment's next_server is the base URL of every boot file
    for segment in view["segments"].values():
        segment["next_server"] = "192.0.2.99"
    assert P.sync("tftp", view, tftp)["rendered"] == len(view["systems"])
    assert P.sync("web", view, dict(web, secrets={"note": "n2"}))["rendered"] == len(view["systems"])
    assert _tree(tftp["root"]) == _full(view, "tftp", tmp_path / "full-tftp", tmp_path / "memo")
    assert _tree(web["root"]) == _full(view, "web", tmp_path / "full-web", tmp_path / "memo", secrets={"note": "n2"})


def test_a_boot_file_someone_removed_is_rendered_again(tmp_path, view):
    options = _options(str(tmp_path), "tftp")
    P.sync("tftp", view, options)
    before = _tree(options["root"])
    victim = sorted(p for p in before if p.startswith("pxelinux.cfg/01-"))[0]
    os.unlink(os.path.join(options["root"], victim))
    result = P.sync("tftp", view, options)
    assert result["written"] == [victim] and result["rendered"] == 1
    assert _tree(options["root"]) == before
    assert P.sync("tftp", view, options)["rendered"] == 0


def test_a_memo_of_other_code_or_unreadable_counts_as_empty(tmp_path, view, monkeypatch):
    options = _options(str(tmp_path), "tftp")
    P.sync("tftp", view, options)
    path = M.memo_path(options["state_dir"], "tftp")
    assert os.stat(path).st_mode & 0o777 == 0o600
    monkeypatch.setattr(M, "code_digest", lambda modules, extra="": "other code")
    assert P.sync("tftp", view, options)["rendered"] == len(view["systems"])
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("{not json")
    assert P.sync("tftp", view, options)["rendered"] == len(view["systems"])
    with open(path, encoding="utf-8") as handle:
        assert json.load(handle)["code"] == "other code"
    # a renderer whose source cannot be read: no memo at all, never a stale one
    monkeypatch.setattr(M, "code_digest", lambda modules, extra="": None)
    assert P.sync("tftp", view, options)["rendered"] == len(view["systems"])
    assert P.sync("tftp", view, options)["rendered"] == len(view["systems"])


def test_a_remembered_entry_the_tree_does_not_hold_is_rendered_again(tmp_path, view):
    options = _options(str(tmp_path), "tftp")
    P.sync("tftp", view, options)
    path = M.memo_path(options["state_dir"], "tftp")
    memo = N.read_json(path, {})
    name = view["systems"][0]["name"]
    memo["systems"][name][1] = dict.fromkeys(memo["systems"][name][1], "0" * 40)
    N.write_json(path, memo)
    before = _tree(options["root"])
    result = P.sync("tftp", view, options)
    assert result["written"] == [] and result["rendered"] == 1
    assert _tree(options["root"]) == before
    # the entry is mended: the next sync trusts it again
    assert P.sync("tftp", view, options)["rendered"] == 0
    # an entry that names a file the render does not give is refused, nothing written
    memo = N.read_json(path, {})
    memo["systems"][name][1]["pxelinux.cfg/not-its-file"] = "0" * 40
    N.write_json(path, memo)
    with pytest.raises(P.SyncFailed, match=r"render-tftp\.json: remembers pxelinux.cfg/not-its-file for "):
        P.sync("tftp", view, options)
    assert _tree(options["root"]) == before


def test_check_mode_leaves_the_memo_alone(tmp_path, view):
    options = _options(str(tmp_path), "web")
    P.sync("web", view, options, check_mode=True)
    assert not os.path.exists(M.memo_path(options["state_dir"], "web"))
    P.sync("web", view, options)
    path = M.memo_path(options["state_dir"], "web")
    with open(path, "rb") as handle:
        saved = handle.read()
    changed = copy.deepcopy(view)
    changed["systems"][0]["build_generation"] += 1
    assert P.sync("web", changed, options, check_mode=True)["written"]
    with open(path, "rb") as handle:
        assert handle.read() == saved


def test_the_key_tells_inputs_apart():
    assert M.key([{"a": 1}, True]) == M.key([{"a": 1}, True])
    assert len({M.key(value) for value in ([{"a": 1}], [{"a": 2}], [{"a": "1"}], [{"b": 1}], [{"a": 1}, None])}) == 5
    # a dict subclass (the store's YAML types) is not marshal's: JSON, another digest, never an error
    flow = type("Flow", (dict,), {})
    assert M.key([flow(a=1)]) == M.key([flow(a=1)]) != M.key([flow(a=2)])


def test_a_completion_recorded_while_the_sync_waits_for_the_lock_is_not_undone(tmp_path, view, monkeypatch):
    """The callback service records a completion and switches the MACs to local boot under the
    state lock; a sync that read the netboot state before it got the lock must not arm the system
    again (it would install again at its next network boot)."""
    options = _options(str(tmp_path), "tftp")
    P.sync("tftp", view, options)
    done = view["systems"][0]
    lock = N.state_lock

    @contextlib.contextmanager
    def callback_first(state_dir):
        with lock(state_dir):  # the callback held the lock just before the sync got it
            N.write_json(os.path.join(state_dir, N.COMPLETED), {done["name"]: done["build_generation"]})
        with lock(state_dir):
            yield

    assert P.sync("tftp", view, options)["armed"] == len(view["systems"])
    monkeypatch.setattr(N, "state_lock", callback_first)
    result = P.sync("tftp", view, options)
    assert result["armed"] == len(view["systems"]) - 1
    paths = [p for p in _tree(options["root"]) if done["mac"].replace(":", "-") in p or done["mac"] in p]
    assert len(paths) == 3  # pxelinux, GRUB, iPXE
    for path in paths:
        with open(os.path.join(options["root"], path), encoding="utf-8") as handle:
            assert "local boot" in handle.read(), path
