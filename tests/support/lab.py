# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The embedded lab: a Debian kernel, a stand-in installer, QEMU machines with real firmware.

The stand-in installer is a busybox initramfs that does what an installer's network part does:
it takes a DHCP lease, fetches the install config named by ``inst.ks=`` on its kernel command
line, "installs" (writes a boot sector that announces the system on the serial console to the
virtual disk) and performs the config's callback, as a real kickstart's %post would, then powers
off. On the next power-on, a machine whose boot config says local boot runs that boot sector.

Everything is cached under .build/lab; the kernel package comes from Debian's archive with
``apt-get download`` (no kernel is installed on the machine).
"""

import glob
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import threading
import time

from support.netns import sh

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(REPO, ".build", "lab")
MODULES = (
    "virtio_ring",
    "virtio",
    "virtio_pci_modern_dev",
    "virtio_pci_legacy_dev",
    "virtio_pci",
    "failover",
    "net_failover",
    "virtio_net",
    "virtio_blk",
)
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
# OVMF with Microsoft's keys enrolled: Secure Boot enforced once the pflash is marked secure
OVMF_SB_CODE = "/usr/share/OVMF/OVMF_CODE_4M.ms.fd"
OVMF_SB_VARS = "/usr/share/OVMF/OVMF_VARS_4M.ms.fd"
MARK = "BM-STANDIN:"
DISK_MARK = "BM-DISK: booted from local disk"

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in %(modules)s; do insmod /lib/modules/$m.ko 2>/dev/null; done
say() { echo "%(mark)s $*" > /dev/ttyS0; }
say start
ip link set lo up
ks=$(sed -n 's/.*inst\.ks=\([^ ]*\).*/\1/p' /proc/cmdline)
# IPv6 when the install config's URL names an IPv6 host (another URL on the line, inst.repo's,
# may name one while the machine installs over IPv4), or when bm.ipv6=1 says so
case "$ks $(grep -o 'bm.ipv6=1' /proc/cmdline)" in
*'://['*|*bm.ipv6=1*)
  # IPv6: no DAD (the lab's addresses are unique), ISC dhclient -6 (busybox has no udhcpc6)
  echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad
  ip link set eth0 up
  i=0; while [ $i -lt 50 ] && ! ip -6 -o addr show dev eth0 scope link | grep -q fe80; do sleep 0.2; i=$((i+1)); done
  files="-cf /etc/dhclient6.conf -sf /dhclient6.sh -lf /tmp/dhclient6.leases -pf /tmp/dhclient6.pid"
  /sbin/dhclient -6 -1 -v $files eth0 > /dev/ttyS0 2>&1 || { say no-lease6; poweroff -f; }
  say lease6 $(ip -6 -o addr show eth0 scope global | awk '{print $4}')
  ;;
*)
ip link set eth0 up
udhcpc -i eth0 -q -f -n -t 20 -T 1 -s /udhcpc.sh > /dev/null 2>&1 || { say no-lease; poweroff -f; }
say lease $(ip -4 -o addr show eth0 | awk '{print $4}')
  ;;
esac
say fetch $ks
if wget -q -O /tmp/ks.cfg "$ks"; then
  say kickstart $(sed -n '2p' /tmp/ks.cfg)
  # install: a boot sector that announces the local disk boot on the serial port
  if [ -b /dev/vda ]; then dd if=/bootsector.bin of=/dev/vda bs=512 count=1 conv=fsync 2>/dev/null && say disk-written; fi
  cb=$(grep -o 'http://[^ ]*/bm/callback/[^ ]*' /tmp/ks.cfg | head -n 1)
  if wget -q -O /tmp/cb.json "$cb"; then say callback-ok; else say callback-failed; fi
else
  say kickstart-refused
fi
say done
sync
poweroff -f
"""

UDHCPC = r"""#!/bin/sh
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route add default via ${router%% *} dev "$interface"
    ;;
esac
exit 0
"""

# ISC dhclient -6 calls this with reason BOUND6 etc.; the IA_NA address is a /128, the prefix is
# on-link through the router advertisement's L flag (as NetworkManager does it)
DHCLIENT6 = r"""#!/bin/sh
case "$reason" in
  BOUND6|RENEW6|REBIND6|REBOOT6)
    [ -n "$new_ip6_address" ] && ip -6 addr replace "$new_ip6_address/${new_ip6_prefixlen:-128}" dev "$interface"
    ;;
esac
exit 0
"""
DHCLIENT6_CONF = "# the stand-in installer: dhclient's defaults (DUID-LLT, one IA_NA)\ntimeout 40;\n"
# ISC's DHCP client, dynamically linked against libc only: copied with its loader and libc
DHCLIENT = "/usr/sbin/dhclient"


def _run(*cmd, **kwargs):
    return subprocess.run([str(c) for c in cmd], check=True, capture_output=True, **kwargs)


def kernel_package():
    out = _run("apt-cache", "depends", "linux-image-amd64", text=True).stdout
    for line in out.splitlines():
        if "Depends:" in line and "linux-image-" in line:
            return line.split("Depends:")[1].strip()
    raise RuntimeError("no linux-image package found by apt-cache depends linux-image-amd64")


def boot_sector():
    """512 bytes of 16-bit code: print DISK_MARK on COM1, power off through ACPI, halt."""
    message = (DISK_MARK + "\r\n").encode("ascii") + b"\0"
    code = bytearray()
    code += b"\x31\xc0\x8e\xd8"  # xor ax,ax; mov ds,ax
    si_fixup = len(code) + 1
    code += b"\xbe\x00\x00"  # mov si, msg
    loop = len(code)
    code += b"\xac"  # lodsb
    code += b"\x08\xc0"  # or al,al
    code += b"\x74\x06"  # jz done (+6)
    code += b"\xba\xf8\x03"  # mov dx,0x3f8
    code += b"\xee"  # out dx,al
    code += b"\xeb" + struct.pack("b", loop - (len(code) + 2))  # jmp loop
    code += b"\xba\x04\x06\xb8\x00\x20\xef"  # mov dx,0x604; mov ax,0x2000; out dx,ax (ACPI S5)
    code += b"\xba\x04\xb0\xef"  # mov dx,0xb004; out dx,ax (older PIIX)
    code += b"\xfa\xf4\xeb\xfd"  # cli; hlt; jmp $-1
    msg_at = 0x7C00 + len(code)
    code[si_fixup : si_fixup + 2] = struct.pack("<H", msg_at)
    code += message
    assert len(code) <= 510
    return bytes(code) + b"\0" * (510 - len(code)) + b"\x55\xaa"


def shared_objects(binary):
    """The absolute paths of the shared objects ldd lists for binary (the loader included)."""
    found = []
    for line in _run("ldd", binary, text=True).stdout.splitlines():
        for word in line.split():
            if word.startswith("/") and os.path.exists(word):
                found.append(word)
    return found


def initrd_key():
    """A digest of everything the initramfs is built from, so a changed /init rebuilds it."""
    digest = hashlib.sha256()
    for part in (INIT, UDHCPC, DHCLIENT6, DHCLIENT6_CONF, " ".join(MODULES), MARK, DISK_MARK):
        digest.update(part.encode("utf-8") + b"\0")
    return digest.hexdigest()[:12]


def build(cache=CACHE):
    """Kernel and stand-in initramfs in cache; returns (vmlinuz, initrd). Cached across runs."""
    os.makedirs(cache, exist_ok=True)
    vmlinuz = os.path.join(cache, "vmlinuz")
    initrd = os.path.join(cache, "standin-initrd-%s.img" % initrd_key())
    if os.path.exists(vmlinuz) and os.path.exists(initrd):
        return vmlinuz, initrd
    pkg = kernel_package()
    work = os.path.join(cache, "work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    _run("apt-get", "download", pkg, cwd=work)
    deb = glob.glob(os.path.join(work, "*.deb"))[0]
    tree = os.path.join(work, "tree")
    os.makedirs(tree)
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
    _run(
        "tar",
        "-x",
        "-C",
        tree,
        "--wildcards",
        "./boot/vmlinuz-*",
        "*/virtio*",
        "*/failover.ko*",
        "*/net_failover.ko*",
        stdin=tar.stdout,
    )
    tar.wait()
    root = os.path.join(work, "initramfs")
    for sub in ("bin", "sbin", "etc", "dev", "proc", "sys", "tmp", "lib/modules"):
        os.makedirs(os.path.join(root, sub))
    shutil.copy("/bin/busybox", os.path.join(root, "bin", "busybox"))
    # the IPv6 client and the shared objects it loads (ldd: libc and the loader)
    shutil.copy(DHCLIENT, os.path.join(root, "sbin", "dhclient"))
    for lib in shared_objects(DHCLIENT):
        dest = os.path.join(root, lib.lstrip("/"))
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy(lib, dest)
    for name in MODULES:
        found = glob.glob(os.path.join(tree, "**", name + ".ko*"), recursive=True)
        if not found:
            continue  # built into this kernel
        src = found[0]
        dest = os.path.join(root, "lib", "modules", name + ".ko")
        if src.endswith(".xz"):
            with open(dest, "wb") as handle:
                subprocess.run(["xz", "-dc", src], stdout=handle, check=True)
        elif src.endswith(".zst"):
            with open(dest, "wb") as handle:
                subprocess.run(["zstd", "-dc", src], stdout=handle, check=True)
        else:
            shutil.copy(src, dest)
    with open(os.path.join(root, "init"), "w", encoding="ascii") as handle:
        handle.write(INIT % {"modules": " ".join(MODULES), "mark": MARK})
    with open(os.path.join(root, "udhcpc.sh"), "w", encoding="ascii") as handle:
        handle.write(UDHCPC)
    with open(os.path.join(root, "dhclient6.sh"), "w", encoding="ascii") as handle:
        handle.write(DHCLIENT6)
    with open(os.path.join(root, "etc", "dhclient6.conf"), "w", encoding="ascii") as handle:
        handle.write(DHCLIENT6_CONF)
    os.chmod(os.path.join(root, "dhclient6.sh"), 0o755)
    with open(os.path.join(root, "bootsector.bin"), "wb") as handle:
        handle.write(boot_sector())
    os.chmod(os.path.join(root, "init"), 0o755)
    os.chmod(os.path.join(root, "udhcpc.sh"), 0o755)
    files = subprocess.run("cd %s && find . | sort" % root, shell=True, check=True, capture_output=True).stdout
    with open(initrd + ".tmp", "wb") as out:
        cpio = subprocess.run(
            ["cpio", "-o", "-H", "newc", "--quiet"], input=files, cwd=root, capture_output=True, check=True
        )
        out.write(subprocess.run(["gzip", "-9"], input=cpio.stdout, capture_output=True, check=True).stdout)
    shutil.copy(glob.glob(os.path.join(tree, "boot", "vmlinuz-*"))[0], vmlinuz + ".tmp")
    os.replace(initrd + ".tmp", initrd)
    os.replace(vmlinuz + ".tmp", vmlinuz)
    shutil.rmtree(work, ignore_errors=True)
    return vmlinuz, initrd


class RouterAdvertiser(object):
    """Sends a bare IPv6 router advertisement (lifetime 0) every second on an interface, so that
    iPXE stops waiting about 16 s for an IPv6 router (LAB.md). Run it inside the lab namespace:
    ``ip netns exec NS python lab.py ra br0`` (the story starts it so)."""

    def __init__(self, ifname):
        self.ifname = ifname
        self.stop = threading.Event()

    def run(self):
        sock = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        index = socket.if_nametoindex(self.ifname)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, index)
        packet = struct.pack("!BBHBBHII", 134, 0, 0, 64, 0, 0, 0, 0)
        while not self.stop.is_set():
            try:
                sock.sendto(packet, ("ff02::1", 0, 0, index))
            except OSError:
                pass
            self.stop.wait(1.0)


class Machine(object):
    """A QEMU machine on a tap of the lab bridge, with SeaBIOS+iPXE or OVMF, and a disk."""

    def __init__(
        self,
        lab,
        ns,
        bridge,
        name,
        mac,
        workdir,
        uefi=False,
        memory_mib=512,
        disk_mib=8,
        smbios=None,
        secure_boot=False,
    ):
        self.lab, self.ns, self.bridge, self.name, self.mac, self.uefi = lab, ns, bridge, name, mac, uefi
        self.secure_boot = secure_boot  # UEFI with Microsoft's keys enrolled, Secure Boot enforced
        # SMBIOS type 1 (the DMI system: manufacturer, product, serial, uuid) as a server sets it
        self.smbios = dict(smbios or {})
        self.workdir, self.memory_mib = workdir, memory_mib
        self.tap = "t%s" % mac.replace(":", "")[-8:]
        self.disk = os.path.join(workdir, "%s.disk" % name)
        self.vars = os.path.join(workdir, "%s.vars.fd" % name)
        self.serial = os.path.join(workdir, "%s.serial.log" % name)
        self.proc = None
        with open(self.disk, "wb") as handle:
            handle.truncate(disk_mib * 1024 * 1024)  # sparse
        if uefi:
            shutil.copy(OVMF_SB_VARS if secure_boot else OVMF_VARS, self.vars)
        sh("ip", "tuntap", "add", self.tap, "mode", "tap", ns=ns)
        sh("ip", "link", "set", self.tap, "master", bridge, ns=ns)
        sh("ip", "link", "set", self.tap, "up", ns=ns)

    def command(self):
        cmd = [
            "qemu-system-x86_64",
            "-nographic",
            "-m",
            str(self.memory_mib),
            "-no-reboot",
            "-monitor",
            "none",
            "-display",
            "none",
            "-serial",
            "file:" + self.serial,
            "-netdev",
            "tap,id=n0,ifname=%s,script=no,downscript=no" % self.tap,
            "-drive",
            "file=%s,format=raw,if=virtio" % self.disk,
        ]
        if self.smbios:
            # QEMU's option syntax: a comma inside a value is written twice
            fields = ",".join("%s=%s" % (k, str(v).replace(",", ",,")) for k, v in sorted(self.smbios.items()))
            cmd += ["-smbios", "type=1," + fields]
        if self.uefi:
            cmd += [
                "-machine",
                "q35",
                "-drive",
                "if=pflash,format=raw,readonly=on,file=" + (OVMF_SB_CODE if self.secure_boot else OVMF_CODE),
                "-drive",
                "if=pflash,format=raw,file=" + self.vars,
                # no option ROM: OVMF's own PXE client, as on real UEFI hardware
                "-device",
                "virtio-net-pci,netdev=n0,mac=%s,romfile=,bootindex=1" % self.mac,
            ]
            if self.secure_boot:  # SMM and a secure pflash: the firmware's variables hold the keys
                cmd[cmd.index("q35")] = "q35,smm=on"
                cmd += ["-global", "driver=cfi.pflash01,property=secure,value=on"]
        else:
            cmd += ["-device", "virtio-net-pci,netdev=n0,mac=%s,bootindex=1" % self.mac, "-boot", "order=nc"]
        return cmd

    def power_on(self):
        if self.proc is not None and self.proc.poll() is None:
            return
        with open(self.serial, "w", encoding="ascii"):
            pass
        self.started = time.monotonic()
        self.proc = self.lab.start(self.ns, self.command(), os.path.join(self.workdir, "%s.qemu.log" % self.name))

    def power_off(self):
        if self.proc is not None:
            self.lab.stop(self.proc, timeout=5)
        self.proc = None

    def is_on(self):
        return self.proc is not None and self.proc.poll() is None

    def console(self):
        try:
            with open(self.serial, encoding="utf-8", errors="replace") as handle:
                return handle.read()
        except FileNotFoundError:
            return ""

    def wait(self, marker, timeout=120):
        """Wait for marker on the serial console (or the machine's power-off); returns seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.console()
            if marker in text:
                return time.monotonic() - self.started
            for fatal in ("Kernel panic", "No bootable device"):
                if fatal in text and fatal not in marker:
                    raise AssertionError("%s: %s\n%s" % (self.name, fatal, text[-3000:]))
            if self.proc is not None and self.proc.poll() is not None and marker not in self.console():
                raise AssertionError("%s powered off before %r:\n%s" % (self.name, marker, self.console()[-3000:]))
            time.sleep(0.2)
        raise AssertionError("%s: no %r within %d s:\n%s" % (self.name, marker, timeout, self.console()[-3000:]))


class V6Machine(Machine):
    """A UEFI machine set up to netboot over IPv6 (OVMF's fw_cfg knobs): PXE over IPv4 off
    ("pxe"); for HTTP boot ("http") PXE and IPv4 off altogether; "sb-pxe" is "pxe" with Secure
    Boot enforced. A fixed SMBIOS UUID: the firmware's and iPXE's DUID-UUID come from it."""

    def __init__(self, lab, ns, bridge, name, mac, workdir, firmware, uuid, boot_wait_ms=3000):
        super().__init__(lab, ns, bridge, name, mac, workdir, uefi=True, secure_boot=firmware == "sb-pxe")
        self.firmware, self.uuid, self.boot_wait_ms = firmware, uuid, boot_wait_ms

    def command(self):
        cmd = super().command()
        cmd += ["-uuid", self.uuid, "-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n"]
        if self.firmware == "http":
            cmd += [
                "-fw_cfg",
                "name=opt/org.tianocore/IPv6PXESupport,string=n",
                "-fw_cfg",
                "name=opt/org.tianocore/IPv4Support,string=n",
            ]
            # HTTPv6 in this OVMF (edk2-stable202211) starts DHCPv6 once, with no retry, while the
            # NIC's link-local address is still tentative (PXEv6 retries): under a quick TCG boot
            # it fails at once ("Could not retrieve NBP file size"). A boot menu wait gives the
            # address time to settle.
            cmd += ["-boot", "menu=on,splash-time=%d" % self.boot_wait_ms]
        return cmd


def add_address6(ns, cidr, dev):
    """An IPv6 address without duplicate address detection (the lab's addresses are unique, and a
    tentative address cannot be bound)."""
    sh("ip", "-n", ns, "-6", "addr", "add", cidr, "dev", dev, "nodad")


def no_dad(ns):
    """Interfaces made later in ns (bridges, veths, taps) skip duplicate address detection."""
    for key in ("all", "default"):
        sh("sysctl", "-q", "-w", "net.ipv6.conf.%s.accept_dad=0" % key, ns=ns)


def main(argv):
    """``python lab.py ra IFACE``: run the router advertiser (inside the lab namespace)."""
    if len(argv) == 2 and argv[0] == "ra":
        RouterAdvertiser(argv[1]).run()
        return 0
    if argv == ["build"]:
        print("\n".join(build()))
        return 0
    raise SystemExit("usage: lab.py ra IFACE | lab.py build")


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
