# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the replace playbook, from the command to the new reservation and boot files live.

    python benchmarks/bench_replace.py [--sizes 200,2000,10000] [--layouts one,five] [--repeat 5] [--smoke]
    BENCH_OFF=parse_cache python benchmarks/bench_replace.py ...   # with mechanisms off (_switches.py)

For each fleet size and layout (one: one segment of N systems, the like-for-like case, where the
provisioner renders all N; five: the fleet in five segments, where the dmz's provisioner renders
N/5), the provisioner of the dmz runs here with service_manager=none, its files in a temporary
folder, its DHCP config checked by the real dhcpd -t. After a site run has rendered everything
once, --repeat attempts, each of these in turn (interleaved, so a slow spell falls on all alike):
  replace    ansible-playbook baremetal.provision.replace -e system=... -e mac=... (a different
             system each time): record edit, inventory refresh, one render of the DHCP config, the
             boot files and the install configs
  live       from the command to the new MAC's boot file, the DHCP config and the install configs'
             index all written (what the issue times; the rest of the run reports and exits)
  baseline   ansible-playbook with one debug task on localhost against the same inventory: Ansible's
             start-up plus loading the inventory, which every playbook pays
  floor      a playbook of replace's shape (the same plays, hosts and number of tasks, skipped tasks,
             and its refresh_inventory; the edit and the render run in Ansible's worker, as
             replace's do when the provisioner is the controller) whose other tasks do nothing
             (set_fact): what Ansible itself costs to run a playbook like replace against this
             inventory here, the refresh reading the unchanged inventory's cached view
  ours       replace minus floor of the same attempt: the record edit and the render, and what the
             refresh costs more when the edit has just written a new view
Every fleet is set up first; then each attempt runs every fleet in turn. Each figure is the median
[min-max] of the attempts; x is the median [min-max] of the per-attempt ratios, and so is growth:
each layout's run at the largest size over its run at the smallest in the same attempt. The
new MAC's boot file and reservation are checked to be in place after each run.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import _harness as H
import _switches as S

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from support.ansible_cli import ansible_env
from support.fleet import write_fleet
from support.inventory import local_provisioner_vars, out_paths, tree_vars

TRIVIAL = """\
- name: Start-up and inventory only
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Nothing
      ansible.builtin.debug:
        msg: "{{ groups['systems'] | length }}"
"""


SKIPPED = "    - {name: skipped, ansible.builtin.debug: {msg: x}, when: false}\n"
SHAPE = (
    """\
- name: The shape of replace, with tasks that do nothing
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - {name: check, ansible.builtin.assert: {that: [true], quiet: true}}
"""
    + SKIPPED * 4  # the records' clone, skipped without records_repo
    + """    - {name: note, ansible.builtin.set_fact: {bm_started: 1}}
    - {name: "edit (in the worker, no module)", ansible.builtin.set_fact: {bm_edit: 1}}
    - {name: report, ansible.builtin.debug: {msg: x}}
"""
    + """\
    - {name: remember, ansible.builtin.set_fact: {bm_shape_target: prov-dmz}}
    - {name: "read the inventory again", ansible.builtin.meta: refresh_inventory}
"""
    + SKIPPED  # the check that every machine to power is a host (none has a BMC here)
    + """\
- name: The provisioner
  hosts: "{{ hostvars['localhost']['bm_shape_target'] }}"
  gather_facts: false
  tasks:
"""
    + SKIPPED
    + """\
    - {name: dhcp variables, ansible.builtin.set_fact: {bm_shape_dhcp: 1}}
    - {name: tftp variables, ansible.builtin.set_fact: {bm_shape_tftp: 1}}
    - {name: install config variables, ansible.builtin.set_fact: {bm_shape_web: 1}}
    - {name: "render (in the worker, no module)", ansible.builtin.set_fact: {bm_shape_render: 1}}
"""
    + SKIPPED  # the note that newer records were already rendered
    + """- name: Power and wait, on the changed machines with a BMC (none here)
  hosts: "{{ [] | join(',') | default('bm_no_system_found', true) }}"
  gather_facts: false
  tasks:
"""
    + SKIPPED
    + """- name: Finish
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - {name: tell, ansible.builtin.debug: {msg: x}}
"""
    + SKIPPED * 2  # the clone's removal, the failure of a partial list
)


# BENCH_OFF=parse_cache,... measures replace with those mechanisms off (benchmarks/_switches.py),
# as mechanisms.py does for one size; unset, the venv's own ansible-playbook runs.
if os.environ.get("BENCH_OFF"):
    ANSIBLE_PLAYBOOK = S.command("ansible-playbook")
else:
    ANSIBLE_PLAYBOOK = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook")]
LAYOUTS = {"one": 1, "five": 5}  # layout name: segments
# the targets (docs/performance.md, "Targets"): the collection's own work at 10,000 systems, replace
# against Ansible's start-up and inventory load, and the growth of the collection's own work
OURS_AT_10000 = 0.5
BASELINE_RATIO = 2.0
GROWTH = ((200, 10000, 1.5), (10000, 100000, 2.0))


def playbook(args, env, live=None, command=None):
    """Seconds the ansible-playbook run took; with live (paths that the run writes), also the
    seconds from the command to the last of them being written: (run, live). command: what runs
    ansible-playbook (default: the venv's)."""
    started = time.time()
    start = time.perf_counter()
    proc = subprocess.run([*(command or ANSIBLE_PLAYBOOK), *args], env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(
            "ansible-playbook %s failed:\n%s\n%s" % (" ".join(args), proc.stdout[-4000:], proc.stderr[-2000:])
        )
    if live is None:
        return took
    written = max(os.stat(path).st_mtime for path in live)
    assert written >= started, "%s was not written by this run" % live
    return took, written - started


def setup(size, segments, tmp):
    """A fleet of size systems in segments segments, its inventory, and a site run of the dmz's
    provisioner done: the context the runs below take."""
    root = os.path.join(tmp, "n%d-s%d" % (size, segments))
    images = os.path.join(root, "images")
    records = write_fleet(os.path.join(root, "records"), size, segments=segments, images=images)
    for rel in ("rocky9/vmlinuz", "rocky9/initrd.img", "ubuntu24/vmlinuz", "ubuntu24/initrd"):
        os.makedirs(os.path.dirname(os.path.join(images, rel)), exist_ok=True)
        with open(os.path.join(images, rel), "wb") as handle:
            handle.write(b"bench stand-in\n")
    inv = os.path.join(root, "inventory")
    out = os.path.join(root, "prov")
    os.makedirs(os.path.join(inv, "host_vars"))
    with open(os.path.join(inv, "fleet.baremetal.yml"), "w", encoding="utf-8") as handle:
        handle.write("plugin: baremetal.provision.records\nrecords_dir: %s\n" % records)
    host_vars = {
        **local_provisioner_vars(),
        **tree_vars(out_paths(out)),
        "dhcp_config": os.path.join(out, "dhcpd.conf"),
        "tftp_boot_loaders": {"pxelinux.0": "/usr/lib/PXELINUX/pxelinux.0"},
    }
    with open(os.path.join(inv, "host_vars", "prov-dmz.yml"), "w", encoding="utf-8") as handle:
        json.dump(host_vars, handle)
    trivial = os.path.join(root, "trivial.yml")
    with open(trivial, "w", encoding="utf-8") as handle:
        handle.write(TRIVIAL)
    shape = os.path.join(root, "shape.yml")
    with open(shape, "w", encoding="utf-8") as handle:
        handle.write(SHAPE)
    # a fact cache, as AWX keeps one: site gathers the provisioner's facts, replace reuses them
    env = ansible_env(
        {
            "BAREMETAL_CACHE_DIR": os.path.join(root, "parse-cache"),
            "ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore",
            "ANSIBLE_CACHE_PLUGIN": "ansible.builtin.jsonfile",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": os.path.join(root, "facts"),
        },
        tmp=root,
    )
    site = playbook(["-i", inv, "baremetal.provision.site", "--limit", "prov-dmz"], env)
    systems = sorted(n[:-4] for n in os.listdir(os.path.join(records, "systems")) if n.startswith("web"))
    return {
        "systems": size,
        "segments": segments,
        "root": root,
        "records": records,
        "inv": inv,
        "out": out,
        "env": env,
        "dhcp_config": host_vars["dhcp_config"],
        "trivial": trivial,
        "shape": shape,
        "site": site,
        "web": systems,
        "done": 0,
    }


def replace_once(ctx, command=None, env=None):
    """One replace of the next web system to a new MAC, checked: (run seconds, live seconds)."""
    number = ctx["done"]
    ctx["done"] += 1
    system = ctx["web"][number % len(ctx["web"])]  # a small fleet's systems get a second new MAC
    new_mac = "52:54:0f:%02x:%02x:%02x" % ((number >> 16) & 0xFF, (number >> 8) & 0xFF, number & 0xFF)
    out = ctx["out"]
    pxe = os.path.join(out, "tftp", "pxelinux.cfg", "01-" + new_mac.replace(":", "-"))
    # live: the new MAC's boot file, the DHCP config and the install configs' index written
    took = playbook(
        ["-i", ctx["inv"], "baremetal.provision.replace", "-e", "system=" + system, "-e", "mac=" + new_mac],
        env or ctx["env"],
        live=[pxe, ctx["dhcp_config"], os.path.join(out, "state", "index.json")],
        command=command,
    )
    with open(pxe, encoding="utf-8") as handle:
        assert "ks/%s.cfg" % system in handle.read()
    with open(ctx["dhcp_config"], encoding="utf-8") as handle:
        assert "hardware ethernet %s;" % new_mac in handle.read()
    return took


def attempt(ctx, runs):
    """One replace, one baseline and one floor run of this fleet, added to runs."""
    took, live = replace_once(ctx)
    runs["replace"].append(took)
    runs["live"].append(live)
    runs["baseline"].append(playbook(["-i", ctx["inv"], ctx["trivial"]], ctx["env"]))
    runs["floor"].append(playbook(["-i", ctx["inv"], ctx["shape"]], ctx["env"]))
    runs["ours"].append(runs["replace"][-1] - runs["floor"][-1])


def bench(sizes, layouts, repeat, tmp):
    """Every fleet set up first, then each attempt runs every fleet in turn: a slow spell of the
    machine falls on all sizes alike, so the growth from one size to another is paired too."""
    rows = []
    for size in sizes:
        for segments in layouts:
            print("... %d systems in %d segment%s: set-up" % (size, segments, "" if segments == 1 else "s"), flush=True)
            ctx = setup(size, segments, tmp)
            runs = {key: [] for key in ("replace", "live", "baseline", "floor", "ours")}
            rows.append({"systems": size, "segments": segments, "site": ctx["site"], "runs": runs, "ctx": ctx})
    for number in range(repeat):
        print("... attempt %d of %d" % (number + 1, repeat), flush=True)
        for row in rows:
            attempt(row["ctx"], row["runs"])
    for row in rows:
        del row["ctx"]
    return rows


def report(rows, repeat):
    print(
        "\nreplace playbook at each fleet size (seconds; median [min-max] of %d attempt%s)"
        % (repeat, "" if repeat == 1 else "s")
    )
    lines = []
    for r in rows:
        runs = r["runs"]
        lines.append(
            [
                "%d" % r["systems"],
                "%d" % r["segments"],
                "%d" % (r["systems"] // r["segments"]),
                "%.1f" % r["site"],
                H.spread(runs["replace"]),
                H.spread(runs["live"]),
                H.spread(runs["baseline"]),
                H.spread(runs["floor"]),
                H.spread(runs["ours"]),
                H.ratio(runs["replace"], runs["baseline"]),
                H.ratio(runs["replace"], runs["floor"]),
            ]
        )
    H.table(
        [
            "systems",
            "segments",
            "rendered",
            "site",
            "replace",
            "live",
            "baseline",
            "floor",
            "ours",
            "replace x baseline",
            "replace x floor",
        ],
        lines,
    )
    print("rendered: the systems the dmz's provisioner renders; x: per-attempt ratio, median [min-max]")
    print("live: from the command to the new MAC's boot file, the DHCP config and the install index written")
    sizes = sorted({r["systems"] for r in rows})
    if len(sizes) > 1:
        print("\ngrowth from %d to %d systems (per-attempt ratio, median [min-max])" % (sizes[0], sizes[-1]))
        lines = []
        for segments in sorted({r["segments"] for r in rows}):
            small, large = _row(rows, segments, sizes[0]), _row(rows, segments, sizes[-1])
            if small and large:
                lines.append(
                    [
                        "%d" % segments,
                        *(
                            H.ratio(large["runs"][key], small["runs"][key])
                            for key in ("replace", "live", "ours", "baseline", "floor")
                        ),
                    ]
                )
        H.table(["segments", "replace", "live", "ours", "baseline", "floor"], lines)
    report_targets(rows)


def _row(rows, segments, systems):
    return next((r for r in rows if r["segments"] == segments and r["systems"] == systems), None)


def report_targets(rows):
    """The targets of docs/performance.md for the one-segment fleet, where this run has the sizes:
    each figure's median against its bound, with the spread of the attempts."""
    lines = []
    at = {r["systems"]: r["runs"] for r in rows if r["segments"] == 1}
    if 10000 in at:
        ours = at[10000]["ours"]
        lines.append(["ours at 10,000 (s)", "<= %.2f" % OURS_AT_10000, H.spread(ours), H.median(ours) <= OURS_AT_10000])
        paired = H.ratios(at[10000]["replace"], at[10000]["baseline"])
        lines.append(
            [
                "replace x baseline at 10,000",
                "<= %.1fx" % BASELINE_RATIO,
                H.ratio(at[10000]["replace"], at[10000]["baseline"]),
                H.median(paired) <= BASELINE_RATIO,
            ]
        )
    for small, large, bound in GROWTH:
        if small in at and large in at:
            paired = H.ratios(at[large]["ours"], at[small]["ours"])
            lines.append(
                [
                    "ours %d to %d" % (small, large),
                    "<= %.1fx" % bound,
                    H.ratio(at[large]["ours"], at[small]["ours"]),
                    bool(paired) and H.median(paired) <= bound,
                ]
            )
    if lines:
        print("\ntargets (one segment; met: the median within the bound)")
        H.table(["target", "bound", "figure", "met"], [[*line[:3], "yes" if line[3] else "NO"] for line in lines])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "200,2000,10000"))
    parser.add_argument("--layouts", default="one,five", help="one (one segment of N systems), five (five segments)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="20 systems, one attempt: checks the benchmark runs")
    parser.add_argument("--keep", help="keep the work folder here (to profile a run)")
    parser.add_argument("--json", help="also write the runs to this file")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.repeat = "20", 1
    layouts = [LAYOUTS[name] for name in args.layouts.split(",") if name]
    with tempfile.TemporaryDirectory(prefix="bm-bench-replace-") as tmp:
        tmp = args.keep or tmp
        rows = bench([int(n) for n in args.sizes.split(",") if n], layouts, args.repeat, tmp)
    report(rows, args.repeat)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
