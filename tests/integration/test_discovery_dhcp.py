# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery's boot files, asked of the real ISC dhcpd and the real Kea in network namespaces.

One provisioner serves two segments on its own links: dmz (192.0.2.0/24 on br0), with discovery
on, and app (198.51.100.0/24 on br1), with a dynamic range but without discovery. The DHCP config
is written by the provisioner's own sync (the code the dhcp role runs, with the daemon's check)
from the view of the records; busybox udhcpc asks as BIOS, UEFI PXE (option 93 = 7), iPXE (user
class "iPXE") and UEFI HTTP boot clients. Then discovery is switched off in the records, the
config is synced again, and the same unknown machine is answered as before discovery existed.
"""

import os

import pytest
from support.netns import Lab, have_root, udhcpc
from support.services import start_dhcp
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import sync as P
from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import load_snapshot
from ansible_collections.baremetal.provision.plugins.module_utils._views.cache import cached_provisioner_view

pytestmark = pytest.mark.skipif(not have_root(), reason="network namespaces need root")

PROVISIONER = "prov-lab"
WEB01_MAC = FILES["systems/web01.yml"].split('mac: "')[1].split('"')[0]  # known, in the dmz
UNKNOWN_DMZ = "52:54:00:99:00:01"
UNKNOWN_APP = "52:54:00:99:00:02"
UEFI = ["0x5d:0007"]
IPXE = ["0x4d:69505845"]
HTTP_BOOT = dict(options=["0x5d:0010"], vendor="HTTPClient")

DISCOVERY = {
    "bios": "undionly.kpxe",
    "uefi": "ipxe/snponly.efi",
    "ipxe": "http://192.0.2.1/discovery/discover.ipxe",
    "http": "http://192.0.2.1/ipxe/snponly.efi",
}
TODAY = {
    "bios": "pxelinux.0",
    "uefi": "grub/grubx64.efi",
    "ipxe": "http://192.0.2.1/ipxe/boot.ipxe",
    "http": "http://192.0.2.1/ipxe/snponly.efi",
}
TODAY_APP = dict(TODAY, ipxe="http://198.51.100.1/ipxe/boot.ipxe", http="http://198.51.100.1/ipxe/snponly.efi")


def _segments(discovery):
    dmz = FILES["segments/dmz.yml"].replace("provisioner: prov-dmz", "provisioner: " + PROVISIONER)
    app = FILES["segments/app.yml"].replace("provisioner: prov-app", "provisioner: " + PROVISIONER)
    return {
        "segments/dmz.yml": dmz + "discovery: %s\n" % ("true" if discovery else "false"),
        "segments/app.yml": app + "dynamic_range: [198.51.100.200, 198.51.100.250]\n",
    }


def _boot_files(ns, server):
    """{client kind: boot file, client kind + " ip": address} of one machine asking as each kind
    of client."""
    answers = {}
    for kind, ask in (
        ("bios", {}),
        ("uefi", {"options": UEFI}),
        ("ipxe", {"options": IPXE}),
        ("http", HTTP_BOOT),
    ):
        lease = udhcpc(ns, **ask)
        assert lease, "no lease for a %s client" % kind
        answers[kind] = lease["boot_file"]
        answers[kind + " ip"] = lease["ip"]
        # the firmware takes an HTTP boot offer only with its class sent back; Kea sends it always,
        # dhcpd when asked for (udhcpc does not ask, UEFI firmware does)
        if kind == "http" and server == "kea":
            assert lease.get("vendor") == "HTTPClient", lease
    return answers


def _files(answers):
    return {kind: file for kind, file in answers.items() if not kind.endswith(" ip")}


class Lab4(object):
    """The records, the provisioner's namespace with a bridge per segment, and its DHCP server."""

    def __init__(self, tmp, server):
        self.tmp, self.server = str(tmp), server
        self.run = os.path.join(self.tmp, "run")
        os.makedirs(self.run)
        self.records = write_store(os.path.join(self.tmp, "records"), dict(FILES, **_segments(discovery=True)))
        self.lab = Lab("bmd")
        self.ns = self.lab.namespace("prov")
        self.lab.bridge(self.ns, "br0", "192.0.2.1/24")
        self.lab.bridge(self.ns, "br1", "198.51.100.1/24")
        self.config = os.path.join(self.run, "kea-dhcp4.conf" if server == "kea" else "dhcpd.conf")
        self.options = {
            "server": server,
            "config": self.config,
            "interfaces": ["br0", "br1"],
            "kea_lease_file": os.path.join(self.run, "kea-leases4.csv"),
            # the daemon's check where it runs: Kea's binds the interfaces its config names
            "check_command": ["ip", "netns", "exec", self.ns, "kea-dhcp4" if server == "kea" else "dhcpd", "-t"]
            + ([] if server == "kea" else ["-q", "-cf"]),
        }
        self.dhcp = None

    def sync(self):
        """The provisioner's view through the controller's cache, rendered and checked by the sync."""
        view = cached_provisioner_view(self.records, PROVISIONER, load_snapshot)
        return P.sync("dhcp", view, self.options)

    def set_discovery(self, on):
        write_store(self.records, _segments(discovery=on))

    def start(self):
        """(Re)start the daemon on the config (what the role's handler does under systemd)."""
        if self.dhcp is not None:
            self.lab.stop(self.dhcp)
        self.dhcp, self.log = start_dhcp(self.lab, self.ns, self.server, self.config, self.run, ("br0", "br1"))

    def client(self, mac, bridge="br0"):
        return self.lab.client(self.ns, bridge, mac)

    def close(self):
        self.lab.close()


@pytest.fixture(params=["isc", "kea"])
def lab4(request, tmp_path):
    lab = Lab4(tmp_path, request.param)
    yield lab
    lab.close()


def test_unknown_machines_of_a_discovery_segment_boot_the_collector_and_no_one_else(lab4):
    first = lab4.sync()
    assert first["changed"] and first["written"], first
    lab4.start()
    unknown = lab4.client(UNKNOWN_DMZ)
    known = lab4.client(WEB01_MAC)
    elsewhere = lab4.client(UNKNOWN_APP, bridge="br1")

    found = _boot_files(unknown, lab4.server)
    assert _files(found) == DISCOVERY, found
    assert all(found[kind + " ip"].startswith("192.0.2.2") for kind in DISCOVERY), found  # from the range

    booted = _boot_files(known, lab4.server)  # a reservation in the same segment: what it got before discovery
    assert _files(booted) == TODAY, booted
    assert {booted[kind + " ip"] for kind in TODAY} == {"192.0.2.50"}

    other = _boot_files(elsewhere, lab4.server)  # the segment without discovery
    assert _files(other) == TODAY_APP, other
    assert other["bios ip"].startswith("198.51.100.2")

    # discovery off in the records: the config changes, and the same machine boots as before
    assert not lab4.sync()["changed"]
    lab4.set_discovery(False)
    off = lab4.sync()
    assert off["changed"] and "discover" not in off["after"] and "discover" in off["before"], off["after"]
    lab4.start()
    assert _files(_boot_files(unknown, lab4.server)) == TODAY
    assert _files(_boot_files(known, lab4.server)) == TODAY
    assert _files(_boot_files(elsewhere, lab4.server)) == TODAY_APP
