# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""DHCPv6 (Kea), radvd and the boot files of machines that boot over IPv6, rendered from a store
with an IPv6-only segment, a relayed one and a dual-stack one; the daemons' own checkers read
what is rendered. The boots themselves are in tests/e2e/test_ipv6.py."""

import json
import os
import shutil
import subprocess

import pytest
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_dhcp as D
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import sync as S
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import build_view

V6 = "ipv6:\n  network: 2001:db8:10::/64\n  next_server: 2001:db8:10::1\n  dns: [2001:db8:10::53]\n"
V6 += "  dynamic_range: [2001:db8:10::1000, 2001:db8:10::1fff]\n"


def _files(**extra):
    files = dict(FILES)
    # dmz is dual-stack; far is IPv6-only, behind a relay; web01 boots over IPv4 (it has an ip),
    # v601, sb601 (Secure Boot) and far01 over IPv6
    files["segments/dmz.yml"] = FILES["segments/dmz.yml"] + V6
    files["segments/far.yml"] = (
        "provisioner: prov-dmz\ndomain: far.example.test\nipv6:\n  network: 2001:db8:20::/64\n"
        "  next_server: 2001:db8:10::1\n  relay: 2001:db8:20::1\n"
        "  dynamic_range: [2001:db8:20::100, 2001:db8:20::1ff]\n"
    )
    files["tiers/far.yml"] = "segment: far\nprofile: rocky9-web\n"
    files["profiles/rocky9-sb.yml"] = "distro: rocky9\ntemplate: rocky9.ks.j2\nsecure_boot: true\n"
    files["systems/web01.yml"] = FILES["systems/web01.yml"].replace(
        "ip: 192.0.2.50,", 'ip: 192.0.2.50, ipv6: "2001:db8:10::50",'
    )
    files["systems/v601.yml"] = (
        'tier: web\ninterfaces:\n  - {name: eth0, mac: "00:00:5e:00:53:01", ipv6: "2001:db8:10::51"}\n'
    )
    files["systems/sb601.yml"] = (
        'tier: web\nprofile: rocky9-sb\ninterfaces:\n  - {name: eth0, mac: "00:00:5e:00:53:02", ipv6: "2001:db8:10::52"}\n'
    )
    files["systems/far01.yml"] = (
        'tier: far\ninterfaces:\n  - {name: eth0, mac: "00:00:5e:00:53:03", ipv6: "2001:db8:20::53"}\n'
    )
    files.update(extra)
    return {relpath: text for relpath, text in files.items() if text is not None}


DIRECT_ONLY = {"segments/far.yml": None, "tiers/far.yml": None, "systems/far01.yml": None}


def _view(tmp_path, **extra):
    store = RecordStore.load(write_store(tmp_path / "records", _files(**extra)))
    assert store.problems() == []
    return build_view(store, "prov-dmz")


def _kea6(view, interfaces=None):
    return json.loads(D.render_kea6(view, interfaces or {"dmz": "br0", "far": "br0"}))["Dhcp6"]


def test_the_subnets_classes_and_reservations(tmp_path):
    dhcp6 = _kea6(_view(tmp_path))
    dmz, far = dhcp6["subnet6"]
    assert dmz["subnet"] == "2001:db8:10::/64" and dmz["interface"] == "br0" and "relay" not in dmz
    # a relayed segment's subnet is picked by the relay's address on it, not by an interface
    assert far["relay"] == {"ip-addresses": ["2001:db8:20::1"]} and "interface" not in far
    assert dmz["pools"] == [{"pool": "2001:db8:10::1000 - 2001:db8:10::1fff"}]
    assert {"name": "dns-servers", "data": "2001:db8:10::53"} in dmz["option-data"]
    assert {"name": "domain-search", "data": "dmz.example.test"} in dmz["option-data"]
    # the relay sends to the provisioner's global address: Kea listens there too (unicast)
    assert dhcp6["interfaces-config"]["interfaces"] == ["br0/2001:db8:10::1"]
    direct = _kea6(_view(tmp_path / "direct", **DIRECT_ONLY), {"dmz": "br0"})
    assert direct["interfaces-config"]["interfaces"] == ["br0"]
    # by MAC, taken from the DUID only: the installer's holds it; firmware's and iPXE's do not
    # (they lease from the pool, and iPXE cannot keep the installer from its reserved address)
    assert dhcp6["host-reservation-identifiers"] == ["hw-address"] and dhcp6["mac-sources"] == ["duid"]
    assert dmz["reservations"] == [
        {"hw-address": "00:00:5e:00:53:02", "ip-addresses": ["2001:db8:10::52"], "hostname": "sb601"},
        {"hw-address": "00:00:5e:00:53:01", "ip-addresses": ["2001:db8:10::51"], "hostname": "v601"},
        {"hw-address": "52:54:00:12:34:56", "ip-addresses": ["2001:db8:10::50"], "hostname": "web01"},
    ]
    assert far["reservations"] == [
        {"hw-address": "00:00:5e:00:53:03", "ip-addresses": ["2001:db8:20::53"], "hostname": "far01"}
    ]
    classes = {c["name"]: c for c in dhcp6["client-classes"]}
    assert dmz["require-client-classes"] == ["bm6-ipxe-dmz", "bm6-http-dmz", "bm6-pxe-dmz"]
    assert all(c["only-if-required"] for c in classes.values())
    urls = {name: c["option-data"][0]["data"] for name, c in classes.items()}
    # PXE: shim, for every machine (Secure Boot or not), then GRUB; through a relay iPXE, which
    # takes its route from the router advertisement (GRUB does not)
    assert urls["bm6-pxe-dmz"] == "tftp://[2001:db8:10::1]/grub/shimx64.efi"
    assert urls["bm6-pxe-far"] == "tftp://[2001:db8:10::1]/ipxe/snponly.efi"
    assert urls["bm6-http-dmz"] == "http://[2001:db8:10::1]/ipxe/snponly.efi"
    assert urls["bm6-ipxe-far"] == "http://[2001:db8:10::1]/ipxe/boot-far.ipxe"
    # HTTP boot: vendor class 16, enterprise 343, "HTTPClient" (length 10) echoed; never PXEClient
    assert classes["bm6-http-dmz"]["option-data"][1] == {
        "name": "vendor-class",
        "data": "343, 000a48545450436c69656e74",
        "always-send": True,
    }
    assert bytes.fromhex("48545450436c69656e74") == b"HTTPClient"
    assert "PXEClient" not in json.dumps(dhcp6)


def test_radvd_advertises_only_on_the_provisioner_s_own_links(tmp_path):
    text = D.render_radvd(_view(tmp_path), {"dmz": "br0", "far": "br0"})
    assert "interface br0 {" in text and text.count("interface ") == 1  # far is relayed
    for line in ("AdvManagedFlag on;", "AdvOtherConfigFlag on;", "AdvAutonomous off;", "AdvDefaultLifetime 0;"):
        assert line in text
    assert "prefix 2001:db8:10::/64 {" in text and "RDNSS 2001:db8:10::53 {" in text
    quiet = FILES["segments/dmz.yml"] + V6 + "  advertise: false\n"
    assert D.render_radvd(_view(tmp_path / "quiet", **{"segments/dmz.yml": quiet}), {"dmz": "br0"}) is None


@pytest.mark.skipif(not shutil.which("kea-dhcp6") or not shutil.which("radvd"), reason="kea-dhcp6 or radvd missing")
def test_the_daemons_accept_what_is_rendered(tmp_path):
    # kea-dhcp6 -t opens the interfaces: the relay's unicast address (not on this host) is checked
    # where the lab has it, in the end-to-end tests
    view = _view(tmp_path, **DIRECT_ONLY)
    kea = tmp_path / "kea-dhcp6.conf"
    kea.write_text(D.render_kea6(view, {"dmz": "lo"}, lease_file=str(tmp_path / "leases6.csv")))
    proc = subprocess.run(["kea-dhcp6", "-t", str(kea)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    radvd = tmp_path / "radvd.conf"
    radvd.write_text(D.render_radvd(view, {"dmz": "lo"}))
    proc = subprocess.run(
        ["radvd", "--configtest", "--config", str(radvd)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and "syntax ok" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_which_interface_serves_each_direct_segment(tmp_path):
    view = _view(tmp_path)
    # far is relayed: its relay sends to far's next_server, an address of dmz's interface
    given = {"ipv6": {"interfaces": {"dmz": "prov0"}}}
    assert S.ipv6_interfaces(view, given, addresses=[]) == {"dmz": "prov0", "far": "prov0"}
    found = [("eth0", "192.0.2.1/24"), ("br7", "2001:db8:10::1/64")]
    assert S.ipv6_interfaces(view, {}, addresses=found) == {"dmz": "br7", "far": "br7"}
    assert S.ipv6_interfaces(view, {"interfaces": ["br0"]}, addresses=[]) == {"dmz": "br0", "far": "br0"}
    with pytest.raises(S.SyncFailed) as refused:
        S.ipv6_interfaces(view, {"interfaces": ["br0", "br1"]}, addresses=[("br0", "2001:db8:99::1/64")])
    assert str(refused.value) == (
        "dhcp.ipv6.interfaces: no interface of provisioner prov-dmz has an address in 2001:db8:10::/64 "
        "(segment dmz, ipv6.network); its IPv6 addresses: br0 2001:db8:99::1/64. Give the interface in "
        "dhcp_ipv6_interfaces ({dmz: <interface>})"
    )
    with pytest.raises(S.SyncFailed) as refused:
        given = {"interfaces": ["br0", "br1"], "ipv6": {"interfaces": {"dmz": "br0"}}}
        S.ipv6_interfaces(
            _view(
                tmp_path / "elsewhere",
                **{
                    "segments/far.yml": _files()["segments/far.yml"].replace(
                        "next_server: 2001:db8:10::1", "next_server: 2001:db8:30::1"
                    )
                },
            ),
            given,
            addresses=[],
        )
    assert "has the address 2001:db8:30::1 (segment far, ipv6.next_server, which its relay sends to)" in str(
        refused.value
    )
    with pytest.raises(S.SyncFailed, match=r"^dhcp.ipv6.interfaces.nope: provisioner prov-dmz serves no IPv6 segment"):
        S.ipv6_interfaces(view, {"ipv6": {"interfaces": {"nope": "br1"}}}, addresses=[])


def _options(tmp_path, **six):
    return {
        "config": str(tmp_path / "etc" / "dhcpd.conf"),
        "check_command": [],
        "interfaces": ["br0"],
        "ipv6": dict(
            {
                "config": str(tmp_path / "etc" / "kea-dhcp6.conf"),
                "radvd_config": str(tmp_path / "etc" / "radvd.conf"),
                "check_command": [],
                "radvd_check_command": [],
            },
            **six,
        ),
    }


def test_sync_writes_both_families_and_is_idempotent(tmp_path):
    view = _view(tmp_path)
    first = S.sync("dhcp", view, _options(tmp_path))
    assert first["changed"] and first["dhcp4_changed"] and first["families"] == [4, 6]
    six = first["ipv6"]
    assert six["dhcp6"] and six["radvd"] and six["dhcp6_changed"] and six["radvd_changed"]
    assert sorted(os.path.basename(p) for p in six["written"]) == ["kea-dhcp6.conf", "radvd.conf"]
    again = S.sync("dhcp", view, _options(tmp_path))
    assert not again["changed"] and again["ipv6"]["written"] == [] and not again["ipv6"]["dhcp6_changed"]


def test_a_rejected_dhcpv6_config_writes_nothing(tmp_path):
    view = _view(tmp_path)
    with pytest.raises(S.SyncFailed) as refused:
        S.sync("dhcp", view, _options(tmp_path, check_command=["sh", "-c", 'echo "bad option $0" >&2; exit 1']))
    assert "rejected the new config; the live one was left as it was" in str(refused.value)
    assert "bad option" in str(refused.value)
    assert not (tmp_path / "etc" / "dhcpd.conf").exists() and not (tmp_path / "etc" / "kea-dhcp6.conf").exists()


def test_without_ipv6_segments_the_files_this_collection_wrote_go(tmp_path):
    S.sync("dhcp", _view(tmp_path), _options(tmp_path))
    mine = tmp_path / "etc" / "radvd.conf"
    assert mine.exists()
    v4_only = {
        "segments/dmz.yml": FILES["segments/dmz.yml"],
        "segments/far.yml": None,
        "tiers/far.yml": None,
        "systems/sb601.yml": None,
        "systems/v601.yml": None,
        "systems/far01.yml": None,
        "systems/web01.yml": FILES["systems/web01.yml"],
    }
    files = {k: v for k, v in _files(**v4_only).items() if v is not None}
    view = build_view(RecordStore.load(write_store(tmp_path / "v4", files)), "prov-dmz")
    result = S.sync("dhcp", view, _options(tmp_path))
    assert sorted(os.path.basename(p) for p in result["ipv6"]["removed"]) == ["kea-dhcp6.conf", "radvd.conf"]
    assert result["families"] == [4] and not result["ipv6"]["dhcp6"] and not mine.exists()
    # an operator's own radvd.conf (no header of this collection's) is never removed
    mine.write_text("interface eth9 { AdvSendAdvert on; };\n")
    assert S.sync("dhcp", view, _options(tmp_path))["ipv6"]["removed"] == [] and mine.exists()


def test_what_a_machine_booting_over_ipv6_is_served(tmp_path):
    view = _view(tmp_path)
    tftp = S.tftp_files(view, {s["name"]: True for s in view["systems"]})
    # iPXE's first script of an IPv6 segment names the segment's address (${next-server} is IPv4's)
    assert tftp["ipxe/boot-dmz.ipxe"].endswith(
        "chain --autofree http://[2001:db8:10::1]/ipxe/${netX/mac}.ipxe || exit\n"
    )
    assert "ipxe/boot-far.ipxe" in tftp
    grub = tftp["grub/grub.cfg-01-00:00:5e:00:53:01"]
    assert "inst.ks=http://[2001:db8:10::1]/ks/v601.cfg" in grub and " ip=dhcp6" in grub
    ipxe = tftp["ipxe/00:00:5e:00:53:01.ipxe"]
    assert "kernel http://[2001:db8:10::1]/images/rocky9/vmlinuz " in ipxe
    # web01 is dual-stack: it boots and installs over IPv4, as before
    assert "inst.ks=http://192.0.2.1/ks/web01.cfg" in tftp["grub/grub.cfg-01-52:54:00:12:34:56"]
    assert "ip=dhcp6" not in tftp["grub/grub.cfg-01-52:54:00:12:34:56"]
    view = _view(tmp_path / "cb", **{"templates/rocky9.ks.j2": "{{ install_url }} {{ callback_url }}\n"})
    files, owners, index = S.web_files(view, b"secret", {})
    # the install config is served to the machine's own address in the family it installs over
    assert owners["v601"] == "2001:db8:10::51" and owners["web01"] == "192.0.2.50"
    assert index["far01"]["ip"] == "2001:db8:20::53"
    assert files["ks/v601.cfg"].startswith("http://[2001:db8:10::1]/ks/v601.cfg http://[2001:db8:10::1]/bm/callback/")
    assert files["ks/web01.cfg"].startswith("http://192.0.2.1/ks/web01.cfg http://192.0.2.1/bm/callback/")


class _DiffModule(object):
    """What _sync_components reads of an AnsibleModule: its options, check and diff mode."""

    def __init__(self, dhcp):
        self.params = {"dhcp": dhcp, "tftp": None, "web": None}
        self.check_mode = True
        self._diff = True

    def fail_json(self, **kwargs):
        raise AssertionError(kwargs)


def test_the_diff_shows_each_dhcp_file_that_changes(tmp_path):
    from ansible_collections.baremetal.provision.plugins.module_utils._runner import provisioner as R

    out = R._sync_components(_DiffModule(_options(tmp_path)), _view(tmp_path))
    headers = [d["before_header"] for d in out["diff"]]
    assert [os.path.basename(h) for h in headers] == ["dhcpd.conf", "kea-dhcp6.conf", "radvd.conf"], headers
    radvd = next(d for d in out["diff"] if d["before_header"].endswith("radvd.conf"))
    assert radvd["before"] == "" and "AdvManagedFlag on;" in radvd["after"]
    # the texts go to the diff only, not into the module's result
    assert "diffs" not in out["components"]["dhcp"]["ipv6"] and "AdvManagedFlag" not in json.dumps(out["components"])
    # check mode: nothing written
    assert not (tmp_path / "etc" / "radvd.conf").exists()


def test_the_diff_shows_only_what_changes_on_disk(tmp_path):
    from ansible_collections.baremetal.provision.plugins.module_utils._runner import provisioner as R

    # an IPv4-only store, an operator's own radvd.conf (kept) and this collection's kea-dhcp6.conf (removed)
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "radvd.conf").write_text("interface eth9 { AdvSendAdvert on; };\n")
    S.sync(
        "dhcp",
        _view(tmp_path / "v6"),
        dict(_options(tmp_path), ipv6=dict(_options(tmp_path)["ipv6"], radvd_config=str(tmp_path / "mine.conf"))),
    )
    files = _files()
    for relpath in ("segments/far.yml", "tiers/far.yml", "systems/far01.yml", "systems/sb601.yml", "systems/v601.yml"):
        files.pop(relpath)
    files["segments/dmz.yml"] = FILES["segments/dmz.yml"]
    files["systems/web01.yml"] = FILES["systems/web01.yml"]
    view = build_view(RecordStore.load(write_store(tmp_path / "v4", files)), "prov-dmz")
    module = _DiffModule(_options(tmp_path))
    module.check_mode = False
    out = R._sync_components(module, view)
    headers = [os.path.basename(d["before_header"]) for d in out["diff"]]
    assert headers == ["kea-dhcp6.conf"], headers
    assert out["components"]["dhcp"]["ipv6"]["removed"] == [str(etc / "kea-dhcp6.conf")]
    assert (etc / "radvd.conf").read_text() == "interface eth9 { AdvSendAdvert on; };\n"
