# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: one segment of N systems rendered by the provisioner sync (dhcp, tftp, web).

    python benchmarks/bench_render.py [--systems 10000] [--backend isc]

Three phases, each in a fresh process (so peak memory is the phase's own):
  full       every file from scratch
  unchanged  the same records again: must write nothing
  one-mac    one system moved to a new MAC (generation raised): must rewrite only the DHCP config
             and the two MACs' boot files (old removed, new written), plus that system's entry in
             the index
Reported: seconds for loading the store (load), rendering and writing (render), the daemon's own
config check (check: dhcpd -t / kea-dhcp4 -t, only when the DHCP config changed), peak RSS and
files written/removed.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.path.insert(0, os.path.join(REPO, ".build", "collections"))


def phase(root, out, backend):
    from ansible_collections.baremetal.provision.plugins.module_utils import _provisioner as P
    from ansible_collections.baremetal.provision.plugins.module_utils._store import RecordStore

    start = time.perf_counter()
    view = P.build_view(RecordStore.load(os.path.join(root, "records")), "prov-dmz")
    loaded = time.perf_counter()
    params = {
        "state_dir": os.path.join(out, "state"), "dhcp_server": backend,
        "dhcp_config": os.path.join(out, "dhcp", "kea-dhcp4.conf" if backend == "kea" else "dhcpd.conf"),
        "dhcp_check_command": [],  # timed on its own below
        "tftp_root": os.path.join(out, "tftp"), "web_root": os.path.join(out, "www"),
        "web_conf_dir": os.path.join(out, "nginx"), "secrets": {"root_password_hash": "$6$bench"},
    }
    results = {c: P.sync(c, view, dict(params)) for c in P.COMPONENTS}
    rendered = time.perf_counter()
    check = 0.0
    if results["dhcp"]["written"]:
        command = ["kea-dhcp4", "-t"] if backend == "kea" else ["dhcpd", "-t", "-q", "-cf"]
        began = time.perf_counter()
        subprocess.run([*command, params["dhcp_config"]], check=True, capture_output=True)
        check = time.perf_counter() - began
    written = [c + ":" + p for c, r in results.items() for p in r["written"]]
    removed = [c + ":" + p for c, r in results.items() for p in r["removed"]]
    return {
        "systems": results["tftp"]["systems"], "load": loaded - start, "render": rendered - loaded, "check": check,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "written": len(written), "removed": len(removed), "written_files": written[:12], "removed_files": removed[:12],
    }


def run_phase(root, out, backend):
    proc = subprocess.run([sys.executable, __file__, "--phase", root, out, backend], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(proc.stdout + proc.stderr)
    return json.loads(proc.stdout)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=int(os.environ.get("BENCH_RENDER_SYSTEMS", "10000")))
    parser.add_argument("--backend", choices=["isc", "kea"], default="isc")
    parser.add_argument("--phase", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        print(json.dumps(phase(*args.phase)))
        return 0
    from support.fleet import write_fleet

    rows = []
    with tempfile.TemporaryDirectory(prefix="bm-bench-render-") as tmp:
        os.environ["BAREMETAL_CACHE_DIR"] = os.path.join(tmp, "parse-cache")
        write_fleet(os.path.join(tmp, "records"), args.systems, segments=1, spares_per_segment=0)
        out = os.path.join(tmp, "out")
        rows.append(("full", run_phase(tmp, out, args.backend)))
        rows.append(("unchanged", run_phase(tmp, out, args.backend)))
        systems = os.path.join(tmp, "records", "systems")
        victim = os.path.join(systems, sorted(os.listdir(systems))[0])
        with open(victim, encoding="utf-8") as handle:
            text = handle.read()
        with open(victim, "w", encoding="utf-8") as handle:
            handle.write(text.replace("52:54:00:", "52:54:02:", 1).replace("generation: 1", "generation: 2"))
        rows.append(("one-mac", run_phase(tmp, out, args.backend)))
    print("\nprovisioner sync of one segment, %s, %d systems (seconds, MB)" % (args.backend, args.systems))
    print("%-10s %8s %8s %8s %8s %9s %8s" % ("phase", "load", "render", "check", "peak", "written", "removed"))
    for name, r in rows:
        print("%-10s %8.2f %8.2f %8.2f %8.0f %9d %8d" % (name, r["load"], r["render"], r["check"], r["peak_mb"], r["written"], r["removed"]))
    print("one-mac wrote:   %s" % ", ".join(rows[2][1]["written_files"]))
    print("one-mac removed: %s" % ", ".join(rows[2][1]["removed_files"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
