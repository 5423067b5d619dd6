# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A list of systems as one change (plugins/module_utils/_records/bulk.py, the systems module):
on a real store on disk, through the real module process and real git."""

import os
import subprocess

import pytest
from support.modules import run_module
from support.store import FILES, commit_store, tree_digest, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records.bulk import BulkChange
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import Transaction
from ansible_collections.baremetal.provision.plugins.module_utils._views.cache import _provisioners

WEB = """\
tier: web
hardware_model: r650
interfaces:
  - {name: eth0, mac: "52:54:00:12:35:%02d", ip: 192.0.2.%d, primary: true}
build: {generation: 1}
"""
EXTRA = {"systems/web%02d.yml" % n: WEB % (n, 100 + n) for n in (2, 3, 4)}
AUTHOR = {"author_name": "Bulk test", "author_email": "bulk@example.test"}


@pytest.fixture
def store(tmp_path):
    """The sample store plus web02..web04, committed in git."""
    return commit_store(write_store(tmp_path / "records", FILES, EXTRA))


def _git(root, *args):
    return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True, check=True).stdout


def _commits(root):
    return int(_git(root, "rev-list", "--count", "HEAD"))


def _read(root, relpath):
    with open(os.path.join(root, relpath), encoding="utf-8") as handle:
        return handle.read()


def _systems(store, action, items, **options):
    return run_module("systems", dict(records_dir=store, action=action, items=items, git=AUTHOR, **options))


def _edit(root, action, items, partial=False):
    """BulkChange.edit in a transaction, written as run_edit writes it: (change, facts)."""
    change = BulkChange(action, items, partial=partial, provisioners_of=_provisioners)
    with Transaction(root) as txn:
        facts = change.edit(txn)
        txn.commit()
    return change, facts


def test_a_valid_list_is_one_commit_with_every_item_in_its_message(store):
    before = _commits(store)

    result = _systems(
        store,
        "replace",
        [
            {"name": "web01", "mac": "52:54:00:aa:bb:01"},
            {"name": "web02", "mac": "52:54:00:aa:bb:02"},
            {"name": "web03", "from_pool": "spares-dmz"},
            {"name": "web04", "mac": "52-54-00-AA-BB-04"},
        ],
    )

    assert result.get("failed") is not True, result
    assert result["changed"] and _commits(store) == before + 1
    message = _git(store, "log", "-1", "--format=%B")
    subject, _blank, *body = message.splitlines()
    assert subject == "replace 4 systems: web01, web02, web03 (+1)"
    assert body[:4] == [
        "replace web01: 52:54:00:12:34:56 -> 52:54:00:aa:bb:01",
        "replace web02: 52:54:00:12:35:02 -> 52:54:00:aa:bb:02",
        "replace web03: 52:54:00:12:35:03 -> 52:54:00:00:00:01 (spare SN001 from pool spares-dmz)",
        "replace web04: 52:54:00:12:35:04 -> 52:54:00:aa:bb:04",
    ]
    assert sorted(_git(store, "show", "--name-only", "--format=", "HEAD").split()) == [
        "pools/spares-dmz.yml",
        "systems/web01.yml",
        "systems/web02.yml",
        "systems/web03.yml",
        "systems/web04.yml",
    ]
    assert '"52:54:00:aa:bb:02"' in _read(store, "systems/web02.yml")
    assert [i["status"] for i in result["items"]] == ["applied"] * 4
    assert [(i["name"], i["new_mac"], i["generation"]) for i in result["items"]][2] == (
        "web03",
        "52:54:00:00:00:01",
        2,
    )
    assert result["provisioners"] == ["prov-dmz"]
    assert [s["name"] for s in result["systems"]] == ["web01", "web02", "web03", "web04"]
    assert result["systems"][0]["mac"] == "52:54:00:aa:bb:01"
    assert result["refused"] == []
    # a replacement by MAC run again changes nothing and commits nothing
    again = _systems(store, "replace", [{"name": "web01", "mac": "52:54:00:aa:bb:01"}])
    assert again["changed"] is False and _commits(store) == before + 1


def test_one_bad_item_refuses_the_whole_list_naming_every_problem_and_its_item(store):
    before, commits = tree_digest(store), _commits(store)

    result = _systems(
        store,
        "replace",
        [
            {"name": "web01", "mac": "52:54:00:aa:bb:01"},  # valid
            {"name": "web02", "mac": "52:54:00:12:34:60"},  # app01's MAC
            {"name": "web03", "mac": "52:54:00:12"},  # not a MAC
            {"name": "web99", "mac": "52:54:00:aa:bb:99"},  # no such system
            {"name": "web04", "from_pool": "spares-dmz"},  # valid
        ],
    )

    assert result["failed"] and not result.get("changed")
    assert tree_digest(store) == before and _commits(store) == commits
    assert "3 of 5 items have problems (web02, web03, web99)" in result["msg"]
    by_name = {i["name"]: i for i in result["items"]}
    assert by_name["web01"]["problems"] == [] and by_name["web04"]["problems"] == []
    web02 = ["%(path)s: %(field)s: %(message)s" % p for p in by_name["web02"]["problems"]]
    assert any(
        p.startswith("systems/web02.yml: interfaces[0].mac: MAC 52:54:00:12:34:60 is also used by") for p in web02
    )
    # app01's side of the conflict names the item that caused it
    assert any(p.startswith("systems/app01.yml: ") and p.endswith("(item web02)") for p in web02), web02
    assert by_name["web03"]["problems"][0]["path"] == "systems/web03.yml"
    assert by_name["web03"]["problems"][0]["field"] == "mac"
    assert by_name["web99"]["problems"][0]["message"].startswith("no system 'web99'")
    for item in ("web02", "web03", "web99"):
        assert "systems/%s.yml" % item in result["msg"]


def test_partial_applies_the_valid_items_and_fails_naming_the_others(store):
    before = tree_digest(store)

    result = _systems(
        store,
        "provision",
        [
            {"name": "web10", "tier": "web", "hardware_model": "r650", "mac": "52:54:00:aa:cc:10", "ip": "192.0.2.70"},
            # web01's IP: refused, after it took a spare, which goes back to the pool
            {"name": "web11", "tier": "web", "hardware_model": "r650", "from_pool": "spares-dmz", "ip": "192.0.2.50"},
            {"name": "web12", "tier": "web", "hardware_model": "r650", "from_pool": "spares-dmz", "ip": "192.0.2.72"},
            {"name": "web13", "tier": "nowhere", "mac": "52:54:00:aa:cc:13", "ip": "192.0.2.73"},
        ],
        partial=True,
    )

    assert result["failed"] and result["changed"], result
    assert result["applied"] == ["web10", "web12"] and result["refused"] == ["web11", "web13"]
    assert "2 of 4 items were not applied (web11, web13); the other 2 were applied and committed" in result["msg"]
    assert os.path.exists(os.path.join(store, "systems", "web10.yml"))
    assert not os.path.exists(os.path.join(store, "systems", "web11.yml"))
    assert not os.path.exists(os.path.join(store, "systems", "web13.yml"))
    # web11's spare went back: web12 got the first r650 spare, SN001; SN003 is still in the pool
    assert '"52:54:00:00:00:01"' in _read(store, "systems/web12.yml")
    assert "SN003" in _read(store, "pools/spares-dmz.yml") and "SN001" not in _read(store, "pools/spares-dmz.yml")
    by_name = {i["name"]: i for i in result["items"]}
    assert any("192.0.2.50 is also used by" in p["message"] for p in by_name["web11"]["problems"])
    assert by_name["web13"]["problems"][0]["path"] == "systems/web13.yml"
    assert "tier" in {p["field"] for p in by_name["web13"]["problems"]}
    assert _git(store, "log", "-1", "--format=%s") == "provision 2 systems: web10, web12\n"
    assert "not applied: web11" in _git(store, "log", "-1", "--format=%b")
    records = {p for p in tree_digest(store) if not p.startswith(".")}
    for path in records - {"pools/spares-dmz.yml", "systems/web10.yml", "systems/web12.yml"}:
        assert tree_digest(store)[path] == before[path], path


def test_two_items_from_one_pool_take_different_spares(store):
    _change, facts = _edit(
        store,
        "replace",
        [{"name": "web01", "from_pool": "spares-dmz"}, {"name": "web02", "from_pool": "spares-dmz"}],
    )

    spares = [i["pool_spare"]["serial"] for i in facts["items"]]
    assert spares == ["SN001", "SN003"]
    assert facts["items"][1]["pool_spare"]["spares_left"] == 0
    pool = _read(store, "pools/spares-dmz.yml")
    assert "SN001" not in pool and "SN003" not in pool and "SN002" in pool
    # a third has none left: the whole list is refused, naming the pool and the system
    with pytest.raises(StoreError) as refused:
        _edit(
            store,
            "replace",
            [{"name": "web03", "mac": "52:54:00:aa:bb:03"}, {"name": "web04", "from_pool": "spares-dmz"}],
        )
    assert "no spare of hardware model 'r650' left for web04" in refused.value.message
    assert '"52:54:00:12:35:03"' in _read(store, "systems/web03.yml")


def test_a_list_naming_a_system_twice_is_refused_before_the_store_is_touched(store):
    before = tree_digest(store)

    result = _systems(
        store,
        "replace",
        [
            {"name": "web01", "mac": "52:54:00:aa:bb:01"},
            {"name": "web02", "mac": "52:54:00:aa:bb:02"},
            {"name": "web01", "from_pool": "spares-dmz"},
        ],
        partial=True,
    )

    assert result["failed"] and tree_digest(store) == before
    assert "systems/web01.yml: name: listed 2 times (items 0, 2)" in result["msg"]


@pytest.mark.parametrize(
    "action, item, expected",
    [
        ("replace", {"name": "web01"}, "systems/web01.yml: mac: a replacement takes exactly one of mac or from_pool"),
        (
            "replace",
            {"name": "web01", "mac": "52:54:00:aa:bb:01", "tier": "app"},
            "systems/web01.yml: tier: not an option of replace",
        ),
        ("retire", {"name": "web01", "mac": "52:54:00:aa:bb:01"}, "systems/web01.yml: mac: not an option of retire"),
        ("retire", {"name": "web77"}, "systems/web77.yml: name: no system 'web77'"),
        ("provision", {"name": "web01", "to_pool": "spares-dmz"}, "to_pool: not an option of provision"),
    ],
)
def test_fields_an_action_does_not_take_are_refused(store, action, item, expected):
    before = tree_digest(store)
    result = _systems(store, action, [item])
    assert result["failed"] and expected in result["msg"], result["msg"]
    assert tree_digest(store) == before


def test_retire_a_list_back_to_the_pool_and_the_provisioners_it_touches(store):
    result = _systems(store, "retire", [{"name": "web02", "to_pool": "spares-dmz"}, {"name": "app01"}])

    assert result["changed"] and result["applied"] == ["web02", "app01"], result
    assert result["provisioners"] == ["prov-app", "prov-dmz"]
    assert result["items"][1]["provisioners"] == ["prov-app", "prov-dmz"]  # app01 has an interface in dmz
    assert result["systems"] == []
    assert not os.path.exists(os.path.join(store, "systems", "web02.yml"))
    assert '"52:54:00:12:35:02"' in _read(store, "pools/spares-dmz.yml")
    assert _git(store, "log", "-1", "--format=%s") == "retire 2 systems: web02, app01\n"


def test_a_list_of_one_commits_as_the_system_module_does(store):
    result = _systems(store, "replace", [{"name": "web01", "from_pool": "spares-dmz"}])

    assert result["changed"], result
    expected = "replace web01: 52:54:00:12:34:56 -> 52:54:00:00:00:01 (spare SN001 from pool spares-dmz)"
    assert _git(store, "log", "-1", "--format=%s").strip() == expected


def test_check_mode_changes_nothing_and_reports_every_item(store):
    before = tree_digest(store)
    result = run_module(
        "systems",
        {
            "records_dir": store,
            "action": "provision",
            "items": [{"name": "web01", "reinstall": True}, {"name": "web02", "reinstall": True}],
            "_ansible_check_mode": True,
        },
    )
    assert result["changed"] and [i["generation"] for i in result["items"]] == [2, 2], result
    assert tree_digest(store) == before
