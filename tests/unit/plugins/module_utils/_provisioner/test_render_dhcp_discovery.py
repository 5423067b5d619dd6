# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery in the DHCP configs: only an unknown client of a segment with discovery on is sent
to the collector; everything else renders as before discovery existed (byte for byte).

The configs in data/no-discovery.* were rendered from support/discovery.py's store by
render_dhcp.py as it was before discovery (commit f1f4662); the real exchanges are in
tests/integration/test_discovery_dhcp.py."""

import json
import os
import shutil
import subprocess

import pytest
from support import discovery as S
from support.store import write_store

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_dhcp as D
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._views import cache as C
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import build_view

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
KEA_LEASES = "/var/lib/kea/kea-leases4.csv"  # render_kea's default, as in the saved config


def _view(tmp_path, discovery=None):
    return build_view(RecordStore.load(write_store(tmp_path / "records", S.files(discovery))), "prov-dmz")


def _saved(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as handle:
        return handle.read()


def _check(command, text, tmp_path):
    path = tmp_path / "candidate.conf"
    path.write_text(text)
    return subprocess.run([*command, str(path)], capture_output=True, text=True, check=False)


def _isc_block(text, start):
    """The lines of text from the one starting with start to its closing brace at that indent."""
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    indent = len(start) - len(start.lstrip())
    last = next(i for i in range(first + 1, len(lines)) if lines[i] == " " * indent + "}")
    return lines[first : last + 1]


@pytest.mark.parametrize("discovery", [None, {"dmz": False, "edge": False}], ids=["absent", "false"])
def test_without_discovery_the_configs_are_byte_for_byte_as_before(tmp_path, discovery):
    view = _view(tmp_path, discovery)
    assert D.render_isc(view) == _saved("no-discovery.dhcpd.conf")
    assert D.render_kea(view, lease_file=KEA_LEASES) == _saved("no-discovery.kea-dhcp4.conf")


def test_isc_sends_only_the_discovery_segment_pool_to_the_collector(tmp_path):
    before = _saved("no-discovery.dhcpd.conf")
    text = D.render_isc(_view(tmp_path, {"dmz": True}))
    pool = _isc_block(text, "  pool {")
    assert pool == [
        "  pool {",
        "    range 192.0.2.200 192.0.2.250;",
        "    allow unknown-clients;",
        "    # discovery: unknown machines boot the collector (UEFI HTTP boot keeps the subnet's file)",
        '    if exists user-class and option user-class = "iPXE" {',
        '      filename "http://192.0.2.1/discovery/discover.ipxe";',
        '    } elsif option arch = 00:10 and substring(option vendor-class-identifier, 0, 10) = "HTTPClient" {',
        "    } elsif option arch = 00:07 or option arch = 00:09 {",
        '      filename "ipxe/snponly.efi";',
        "    } else {",
        '      filename "undionly.kpxe";',
        "    }",
        "  }",
    ]
    # the pool's statements are the only difference: subnet statements, host blocks and the
    # relayed segment without discovery are as before
    assert text.replace("\n".join(pool[3:-1]) + "\n", "") == before


def test_isc_discovery_in_a_relayed_segment_names_the_provisioner_beyond_the_relay(tmp_path):
    text = D.render_isc(_view(tmp_path, {"edge": True}))
    edge = text.split("# segment edge (through the relay 203.0.113.1)\n")[1]
    assert _isc_block(edge, "  pool {")[5] == '      filename "http://192.0.2.1/discovery/discover.ipxe";'
    assert "discover" not in text.split("# segment edge", maxsplit=1)[0]  # the dmz: as before


@pytest.mark.skipif(not shutil.which("dhcpd"), reason="ISC dhcpd is not installed")
@pytest.mark.parametrize("discovery", [{"dmz": True}, {"dmz": True, "edge": True}])
def test_isc_config_with_discovery_passes_dhcpd(tmp_path, discovery):
    proc = _check(["dhcpd", "-t", "-q", "-cf"], D.render_isc(_view(tmp_path, discovery)), tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _kea(tmp_path, discovery):
    return json.loads(D.render_kea(_view(tmp_path, discovery), lease_file=KEA_LEASES))["Dhcp4"]


def test_kea_discovery_classes_come_first_in_the_discovery_segment_only(tmp_path):
    config = _kea(tmp_path, {"dmz": True})
    classes = {c["name"]: c for c in config["client-classes"]}
    dmz, edge = config["subnet4"]
    assert dmz["user-context"] == {"segment": "dmz"} and edge["user-context"] == {"segment": "edge"}
    # the first class the packet gets that sets a boot file gives it: discovery before the rest,
    # and the UEFI class (global without discovery, so ahead of every required class) last
    assert dmz["require-client-classes"] == [
        "bm-discover-ipxe-dmz",
        "bm-discover-uefi",
        "bm-discover-bios",
        "bm-ipxe-dmz",
        "bm-http-dmz",
        "bm-uefi",
    ]
    assert edge["require-client-classes"] == ["bm-ipxe-edge", "bm-http-edge", "bm-uefi"]
    assert classes["bm-uefi"]["only-if-required"] is True
    assert classes["bm-uefi"]["boot-file-name"] == "grub/grubx64.efi"
    assert all(classes[name]["only-if-required"] for name in dmz["require-client-classes"])
    # only a client without a reservation matches a discovery class
    ipxe, uefi, bios = classes["bm-discover-ipxe-dmz"], classes["bm-discover-uefi"], classes["bm-discover-bios"]
    for cls in (ipxe, uefi, bios):
        assert cls["test"].startswith("member('UNKNOWN') and "), cls
    assert ipxe["boot-file-name"] == "http://192.0.2.1/discovery/discover.ipxe"
    assert uefi["boot-file-name"] == "ipxe/snponly.efi" and "0x0007" in uefi["test"] and "0x0009" in uefi["test"]
    assert "not (option[77].hex == 'iPXE')" in uefi["test"]
    # BIOS: the rest, but iPXE, UEFI PXE and UEFI HTTP boot (which keeps the segment's HTTP class)
    assert bios["boot-file-name"] == "undionly.kpxe" and bios["test"].count("not (") == 3
    assert "0x0010" in bios["test"] and "HTTPClient" in bios["test"]
    assert "bm-discover-ipxe-edge" not in classes
    # the subnets, their reservations (and their fixed boot files) are as before
    before = json.loads(_saved("no-discovery.kea-dhcp4.conf"))["Dhcp4"]
    for now, then in zip(config["subnet4"], before["subnet4"]):
        assert dict(now, **{"require-client-classes": None}) == dict(then, **{"require-client-classes": None})


def test_kea_discovery_in_a_relayed_segment(tmp_path):
    config = _kea(tmp_path, {"edge": True})
    dmz, edge = config["subnet4"]
    assert edge["relay"] == {"ip-addresses": ["203.0.113.1"]}
    assert edge["require-client-classes"][:3] == ["bm-discover-ipxe-edge", "bm-discover-uefi", "bm-discover-bios"]
    assert dmz["require-client-classes"] == ["bm-ipxe-dmz", "bm-http-dmz", "bm-uefi"]
    classes = {c["name"]: c for c in config["client-classes"]}
    assert classes["bm-discover-ipxe-edge"]["boot-file-name"] == "http://192.0.2.1/discovery/discover.ipxe"


@pytest.mark.skipif(not shutil.which("kea-dhcp4"), reason="Kea is not installed")
@pytest.mark.parametrize("discovery", [{"dmz": True}, {"dmz": True, "edge": True}])
def test_kea_config_with_discovery_passes_kea(tmp_path, discovery):
    text = D.render_kea(_view(tmp_path, discovery), lease_file=str(tmp_path / "leases.csv"))
    proc = _check(["kea-dhcp4", "-t"], text, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_known_clients_keep_their_fixed_boot_files(tmp_path):
    """A reservation's own file (pxelinux fixed by the profile, shim for Secure Boot) is given
    whatever the classes say: dhcpd's host scope runs last, Kea's reservation fields come last."""
    isc = D.render_isc(_view(tmp_path / "isc", {"dmz": True}))
    assert 'filename "pxelinux.0";' in "\n".join(_isc_block(isc, "host web02-eth0 {"))
    assert 'filename "grub/shimx64.efi";' in "\n".join(_isc_block(isc, "host web03-eth0 {"))
    kea = _kea(tmp_path / "kea", {"dmz": True})
    files = {r["hostname"]: r.get("boot-file-name") for r in kea["subnet4"][0]["reservations"]}
    assert files == {"app01": None, "web01": None, "web02": "pxelinux.0", "web03": "grub/shimx64.efi"}


def test_a_segment_with_discovery_and_no_next_server_is_refused_before_any_render(tmp_path):
    files = S.files({"dmz": True})
    files["segments/dmz.yml"] = files["segments/dmz.yml"].replace("next_server: 192.0.2.1\n", "")
    store = RecordStore.load(write_store(tmp_path / "records", files))
    with pytest.raises(StoreError, match=r"segments/dmz.yml: next_server: a segment with discovery: true needs"):
        build_view(store, "prov-dmz")
    # the renderer never makes up an address for the collector
    with pytest.raises(ValueError, match="discovery on needs next_server"):
        D.discovery_script({"discovery": True})


def test_flipping_discovery_gives_a_new_view_and_a_new_config(tmp_path, monkeypatch):
    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    root = write_store(tmp_path / "records", S.files())
    off = C.cached_provisioner_view(root, "prov-dmz", RecordStore.load)
    assert C.cached_provisioner_view(root, "prov-dmz", RecordStore.load) == off  # from the cache
    write_store(root, {"segments/dmz.yml": S.files({"dmz": True})["segments/dmz.yml"]})
    on = C.cached_provisioner_view(root, "prov-dmz", RecordStore.load)
    assert on["segments"]["dmz"]["discovery"] is True and "discovery" not in off["segments"]["dmz"]
    assert D.render_isc(on) != D.render_isc(off)
    assert D.render_kea(on) != D.render_kea(off)
