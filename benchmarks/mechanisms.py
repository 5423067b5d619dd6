# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: what each speed mechanism is worth, turned off one at a time (benchmarks/_switches.py).

    python benchmarks/mechanisms.py [--systems 10000] [--repeat 5] [--only parse_cache,...] [--chain N] [--smoke]

One segment of N systems (the provisioner renders all N). In each attempt every configuration
runs in turn (all mechanisms on, then each one off, the order rotated from one attempt to the
next so that none always comes first):
  replace             ansible-playbook baremetal.provision.replace of a new system to a new MAC,
                      after an untimed ansible-inventory run with the same switches (so each run
                      finds the caches as a run of its own kind leaves them)
  inventory changed   ansible-playbook with one task on localhost after one record file was
                      rewritten (a git pull): the plugin's view is stale
  inventory unchanged the same run again, nothing changed
With --chain N, each configuration runs N replaces in a row in each attempt and the first is not
counted: a mechanism that works over a chain of runs (a view delta, the view an edit leaves for
the render) is measured on the state its own runs leave, not on the state the configuration
before it left.
The inventory is measured only for the mechanisms it uses. Figures are seconds, median [min-max];
off/on is the median [min-max] of the per-attempt ratios. Lines: code lines (no blank, comment or
docstring line) of the functions and classes each mechanism adds, counted from the source now.
"""

import argparse
import ast
import json
import os
import sys
import tempfile

import _harness as H
import _switches as S
import bench_inventory as inventory_bench
import bench_replace as replace_bench

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ON = "all on"
INVENTORY_USES = ("parse_cache", "parse_cache_index", "parse_cache_checks", "inventory_view", "bulk_hosts", "gc_pause")

# What each mechanism adds: (file, [top-level names or Class.method; "*" for the whole file]).
# A part two mechanisms share is counted once, with the first.
CODE = {
    "parse_cache": [
        ("plugins/module_utils/_records/parse_cache.py", ["_NotPlain", "_plain", "_cacheable", "SHARDS", "ParseCache"]),
        (
            "plugins/module_utils/_records/store.py",
            ["_checked_label", "rules_digest", "Record.checked", "RecordStore._add_known", "RecordStore._add_checked"],
        ),
    ],
    # parts of parse_cache, also counted in its lines
    "parse_cache_index": [
        ("plugins/module_utils/_records/parse_cache.py", ["ParseCache.known_key", "ParseCache.note_key"]),
        ("plugins/module_utils/_records/store.py", ["RecordStore._add_known"]),
    ],
    "parse_cache_checks": [
        ("plugins/module_utils/_records/parse_cache.py", ["ParseCache.checked", "ParseCache.remember_checked"]),
        ("plugins/module_utils/_records/store.py", ["_checked_label", "Record.checked"]),
    ],
    "inventory_view": [
        (
            "plugins/module_utils/_records/cache_files.py",
            ["enabled", "cache_dir", "VIEW_FORMAT", "read_cached", "_read", "write_cached"],
        ),
        ("plugins/module_utils/_views/cache.py", ["_path", "inventory_path"]),
        (
            "plugins/module_utils/_records/scan.py",
            [
                "store_fingerprint",
                "SCANNED",
                "_line",
                "StoreScan.__init__",
                "StoreScan._scan_dir",
                "StoreScan.fingerprint",
            ],
        ),
        ("plugins/inventory/records.py", ["InventoryModule._view"]),
    ],
    "store_index": [
        ("plugins/module_utils/_records/index.py", ["*"]),
        (
            "plugins/module_utils/_records/store.py",
            [
                "_own",
                "RecordStore.owners",
                "RecordStore.leaf_values",
                "RecordStore.local_problems",
                "RecordStore.remember",
            ],
        ),
        (
            "plugins/module_utils/_records/transaction.py",
            ["Transaction._touch", "Transaction._incremental", "Transaction._local", "Transaction._problems_after"],
        ),
    ],
    "view_patch": [
        ("plugins/module_utils/_views/inventory_patch.py", ["*"]),
        ("plugins/module_utils/_views/provisioner.py", ["_picked", "patch_systems", "used_by", "with_changes"]),
    ],
    "view_delta": [
        (
            "plugins/module_utils/_views/cache.py",
            [
                "DELTA_KEPT",
                "_Kept",
                "_kept_inventory",
                "_kept_provisioner",
                "inventory_delta_path",
                "inventory_delta",
                "inventory_view_of",
                "provisioner_delta_path",
                "provisioner_view",
                "_provisioner_delta",
                "_patch_inventory",
                "_patch_provisioner",
            ],
        ),
        ("plugins/module_utils/_records/cache_files.py", ["holds"]),
    ],
    "view_left": [
        ("plugins/module_utils/_views/cache.py", ["view_for_render"]),
    ],
    "provisioner_view": [
        (
            "plugins/module_utils/_views/cache.py",
            ["provisioner_path", "cached_provisioner_view", "_provisioners"],
        ),
    ],
    "render_memo": [
        ("plugins/module_utils/_provisioner/render_memo.py", ["*", "-Memo.files_of", "-Memo.carry"]),
        ("plugins/module_utils/_provisioner/sync.py", ["_memo", "_Rendered"]),
    ],
    "sync_scope": [
        ("plugins/module_utils/_provisioner/scope.py", ["*"]),
        ("plugins/module_utils/_provisioner/sync.py", ["_systems", "_scope"]),
        ("plugins/module_utils/_provisioner/render_memo.py", ["Memo.files_of", "Memo.carry"]),
        ("plugins/module_utils/_views/cache.py", ["SYNC_KEYS", "content", "_digest", "_built", "_revised"]),
    ],
    "bulk_hosts": [
        ("plugins/plugin_utils/_populate.py", ["add_hosts_bulk", "new_host", "_HOST_NEW", "_READY", "bulk_ready"]),
    ],
    "gc_pause": [
        ("plugins/module_utils/_runner/collector.py", ["*"]),
    ],
    "template_warm": [
        ("plugins/plugin_utils/_warm.py", ["*"]),
        ("plugins/plugin_utils/_data.py", ["as_template"]),
    ],
    "in_process": [
        ("plugins/plugin_utils/_inprocess.py", ["*"]),
        *[
            ("plugins/action/%s" % name, ["*"])
            for name in sorted(os.listdir(os.path.join(REPO, "plugins", "action")))
            if name.endswith(".py") and name != "provisioner_sync.py"
        ],
    ],
}


def _code_lines(source, node):
    """Lines of node that hold code: not blank, not a comment, not its docstrings."""
    lines = source.splitlines()
    docs = set()
    for inner in ast.walk(node):
        body = getattr(inner, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(getattr(body[0], "value", None), ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            docs.update(range(body[0].lineno, body[0].end_lineno + 1))
    first, last = (1, len(lines)) if isinstance(node, ast.Module) else (node.lineno, node.end_lineno)
    return sum(
        1
        for number in range(first, last + 1)
        if number not in docs and lines[number - 1].strip() and not lines[number - 1].strip().startswith("#")
    )


def _nodes(tree):
    """{qualified name: node} of a module's top-level and class-level definitions and assignments."""
    found = {}
    for node in tree.body:
        names = []
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names = [node.name]
            if isinstance(node, ast.ClassDef):
                for inner in node.body:
                    if isinstance(inner, ast.FunctionDef):
                        found["%s.%s" % (node.name, inner.name)] = inner
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        for name in names:
            found[name] = node
    return found


def lines_of(mechanism):
    """Code lines the mechanism adds (see CODE); a name that is gone stops the benchmark."""
    total = 0
    for relpath, names in CODE[mechanism]:
        with open(os.path.join(REPO, relpath), encoding="utf-8") as handle:
            source = handle.read()
        tree = ast.parse(source)
        nodes = _nodes(tree)
        for name in names:
            if name == "*":
                total += _code_lines(source, tree)
                continue
            sign = -1 if name.startswith("-") else 1
            node = nodes.get(name.lstrip("-"))
            if node is None:
                raise SystemExit("benchmarks/mechanisms.py: %s has no %s; update CODE" % (relpath, name.lstrip("-")))
            total += sign * _code_lines(source, node)
    return total


def switched(env, off):
    return dict(env, BENCH_OFF=off if off != ON else "")


def replace_attempt(ctx, configs, runs, chain=1):
    for off in configs:
        env = switched(ctx["env"], off)
        replace_bench.playbook(
            ["-i", ctx["inv"], "--graph", "provisioners"], env, command=S.command("ansible-inventory")
        )
        for number in range(chain):
            took = replace_bench.replace_once(ctx, command=S.command("ansible-playbook"), env=env)[0]
            if chain == 1 or number > 0:  # a chain's first run starts from what another configuration left
                runs[off].append(took)


def inventory_attempt(ctx, configs, runs):
    for off in configs:
        env = switched(ctx["env"], off)
        inventory_bench.edit_one(ctx)
        runs["changed"][off].append(
            inventory_bench.timed([*S.command("ansible-playbook"), "-i", ctx["plain"], ctx["play"]], env)[0]
        )
        runs["unchanged"][off].append(
            inventory_bench.timed([*S.command("ansible-playbook"), "-i", ctx["plain"], ctx["play"]], env)[0]
        )


def report(systems, repeat, replace, inventory, chain=1):
    print(
        "\nspeed mechanisms at %d systems in one segment (seconds, median [min-max] of %d attempt%s%s; off/on: "
        "per-attempt ratio)"
        % (
            systems,
            repeat,
            "" if repeat == 1 else "s",
            ""
            if chain == 1
            else ", replace: chains of %d, %d run%s counted in each" % (chain, chain - 1, "" if chain == 2 else "s"),
        )
    )
    lines = []
    for off in replace:
        line = [off if off != ON else "(all on)", "%d" % lines_of(off) if off != ON else ""]
        for runs in (replace, inventory["changed"], inventory["unchanged"]):
            if off not in runs:
                line += ["n/a", "n/a"]
                continue
            line += [H.spread(runs[off]), H.ratio(runs[off], runs[ON]) if off != ON else "1.00x"]
        lines.append(line)
    H.table(
        ["mechanism off", "lines", "replace", "off/on", "inventory changed", "off/on", "inventory unchanged", "off/on"],
        lines,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--only", help="these mechanisms only (comma-separated; default: all of %s)" % ", ".join(S.SWITCHES)
    )
    parser.add_argument(
        "--chain",
        type=int,
        default=1,
        help="replaces in a row per configuration and attempt, the first not counted (default 1: one, counted)",
    )
    parser.add_argument("--smoke", action="store_true", help="20 systems, one attempt: checks the benchmark runs")
    parser.add_argument("--json", help="also write the runs to this file")
    args = parser.parse_args(argv)
    if args.chain < 1:
        parser.error("--chain: at least 1")
    if args.smoke:
        args.systems, args.repeat = 20, 1
    mechanisms = args.only.split(",") if args.only else list(S.SWITCHES)
    unknown = sorted(set(mechanisms) - set(S.SWITCHES))
    if unknown:
        parser.error("unknown mechanism(s): %s" % ", ".join(unknown))
    configs = [ON, *mechanisms]
    inventory_configs = [off for off in configs if off == ON or off in INVENTORY_USES]
    for mechanism in mechanisms:  # before any run: a stale name list fails at once
        lines_of(mechanism)
    replace = {off: [] for off in configs}
    inventory = {case: {off: [] for off in inventory_configs} for case in ("changed", "unchanged")}
    with tempfile.TemporaryDirectory(prefix="bm-bench-mechanisms-") as tmp:
        print("... %d systems in one segment: replace set-up (site run)" % args.systems, flush=True)
        replace_ctx = replace_bench.setup(args.systems, 1, tmp)
        inventory_ctx = inventory_bench.setup(args.systems, 1, tmp)
        for number in range(args.repeat):
            print("... attempt %d of %d" % (number + 1, args.repeat), flush=True)
            turn = number % len(configs)
            replace_attempt(replace_ctx, configs[turn:] + configs[:turn], replace, args.chain)
            turn = number % len(inventory_configs)
            inventory_attempt(inventory_ctx, inventory_configs[turn:] + inventory_configs[:turn], inventory)
    report(args.systems, args.repeat, replace, inventory, args.chain)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "systems": args.systems,
                    "chain": args.chain,
                    "replace": replace,
                    "inventory": inventory,
                    "lines": {m: lines_of(m) for m in mechanisms},
                },
                handle,
                indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
