# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A/B measurement: a no-op site over SSH, this tree's roles beside an older commit's, in turn.

    python benchmarks/_ab_site_noop_ssh.py --before COMMIT [--repeat 5]

Not one of make bench's benchmarks (it compares two commits; bench_replace_ssh.py measures the
no-op site over SSH of this tree): kept to measure a change of the roles against the one before.

The provisioner is the test lab's Debian 12 server (systemd-nspawn, tests/support/provisioner.py)
reached over SSH, with the roles' defaults (service manager systemd: packages installed, daemons
run) and test_real_provisioner.py's records (two systems of the dmz). One boot: a first site
(this tree's) configures it; then --repeat rounds each run the no-op site of COMMIT's roles and
site playbook (the rest of the collection is this tree's) and this tree's, in turn, so that a slow
spell of the machine falls on both. Every run must report changed=0. One more run of each at -vvv
counts the modules sent to the server (AnsiballZ payloads); those runs are not timed.
"""

import argparse
import collections
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import _harness as H

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))

from support import provisioner as P
from support.ansible_cli import ansible_env, playbook_recap
from support.netns import Lab
from support.store import FILES, served_by_lab_provisioner, write_store

PROV_IP = "192.0.2.10"
# the install template of the records asks for one (a stand-in hash)
SECRETS = {
    "root_password_hash": "$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyz"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789abcdefghijklmn"
}
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
# -vvv of the ssh connection: "PUT <local file> TO <remote tmp>/AnsiballZ_<module>.py"
PAYLOAD = re.compile(r"\bTO \S*/AnsiballZ_(\w+)\.py\b")


def older_collection(root, commit):
    """A collections folder whose baremetal.provision is this tree but for COMMIT's roles and site."""
    coll = os.path.join(root, "collections", "ansible_collections", "baremetal", "provision")
    os.makedirs(coll)
    for name in os.listdir(REPO):
        if name not in ("roles", "playbooks", ".git", ".build", ".venv"):
            os.symlink(os.path.join(REPO, name), os.path.join(coll, name))
    shutil.copytree(os.path.join(REPO, "playbooks"), os.path.join(coll, "playbooks"))
    archive = subprocess.run(
        ["git", "-C", REPO, "archive", commit, "roles", "playbooks/site.yml"], capture_output=True, check=True
    ).stdout
    os.remove(os.path.join(coll, "playbooks", "site.yml"))
    subprocess.run(["tar", "-x", "-C", coll], input=archive, check=True)
    return os.path.join(root, "collections")


def run(cmd, env):
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (" ".join(cmd), proc.stdout[-4000:], proc.stderr[-2000:]))
    return took, playbook_recap(proc.stdout).get("prov-lab", {}), proc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="the commit whose roles and site.yml are 'before'")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("_ab_site_noop_ssh: needs root (network namespaces, systemd-nspawn); skipped")
        return 0
    with tempfile.TemporaryDirectory(prefix="bm-bench-site-") as tmp:
        files = served_by_lab_provisioner(PROV_IP)
        files["systems/web01.yml"] = FILES["systems/web01.yml"]
        records = write_store(os.path.join(tmp, "records"), files)
        images = os.path.join(tmp, "images")
        os.makedirs(images)
        for name in ("vmlinuz", "initrd.img"):
            with open(os.path.join(images, name), "w", encoding="ascii") as handle:
                handle.write("stand-in %s\n" % name)
        inventory = os.path.join(tmp, "inventory")
        os.makedirs(inventory)
        with open(os.path.join(inventory, "fleet.baremetal.yml"), "w", encoding="utf-8") as handle:
            handle.write("plugin: baremetal.provision.records\nrecords_dir: %s\n" % records)
        base = {"ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore"}
        envs = {
            "before": ansible_env(dict(base, ANSIBLE_COLLECTIONS_PATH=older_collection(tmp, args.before)), tmp=tmp),
            "after": ansible_env(base, tmp=tmp),
        }
        times = {"before": [], "after": []}
        changed = {"before": [], "after": []}
        modules = {}
        lab = Lab("bms")
        try:
            ns = lab.namespace("lab")
            lab.bridge(ns, "br0", "192.0.2.1/24")
            with P.booted(lab, ns, "br0", PROV_IP + "/24", tmp, binds=[(images, "/srv/images")]) as server:
                with open(os.path.join(inventory, "hosts.yml"), "w", encoding="utf-8") as handle:
                    host = dict(server.inventory_vars(), kickstart_secrets=SECRETS)
                    json.dump({"all": {"hosts": {"prov-lab": host}}}, handle)
                site = ["ip", "netns", "exec", ns, PLAYBOOK, "-i", inventory, "baremetal.provision.site"]
                took, recap, _proc = run(site, envs["after"])
                print("first site (this tree's): %.2f s, changed=%s" % (took, recap.get("changed")), flush=True)
                for name in ("before", "after"):  # each once untimed: both find nothing to do
                    _took, recap, _proc = run(site, envs[name])
                    assert recap.get("changed") == 0, (name, recap)
                for number in range(args.repeat):
                    for name in ("before", "after"):
                        took, recap, _proc = run(site, envs[name])
                        times[name].append(took)
                        changed[name].append(recap.get("changed"))
                    print(
                        "round %d: before %.2f s, after %.2f s" % (number + 1, times["before"][-1], times["after"][-1]),
                        flush=True,
                    )
                for name in ("before", "after"):
                    _took, recap, proc = run([*site, "-vvv"], envs[name])
                    counted = collections.Counter(PAYLOAD.findall(proc.stdout))
                    tasks = sum(recap.get(key, 0) for key in ("ok", "skipped", "failed"))
                    modules[name] = (tasks, counted)
        finally:
            lab.close()
    print("\nno-op site over SSH (seconds; median [min-max] of %d runs, before and after in turn)" % args.repeat)
    H.table(
        ["roles", "no-op site", "changed", "tasks", "modules", "provisioner_sync", "apt", "by module"],
        [
            [
                name if name == "after" else "before (%s)" % args.before[:10],
                H.spread(times[name]),
                " ".join(str(n) for n in changed[name]),
                modules[name][0],
                sum(modules[name][1].values()),
                modules[name][1]["provisioner_sync"],
                modules[name][1]["apt"],
                " ".join("%s=%d" % kv for kv in sorted(modules[name][1].items())),
            ]
            for name in ("before", "after")
        ],
    )
    print("after/before: %s (per-round ratios, median)" % H.ratio(times["after"], times["before"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
