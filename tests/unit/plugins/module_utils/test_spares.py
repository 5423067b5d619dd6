# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Spares left per pool and hardware model, against the level the pool's record sets."""

from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records import editors, spares
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import Transaction

# spares-dmz holds two r650 and one r640
LEVELS = FILES["pools/spares-dmz.yml"].replace("segment: dmz\n", "segment: dmz\nmin_spares: {r650: 2, r740: 1}\n")


def _store(tmp_path, pool=LEVELS):
    return write_store(tmp_path / "records", dict(FILES, **{"pools/spares-dmz.yml": pool}))


def test_levels_count_every_model_held_or_named(tmp_path):
    levels = spares.levels(RecordStore.load(_store(tmp_path)))
    assert [(lv["hardware_model"], lv["spares"], lv["min_spares"], lv["low"]) for lv in levels] == [
        ("r640", 1, None, False),
        ("r650", 2, 2, False),
        ("r740", 0, 1, True),
    ]
    assert spares.warnings(RecordStore.load(_store(tmp_path))) == [
        "pool spares-dmz has 0 spares of hardware model r740 left, below its min_spares of 1: enlist or add some"
    ]


def test_no_min_spares_no_warning(tmp_path):
    assert spares.warnings(RecordStore.load(_store(tmp_path, FILES["pools/spares-dmz.yml"]))) == []


def _replace(root, name):
    with Transaction(root) as txn:
        facts = editors.edit_system(txn, name, {"from_pool": "spares-dmz"})
        txn.commit()
    return facts


def test_replace_says_how_many_are_left_and_warns_below_the_level_and_at_the_last(tmp_path):
    root = _store(tmp_path)
    first = _replace(root, "web01")  # web01 is an r650: one r650 left, below 2
    assert first["pool_spare"]["spares_left"] == 1
    assert first["warnings"] == [
        "pool spares-dmz has 1 spare of hardware model r650 left, below its min_spares of 2: enlist or add some"
    ]
    second = _replace(root, "web01")
    assert second["pool_spare"]["spares_left"] == 0
    assert second["warnings"][0].startswith("that was the last spare of hardware model r650 in pool spares-dmz")


def test_the_last_spare_of_a_pool_without_a_level_is_a_warning_too(tmp_path):
    root = _store(tmp_path, FILES["pools/spares-dmz.yml"])
    assert "warnings" not in _replace(root, "web01")
    assert _replace(root, "web01")["warnings"] == [
        "that was the last spare of hardware model r650 in pool spares-dmz: enlist or add more"
    ]
