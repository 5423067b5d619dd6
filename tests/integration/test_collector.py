# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The discovery collector, built and booted for real.

build-collector makes the kernel and initramfs from Debian's packages (cached in
.build/collector). A lab namespace holds a discovery segment: ISC dhcpd with a dynamic range
(the unknown MAC gets a lease from it), nginx set up as the discovery role sets it up
(/discovery/ serves the image, /bm/discover goes to the spool service with X-Real-IP) and the
role's own spool service bm_discover.py. QEMU boots the collector directly (-kernel/-initrd, the
kernel line iPXE would give), with SMBIOS values that include hostile characters, a virtio NIC
and a virtio disk of a known size: once with SeaBIOS (and QEMU's simulated BMC), once with OVMF
(make soak only: the e2e story boots the collector under OVMF in make test).
The report the machine printed and the entry the spool stored must describe that machine, and
the machine must power itself off. A few minutes under TCG; one VM at a time.
"""

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from support.netns import Lab, have_root, http_answers, read_log, sh, wait_for
from support.services import start_dhcp

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import discovery

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = os.path.join(REPO, "roles", "discovery", "files")
BUILD = os.path.join(FILES, "build-collector")
OUT = os.path.join(REPO, ".build", "collector")
CACHE = os.path.join(OUT, "cache")
OVMF_CODE = "/usr/share/OVMF/OVMF_CODE_4M.fd"
OVMF_VARS = "/usr/share/OVMF/OVMF_VARS_4M.fd"
SERVER = "192.0.2.1"
MARK = "BM-COLLECTOR:"
MEMORY_MIB = 512
DISK_BYTES = 100 * 1024 * 1024 + 7 * 512  # not a round number: the size must be exact
BOOT_TIMEOUT = 420  # seconds to power-off under TCG, generous: a liveness bound, not a measure
RESULTS = {}

pytestmark = pytest.mark.skipif(
    not have_root() or any(shutil.which(t) is None for t in ("qemu-system-x86_64", "dhcpd", "nginx", "apt-get")),
    reason="needs root, QEMU, ISC dhcpd, nginx and apt",
)

# SMBIOS type 1 as QEMU sets it; the serial holds a quote, a backslash and a comma, the vendor
# blanks at its end (the collector trims them), the UUID upper case (reported lower case).
BIOS_SMBIOS = {
    "manufacturer": 'Acme "Iron" Works  ',
    "product": "Box <9> & 'x' é",
    "serial": 'S"1\\2,;$(id)',
    "uuid": "11223344-5566-7788-99AA-BBCCDDEEFF00",
}
UEFI_SMBIOS = {
    "manufacturer": "Example\\Corp",
    "product": 'R-2 "EFI"',
    "serial": "\\\"'\\",
    "uuid": "A1B2C3D4-0000-4000-8000-00000000CAFE",
}


def newc_files(initrd):
    """{name: bytes} of the regular files in a gzip newc cpio archive."""
    with open(initrd, "rb") as handle:
        data = gzip.decompress(handle.read())
    files, at = {}, 0
    while True:
        assert data[at : at + 6] == b"070701", "not a newc archive at byte %d" % at
        fields = [int(data[at + 6 + 8 * i : at + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name = data[at + 110 : at + 110 + namesize - 1].decode()
        at += 110 + namesize
        at += -at % 4
        if name == "TRAILER!!!":
            return files
        if mode & 0o170000 == 0o100000:
            files[name] = data[at : at + size]
        at += size
        at += -at % 4


def build(out):
    started = time.monotonic()
    proc = subprocess.run(
        [BUILD, "--out", out, "--cache", CACHE], capture_output=True, text=True, check=False, timeout=1200
    )
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(out, "collector.json"), encoding="utf-8") as handle:
        return json.load(handle), time.monotonic() - started


@pytest.fixture(scope="module")
def collector():
    meta, seconds = build(OUT)
    RESULTS["build (cache as found)"] = "%.1f s" % seconds
    return meta


def test_the_image_is_what_its_manifest_says_and_rebuilds_to_the_same_bytes(collector, tmp_path):
    for name in ("vmlinuz", "initrd.img"):
        with open(os.path.join(OUT, name), "rb") as handle:
            data = handle.read()
        assert collector["files"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    for module in ("virtio_net", "virtio_blk", "virtio_pci", "e1000e", "igb", "mlx5_core", "nvme", "ahci", "ipmi_si"):
        assert module in collector["modules"], module
    assert set(collector["packages"]) == {collector["kernel"]["package"], "busybox-static", "ipmitool"}
    assert "libfreeipmi17" in collector["libraries"]
    files = newc_files(os.path.join(OUT, "initrd.img"))
    # the initramfs runs the very files the collection ships
    for own, inside in (
        ("collector-init", "init"),
        ("collector-json.awk", "lib/collector/json.awk"),
        ("collector-udhcpc", "lib/collector/udhcpc"),
    ):
        with open(os.path.join(FILES, own), "rb") as handle:
            assert files[inside] == handle.read(), own
    release = collector["kernel"]["release"]
    assert b"virtio_net.ko" in files["lib/modules/%s/modules.dep" % release]
    assert "usr/bin/ipmitool" in files
    again, seconds = build(str(tmp_path))
    RESULTS["build (cached, again)"] = "%.1f s" % seconds
    assert again["files"] == collector["files"]  # same packages, same bytes


class Segment(object):
    """The discovery segment: bridge, dhcpd with a dynamic range, nginx, the spool service."""

    def __init__(self, lab, ns, run):
        self.lab, self.ns, self.run = lab, ns, run
        self.spool = os.path.join(run, "spool")
        self.taps = 0

    def entry(self, mac):
        path = os.path.join(self.spool, discovery.entry_name(mac))
        if not os.path.exists(path):
            return None
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)


def nginx_conf(run):
    """The discovery role's two locations (templates/discovery.conf.j2), in a server of its own."""
    conf = os.path.join(run, "nginx.conf")
    with open(conf, "w", encoding="utf-8") as handle:
        handle.write(
            "daemon off;\nuser root;\npid %(run)s/nginx.pid;\nerror_log %(run)s/nginx-error.log info;\n"
            "events { worker_connections 64; }\n"
            "http {\n  access_log %(run)s/access.log;\n  client_body_temp_path %(run)s/body;\n"
            "  proxy_temp_path %(run)s/proxy;\n  fastcgi_temp_path %(run)s/fcgi;\n  uwsgi_temp_path %(run)s/uwsgi;\n"
            "  scgi_temp_path %(run)s/scgi;\n"
            "  server {\n    listen %(server)s:80;\n"
            "    location /discovery/ { alias %(out)s/; }\n"
            "    location = /bm/discover {\n      limit_except POST { deny all; }\n"
            "      client_max_body_size 64k;\n      client_body_timeout 10s;\n"
            "      proxy_set_header X-Real-IP $remote_addr;\n      proxy_pass http://127.0.0.1:8088;\n    }\n"
            "  }\n}\n" % {"run": run, "out": OUT, "server": SERVER}
        )
    return conf


@pytest.fixture(scope="module")
def segment(collector, tmp_path_factory):
    run = str(tmp_path_factory.mktemp("collector-lab"))
    lab = Lab("col")
    try:
        ns = lab.namespace("seg")
        lab.bridge(ns, "br0", SERVER + "/24")
        dhcpd = os.path.join(run, "dhcpd.conf")
        with open(dhcpd, "w", encoding="utf-8") as handle:
            handle.write(
                "authoritative;\ndefault-lease-time 600;\nmax-lease-time 600;\n"
                "subnet 192.0.2.0 netmask 255.255.255.0 {\n  range 192.0.2.100 192.0.2.150;\n"
                "  option routers 192.0.2.1;\n}\n"
            )
        sh("dhcpd", "-t", "-q", "-cf", dhcpd)
        start_dhcp(lab, ns, "isc", dhcpd, run)
        # the role's spool service, laid out as the role installs it (bm_provisioner next to it)
        code = os.path.join(run, "code")
        os.makedirs(os.path.join(code, "bm_provisioner"))
        shutil.copy(os.path.join(FILES, "bm_discover.py"), code)
        with open(os.path.join(code, "bm_provisioner", "__init__.py"), "w", encoding="utf-8"):
            pass
        for name in ("atomic.py", "discovery.py"):
            shutil.copy(os.path.join(REPO, "plugins", "module_utils", "_provisioner", name), code + "/bm_provisioner")
        segment = Segment(lab, ns, run)
        os.makedirs(segment.spool)
        lab.start(
            ns,
            [sys.executable, os.path.join(code, "bm_discover.py"), "--spool-dir", segment.spool, "--port", "8088"],
            os.path.join(run, "bm-discover.log"),
        )
        conf = nginx_conf(run)
        sh("nginx", "-t", "-c", conf, ns=ns)
        lab.start(ns, ["nginx", "-c", conf], os.path.join(run, "nginx.log"))
        wait_for(lambda: http_answers(ns, "http://%s/discovery/collector.json" % SERVER), what="nginx")
        wait_for(lambda: "listening on" in read_log(os.path.join(run, "bm-discover.log")), what="bm_discover.py")
        yield segment
    finally:
        lab.close()


def qemu_smbios(fields):
    # QEMU's option syntax: a comma inside a value is written twice
    return "type=1," + ",".join("%s=%s" % (k, v.replace(",", ",,")) for k, v in fields.items())


def boot(segment, name, mac, uefi, smbios, extra=(), bootif=None, report="http://%s/bm/discover" % SERVER):
    """Boot the collector on the segment; (console text, seconds from start to the report's
    answer, seconds from start to power-off)."""
    segment.taps += 1
    tap = "tcol%d" % segment.taps
    sh("ip", "tuntap", "add", tap, "mode", "tap", ns=segment.ns)
    sh("ip", "link", "set", tap, "master", "br0", ns=segment.ns)
    sh("ip", "link", "set", tap, "up", ns=segment.ns)
    disk = os.path.join(segment.run, name + ".disk")
    with open(disk, "wb") as handle:
        handle.truncate(DISK_BYTES)  # sparse
    serial = os.path.join(segment.run, name + ".serial.log")
    platform = "efi" if uefi else "pcbios"
    # the kernel line discover.ipxe gives, with panic=-1 so that a panic ends QEMU at once
    append = "console=tty0 console=ttyS0,115200 panic=-1 bm.report=%s bm.platform=%s" % (report, platform)
    if bootif:
        append += " bm.bootif=" + bootif
    cmd = [
        "qemu-system-x86_64",
        "-nographic",
        "-m",
        str(MEMORY_MIB),
        "-smp",
        "2",
        "-no-reboot",
        "-monitor",
        "none",
        "-display",
        "none",
        "-serial",
        "file:" + serial,
        "-kernel",
        os.path.join(OUT, "vmlinuz"),
        "-initrd",
        os.path.join(OUT, "initrd.img"),
        "-append",
        append,
        "-smbios",
        qemu_smbios(smbios),
        "-netdev",
        "tap,id=n0,ifname=%s,script=no,downscript=no" % tap,
        "-device",
        "virtio-net-pci,netdev=n0,mac=%s,romfile=" % mac,
        "-drive",
        "if=none,id=d0,format=raw,file=" + disk,
        "-device",
        "virtio-blk-pci,drive=d0,serial=DISK-%s" % name.upper(),
        *extra,
    ]
    if uefi:
        vars_ = os.path.join(segment.run, name + ".vars.fd")
        shutil.copy(OVMF_VARS, vars_)
        cmd += ["-machine", "q35", "-drive", "if=pflash,format=raw,readonly=on,file=" + OVMF_CODE]
        cmd += ["-drive", "if=pflash,format=raw,file=" + vars_]
    started = time.monotonic()
    proc = segment.lab.start(segment.ns, cmd, os.path.join(segment.run, name + ".qemu.log"))

    reported = []

    def powered_off():
        text = read_log(serial)
        for fatal in ("Kernel panic", "No bootable device"):
            assert fatal not in text, "%s: %s\n%s" % (name, fatal, text[-4000:])
        if not reported and MARK + " report " in text:
            reported.append(time.monotonic() - started)
        return proc.poll() is not None

    try:
        wait_for(powered_off, timeout=BOOT_TIMEOUT, interval=0.5, what="%s to power itself off" % name)
    except AssertionError:
        raise AssertionError("%s did not power off:\n%s" % (name, read_log(serial)[-4000:])) from None
    seconds = time.monotonic() - started
    assert proc.returncode == 0, read_log(os.path.join(segment.run, name + ".qemu.log"))
    return read_log(serial), (reported or [seconds])[0], seconds


def markers(console):
    """The collector's console lines, without the marker."""
    return [line.split(MARK, 1)[1].strip() for line in console.splitlines() if MARK in line]


def check_machine(segment, console, mac, uefi, smbios):
    """The report on the console and in the spool describes the machine QEMU made; the report."""
    lines = markers(console)
    assert lines[0] == "start" and lines[-1] == "poweroff", lines
    lease = [line for line in lines if line.startswith("lease ")]
    assert len(lease) == 1 and lease[0].startswith("lease 192.0.2.1"), lines
    assert "report 201" in lines, lines
    printed = [line[len("json ") :] for line in lines if line.startswith("json ")]
    assert len(printed) == 1, lines
    report = json.loads(printed[0])
    assert report["schema"] == 1 and report["collector"] == "baremetal.provision-collector/1"
    assert report["boot"] == {"mac": mac, "source": "bootif", "mode": "uefi" if uefi else "bios"}
    assert report["system"] == {
        "vendor": smbios["manufacturer"].strip(),
        "product": smbios["product"],
        "serial": smbios["serial"],
        "uuid": smbios["uuid"].lower(),
    }
    assert report["cpus"] == 2
    assert MEMORY_MIB * 3 // 4 <= report["memory_mib"] <= MEMORY_MIB
    assert len(report["nics"]) == 1
    nic = report["nics"][0]
    assert nic["mac"] == mac and nic["carrier"] is True and nic["speed_mbps"] is None  # virtio: no speed
    assert [d["name"] for d in report["disks"]] == ["vda"]
    disk = report["disks"][0]
    assert disk["size_bytes"] == DISK_BYTES
    assert disk["serial"].startswith("DISK-") and disk["model"] == "" and disk["wwn"] == ""
    # what the spool stored is the same report, as the spool's own check normalises it
    entry = segment.entry(mac)
    assert entry is not None, os.listdir(segment.spool)
    assert entry["report"] == discovery.check_report(report)
    assert entry["source_ip"] == lease[0].split()[1]
    return report


def test_bios_machine_with_a_bmc_reports_itself_and_powers_off(segment):
    mac = "52:54:00:c0:11:01"
    ipmi = ["-device", "ipmi-bmc-sim,id=bmc0", "-device", "isa-ipmi-kcs,bmc=bmc0"]
    # bm.bootif in pxelinux's BOOTIF form, upper case, as some boot loaders give it (iPXE's plain
    # form is what the e2e story's machines get, and the UEFI boot here in make soak)
    console, report_s, off_s = boot(segment, "bios", mac, False, BIOS_SMBIOS, ipmi, bootif="01-52-54-00-C0-11-01")
    RESULTS["SeaBIOS (TCG): report, power-off"] = "%.1f s, %.1f s" % (report_s, off_s)
    report = check_machine(segment, console, mac, False, BIOS_SMBIOS)
    # The KCS interface and its driver work (/dev/ipmi0 appears); QEMU's simulated BMC answers
    # no Get Channel Info or LAN command, so no channel gives a LAN configuration: bmc is null.
    bmc = [line for line in markers(console) if line.startswith("bmc /dev/ipmi0:")]
    assert len(bmc) == 1, markers(console)
    if "LAN channel none" in bmc[0]:
        assert report["bmc"] is None
    else:  # a BMC that does tell: its address is in the report
        assert report["bmc"] is not None and report["bmc"]["ip"] in bmc[0]


@pytest.mark.soak(
    reason="make test boots the collector under OVMF in the e2e story (tests/support/discovery_story.py: "
    "machine-w reports its SMBIOS identity, boot MAC, mode uefi and disk into the spool, then powers off); "
    "the BOOTIF form is in the BIOS boot here, hostile SMBIOS strings in the BIOS boot and in "
    "tests/unit/test_collector_json.py"
)
@pytest.mark.skipif(not os.path.exists(OVMF_CODE), reason="needs OVMF (Debian package ovmf)")
def test_uefi_machine_reports_itself_and_powers_off(segment):
    mac = "52:54:00:c0:11:02"
    console, report_s, off_s = boot(segment, "uefi", mac, True, UEFI_SMBIOS, bootif=mac)
    RESULTS["OVMF (TCG): report, power-off"] = "%.1f s, %.1f s" % (report_s, off_s)
    report = check_machine(segment, console, mac, True, UEFI_SMBIOS)
    assert report["bmc"] is None
    assert not [line for line in markers(console) if line.startswith("bmc ")]  # no BMC, no /dev/ipmi0


def test_without_bootif_or_a_listener_it_takes_the_nic_with_carrier_tries_five_times_and_powers_off(segment):
    mac = "52:54:00:c0:11:03"
    # nothing listens on port 81: every POST fails; the collector must still end
    console, _report_s, off_s = boot(
        segment, "nolistener", mac, False, BIOS_SMBIOS, report="http://%s:81/bm/discover" % SERVER
    )
    RESULTS["SeaBIOS (TCG), 5 failed POSTs: power-off"] = "%.1f s" % off_s
    lines = markers(console)
    assert lines[0] == "start" and lines[-2:] == ["report failed", "poweroff"], lines
    assert [line.split(":")[0] for line in lines if line.startswith("retry ")] == [
        "retry 1",
        "retry 2",
        "retry 3",
        "retry 4",
    ]
    report = json.loads(next(line for line in lines if line.startswith("json "))[len("json ") :])
    assert report["boot"] == {"mac": mac, "source": "carrier", "mode": "bios"}
    assert report["bmc"] is None  # no BMC, no /dev/ipmi0 (as in the UEFI boot, which is make soak only)
    assert not [line for line in lines if line.startswith("bmc ")]
    assert segment.entry(mac) is None


def teardown_module():
    if RESULTS:
        print("\ncollector figures: " + "; ".join("%s %s" % item for item in RESULTS.items()))
