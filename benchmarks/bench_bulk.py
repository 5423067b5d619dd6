# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: a rack of systems replaced in one run against one replace, in the same run.

    python benchmarks/bench_bulk.py [--sizes 10000] [--rack 40] [--repeat 5] [--smoke]

The fleet, its inventory and the dmz provisioner (this controller, service_manager=none, its DHCP
config checked by the real dhcpd -t) are bench_replace.py's (its setup, imported). After site has
rendered everything once, each attempt runs in turn:
  replace    ansible-playbook baremetal.provision.replace -e system=... -e mac=... (one system)
  rack       ansible-playbook baremetal.provision.replace -e @rack.yml with --rack replacements
             (other systems each time): one edit, one commit, one render, one restart
The target (issue 26): rack at most 1.5x replace, at 10,000 systems in one segment. Each figure is
the median [min-max] of the attempts; x is the median [min-max] of the per-attempt ratios. After
each run every new MAC is checked to be in the DHCP config and to have its boot file.
"""

import argparse
import os
import sys
import tempfile

import _harness as H
import bench_replace as R

TARGET = 1.5  # rack of 40 at most this times one replace (docs/performance.md, issue 26)


def rack_once(ctx, rack):
    """One run replacing the next ``rack`` web systems with new MACs, checked: seconds."""
    first = ctx["done"]
    ctx["done"] += rack
    lines = ["replacements:"]
    macs = {}
    for number in range(first, first + rack):
        system = ctx["web"][number]
        mac = "52:54:0e:%02x:%02x:%02x" % ((number >> 16) & 0xFF, (number >> 8) & 0xFF, number & 0xFF)
        macs[system] = mac
        lines.append("  - {name: %s, mac: '%s'}" % (system, mac))
    path = os.path.join(ctx["root"], "rack-%d.yml" % first)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    took = R.playbook(["-i", ctx["inv"], "baremetal.provision.replace", "-e", "@" + path], ctx["env"])
    with open(ctx["dhcp_config"], encoding="utf-8") as handle:
        dhcp = handle.read()
    for system, mac in macs.items():
        assert "hardware ethernet %s;" % mac in dhcp, "%s's new MAC %s is not in the DHCP config" % (system, mac)
        pxe = os.path.join(ctx["out"], "tftp", "pxelinux.cfg", "01-" + mac.replace(":", "-"))
        with open(pxe, encoding="utf-8") as handle:
            assert "ks/%s.cfg" % system in handle.read()
    return took


def bench(sizes, layouts, rack, repeat, tmp):
    rows = []
    for size in sizes:
        for segments in layouts:
            print("... %d systems in %d segment%s: set-up" % (size, segments, "" if segments == 1 else "s"), flush=True)
            ctx = R.setup(size, segments, tmp)
            if len(ctx["web"]) < repeat * (rack + 1):
                raise SystemExit("%d systems have too few web systems for %d attempts of %d" % (size, repeat, rack))
            rows.append({"systems": size, "segments": segments, "runs": {"replace": [], "rack": []}, "ctx": ctx})
    for number in range(repeat):
        print("... attempt %d of %d" % (number + 1, repeat), flush=True)
        for row in rows:
            # alternate which goes first, so that neither always runs right after the other's writes
            order = ("replace", "rack") if number % 2 == 0 else ("rack", "replace")
            for what in order:
                if what == "replace":
                    row["runs"]["replace"].append(R.replace_once(row["ctx"])[0])
                else:
                    row["runs"]["rack"].append(rack_once(row["ctx"], rack))
    for row in rows:
        del row["ctx"]
    return rows


def report(rows, rack, repeat):
    print(
        "\n%d systems replaced in one run against one replace (seconds; median [min-max] of %d attempt%s)"
        % (rack, repeat, "" if repeat == 1 else "s")
    )
    lines = []
    for r in rows:
        runs = r["runs"]
        ratios = H.ratios(runs["rack"], runs["replace"])
        lines.append(
            [
                "%d" % r["systems"],
                "%d" % r["segments"],
                H.spread(runs["replace"]),
                H.spread(runs["rack"]),
                H.spread([t / rack for t in runs["rack"]]),
                H.ratio(runs["rack"], runs["replace"]),
                "yes" if ratios and H.median(ratios) <= TARGET else "no",
            ]
        )
    H.table(
        [
            "systems",
            "segments",
            "replace (1)",
            "rack (%d)" % rack,
            "rack per system",
            "rack x replace",
            "<= %.1fx" % TARGET,
        ],
        lines,
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "10000"))
    parser.add_argument("--layouts", default="one", help="one (one segment of N systems), five (five segments)")
    parser.add_argument("--rack", type=int, default=40, help="systems replaced in the one run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="200 systems, a rack of 5, one attempt")
    parser.add_argument("--keep", help="keep the work folder here")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.rack, args.repeat = "200", 5, 1
    layouts = [R.LAYOUTS[name] for name in args.layouts.split(",") if name]
    with tempfile.TemporaryDirectory(prefix="bm-bench-bulk-") as tmp:
        rows = bench([int(n) for n in args.sizes.split(",") if n], layouts, args.rack, args.repeat, args.keep or tmp)
    report(rows, args.rack, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
