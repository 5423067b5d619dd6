# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real Debian installer over IPv6 only (make e2e-installer; ``-k ipv6``).

An IPv6-only segment (2001:db8:10::/64, no IPv4 anywhere in the lab): Kea DHCPv6 and radvd run
in the lab namespace on the files the dhcp role rendered, tftpd-hpa and nginx on the provisioner's
IPv6 address. A UEFI machine (OVMF, PXE over IPv4 off) boots by PXEv6 -> shim -> Debian's GRUB ->
d-i's linux and initrd.gz over TFTPv6, with the kernel line the collection rendered (preseed URL
``http://[2001:db8:10::1]/ks/inst01.cfg``) and a local mirror at
``http://[2001:db8:10::1]/mirror/debian``. Every claim is read from the installer's own syslog
(``log_host=`` the provisioner's IPv6 address, DEBCONF_DEBUG=5), the serial console (where a
question shows once netcfg has taken the interface down and the syslog no longer arrives), nginx's
access log and Kea's lease file; the lines are printed. A run ends at the first question d-i asks
a person (nothing answers it).

What it showed (Debian 12, netcfg 1.187+deb12u1), one variant each, each asserted up to its stop:

- ``as-rendered``: netcfg sees the advertisement's M flag, runs dhcp6c (DUID-LLT, so Kea finds
  the MAC) and takes the reserved address; it then tries DHCPv4 for netcfg/dhcp_timeout (25 s),
  finds no default route (the role's radvd advertises router lifetime 0) and asks the critical
  netcfg/no_default_route before any preseed. The records cannot answer it: a kernel option
  name with ``/`` is refused, and the network preseed comes after it.
- ``with-router``: the segment's own router advertises a default route. netcfg completes, and
  dhcp6c then releases its lease and removes the address; d-i fetches the preseed from its
  EUI-64 link-local address, which the collection's nginx refuses (403: an install config is
  served to the machine's reserved address only), and asks preseed/retrieve_error.
- ``with-router-link-local``: a lab addition (not the collection's) also serves the install
  config to that link-local address: d-i loads the example preseed, whose early_command re-runs
  netcfg with the static answers it renders for an IPv6-only system (``None``): "Malformed IP
  address".
- ``with-router-link-local-ipv6-preseed``: the example preseed with IPv6 netcfg answers
  (support.installer.PRESEED6_NETCFG): netcfg writes a static IPv6 stanza (2001:db8:10::70/64),
  choose-mirror accepts ``[2001:db8:10::1]``, the retriever verifies Release.gpg, takes the
  installer index and asks for the first udeb, all from 2001:db8:10::70; it stops at "Download
  installer components", as over IPv4 (the lab's mirror holds no udebs: see
  test_debian_installer.py).
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
    link_local,
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


def installer_claims(variant, syslog, access_log, serial, leases):
    """[(claim, holds, the lines it rests on)] of one run over IPv6, for its variant."""
    lines, access = syslog.splitlines(), access_log.splitlines()
    claims = []

    def claim(what, ok, *evidence):
        claims.append((what, bool(ok), [str(e) for e in evidence]))

    def line(index, missing):
        return lines[index] if index is not None else missing

    def served(address, path, status):
        return [e for e in access if e.startswith(address + " ") and '"GET %s HTTP/1.1" %d ' % (path, status) in e]

    end = _after(lines, re.escape(ASKED))
    end = len(lines) if end is None else end
    screen = dialog(serial) or ""

    booted = re.search(r"Kernel command line: (.*?)\r?$", serial, re.M)
    words = booted.group(1).split() if booted else []
    claim(
        "GRUB (after OVMF's PXEv6 and shim, over TFTPv6) booted d-i with the collection's line: the preseed URL on "
        "the provisioner's IPv6 address, --- and the installed_kernel_options",
        booted and "url=" + PRESEED_URL in words and booted.group(1).partition(" --- ")[2].strip() == INSTALLED_OPTIONS,
        booted.group(0) if booted else "no 'Kernel command line' on the serial console",
    )

    stateful = _after(lines, r"netcfg\[\d+\]: DEBUG: Stateful DHCPv6 requested$")
    started = _after(lines, r"netcfg\[\d+\]: WARNING \*\*: Started DHCPv6 client", stateful or 0)
    address = _after(lines, r"dhcp6c: update_address: create an address %s " % re.escape(IP6), started or 0)
    claim(
        "netcfg saw the router advertisement's managed flag and its DHCPv6 client (dhcp6c) took the reserved address",
        None not in (stateful, started, address) and address < end,
        line(stateful, "no stateful DHCPv6 in the syslog"),
        line(started, "no DHCPv6 client started"),
        line(address, "dhcp6c configured no %s" % IP6),
    )

    mine = [lease for lease in leases if lease.get("hwaddr", "").lower() == MAC6 and lease["address"] == IP6]
    claim(
        "Kea DHCPv6 leased %s to the installer's DUID (a DUID-LLT: Kea found the MAC in it) and the firmware's "
        "DUID-UUID leased from the dynamic range" % IP6,
        mine and mine[0]["duid"].startswith("00:01:") and any(_in_range(x["address"]) for x in leases),
        *["lease %s duid %s hwaddr %s" % (x["address"], x["duid"], x.get("hwaddr")) for x in leases],
    )

    if variant == "as-rendered":
        lifetime = _after(lines, r"rdisc6 line: Router lifetime +: +0 \(")
        ipv4 = _after(lines, r"netcfg\[\d+\]: DEBUG: Trying IPv4 autoconfig as well$")
        claim(
            "the only advertisements are the role's (router lifetime 0): after trying DHCPv4 too, netcfg finds no "
            "default route and asks the critical netcfg/no_default_route, before any preseed",
            None not in (lifetime, ipv4)
            and end < len(lines)
            and lines[end - 1].endswith("INPUT critical netcfg/no_default_route")
            and not [e for e in access if "/ks/" in e],
            line(lifetime, "no router lifetime 0 read"),
            line(ipv4, "no DHCPv4 attempt"),
            line(end - 1 if end < len(lines) else None, "no question in the syslog"),
        )
        return claims

    released = _after(lines, r"dhcp6c: remove_addr: remove an address %s$" % re.escape(IP6), address or 0)
    complete = _after(lines, r"netcfg\[\d+\]: DEBUG: Network config complete$", address or 0)
    claim(
        "netcfg completed with the router's default route; then dhcp6c released its lease and removed %s" % IP6,
        None not in (complete, released) and complete < released,
        line(complete, "netcfg never completed"),
        line(released, "the address was not removed"),
    )

    own_ll = link_local(MAC6)
    if variant == "with-router":
        refused = served(own_ll, "/ks/%s.cfg" % NAME, 403)
        claim(
            "d-i asked for the preseed from its link-local address %s; nginx refused it (403) and d-i asks "
            "preseed/retrieve_error" % own_ll,
            refused
            and not served(IP6, "/ks/%s.cfg" % NAME, 200)
            and end < len(lines)
            and lines[end - 1].endswith("INPUT critical preseed/retrieve_error"),
            *refused,
            line(end - 1 if end < len(lines) else None, "no question in the syslog"),
        )
        return claims

    fetched = served(own_ll, "/ks/%s.cfg" % NAME, 200)
    loaded = _after(lines, r"preseed: successfully loaded preseed file from %s$" % re.escape(PRESEED_URL))
    early = _after(
        lines, r"preseed: running preseed command preseed/early_command: kill-all-dhcp; netcfg$", loaded or 0
    )
    claim(
        "d-i fetched the preseed over IPv6 from its link-local address (the lab's addition serves it there), "
        "loaded it and ran its early_command (netcfg again)",
        fetched and None not in (loaded, early) and early < end,
        *fetched,
        line(loaded, "no 'successfully loaded' in the syslog"),
        line(early, "no early_command ran"),
    )

    if variant == "with-router-link-local":
        claim(
            "netcfg refuses the static address the example preseed renders for an IPv6-only system ('None'): "
            "'Malformed IP address', asked on the console",
            "Malformed IP address" in screen,
            "serial console: %s" % screen,
        )
        return claims

    static = _after(lines, r"netcfg\[\d+\]: DEBUG: Writing static IPv6 stanza for \S+$", early or 0)
    suite = _after(lines, r"choose-mirror\[\d+\]: INFO: suite/codename set to: bookworm/bookworm$", static or 0)
    good = _after(
        lines, r'net-retriever: gpgv: Good signature from "Debian Archive Automatic Signing Key \(12/bookworm\)'
    )
    index = served(IP6, "/mirror/debian/dists/bookworm/main/debian-installer/binary-amd64/Packages", 200)
    pool = [e for e in access if e.startswith(IP6 + " ") and '"GET /mirror/debian/pool/' in e]
    claim(
        "netcfg configured %s/64 statically; choose-mirror accepted the mirror [%s], the retriever found the "
        "archive's signature good and took the installer index, and asked the pool for a udeb, all from %s"
        % (IP6, PROVISIONER_IP6, IP6),
        None not in (static, suite, good) and index and pool and good < end,
        line(static, "no static IPv6 stanza"),
        line(suite, "choose-mirror accepted no suite"),
        line(good, "no good signature"),
        *(index[:1] + pool[:1]),
    )
    claim(
        "it stops where the IPv4 run does: 'Download installer components' (the lab's mirror holds no udebs)",
        "Download installer components" in screen or _after(lines, r"anna\[\d+\]: WARNING \*\*: package retrieval"),
        "serial console: %s" % screen,
    )
    return claims


VARIANTS = {
    "as-rendered": {},  # the role's radvd only
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
    kea = "".join("%s,%s,%s\n" % (x["address"], x["duid"], x.get("hwaddr")) for x in leases)
    for name, text in (
        ("syslog.log", syslog),
        ("serial.log", serial),
        ("nginx-access.log", access),
        ("kea-leases6.txt", kea),
    ):
        with open(os.path.join(keep, name), "w", encoding="utf-8") as handle:
            handle.write(text)
    claims = installer_claims(variant, syslog, access, serial, leases)
    print("\n== ipv6 %s: the installer's own words (%.0f s from power-on to its first question) ==" % (variant, took))
    for what, holds, evidence in claims:
        print("%s %s" % ("*" if holds else "FAILED", what))
        for entry in evidence:
            print("    %s" % entry)
    failed = [what for what, holds, evidence in claims if not holds]
    assert not failed, "not shown by the installer:\n%s\n--- syslog tail ---\n%s" % ("\n".join(failed), syslog[-5000:])
