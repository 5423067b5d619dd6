# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: one segment of N systems rendered by the provisioner sync (dhcp, tftp, web).

    python benchmarks/bench_render.py [--systems 10000] [--backend isc] [--repeat 3] [--smoke]
    BENCH_OFF=render_memo python benchmarks/bench_render.py ...   # a mechanism off (_switches.py)

Each round runs these phases in turn, each in a fresh process (so peak memory is the phase's own):
  full       every file from scratch into an empty tree
  unchanged  the same records again: must write nothing
  one-mac    one system moved to a new MAC (generation raised): must rewrite only the DHCP config
             and the two MACs' boot files (old removed, new written), plus that system's entry in
             the index
  floor      the baseline: a fresh process that writes the full tree's files (the same names and
             bytes, read into memory first) with plain open().write(): the I/O any full render pays
Reported per phase: seconds for loading the store (load), rendering and writing (render), the
daemon's own config check (check: dhcpd -t / kea-dhcp4 -t, only when the DHCP config changed),
peak RSS and files written/removed, each as the median [min-max] of the rounds; and the phase's
load + render as a ratio to the floor of the same round.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import _harness as H
import _switches as S

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.path.insert(0, os.path.join(REPO, ".build", "collections"))

PHASES = ("full", "unchanged", "one-mac")


def options(out, backend):
    """The provisioner_sync options of each component, as the roles give them."""
    state = os.path.join(out, "state")
    config = os.path.join(out, "dhcp", "kea-dhcp4.conf" if backend == "kea" else "dhcpd.conf")
    return {
        "dhcp": {"config": config, "server": backend, "check_command": []},  # the check is timed on its own
        "tftp": {"root": os.path.join(out, "tftp"), "state_dir": state},
        "web": {
            "root": os.path.join(out, "www"),
            "conf_dir": os.path.join(out, "nginx"),
            "state_dir": state,
            "secrets": {"root_password_hash": "$6$bench"},
        },
    }


def phase(root, out, backend):
    from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import sync as P
    from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
    from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import build_view

    for name in S.switched_off():  # BENCH_OFF=render_memo: every phase renders every system
        S.SWITCHES[name]()
    start = time.perf_counter()
    view = build_view(RecordStore.load(os.path.join(root, "records")), "prov-dmz")
    loaded = time.perf_counter()
    params = options(out, backend)
    results = {c: P.sync(c, view, params[c]) for c in P.COMPONENTS}
    rendered = time.perf_counter()
    check = 0.0
    if results["dhcp"]["written"]:
        command = ["kea-dhcp4", "-t"] if backend == "kea" else ["dhcpd", "-t", "-q", "-cf"]
        began = time.perf_counter()
        subprocess.run([*command, params["dhcp"]["config"]], check=True, capture_output=True)
        check = time.perf_counter() - began
    written = [c + ":" + p for c, r in results.items() for p in r["written"]]
    removed = [c + ":" + p for c, r in results.items() for p in r["removed"]]
    return {
        "systems": len(view["systems"]),
        "load": loaded - start,
        "render": rendered - loaded,
        "check": check,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "written": len(written),
        "removed": len(removed),
        "rendered": max(r.get("rendered", 0) for r in results.values()),  # systems, by the tftp or web step
        "written_files": written[:12],
        "removed_files": removed[:12],
    }


def floor(tree, out):
    """Write every file under tree again under out with plain Python: the baseline's seconds."""
    files = {}
    for folder, _dirs, names in os.walk(tree):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                files[os.path.relpath(path, tree)] = handle.read()
    start = time.perf_counter()
    for relpath, data in files.items():
        path = os.path.join(out, relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
    return {
        "load": 0.0,
        "render": time.perf_counter() - start,
        "check": 0.0,
        "written": len(files),
        "removed": 0,
        "rendered": 0,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }


def run_phase(*args, flag="--phase"):
    proc = subprocess.run([sys.executable, __file__, flag, *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stdout + proc.stderr)
    return json.loads(proc.stdout)


def move_one_mac(records, round_number):
    """Give the round's system a new MAC and raise its generation, as the system module would."""
    systems = os.path.join(records, "systems")
    victim = os.path.join(systems, sorted(os.listdir(systems))[round_number])
    with open(victim, encoding="utf-8") as handle:
        text = handle.read()
    with open(victim, "w", encoding="utf-8") as handle:
        handle.write(text.replace("52:54:00:", "52:54:02:", 1).replace("generation: 1", "generation: 2"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=int(os.environ.get("BENCH_RENDER_SYSTEMS", "10000")))
    parser.add_argument("--backend", choices=["isc", "kea"], default="isc")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of the phases (default 3)")
    parser.add_argument("--smoke", action="store_true", help="20 systems, one round: checks the benchmark runs")
    parser.add_argument("--phase", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--floor", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        print(json.dumps(phase(*args.phase)))
        return 0
    if args.floor:
        print(json.dumps(floor(*args.floor)))
        return 0
    if args.smoke:
        args.systems, args.repeat = 20, 1
    from support.fleet import write_fleet

    runs = {name: [] for name in (*PHASES, "floor")}
    with tempfile.TemporaryDirectory(prefix="bm-bench-render-") as tmp:
        os.environ["BAREMETAL_CACHE_DIR"] = os.path.join(tmp, "parse-cache")
        records = write_fleet(os.path.join(tmp, "records"), args.systems, segments=1, spares_per_segment=0)
        run_phase(tmp, os.path.join(tmp, "warm-up"), args.backend)  # the parse cache filled, as after any earlier run
        for round_number in range(args.repeat):
            print("... round %d of %d" % (round_number + 1, args.repeat), flush=True)
            out = os.path.join(tmp, "out")
            shutil.rmtree(out, ignore_errors=True)
            runs["full"].append(run_phase(tmp, out, args.backend))
            shutil.rmtree(os.path.join(tmp, "floor"), ignore_errors=True)
            runs["floor"].append(run_phase(out, os.path.join(tmp, "floor"), flag="--floor"))
            runs["unchanged"].append(run_phase(tmp, out, args.backend))
            if runs["unchanged"][-1]["written"] or runs["unchanged"][-1]["removed"]:
                raise SystemExit("unchanged records wrote files: %s" % runs["unchanged"][-1]["written_files"])
            move_one_mac(records, round_number)
            runs["one-mac"].append(run_phase(tmp, out, args.backend))
    print(
        "\nprovisioner sync of one segment, %s, %d systems (seconds, MB; median [min-max] of %d round%s)"
        % (args.backend, args.systems, args.repeat, "" if args.repeat == 1 else "s")
    )
    floors = [r["load"] + r["render"] for r in runs["floor"]]
    rows = []
    for name in (*PHASES, "floor"):
        phase_runs = runs[name]
        totals = [r["load"] + r["render"] for r in phase_runs]
        rows.append(
            [
                name,
                *(H.spread(r[key] for r in phase_runs) for key in ("load", "render", "check")),
                H.spread(totals),
                H.ratio(totals, floors),
                "%.0f" % H.median([r["peak_mb"] for r in phase_runs]),
                "%d" % H.median([r["written"] for r in phase_runs]),
                "%d" % H.median([r["removed"] for r in phase_runs]),
                "%d" % H.median([r["rendered"] for r in phase_runs]) if name != "floor" else "",
            ]
        )
    H.table(
        ["phase", "load", "render", "check", "load+render", "x floor", "peak MB", "written", "removed", "rendered"],
        rows,
    )
    print("floor: the full tree's files written again with plain open().write(), in the same round")
    print("rendered: the systems whose boot files and install configs were rendered (the others' were remembered)")
    print("one-mac wrote:   %s" % ", ".join(runs["one-mac"][-1]["written_files"]))
    print("one-mac removed: %s" % ", ".join(runs["one-mac"][-1]["removed_files"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
