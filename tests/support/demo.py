# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""make demo: the hardware-replacement story, narrated step by step with timings.

Every step runs the real command-line tools against this collection in a throw-away
directory: records are written by the record modules, read back by the inventory plugin
and validated the way a pull-request pipeline would. Steps that need parts still being
built (the provisioner roles and the QEMU lab) are listed at the end as what comes next.
"""

import os
import sys
import tempfile
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from support import ansible_cli
from support.store import write_store

PLAYBOOK = """\
- name: Demo step
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/baremetal.provision.records:
      records_dir: "{{ records_dir }}"
  tasks:
%s
"""

STEPS = [
    ("Register web02 with MAC A", """\
    - name: Register web02
      baremetal.provision.system:
        name: web02
        tier: web
        hardware_model: r650
        mac: "52:54:00:12:34:57"
        ip: 192.0.2.51
      register: result
    - name: Show the record
      ansible.builtin.debug:
        var: result.record
"""),
    ("Re-run the same step: nothing changes", """\
    - name: Register web02 again
      baremetal.provision.system:
        name: web02
        tier: web
        hardware_model: r650
        mac: "52:54:00:12:34:57"
        ip: 192.0.2.51
"""),
    ("MAC A fails: web02 takes the first r650 spare of pool spares-dmz", """\
    - name: Replace web02's hardware from the pool
      baremetal.provision.system:
        name: web02
        from_pool: spares-dmz
      register: result
    - name: Report the replacement
      ansible.builtin.debug:
        msg: "web02: {{ result.replaced.old_mac }} -> {{ result.replaced.new_mac }}, build generation {{ result.record.build.generation }}"
"""),
    ("Refused: another system may not take web02's new MAC", """\
    - name: Try to give web01 the MAC web02 now has
      baremetal.provision.system:
        name: web01
        mac: "52:54:00:00:00:01"
      ignore_errors: true
"""),
]


def banner(text):
    print("\n\033[1m== %s\033[0m" % text if sys.stdout.isatty() else "\n== %s" % text, flush=True)


def main():
    results = []
    with tempfile.TemporaryDirectory(prefix="bm-demo-") as tmp:
        records = write_store(os.path.join(tmp, "records"))
        env = ansible_cli.ansible_env(tmp=tmp)
        banner("A record store in %s (segments, tiers, distros, profiles, systems, pools)" % records)
        for kind in sorted(os.listdir(records)):
            print("  %-10s %s" % (kind, ", ".join(sorted(os.listdir(os.path.join(records, kind))))))
        for title, tasks in STEPS:
            banner(title)
            path = os.path.join(tmp, "step.yml")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(PLAYBOOK % tasks)
            start = time.monotonic()
            proc = ansible_cli.run("ansible-playbook", [path, "--diff", "-e", "records_dir=" + records], env=env)
            took = time.monotonic() - start
            print(textwrap.indent(proc.stdout.strip(), "  "))
            recap = ansible_cli.playbook_recap(proc.stdout).get("localhost", {})
            results.append((title, proc.returncode, recap.get("changed", "-"), recap.get("failed", "-"), took))
        banner("Validate the store the way a pull-request pipeline does")
        start = time.monotonic()
        proc = ansible_cli.run("ansible-playbook", ["baremetal.provision.validate", "-e", "records_dir=" + records], env=env)
        results.append(("validate", proc.returncode, "-", "-", time.monotonic() - start))
        print(textwrap.indent("\n".join(line for line in proc.stdout.splitlines() if '"msg"' in line) or proc.stderr, "  "))

    banner("Summary")
    print("  %-66s %4s %8s %7s %7s" % ("step", "rc", "changed", "failed", "secs"))
    for title, rc, changed, failed, took in results:
        print("  %-66s %4s %8s %7s %7.1f" % (title[:66], rc, changed, failed, took))
    print(textwrap.dedent("""
      Next in this demo, as the provisioner roles and the QEMU lab land: the provisioner's
      dhcpd/Kea, TFTP and nginx configured from these records, a BIOS and a UEFI virtual machine
      installing themselves, and the replaced machine booting as web02 with web02's IP.
    """))
    bad = [r for r in results if r[1] != 0]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
