# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the sync does on the provisioner host besides rendering: the DHCP interfaces derived
from the host's addresses, the other DHCP server's stale config, files placed into the trees."""

import os

import pytest

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_dhcp as D
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import sync as P

VIEW = {
    "provisioner": "prov-lab",
    "segments": {
        "dmz": {"network": "192.0.2.0/24"},
        "app": {"network": "198.51.100.0/24"},
        "far": {"network": "203.0.113.0/24", "relay": "203.0.113.1"},
    },
    "systems": [],
    "distros": {"deb12": {"kernel": "/srv/images/linux", "initrd": "http://192.0.2.1/initrd.gz"}},
}


def test_interfaces_are_those_with_an_address_in_a_served_segment():
    addresses = [
        ("lo", "127.0.0.1/8"),
        ("eth0", "10.0.0.5/8"),
        ("br-dmz", "192.0.2.10/24"),
        ("br-app", "198.51.100.10/24"),
        ("br-app", "198.51.100.11/24"),
        ("far0", "203.0.113.9/24"),
    ]
    # a relayed segment is not served on a link of this host: its interface is not one of them
    assert P.served_interfaces(VIEW, addresses) == ["br-dmz", "br-app"]


def test_no_interface_in_a_served_segment_is_a_clear_refusal():
    with pytest.raises(P.SyncFailed) as err:
        P.served_interfaces(VIEW, [("eth0", "10.0.0.5/8")])
    message = str(err.value)
    assert "prov-lab" in message and "dmz (192.0.2.0/24)" in message and "app (198.51.100.0/24)" in message
    assert "eth0 10.0.0.5/8" in message and "dhcp_interfaces" in message
    assert "far" not in message.split("its addresses", maxsplit=1)[0]


def test_derive_refuses_before_any_write(tmp_path, monkeypatch):
    monkeypatch.setattr(P, "local_addresses", lambda: [("eth0", "10.0.0.5/8")])
    config = tmp_path / "dhcpd.conf"
    config.write_text("old\n")
    with pytest.raises(P.SyncFailed):
        P.sync_dhcp(VIEW, {"config": str(config), "derive_interfaces": True, "check_command": []}, False)
    assert config.read_text() == "old\n"


def test_the_given_interfaces_are_used_without_deriving(monkeypatch):
    monkeypatch.setattr(P, "local_addresses", lambda: pytest.fail("must not look at the host's addresses"))
    assert P.dhcp_interfaces(VIEW, {"interfaces": ["eth1"]}) == ["eth1"]
    assert P.dhcp_interfaces(VIEW, {}) == ["*"]


def test_local_addresses_reads_iproute2():
    if not os.path.exists("/sbin/ip") and not os.path.exists("/usr/sbin/ip") and not os.path.exists("/bin/ip"):
        pytest.skip("no iproute2")
    assert ("lo", "127.0.0.1/8") in P.local_addresses()


def test_stale_configs_go_only_when_this_collection_wrote_them(tmp_path):
    ours, theirs = tmp_path / "dhcpd.conf", tmp_path / "kea-dhcp4.conf"
    ours.write_text("# " + D.HEADER % "prov-lab" + "\nsubnet ...\n")
    theirs.write_text("# Sample configuration file for ISC dhcpd\n")
    options = {
        "config": str(tmp_path / "live.conf"),
        "stale_configs": [str(ours), str(theirs), str(tmp_path / "gone.conf")],
    }
    assert P.remove_stale_configs(options, check_mode=True) == [str(ours)]
    assert ours.exists()
    assert P.remove_stale_configs(options, check_mode=False) == [str(ours)]
    assert not ours.exists() and theirs.exists()
    # the live config is never stale
    live = tmp_path / "live.conf"
    live.write_text("# " + D.HEADER % "prov-lab" + "\n")
    assert P.remove_stale_configs({"config": str(live), "stale_configs": [str(live)]}, False) == []
    assert live.exists()


def test_placed_files_are_written_only_when_they_differ(tmp_path):
    wanted = {"pxelinux.0": (b"loader", 0o644), "grub/shimx64.efi": (b"shim", 0o644)}
    assert P.place_files(str(tmp_path), wanted, True, "tftp.copies") == ["grub/shimx64.efi", "pxelinux.0"]
    assert not (tmp_path / "pxelinux.0").exists()
    assert P.place_files(str(tmp_path), wanted, False, "tftp.copies") == ["grub/shimx64.efi", "pxelinux.0"]
    assert (tmp_path / "grub" / "shimx64.efi").read_bytes() == b"shim"
    assert P.place_files(str(tmp_path), wanted, False, "tftp.copies") == []
    with pytest.raises(P.SyncFailed, match="not a path inside"):
        P.place_files(str(tmp_path), {"../escape": (b"x", 0o644)}, False, "tftp.copies")


def test_tftp_copies_read_every_source_first(tmp_path):
    loader = tmp_path / "pxelinux.0"
    loader.write_bytes(b"loader")
    options = {"copies": {"pxelinux.0": str(loader)}, "copy_artifacts": True}
    with pytest.raises(P.SyncFailed) as err:
        P._tftp_copies(VIEW, options)
    assert "images/deb12/vmlinuz" in str(err.value) and "/srv/images/linux" in str(err.value)
    view = dict(VIEW, distros={"deb12": {"kernel": str(loader), "initrd": "http://192.0.2.1/initrd.gz"}})
    assert P._tftp_copies(view, options) == {
        "pxelinux.0": (b"loader", 0o644),
        "images/deb12/vmlinuz": (b"loader", 0o644),
    }
