# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the record module's own work for one replace, in one process, without Ansible.

    python benchmarks/bench_edit.py [--sizes 200,10000] [--repeat 7] [--smoke]

What a record module does when replace moves one system to a new MAC (``_runner.records.run_edit``
without git): the store locked, scanned and loaded, the edit checked, the file written, and the
inventory's and the provisioner's views left behind for the steps that follow. Ansible's start-up
and the render are not in it: this is the part of replace's "ours" (bench_replace.py) that the
store index and the view patches work on, measured without the noise of a whole playbook.

Each attempt runs every configuration in turn, the order rotated from one attempt to the next:
all on; ``store_index`` off (every rule on the whole store, before the edit and after it);
``view_patch`` off (both views built from the store). Figures: seconds, median [min-max];
x: the per-attempt ratio to all on.
"""

import argparse
import contextlib
import os
import sys
import tempfile
import time

import _harness as H

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), ".build", "collections"))

from support.fleet import write_fleet

CONFIGS = ("all on", "store_index off", "view_patch off")


@contextlib.contextmanager
def configured(config):
    """The mechanism of config off for the block (as benchmarks/_switches.py turns it off), then on again."""
    from ansible_collections.baremetal.provision.plugins.module_utils._records import transaction as T
    from ansible_collections.baremetal.provision.plugins.module_utils._views import cache as C

    saved = [
        (T, "remembered_problems", T.remembered_problems),
        (T.Transaction, "_incremental", T.Transaction._incremental),
        (C, "patch_inventory_view", C.patch_inventory_view),
        (C, "patch_provisioner_view", C.patch_provisioner_view),
    ]
    if config == "store_index off":
        T.remembered_problems = lambda root, scan: None
        T.Transaction._incremental = lambda self: False
    elif config == "view_patch off":
        C.patch_inventory_view = lambda view, store, touched: None
        C.patch_provisioner_view = lambda view, store, systems: None
    try:
        yield
    finally:
        for owner, name, value in saved:
            setattr(owner, name, value)


def edit_once(root, system, mac):
    """One replace's record work; returns (seconds, how the inventory view was left)."""
    from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as E
    from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import Transaction
    from ansible_collections.baremetal.provision.plugins.module_utils._runner.collector import gc_paused
    from ansible_collections.baremetal.provision.plugins.module_utils._views.cache import warm

    start = time.perf_counter()
    with gc_paused(), Transaction(root) as txn:
        E.edit_system(txn, system, {"mac": mac, "must_exist": True})
        assert txn.commit(), "the edit changed nothing"
        warmed = warm(root, txn)
    took = time.perf_counter() - start
    assert warmed is not None, "the store has problems"
    return took, warmed["inventory"]


def bench(sizes, repeat, tmp):
    rows = []
    for size in sizes:
        print("... %d systems: set-up" % size, flush=True)
        root = write_fleet(os.path.join(tmp, "n%d" % size, "records"), size, segments=1)
        webs = sorted(name[:-4] for name in os.listdir(os.path.join(root, "systems")) if name.startswith("web"))
        edit_once(root, webs[0], "52:54:0f:ff:ff:ff")  # the first edit checks the whole store and builds the views
        rows.append({"systems": size, "root": root, "webs": webs, "runs": {c: [] for c in CONFIGS}, "how": {}})
    number = 0
    for attempt in range(repeat):
        print("... attempt %d of %d" % (attempt + 1, repeat), flush=True)
        for row in rows:
            for config in CONFIGS[attempt % len(CONFIGS) :] + CONFIGS[: attempt % len(CONFIGS)]:
                number += 1
                system = row["webs"][1 + number % (len(row["webs"]) - 1)]
                mac = "52:54:0f:%02x:%02x:%02x" % ((number >> 16) & 0xFF, (number >> 8) & 0xFF, number & 0xFF)
                with configured(config):
                    took, how = edit_once(row["root"], system, mac)
                row["runs"][config].append(took)
                row["how"].setdefault(config, set()).add(how)
    return rows


def report(rows, repeat):
    print("\nthe record work of one replace (seconds; median [min-max] of %d attempts; x: per-attempt ratio)" % repeat)
    lines = []
    for row in rows:
        on = row["runs"]["all on"]
        for config in CONFIGS:
            runs = row["runs"][config]
            lines.append(
                [
                    "%d" % row["systems"],
                    config,
                    H.spread(runs),
                    H.ratio(runs, on) if config != "all on" else "",
                    ",".join(sorted(row["how"][config])),
                ]
            )
    H.table(["systems", "configuration", "seconds", "x all on", "inventory view"], lines)
    sizes = [row["systems"] for row in rows]
    if len(sizes) > 1:
        on = {row["systems"]: row["runs"]["all on"] for row in rows}
        print("growth of all on from %d to %d: %s" % (sizes[0], sizes[-1], H.ratio(on[sizes[-1]], on[sizes[0]])))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="200,10000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--smoke", action="store_true", help="20 systems, one attempt: checks the benchmark runs")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.repeat = "20", 1
    with tempfile.TemporaryDirectory(prefix="bm-bench-edit-") as tmp:
        os.environ["BAREMETAL_CACHE_DIR"] = os.path.join(tmp, "cache")
        rows = bench([int(n) for n in args.sizes.split(",") if n], args.repeat, tmp)
    report(rows, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
