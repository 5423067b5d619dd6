# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An IPv6-only netboot lab with hand-written daemon configs (a spike: no collection role runs).

The provisioner namespace ("prov") has the bridge br0 at 2001:db8:10::1/64 and runs radvd
(M=1, O=1, A=0, L=1), kea-dhcp6, tftpd-hpa and nginx on one tree (TFTP root = HTTP root). A
router namespace ("rtr", eth0 on br0 at 2001:db8:10::fe) carries the far segment br1
(2001:db8:20::1/64) with its own radvd and ISC's relay (``dhcrelay -6``). QEMU machines run OVMF
with PXE over IPv4 switched off (fw_cfg) and a fixed SMBIOS UUID (edk2's DUID-UUID); the
stand-in installer of support.lab boots with ``bm.ipv6=1`` and takes its lease with DHCPv6.

Paths (``python -m support.ipv6_lab PATH [WORKDIR]`` from tests/, as root):
  pxe      OVMF PXEv6 -> TFTP -> Debian's signed GRUB (grubnetx64) -> kernel/initrd over TFTP
  http     OVMF HTTPv6 -> iPXE snponly.efi -> iPXE DHCPv6 -> script, kernel, initrd over HTTP
  relay    like http, but on the far segment behind dhcrelay -6
  relay-pxe like pxe, on the far segment
  unknown  an unreserved MAC: a pool address, and a script that installs nothing
  sb       Secure Boot firmware, HTTPv6 -> shim -> GRUB (over HTTP)
  sb-pxe   Secure Boot firmware, PXEv6 -> shim -> GRUB -> signed kernel (over TFTP)
Each returns a dict: seconds from power-on to the callback (None if it never came), the
machine's serial console, the relevant daemon logs.
"""

import json
import os
import shutil
import signal
import sys
import tempfile
import time

from support import lab as L
from support.netns import Lab, read_log, sh, wait_for

PROV = "2001:db8:10::1"
RTR_NEAR = "2001:db8:10::fe"
RTR_FAR = "2001:db8:20::1"
NEAR_NET = "2001:db8:10::/64"
FAR_NET = "2001:db8:20::/64"
URL = "http://[%s]" % PROV

# name: (segment, mac, reserved address, firmware, uuid). The MACs are from the documentation
# range (RFC 7042) and universally administered on purpose: Kea's "ipv6-link-local" MAC source
# only accepts an EUI-64 link-local whose u bit is set, and QEMU's 52:54:00 (locally administered)
# gives fe80::5054:ff:fe.. with the bit clear, so Kea finds no MAC for the firmware (DUID-UUID).
MACHINES = {
    "pxe": ("near", "00:00:5e:00:53:01", "2001:db8:10::50", "pxe", "6e6f6465-0000-4000-8000-000000000001"),
    "http": ("near", "00:00:5e:00:53:02", "2001:db8:10::51", "http", "6e6f6465-0000-4000-8000-000000000002"),
    "relay": ("far", "00:00:5e:00:53:03", "2001:db8:20::52", "http", "6e6f6465-0000-4000-8000-000000000003"),
    "relay-pxe": ("far", "00:00:5e:00:53:04", "2001:db8:20::53", "pxe", "6e6f6465-0000-4000-8000-000000000004"),
    "unknown": ("near", "00:00:5e:00:53:ee", None, "http", "6e6f6465-0000-4000-8000-0000000000ee"),
    "sb": ("near", "00:00:5e:00:53:05", "2001:db8:10::55", "sb", "6e6f6465-0000-4000-8000-000000000005"),
    "sb-pxe": ("near", "00:00:5e:00:53:06", "2001:db8:10::56", "sb-pxe", "6e6f6465-0000-4000-8000-000000000006"),
}
# on the console: the path has failed (the firmware fell through to its shell, a panic, ...)
FAILURES = ("EFI Internal Shell", "Kernel panic", "No bootable device", "no-lease6", "kickstart-refused")
KERNEL_ARGS = "console=ttyS0 panic=-1 bm.ipv6=1"
OVMF_SB_CODE = "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
OVMF_SB_VARS = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"

RADVD = """interface %(ifname)s {
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 10;
    AdvManagedFlag on;
    AdvOtherConfigFlag on;
    prefix %(prefix)s {
        AdvOnLink on;
        AdvAutonomous off;
    };
};
"""


def kea_config(run_dir, mac_sources=("ipv6-link-local", "duid")):
    """The hand-written kea-dhcp6 config (a dict)."""
    classes = [
        # iPXE sends user class (15) "iPXE": a 2-byte length, then the text
        {
            "name": "ipxe",
            "test": "substring(option[15].hex,2,4) == 'iPXE'",
            "option-data": [{"name": "bootfile-url", "data": URL + "/ipxe/boot.ipxe", "always-send": True}],
        },
        # client arch (61) 0x0010: UEFI x64 HTTP boot; the offer must echo vendor class (16)
        # enterprise 343 "HTTPClient" or edk2 takes it as DHCP-only
        {
            "name": "efi-http",
            "test": "not member('ipxe') and option[61].hex == 0x0010",
            "option-data": [
                {"name": "bootfile-url", "data": URL + "/ipxe/snponly.efi", "always-send": True},
                {"name": "vendor-class", "data": "343, 000a48545450436c69656e74", "always-send": True},
            ],
        },
        # client arch 0x0007: UEFI x64 PXE; no vendor class (PXEClient would mean BINL, port 4011)
        {
            "name": "efi-pxe",
            "test": "not member('ipxe') and option[61].hex == 0x0007",
            "option-data": [
                {"name": "bootfile-url", "data": "tftp://[%s]/grub/grubx64.efi" % PROV, "always-send": True}
            ],
        },
    ]
    near = [m for m in MACHINES.values() if m[0] == "near" and m[2]]
    far = [m for m in MACHINES.values() if m[0] == "far" and m[2]]
    # Secure Boot: shim over HTTP (a reservation-level override of the efi-http class's file)
    sb_url = [{"name": "bootfile-url", "data": URL + "/sb/shimx64.efi", "always-send": True}]
    sb_tftp = [{"name": "bootfile-url", "data": "tftp://[%s]/sb/shimx64.efi" % PROV, "always-send": True}]

    def reservation(m):
        res = {"hw-address": m[1], "ip-addresses": [m[2]]}
        if m[3] == "sb":
            res["option-data"] = sb_url
        if m[3] == "sb-pxe":
            res["option-data"] = sb_tftp
        return res

    return {
        "Dhcp6": {
            "interfaces-config": {
                # "br0/ADDR": also the unicast socket on the global address, where a relay
                # sends its Relay-forward (plain "br0" listens on link-local + ff02::1:2 only)
                "interfaces": ["br0/%s" % PROV],
                "service-sockets-max-retries": 600,
                "service-sockets-retry-wait-time": 100,
            },
            "server-id": {"type": "LLT", "persist": False},
            "lease-database": {
                "type": "memfile",
                "name": os.path.join(run_dir, "kea-leases6.csv"),
                "lfc-interval": 0,
            },
            # edk2 (DUID-UUID, SMBIOS byte order), iPXE (DUID-UUID, RFC 4122 order) and the
            # installer (dhclient: DUID-LLT) are three clients to Kea. With "ipv6-link-local" all
            # three match the hw-address reservation; iPXE never releases, so the installer then
            # gets a pool address. mac-sources ["duid"] alone (BM6_MAC_SOURCES=duid) leaves the
            # firmware and iPXE in the pool and gives the installer (DUID with the MAC) the address.
            "host-reservation-identifiers": ["hw-address", "duid"],
            "mac-sources": list(mac_sources),
            "preferred-lifetime": 3000,
            "valid-lifetime": 4000,
            "renew-timer": 1000,
            "rebind-timer": 2000,
            "client-classes": classes,
            "subnet6": [
                {
                    "id": 1,
                    "subnet": NEAR_NET,
                    "interface": "br0",
                    "pools": [{"pool": "2001:db8:10::1000-2001:db8:10::1fff"}],
                    "reservations": [reservation(m) for m in near],
                },
                {
                    # no interface: picked by the relay's link address (dhcrelay -6 sets it to
                    # the first global address of its lower interface, 2001:db8:20::1)
                    "id": 2,
                    "subnet": FAR_NET,
                    "pools": [{"pool": "2001:db8:20::1000-2001:db8:20::1fff"}],
                    "reservations": [reservation(m) for m in far],
                },
            ],
            "loggers": [
                {
                    "name": "kea-dhcp6",
                    "output_options": [{"output": "stdout"}],
                    "severity": "DEBUG",
                    "debuglevel": 55,  # 55: each packet's options in the log
                }
            ],
        }
    }


def nginx_config(run_dir, root):
    return (
        "daemon off;\nuser root;\npid %(run)s/nginx.pid;\nerror_log %(run)s/nginx-error.log info;\n"
        "events { worker_connections 64; }\n"
        "http {\n  access_log %(run)s/access.log;\n  client_body_temp_path %(run)s/body;\n"
        "  proxy_temp_path %(run)s/proxy;\n  fastcgi_temp_path %(run)s/fcgi;\n  uwsgi_temp_path %(run)s/uwsgi;\n"
        "  scgi_temp_path %(run)s/scgi;\n  default_type application/octet-stream;\n"
        "  server {\n    listen [::]:80 ipv6only=on;\n    root %(root)s;\n"
        '    location /bm/callback/ { default_type text/plain; return 200 "{\\"ok\\": true}\\n"; }\n'
        "  }\n}\n" % {"run": run_dir, "root": root}
    )


def grub_cfg_for(name):
    return (
        'echo "bm: grub per-MAC config for %(name)s"\n'
        "linux /images/vmlinuz %(args)s inst.ks=%(url)s/ks/%(name)s.cfg\n"
        "initrd /images/initrd.img\n"
        "boot\n" % {"name": name, "args": KERNEL_ARGS, "url": URL}
    )


def ipxe_for(name):
    return (
        "#!ipxe\n"
        "echo bm: ipxe script for %(name)s on ${net0/ip6} ${net0.ndp.0/ip6}\n"
        "kernel %(url)s/images/vmlinuz initrd=initrd.img %(args)s inst.ks=%(url)s/ks/%(name)s.cfg\n"
        "initrd %(url)s/images/initrd.img\n"
        "boot\n" % {"name": name, "args": KERNEL_ARGS, "url": URL}
    )


SNIFF = r"""
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x86dd))
s.bind((sys.argv[1], 0))
t0 = time.monotonic()
names = {6: "tcp", 17: "udp", 58: "icmp6"}
while True:
    f = s.recv(65535)
    ip = f[14:]
    nh, src, dst = ip[6], socket.inet_ntop(socket.AF_INET6, ip[8:24]), socket.inet_ntop(socket.AF_INET6, ip[24:40])
    p = ip[40:]
    if nh in (6, 17):
        extra = "%d>%d" % struct.unpack("!HH", p[:4])
        if nh == 6:
            extra += " flags=%02x" % p[13]
        else:
            extra += " len=%d" % (len(p) - 8)
    elif nh == 58:
        extra = "type=%d" % p[0]
    else:
        extra = ""
    print("%8.3f %s %s > %s %s" % (time.monotonic() - t0, names.get(nh, nh), src, dst, extra), flush=True)
"""


class V6Machine(L.Machine):
    """lab.Machine with OVMF set for IPv6: PXE over IPv4 off; for HTTP boot PXE off altogether."""

    def __init__(self, lab, ns, bridge, name, mac, workdir, firmware, uuid, boot_wait_ms=3000):
        super().__init__(lab, ns, bridge, name, mac, workdir, uefi=True)
        self.firmware, self.uuid, self.boot_wait_ms = firmware, uuid, boot_wait_ms
        if firmware in ("sb", "sb-pxe"):
            shutil.copy(OVMF_SB_VARS, self.vars)

    def command(self):
        cmd = super().command()
        cmd += ["-uuid", self.uuid, "-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n"]
        if self.firmware in ("http", "sb"):
            cmd += [
                "-fw_cfg",
                "name=opt/org.tianocore/IPv6PXESupport,string=n",
                "-fw_cfg",
                "name=opt/org.tianocore/IPv4Support,string=n",
            ]
            # HTTPv6 in this OVMF (edk2-stable202211) calls Dhcp6->Start once, with no retry while
            # the NIC's link-local address is still in DAD (PXEv6 retries): under a quick TCG boot
            # it fails at once ("Could not retrieve NBP file size", no packet on the wire). A boot
            # menu wait gives DAD its second first.
            cmd += ["-boot", "menu=on,splash-time=%d" % self.boot_wait_ms]
        if self.firmware in ("sb", "sb-pxe"):
            code = cmd.index("if=pflash,format=raw,readonly=on,file=" + L.OVMF_CODE)
            cmd[code] = "if=pflash,format=raw,readonly=on,file=" + OVMF_SB_CODE
            cmd[cmd.index("q35")] = "q35,smm=on"
            cmd += ["-global", "driver=cfi.pflash01,property=secure,value=on"]
        return cmd


def _addr(ns, cidr, dev):
    sh("ip", "-n", ns, "-6", "addr", "add", cidr, "dev", dev, "nodad")


def _no_dad(ns):
    # interfaces created later (bridges, veths, taps) skip duplicate address detection
    for key in ("all", "default"):
        sh("sysctl", "-q", "-w", "net.ipv6.conf.%s.accept_dad=0" % key, ns=ns)


class V6Lab(object):
    def __init__(self, workdir=None, mac_sources=("ipv6-link-local", "duid")):
        self.mac_sources = tuple(mac_sources)
        self.work = str(workdir or tempfile.mkdtemp(prefix="bm-ipv6-"))
        self.run = os.path.join(self.work, "run")
        self.tree = os.path.join(self.work, "tree")
        self.vm = os.path.join(self.work, "vm")
        for path in (self.run, self.tree, self.vm):
            os.makedirs(path, exist_ok=True)
        self.lab = None
        self.machines = {}
        self.procs = {}

    # ---------------------------------------------------------------- network
    def setup(self):
        self.vmlinuz, self.initrd = L.build()
        self.build_tree()
        self.lab = Lab("bm6")
        self.ns = self.lab.namespace("prov")
        _no_dad(self.ns)
        sh("ip", "-n", self.ns, "link", "add", "br0", "address", "02:00:00:00:60:01", "type", "bridge")
        _addr(self.ns, PROV + "/64", "br0")
        sh("ip", "-n", self.ns, "link", "set", "br0", "up")
        sh("sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1", ns=self.ns)
        # the router: eth0 on br0 (this also gives br0 carrier, so its link-local comes up)
        self.rtr = self.lab.namespace("rtr")
        _no_dad(self.rtr)
        sh(
            "ip",
            "link",
            "add",
            "v6rtr%d" % (os.getpid() % 10000),
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            self.rtr,
        )
        outer = "v6rtr%d" % (os.getpid() % 10000)
        sh("ip", "link", "set", outer, "netns", self.ns)
        sh("ip", "-n", self.ns, "link", "set", outer, "master", "br0")
        sh("ip", "-n", self.ns, "link", "set", outer, "up")
        sh("ip", "-n", self.rtr, "link", "set", "eth0", "up")
        _addr(self.rtr, RTR_NEAR + "/64", "eth0")
        sh("ip", "-n", self.rtr, "link", "add", "br1", "address", "02:00:00:00:60:02", "type", "bridge")
        _addr(self.rtr, RTR_FAR + "/64", "br1")
        sh("ip", "-n", self.rtr, "link", "set", "br1", "up")
        sh("sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1", ns=self.rtr)
        sh("ip", "-n", self.ns, "-6", "route", "add", FAR_NET, "via", RTR_NEAR)
        for name, (segment, mac, _ip, firmware, uuid) in MACHINES.items():
            ns, bridge = (self.rtr, "br1") if segment == "far" else (self.ns, "br0")
            self.machines[name] = V6Machine(self.lab, ns, bridge, name, mac, self.vm, firmware, uuid)

    def build_tree(self):
        t = self.tree
        for sub in ("grub", "images", "ipxe", "ks", "sb"):
            os.makedirs(os.path.join(t, sub), exist_ok=True)
        shutil.copy(self.vmlinuz, os.path.join(t, "images", "vmlinuz"))
        shutil.copy(self.initrd, os.path.join(t, "images", "initrd.img"))
        shutil.copy("/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed", os.path.join(t, "grub", "grubx64.efi"))
        shutil.copy("/usr/lib/ipxe/snponly.efi", os.path.join(t, "ipxe", "snponly.efi"))
        shutil.copy("/usr/lib/shim/shimx64.efi.signed", os.path.join(t, "sb", "shimx64.efi"))
        shutil.copy("/usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed", os.path.join(t, "sb", "grubx64.efi"))
        files = {
            "grub/grub.cfg": 'set timeout=0\necho "bm: grub.cfg mac=$net_default_mac prefix=$prefix root=$root"\n'
            "net_ls_addr\nconfigfile $prefix/grub.cfg-01-$net_default_mac\n",
            "ipxe/boot.ipxe": "#!ipxe\necho bm: ipxe boot.ipxe filename=${filename} ip6=${net0/ip6}\n"
            "chain %s/ipxe/${net0/mac:hexhyp}.ipxe || echo bm: no script for ${net0/mac}\n"
            "echo bm: nothing to install\nsleep 2\npoweroff\n" % URL,
        }
        for name, (_seg, mac, ip, _firmware, _uuid) in MACHINES.items():
            if not ip:
                continue
            files["grub/grub.cfg-01-%s" % mac] = grub_cfg_for(name)
            files["ipxe/%s.ipxe" % mac.replace(":", "-")] = ipxe_for(name)
            files["ks/%s.cfg" % name] = "#version=RHEL9\n# %s over IPv6\n%%post\ncurl -s %s/bm/callback/%s\n%%end\n" % (
                name,
                URL,
                name,
            )
        for rel, text in files.items():
            with open(os.path.join(t, rel), "w", encoding="ascii") as handle:
                handle.write(text)
        # Secure Boot: GRUB's prefix under shim over HTTP is the shim's own folder
        shutil.copy(os.path.join(t, "grub", "grub.cfg"), os.path.join(t, "sb", "grub.cfg"))
        for rel in list(files):
            if rel.startswith("grub/grub.cfg-01-"):
                shutil.copy(os.path.join(t, rel), os.path.join(t, "sb", os.path.basename(rel)))

    # ---------------------------------------------------------------- daemons
    def start(self):
        run = self.run
        for ns, ifname, prefix, tag in ((self.ns, "br0", NEAR_NET, "near"), (self.rtr, "br1", FAR_NET, "far")):
            conf = os.path.join(run, "radvd-%s.conf" % tag)
            with open(conf, "w", encoding="ascii") as handle:
                handle.write(RADVD % {"ifname": ifname, "prefix": prefix})
            self.procs["radvd-" + tag] = self.lab.start(
                ns,
                ["radvd", "-n", "-C", conf, "-p", os.path.join(run, "radvd-%s.pid" % tag), "-m", "stderr", "-d", "1"],
                os.path.join(run, "radvd-%s.log" % tag),
            )
        kea = os.path.join(run, "kea-dhcp6.conf")
        with open(kea, "w", encoding="utf-8") as handle:
            json.dump(kea_config(run, self.mac_sources), handle, indent=1)
        env = dict(os.environ, KEA_PIDFILE_DIR=run, KEA_LOCKFILE_DIR=run)
        sh("kea-dhcp6", "-t", kea, ns=self.ns, env=env)
        self.kea_log = os.path.join(run, "kea-dhcp6.log")
        self.procs["kea"] = self.lab.start(self.ns, ["kea-dhcp6", "-c", kea], self.kea_log, env=env)
        self.tftp_log = os.path.join(run, "tftpd.log")
        self.procs["tftp"] = self.lab.start(
            self.ns,
            ["in.tftpd", "-L", "-6", "-v", "-v", "-u", "root", "-a", "[::]:69", "-s", self.tree],
            self.tftp_log,
        )
        nginx = os.path.join(run, "nginx.conf")
        with open(nginx, "w", encoding="ascii") as handle:
            handle.write(nginx_config(run, self.tree))
        sh("nginx", "-t", "-c", nginx, ns=self.ns)
        self.procs["nginx"] = self.lab.start(self.ns, ["nginx", "-c", nginx], os.path.join(run, "nginx.log"))
        # ISC's relay: clients on br1 (lower), the provisioner through eth0 (upper)
        self.relay_log = os.path.join(run, "dhcrelay6.log")
        self.procs["relay"] = self.lab.start(
            self.rtr,
            ["dhcrelay", "-6", "-d", "-pf", os.path.join(run, "dhcrelay6.pid"), "-l", "br1", "-u", "%s%%eth0" % PROV],
            self.relay_log,
        )
        for ns, ifname in ((self.ns, "br0"), (self.rtr, "br1")):
            # a packet summary of the segment (no tcpdump here): for digging into a failed path
            self.procs["sniff-" + ifname] = self.lab.start(
                ns, [sys.executable, "-c", SNIFF, ifname], os.path.join(run, "sniff-%s.log" % ifname)
            )
        wait_for(lambda: "DHCP6_STARTED" in read_log(self.kea_log), timeout=30, what="kea-dhcp6")
        wait_for(
            lambda: sh("curl", "-s", "-m", "5", "-o", "/dev/null", URL + "/", ns=self.rtr, check=False).returncode == 0,
            what="nginx over IPv6 from the far segment",
        )
        wait_for(
            lambda: (
                sh(
                    "curl",
                    "-s",
                    "-m",
                    "5",
                    "-o",
                    "/dev/null",
                    "tftp://[%s]/grub/grub.cfg" % PROV,
                    ns=self.rtr,
                    check=False,
                ).returncode
                == 0
            ),
            what="tftpd over IPv6 from the far segment",
        )

    # ---------------------------------------------------------------- paths
    def boot(self, name, timeout=300):
        """Power a machine on and wait for its callback; a dict with seconds (None: failed)."""
        vm = self.machines[name]
        marks = {"access": len(read_log(os.path.join(self.run, "access.log")))}
        vm.power_on()
        seconds, error = None, None
        done_marker = "%s callback-ok" % L.MARK
        if name == "unknown":
            done_marker = "bm: nothing to install"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = vm.console()
            if done_marker in text:
                seconds = time.monotonic() - vm.started
                break
            failed = [f for f in FAILURES if f in text]
            if failed or not vm.is_on():
                error = "failed: %s" % (failed or "powered off")
                break
            time.sleep(0.2)
        else:
            error = "no %r within %d s" % (done_marker, timeout)
        vm.power_off()
        access = read_log(os.path.join(self.run, "access.log"))[marks["access"] :]
        return {
            "name": name,
            "seconds": seconds,
            "error": error,
            "console": vm.console(),
            "callbacks": [line for line in access.splitlines() if "/bm/callback/" in line],
            "access": access,
        }

    def leases(self):
        return read_log(os.path.join(self.run, "kea-leases6.csv"))

    def close(self):
        if self.lab:
            self.lab.close()


def run_path(name, workdir=None, timeout=300, mac_sources=("ipv6-link-local", "duid")):
    """Set the lab up, run one path, tear the lab down; the result dict of V6Lab.boot."""
    v6 = V6Lab(workdir, mac_sources)
    try:
        v6.setup()
        v6.start()
        result = v6.boot(name, timeout=timeout)
        result["leases"] = v6.leases()
        result["workdir"] = v6.work
        return result
    finally:
        v6.close()


def _terminate(signum, frame):
    raise SystemExit("terminated by signal %d" % signum)  # so the lab is closed (finally)


def main(argv):
    signal.signal(signal.SIGTERM, _terminate)
    if not argv or argv[0] not in MACHINES:
        raise SystemExit(
            "usage: [BM6_MAC_SOURCES=duid,...] python -m support.ipv6_lab {%s} [WORKDIR]" % "|".join(MACHINES)
        )
    started = time.monotonic()
    sources = os.environ.get("BM6_MAC_SOURCES", "ipv6-link-local,duid").split(",")
    result = run_path(argv[0], argv[1] if len(argv) > 1 else None, mac_sources=sources)
    print("=== console (last 60 lines)")
    print("\n".join(result["console"].splitlines()[-60:]))
    print("=== leases (address, duid, iaid, hwaddr, hwaddr_source: 2 duid, 4 ipv6-link-local)")
    for line in result["leases"].splitlines()[1:]:
        f = line.split(",")
        print("%s %s iaid=%s valid=%s hw=%s src=%s" % (f[0], f[1], f[7], f[2], f[12], f[16]))
    print("=== callbacks\n" + "\n".join(result["callbacks"]))
    print(
        "=== %s: %s in %s s (run %.0f s), workdir %s"
        % (
            result["name"],
            "OK" if result["seconds"] and (result["callbacks"] or argv[0] == "unknown") else "FAILED",
            "%.1f" % result["seconds"] if result["seconds"] else "-",
            time.monotonic() - started,
            result["workdir"],
        )
    )
    if result["error"]:
        print("error:", result["error"])
    return 0 if result["seconds"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
