# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: replace against a provisioner reached over SSH, beside the same replace run locally.

    python benchmarks/bench_replace_ssh.py [--sizes 200,10000] [--repeat 3] [--smoke]

The SSH provisioner is the test lab's Debian 12 server (systemd-nspawn, tests/support/provisioner.py):
the path AWX and every remote provisioner take (AnsiballZ, the view sent as a file, the render
and dhcpd -t on the provisioner). The local one is the controller itself (the render in Ansible's
worker). Both serve the dmz of the same fleet (5 segments), after a site run each. The fleet's
addresses (198.18.0.0/15) are record data only: the provisioner's roles run with service
manager none (packages installed, files written, no daemon started on them).

  site       the first site on the empty server (packages installed, everything rendered)
  again      a second site (nothing changes)
  replace    ansible-playbook baremetal.provision.replace -e system=... -e mac=... (median [min-max]
             of --repeat attempts, over SSH and here in turn; ssh/here is the per-attempt ratio)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

import _harness as H
from support import provisioner as P
from support.ansible_cli import ansible_env
from support.fleet import write_fleet
from support.netns import Lab

PROV_IP = "192.0.2.10"


def timed(cmd, env):
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (" ".join(cmd), proc.stdout[-4000:], proc.stderr[-2000:]))
    return took


def inventory(root, name, records, host_vars):
    inv = os.path.join(root, name)
    os.makedirs(os.path.join(inv, "host_vars"))
    with open(os.path.join(inv, "fleet.baremetal.yml"), "w", encoding="utf-8") as handle:
        handle.write("plugin: baremetal.provision.records\nrecords_dir: %s\n" % records)
    with open(os.path.join(inv, "host_vars", "prov-dmz.yml"), "w", encoding="utf-8") as handle:
        json.dump(host_vars, handle)
    return inv


def bench_size(size, repeat, tmp):
    root = os.path.join(tmp, "n%d" % size)
    images = os.path.join(root, "images")  # the same path on the controller and, bound, on the provisioner
    # the same fleet twice (the same seed, the same bytes): each path edits its own store, so that
    # neither finds the other's edits and its caches stale
    records = write_fleet(os.path.join(root, "records"), size, images=images)
    local_records = write_fleet(os.path.join(root, "records-local"), size, images=images)
    for rel in ("rocky9/vmlinuz", "rocky9/initrd.img", "ubuntu24/vmlinuz", "ubuntu24/initrd"):
        os.makedirs(os.path.dirname(os.path.join(images, rel)), exist_ok=True)
        with open(os.path.join(images, rel), "wb") as handle:
            handle.write(b"bench stand-in\n")
    # not inside the inventory folder: Ansible reads every file under an inventory folder as an
    # inventory source, and the render writes a file per system (8 s a parse at 10,000 systems)
    out = os.path.join(root, "prov-local")
    local = inventory(
        root,
        "local",
        local_records,
        {
            "ansible_connection": "local",
            "ansible_python_interpreter": sys.executable,
            "dhcp_service_manager": "none",
            "tftp_service_manager": "none",
            "kickstart_service_manager": "none",
            "dhcp_config": os.path.join(out, "dhcpd.conf"),
            "tftp_root": os.path.join(out, "tftp"),
            "tftp_state_dir": os.path.join(out, "state"),
            "tftp_boot_loaders": {"pxelinux.0": "/usr/lib/PXELINUX/pxelinux.0"},
            "kickstart_web_root": os.path.join(out, "www"),
            "kickstart_nginx_conf_dir": os.path.join(out, "nginx"),
            "kickstart_state_dir": os.path.join(out, "state"),
            "kickstart_callback_dir": os.path.join(out, "cb"),
            "kickstart_tftp_root": os.path.join(out, "tftp"),
        },
    )
    # a fact cache, as AWX keeps one (site gathers, replace reuses): one per path, since both
    # provisioners are called prov-dmz
    env = {}
    for path in ("local", "remote"):
        env[path] = ansible_env(
            {
                "BAREMETAL_CACHE_DIR": os.path.join(root, "parse-cache-" + path),
                "ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore",
                "ANSIBLE_CACHE_PLUGIN": "ansible.builtin.jsonfile",
                "ANSIBLE_CACHE_PLUGIN_CONNECTION": os.path.join(root, "facts-" + path),
            },
            tmp=os.path.join(root, "tmp-" + path),
        )
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    lab = Lab("bmb")
    try:
        ns = lab.namespace("lab")
        lab.bridge(ns, "br0", "192.0.2.1/24")
        with P.booted(lab, ns, "br0", PROV_IP + "/24", root, binds=[(images, images)]) as server:
            remote = inventory(
                root,
                "remote",
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
            ssh = ["ip", "netns", "exec", ns, playbook]
            row = {"systems": size}
            row["site"] = timed([*ssh, "-i", remote, "baremetal.provision.site", "--limit", "prov-dmz"], env["remote"])
            row["again"] = timed([*ssh, "-i", remote, "baremetal.provision.site", "--limit", "prov-dmz"], env["remote"])
            timed([playbook, "-i", local, "baremetal.provision.site", "--limit", "prov-dmz"], env["local"])
            systems = sorted(n[:-4] for n in os.listdir(os.path.join(records, "systems")) if n.startswith("web"))
            over_ssh, here = [], []
            for attempt in range(repeat):  # interleaved: a slow spell of the machine falls on both
                mac = "52:54:0f:00:01:%02x" % attempt
                over_ssh.append(
                    timed(
                        [
                            *ssh,
                            "-i",
                            remote,
                            "baremetal.provision.replace",
                            "-e",
                            "system=" + systems[2 * attempt],
                            "-e",
                            "mac=" + mac,
                        ],
                        env["remote"],
                    )
                )
                grep = server.ssh("grep -c 'hardware ethernet %s;' /etc/dhcp/dhcpd.conf" % mac, check=False)
                assert grep.stdout.strip() == "1", "the new MAC is not in the provisioner's dhcpd.conf"
                here.append(
                    timed(
                        [
                            playbook,
                            "-i",
                            local,
                            "baremetal.provision.replace",
                            "-e",
                            "system=" + systems[2 * attempt + 1],
                            "-e",
                            "mac=52:54:0f:00:02:%02x" % attempt,
                        ],
                        env["local"],
                    )
                )
            row["ssh"], row["local"] = over_ssh, here
    finally:
        lab.close()
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SSH_SIZES", "200,10000"))
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
            print("... %d systems" % size, flush=True)
            rows.append(bench_size(size, args.repeat, tmp))
    print("\nreplace over SSH beside the local path (seconds; replace: median [min-max] of %d)" % args.repeat)
    H.table(
        ["systems", "site ssh", "again ssh", "replace ssh", "replace here", "ssh/here"],
        [
            [
                r["systems"],
                "%.2f" % r["site"],
                "%.2f" % r["again"],
                H.spread(r["ssh"]),
                H.spread(r["local"]),
                H.ratio(r["ssh"], r["local"]),
            ]
            for r in rows
        ],
    )
    print("site ssh: the first site on an empty Debian 12 server (packages from its apt cache); again: the second")
    return 0


if __name__ == "__main__":
    sys.exit(main())
