# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real Debian installer takes what the collection renders (make e2e-installer).

A QEMU machine (BIOS: SeaBIOS, iPXE ROM, pxelinux; UEFI: OVMF's own PXE client, Debian's signed
network GRUB) boots Debian's netboot installer off the provisioner the roles configured, with the
example preseed as its profile's template and a local mirror of genuine signed indices as its
distro's install_tree. Every claim is read from the installer's own syslog (``log_host=``, with
``DEBCONF_DEBUG=5`` so that debconf logs each question and whether it is asked), the serial
console and nginx's access log, and the lines it rests on are printed.

The run stops at the first question the installer asks a person (debconf: ``question will be
asked``): nothing answers it, so every step before it ran unattended. The package registry this
machine uses answers 404 for most installer components (udebs), so the test's mirror holds none:
the first question is the retriever's error on the first udeb, after the mirror, its signature
and its installer index were accepted. The test asserts that, and every step up to it.
"""

import os
import re

import pytest
from support.installer import CACHE, DOMAIN, INSTALLED_OPTIONS, IP, MAC, NAME, PROVISIONER_IP, SUITE, InstallerLab
from support.netns import have_root

FIRMWARE = [f for f in os.environ.get("INSTALLER_FIRMWARE", "bios,uefi").split(",") if f]

pytestmark = pytest.mark.skipif(not have_root(), reason="the lab needs root (network namespaces, taps)")

ASKED = "debconf: <-- 0 question will be asked"


def _after(lines, pattern, start=0):
    """Index of the first line at or after start that matches pattern."""
    for index in range(start, len(lines)):
        if re.search(pattern, lines[index]):
            return index
    return None


def _answer(lines, question, start):
    """What debconf answered to ``GET question`` (the line after it), from start on."""
    index = _after(lines, r"debconf: --> GET %s$" % re.escape(question), start)
    if index is None or index + 1 >= len(lines):
        return None
    match = re.search(r"debconf: <-- 0 (.*)$", lines[index + 1])
    return match.group(1) if match else None


def installer_claims(syslog, access_log, serial=""):
    """[(claim, holds, the installer's own lines it rests on)] of one run, read from its syslog
    (log_host, DEBCONF_DEBUG=5), nginx's access log and the serial console."""
    lines, access = syslog.splitlines(), access_log.splitlines()
    claims = []

    def claim(what, ok, *evidence):
        claims.append((what, bool(ok), [str(e) for e in evidence]))

    # The kernel's own line: Debian's installer copies what follows --- (its user-params) into the
    # installed system's boot loader, so that part must be the record's installed_kernel_options.
    booted = re.search(r"Kernel command line: (.*?)\r?$", serial, re.M)
    copied = booted.group(1).partition(" --- ")[2].strip() if booted else None
    claim(
        "the kernel line the installer booted with ends with --- and the record's installed_kernel_options only",
        copied == INSTALLED_OPTIONS,
        booted.group(0) if booted else "no 'Kernel command line' on the serial console",
    )

    def line(index, missing):
        return lines[index] if index is not None else missing

    end = _after(lines, re.escape(ASKED))
    end = len(lines) if end is None else end
    lease = _after(lines, r"udhcpc: lease of %s obtained from %s" % (re.escape(IP), re.escape(PROVISIONER_IP)))
    claim(
        "the installer took the reserved IP from the provisioner's DHCP server",
        lease is not None and lease < end,
        line(lease, "no lease of %s in the syslog" % IP),
    )

    fetch = [
        entry for entry in access if entry.startswith(IP + " ") and '"GET /ks/%s.cfg HTTP/1.1" 200 ' % NAME in entry
    ]
    loaded = _after(
        lines,
        r"preseed: successfully loaded preseed file from http://%s/ks/%s\.cfg$" % (re.escape(PROVISIONER_IP), NAME),
    )
    claim(
        "the preseed was fetched from the reserved IP and loaded",
        fetch and loaded is not None and loaded < end,
        *(fetch or ["nginx served no /ks/%s.cfg to %s" % (NAME, IP)]),
        line(loaded, "no 'successfully loaded' in the syslog"),
    )

    preseeded = _after(lines, r"debconf: --> SET netcfg/get_ipaddress %s$" % re.escape(IP), lease or 0)
    early = _after(
        lines, r"preseed: running preseed command preseed/early_command: kill-all-dhcp; netcfg$", loaded or 0
    )
    static = _after(lines, r"netcfg\[\d+\]: DEBUG: Writing static IPv4 stanza for \S+$", early or 0)
    dhcp_after = _after(lines, r"Writing DHCP stanza", early or 0)
    arping = _after(
        lines, r"netcfg\[\d+\]: ARPING %s from %s " % (re.escape(PROVISIONER_IP), re.escape(IP)), early or 0
    )
    claim(
        "the preseed's early_command re-ran netcfg with the record's static address, and netcfg wrote the static "
        "stanza (no DHCP stanza after it)",
        None not in (preseeded, early, static, arping) and dhcp_after is None and static < end,
        line(preseeded, "the preseed set no netcfg/get_ipaddress %s" % IP),
        line(early, "no early_command ran"),
        line(arping, "no ARPING from %s" % IP),
        line(static, "no static stanza"),
        *([lines[dhcp_after]] if dhcp_after else []),
    )

    found = _after(
        lines, r"netcfg\[\d+\]: INFO: Found interface (\S+) with link-layer address %s$" % re.escape(MAC), early or 0
    )
    no_bootif = [entry for entry in lines if "Could not find valid BOOTIF" in entry]
    claim(
        "netcfg took the NIC of the per-MAC file's BOOTIF (no 'Could not find valid BOOTIF=')",
        found is not None and not no_bootif,
        line(found, "no interface with %s" % MAC),
        *no_bootif,
    )

    hostname, domain = (
        _answer(lines, "netcfg/get_hostname", early or 0),
        _answer(lines, "netcfg/get_domain", early or 0),
    )
    claim(
        "the hostname and domain are the record's",
        (hostname, domain) == (NAME, DOMAIN),
        "debconf: GET netcfg/get_hostname -> %s" % hostname,
        "debconf: GET netcfg/get_domain -> %s" % domain,
    )

    selected = _after(lines, r"main-menu\[\d+\]: INFO: Menu item 'choose-mirror' selected$")
    mirror = (
        _answer(lines, "mirror/http/hostname", selected or 0),
        _answer(lines, "mirror/http/directory", selected or 0),
        _answer(lines, "mirror/http/proxy", selected or 0),
    )
    accepted = _after(
        lines, r"choose-mirror\[\d+\]: INFO: suite/codename set to: %s/%s$" % (SUITE, SUITE), selected or 0
    )
    arch = _after(
        lines,
        r"URL:http://%s/mirror/debian/dists/%s/main/binary-amd64/Release \[" % (re.escape(PROVISIONER_IP), SUITE),
        selected or 0,
    )
    refused = [entry for entry in lines if re.search(r"choose-mirror\[\d+\]: WARNING", entry)]
    claim(
        "choose-mirror checked and accepted the mirror of the distro's install_tree, served by the provisioner, no proxy",
        mirror == (PROVISIONER_IP, "/mirror/debian", "")
        and None not in (selected, accepted, arch)
        and not refused
        and accepted < end,
        "debconf: GET mirror/http/hostname, directory, proxy -> %s, %s, %r" % mirror,
        line(accepted, "no suite/codename accepted"),
        line(arch, "no binary-amd64/Release fetched"),
        *refused,
    )

    download = _after(lines, r"main-menu\[\d+\]: INFO: Menu item 'download-installer' selected$", accepted or 0)
    signature = _after(lines, r"net-retriever: regular: dists/%s/Release\.gpg " % SUITE, download or 0)
    unsigned = [entry for entry in lines if re.search(r"net-retriever: error: .*(unsigned|signature)", entry, re.I)]
    served = [
        entry
        for entry in access
        if entry.startswith(IP + " ") and '"GET /mirror/debian/dists/%s/Release.gpg HTTP/1.1" 200 ' % SUITE in entry
    ]
    good = _after(
        lines,
        r'net-retriever: gpgv: Good signature from "Debian Archive Automatic Signing Key \(12/bookworm\)',
        signature or 0,
    )
    claim(
        "the installer's retriever fetched the mirror's signed Release and its gpgv found the archive's signature good",
        None not in (download, signature, good) and served and not unsigned and good < end,
        line(download, "download-installer never ran"),
        line(signature, "no Release.gpg fetched"),
        *served,
        line(good, "no good signature from the bookworm archive key"),
        *unsigned,
    )

    index = [
        entry
        for entry in access
        if entry.startswith(IP + " ")
        and '"GET /mirror/debian/dists/%s/main/debian-installer/binary-amd64/Packages HTTP/1.1" 200 ' % SUITE in entry
    ]
    pool = [entry for entry in access if entry.startswith(IP + " ") and '"GET /mirror/debian/pool/' in entry]
    mismatch = [entry for entry in lines if re.search(r"net-retriever: .*(checksum|mismatch|corrupt)", entry, re.I)]
    claim(
        "the retriever took the mirror's installer index (checked against the signed Release) and went on to fetch "
        "installer components from the mirror's pool (which holds none: this registry serves few udebs)",
        index and pool and not mismatch,
        *(index[:1] + pool[:1] + mismatch),
    )

    asked = [entry for entry in lines if entry.endswith(ASKED)]
    question = lines[end - 1] if end < len(lines) else "(no question asked)"
    claim(
        "no question was asked before the mirror step and the retriever; the first one comes after them",
        len(asked) >= 1 and download is not None and end > download,
        question,
        *asked[:1],
    )
    return claims


@pytest.mark.parametrize("firmware", FIRMWARE)
def test_the_real_debian_installer_takes_the_preseed_and_the_mirror(tmp_path, firmware):
    lab = InstallerLab(tmp_path, narrate=print, uefi=firmware == "uefi")
    try:
        lab.setup()
        with lab.step("Configure the provisioner from the records (site)"):
            lab.playbook("site")
            lab.start_daemons()
        with lab.step("Boot the %s machine into Debian's installer until it asks its first question" % firmware):
            lab.machine.power_on()
            took = lab.follow(lambda syslog, serial: ASKED in syslog, fatal=("Could not find valid BOOTIF= entry",))
        syslog, serial = lab.logs()
        access = lab.access_log()
    finally:
        lab.close()
    keep = os.path.join(CACHE, "last-run", firmware)  # the installer's logs, for a reader after the run
    os.makedirs(keep, exist_ok=True)
    for name, text in (("syslog.log", syslog), ("serial.log", serial), ("nginx-access.log", access)):
        with open(os.path.join(keep, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    claims = installer_claims(syslog, access, serial)
    print("\n== %s: the installer's own words (%.0f s from power-on to its first question) ==" % (firmware, took))
    for what, holds, evidence in claims:
        print("%s %s" % ("*" if holds else "FAILED", what))
        for line in evidence:
            print("    %s" % line)
    screen = " ".join(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|[^\x20-\x7e]", " ", serial[-6000:]).split())
    print("* serial console, the last screen: ...%s" % screen[-600:])
    failed = [what for what, holds, evidence in claims if not holds]
    assert not failed, "not shown by the installer:\n%s\n--- syslog tail ---\n%s" % ("\n".join(failed), syslog[-5000:])
