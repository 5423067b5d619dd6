# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Crash safety: module runs killed (SIGKILL) at random points of their writes.

A render run (the provisioner_sync module, as the roles run it) and a record edit (the system
module taking a spare from a pool: two record files in one transaction) are started as the real
module processes and killed after a random delay, many times. Afterwards:
- the record store loads, validates, and holds either the whole edit or none of it;
- a generated tree, once recovered (the first step of every sync, under the provisioner's lock),
  is exactly the old or exactly the new state: manifest and every file;
- even before recovery no file is torn: each one holds its old or its new bytes.

`make test` kills each kind of run a bounded number of times; `make soak` (BAREMETAL_SOAK=1) many
more. The counts go to the hardening report printed at the end of the session.
"""

import json
import os
import random
import shutil
import subprocess
import tempfile
import time

from support import report
from support.fleet import write_fleet
from support.modules import module_command, module_input
from support.store import tree_digest, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import sync as P
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import tree_sync as T
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import Transaction, load_snapshot
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import build_view

SOAK = bool(os.environ.get("BAREMETAL_SOAK"))
KILLS = int(os.environ.get("BAREMETAL_CRASH_KILLS", "300" if SOAK else "25"))
BOOKKEEPING = (T.MANIFEST, T.JOURNAL, T.STAGE)


def _run(name, args, kill_at=None):
    """Run the module as Ansible does (its file, JSON arguments on stdin). kill_at=(marker, delay):
    SIGKILL it delay seconds after the path marker first exists (so that kills land in the
    writes, not in the start-up). True when it was killed before it ended."""
    argv, env = module_command(name)
    with tempfile.TemporaryFile() as output:  # not a pipe: a full pipe would stall the module
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=output, stderr=subprocess.STDOUT, env=env)
        proc.stdin.write(module_input(args).encode("utf-8"))
        proc.stdin.close()
        if kill_at is not None:
            marker, delay = kill_at
            deadline = None
            while proc.poll() is None:
                now = time.perf_counter()
                if deadline is None and os.path.exists(marker):
                    deadline = now + delay
                if deadline is not None and now >= deadline:
                    proc.kill()
                    proc.wait()
                    return True
                time.sleep(0.0002)
        proc.wait(timeout=300)
        output.seek(0)
        assert proc.returncode == 0, output.read()[-2000:]
    return False


def _restore(root, pristine):
    """root becomes a copy of pristine in hard links: cheap, and safe because every write of the
    code under test is a new file and a rename, never a write into an existing inode."""
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run(["cp", "-al", pristine, root], check=True)


def _live(files):
    return {
        p: d
        for p, d in files.items()
        if p.split("/")[0] not in BOOKKEEPING and not os.path.basename(p).startswith(".bm-")
    }


def _changed_macs(view):
    """The same fleet with every system on new hardware (new MACs): most boot files change."""
    changed = json.loads(json.dumps(view))
    for system in changed["systems"]:
        for iface in system["interfaces"]:
            iface["mac"] = "52:54:0a" + iface["mac"][8:]
    return changed


def test_render_runs_killed_mid_write_leave_the_old_or_the_new_tree(tmp_path):
    records = write_fleet(tmp_path / "records", 600, segments=1)
    view_old = build_view(RecordStore.load(records), "prov-dmz")
    view_new = _changed_macs(view_old)
    state = str(tmp_path / "state")
    root = str(tmp_path / "tftp")
    pristine = str(tmp_path / "tftp-old")
    P.sync("tftp", view_old, {"state_dir": state, "root": pristine})
    old = tree_digest(pristine)
    new_view_file = str(tmp_path / "view-new.json")
    with open(new_view_file, "w", encoding="utf-8") as handle:
        json.dump(view_new, handle)
    args = {"view_file": new_view_file, "tftp": {"root": root, "state_dir": state}}
    _restore(root, pristine)
    assert _run("provisioner_sync", args) is False
    new = tree_digest(root)
    assert _live(new) != _live(old) and T.MANIFEST in new and not any(p.startswith(T.STAGE) for p in new)
    rng = random.Random(int(os.environ.get("BAREMETAL_CRASH_SEED", "0")))
    counts = {
        "kills": 0,
        "old_after_recovery": 0,
        "new_after_recovery": 0,
        "mixed_before_recovery": 0,
        "torn_files": 0,
        "mixed_after_recovery": 0,
    }
    for _attempt in range(KILLS):
        _restore(root, pristine)
        # half the kills while files are staged, half while the journal is rolled forward
        marker = rng.choice((T.STAGE, T.JOURNAL))
        if not _run("provisioner_sync", args, kill_at=(os.path.join(root, marker), rng.uniform(0.0, 0.05))):
            continue
        counts["kills"] += 1
        found = tree_digest(root)
        # no torn or foreign file under a served name, whatever the moment of the kill (by content hash)
        torn = [p for p, digest in _live(found).items() if digest not in (old.get(p), new.get(p))]
        counts["torn_files"] += len(torn)
        assert not torn, torn[:5]
        if _live(found) not in (_live(old), _live(new)):
            counts["mixed_before_recovery"] += 1
        T.recover(root)
        after = tree_digest(root)
        if after == old:
            counts["old_after_recovery"] += 1
        elif after == new:
            counts["new_after_recovery"] += 1
        else:
            counts["mixed_after_recovery"] += 1
        assert after in (old, new), sorted(set(after) ^ set(new))[:5]
        # and the next run converges on the new state
        assert _run("provisioner_sync", args) is False
        assert tree_digest(root) == new
    report.add("crash: render run killed (tftp, 600 systems, every MAC changed)", **counts)
    assert counts["kills"] >= KILLS // 2, counts
    assert counts["mixed_after_recovery"] == 0 and counts["torn_files"] == 0


def _pool_macs(store):
    return [m["mac"] for m in store.data("pools", "spares-dmz")["machines"]]


def test_record_edits_killed_mid_transaction_leave_all_or_nothing(tmp_path):
    base = write_store(tmp_path / "base")
    records = str(tmp_path / "records")
    before = RecordStore.load(base)
    old_mac = before.resolve_system("web01")["interfaces"][0]["mac"]
    spares = _pool_macs(before)
    args = {"records_dir": records, "name": "web01", "from_pool": "spares-dmz"}
    shutil.copytree(base, records)
    assert _run("system", args) is False
    rng = random.Random(int(os.environ.get("BAREMETAL_CRASH_SEED", "0")) + 1)
    counts = {"kills": 0, "edit_absent": 0, "edit_complete": 0, "invalid_store": 0, "spare_lost": 0, "spare_twice": 0}
    for _attempt in range(KILLS):
        _restore(records, base)
        # the lock is taken before the store is read; the journal is the commit point
        marker, delay = rng.choice(((".baremetal.lock", 0.1), (".baremetal.journal", 0.002)))
        if not _run("system", args, kill_at=(os.path.join(records, marker), rng.uniform(0.0, delay))):
            continue
        counts["kills"] += 1
        store = load_snapshot(records)  # how every reader loads: a crashed edit is seen whole
        if store.problems():
            counts["invalid_store"] += 1
        mac = store.resolve_system("web01")["interfaces"][0]["mac"]
        pool = _pool_macs(store)
        if mac == old_mac and pool == spares:
            counts["edit_absent"] += 1
        elif mac in spares and mac not in pool and sorted([*pool, mac]) == sorted(spares):
            counts["edit_complete"] += 1
        elif mac in pool:
            counts["spare_twice"] += 1
        else:
            counts["spare_lost"] += 1
        assert store.problems() == []
        assert counts["spare_twice"] == counts["spare_lost"] == 0, (mac, pool)
        # the next writer rolls a crashed edit forward: the files then hold what readers saw
        with Transaction(records):
            pass
        on_disk = RecordStore.load(records)
        assert (on_disk.resolve_system("web01")["interfaces"][0]["mac"], _pool_macs(on_disk)) == (mac, pool)
        assert not os.path.exists(os.path.join(records, ".baremetal.journal"))
    report.add("crash: record edit killed (system from_pool, 2 files)", **counts)
    assert counts["kills"] >= KILLS // 2, counts
