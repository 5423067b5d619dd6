# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: time and peak memory of the inventory, a one-task playbook and validate, up to 100,000 systems.

    python benchmarks/bench_scale.py [--sizes 2000] [--repeat 3] [--smoke] [--json runs.json]
    python benchmarks/bench_scale.py --sizes 10000,100000 --repeat 2     # about 15 min at 100,000 here

Each size is one segment of N systems (bench_replace.py's setup: the fleet, its inventory folder,
a site run of the dmz's provisioner, whose seconds are printed as "site"), the inventory folder as
AWX's inventory source takes it (the records plugin's config and the provisioner's host_vars), and
a copy of it with ``host_vars: lean``. After one untimed run of each inventory (the caches as a
run with an unchanged store leaves them), --repeat attempts, each of these in turn:
  ansible        ansible-playbook with one task on a static localhost inventory: Ansible alone
  export full    ansible-inventory --list --export --output FILE, as AWX's inventory sync runs it
                 (ANSIBLE_INVENTORY_EXPORT and ANSIBLE_INVENTORY_UNPARSED_FAILED set as AWX does)
  export lean    the same with host_vars: lean
  export ... cold  the same with BAREMETAL_CACHE=off: no cache folder, as in AWX, whose inventory
                 update runs in a new container each time (every record parsed and checked)
  playbook full  ansible-playbook with one task on localhost against the fleet's inventory
  playbook lean  the same with host_vars: lean
  validate       ansible-playbook -i localhost, baremetal.provision.validate (examples/gitops's
                 pre-merge check), the record parse cache warm
  validate cold  the same with BAREMETAL_CACHE=off: every record file parsed and checked, as on a
                 fresh CI runner
Each run is a new process; its peak memory is the largest resident set of the process and of any
process it waited for (RUSAGE_CHILDREN's ru_maxrss in a small launcher: Ansible's forked workers
share the parent's pages, so the largest, not the sum, is what the machine must hold). Figures
are the median [min-max] of the attempts; x ansible and full/lean are the median [min-max] of
per-attempt ratios.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import _harness as H
from bench_replace import setup

BIN = os.path.dirname(sys.executable)
CASES = (
    "ansible",
    "export full",
    "export lean",
    "export full cold",
    "export lean cold",
    "playbook full",
    "playbook lean",
    "validate",
    "validate cold",
)
# AWX's inventory update environment (awx/main/constants.py; see docs/awx.md)
AWX_ENV = {
    "ANSIBLE_INVENTORY_EXPORT": "True",
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    "ANSIBLE_VERBOSE_TO_STDERR": "True",
}


# Runs one command and writes the largest resident set of it and its descendants (RUSAGE_CHILDREN's
# ru_maxrss, KB) to the file named first. A child of a fork starts with its parent's resident set
# as its peak, so the commands are started from this small process, not from the benchmark.
LAUNCHER = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[2:], check=False).returncode
with open(sys.argv[1], "w") as handle:
    handle.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(code)
"""


def measured(cmd, env, out):
    """(seconds, peak resident MB) of one run of cmd in a new process, its output in the file
    out; a failure stops the benchmark."""
    with open(out, "wb") as stdout, open(out + ".err", "wb") as stderr:
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", LAUNCHER, out + ".rss", *cmd], env=env, stdout=stdout, stderr=stderr, check=False
        )
        took = time.perf_counter() - start
    if proc.returncode != 0:
        with open(out, "rb") as stdout, open(out + ".err", "rb") as stderr:
            raise SystemExit(
                "%s failed (%d):\n%s%s"
                % (" ".join(cmd), proc.returncode, stdout.read()[-3000:].decode(), stderr.read()[-3000:].decode())
            )
    with open(out + ".rss", encoding="utf-8") as handle:
        return took, int(handle.read()) / 1024.0  # KB on Linux


def lean_inventory(ctx):
    """A copy of the fleet's inventory folder whose records config asks for host_vars: lean."""
    lean = ctx["inv"] + "-lean"
    shutil.copytree(ctx["inv"], lean)
    with open(os.path.join(lean, "fleet.baremetal.yml"), "a", encoding="utf-8") as handle:
        handle.write("host_vars: lean\n")
    return lean


def commands(ctx, work):
    """{case: (command, environment)} of one size."""
    playbook = [os.path.join(BIN, "ansible-playbook")]
    inventory = [os.path.join(BIN, "ansible-inventory")]
    env = ctx["env"]
    awx = dict(env, **AWX_ENV)
    validate_env = dict(env, BAREMETAL_RECORDS=ctx["records"])
    local = os.path.join(work, "localhost.yml")
    with open(ctx["trivial"], encoding="utf-8") as trivial:
        play = trivial.read().replace("groups['systems'] | length", "groups['all'] | length")
    with open(local, "w", encoding="utf-8") as handle:  # the same play, on an inventory of localhost alone
        handle.write(play)
    return {
        "ansible": ([*playbook, "-i", "localhost,", local], env),
        "export full": ([*inventory, "-i", ctx["inv"], "--list", "--export", "--output", ctx["json_full"]], awx),
        "export lean": ([*inventory, "-i", ctx["lean"], "--list", "--export", "--output", ctx["json_lean"]], awx),
        "export full cold": (
            [*inventory, "-i", ctx["inv"], "--list", "--export", "--output", ctx["json_full"]],
            dict(awx, BAREMETAL_CACHE="off"),
        ),
        "export lean cold": (
            [*inventory, "-i", ctx["lean"], "--list", "--export", "--output", ctx["json_lean"]],
            dict(awx, BAREMETAL_CACHE="off"),
        ),
        "playbook full": ([*playbook, "-i", ctx["inv"], ctx["trivial"]], env),
        "playbook lean": ([*playbook, "-i", ctx["lean"], ctx["trivial"]], env),
        "validate": ([*playbook, "-i", "localhost,", "baremetal.provision.validate"], validate_env),
        "validate cold": (
            [*playbook, "-i", "localhost,", "baremetal.provision.validate"],
            dict(validate_env, BAREMETAL_CACHE="off"),
        ),
    }


COUNT = "import json, sys; print(len(json.load(open(sys.argv[1]))['_meta']['hostvars']))"


def prepare(size, tmp):
    print("setting up %d systems (the fleet, its inventory, a site run) ..." % size, flush=True)
    ctx = setup(size, 1, tmp)
    print("  site %.1f s" % ctx["site"], flush=True)
    ctx["lean"] = lean_inventory(ctx)
    ctx["json_full"] = os.path.join(ctx["root"], "export-full.json")
    ctx["json_lean"] = os.path.join(ctx["root"], "export-lean.json")
    ctx["cmds"] = commands(ctx, ctx["root"])
    ctx["runs"] = {case: [] for case in CASES}
    out = os.path.join(ctx["root"], "out")
    for case in ("export full", "export lean"):  # untimed: the caches as an unchanged store leaves them
        cmd, env = ctx["cmds"][case]
        measured(cmd, env, out)
    ctx["json_bytes"] = {form: os.path.getsize(ctx["json_" + form]) for form in ("full", "lean")}
    for form in ("full", "lean"):  # counted in another process: this one stays small (see LAUNCHER)
        count = subprocess.run(
            [sys.executable, "-c", COUNT, ctx["json_" + form]], capture_output=True, text=True, check=True
        )
        ctx.setdefault("hosts", {})[form] = int(count.stdout)
    return ctx


def attempt(ctx):
    out = os.path.join(ctx["root"], "out")
    for case in CASES:
        cmd, env = ctx["cmds"][case]
        ctx["runs"][case].append(measured(cmd, env, out))
        print("  %d %s: %.2f s, %.0f MB" % (ctx["systems"], case, *ctx["runs"][case][-1]), flush=True)


def _mb(values):
    return "%.0f [%.0f-%.0f]" % (H.median(values), min(values), max(values)) if len(values) > 1 else "%.0f" % values[0]


def _size(count):
    return "%.1f MB" % (count / 1e6) if count >= 1e6 else "%.0f kB" % (count / 1e3)


def report(ctxs):
    for ctx in ctxs:
        runs = ctx["runs"]
        secs = {case: [t for t, _m in runs[case]] for case in CASES}
        peak = {case: [m for _t, m in runs[case]] for case in CASES}
        print()
        print(
            "%d systems (%d hosts), one segment; site %.1f s; export JSON: full %s, lean %s (%.1fx)"
            % (
                ctx["systems"],
                ctx["hosts"]["full"],
                ctx["site"],
                _size(ctx["json_bytes"]["full"]),
                _size(ctx["json_bytes"]["lean"]),
                ctx["json_bytes"]["full"] / max(1, ctx["json_bytes"]["lean"]),
            )
        )
        rows = []
        for case in CASES:
            rows.append(
                [
                    ctx["systems"],
                    case,
                    H.spread(secs[case]),
                    _mb(peak[case]),
                    H.ratio(secs[case], secs["ansible"]) if case != "ansible" else "1.00x",
                    H.ratio(peak[case], peak["ansible"]) if case != "ansible" else "1.00x",
                ]
            )
        H.table(["systems", "run", "seconds", "peak MB", "x ansible", "peak x ansible"], rows)
        print("full / lean (per-attempt ratios):")
        H.table(
            ["systems", "run", "seconds", "peak"],
            [
                [
                    ctx["systems"],
                    what,
                    H.ratio(secs[what + " full"], secs[what + " lean"]),
                    H.ratio(peak[what + " full"], peak[what + " lean"]),
                ]
                for what in ("export", "playbook")
            ],
        )
        highest = max(max(peak[case]) for case in CASES)
        print(
            "largest peak at %d systems: %.0f MB; a controller ceiling of 1.5x that: %.0f MB"
            % (ctx["systems"], highest, highest * 1.5)
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SCALE_SIZES", "2000"), help="e.g. 10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="20 systems, one attempt: checks the benchmark runs")
    parser.add_argument("--keep", help="keep the work folder here")
    parser.add_argument("--json", help="also write the runs to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.repeat = "20", 1
    sizes = [int(size) for size in args.sizes.split(",")]
    tmp = args.keep or tempfile.mkdtemp(prefix="bm-bench-scale-")
    try:
        ctxs = [prepare(size, tmp) for size in sizes]
        for number in range(args.repeat):
            print("attempt %d of %d ..." % (number + 1, args.repeat), flush=True)
            for ctx in ctxs:
                attempt(ctx)
        report(ctxs)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as handle:
                json.dump(
                    [{k: ctx[k] for k in ("systems", "site", "json_bytes", "hosts", "runs")} for ctx in ctxs],
                    handle,
                    indent=1,
                )
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
