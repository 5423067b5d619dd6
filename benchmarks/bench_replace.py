# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the replace playbook, from the command to the new reservation and boot files live.

    python benchmarks/bench_replace.py [--sizes 200,2000,10000] [--repeat 5]

For each fleet size (5 segments; the provisioner of the dmz runs here with service_manager=none,
its files in a temporary folder, its DHCP config checked by the real dhcpd -t), after a site run
has rendered everything once:
  replace    ansible-playbook baremetal.provision.replace -e system=... -e mac=... (best of --repeat,
             a different system each time): record edit, inventory refresh, one render of the
             DHCP config, the boot files and the install configs
  live       from the command to the new MAC's boot file, the DHCP config and the install configs'
             index all written (what the issue times; the rest of the run reports and exits)
  baseline   ansible-playbook with one debug task on localhost against the same inventory: Ansible's
             start-up plus loading the inventory, which every playbook pays
  floor      a playbook of replace's shape (the same plays, hosts and number of tasks, skipped tasks;
             the edit and the render run in Ansible's worker, as replace's do when the provisioner
             is the controller) whose tasks do nothing (set_fact): what Ansible itself costs to run
             a playbook like replace against this inventory here
  ours       replace minus floor: the record edit, the inventory refresh and the render
The new MAC's boot file and reservation are checked to be in place after each run.
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

from support.ansible_cli import ansible_env
from support.fleet import write_fleet

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
SHAPE = """\
- name: The shape of replace, with tasks that do nothing
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - {name: check, ansible.builtin.assert: {that: [true], quiet: true}}
    - {name: note, ansible.builtin.set_fact: {bm_started: 1}}
    - {name: "edit (in the worker, no module)", ansible.builtin.set_fact: {bm_edit: 1}}
    - {name: report, ansible.builtin.debug: {msg: x}}
""" + SKIPPED + """\
    - {name: remember, ansible.builtin.set_fact: {bm_shape_target: prov-dmz}}
- name: The provisioner
  hosts: "{{ hostvars['localhost']['bm_shape_target'] }}"
  gather_facts: false
  tasks:
""" + SKIPPED + """\
    - {name: dhcp variables, ansible.builtin.set_fact: {bm_shape_dhcp: 1}}
    - {name: tftp variables, ansible.builtin.set_fact: {bm_shape_tftp: 1}}
    - {name: install config variables, ansible.builtin.set_fact: {bm_shape_web: 1}}
    - {name: "render (in the worker, no module)", ansible.builtin.set_fact: {bm_shape_render: 1}}
- name: Power, wait, git
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - {name: tell, ansible.builtin.debug: {msg: x}}
""" + SKIPPED * 3


def playbook(args, env, live=None):
    """Seconds the ansible-playbook run took; with live (paths that the run writes), also the
    seconds from the command to the last of them being written: (run, live)."""
    started = time.time()
    start = time.perf_counter()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), *args], env=env,
                          capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit("ansible-playbook %s failed:\n%s\n%s" % (" ".join(args), proc.stdout[-4000:], proc.stderr[-2000:]))
    if live is None:
        return took
    written = max(os.stat(path).st_mtime for path in live)
    assert written >= started, "%s was not written by this run" % live
    return took, written - started


def bench_size(size, repeat, tmp):
    root = os.path.join(tmp, "n%d" % size)
    images = os.path.join(root, "images")
    records = write_fleet(os.path.join(root, "records"), size, images=images)
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
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable,
        "dhcp_service_manager": "none", "tftp_service_manager": "none", "kickstart_service_manager": "none",
        "dhcp_config": os.path.join(out, "dhcpd.conf"), "tftp_root": os.path.join(out, "tftp"),
        "tftp_state_dir": os.path.join(out, "state"), "tftp_boot_loaders": {"pxelinux.0": "/usr/lib/PXELINUX/pxelinux.0"},
        "kickstart_web_root": os.path.join(out, "www"), "kickstart_nginx_conf_dir": os.path.join(out, "nginx"),
        "kickstart_state_dir": os.path.join(out, "state"), "kickstart_callback_dir": os.path.join(out, "cb"),
        "kickstart_tftp_root": os.path.join(out, "tftp"),
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
    env = ansible_env({"BAREMETAL_CACHE_DIR": os.path.join(root, "parse-cache"), "ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore",
                       "ANSIBLE_CACHE_PLUGIN": "ansible.builtin.jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": os.path.join(root, "facts")},
                      tmp=root)
    site = playbook(["-i", inv, "baremetal.provision.site", "--limit", "prov-dmz"], env)
    systems = sorted(n[:-4] for n in os.listdir(os.path.join(records, "systems")) if n.startswith("web"))
    replace_times, baselines, floors = [], [], []
    # interleaved, so that a slow spell of this machine falls on all three alike
    for attempt in range(repeat):
        system = systems[attempt]
        new_mac = "52:54:0f:00:00:%02x" % attempt
        pxe = os.path.join(out, "tftp", "pxelinux.cfg", "01-" + new_mac.replace(":", "-"))
        # live: the new MAC's boot file, the DHCP config and the install configs' index written
        replace_times.append(playbook(["-i", inv, "baremetal.provision.replace", "-e", "system=" + system, "-e", "mac=" + new_mac], env,
                                      live=[pxe, host_vars["dhcp_config"], os.path.join(out, "state", "index.json")]))
        with open(pxe, encoding="utf-8") as handle:
            assert "ks/%s.cfg" % system in handle.read()
        with open(host_vars["dhcp_config"], encoding="utf-8") as handle:
            assert "hardware ethernet %s;" % new_mac in handle.read()
        baselines.append(playbook(["-i", inv, trivial], env))
        floors.append(playbook(["-i", inv, shape], env))
    return {"systems": size, "site": site, "replace": min(t[0] for t in replace_times), "live": min(t[1] for t in replace_times),
            "baseline": min(baselines), "floor": min(floors)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "200,2000,10000"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", help="keep the work folder here (to profile a run)")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bm-bench-replace-") as tmp:
        tmp = args.keep or tmp
        for size in [int(n) for n in args.sizes.split(",") if n]:
            print("... %d systems" % size, flush=True)
            rows.append(bench_size(size, args.repeat, tmp))
    print("\nreplace playbook at each fleet size (seconds; best of %d)" % args.repeat)
    columns = ("systems", "site", "replace", "live", "baseline", "floor", "ours", "replace x", "live x", "ours x")
    print("%8s %8s %8s %6s %9s %6s %6s %10s %7s %7s" % columns)
    first = rows[0]
    for r in rows:
        ours, first_ours = r["replace"] - r["floor"], first["replace"] - first["floor"]
        print("%8d %8.2f %8.2f %6.2f %9.2f %6.2f %6.2f %9.2fx %6.2fx %6.2fx" % (
            r["systems"], r["site"], r["replace"], r["live"], r["baseline"], r["floor"], ours, r["replace"] / first["replace"],
            r["live"] / first["live"], ours / first_ours if first_ours > 0 else float("nan")))
    print("x: against the first size, measured in this same run")
    print("live: from the command to the new MAC's boot file, the DHCP config and the install index written "
          "(the rest of the run reports, tells the operator what to do and exits)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
