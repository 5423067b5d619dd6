# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""New hardware arrives: the discovery chapter of the story on the embedded lab (make e2e, make demo).

After the replacements of the first chapters the pool spares-dmz is empty. Two machines nobody
typed in (one BIOS, one UEFI, their SMBIOS vendor, product, serial and UUID set as a server's
firmware sets them) are cabled to the dmz and powered on. With discovery on for the segment they
boot the collector, report into the provisioner's spool and power off; enlist makes them spares
by the pool's rules, as a commit; replace takes them, and they install as web01 and uefi01.
"""

import json
import os
import subprocess
import time

from support import lab as L
from support.ansible_cli import playbook_recap
from support.netns import wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTOR_DIR = os.path.join(REPO, ".build", "collector")
SPOOL = "/var/lib/baremetal-provision/discovered"

# The machines discovery finds: (name, MAC, UEFI, SMBIOS type 1)
NEW = (
    (
        "machine-n",
        "52:54:00:0e:00:05",
        False,
        {
            "manufacturer": "BM Lab",
            "product": "LabServer BIOS",
            "serial": "LAB-N1",
            "uuid": "8c0a7a1e-4b5f-4f7e-9d61-0e0000000005",
        },
    ),
    (
        "machine-w",
        "52:54:00:0e:00:06",
        True,
        {
            "manufacturer": "BM Lab",
            "product": "LabServer UEFI",
            "serial": "LAB-W1",
            "uuid": "8c0a7a1e-4b5f-4f7e-9d61-0e0000000006",
        },
    ),
)
COLLECTOR_MARK = "BM-COLLECTOR:"


def build_collector():
    """The collector (make collector), cached in .build/collector."""
    subprocess.run(
        [
            os.path.join(REPO, "roles", "discovery", "files", "build-collector"),
            "--out",
            COLLECTOR_DIR,
            "--cache",
            os.path.join(COLLECTOR_DIR, "cache"),
        ],
        check=True,
        capture_output=True,
    )
    return COLLECTOR_DIR


def _git(story, *args):
    return subprocess.run(
        ["git", "-C", story.paths["records"], "-c", "user.name=lab", "-c", "user.email=lab@example.test", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def turn_discovery_on(story):
    """What an operator does: discovery and a dynamic range for the segment, enlist rules in the
    pool (a reviewed commit of the records), the collector for the provisioner (inventory)."""
    records = story.paths["records"]
    with open(os.path.join(records, "segments", "dmz.yml"), "a", encoding="utf-8") as handle:
        handle.write("dynamic_range: [192.0.2.200, 192.0.2.220]\ndiscovery: true\n")
    with open(os.path.join(records, "pools", "spares-dmz.yml"), "w", encoding="utf-8") as handle:
        handle.write(
            "segment: dmz\nenlist:\n"
            "  - {product: LabServer BIOS, vendor: BM Lab, hardware_model: qemu-bios}\n"
            "  - {product: LabServer UEFI, vendor: BM Lab, hardware_model: qemu-uefi}\n"
            "min_spares: {qemu-bios: 1, qemu-uefi: 1}\n"
            "machines: []\n"
        )
    _git(story, "add", "-A")
    _git(story, "commit", "-qm", "dmz: discover new hardware; enlist rules for the lab's servers")
    host_vars = os.path.join(story.paths["inventory"], "host_vars", "prov-lab.yml")
    with open(host_vars, encoding="utf-8") as handle:
        data = json.load(handle)
    # a machine that boots twice within the interval is still one entry; 5 s lets the second
    # report land so the story can show the entry counting it
    data.update(discovery_collector_dir=story.collector_dir, discovery_min_interval=5)
    with open(host_vars, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1)


def spool(story):
    """{boot MAC: entry} of the provisioner's spool."""
    out = story.on_provisioner(
        "python3 -c 'import glob, json, sys; json.dump([json.load(open(f)) for f in sorted(glob.glob(sys.argv[1]))],"
        " sys.stdout)' '%s/*.json'" % SPOOL
    )
    return {entry["mac"]: entry for entry in json.loads(out or "[]")}


def collect(story, name):
    """Power the machine on; it boots the collector, reports and powers off. Returns seconds from
    power-on to its entry in the spool, and the console."""
    vm = story.machines[name]
    before = spool(story).get(vm.mac, {}).get("reports", 0)
    vm.power_on()
    vm.wait("%s poweroff" % COLLECTOR_MARK, timeout=240)
    wait_for(
        lambda: spool(story).get(vm.mac, {}).get("reports", 0) > before, timeout=30, what="the report in the spool"
    )
    took = time.monotonic() - vm.started
    wait_for(lambda: not vm.is_on(), timeout=30, what="%s to power off" % name)
    return took, vm.console()


def run_discovery_chapter(story, checks, first_step=10):
    """Chapters first_step.. of the story: discover, enlist, replace from what was enlisted."""
    step = first_step
    story.discovery = {}
    with story.step("%d. New hardware: discovery on for the dmz, the collector built and installed (site)" % step):
        story.collector_dir = build_collector()
        for name, mac, uefi, smbios in NEW:
            story.machines[name] = L.Machine(
                story.lab, story.ns, "br0", name, mac, story.paths["vm"], uefi=uefi, smbios=smbios
            )
        turn_discovery_on(story)
        proc, _took = story.playbook("site")
        checks("site installed discovery", playbook_recap(proc.stdout)["prov-lab"]["changed"] > 0, proc.stdout[-2000:])
        checks(
            "the collector is served",
            (story.tftp_file("discovery/discover.ipxe") or "").startswith("#!ipxe"),
            story.tftp_file("discovery/discover.ipxe"),
        )
        checks("the spool is empty", spool(story) == {}, spool(story))
    step += 1
    for name, mac, uefi, smbios in NEW:
        firmware = "UEFI" if uefi else "BIOS"
        with story.step(
            "%d. An unknown %s machine (%s) powers on: collector, report, power-off" % (step, firmware, mac)
        ):
            took, console = collect(story, name)
            entry = spool(story).get(mac) or {}
            report = entry.get("report") or {}
            system = report.get("system") or {}
            checks(
                "%s reported its SMBIOS identity" % name,
                (system.get("vendor"), system.get("product"), system.get("serial"), system.get("uuid"))
                == (smbios["manufacturer"], smbios["product"], smbios["serial"], smbios["uuid"]),
                entry,
            )
            checks(
                "%s reported its boot MAC and firmware" % name,
                (report.get("boot") or {}).get("mac") == mac
                and (report.get("boot") or {}).get("mode") == ("uefi" if uefi else "bios"),
                report.get("boot"),
            )
            checks(
                "%s reported its disk" % name,
                [d.get("size_bytes") for d in report.get("disks") or []] == [8 * 1024 * 1024],
                report.get("disks"),
            )
            checks("%s never started an installer" % name, L.MARK not in console, console[-1500:])
            story.discovery["%s power-on to spool" % firmware] = took
        step += 1
    with story.step("%d. The BIOS machine is powered on again before anyone enlists it: still one entry" % step):
        collect(story, "machine-n")
        entries = spool(story)
        checks("two machines, two entries", sorted(entries) == sorted(mac for _n, mac, _u, _s in NEW), sorted(entries))
        checks("the second boot counted in the same entry", entries.get(NEW[0][1], {}).get("reports") == 2, entries)
    step += 1
    with story.step("%d. enlist --check --diff, then enlist on the current branch (enlist_direct=true)" % step):
        before = _git(story, "rev-parse", "HEAD")
        proc, _took = story.playbook("enlist", "--check", "--diff")
        checks("--check changed nothing", _git(story, "rev-parse", "HEAD") == before, proc.stdout[-2000:])
        checks(
            "--check showed the spares",
            "serial: LAB-N1" in proc.stdout and "LAB-W1" in proc.stdout,
            proc.stdout[-3000:],
        )
        start = time.monotonic()
        proc, took = story.playbook("enlist", "-e", "enlist_direct=true")
        story.discovery["enlist"] = took
        checks("enlist added both", "2 added, 0 known" in proc.stdout, proc.stdout[-3000:])
        subject = _git(story, "log", "-1", "--format=%s")
        checks("enlist is one commit", subject == "enlist 2 machine(s): spares-dmz: LAB-N1, LAB-W1", subject)
        pool = _git(story, "show", "HEAD:pools/spares-dmz.yml")
        checks(
            "the spares have their models",
            'mac: "52:54:00:0e:00:05", hardware_model: qemu-bios, serial: LAB-N1' in pool
            and 'mac: "52:54:00:0e:00:06", hardware_model: qemu-uefi, serial: LAB-W1' in pool,
            pool,
        )
        checks("the spool is empty again", spool(story) == {}, spool(story))
        story.discovery["enlist wall"] = time.monotonic() - start
    step += 1
    for system, (name, mac, uefi, _smbios) in (("web01", NEW[0]), ("uefi01", NEW[1])):
        firmware = "UEFI" if uefi else "BIOS"
        with story.step(
            "%d. replace -e system=%s -e from_pool=spares-dmz: the enlisted %s machine" % (step, system, firmware)
        ):
            start = time.monotonic()
            proc, _took = story.playbook("replace", "-e", "system=" + system, "-e", "from_pool=spares-dmz")
            checks(
                "replace said to power on the spare (it has no BMC in its record)",
                "power on the machine with MAC %s" % mac in proc.stdout,
                proc.stdout[-2000:],
            )
            checks(
                "replace warned that it took the last spare of the model",
                "that was the last spare of hardware model" in proc.stdout + proc.stderr,
                proc.stdout[-2000:],
            )
            vm = story.machines[name]
            generation = story.completed().get(system, 0) + 1
            vm.power_on()
            vm.wait("%s callback-ok" % L.MARK, timeout=240)
            took = time.monotonic() - start
            console = vm.console()
            checks(
                "%s installed as %s" % (name, system), "kickstart # %s generation" % system in console, console[-1500:]
            )
            checks("%s's completion recorded" % system, story.completed().get(system) == generation, story.completed())
            story.discovery["%s replace to callback" % firmware] = took
            wait_for(lambda vm=vm: not vm.is_on(), timeout=30, what="%s to power off" % name)
        step += 1
    return story
