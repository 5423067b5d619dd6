# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the inventory plugin against the same hosts and variables as a static YAML inventory.

    python benchmarks/bench_inventory.py [--sizes 200,2000,10000] [--segments 5] [--repeat 3] [--smoke]

For each fleet size, in one run on one machine, --repeat attempts of each of these in turn
(interleaved, so that a slow spell of the machine falls on all alike):
  ansible    ansible-inventory --list on an empty inventory (Ansible's own start-up)
  static     ansible-inventory --list on a YAML inventory (ansible.builtin.yaml) holding exactly
             the hosts, groups and variables the plugin produces: the baseline
  cold       the plugin with no cache of any kind (BAREMETAL_CACHE=off: every record file parsed
             and validated)
  changed    the plugin after one record file was rewritten since its last run (a git pull, an
             edit): its own view of the store is stale, the record parse cache holds the others
  unchanged  the plugin again, nothing changed: its own cached view of the store is used
  cache      the plugin with an Ansible inventory cache (ansible.builtin.jsonfile) warm
and the same for ansible-playbook with a one-task play on localhost (what a job template pays).
Figures are seconds, median [min-max] of the attempts; x is the median [min-max] of the
per-attempt ratios to static YAML.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import _harness as H

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from support.ansible_cli import ansible_env, plain
from support.fleet import write_fleet

PLAY = """\
- name: Count the web tier
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Count
      ansible.builtin.debug:
        msg: "{{ groups['tier_web'] | default([]) | length }}"
"""

BIN = os.path.dirname(sys.executable)
TOOLS = {"inventory": [os.path.join(BIN, "ansible-inventory")], "playbook": [os.path.join(BIN, "ansible-playbook")]}
CASES = ("ansible", "static", "cold", "changed", "unchanged", "cache")


def timed(cmd, env):
    """(seconds, stdout) of one run of cmd; a failure stops the benchmark."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            "%s failed:\n%s%s" % (" ".join(cmd), proc.stdout.decode()[-2000:], proc.stderr.decode()[-2000:])
        )
    return took, proc.stdout


def static_inventory(listing, path):
    """Write ansible-inventory --list output as a YAML inventory (each host's vars once)."""
    import yaml

    hostvars = listing.get("_meta", {}).get("hostvars", {})
    seen = set()

    def group(name):
        node = listing.get(name, {})
        out = {}
        if node.get("hosts"):
            out["hosts"] = {}
            for host in node["hosts"]:
                out["hosts"][host] = None if host in seen else (hostvars.get(host) or None)
                seen.add(host)
        if node.get("children"):
            out["children"] = {child: group(child) for child in node["children"]}
        return out

    with open(path, "w", encoding="utf-8") as handle:
        yaml.dump({"all": group("all")}, handle, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper))


def setup(size, segments, tmp):
    """A fleet, the plugin's configs (plain and with an Ansible cache plugin), the play and the
    static YAML twin of the plugin's inventory, checked to hold the same host variables."""
    root = os.path.join(tmp, "n%d-s%d" % (size, segments))
    records = write_fleet(os.path.join(root, "records"), size, segments=segments)
    ctx = {
        "systems": size,
        "root": root,
        "records": records,
        "edits": 0,
        "plain": os.path.join(root, "fleet.baremetal.yml"),
        "cached": os.path.join(root, "cached.baremetal.yml"),
        "play": os.path.join(root, "play.yml"),
        "static": os.path.join(root, "static.yml"),
    }
    with open(ctx["plain"], "w", encoding="utf-8") as handle:
        handle.write("plugin: baremetal.provision.records\nrecords_dir: records\n")
    with open(ctx["cached"], "w", encoding="utf-8") as handle:
        handle.write(
            "plugin: baremetal.provision.records\nrecords_dir: records\ncache: true\n"
            "cache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n" % os.path.join(root, "inventory-cache")
        )
    with open(ctx["play"], "w", encoding="utf-8") as handle:
        handle.write(PLAY)
    ctx["env"] = ansible_env(
        {"BAREMETAL_CACHE_DIR": os.path.join(root, "parse-cache"), "ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore"},
        tmp=root,
    )
    _took, out = timed([*TOOLS["inventory"], "-i", ctx["plain"], "--list"], ctx["env"])  # fills the caches
    listing = plain(json.loads(out))
    static_inventory(listing, ctx["static"])
    _took, static_out = timed([*TOOLS["inventory"], "-i", ctx["static"], "--list"], ctx["env"])
    if plain(json.loads(static_out))["_meta"] != listing["_meta"]:
        raise SystemExit("the static inventory does not hold the same host variables")
    return ctx


def edit_one(ctx):
    """Rewrite one system's record file with a new value, as a git pull does (a new file put in
    place): the next run finds the store changed."""
    number = ctx["edits"]
    ctx["edits"] += 1
    systems = os.path.join(ctx["records"], "systems")
    path = os.path.join(systems, sorted(os.listdir(systems))[number])
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    head, _sep, _rack = text.partition("vars: {rack: ")
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write("%svars: {rack: edited%d}\nbuild: {generation: 1}\n" % (head, number))
    os.replace(path + ".tmp", path)


def args_of(tool, ctx, inventory):
    return ["-i", inventory, "--list"] if tool == "inventory" else ["-i", inventory, ctx["play"]]


def attempt(ctx, tool):
    """One run of every case with this tool ("inventory" or "playbook"): {case: seconds}."""
    env, command = ctx["env"], TOOLS[tool]
    took = {}
    took["ansible"], _out = timed([*command, *args_of(tool, ctx, "localhost,")], env)
    took["static"], _out = timed([*command, *args_of(tool, ctx, ctx["static"])], env)
    took["cold"], _out = timed([*command, *args_of(tool, ctx, ctx["plain"])], dict(env, BAREMETAL_CACHE="off"))
    edit_one(ctx)
    took["changed"], _out = timed([*command, *args_of(tool, ctx, ctx["plain"])], env)
    took["unchanged"], _out = timed([*command, *args_of(tool, ctx, ctx["plain"])], env)
    timed([*command, *args_of(tool, ctx, ctx["cached"])], env)  # the cache plugin filled for this store
    took["cache"], _out = timed([*command, *args_of(tool, ctx, ctx["cached"])], env)
    return took


def bench_size(size, segments, repeat, tmp):
    ctx = setup(size, segments, tmp)
    runs = {tool: {case: [] for case in CASES} for tool in TOOLS}
    for _number in range(repeat):
        for tool in TOOLS:
            for case, seconds in attempt(ctx, tool).items():
                runs[tool][case].append(seconds)
    return {"systems": size, "segments": segments, "runs": runs}


def report(rows, repeat):
    titles = {
        "inventory": "ansible-inventory --list",
        "playbook": "ansible-playbook, one task on localhost, with the inventory loaded",
    }
    for tool, title in titles.items():
        print(
            "\n%s (seconds, median [min-max] of %d attempt%s; x = per-attempt ratio to static YAML)"
            % (title, repeat, "" if repeat == 1 else "s")
        )
        lines = []
        for r in rows:
            runs = r["runs"][tool]
            line = ["%d" % r["systems"]]
            for case in CASES:
                line.append(H.spread(runs[case]))
                if case not in ("ansible", "static"):
                    line.append(H.ratio(runs[case], runs["static"]))
            lines.append(line)
        H.table(["systems", "ansible", "static", "cold", "x", "changed", "x", "unchanged", "x", "cache", "x"], lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "200,2000,10000"))
    parser.add_argument("--segments", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="20 systems, one attempt: checks the benchmark runs")
    parser.add_argument("--json", help="also write the runs to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.repeat = "20", 1
    rows = []
    with tempfile.TemporaryDirectory(prefix="bm-bench-inv-") as tmp:
        for size in [int(n) for n in args.sizes.split(",") if n]:
            print("... %d systems" % size, flush=True)
            rows.append(bench_size(size, args.segments, args.repeat, tmp))
    report(rows, args.repeat)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
