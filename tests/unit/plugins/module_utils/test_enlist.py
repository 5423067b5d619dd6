# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Enlistment: what discovery found, sorted against the whole store, and written as spares."""

import copy
import subprocess
from pathlib import Path

import pytest
import yaml
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records import enlist as E
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.gitstore import (
    GitError,
    RecordChange,
    git_argument_spec,
)
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import Transaction

POOL = """\
segment: dmz
enlist:
  - {product: "PowerEdge R650*", vendor: "Dell*", hardware_model: r650}
  - {product: "Standard PC (i440FX + PIIX, 1996)", hardware_model: qemu-pc}
min_spares: {r650: 2}
machines:
  - {mac: "52:54:00:00:00:01", hardware_model: r650, serial: SN001}
  - {mac: "52:54:00:00:00:02", hardware_model: r640, serial: SN002, uuid: 4c4c4544-0042-3510-8056-b4c04f4e3032}
"""


def report(mac="52:54:00:aa:00:01", serial="SN100", product="PowerEdge R650", vendor="Dell Inc.", nics=(), uuid=""):
    return {
        "schema": 1,
        "collector": "baremetal.provision-collector/1",
        "boot": {"mac": mac, "source": "bootif", "mode": "uefi"},
        "system": {"vendor": vendor, "product": product, "serial": serial, "uuid": uuid},
        "cpus": 64,
        "memory_mib": 524288,
        "nics": [{"name": "eno1", "mac": mac, "carrier": True, "speed_mbps": 25000}]
        + [{"name": "eno%d" % (i + 2), "mac": m, "carrier": False, "speed_mbps": None} for i, m in enumerate(nics)],
        "disks": [
            {
                "name": "nvme0n1",
                "size_bytes": 960197124096,
                "model": "PM9A3",
                "serial": "S1",
                "wwn": "",
                "rotational": False,
            }
        ],
        "bmc": {"ip": "192.0.2.60", "mac": ""},
    }


def entry(rep, source_ip="192.0.2.210", provisioner="prov-dmz"):
    return {
        "mac": rep["boot"]["mac"],
        "report": rep,
        "source_ip": source_ip,
        "provisioner": provisioner,
        "first_seen": "2026-12-07T08:00:00Z",
        "last_seen": "2026-12-07T08:00:00Z",
    }


@pytest.fixture
def store(tmp_path):
    files = dict(FILES, **{"pools/spares-dmz.yml": POOL})
    return RecordStore.load(write_store(tmp_path / "store", files))


def outcome_of(store, *entries):
    out = E.plan(store, list(entries))
    return {k: [(i["mac"], i["detail"]) for i in v] for k, v in out.items()}, out


def test_a_new_machine_matching_a_rule_becomes_a_spare_with_what_was_found(store):
    summary, out = outcome_of(
        store, entry(report(nics=["52:54:00:aa:00:02"], uuid="4C4C4544-0000-1111-2222-333344445555".lower()))
    )
    assert [m for m, _detail in summary["added"]] == ["52:54:00:aa:00:01"]
    item = out["added"][0]
    assert item["pool"] == "spares-dmz" and item["hardware_model"] == "r650" and item["segment"] == "dmz"
    machine = item["machine"]
    assert machine["serial"] == "SN100" and machine["other_macs"] == ["52:54:00:aa:00:02"]
    assert machine["cpus"] == 64 and machine["memory_mib"] == 524288 and machine["bmc_address"] == "192.0.2.60"
    assert machine["disks"] == [{"name": "nvme0n1", "size_bytes": 960197124096, "model": "PM9A3", "serial": "S1"}]
    assert machine["boot_mode"] == "uefi" and "prov-dmz" in machine["enlisted"]


def test_a_known_mac_changes_nothing_whoever_holds_it(store):
    spare = entry(report(mac="52:54:00:00:00:01", serial="SN001"))
    system_nic = entry(report(mac="52:54:00:bb:00:99", nics=["52:54:00:12:34:56"]))  # web01's MAC as a second NIC
    summary, out = outcome_of(store, spare, system_nic)
    assert [m for m, _detail in summary["known"]] == ["52:54:00:00:00:01", "52:54:00:bb:00:99"]
    assert "pools/spares-dmz.yml" in summary["known"][0][1]
    assert "systems/web01.yml" in summary["known"][1][1]
    assert out["added"] == []


def test_a_known_serial_with_a_new_mac_is_hardware_changed_not_a_second_spare(store):
    summary, _plan = outcome_of(store, entry(report(mac="52:54:00:cc:00:01", serial="SN001")))
    assert summary["added"] == [] and len(summary["changed"]) == 1
    detail = summary["changed"][0][1]
    assert "serial SN001" in detail and "52:54:00:00:00:01" in detail and "hardware changed" in detail


def test_a_known_uuid_with_a_new_mac_is_hardware_changed(store):
    rep = report(mac="52:54:00:cc:00:02", serial="", uuid="4c4c4544-0042-3510-8056-b4c04f4e3032")
    summary, _plan = outcome_of(store, entry(rep))
    assert len(summary["changed"]) == 1 and "uuid" in summary["changed"][0][1]


def test_a_known_mac_reported_with_another_serial_is_hardware_changed(store):
    summary, _plan = outcome_of(store, entry(report(mac="52:54:00:00:00:01", serial="SN999")))
    assert summary["known"] == [] and len(summary["changed"]) == 1
    assert "SN001" in summary["changed"][0][1] and "SN999" in summary["changed"][0][1]


def test_placeholder_serials_and_uuids_never_match(store):
    a = report(mac="52:54:00:dd:00:01", serial="Default string", uuid="03000200-0400-0500-0006-000700080009")
    b = report(mac="52:54:00:dd:00:02", serial="Default string", uuid="03000200-0400-0500-0006-000700080009")
    summary, out = outcome_of(store, entry(a), entry(b, source_ip="192.0.2.211"))
    assert [m for m, _detail in summary["added"]] == ["52:54:00:dd:00:01", "52:54:00:dd:00:02"]
    assert "serial" not in out["added"][0]["machine"] and "uuid" not in out["added"][0]["machine"]


def test_the_same_machine_twice_in_one_batch_is_added_once(store):
    first = report(mac="52:54:00:ee:00:01", serial="SN500")
    again = report(mac="52:54:00:ee:00:02", serial="SN500")  # booted from its other NIC on another provisioner
    summary, _plan = outcome_of(store, entry(first), entry(again))
    assert [m for m, _detail in summary["added"]] == ["52:54:00:ee:00:01"]
    assert [m for m, _detail in summary["known"]] == ["52:54:00:ee:00:02"]
    assert "earlier in this run" in summary["known"][0][1]


def test_no_rule_or_no_segment_is_unmatched_with_the_reason(store):
    odd = entry(report(mac="52:54:00:ff:00:01", product="ProLiant DL380", vendor="HPE"))
    elsewhere = entry(report(mac="52:54:00:ff:00:02", serial="SN201"), source_ip="203.0.113.9")
    wrong_prov = entry(report(mac="52:54:00:ff:00:03", serial="SN202"), provisioner="prov-app")
    summary, _plan = outcome_of(store, odd, elsewhere, wrong_prov)
    reasons = dict(summary["unmatched"])
    assert (
        "no enlist rule of a pool of segment dmz matches vendor 'HPE' product 'ProLiant DL380'"
        in reasons["52:54:00:ff:00:01"]
    )
    assert "203.0.113.9" in reasons["52:54:00:ff:00:02"]
    assert "prov-app" in reasons["52:54:00:ff:00:03"]


def test_a_redfish_find_names_its_segment(store):
    rep = report(mac="52:54:00:ab:00:01", serial="SN777")
    rep["boot"]["source"] = "redfish"
    summary, out = outcome_of(store, {"report": rep, "segment": "dmz"})
    assert [m for m, _detail in summary["added"]] == ["52:54:00:ab:00:01"]
    assert "via redfish" in out["added"][0]["machine"]["enlisted"]
    assert E.done(out) == {}  # nothing to take out of any spool


def test_apply_writes_spares_the_store_accepts_and_done_names_the_spools(store, tmp_path):
    root = store.root
    with Transaction(root) as txn:
        plan = E.plan(
            txn.store,
            [entry(report(nics=["52:54:00:aa:00:02"])), entry(report(mac="52:54:00:00:00:01", serial="SN001"))],
        )
        assert E.apply(txn, plan) == ["spares-dmz"]
        txn.commit()
    data = yaml.safe_load(Path(root + "/pools/spares-dmz.yml").read_text())
    assert data["machines"][-1]["mac"] == "52:54:00:aa:00:01" and data["machines"][-1]["other_macs"] == [
        "52:54:00:aa:00:02"
    ]
    assert E.done(plan) == {"prov-dmz": ["52:54:00:00:00:01", "52:54:00:aa:00:01"]}
    assert E.summary(plan) == "enlist 1 machine(s): spares-dmz: SN100"
    # enlisting the same again: known by its MAC now, nothing more to add
    again = E.plan(RecordStore.load(root), [entry(report(nics=["52:54:00:aa:00:02"]))])
    assert again["added"] == [] and len(again["known"]) == 1


def test_a_value_the_records_cannot_hold_is_refused_naming_pool_and_field(store):
    with pytest.raises(StoreError) as caught, Transaction(store.root) as txn:
        E.apply(txn, E.plan(txn.store, [entry(report(serial="SN 1 'x'"))]))
        txn.commit()
    assert "pools/spares-dmz.yml" in str(caught.value) and "serial" in str(caught.value)
    assert "SN 1" not in Path(store.root + "/pools/spares-dmz.yml").read_text()


# ------------------------------------------------------------------ store rules of the new fields
def problems(tmp_path, pool_text, extra=None):
    files = dict(FILES, **{"pools/spares-dmz.yml": pool_text})
    files.update(extra or {})
    return [str(p) for p in RecordStore.load(write_store(tmp_path / "s", files)).problems()]


def test_every_mac_serial_and_uuid_of_a_spare_is_unique(tmp_path):
    text = (
        POOL
        + '  - {mac: "52:54:00:00:00:09", hardware_model: r650, serial: SN001, other_macs: ["52:54:00:12:34:56"]}\n'
    )
    found = problems(tmp_path, text)
    assert any(
        "machines[2].other_macs[0]" in p and "MAC 52:54:00:12:34:56 is also used by systems/web01.yml" in p
        for p in found
    )
    assert any(
        "machines[2].serial" in p and "serial SN001 is also used by pools/spares-dmz.yml (machines[0].serial)" in p
        for p in found
    )


def test_placeholder_serials_may_repeat(tmp_path):
    text = POOL + (
        '  - {mac: "52:54:00:00:00:08", hardware_model: r650, serial: Default_string}\n'
        '  - {mac: "52:54:00:00:00:09", hardware_model: r650, serial: "0"}\n'
        '  - {mac: "52:54:00:00:00:0a", hardware_model: r650, serial: "0"}\n'
    )
    assert problems(tmp_path, text) == []


def test_the_same_enlist_rule_in_two_pools_of_a_segment_is_refused(tmp_path):
    other = 'segment: dmz\nenlist:\n  - {product: "PowerEdge R650*", vendor: "Dell*", hardware_model: r650}\n'
    found = problems(tmp_path, POOL, {"pools/more-dmz.yml": other})
    assert any("pools/more-dmz.yml: enlist[0]" in p and "pools/spares-dmz.yml" in p for p in found)
    assert any("pools/spares-dmz.yml: enlist[0]" in p and "pools/more-dmz.yml" in p for p in found)


@pytest.mark.parametrize(
    "bad, field",
    [
        ("enlist:\n  - {product: x}\n", "enlist[0].hardware_model"),
        ('enlist:\n  - {product: "a\\nb", hardware_model: r650}\n', "enlist[0].product"),
        ("min_spares: {r650: -1}\n", "min_spares.r650"),
        ("min_spares: {r650: true}\n", "min_spares.r650"),
        ('machines:\n  - {mac: "52:54:00:00:00:07", hardware_model: r650, uuid: nope}\n', "machines[0].uuid"),
        (
            'machines:\n  - {mac: "52:54:00:00:00:07", hardware_model: r650, other_macs: ["01:00:5e:00:00:01"]}\n',
            "machines[0].other_macs[0]",
        ),
        ('machines:\n  - {mac: "52:54:00:00:00:07", hardware_model: r650, boot_mode: efi}\n', "machines[0].boot_mode"),
        (
            'machines:\n  - {mac: "52:54:00:00:00:07", hardware_model: r650, disks: [{name: sda}]}\n',
            "machines[0].disks[0].size_bytes",
        ),
    ],
)
def test_bad_enlist_fields_are_refused_by_name(tmp_path, bad, field):
    found = problems(tmp_path, "segment: dmz\n" + bad)
    assert any(("pools/spares-dmz.yml: %s" % field) in p for p in found), found


# ------------------------------------------------------------------ a commit on a branch of its own
def _git(cwd, *args):
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout.strip()


def _options(**kw):
    spec = git_argument_spec()["git"]["options"]
    opts = {k: v.get("default") for k, v in spec.items()}
    opts.update(kw)
    return opts


def test_a_branch_commit_leaves_the_work_tree_and_the_current_branch_as_they_were(store, tmp_path):
    root = store.root
    remote = tmp_path / "remote.git"
    _git(tmp_path, "init", "-q", "--bare", str(remote))
    _git(root, "init", "-q", "-b", "main")
    with open(root + "/.gitignore", "w") as handle:
        handle.write(".baremetal.lock\n.baremetal.journal\n")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=t", "-c", "user.email=t@x", "commit", "-qm", "records")
    _git(root, "remote", "add", "origin", str(remote))
    _git(root, "push", "-q", "-u", "origin", "main")
    before = Path(root + "/pools/spares-dmz.yml").read_text()
    main_before = _git(root, "rev-parse", "main")
    change = RecordChange(root, _options(), branch="enlist/one")
    for attempt in change.attempts():
        with Transaction(root, before_load=attempt.before_load) as txn:
            plan = E.plan(txn.store, [entry(report())])
            E.apply(txn, plan)
            pending = txn.commit()
            result = attempt.record(txn, sorted(pending), E.summary(plan) + "\n")
        break
    assert result["branch"] == "enlist/one" and result["pushed"] is True
    assert Path(root + "/pools/spares-dmz.yml").read_text() == before
    assert _git(root, "rev-parse", "main") == main_before and _git(root, "status", "--porcelain") == ""
    assert _git(remote, "log", "-1", "--format=%s", "enlist/one") == "enlist 1 machine(s): spares-dmz: SN100"
    assert "52:54:00:aa:00:01" in _git(remote, "show", "enlist/one:pools/spares-dmz.yml")
    assert _git(remote, "rev-parse", "main") == main_before
    # the same branch name again: refused before anything is written
    with pytest.raises(GitError, match="branch enlist/one exists already"):
        again = RecordChange(root, _options(), branch="enlist/one")
        for attempt in again.attempts():
            with Transaction(root, before_load=attempt.before_load):
                pass
            break
    with pytest.raises(GitError, match="not a valid git branch name"):
        RecordChange(root, _options(), branch="bad..name").check_only()
    assert copy.deepcopy(before) == Path(root + "/pools/spares-dmz.yml").read_text()
