# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Boot paths with real firmware, one machine at a time: a far segment through a DHCP relay (ISC
dhcpd and Kea), UEFI HTTP boot, and Secure Boot enforced (see support/paths.py for the lab).

The tests run in file order on one lab: the ISC phase (relay, HTTP boot, Secure Boot, with a BIOS
and a UEFI PXE machine in the same run), then the Kea phase (relay again, HTTP boot's DHCP answer, an HTTP boot,
Secure Boot; a BIOS machine on the near segment in make soak).
"""

import ipaddress
import re
import time

import pytest
from support import lab as L
from support import paths as P
from support.netns import have_root, sh, udhcpc

pytestmark = pytest.mark.skipif(not have_root(), reason="the lab needs root (network namespaces, taps)")

_STATE = {}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    paths_lab = P.PathsLab(tmp_path_factory.mktemp("paths"))
    try:
        paths_lab.setup()
        paths_lab.site("isc")
        paths_lab.start_services()
        _STATE["dhcp_log"] = paths_lab.start_dhcp("isc")
        yield paths_lab
    finally:
        paths_lab.close()


def _in_range(ip, low_high):
    low, high = (ipaddress.IPv4Address(a) for a in low_high)
    return bool(ip) and low <= ipaddress.IPv4Address(ip) <= high


def _installs(lab, name, ip):
    """Boot one known machine; assert it installed as itself with its reserved IP."""
    took, console = lab.install(name)
    assert "%s lease %s/24" % (L.MARK, ip) in console, console[-2000:]
    assert "%s kickstart # %s generation 1" % (L.MARK, name) in console, console[-2000:]
    assert lab.completed().get(name) == 1, lab.completed()
    return took, console


def _unknown_far_machine(lab, server):
    """An unknown MAC on the far segment: a lease from far's dynamic range only, the boot file of
    its firmware type, and fallback configs that boot the local disk, all through the router."""
    if "unknown" not in _STATE:
        _STATE["unknown"] = lab.lab.client(lab.router, "br1", P.UNKNOWN_FAR)
    client = _STATE["unknown"]
    lease = udhcpc(client)
    assert _in_range(lease.get("ip"), P.FAR_RANGE), (server, lease)
    assert lease.get("siaddr") == P.PROVISIONER and lease.get("boot_file") == "pxelinux.0", (server, lease)
    assert lease.get("router") == P.ROUTER_FAR, (server, lease)
    # take the lease as a firmware would, then ask for the boot configs
    sh("ip", "addr", "replace", lease["ip"] + "/24", "dev", "eth0", ns=client)
    sh("ip", "route", "replace", "default", "via", lease["router"], ns=client)
    mac = P.UNKNOWN_FAR.replace(":", "-")
    assert P.tftp_get(client, P.PROVISIONER, "pxelinux.cfg/01-" + mac) is None
    assert "LOCALBOOT 0" in (P.tftp_get(client, P.PROVISIONER, "pxelinux.cfg/default") or "")
    return lease


def _relayed(lab, mac):
    """Whether mac's requests went through the relay and the server's replies came back by it."""
    relay = _read(lab.relay_log)
    return (
        "Forwarded BOOTREQUEST for %s to %s" % (mac, P.PROVISIONER) in relay
        and "Forwarded BOOTREPLY for %s to " % mac in relay
    )


def _read(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def test_relay_isc(lab):
    start = time.monotonic()
    try:
        far, _console = _installs(lab, "far01", "198.51.100.50")
        assert _relayed(lab, P.SYSTEMS["far01"][1]), _read(lab.relay_log)[-3000:]
        # ISC names the relay's giaddr
        assert re.search(
            r"DHCPACK on 198\.51\.100\.50 to %s .*via %s" % (P.SYSTEMS["far01"][1], re.escape(P.ROUTER_FAR)),
            _read(_STATE["dhcp_log"]),
        )
        near, _console = _installs(lab, "near01", "192.0.2.50")
        assert re.search(
            r"DHCPACK on 192\.0\.2\.50 to %s .*via br0" % P.SYSTEMS["near01"][1], _read(_STATE["dhcp_log"])
        )
        _unknown_far_machine(lab, "isc")
        _STATE["relay"] = "ISC: far01 %.1f s, near01 %.1f s" % (far, near)
        _STATE["relay_time"] = far
    except BaseException:
        P.record("relay", "FAILED", time.monotonic() - start, "ISC")
        raise


def _http_boots(lab, name, ip):
    """One machine installs by OVMF's HTTP boot: loader, scripts, kernel and initrd all over HTTP."""
    took, console = _installs(lab, name, ip)
    assert "Start HTTP Boot over IPv4" in console and "URI: http://192.0.2.1/ipxe/snponly.efi" in console, console[
        -3000:
    ]
    assert "Start PXE" not in console, console[-3000:]
    access = lab.access_log()
    mac = P.SYSTEMS[name][1]
    for path in (
        "/ipxe/snponly.efi",
        "/ipxe/boot.ipxe",
        "/ipxe/%s.ipxe" % mac,
        "/images/standin/vmlinuz",
        "/images/standin/initrd",
    ):
        # iPXE escapes the MAC's colons in the request line
        pattern = re.escape(path).replace(":", "(?::|%3A)")
        assert re.search(r"^%s .*\"GET %s HTTP/1\.1\" 200 " % (re.escape(ip), pattern), access, re.M), (
            path,
            access[-3000:],
        )
    return took


def test_uefi_http_boot(lab):
    start = time.monotonic()
    try:
        took = _http_boots(lab, "http01", "192.0.2.70")
        # a UEFI PXE machine in the same run is unaffected (the BIOS one, near01, installed above)
        pxe, console = _installs(lab, "uefi01", "192.0.2.60")
        assert "NBP filename is grub/grubx64.efi" in console, console[-3000:]
        _STATE["http"] = (
            took,
            "ISC: http01 %.1f s, with uefi01 UEFI PXE %.1f s and near01 BIOS in the same run" % (took, pxe),
        )
        P.record("UEFI HTTP boot", "passed", took, _STATE["http"][1])
    except BaseException:
        P.record("UEFI HTTP boot", "FAILED", time.monotonic() - start)
        raise


def test_secure_boot(lab):
    start = time.monotonic()
    try:
        took, console = _installs(lab, "sb01", "192.0.2.80")
        assert P.SB_ENABLED in console, console[-3000:]
        assert "NBP filename is grub/shimx64.efi" in console, console[-3000:]
        # the same firmware, a profile without secure_boot: GRUB without shim is refused
        vm = lab.machines["sb02"]
        vm.power_on()
        try:
            vm.wait(P.SB_DENIED, timeout=180)
        finally:
            vm.power_off()
        assert re.search(r'failed to load Boot\w+ "UEFI PXEv4 [^\n]*: Access Denied', vm.console()), vm.console()[
            -2000:
        ]
        assert "NBP filename is grub/grubx64.efi" in vm.console() and L.MARK not in vm.console(), vm.console()[-2000:]
        assert "sb02" not in lab.completed()
        # and a loader with no signature at all
        name, _mac, _ip, loader = P.UNSIGNED
        vm = lab.machines[name]
        vm.power_on()
        try:
            vm.wait(P.SB_DENIED, timeout=180)
        finally:
            vm.power_off()
        assert "NBP filename is %s" % loader in vm.console(), vm.console()[-2000:]
        assert re.search(r'failed to load Boot\w+ "UEFI PXEv4 [^\n]*: Access Denied', vm.console()), vm.console()[
            -2000:
        ]
        assert "iPXE" not in vm.console(), vm.console()[-2000:]
        P.record(
            "Secure Boot",
            "passed",
            took,
            "sb01: shim -> signed GRUB -> signed kernel, '%s'; GRUB without shim and an unsigned loader refused"
            % P.SB_ENABLED,
        )
    except BaseException:
        P.record("Secure Boot", "FAILED", time.monotonic() - start)
        raise


def test_relay_kea(lab):
    start = time.monotonic()
    try:
        lab.site("kea")
        _STATE["dhcp_log"] = lab.start_dhcp("kea")
        far, _console = _installs(lab, "far02", "198.51.100.51")
        assert _relayed(lab, P.SYSTEMS["far02"][1]), _read(lab.relay_log)[-3000:]
        _unknown_far_machine(lab, "kea")
        # Kea's answer to an HTTP boot client: the boot URL and option 60 HTTPClient
        client = lab.lab.client(lab.ns, "br0", "52:54:00:16:00:f2")
        lease = udhcpc(client, options=("0x5d:0010",), vendor="HTTPClient:Arch:00016:UNDI:003001")
        assert _in_range(lease.get("ip"), P.NEAR_RANGE), lease
        assert lease.get("boot_file") == "http://192.0.2.1/ipxe/snponly.efi" and lease.get("vendor") == "HTTPClient", (
            lease
        )
        # and to the iPXE it loads (EFI: a UEFI architecture and user class iPXE): its script over HTTP
        lease = udhcpc(client, options=("0x5d:0007", "0x4d:" + b"iPXE".hex()))
        assert lease.get("boot_file") == "http://192.0.2.1/ipxe/boot.ipxe" and "vendor" not in lease, lease
        detail = "%s; Kea: far02 %.1f s" % (_STATE.get("relay", "ISC: FAILED"), far)
        P.record("relay", "passed" if "relay" in _STATE else "FAILED", _STATE.get("relay_time", far), detail)
    except BaseException:
        P.record("relay", "FAILED", time.monotonic() - start, "%s; Kea FAILED" % _STATE.get("relay", "ISC: FAILED"))
        raise


def _on_kea(lab):
    """The Kea phase, on its own when make soak runs only the soak tests."""
    if lab.server != "kea":
        lab.site("kea")
        _STATE["dhcp_log"] = lab.start_dhcp("kea")


@pytest.mark.soak(
    reason="a BIOS machine on the provisioner's own segment installing under Kea is "
    "tests/e2e/test_replace_story.py's web01 (step 2: Kea, BIOS, pxelinux, reserved IP, callback); "
    "this Kea config's direct segment beside the relayed one: http02 and sb03 here; "
    "pxelinux from this Kea config: far02 (test_relay_kea)"
)
def test_bios_near_kea(lab):
    """A BIOS machine on the near segment, direct, under the Kea that also serves the relayed far."""
    _on_kea(lab)
    _installs(lab, "near02", "192.0.2.51")


def test_uefi_http_boot_kea(lab):
    """The same firmware path with Kea answering (the segment's own HTTP class, option 60 back)."""
    assert lab.server == "kea", "runs after test_relay_kea, on its Kea"
    took, detail = _STATE.get("http", (None, "ISC: failed or not run"))
    try:
        kea = _http_boots(lab, "http02", "192.0.2.71")
        P.record(
            "UEFI HTTP boot",
            "passed" if "http" in _STATE else "FAILED",
            took if took is not None else kea,
            "%s; Kea: http02 %.1f s" % (detail, kea),
        )
    except BaseException:
        P.record("UEFI HTTP boot", "FAILED", took, "%s; Kea: FAILED" % detail)
        raise


def test_secure_boot_kea(lab):
    """Secure Boot enforced with Kea answering: shim by the reservation, then signed GRUB and kernel."""
    assert lab.server == "kea", "runs after test_relay_kea, on its Kea"
    start = time.monotonic()
    try:
        took, console = _installs(lab, "sb03", "192.0.2.82")
        assert P.SB_ENABLED in console, console[-3000:]
        assert "NBP filename is grub/shimx64.efi" in console, console[-3000:]
        P.record("Secure Boot under Kea", "passed", took, "sb03: shim -> signed GRUB -> signed kernel")
    except BaseException:
        P.record("Secure Boot under Kea", "FAILED", time.monotonic() - start)
        raise
