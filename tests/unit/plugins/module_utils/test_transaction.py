# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Editing the store: refusals write nothing, writes are atomic, locked and crash-safe."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
from support.store import FILES, tree_digest, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as E
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import LockTimeout, StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import (
    JOURNAL_NAME,
    StoreLock,
    Transaction,
    load_snapshot,
)


@pytest.fixture
def root(tmp_path):
    return write_store(tmp_path / "records")


def edit(root, func, check_mode=False):
    with Transaction(root) as txn:
        facts = func(txn)
        pending = txn.commit(check_mode=check_mode)
        return facts, pending, txn.diff()


def refused(root, func, *expected):
    """Run an edit that must be refused: every expected text is in the error; no byte changed."""
    before = tree_digest(root)
    with pytest.raises(StoreError) as info:
        edit(root, func)
    for text in expected:
        assert text in info.value.message, info.value.message
    assert tree_digest(root) == before
    return info.value


SYSTEM = dict(tier="web", hardware_model="r650")


def test_create_system_writes_canonical_file(root):
    facts, pending, diff = edit(
        root, lambda t: E.edit_system(t, "web02", dict(SYSTEM, mac="52:54:00:AB:CD:EF", ip="192.0.2.51"))
    )
    assert list(pending) == ["systems/web02.yml"]
    assert facts["created"] is True and facts["generation"] == 1 and facts["replaced"] is None
    with open(os.path.join(root, "systems/web02.yml")) as handle:
        assert handle.read() == textwrap.dedent("""\
            tier: web
            hardware_model: r650
            interfaces:
              - {name: eth0, mac: "52:54:00:ab:cd:ef", ip: 192.0.2.51, primary: true}
            build: {generation: 1}
            """)
    assert diff[0]["before_header"] == "/dev/null" and "52:54:00:ab:cd:ef" in diff[0]["after"]


def test_same_input_twice_changes_nothing(root):
    args = dict(SYSTEM, mac="52:54:00:ab:cd:ef", ip="192.0.2.51")
    edit(root, lambda t: E.edit_system(t, "web02", args))
    before = tree_digest(root)
    facts, pending, diff = edit(root, lambda t: E.edit_system(t, "web02", args))
    assert pending == {} and diff == [] and facts["generation"] == 1
    assert tree_digest(root) == before


def test_check_mode_writes_nothing_but_reports_the_diff(root):
    before = tree_digest(root)
    _facts, pending, diff = edit(root, lambda t: E.edit_system(t, "web01", {"ip": "192.0.2.77"}), check_mode=True)
    assert list(pending) == ["systems/web01.yml"]
    assert "192.0.2.50" in diff[0]["before"] and "192.0.2.77" in diff[0]["after"]
    assert tree_digest(root) == before


def test_duplicate_mac_is_refused_naming_the_owner(root):
    refused(
        root,
        lambda t: E.edit_system(t, "web02", dict(SYSTEM, mac="52:54:00:12:34:56", ip="192.0.2.51")),
        "refused, nothing was written",
        "systems/web02.yml: interfaces[0].mac: MAC 52:54:00:12:34:56 is also used by systems/web01.yml (interfaces[0].mac)",
    )


def test_mac_of_a_spare_is_refused(root):
    refused(
        root,
        lambda t: E.edit_system(t, "web02", dict(SYSTEM, mac="52:54:00:00:00:03", ip="192.0.2.51")),
        "is also used by pools/spares-dmz.yml (machines[2].mac)",
    )


def test_hostname_with_newline_is_refused(root):
    error = refused(
        root,
        lambda t: E.edit_system(t, "web02\nhost evil { }", dict(SYSTEM, mac="52:54:00:ab:cd:ef", ip="192.0.2.51")),
        "systems/'web02\\nhost evil { }': name:",
        "RFC 1123",
    )
    assert all("\n" not in str(problem) for problem in error.problems)


@pytest.mark.parametrize(
    "params, field, text",
    [
        ({"ip": "192.0.2.220"}, "interfaces[0].ip", "dynamic range"),
        ({"ip": "198.51.100.7"}, "interfaces[0].ip", "outside"),
        ({"mac": "52:54:00:12:34"}, "mac", "6 octets"),
        ({"kernel_options": {"ks": "http://x/ks;reboot"}}, "kernel_options", "';'"),
        ({"kernel_options": "console=ttyS0\ninitrd=/evil"}, "kernel_options", "newline"),
        ({"vars": {"motd": "a\n%pre\nwipefs -a /dev/sda"}}, "vars", "newline"),
        ({"hardware_model": 'r650"; }'}, "hardware_model", "'\"'"),
        ({"tier": "nope"}, "tier", "does not exist"),
        ({"profile": "nope"}, "profile", "does not exist"),
        ({"boot_loader": "grub; exit"}, "boot_loader", "not one of"),
        (
            {
                "interfaces": [
                    {"name": "eth0", "mac": "52:54:00:12:34:56", "ip": "192.0.2.50", "primary": True},
                    {"name": "eth1", "mac": "52:54:00:12:34:58", "ip": "192.0.2.51", "primary": True},
                ]
            },
            "interfaces",
            "exactly one interface",
        ),
    ],
)
def test_bad_system_changes_are_refused_naming_record_and_field(root, params, field, text):
    error = refused(root, lambda t: E.edit_system(t, "web01", params), text)
    assert (
        any(p.path == "systems/web01.yml" and (p.field or "").startswith(field) for p in error.problems)
        or ("systems/web01.yml: %s" % field) in error.message
    )


def test_new_primary_mac_is_a_replacement(root):
    facts, _pending, _diff = edit(root, lambda t: E.edit_system(t, "web01", {"mac": "52-54-00-AA-BB-CC"}))
    assert facts["replaced"] == {"old_mac": "52:54:00:12:34:56", "new_mac": "52:54:00:aa:bb:cc"}
    assert facts["generation"] == 2
    store = RecordStore.load(root)
    assert store.resolve_system("web01")["mac"] == "52:54:00:aa:bb:cc"
    assert store.resolve_system("web01")["ip"] == "192.0.2.50"


def test_reinstall_raises_generation_each_time(root):
    for expected in (2, 3):
        facts, pending, _diff = edit(root, lambda t: E.edit_system(t, "web01", {"reinstall": True}))
        assert facts["generation"] == expected and list(pending) == ["systems/web01.yml"]


def test_from_pool_takes_first_spare_of_the_model_in_one_transaction(root):
    facts, pending, _diff = edit(root, lambda t: E.edit_system(t, "web01", {"from_pool": "spares-dmz"}))
    assert sorted(pending) == ["pools/spares-dmz.yml", "systems/web01.yml"]
    assert facts["pool_spare"] == {
        "mac": "52:54:00:00:00:01",
        "hardware_model": "r650",
        "serial": "SN001",
        "pool": "spares-dmz",
        "spares_left": 1,
    }
    assert facts["replaced"]["old_mac"] == "52:54:00:12:34:56"
    store = RecordStore.load(root)
    assert [m["mac"] for m in store.data("pools", "spares-dmz")["machines"]] == [
        "52:54:00:00:00:02",
        "52:54:00:00:00:03",
    ]
    assert store.problems() == []
    assert not os.path.exists(os.path.join(root, JOURNAL_NAME))


def test_from_pool_gives_the_system_the_spares_bmc(root):
    pool = os.path.join(root, "pools", "spares-dmz.yml")
    with open(pool, encoding="utf-8") as handle:
        text = handle.read()
    with open(pool, "w", encoding="utf-8") as handle:
        handle.write(
            text.replace("serial: SN001}", "serial: SN001, bmc: {type: redfish, address: 127.0.0.1, port: 8443}}")
        )
    edit(root, lambda t: E.edit_system(t, "web01", {"from_pool": "spares-dmz"}))
    system = RecordStore.load(root).data("systems", "web01")
    assert dict(system["bmc"]) == {"type": "redfish", "address": "127.0.0.1", "port": 8443}
    # the next spare has no BMC in its record: the system must not keep the old box's BMC, or a
    # replace would power-cycle the machine it just replaced instead of the new one
    edit(root, lambda t: E.edit_system(t, "web01", {"from_pool": "spares-dmz"}))
    assert "bmc" not in RecordStore.load(root).data("systems", "web01")


def test_from_pool_refusals(root):
    edit(root, lambda t: E.edit_system(t, "web01", {"from_pool": "spares-dmz"}))
    edit(root, lambda t: E.edit_system(t, "web01", {"from_pool": "spares-dmz"}))
    refused(
        root,
        lambda t: E.edit_system(t, "web01", {"from_pool": "spares-dmz"}),
        "pools/spares-dmz.yml: machines: no spare of hardware model 'r650' left for web01 (models in the pool: r640)",
    )
    refused(
        root,
        lambda t: E.edit_system(t, "web01", {"from_pool": "nothing"}),
        "systems/web01.yml: from_pool: pool 'nothing' does not exist",
    )
    refused(
        root,
        lambda t: E.edit_system(t, "app01", {"from_pool": "spares-dmz"}),
        "pools/spares-dmz.yml: segment: pool spares-dmz serves segment 'dmz' but app01 is in segment 'app'",
    )


def test_removing_a_referenced_record_is_refused_naming_referrers(root):
    refused(
        root,
        lambda t: E.remove_record(t, "segments", "dmz"),
        "segments/dmz.yml: cannot remove: still referred to by pools/spares-dmz.yml, systems/app01.yml, tiers/web.yml",
    )
    refused(
        root, lambda t: E.remove_record(t, "distros", "rocky9"), "profiles/rocky9-legacy.yml, profiles/rocky9-web.yml"
    )


def test_remove_and_retire_to_pool(root):
    _facts, pending, _diff = edit(root, lambda t: E.retire_system(t, "web01", to_pool="spares-dmz"))
    assert sorted(pending) == ["pools/spares-dmz.yml", "systems/web01.yml"]
    store = RecordStore.load(root)
    assert not store.exists("systems", "web01")
    assert store.data("pools", "spares-dmz")["machines"][-1] == {"mac": "52:54:00:12:34:56", "hardware_model": "r650"}
    _facts, pending, _diff = edit(root, lambda t: E.retire_system(t, "web01"))
    assert pending == {}


def test_pool_add_remove_by_mac(root):
    change = {"add": [{"mac": "52:54:00:00:00:09", "hardware_model": "r650"}], "remove": ["52-54-00-00-00-02"]}
    edit(root, lambda t: E.edit_pool(t, "spares-dmz", change))
    macs = [m["mac"] for m in RecordStore.load(root).data("pools", "spares-dmz")["machines"]]
    assert macs == ["52:54:00:00:00:01", "52:54:00:00:00:03", "52:54:00:00:00:09"]
    refused(
        root,
        lambda t: E.edit_pool(t, "spares-dmz", {"add": [{"mac": "52:54:00:12:34:56", "hardware_model": "r650"}]}),
        "pools/spares-dmz.yml: machines[3].mac: MAC 52:54:00:12:34:56 is also used by systems/web01.yml",
    )
    refused(root, lambda t: E.edit_pool(t, "spares-dmz", {"remove": ["nonsense"]}), "pools/spares-dmz.yml: remove[0]:")


def test_existing_problems_do_not_block_unrelated_changes(root):
    write_store(root, extra={"systems/broken.yml": "tier: web\ninterfaces: []\n"})
    _facts, pending, _diff = edit(root, lambda t: E.edit_system(t, "web01", {"reinstall": True}))
    assert list(pending) == ["systems/web01.yml"]


def test_lock_timeout_changes_nothing(root):
    before = tree_digest(root)
    with StoreLock(root), pytest.raises(LockTimeout, match="held the store lock"), Transaction(
        root, timeout=0.2
    ) as txn:
        E.edit_system(txn, "web01", {"reinstall": True})
        txn.commit()
    assert tree_digest(root) == before


def test_reader_waits_for_writer_and_sees_whole_transaction(root):
    # A child process holds the exclusive lock while we ask for a snapshot with a short timeout.
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
        import fcntl, os, sys, time
        fd = os.open(os.path.join(sys.argv[1], ".baremetal.lock"), os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
        print("locked", flush=True)
        time.sleep(30)
    """),
            root,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(LockTimeout):
            load_snapshot(root, timeout=0.2)
    finally:
        child.kill()
        child.wait()
    assert load_snapshot(root, timeout=5).problems() == []


def test_a_crash_between_files_is_rolled_forward(root):
    """A journal left by a run that died half-way is applied by the next reader and writer."""
    pool_text = FILES["pools/spares-dmz.yml"].replace(
        '  - {mac: "52:54:00:00:00:01", hardware_model: r650, serial: SN001}\n', ""
    )
    system_text = (
        FILES["systems/web01.yml"]
        .replace("52:54:00:12:34:56", "52:54:00:00:00:01")
        .replace("generation: 1", "generation: 2")
    )
    # the run died after writing the journal and the pool, before the system file
    with open(os.path.join(root, JOURNAL_NAME), "w") as handle:
        json.dump({"files": {"pools/spares-dmz.yml": pool_text, "systems/web01.yml": system_text}}, handle)
    with open(os.path.join(root, "pools/spares-dmz.yml"), "w") as handle:
        handle.write(pool_text)
    assert RecordStore.load(root).problems() == []  # the spare is in neither place on disk...
    snapshot = load_snapshot(root)  # ...but a reader sees the journal's outcome
    assert snapshot.resolve_system("web01")["mac"] == "52:54:00:00:00:01"
    with Transaction(root) as txn:  # the next writer applies it for good
        assert txn.store.resolve_system("web01")["mac"] == "52:54:00:00:00:01"
    assert not os.path.exists(os.path.join(root, JOURNAL_NAME))
    with open(os.path.join(root, "systems/web01.yml")) as handle:
        assert handle.read() == system_text


def test_stale_temporary_files_are_removed_and_never_read(root):
    stale = os.path.join(root, "systems", ".bm-tmp-abc")
    with open(stale, "w") as handle:
        handle.write("tier: [broken\n")
    assert load_snapshot(root).problems() == []
    edit(root, lambda t: E.edit_system(t, "web01", {"reinstall": True}))
    assert not os.path.exists(stale)


def test_first_record_in_check_mode_needs_no_directory(tmp_path):
    target = str(tmp_path / "new-store")
    with Transaction(target, create=False) as txn:
        E.set_fields(txn, "segments", "dmz", {"network": "192.0.2.0/24", "provisioner": "prov-dmz"})
        assert list(txn.commit(check_mode=True)) == ["segments/dmz.yml"]
    assert not os.path.exists(target)
