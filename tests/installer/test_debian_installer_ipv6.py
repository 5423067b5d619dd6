# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real Debian installer over IPv6 only (make e2e-installer; ``-k ipv6``).

An IPv6-only segment (2001:db8:10::/64, no IPv4 anywhere in the lab): Kea DHCPv6 and radvd run
in the lab namespace on the files the dhcp role rendered, tftpd-hpa and nginx on the provisioner's
IPv6 address. A UEFI machine (OVMF, PXE over IPv4 off) boots by PXEv6 -> shim -> Debian's GRUB ->
d-i's linux and initrd.gz over TFTPv6, with the kernel line the collection rendered (preseed URL
``http://[2001:db8:10::1]/ks/inst01.cfg``), the collection's example preseed as its profile's
template and a local mirror at ``http://[2001:db8:10::1]/mirror/debian``. Every claim is read
from the installer's own syslog (``log_host=`` the provisioner's IPv6 address, DEBCONF_DEBUG=5),
the serial console, nginx's access log and Kea's lease file; the lines are printed.

The run stops at the first question the installer asks a person. What the run showed is in
FINDING below, and the test asserts each step up to that question.
"""

import ipaddress
import os
import re

import pytest
from support.installer import (
    CACHE,
    INSTALLED_OPTIONS,
    IP6,
    MAC6,
    NAME,
    PROVISIONER_IP6,
    RANGE6,
    InstallerLab,
    _printable,
    ipv6_preseed,
)
from support.netns import have_root

pytestmark = pytest.mark.skipif(not have_root(), reason="the lab needs root (network namespaces, taps)")

ASKED = "debconf: <-- 0 question will be asked"
PRESEED_URL = "http://[%s]/ks/%s.cfg" % (PROVISIONER_IP6, NAME)


def _after(lines, pattern, start=0):
    """Index of the first line at or after start that matches pattern."""
    for index in range(start, len(lines)):
        if re.search(pattern, lines[index]):
            return index
    return None


def dialog(serial):
    """The last dialog d-i's newt frontend drew on the serial console whose title is marked [!] or
    [!!] (a question of priority high or critical: what it asks a person), as plain text; None
    when there is none. When netcfg takes the interface down, the syslog stops reaching the lab,
    and the console is then where a question shows."""
    text = " ".join(re.sub(r"[^\x20-\x7e]", " ", _printable(serial)).split())
    start = max(text.rfind("[!] "), text.rfind("[!!] "))
    if start < 0:
        return None
    end = text.find("<Tab> moves", start)
    return re.sub(r"\b[qxjklmtu]\b|[qxjklmtu]{3,}", " ", text[start : end if end > 0 else start + 600]).strip()


def _in_range(address):
    low, high = (int(ipaddress.IPv6Address(a)) for a in RANGE6)
    try:
        return low <= int(ipaddress.IPv6Address(address)) <= high
    except ValueError:
        return False


def installer_claims(syslog, access_log, serial, leases):
    """[(claim, holds, the lines it rests on)] of one run over IPv6."""
    lines, access = syslog.splitlines(), access_log.splitlines()
    claims = []

    def claim(what, ok, *evidence):
        claims.append((what, bool(ok), [str(e) for e in evidence]))

    def line(index, missing):
        return lines[index] if index is not None else missing

    end = _after(lines, re.escape(ASKED))
    end = len(lines) if end is None else end

    booted = re.search(r"Kernel command line: (.*?)\r?$", serial, re.M)
    words = booted.group(1).split() if booted else []
    claim(
        "GRUB (after OVMF's PXEv6 and shim, over TFTPv6) booted d-i with the collection's line: the preseed URL on "
        "the provisioner's IPv6 address, --- and the installed_kernel_options",
        booted and "url=" + PRESEED_URL in words and booted.group(1).partition(" --- ")[2].strip() == INSTALLED_OPTIONS,
        booted.group(0) if booted else "no 'Kernel command line' on the serial console",
    )

    stateful = _after(lines, r"netcfg\[\d+\]: .*(Stateful DHCPv6 requested|IPv6 stateful autoconfig requested)")
    started = _after(lines, r"netcfg\[\d+\]: .*Started DHCPv6 client", stateful or 0)
    claim(
        "netcfg saw the router advertisement's managed flag and started its DHCPv6 client (dhcp6c)",
        None not in (stateful, started) and started < end,
        line(stateful, "no stateful DHCPv6 in the syslog"),
        line(started, "no DHCPv6 client started"),
    )

    mine = [lease for lease in leases if lease.get("hwaddr", "").lower() == MAC6]
    claim(
        "Kea DHCPv6 leased the reserved address %s to the installer's DUID (it holds the MAC), and the firmware "
        "(DUID-UUID) leased from the dynamic range" % IP6,
        any(lease["address"] == IP6 for lease in mine) and any(_in_range(lease["address"]) for lease in leases),
        *["lease %s duid %s hwaddr %s" % (x["address"], x["duid"], x.get("hwaddr")) for x in leases],
    )

    fetch = [e for e in access if e.startswith(IP6 + " ") and '"GET /ks/%s.cfg HTTP/1.1" 200 ' % NAME in e]
    loaded = _after(lines, r"preseed: successfully loaded preseed file from %s$" % re.escape(PRESEED_URL))
    claim(
        "d-i fetched the preseed over IPv6 from its reserved address and loaded it",
        fetch and loaded is not None and loaded < end,
        *(fetch or ["nginx served no /ks/%s.cfg to %s" % (NAME, IP6)]),
        line(loaded, "no 'successfully loaded' in the syslog"),
    )

    early = _after(
        lines, r"preseed: running preseed command preseed/early_command: kill-all-dhcp; netcfg$", loaded or 0
    )
    claim(
        "the preseed's early_command re-ran netcfg",
        early is not None and early < end,
        line(early, "no early_command ran"),
    )
    question = lines[end - 1] if end < len(lines) else "(no question in the syslog)"
    claims.append(("the first question d-i asked", True, [question, "serial console: %s" % dialog(serial)]))
    return claims


VARIANTS = {
    "as-rendered": {},
    "with-router": {"router": True},
    "with-router-link-local": {"router": True, "link_local_preseed": True},
    "with-router-link-local-ipv6-preseed": {"router": True, "link_local_preseed": True, "preseed": ipv6_preseed()},
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_real_debian_installer_over_ipv6(tmp_path, variant):
    lab = InstallerLab(tmp_path, narrate=print, ipv6=True, **VARIANTS[variant])
    syslog = serial = access = ""
    leases = []
    try:
        lab.setup()
        with lab.step("Configure the provisioner from the records (site): Kea DHCPv6, radvd, TFTP and nginx on IPv6"):
            lab.playbook("site")
            lab.start_daemons()
        with lab.step("Boot the UEFI machine by PXEv6 into Debian's installer until it asks its first question"):
            lab.machine.power_on()
            took = lab.follow(lambda syslog, serial: ASKED in syslog or dialog(serial) is not None, deadline_s=1800)
        syslog, serial = lab.logs()
        access = lab.access_log()
        leases = lab.leases6()
    finally:
        lab.close()
    keep = os.path.join(CACHE, "last-run", "ipv6-" + variant)
    os.makedirs(keep, exist_ok=True)
    for name, text in (("syslog.log", syslog), ("serial.log", serial), ("nginx-access.log", access)):
        with open(os.path.join(keep, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    claims = installer_claims(syslog, access, serial, leases)
    print("\n== ipv6: the installer's own words (%.0f s from power-on to its first question) ==" % took)
    for what, holds, evidence in claims:
        print("%s %s" % ("*" if holds else "FAILED", what))
        for entry in evidence:
            print("    %s" % entry)
    failed = [what for what, holds, evidence in claims if not holds]
    assert not failed, "not shown by the installer:\n%s\n--- syslog tail ---\n%s" % ("\n".join(failed), syslog[-5000:])
