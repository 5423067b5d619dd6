# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The hardware-replacement story on the embedded lab, step by step (make e2e and make demo).

A provisioner (prov-lab, 192.0.2.10) serves the segment dmz (192.0.2.0/24): the lab's Debian 12
server with systemd (tests/support/provisioner.py), configured by the roles with their defaults
over SSH, so Kea, tftpd-hpa, nginx and the callback service run as its systemd units. QEMU
machines with SeaBIOS+iPXE or OVMF boot off it. Each machine has a stand-in Redfish BMC on
loopback.
"""

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

from support import lab as L
from support import provisioner as P
from support.ansible_cli import ansible_env, playbook_recap, run
from support.bmc import RedfishStandIn
from support.discovery_story import run_discovery_chapter
from support.netns import Lab, http_answers, read_log, udhcpc, wait_for
from support.store import KICKSTART, commit_store, write_store

MAC_A = "52:54:00:0e:00:01"  # web01's original hardware (BIOS)
MAC_B = "52:54:00:0e:00:02"  # the spare in pool spares-dmz (BIOS)
MAC_U = "52:54:00:0e:00:03"  # uefi01 (UEFI)
MAC_V = "52:54:00:0e:00:04"  # the UEFI spare in pool spares-dmz, with an IPMI BMC
BMC_PASSWORD = "lab-password"
PROV_IP = "192.0.2.10"
STATE_DIR = "/var/lib/baremetal-provision"
TFTP_ROOT = "/srv/tftp"
# The stages the wait of replace and provision reports, in the order an install passes them.
STAGES = ("lease taken", "boot loader fetched", "kernel fetched", "install config fetched", "called back")


def wait_stages(stdout, system):
    """The stage lines the wait printed for system, in their order: [(stage, seconds, detail)]."""
    pattern = r"^%s: (%s) ([0-9.]+) s after power-on \((.*)\)$" % (re.escape(system), "|".join(STAGES))
    return [(m.group(1), float(m.group(2)), m.group(3)) for m in re.finditer(pattern, stdout, flags=re.M)]


def check_stages(checks, story, title, proc, system):
    """The wait showed lease, boot loader, install config and callback in that order (the kernel
    between them where the boot loader fetches it over TFTP or HTTP), each once, in time order."""
    stages = wait_stages(proc.stdout, system)
    story.stages.append((title, stages))
    names = [name for name, _took, _detail in stages]
    checks(
        "%s: the wait showed the stages in order" % title,
        [name for name in names if name != "kernel fetched"]
        == ["lease taken", "boot loader fetched", "install config fetched", "called back"]
        and names == [name for name in STAGES if name in names]
        and [took for _name, took, _detail in stages] == sorted(took for _name, took, _detail in stages),
        proc.stdout[-3000:],
    )


class Story(object):
    def __init__(self, workdir, narrate=None):
        self.work = str(workdir)
        self.say = narrate or (lambda text: None)
        self.timings = []
        self.stages = []  # (step, [(stage, seconds after power-on, detail)]) of each wait
        self.lab = None
        self.bmcs = {}
        self.machines = {}
        self.server = None
        self.stack = contextlib.ExitStack()
        self.paths = {
            k: os.path.join(self.work, k)
            for k in ("records", "inventory", "tftp", "www", "nginx", "state", "cb", "run", "vm")
        }
        for key, path in self.paths.items():
            if key != "records":
                os.makedirs(path, exist_ok=True)

    # ------------------------------------------------------------------ set-up
    def step(self, title):
        self.say(title)
        return _Timer(self, title)

    def setup(self):
        with self.step("Build the lab: kernel, stand-in installer, network namespace, QEMU machines"):
            self.vmlinuz, self.initrd = L.build()
            self.lab = Lab("bme")
            self.ns = self.lab.namespace("prov")
            self.lab.bridge(self.ns, "br0", "192.0.2.1/24")
            # the provisioner: kernels and initrds given by path, bound at the same path
            self.server = self.stack.enter_context(
                P.booted(
                    self.lab,
                    self.ns,
                    "br0",
                    PROV_IP + "/24",
                    self.work,
                    name="%s-prov" % self.lab.prefix,
                    binds=[(os.path.dirname(self.vmlinuz), os.path.dirname(self.vmlinuz))],
                )
            )
            for name, mac, uefi in (
                ("machine-a", MAC_A, False),
                ("machine-b", MAC_B, False),
                ("machine-u", MAC_U, True),
                ("machine-v", MAC_V, True),
            ):
                self.machines[name] = L.Machine(self.lab, self.ns, "br0", name, mac, self.paths["vm"], uefi=uefi)
            for name in ("machine-a", "machine-b", "machine-u"):
                self.bmcs[name] = RedfishStandIn(self.machines[name], password=BMC_PASSWORD)
            self.ipmi = IpmiStandIn(self.lab, self.machines["machine-v"], self.paths["run"], BMC_PASSWORD)
            self.lab.start(
                self.ns,
                [sys.executable, L.__file__, "ra", "br0"],
                os.path.join(self.paths["run"], "ra.log"),
                env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(L.__file__))),
            )
            self.write_records()
            self.write_inventory()

    def write_records(self):
        def bmc(name):
            return (
                "{type: redfish, address: 127.0.0.1, port: %d, username: admin, password_var: lab_bmc_password}"
                % self.bmcs[name].port
            )

        files = {
            "segments/dmz.yml": "network: 192.0.2.0/24\ngateway: 192.0.2.1\ndns: [192.0.2.1]\ndomain: dmz.example.test\n"
            "provisioner: prov-lab\nnext_server: %s\n" % PROV_IP,
            "distros/standin.yml": "family: redhat\narch: x86_64\nkernel: %s\ninitrd: %s\ninstall_tree: http://192.0.2.10/repo/standin\n"
            % (self.vmlinuz, self.initrd),
            "profiles/standin-bios.yml": "distro: standin\ntemplate: standin.ks.j2\nboot_loader: pxelinux\n"
            "kernel_options: {console: ttyS0, panic: '-1', quiet: null}\n",
            "profiles/standin-uefi.yml": "distro: standin\ntemplate: standin.ks.j2\nkernel_options: {console: ttyS0, panic: '-1', quiet: null}\n",
            "tiers/web.yml": "segment: dmz\nprofile: standin-bios\nprofiles_by_model: {qemu-uefi: standin-uefi}\n",
            "templates/standin.ks.j2": KICKSTART,
            "systems/web01.yml": "tier: web\nhardware_model: qemu-bios\ninterfaces:\n"
            '  - {name: eth0, mac: "%s", ip: 192.0.2.50, primary: true}\nbmc: %s\n' % (MAC_A, bmc("machine-a")),
            "systems/uefi01.yml": "tier: web\nhardware_model: qemu-uefi\ninterfaces:\n"
            '  - {name: eth0, mac: "%s", ip: 192.0.2.60, primary: true}\nbmc: %s\n' % (MAC_U, bmc("machine-u")),
            "pools/spares-dmz.yml": "segment: dmz\nmachines:\n"
            '  - {mac: "%s", hardware_model: qemu-bios, serial: QEMU-B, bmc: %s}\n'
            '  - {mac: "%s", hardware_model: qemu-uefi, serial: QEMU-V, bmc: {type: ipmi, address: 127.0.0.1, '
            "port: %d, username: admin, password_var: lab_bmc_password}}\n"
            % (MAC_B, bmc("machine-b"), MAC_V, self.ipmi.port),
        }
        commit_store(write_store(self.paths["records"], files=files))

    def write_inventory(self, provisioner="prov-lab", **more_vars):
        inv = self.paths["inventory"]
        with open(os.path.join(inv, "lab.baremetal.yml"), "w", encoding="utf-8") as handle:
            handle.write("plugin: baremetal.provision.records\nrecords_dir: %s\n" % self.paths["records"])
        os.makedirs(os.path.join(inv, "host_vars"), exist_ok=True)
        # a real server over SSH, the roles' defaults: only the DHCP server and the secrets are set
        host_vars = dict(
            self.server.inventory_vars(proxy=True),
            dhcp_server="kea",
            kickstart_secrets={"root_password_hash": "$6$labsalt$" + "x" * 86},
            **more_vars,
        )
        with open(os.path.join(inv, "host_vars", "%s.yml" % provisioner), "w", encoding="utf-8") as handle:
            json.dump(host_vars, handle, indent=1)
        # the machines' BMC password, as a vaulted variable would be in production
        os.makedirs(os.path.join(inv, "group_vars"), exist_ok=True)
        with open(os.path.join(inv, "group_vars", "all.yml"), "w", encoding="utf-8") as handle:
            json.dump({"lab_bmc_password": BMC_PASSWORD, "bmc_scheme": "http", "bmc_ipmi_cipher_suite": 3}, handle)

    # ------------------------------------------------------------------ ansible
    def playbook(self, name, *extra):
        env = ansible_env({"ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore"}, tmp=self.work)
        start = time.monotonic()
        proc = run(
            "ansible-playbook",
            ["-i", self.paths["inventory"], "baremetal.provision." + name, *extra],
            env=env,
            timeout=900,
        )
        took = time.monotonic() - start
        if proc.returncode != 0:
            raise AssertionError("%s failed:\n%s\n%s" % (name, proc.stdout[-6000:], proc.stderr[-3000:]))
        return proc, took

    # ------------------------------------------------------------------ daemons
    def start_daemons(self):
        """systemd runs them on the provisioner: wait until nginx answers on its address."""
        wait_for(lambda: http_answers(self.ns, "http://%s/" % PROV_IP), what="nginx on the provisioner")

    def on_provisioner(self, command):
        return self.server.ssh(command, check=False).stdout

    def tftp_file(self, rel):
        """A file of the provisioner's TFTP root, None when it is not there."""
        proc = self.server.ssh("cat %s/%s" % (TFTP_ROOT, rel), check=False)
        return proc.stdout if proc.returncode == 0 else None

    # ------------------------------------------------------------------ helpers
    def install(self, machine, system, generation, power_on=True, timeout=180):
        vm = self.machines[machine]
        if power_on:
            vm.power_on()
        vm.wait("%s callback-ok" % L.MARK, timeout=timeout)
        took = time.monotonic() - vm.started
        console = vm.console()
        wait_for(lambda: not vm.is_on(), timeout=30, what="%s to power off" % machine)
        return took, console

    def completed(self):
        return json.loads(self.on_provisioner("cat %s/completed.json 2>/dev/null" % STATE_DIR) or "{}")

    def close(self):
        for bmc in self.bmcs.values():
            bmc.close()
        if getattr(self, "ipmi", None):
            self.ipmi.close()
        self.stack.close()  # the provisioner, by its nspawn PID
        if self.lab:
            self.lab.close()


class IpmiStandIn(object):
    """The stand-in IPMI BMC (support/ipmi_bmc.py, a process of its own) and the thread that turns
    its power requests into QEMU power-ons and power-offs."""

    def __init__(self, lab, machine, run_dir, password):
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.machine = machine
        self.control = os.path.join(run_dir, "ipmi-%s.control" % machine.name)
        self.requests = []
        with open(self.control, "w", encoding="ascii"):
            pass
        here = os.path.dirname(os.path.abspath(__file__))
        self.proc = lab.start(
            None,
            [sys.executable, os.path.join(here, "ipmi_bmc.py"), self.port, "admin", password, self.control],
            os.path.join(run_dir, "ipmi-%s.log" % machine.name),
        )
        self.lab = lab
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._follow, daemon=True)
        self.thread.start()

    def _follow(self):
        seen = 0
        while not self.stop.is_set():
            lines = read_log(self.control).splitlines()
            for line in lines[seen:]:
                _stamp, what, boot = [*line.split(), "", "", ""][:3]
                self.requests.append((what, boot))
                if what in ("off", "cycle"):
                    self.machine.power_off()
                if what in ("on", "cycle"):
                    self.machine.power_on()
            seen = len(lines)
            self.stop.wait(0.2)

    def close(self):
        self.stop.set()
        self.lab.stop(self.proc)


class _Timer(object):
    def __init__(self, story, title):
        self.story, self.title = story, title

    def __enter__(self):
        self.start = time.monotonic()
        return self

    def __exit__(self, kind, value, trace):
        took = time.monotonic() - self.start
        self.story.timings.append((self.title, took, "ok" if kind is None else "FAILED"))
        self.story.say("   %s in %.1f s" % ("done" if kind is None else "FAILED", took))
        return False


def run_story(story, checks):
    """The whole story. ``checks`` receives (name, condition, detail) for every claim."""
    story.setup()
    with story.step("1. Configure the provisioner from the records (site)"):
        proc, _took = story.playbook("site")
        checks(
            "site configured the provisioner",
            playbook_recap(proc.stdout)["prov-lab"]["changed"] > 0,
            proc.stdout[-2000:],
        )
        story.start_daemons()
    with story.step("2. web01 (BIOS, MAC A) powers on and installs itself"):
        took, console = story.install("machine-a", "web01", 1)
        checks("web01 got its reserved IP", "lease 192.0.2.50/24" in console, console[-1500:])
        checks("web01 fetched its own kickstart", "kickstart # web01 generation 1" in console, console[-1500:])
        checks("web01's install called back", story.completed().get("web01") == 1, story.completed())
        story.bios_install = took
    with story.step("3. web01 powers on again: it boots from its disk, no second install"):
        vm = story.machines["machine-a"]
        vm.power_on()
        vm.wait(L.DISK_MARK, timeout=120)
        checks("no second install", L.MARK + " start" not in vm.console(), vm.console()[-1500:])
        vm.power_off()
    with story.step("4. site again: nothing changes, nothing is re-armed"):
        proc, _took = story.playbook("site")
        checks(
            "site re-run changed nothing", playbook_recap(proc.stdout)["prov-lab"]["changed"] == 0, proc.stdout[-3000:]
        )
        pxe = story.tftp_file("pxelinux.cfg/01-" + MAC_A.replace(":", "-")) or ""
        checks("web01 stays on local boot", "LOCALBOOT" in pxe, pxe)
    with story.step("5. MAC A fails: replace -e system=web01 -e from_pool=spares-dmz -e wait=true"):
        start = time.monotonic()
        proc, took = story.playbook(
            "replace",
            "-e",
            "system=web01",
            "-e",
            "from_pool=spares-dmz",
            "-e",
            "wait=true",
            "-e",
            "wait_delay=1",
            "-e",
            "git_commit=true",
        )
        story.replace_total = took
        match = re.search(r"called back ([0-9.]+) s after the replace started", proc.stdout)
        story.replace_to_callback = float(match.group(1)) if match else None
        checks("the replace waited for the callback", match is not None, proc.stdout[-3000:])
        check_stages(checks, story, "replace web01 (BIOS, Redfish)", proc, "web01")
        vm_b = story.machines["machine-b"]
        console = vm_b.console()
        checks(
            "the spare's BMC was told to boot from the network once and power-cycle",
            [c[0] for c in story.bmcs["machine-b"].calls] == ["PATCH", "POST"],
            story.bmcs["machine-b"].calls,
        )
        checks("MAC B got web01's IP", "lease 192.0.2.50/24" in console, console[-1500:])
        checks("MAC B installed as web01, generation 2", "kickstart # web01 generation 2" in console, console[-1500:])
        checks("completion recorded", story.completed().get("web01") == 2, story.completed())
        log = subprocess.run(
            ["git", "-C", story.paths["records"], "log", "-1", "--format=%s"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        checks(
            "the record change is committed",
            log == "replace web01: %s -> %s (spare QEMU-B from pool spares-dmz)" % (MAC_A, MAC_B),
            log,
        )
        wait_for(lambda: not vm_b.is_on(), timeout=30, what="machine B to power off")
        story.replace_wall = time.monotonic() - start
    with story.step("6. MAC A no longer gets a reservation or a boot config"):
        lease = udhcpc(story.lab.client(story.ns, "br0", MAC_A))
        checks("MAC A gets no lease", lease == {}, lease)
        for rel in ("pxelinux.cfg/01-" + MAC_A.replace(":", "-"), "grub/grub.cfg-01-" + MAC_A, "ipxe/%s.ipxe" % MAC_A):
            checks("MAC A has no %s" % rel, story.tftp_file(rel) is None, rel)
    with story.step("7. uefi01 (UEFI, OVMF's own PXE client, GRUB) installs itself"):
        took, console = story.install("machine-u", "uefi01", 1, timeout=240)
        checks("uefi01 got its reserved IP", "lease 192.0.2.60/24" in console, console[-1500:])
        checks("uefi01 fetched its own kickstart", "kickstart # uefi01 generation 1" in console, console[-1500:])
        checks("uefi01's install called back", story.completed().get("uefi01") == 1, story.completed())
        story.uefi_install = took
    with story.step("8. uefi01's box fails: replace -e system=uefi01 -e from_pool=spares-dmz (UEFI spare, IPMI BMC)"):
        proc, took = story.playbook(
            "replace", "-e", "system=uefi01", "-e", "from_pool=spares-dmz", "-e", "wait=true", "-e", "wait_delay=1"
        )
        vm_v = story.machines["machine-v"]
        console = vm_v.console()
        checks(
            "the spare's IPMI BMC got a one-time network boot, then a power cycle",
            story.ipmi.requests[:2] == [("bootdev", "network"), ("cycle", "network")],
            story.ipmi.requests,
        )
        checks("the UEFI spare got uefi01's IP", "lease 192.0.2.60/24" in console, console[-1500:])
        checks(
            "the UEFI spare installed as uefi01, generation 2",
            "kickstart # uefi01 generation 2" in console,
            console[-1500:],
        )
        match = re.search(r"called back ([0-9.]+) s after the replace started", proc.stdout)
        story.uefi_replace_to_callback = float(match.group(1)) if match else None
        checks("the replace waited for the callback", match is not None, proc.stdout[-3000:])
        check_stages(checks, story, "replace uefi01 (UEFI, IPMI)", proc, "uefi01")
        wait_for(lambda: not vm_v.is_on(), timeout=30, what="the UEFI spare to power off")
    with story.step("9. Re-install web01 on request: provision -e system=web01 -e reinstall=true (Redfish)"):
        proc, took = story.playbook(
            "provision", "-e", "system=web01", "-e", "reinstall=true", "-e", "wait=true", "-e", "wait_delay=1"
        )
        vm_b = story.machines["machine-b"]
        console = vm_b.console()
        checks("web01 re-installed, generation 3", "kickstart # web01 generation 3" in console, console[-1500:])
        checks("completion recorded", story.completed().get("web01") == 3, story.completed())
        match = re.search(r"called back ([0-9.]+) s after the provision started", proc.stdout)
        story.reinstall_to_callback = float(match.group(1)) if match else None
        checks("the provision waited for the callback", match is not None, proc.stdout[-3000:])
        check_stages(checks, story, "reinstall web01 (BIOS, Redfish)", proc, "web01")
        wait_for(lambda: not vm_b.is_on(), timeout=30, what="web01 to power off")
    # new hardware arrives: discovery, enlist, replace from what was enlisted
    run_discovery_chapter(story, checks, first_step=10)
    return story
