# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: replace against a provisioner reached over SSH, beside the same replace run locally.

    python benchmarks/bench_replace_ssh.py [--sizes 200,10000] [--layouts one,five] [--repeat 3] [--smoke]

The SSH provisioner is the test lab's Debian 12 server (systemd-nspawn, tests/support/provisioner.py):
the path AWX and every remote provisioner take (AnsiballZ, the view sent as a file, the render
and dhcpd -t on the provisioner). The local one is the controller itself (the render in Ansible's
worker), set up and replaced by bench_replace.py's own setup and replace_once, so that the local
column is the figure bench_replace.py reports. Both serve the dmz of a fleet of the same records
(each its own copy): by default one segment of N systems (the like-for-like case: the provisioner
renders all N); --layouts five puts the fleet in five segments (the dmz's provisioner renders N/5).
The fleet's addresses (198.18.0.0/15) are record data only: the provisioner's roles run with
service manager none (packages installed, files written, no daemon started on them).

Each of --repeat attempts boots the server afresh (--volatile=overlay: the same empty server) and runs
  site       the first site on the empty server (packages installed, everything rendered)
  again      a second site, which must report changed=0 (what it changed is printed, and counted in
             the table's last column, instead of ending the run)
  replace    ansible-playbook baremetal.provision.replace -e system=... -e mac=..., over SSH and
             here in turn (ssh/here is the per-attempt ratio)
Each figure is the median [min-max] of the attempts. After the first attempt, one more no-op site
at -vvv counts the tasks it runs and the modules it sends to the server (AnsiballZ payloads); that
run is not timed.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import _harness as H
import bench_replace as R

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from support import provisioner as P
from support.ansible_cli import ansible_env, playbook_recap
from support.fleet import write_fleet
from support.netns import Lab

PROV_IP = "192.0.2.10"
SERVER_IMAGES = "/srv/images"  # where the server's fleet has its kernels and initrds (only the server reads them)
PLAYBOOK = R.ANSIBLE_PLAYBOOK[0]
# -vvv of the ssh connection: "PUT <local file> TO <remote tmp>/AnsiballZ_<module>.py"
PAYLOAD = re.compile(r"\bTO \S*/AnsiballZ_(\w+)\.py\b")


def timed(cmd, env):
    """Seconds the command took, and its CompletedProcess."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (" ".join(cmd), proc.stdout[-4000:], proc.stderr[-2000:]))
    return took, proc


def inventory(root, records, host_vars):
    """An inventory folder of the records and the provisioner's host_vars (nothing else in it:
    Ansible reads every file under an inventory folder as an inventory source)."""
    inv = os.path.join(root, "inventory-ssh")
    os.makedirs(os.path.join(inv, "host_vars"))
    with open(os.path.join(inv, "fleet.baremetal.yml"), "w", encoding="utf-8") as handle:
        handle.write("plugin: baremetal.provision.records\nrecords_dir: %s\n" % records)
    with open(os.path.join(inv, "host_vars", "prov-dmz.yml"), "w", encoding="utf-8") as handle:
        json.dump(host_vars, handle)
    return inv


def changed_tasks(stdout):
    """The names of the tasks a playbook's output reports as changed."""
    names, task = [], None
    for line in stdout.splitlines():
        if line.startswith(("TASK [", "RUNNING HANDLER [")):
            task = line.split("[", 1)[1].rsplit("]", 1)[0]
        elif line.startswith("changed:") and task not in names:
            names.append(task)
    return names


def count_site(ssh, remote, env):
    """Tasks a no-op site runs on the provisioner, and the modules it sends there: (tasks, {module: runs})."""
    _took, proc = timed([*ssh, "-vvv", "-i", remote, "baremetal.provision.site", "--limit", "prov-dmz"], env)
    recap = playbook_recap(proc.stdout).get("prov-dmz", {})
    tasks = sum(recap.get(key, 0) for key in ("ok", "skipped", "failed"))  # ok counts the changed ones too
    return tasks, collections.Counter(PAYLOAD.findall(proc.stdout))


def bench_size(size, segments, repeat, tmp):
    """One fleet: the local provisioner set up as bench_replace.py does, the server's own copy of
    the records, then --repeat attempts, each on a freshly booted server."""
    ctx = R.setup(size, segments, tmp)  # the local provisioner: its fleet, inventory and first site
    root = ctx["root"]
    # bench_replace's stand-in kernels, bound on the server at a fixed path of its own: only the server
    # reads them, so its fleet does not depend on where this run's temporary folder is
    images = os.path.join(root, "images")
    # the same fleet again (the same seed, the same records but the kernels' path): each path edits
    # its own store, so that neither finds the other's edits and its caches stale
    records = write_fleet(os.path.join(root, "records-ssh"), size, segments=segments, images=SERVER_IMAGES)
    # a fact cache, as AWX keeps one (site gathers, replace reuses), apart from the local one:
    # both provisioners are called prov-dmz
    env = ansible_env(
        {
            "BAREMETAL_CACHE_DIR": os.path.join(root, "parse-cache-ssh"),
            "ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore",
            "ANSIBLE_CACHE_PLUGIN": "ansible.builtin.jsonfile",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": os.path.join(root, "facts-ssh"),
        },
        tmp=os.path.join(root, "tmp-ssh"),
    )
    row = {
        "systems": size,
        "segments": segments,
        "site": [],
        "again": [],
        "again changed": [],
        "ssh": [],
        "local": [],
    }
    remote = None
    lab = Lab("bmb")
    try:
        ns = lab.namespace("lab")
        lab.bridge(ns, "br0", "192.0.2.1/24")
        ssh = ["ip", "netns", "exec", ns, PLAYBOOK]
        for number in range(repeat):
            print(
                "... %d systems in %d segment%s: attempt %d of %d"
                % (size, segments, "" if segments == 1 else "s", number + 1, repeat),
                flush=True,
            )
            with P.booted(lab, ns, "br0", PROV_IP + "/24", root, binds=[(images, SERVER_IMAGES)]) as server:
                if remote is None:
                    remote = inventory(
                        root,
                        records,
                        dict(
                            server.inventory_vars(),
                            dhcp_service_manager="none",
                            tftp_service_manager="none",
                            kickstart_service_manager="none",
                            dhcp_install_packages=True,
                            tftp_install_packages=True,
                            kickstart_install_packages=True,
                        ),
                    )
                site = [*ssh, "-i", remote, "baremetal.provision.site", "--limit", "prov-dmz"]
                took, _proc = timed(site, env)
                row["site"].append(took)
                server.ssh("cp /etc/dhcp/dhcpd.conf /root/dhcpd.conf.first", check=False)
                took, proc = timed(site, env)
                changed = playbook_recap(proc.stdout).get("prov-dmz", {}).get("changed")
                row["again changed"].append(changed)
                if changed != 0:
                    # site promises a no-op re-run: show what it did rather than lose the other attempts
                    print(
                        "the second site changed %s on the provisioner: %s"
                        % (changed, ", ".join(changed_tasks(proc.stdout)))
                    )
                    diff = server.ssh("diff /root/dhcpd.conf.first /etc/dhcp/dhcpd.conf | head -40", check=False)
                    print("its dhcpd.conf, first site to second:\n" + diff.stdout, flush=True)
                row["again"].append(took)
                if number == 0:
                    row["tasks"], row["modules"] = count_site(ssh, remote, env)
                # the same system to a new MAC, over SSH and here in turn: a slow spell of the machine falls on both
                system = ctx["web"][ctx["done"]]
                mac = "52:54:0e:00:00:%02x" % number
                took, _proc = timed(
                    [*ssh, "-i", remote, "baremetal.provision.replace", "-e", "system=" + system, "-e", "mac=" + mac],
                    env,
                )
                grep = server.ssh("grep -c 'hardware ethernet %s;' /etc/dhcp/dhcpd.conf" % mac, check=False)
                assert grep.stdout.strip() == "1", "the new MAC is not in the provisioner's dhcpd.conf"
                row["ssh"].append(took)
                took, _live = R.replace_once(ctx)  # checks its boot file and reservation itself
                row["local"].append(took)
    finally:
        lab.close()
    return row


def report(rows, repeat):
    print(
        "\nreplace over SSH beside the local path (seconds; median [min-max] of %d attempt%s)"
        % (repeat, "" if repeat == 1 else "s")
    )
    H.table(
        [
            "systems",
            "segments",
            "rendered",
            "site ssh",
            "again ssh",
            "replace ssh",
            "replace here",
            "ssh/here",
            "again changed",
        ],
        [
            [
                r["systems"],
                r["segments"],
                r["systems"] // r["segments"],
                H.spread(r["site"]),
                H.spread(r["again"]),
                H.spread(r["ssh"]),
                H.spread(r["local"]),
                H.ratio(r["ssh"], r["local"]),
                " ".join(str(n) for n in r["again changed"]),
            ]
            for r in rows
        ],
    )
    print(
        "site ssh: the first site on an empty Debian 12 server (packages from its apt cache);"
        " again: the second (changed=0)"
    )
    print("replace here: bench_replace.py's replace of the same fleet, the provisioner being this controller")
    print("\nthe no-op site over SSH (one run at -vvv, not timed)")
    H.table(
        ["systems", "segments", "tasks", "modules", "by module"],
        [
            [
                r["systems"],
                r["segments"],
                r["tasks"],
                sum(r["modules"].values()),
                " ".join("%s=%d" % kv for kv in sorted(r["modules"].items())),
            ]
            for r in rows
        ],
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SSH_SIZES", "200,10000"))
    parser.add_argument("--layouts", default="one", help="one (one segment of N systems), five (five segments)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="20 systems, one attempt: check that it runs")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.repeat = "20", 1
    if os.geteuid() != 0:
        print("bench_replace_ssh: needs root (network namespaces, systemd-nspawn); skipped")
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="bm-bench-ssh-") as tmp:
        for size in [int(n) for n in args.sizes.split(",") if n]:
            for name in [n for n in args.layouts.split(",") if n]:
                rows.append(bench_size(size, R.LAYOUTS[name], args.repeat, tmp))
    report(rows, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
