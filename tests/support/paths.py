# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot-path lab (make e2e, tests/e2e/test_boot_paths.py): a relay, UEFI HTTP boot, Secure Boot.

Two lab networks. The provisioner (prov-paths) sits on ``near`` (192.0.2.0/24, its bridge br0 at
192.0.2.1) and serves it directly; a router namespace, plugged into br0 at 192.0.2.254, carries
``far`` (198.51.100.0/24, its bridge br1 at 198.51.100.1) and runs ISC's DHCP relay (dhcrelay)
between them. The provisioner serves far only through that relay: far's segment record says
``relay: 198.51.100.1`` and ``next_server: 192.0.2.1``, and TFTP, HTTP and the callback are routed.

The roles render everything (``site``, service manager "none"); this harness starts the daemons
on the rendered files, as systemd would: ISC dhcpd or Kea, tftpd-hpa, nginx and the callback
service in the provisioner's namespace, dhcrelay in the router's. QEMU machines: SeaBIOS+iPXE
(BIOS), OVMF with its own PXE client (UEFI PXE), OVMF with its own HTTP boot client and PXE
switched off through fw_cfg (UEFI HTTP boot), OVMF with Microsoft's keys enrolled and Secure Boot
enforced (shim -> Debian's signed GRUB -> Debian's signed kernel).
"""

import json
import os
import sys
import time

from support import lab as L
from support.ansible_cli import ansible_env, run
from support.inventory import local_provisioner_vars, tree_vars
from support.netns import Lab, http_answers, read_log, sh, wait_for
from support.services import start_boot_services
from support.store import KICKSTART, write_store

PROVISIONER = "192.0.2.1"
ROUTER_NEAR = "192.0.2.254"
ROUTER_FAR = "198.51.100.1"
NEAR_RANGE = ("192.0.2.100", "192.0.2.120")
FAR_RANGE = ("198.51.100.100", "198.51.100.120")

# system: (segment, MAC, IP, firmware, profile)
SYSTEMS = {
    "far01": ("far", "52:54:00:16:00:01", "198.51.100.50", "bios", "standin-bios"),
    "near01": ("near", "52:54:00:16:00:02", "192.0.2.50", "bios", "standin-bios"),
    "far02": ("far", "52:54:00:16:00:03", "198.51.100.51", "bios", "standin-bios"),
    "near02": ("near", "52:54:00:16:00:04", "192.0.2.51", "bios", "standin-bios"),
    "uefi01": ("near", "52:54:00:16:00:05", "192.0.2.60", "uefi", "standin-uefi"),
    "http01": ("near", "52:54:00:16:00:06", "192.0.2.70", "uefi-http", "standin-uefi"),
    "http02": ("near", "52:54:00:16:00:0a", "192.0.2.71", "uefi-http", "standin-uefi"),
    "sb01": ("near", "52:54:00:16:00:07", "192.0.2.80", "secure-boot", "standin-sb"),
    # Secure Boot firmware, but a profile without secure_boot: it is handed GRUB without shim
    "sb02": ("near", "52:54:00:16:00:08", "192.0.2.81", "secure-boot", "standin-uefi"),
    # Secure Boot again, with Kea answering (its reservation's boot-file-name is the shim)
    "sb03": ("near", "52:54:00:16:00:0b", "192.0.2.82", "secure-boot", "standin-sb"),
}
UNKNOWN_FAR = "52:54:00:16:00:f1"
# Secure Boot firmware handed an unsigned loader (iPXE's, no signature at all) by a host block of
# the lab's own (dhcp_extra, ISC phase): no record, so the collection never serves it this file
UNSIGNED = ("unsigned", "52:54:00:16:00:09", "192.0.2.90", "ipxe/snponly.efi")

SB_ENABLED = "Secure boot enabled"
SB_DENIED = "Access Denied"

# path: (what, seconds or None, "passed" | "FAILED" | "not run", detail) for the e2e summary
RESULTS = {}


def record(path, result, seconds, detail=""):
    RESULTS[path] = (seconds, result, detail)


def summary_lines():
    lines = []
    for path in ("relay", "UEFI HTTP boot", "Secure Boot", "Secure Boot under Kea"):
        seconds, result, detail = RESULTS.get(path, (None, "not run", ""))
        shown = "%6.1f s" % seconds if seconds is not None else "      -"
        lines.append("%-21s %s  %-7s %s" % (path, shown, result, detail))
    return lines


class PathMachine(L.Machine):
    """lab.Machine with the firmware of a boot path: bios, uefi (PXE), uefi-http, secure-boot."""

    def __init__(self, lab, ns, bridge, name, mac, workdir, firmware):
        secure = firmware == "secure-boot"
        super().__init__(lab, ns, bridge, name, mac, workdir, uefi=firmware != "bios", secure_boot=secure)
        self.firmware = firmware

    def command(self):
        cmd = super().command()
        if self.firmware == "uefi-http":
            # OVMF's own HTTP boot: PXE and IPv6 off, so the NIC's only boot option is HTTPv4
            cmd += [
                "-fw_cfg",
                "name=opt/org.tianocore/IPv4PXESupport,string=no",
                "-fw_cfg",
                "name=opt/org.tianocore/IPv6Support,string=no",
            ]
        if self.firmware == "secure-boot":
            cmd += ["-fw_cfg", "name=opt/org.tianocore/IPv6Support,string=no"]
        return cmd


class PathsLab(object):
    def __init__(self, workdir):
        self.work = str(workdir)
        self.lab = None
        self.machines = {}
        self.dhcp = None
        self.server = None
        folders = ("records", "inventory", "tftp", "www", "nginx", "state", "cb", "run", "vm")
        self.paths = {k: os.path.join(self.work, k) for k in folders}
        for key, path in self.paths.items():
            if key != "records":
                os.makedirs(path, exist_ok=True)

    # ------------------------------------------------------------------ set-up
    def setup(self):
        self.vmlinuz, self.initrd = L.build()
        self.lab = Lab("bmp")
        self.ns = self.lab.namespace("prov")
        self.lab.bridge(self.ns, "br0", PROVISIONER + "/24")
        # the router: eth0 on the near bridge, br1 the far segment's bridge
        self.router = self.lab.client(self.ns, "br0", "02:00:00:00:16:fe", name="rtr")
        sh("ip", "-n", self.router, "addr", "add", ROUTER_NEAR + "/24", "dev", "eth0")
        self.lab.bridge(self.router, "br1", ROUTER_FAR + "/24")
        sh("sysctl", "-q", "-w", "net.ipv4.ip_forward=1", ns=self.router)
        sh("ip", "-n", self.ns, "route", "add", "198.51.100.0/24", "via", ROUTER_NEAR)
        for name, (segment, mac, _ip, firmware, _profile) in SYSTEMS.items():
            ns, bridge = (self.router, "br1") if segment == "far" else (self.ns, "br0")
            self.machines[name] = PathMachine(self.lab, ns, bridge, name, mac, self.paths["vm"], firmware)
        self.machines[UNSIGNED[0]] = PathMachine(
            self.lab, self.ns, "br0", UNSIGNED[0], UNSIGNED[1], self.paths["vm"], "secure-boot"
        )
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(L.__file__)))
        for ns, bridge in ((self.ns, "br0"), (self.router, "br1")):
            self.lab.start(
                ns,
                [sys.executable, L.__file__, "ra", bridge],
                os.path.join(self.paths["run"], "ra-%s.log" % bridge),
                env=env,
            )
        self.write_records()
        self.write_inventory()

    def write_records(self):
        kopts = "kernel_options: {console: ttyS0, panic: '-1', quiet: null}\n"
        files = {
            "segments/near.yml": "network: 192.0.2.0/24\ngateway: %s\ndns: [%s]\ndomain: near.example.test\n"
            "provisioner: prov-paths\nnext_server: %s\ndynamic_range: [%s, %s]\n"
            % (PROVISIONER, PROVISIONER, PROVISIONER, *NEAR_RANGE),
            # the one record change that puts a segment behind a relay: relay + next_server
            "segments/far.yml": "network: 198.51.100.0/24\ngateway: %s\ndns: [%s]\ndomain: far.example.test\n"
            "provisioner: prov-paths\nnext_server: %s\nrelay: %s\ndynamic_range: [%s, %s]\n"
            % (ROUTER_FAR, PROVISIONER, PROVISIONER, ROUTER_FAR, *FAR_RANGE),
            "distros/standin.yml": "family: redhat\narch: x86_64\nkernel: %s\ninitrd: %s\ninstall_tree: http://%s/repo/standin\n"
            % (self.vmlinuz, self.initrd, PROVISIONER),
            "profiles/standin-bios.yml": "distro: standin\ntemplate: standin.ks.j2\nboot_loader: pxelinux\n" + kopts,
            "profiles/standin-uefi.yml": "distro: standin\ntemplate: standin.ks.j2\n" + kopts,
            # not quiet: the kernel's "Secure boot enabled" line reaches the serial console
            "profiles/standin-sb.yml": "distro: standin\ntemplate: standin.ks.j2\nsecure_boot: true\n"
            "kernel_options: {console: ttyS0, panic: '-1'}\n",
            "tiers/near.yml": "segment: near\nprofile: standin-uefi\n",
            "tiers/far.yml": "segment: far\nprofile: standin-bios\n",
            "templates/standin.ks.j2": KICKSTART,
        }
        for name, (segment, mac, ip, _firmware, profile) in SYSTEMS.items():
            files["systems/%s.yml" % name] = (
                'tier: %s\nprofile: %s\ninterfaces:\n  - {name: eth0, mac: "%s", ip: %s, primary: true}\n'
                % (segment, profile, mac, ip)
            )
        write_store(self.paths["records"], files=files)

    def write_inventory(self):
        inv = self.paths["inventory"]
        with open(os.path.join(inv, "lab.baremetal.yml"), "w", encoding="utf-8") as handle:
            handle.write("plugin: baremetal.provision.records\nrecords_dir: %s\n" % self.paths["records"])
        os.makedirs(os.path.join(inv, "host_vars"), exist_ok=True)
        host_vars = {
            **local_provisioner_vars(),
            "dhcp_interfaces": ["br0"],
            "dhcp_kea_lease_file": os.path.join(self.paths["run"], "kea-leases4.csv"),
            "dhcp_kea_control_socket": os.path.join(self.paths["run"], "kea4.sock"),
            **tree_vars(self.paths),
            # the lab namespace's address: the controller's own (its facts) are not in the namespace
            "kickstart_listen_addresses": [PROVISIONER],
            "kickstart_secrets": {"root_password_hash": "$6$labsalt$" + "x" * 86},
        }
        with open(os.path.join(inv, "host_vars", "prov-paths.yml"), "w", encoding="utf-8") as handle:
            json.dump(host_vars, handle, indent=1)

    def dhcp_config(self, server):
        return os.path.join(self.paths["run"], "kea-dhcp4.conf" if server == "kea" else "dhcpd.conf")

    def site(self, server):
        """Run the site playbook with the given DHCP server; returns the seconds it took."""
        env = ansible_env({"ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore"}, tmp=self.work)
        check = ["ip", "netns", "exec", self.ns] + (
            ["kea-dhcp4", "-t"] if server == "kea" else ["dhcpd", "-t", "-q", "-cf"]
        )
        unsigned = (
            'host lab-unsigned {\n  hardware ethernet %s;\n  fixed-address %s;\n  filename "%s";\n}\n' % UNSIGNED[1:]
        )
        extra = json.dumps(
            {
                "dhcp_server": server,
                "dhcp_config": self.dhcp_config(server),
                "dhcp_check_command": check,
                "dhcp_extra": unsigned if server == "isc" else "",
            }
        )
        start = time.monotonic()
        proc = run(
            "ansible-playbook",
            ["-i", self.paths["inventory"], "baremetal.provision.site", "-e", extra],
            env=env,
            timeout=900,
        )
        if proc.returncode != 0:
            raise AssertionError("site failed:\n%s\n%s" % (proc.stdout[-6000:], proc.stderr[-3000:]))
        return time.monotonic() - start

    # ------------------------------------------------------------------ daemons
    def start_services(self):
        """tftpd, nginx, the callback service and the relay (they do not depend on the DHCP server)."""
        run_dir = self.paths["run"]
        start_boot_services(self.lab, self.ns, self.paths, run_dir, PROVISIONER)
        # ISC's relay: clients on br1 (downstream), the provisioner through eth0 (upstream)
        self.relay_log = os.path.join(run_dir, "dhcrelay.log")
        self.lab.start(
            self.router,
            [
                "dhcrelay",
                "-4",
                "-d",
                "-pf",
                os.path.join(run_dir, "dhcrelay.pid"),
                "-id",
                "br1",
                "-iu",
                "eth0",
                PROVISIONER,
            ],
            self.relay_log,
        )
        wait_for(
            lambda: http_answers(self.router, "http://%s/" % PROVISIONER),
            what="nginx, reached from the far segment through the router",
        )

    def start_dhcp(self, server):
        if self.dhcp is not None:
            self.lab.stop(self.dhcp)
        run_dir = self.paths["run"]
        log = os.path.join(run_dir, "%s.log" % server)
        if server == "kea":
            env = dict(os.environ, KEA_PIDFILE_DIR=run_dir, KEA_LOCKFILE_DIR=run_dir)
            self.dhcp = self.lab.start(self.ns, ["kea-dhcp4", "-c", self.dhcp_config(server)], log, env=env)
            wait_for(lambda: "DHCP4_STARTED" in read_log(log), what="kea-dhcp4")
        else:
            leases = os.path.join(run_dir, "dhcpd.leases")
            open(leases, "a", encoding="ascii").close()
            self.dhcp = self.lab.start(
                self.ns,
                [
                    "dhcpd",
                    "-4",
                    "-f",
                    "-d",
                    "-cf",
                    self.dhcp_config(server),
                    "-lf",
                    leases,
                    "-pf",
                    os.path.join(run_dir, "dhcpd.pid"),
                    "br0",
                ],
                log,
            )
            wait_for(
                lambda: "Sending on   Socket/fallback" in read_log(log) or "Server starting service" in read_log(log),
                what="dhcpd",
            )
        self.server = server
        return log

    # ------------------------------------------------------------------ machines
    def install(self, name, timeout=240):
        """Power the machine on, wait for its install's callback; (seconds, console)."""
        vm = self.machines[name]
        vm.power_on()
        vm.wait("%s callback-ok" % L.MARK, timeout=timeout)
        took = time.monotonic() - vm.started
        wait_for(lambda: not vm.is_on(), timeout=30, what="%s to power off" % name)
        return took, vm.console()

    def completed(self):
        return json.loads(read_log(os.path.join(self.paths["state"], "completed.json")) or "{}")

    def access_log(self):
        return read_log(os.path.join(self.paths["run"], "access.log"))

    def close(self):
        if self.lab:
            self.lab.close()


def tftp_get(ns, server, path):
    """Fetch one file over TFTP from inside a namespace; returns its text, or None if refused."""
    proc = sh("curl", "-s", "-f", "--max-time", "20", "tftp://%s/%s" % (server, path), ns=ns, check=False)
    return proc.stdout if proc.returncode == 0 else None
