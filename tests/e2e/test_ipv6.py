# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv6 netboot, end to end: the roles configure a real systemd provisioner (Kea DHCPv6, radvd,
tftpd-hpa and nginx on IPv6) from records, and UEFI machines install over DHCPv6 (support/
ipv6_story.py has the lab). The tests run in file order on one lab; each install reports its
seconds from power-on to the callback, printed at the end."""

import ipaddress
import json
import re
import time
import uuid as uuidlib

import pytest
from support import lab as L
from support.ipv6_story import NEAR6_RANGE, PROV6, SPARE, SYSTEMS, UNKNOWN, IPv6Story, machine_uuid
from support.netns import have_root, read_log, sh, wait_for

pytestmark = pytest.mark.skipif(not have_root(), reason="the lab needs root (network namespaces, taps, nspawn)")

FIGURES = {}


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    lab = IPv6Story(tmp_path_factory.mktemp("ipv6"))
    try:
        lab.setup()
        yield lab
    finally:
        lab.close()
        for name, took in FIGURES.items():
            print("ipv6: %-58s %6.1f s" % (name, took))


def _recap(stdout, host="prov6"):
    match = re.search(r"^%s\s+:\s+ok=(\d+)\s+changed=(\d+)" % re.escape(host), stdout, re.M)
    assert match, stdout[-2000:]
    return int(match.group(1)), int(match.group(2))


def _installed(story, name, system, generation=1, address=None):
    took, console = story.install(name, system)
    address = address or SYSTEMS[system][3]
    assert "%s lease6 %s/" % (L.MARK, address) in console, console[-3000:]
    assert "%s kickstart # %s generation %d" % (L.MARK, system, generation) in console, console[-3000:]
    # the callback service took it from the machine's own address (nginx passes it on)
    assert story.completed().get(system) == generation, story.completed()
    return took, console


def test_site_configures_dhcpv6_radvd_and_the_boot_services(story):
    proc, took = story.playbook("site")
    FIGURES["site (first run)"] = took
    assert _recap(proc.stdout)[1] > 0
    active = story.on_provisioner("systemctl is-active kea-dhcp6-server radvd kea-dhcp4-server nginx tftpd-hpa")
    assert active.split() == ["active"] * 5, active
    radvd = story.on_provisioner("cat /etc/radvd.conf")
    # near6 only: far is relayed (its router advertises there)
    assert "interface host0 {" in radvd and "AdvManagedFlag on;" in radvd and "2001:db8:20::" not in radvd, radvd
    # Kea listens on the address the relay sends to; both subnets, reservations by MAC
    kea6 = story.on_provisioner("cat /etc/kea/kea-dhcp6.conf")
    assert '"host0/%s"' % PROV6 in kea6 and '"2001:db8:20::/64"' in kea6, kea6[:3000]
    assert '"hw-address": "00:00:5e:00:53:61"' in kea6, kea6[:3000]
    # bound where machines reach them: DHCPv6 (547), TFTP and HTTP on the IPv6 address
    sockets = story.on_provisioner("ss -H -l -n -u -t")
    assert ":547" in sockets and re.search(r"\[?(::|2001:db8:10::1)\]?:69\b", sockets), sockets
    # nginx binds the wildcard once the distribution's default site does: its server block says
    # which addresses are the collection's
    nginx = story.on_provisioner("cat /etc/nginx/conf.d/baremetal-provision.conf")
    assert "listen [%s]:80;" % PROV6 in nginx, nginx[:2000]
    story.wait_served()


def test_site_again_changes_nothing(story):
    proc, took = story.playbook("site")
    FIGURES["site (again, nothing to change)"] = took
    assert _recap(proc.stdout)[1] == 0, proc.stdout[-3000:]


def test_uefi_pxe_over_ipv6(story):
    """OVMF's PXEv6 -> shim -> Debian's GRUB, which configures itself from the DHCPv6 answer ->
    kernel and initrd over TFTPv6 -> the install over IPv6."""
    took, _console = _installed(story, "pxe6", "pxe6")
    FIGURES["UEFI PXE over IPv6 (shim, GRUB, TFTP)"] = took
    log = story.access_log()
    assert '"remote_addr":"2001:db8:10::50","method":"GET","request_uri":"/ks/pxe6.cfg","status":"200"' in log, log[
        -2000:
    ]
    # served to its machine's own IPv6 address only: the router's, on the same link, is refused
    status = sh(
        "curl", "-g", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://[%s]/ks/pxe6.cfg" % PROV6, ns=story.rtr
    ).stdout
    assert status == "403", status


def test_uefi_http_boot_over_ipv6(story):
    """OVMF's HTTPv6 (PXE and IPv4 off) -> iPXE -> DHCPv6 again -> scripts, kernel, initrd over HTTP."""
    took, _console = _installed(story, "http6", "http6")
    FIGURES["UEFI HTTP boot over IPv6 (iPXE)"] = took
    log = story.access_log()
    assert '"request_uri":"/ipxe/boot-near6.ipxe","status":"200"' in log, log[-2000:]
    assert '"request_uri":"/ipxe/00%3A00%3A5e%3A00%3A53%3A62.ipxe","status":"200"' in log, log[-2000:]
    # firmware and iPXE leased from the dynamic range (their DUIDs hold no MAC); the installer,
    # whose DUID does, got the reserved address and its install config
    low, high = (int(ipaddress.IPv6Address(a)) for a in NEAR6_RANGE)
    fetched = [json.loads(line) for line in log.splitlines() if "/ipxe/boot-near6.ipxe" in line]
    assert fetched and all(low <= int(ipaddress.IPv6Address(f["remote_addr"])) <= high for f in fetched), fetched
    assert '"remote_addr":"2001:db8:10::51","method":"GET","request_uri":"/ks/http6.cfg","status":"200"' in log


def test_secure_boot_over_pxe6(story):
    """Microsoft's keys enrolled, Secure Boot enforced: shim -> signed GRUB -> signed kernel."""
    took, console = _installed(story, "sb6", "sb6")
    FIGURES["Secure Boot over PXEv6 (shim, GRUB, signed kernel)"] = took
    assert "Secure boot enabled" in console, console[-3000:]


def test_relayed_ipv6_segment(story):
    """far, behind dhcrelay -6: the firmware's PXEv6 gets iPXE (GRUB takes no route from the
    router advertisement), which boots the install through the router."""
    took, _console = _installed(story, "far6", "far6")
    FIGURES["relayed IPv6 segment (PXEv6, iPXE)"] = took
    relay = read_log(story.relay6_log)
    assert "Relaying Reply to" in relay or "Relaying Advertise" in relay or "Relaying" in relay, relay[-2000:]


def test_dual_stack_machine(story):
    """A machine with both addresses on the dual-stack far segment boots over IPv4 (its firmware
    tries PXEv4 first), through the relay, with DHCPv6 served beside it."""
    took, console = story.install("dual", "dual")
    FIGURES["dual-stack machine (boots over IPv4, relayed)"] = took
    assert "%s lease 198.51.100.50/24" % L.MARK in console, console[-3000:]
    assert "%s kickstart # dual generation 1" % L.MARK in console, console[-3000:]
    assert story.completed().get("dual") == 1, story.completed()


def _duid_of(uuid):
    """The DUID-UUID hex a firmware or iPXE of this SMBIOS UUID sends (edk2 writes the UUID in
    SMBIOS byte order, iPXE in RFC 4122's)."""
    value = uuidlib.UUID(uuid)
    return ("0004" + value.bytes_le.hex(), "0004" + value.bytes.hex())


def _past_grub(console):
    """Whether the firmware tried a boot option after the PXEv6 one that loaded GRUB."""
    after = console.split("Fetching Netboot Image /grub/grubx64.efi", 1)
    return len(after) == 2 and re.search(r"BdsDxe: (loading|failed to load|failed to start) Boot(?!0001)", after[1])


def test_unknown_mac_gets_the_pool_and_no_installer(story):
    name, _mac, _firmware = UNKNOWN
    vm = story.machines[name]
    duids = _duid_of(machine_uuid(UNKNOWN[1]))
    low, high = (int(ipaddress.IPv6Address(a)) for a in NEAR6_RANGE)

    def pool_lease():
        found = [lease for lease in story.leases6() if lease.get("duid", "").replace(":", "") in duids]
        return found[-1] if found else None

    start = time.monotonic()
    vm.power_on()
    try:
        wait_for(lambda: pool_lease() is not None, timeout=120, interval=1, what="the unknown machine's lease")
        lease = pool_lease()
        FIGURES["unknown MAC: power-on to its pool lease"] = time.monotonic() - start
        # GRUB finds no config of its MAC and leaves (local boot): the firmware goes on to its next
        # boot option; until then an installer could still start
        wait_for(lambda: _past_grub(vm.console()), timeout=180, interval=1, what="the firmware's next boot option")
        FIGURES["unknown MAC: power-on to its firmware's next boot option"] = time.monotonic() - start
    finally:
        vm.power_off()
    assert low <= int(ipaddress.IPv6Address(lease["address"])) <= high, lease
    assert L.MARK + " start" not in vm.console(), vm.console()[-2000:]
    asked = [line for line in story.access_log().splitlines() if '"remote_addr":"%s"' % lease["address"] in line]
    assert not any("/ks/" in line for line in asked), asked


def test_replace_over_ipv6(story):
    """pxe6's box fails: replace from the pool moves the system to the spare's MAC; Kea DHCPv6
    drops the old box's lease on the reserved address, and the spare installs as pxe6."""
    proc, took = story.playbook("replace", "-e", "system=pxe6", "-e", "from_pool=spares-near6")
    FIGURES["replace playbook (records, render, reload)"] = took
    assert "pxe6: 00:00:5e:00:53:61 -> %s" % SPARE[1] in proc.stdout, proc.stdout[-3000:]
    kea6 = story.on_provisioner("cat /etc/kea/kea-dhcp6.conf")
    assert '"hw-address": "%s"' % SPARE[1] in kea6 and '"00:00:5e:00:53:61"' not in kea6, kea6[:3000]
    took, _console = _installed(story, SPARE[0], "pxe6", generation=2)
    FIGURES["replace over IPv6: the spare's power-on to its callback"] = took
