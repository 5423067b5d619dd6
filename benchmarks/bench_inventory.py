# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the inventory plugin against the same hosts and variables as a static YAML inventory.

    python benchmarks/bench_inventory.py [--sizes 200,2000,10000] [--repeat 1]

For each fleet size, in one run on one machine:
  baseline   ansible-inventory --list on an empty inventory (Ansible's own start-up)
  static     ansible-inventory --list on a YAML inventory (ansible.builtin.yaml) holding exactly
             the hosts, groups and variables the plugin produces
  cold       the plugin with no cache of any kind (every record file parsed and validated)
  parsed     the plugin with the record parse cache warm, inventory cache cold (a run after a
             record change: the usual case)
  warm       the plugin with its inventory cache (ansible.builtin.jsonfile) warm
and the same for ansible-playbook with a one-task play on localhost (what a job template pays).
Figures are seconds (best of --repeat) and ratios against static YAML measured in the same run.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

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


def timed(cmd, env, repeat):
    best = None
    for _attempt in range(repeat):
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
        took = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit("%s failed:\n%s%s" % (" ".join(cmd), proc.stdout.decode()[-2000:], proc.stderr.decode()[-2000:]))
        best = took if best is None else min(best, took)
    return best, proc.stdout


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


def bench_size(size, repeat, tmp):
    root = os.path.join(tmp, "n%d" % size)
    records = write_fleet(os.path.join(root, "records"), size)
    parse_cache = os.path.join(root, "parse-cache")
    inv_cache = os.path.join(root, "inventory-cache")
    plain_cfg = os.path.join(root, "fleet.baremetal.yml")
    cached_cfg = os.path.join(root, "cached.baremetal.yml")
    with open(plain_cfg, "w", encoding="utf-8") as handle:
        handle.write("plugin: baremetal.provision.records\nrecords_dir: records\n")
    with open(cached_cfg, "w", encoding="utf-8") as handle:
        handle.write(
            "plugin: baremetal.provision.records\nrecords_dir: records\ncache: true\n"
            "cache_plugin: ansible.builtin.jsonfile\ncache_connection: %s\n" % inv_cache
        )
    playbook = os.path.join(root, "play.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        handle.write(PLAY)
    env = ansible_env({"BAREMETAL_CACHE_DIR": parse_cache, "ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore"}, tmp=root)
    nocache = dict(env, BAREMETAL_CACHE="off")
    bindir = os.path.dirname(sys.executable)
    inv = os.path.join(bindir, "ansible-inventory")
    pb = os.path.join(bindir, "ansible-playbook")

    row = {"systems": size, "files": sum(len(f) for _d, _s, f in os.walk(records))}
    row["baseline"], _out = timed([inv, "-i", "localhost,", "--list"], env, repeat)
    row["cold"], out = timed([inv, "-i", plain_cfg, "--list"], nocache, repeat)
    listing = plain(json.loads(out))
    static = os.path.join(root, "static.yml")
    static_inventory(listing, static)
    row["static"], static_out = timed([inv, "-i", static, "--list"], env, repeat)
    if plain(json.loads(static_out))["_meta"] != listing["_meta"]:
        raise SystemExit("the static inventory does not hold the same host variables")
    timed([inv, "-i", plain_cfg, "--list"], env, 1)  # fill the parse cache
    row["parsed"], _out = timed([inv, "-i", plain_cfg, "--list"], env, repeat)
    timed([inv, "-i", cached_cfg, "--list"], env, 1)  # fill the inventory cache
    row["warm"], _out = timed([inv, "-i", cached_cfg, "--list"], env, repeat)
    row["pb_baseline"], _out = timed([pb, "-i", "localhost,", playbook], env, repeat)
    row["pb_static"], _out = timed([pb, "-i", static, playbook], env, repeat)
    row["pb_cold"], _out = timed([pb, "-i", plain_cfg, playbook], nocache, repeat)
    row["pb_parsed"], _out = timed([pb, "-i", plain_cfg, playbook], env, repeat)
    row["pb_warm"], _out = timed([pb, "-i", cached_cfg, playbook], env, repeat)
    shutil.rmtree(root, ignore_errors=True)
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "200,2000,10000"))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bm-bench-inv-") as tmp:
        for size in [int(n) for n in args.sizes.split(",") if n]:
            print("... %d systems" % size, flush=True)
            rows.append(bench_size(size, args.repeat, tmp))
    print("\nansible-inventory --list (seconds; x = ratio to static YAML in the same run)")
    header = "%8s %9s %9s %16s %16s %16s" % ("systems", "ansible", "static", "cold", "parse-cached", "cache warm")
    print(header)
    for r in rows:
        print("%8d %9.2f %9.2f %9.2f %5.2fx %9.2f %5.2fx %9.2f %5.2fx" % (
            r["systems"], r["baseline"], r["static"], r["cold"], r["cold"] / r["static"],
            r["parsed"], r["parsed"] / r["static"], r["warm"], r["warm"] / r["static"]))
    print("\nansible-playbook, one task on localhost, with the inventory loaded (seconds)")
    print(header)
    for r in rows:
        print("%8d %9.2f %9.2f %9.2f %5.2fx %9.2f %5.2fx %9.2f %5.2fx" % (
            r["systems"], r["pb_baseline"], r["pb_static"], r["pb_cold"], r["pb_cold"] / r["pb_static"],
            r["pb_parsed"], r["pb_parsed"] / r["pb_static"], r["pb_warm"], r["pb_warm"] / r["pb_static"]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
