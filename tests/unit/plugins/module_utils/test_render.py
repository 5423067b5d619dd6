# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Rendering: DHCP configs (checked by the real daemons), boot configs, install configs, tree sync."""

import json
import os
import re
import shutil
import subprocess

import pytest
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_boot as B
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_dhcp as D
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_install as I
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import sync as P
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import tree_sync as T
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._views import cache as C
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import build_view

SECURE = """\
distro: rocky9
template: rocky9.ks.j2
secure_boot: true
"""


def _view(tmp_path, provisioner="prov-dmz", extra=None):
    files = dict(FILES)
    files.update(extra or {})
    return build_view(RecordStore.load(write_store(tmp_path / "records", files)), provisioner)


def _hosts_isc(text):
    """{host id: {mac, ip, filename}} parsed back from a dhcpd.conf."""
    hosts = {}
    for match in re.finditer(r"^host (\S+) \{\n(.*?)^\}", text, re.S | re.M):
        body = match.group(2)
        entry = {
            "mac": re.search(r"hardware ethernet (\S+);", body).group(1),
            "ip": re.search(r"fixed-address (\S+);", body).group(1),
        }
        filename = re.search(r'filename "([^"]+)";', body)
        entry["filename"] = filename.group(1) if filename else None
        hosts[match.group(1)] = entry
    return hosts


def _daemon_check(command, text, tmp_path):
    path = tmp_path / "candidate.conf"
    path.write_text(text)
    return subprocess.run([*command, str(path)], capture_output=True, text=True, check=False)


def test_view_holds_the_served_segments_and_systems(tmp_path):
    view = _view(tmp_path)
    assert sorted(view["segments"]) == ["dmz"]
    # app01's primary segment is app, but its eth1 is in the dmz: it is served here for that NIC
    assert sorted(s["name"] for s in view["systems"]) == ["app01", "web01"]
    assert sorted(view["templates"]) == ["rocky9.ks.j2"] and sorted(view["distros"]) == ["rocky9"]
    json.dumps(view)  # the action plugin sends it to the module as JSON


def test_view_refuses_an_unknown_provisioner_and_a_broken_store(tmp_path):
    with pytest.raises(StoreError, match=r"no segment names 'prov-x' as its provisioner \(named: prov-app, prov-dmz\)"):
        _view(tmp_path, "prov-x")
    broken = FILES["systems/web01.yml"].replace("192.0.2.50", "192.0.2.220")
    with pytest.raises(StoreError, match=r"systems/web01.yml: interfaces\[0\]\.ip"):
        _view(tmp_path / "b", extra={"systems/web01.yml": broken})


@pytest.mark.skipif(not shutil.which("dhcpd"), reason="ISC dhcpd is not installed")
def test_isc_config_passes_dhcpd_and_holds_exactly_the_reservations(tmp_path):
    web03 = (
        FILES["systems/web01.yml"].replace("12:34:56", "12:34:58").replace("192.0.2.50", "192.0.2.52")
        + "profile: secure\n"
    )
    web04 = (
        FILES["systems/web01.yml"].replace("12:34:56", "12:34:59").replace("192.0.2.50", "192.0.2.53")
        + "boot_loader: grub\n"
    )
    view = _view(
        tmp_path, extra={"profiles/secure.yml": SECURE, "systems/web03.yml": web03, "systems/web04.yml": web04}
    )
    text = D.render_isc(view)
    proc = _daemon_check(["dhcpd", "-t", "-q", "-cf"], text, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _hosts_isc(text) == {
        "app01-eth1": {"mac": "52:54:00:12:34:61", "ip": "192.0.2.60", "filename": None},
        "web01-eth0": {"mac": "52:54:00:12:34:56", "ip": "192.0.2.50", "filename": None},
        "web03-eth0": {"mac": "52:54:00:12:34:58", "ip": "192.0.2.52", "filename": D.SHIM},
        "web04-eth0": {"mac": "52:54:00:12:34:59", "ip": "192.0.2.53", "filename": D.GRUB},
    }
    assert "range 192.0.2.200 192.0.2.250;" in text
    broken = _daemon_check(["dhcpd", "-t", "-q", "-cf"], D.render_isc(view, extra="not a statement;"), tmp_path)
    assert broken.returncode != 0


@pytest.mark.skipif(not shutil.which("kea-dhcp4"), reason="Kea is not installed")
def test_kea_config_passes_kea_and_holds_exactly_the_reservations(tmp_path):
    view = _view(tmp_path, "prov-app")
    text = D.render_kea(view, lease_file=str(tmp_path / "leases.csv"))
    proc = _daemon_check(["kea-dhcp4", "-t"], text, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = json.loads(text)["Dhcp4"]
    assert [(s["subnet"], s["pools"]) for s in config["subnet4"]] == [("198.51.100.0/24", [])]
    assert config["subnet4"][0]["reservations"] == [
        {"hw-address": "52:54:00:12:34:60", "ip-address": "198.51.100.50", "hostname": "app01"},
    ]
    bad = _daemon_check(["kea-dhcp4", "-t"], D.render_kea(view, extra={"valid-lifetime": "soon"}), tmp_path)
    assert bad.returncode != 0


NO_NEXT_SERVER = FILES["segments/dmz.yml"].replace("next_server: 192.0.2.1\n", "")


@pytest.mark.parametrize("next_server", [True, False])
def test_isc_boot_files_by_client_follow_the_next_server(tmp_path, next_server):
    view = _view(tmp_path, extra=None if next_server else {"segments/dmz.yml": NO_NEXT_SERVER})
    subnet = D.render_isc(view).split("subnet 192.0.2.0 ")[1].split("\n}\n")[0]
    http = (
        '  } elsif option arch = 00:10 and substring(option vendor-class-identifier, 0, 10) = "HTTPClient" {\n'
        '    option vendor-class-identifier "HTTPClient";\n'
        '    filename "http://192.0.2.1/ipxe/snponly.efi";\n'
    )
    if next_server:
        assert (
            '  if exists user-class and option user-class = "iPXE" {\n    filename "http://192.0.2.1/ipxe/boot.ipxe";\n'
            in subnet
        )
        assert http in subnet
    else:  # no address for a URL: iPXE's script over TFTP, and no HTTP boot
        assert '    filename "ipxe/boot.ipxe";\n' in subnet and "HTTPClient" not in subnet and "http://" not in subnet
    # the HTTP branch comes before the UEFI PXE one, both before the BIOS default
    assert subnet.index("user-class") < subnet.index("00:07") < subnet.index('"pxelinux.0"')


@pytest.mark.skipif(not shutil.which("kea-dhcp4"), reason="Kea is not installed")
@pytest.mark.parametrize("next_server", [True, False])
def test_kea_http_boot_and_ipxe_classes_are_the_segment_own(tmp_path, next_server):
    view = _view(tmp_path, extra=None if next_server else {"segments/dmz.yml": NO_NEXT_SERVER})
    text = D.render_kea(view, lease_file=str(tmp_path / "leases.csv"))
    proc = _daemon_check(["kea-dhcp4", "-t"], text, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    config = json.loads(text)["Dhcp4"]
    classes = {c["name"]: c for c in config["client-classes"]}
    subnet = config["subnet4"][0]
    assert classes["bm-ipxe-dmz"]["only-if-required"] is True
    assert "not (option[77].hex == 'iPXE')" in classes["bm-uefi"]["test"]
    if next_server:
        assert subnet["require-client-classes"] == ["bm-ipxe-dmz", "bm-http-dmz"]
        assert classes["bm-ipxe-dmz"]["boot-file-name"] == "http://192.0.2.1/ipxe/boot.ipxe"
        http = classes["bm-http-dmz"]
        assert http["only-if-required"] is True and http["boot-file-name"] == "http://192.0.2.1/ipxe/snponly.efi"
        assert "option[93].hex == 0x0010" in http["test"] and "'HTTPClient'" in http["test"]
        assert http["option-data"] == [{"name": "vendor-class-identifier", "data": "HTTPClient", "always-send": True}]
    else:
        assert subnet["require-client-classes"] == ["bm-ipxe-dmz"] and "bm-http-dmz" not in classes
        assert classes["bm-ipxe-dmz"]["boot-file-name"] == "ipxe/boot.ipxe"


def test_ipxe_scripts_chain_by_absolute_url_and_name_the_initrd(tmp_path):
    view = _view(tmp_path)
    web01 = next(s for s in view["systems"] if s["name"] == "web01")
    script = B.system_files(web01, True, [("52:54:00:12:34:56", "http://192.0.2.1")])["ipxe/52:54:00:12:34:56.ipxe"]
    lines = script.splitlines()
    assert lines[2].startswith("kernel http://192.0.2.1/images/rocky9/vmlinuz initrd=initrd ")
    assert lines[3] == "initrd --name initrd http://192.0.2.1/images/rocky9/initrd"
    assert "chain --autofree http://${next-server}/ipxe/${netX/mac}.ipxe || exit" in B.default_files()["ipxe/boot.ipxe"]


def test_kea_released_leases():
    before = json.dumps(
        {
            "Dhcp4": {
                "subnet4": [
                    {
                        "reservations": [
                            {"hw-address": "52:54:00:00:00:01", "ip-address": "192.0.2.50"},
                            {"hw-address": "52:54:00:00:00:02", "ip-address": "192.0.2.51"},
                            {"hw-address": "52:54:00:00:00:03", "ip-address": "192.0.2.52"},
                        ]
                    }
                ]
            }
        }
    )
    after = json.dumps(
        {
            "Dhcp4": {
                "subnet4": [
                    {
                        "reservations": [
                            {"hw-address": "52:54:00:00:00:09", "ip-address": "192.0.2.50"},
                            {"hw-address": "52:54:00:00:00:02", "ip-address": "192.0.2.51"},
                        ]
                    }
                ]
            }
        }
    )
    from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import kea as K

    assert K.released(before, after) == [
        {"ip": "192.0.2.50", "mac": "52:54:00:00:00:01"},
        {"ip": "192.0.2.52", "mac": "52:54:00:00:00:03"},
    ]
    assert K.released(None, after) == []


def test_boot_files_armed_and_local(tmp_path):
    view = _view(tmp_path)
    web01 = next(s for s in view["systems"] if s["name"] == "web01")
    armed = B.system_files(web01, True, [("52:54:00:12:34:56", "http://192.0.2.1")])
    assert sorted(armed) == [
        "grub/grub.cfg-01-52:54:00:12:34:56",
        "ipxe/52:54:00:12:34:56.ipxe",
        "pxelinux.cfg/01-52-54-00-12-34-56",
    ]
    for text in armed.values():
        assert "inst.ks=http://192.0.2.1/ks/web01.cfg" in text
        assert "generation 1" in text
    local = B.system_files(web01, False, [("52:54:00:12:34:56", "http://192.0.2.1")])
    assert local == B.local_files("52:54:00:12:34:56")
    assert "LOCALBOOT" in local["pxelinux.cfg/01-52-54-00-12-34-56"]
    assert "exit" in local["grub/grub.cfg-01-52:54:00:12:34:56"]
    # the fallbacks never install
    for text in B.default_files().values():
        assert "inst.ks" not in text and "linux " not in text and "kernel " not in text


def test_grub_quotes_the_autoinstall_semicolon():
    system = {
        "name": "u1",
        "distro": "ubuntu24",
        "install_format": "autoinstall",
        "kernel_options": "quiet",
        "build_generation": 1,
        "install_tree": None,
    }
    files = B.install_files(system, "52:54:00:00:00:0a", "http://192.0.2.1")
    assert "'ds=nocloud-net;s=http://192.0.2.1/ks/u1/'" in files["grub/grub.cfg-01-52:54:00:00:00:0a"]
    assert " ds=nocloud-net;s=http://192.0.2.1/ks/u1/" in files["pxelinux.cfg/01-52-54-00-00-00-0a"]


def test_tftp_files_follow_the_netboot_state(tmp_path):
    view = _view(tmp_path)
    files = P.tftp_files(view, {"web01": False, "app01": True})
    assert "LOCALBOOT" in files["pxelinux.cfg/01-52-54-00-12-34-56"]
    assert "inst.ks=http://192.0.2.1/ks/app01.cfg" in files["pxelinux.cfg/01-52-54-00-12-34-61"]
    # app01's primary NIC is in a segment this provisioner does not serve: no file for it here
    assert "pxelinux.cfg/01-52-54-00-12-34-60" not in files


def test_install_render_errors_name_the_system_and_template(tmp_path):
    view = _view(tmp_path, extra={"templates/rocky9.ks.j2": "rootpw {{ secrets.root_password_hash }}\n"})
    web01 = next(s for s in view["systems"] if s["name"] == "web01")
    with pytest.raises(
        I.RenderError, match=r"systems/web01.yml: rendering templates/rocky9.ks.j2 failed: .*root_password_hash"
    ):
        I.Renderer(view["templates"]).render(web01, "http://192.0.2.1", "http://192.0.2.1/cb", {})
    assert I.Renderer(view["templates"]).render(web01, "http://192.0.2.1", "cb", {"root_password_hash": "$6$x"}) == {
        "ks/web01.cfg": "rootpw $6$x\n"
    }


def test_install_templates_run_in_a_sandbox(tmp_path):
    view = _view(tmp_path, extra={"templates/rocky9.ks.j2": "{{ ''.__class__.__mro__[1].__subclasses__() }}\n"})
    web01 = next(s for s in view["systems"] if s["name"] == "web01")
    with pytest.raises(I.RenderError, match=r"unsafe"):
        I.Renderer(view["templates"]).render(web01, "http://192.0.2.1", "cb", {})


def test_web_files_and_access_map(tmp_path):
    view = _view(tmp_path)
    files, owners, index = P.web_files(view, b"s" * 32, {})
    assert sorted(files) == ["ks/app01.cfg", "ks/web01.cfg"]
    # app01 installs here through its dmz NIC, so only that NIC's IP may fetch its config
    assert owners == {"app01": "192.0.2.60", "web01": "192.0.2.50"}
    assert index["app01"] == {"generation": 3, "macs": ["52:54:00:12:34:61"], "ip": "192.0.2.60"}
    assert I.acl_map(owners).splitlines()[1:] == ["app01 192.0.2.60;", "web01 192.0.2.50;"]


def test_tree_sync_writes_only_changes_and_removes_stale_files(tmp_path):
    root = str(tmp_path / "tree")
    first = T.sync_tree(root, {"a/1": "one", "a/2": "two", "b": "bee"})
    assert first == {"written": ["a/1", "a/2", "b"], "removed": []}
    os.makedirs(os.path.join(root, "bin"))
    with open(os.path.join(root, "bin", "pxelinux.0"), "w", encoding="utf-8") as handle:
        handle.write("not ours")
    assert T.sync_tree(root, {"a/1": "one", "a/2": "two", "b": "bee"}) == {"written": [], "removed": []}
    assert T.sync_tree(root, {"a/1": "ONE", "b": "bee"}, check_mode=True) == {"written": ["a/1"], "removed": ["a/2"]}
    assert os.path.exists(os.path.join(root, "a/2"))
    assert T.sync_tree(root, {"a/1": "ONE", "b": "bee"}) == {"written": ["a/1"], "removed": ["a/2"]}
    assert not os.path.exists(os.path.join(root, "a/2"))
    assert os.path.exists(os.path.join(root, "bin", "pxelinux.0")), "a file it did not generate is never touched"
    # a file someone else rewrote to the wanted content is not rewritten
    with open(os.path.join(root, "b"), "w", encoding="utf-8") as handle:
        handle.write("other")
    assert T.sync_tree(root, {"a/1": "ONE", "b": "other"}) == {"written": [], "removed": []}


@pytest.mark.parametrize("listed_from", [1, 10**9], ids=["folder-listing", "stat-per-file"])
def test_tree_sync_rewrites_a_listed_file_that_is_gone_or_not_a_file(tmp_path, monkeypatch, listed_from):
    monkeypatch.setattr(T, "LISTED_FOLDER", listed_from)
    root = str(tmp_path / "tree")
    wanted = {"a/1": "one", "a/2": "two", "a/3": "three", "b": "bee", "c/1": "sea"}
    T.sync_tree(root, wanted)
    os.unlink(os.path.join(root, "a/1"))
    os.unlink(os.path.join(root, "a/2"))
    os.mkdir(os.path.join(root, "a/2"))  # a folder where the file was: not a file
    os.unlink(os.path.join(root, "b"))
    os.symlink("a/3", os.path.join(root, "b"))  # a link to a file of the same content: a file
    shutil.rmtree(os.path.join(root, "c"))
    planned = T.plan(root, wanted)
    assert sorted(planned[0]) == ["a/1", "a/2", "c/1"]
    assert planned[1] == [] and planned[2] is None
    os.rmdir(os.path.join(root, "a/2"))
    assert T.sync_tree(root, wanted) == {"written": ["a/1", "a/2", "c/1"], "removed": []}
    for relpath, text in wanted.items():
        with open(os.path.join(root, relpath), encoding="utf-8") as handle:
            assert handle.read() == (text if relpath != "b" else "three")


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../x", "", "a//b", "./a", "a\x00b"])
def test_tree_sync_refuses_paths_out_of_the_tree(tmp_path, bad):
    with pytest.raises(T.SyncError, match="not a plain relative path"):
        T.sync_tree(str(tmp_path / "tree"), {bad: "x"})
    assert not os.path.exists(str(tmp_path / "tree"))


class _Crash(BaseException):
    pass


def _tree(root):
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            with open(os.path.join(folder, name), encoding="utf-8") as handle:
                found[os.path.relpath(os.path.join(folder, name), root)] = handle.read()
    return found


def test_tree_sync_killed_after_its_commit_point_is_finished_by_the_next_sync(tmp_path, monkeypatch):
    root = str(tmp_path / "tree")
    T.sync_tree(root, {"a/1": "one", "a/2": "two", "b": "bee"})
    T.sync_tree(root, {"a/1": "ONE", "c": "sea", "b": "bee"}, check_mode=False)
    new = _tree(root)
    T.sync_tree(root, {"a/1": "one", "a/2": "two", "b": "bee"})
    old = _tree(root)
    real_replace = os.replace
    calls = []

    def crash_after_first_rename(src, dst):
        if T.STAGE in src:
            if calls:
                raise _Crash()
            calls.append(dst)
        real_replace(src, dst)

    monkeypatch.setattr(T.os, "replace", crash_after_first_rename)
    with pytest.raises(_Crash):
        T.sync_tree(root, {"a/1": "ONE", "c": "sea", "b": "bee"})
    monkeypatch.setattr(T.os, "replace", real_replace)
    half = _tree(root)
    assert T.JOURNAL in half and half["a/1"] == "ONE" and "c" not in half  # one file renamed, one not
    assert T.recover(root) is True
    assert _tree(root) == new != old
    assert T.recover(root) is False
    # a journal write killed half-way leaves a temporary file, which the next sync removes
    with open(os.path.join(root, T.TEMP_PREFIX + "x1y2"), "w", encoding="utf-8") as handle:
        handle.write('{"renames": [')
    assert T.recover(root) is True and _tree(root) == new


def test_tree_sync_killed_before_its_commit_point_leaves_the_old_tree(tmp_path, monkeypatch):
    root = str(tmp_path / "tree")
    T.sync_tree(root, {"a/1": "one", "b": "bee"})
    old = _tree(root)
    real_write = T.write_file

    def crash_at_journal(tree, relpath, data, mode=0o644):
        if relpath == T.JOURNAL:
            raise _Crash()
        real_write(tree, relpath, data, mode)

    monkeypatch.setattr(T, "write_file", crash_at_journal)
    with pytest.raises(_Crash):
        T.sync_tree(root, {"a/1": "ONE", "b": "bee"})
    monkeypatch.setattr(T, "write_file", real_write)
    assert {p: d for p, d in _tree(root).items() if not p.startswith(T.STAGE)} == old
    assert T.sync_tree(root, {"a/1": "one", "b": "bee"}) == {"written": [], "removed": []}
    assert _tree(root) == old, "the next sync discards the staged files"


def test_tree_sync_refuses_its_own_bookkeeping_names_and_a_foreign_journal(tmp_path):
    root = str(tmp_path / "tree")
    for name in (T.MANIFEST, T.JOURNAL, T.STAGE + "/0"):
        with pytest.raises(T.SyncError, match="bookkeeping"):
            T.sync_tree(root, {name: "x"})
    os.makedirs(root)
    with open(os.path.join(root, T.JOURNAL), "w", encoding="utf-8") as handle:
        handle.write("{not json")
    with pytest.raises(T.SyncError, match=r"unreadable journal .* remove it and re-run"):
        T.sync_tree(root, {"a": "x"})
    assert not os.path.exists(os.path.join(root, "a"))


def test_cached_view_is_reused_until_a_record_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    root = write_store(tmp_path / "records")
    loads = []

    def load(path):
        loads.append(path)
        return RecordStore.load(path)

    first = C.cached_provisioner_view(root, "prov-dmz", load)
    assert C.cached_provisioner_view(root, "prov-dmz", load) == first and len(loads) == 1
    assert C.cached_provisioner_view(root, "prov-app", load)["provisioner"] == "prov-app" and len(loads) == 2
    path = os.path.join(root, "systems", "web01.yml")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("vars: {rack: r9}\n")
    changed = C.cached_provisioner_view(root, "prov-dmz", load)
    assert len(loads) == 3
    assert next(s for s in changed["systems"] if s["name"] == "web01")["vars"]["rack"] == "r9"
    assert len([n for n in os.listdir(str(tmp_path / "cache")) if n.startswith("view-")]) == 2
    monkeypatch.setenv("BAREMETAL_CACHE", "off")
    C.cached_provisioner_view(root, "prov-dmz", load)
    assert len(loads) == 4


def test_views_warmed_by_an_edit_equal_views_built_from_a_fresh_load(tmp_path, monkeypatch):
    from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as E
    from ansible_collections.baremetal.provision.plugins.module_utils._records.cache_files import read_cached
    from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import store_fingerprint
    from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import Transaction
    from ansible_collections.baremetal.provision.plugins.module_utils._views import inventory as V

    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    root = write_store(tmp_path / "records")
    with Transaction(root) as txn:
        E.edit_system(txn, "web01", {"from_pool": "spares-dmz"})
        pending = txn.commit()
        assert pending
        assert C.warm(root, txn) == {
            "inventory": "built",
            "provisioners": ["prov-dmz"],
            "fingerprints": {"prov-dmz": txn.scan_after.fingerprint("prov-dmz")},
        }
    fresh = RecordStore.load(root)
    inventory = read_cached(C.inventory_path(root), store_fingerprint(root, C.INVENTORY_FINGERPRINT_EXTRA))
    assert inventory == json.loads(json.dumps(V.build_view(fresh)))
    assert inventory["hosts"]["web01"]["bm_mac"] == "52:54:00:00:00:01"
    # the render steps find the provisioner's view without loading the store
    view = C.cached_provisioner_view(root, "prov-dmz", lambda path: pytest.fail("the warmed view was not used"))
    assert C.content(view) == json.loads(json.dumps(build_view(fresh, "prov-dmz")))
    # a store with problems leaves nothing behind
    with open(os.path.join(root, "systems", "web09.yml"), "w", encoding="utf-8") as handle:
        handle.write("tier: nope\n")
    with Transaction(root) as txn:
        E.edit_system(txn, "web01", {"mac": "52:54:00:12:34:98"})
        txn.commit()
        assert txn.after_problems and C.warm(root, txn) is None


def _system(fmt, **extra):
    system = {
        "name": "inst01",
        "distro": "d12",
        "install_format": fmt,
        "kernel_options": "console=ttyS0 log_host=192.0.2.1",
        "installed_kernel_options": "console=ttyS0,115200n8 nomodeset",
        "build_generation": 2,
        "install_tree": "http://192.0.2.1/mirror/debian",
        "network": {"domain": "dmz.example.test"},
    }
    system.update(extra)
    return system


MAC = "52:54:00:0e:00:05"


def _lines(system):
    """The kernel line of each per-MAC boot file (pxelinux APPEND, GRUB linux, iPXE kernel)."""
    files = B.install_files(system, MAC, "http://192.0.2.1")
    pxe = re.search(
        r"^  APPEND initrd=/images/d12/initrd (.*)$", files["pxelinux.cfg/01-52-54-00-0e-00-05"], re.M
    ).group(1)
    grub = re.search(r"^  linux /images/d12/vmlinuz (.*)$", files["grub/grub.cfg-01-" + MAC], re.M).group(1)
    ipxe = re.search(
        r"^kernel http://192.0.2.1/images/d12/vmlinuz initrd=initrd (.*)$", files["ipxe/%s.ipxe" % MAC], re.M
    ).group(1)
    return pxe, grub, ipxe


def test_debian_kernel_line_interface_name_and_the_installed_systems_options_after_the_separator():
    for line in _lines(_system("preseed")):
        installer, sep, installed = line.partition(" --- ")
        assert sep and installed == "console=ttyS0,115200n8 nomodeset"
        words = installer.split()
        assert words[:2] == ["console=ttyS0", "log_host=192.0.2.1"]
        assert "BOOTIF=01-52-54-00-0e-00-05" in words  # the NIC this file was served for
        assert "hostname=inst01" in words and "domain=dmz.example.test" in words
        assert "url=http://192.0.2.1/ks/inst01.cfg" in words
        assert "inst.repo=http://192.0.2.1/mirror/debian" not in words and "nomodeset" not in words


def test_nothing_the_boot_loader_adds_lands_after_the_separator():
    # Debian's installer copies what follows --- to the installed system: pxelinux's INITRD line would
    # append initrd= there, so the per-MAC file names the initrd on its APPEND line, before ---
    for line in _lines(_system("preseed", installed_kernel_options="", network={"domain": None})):
        assert line.endswith(" ---") and line.count("---") == 1
        assert "domain=" not in line
    pxe = B.install_files(_system("preseed"), MAC, "http://192.0.2.1")["pxelinux.cfg/01-52-54-00-0e-00-05"]
    assert "INITRD" not in pxe and "IPAPPEND" not in pxe
    assert re.search(r"^  APPEND initrd=/images/d12/initrd \S.* --- console=ttyS0,115200n8 nomodeset$", pxe, re.M), pxe


def test_ubuntu_line_has_the_separator_but_no_debian_installer_words():
    for line in _lines(_system("autoinstall")):
        assert line.endswith(" --- console=ttyS0,115200n8 nomodeset")
        assert "BOOTIF=01-52-54-00-0e-00-05" in line and "hostname=" not in line


def test_kickstart_line_keeps_the_installed_systems_options_for_the_template():
    for line in _lines(_system("kickstart")):
        assert "---" not in line and "nomodeset" not in line
        assert line.startswith(
            "inst.repo=http://192.0.2.1/mirror/debian console=ttyS0 log_host=192.0.2.1 BOOTIF=01-52-54-00-0e-00-05"
        )
        assert line.endswith("inst.ks=http://192.0.2.1/ks/inst01.cfg")


def test_install_context_splits_the_install_tree_into_the_mirror():
    assert I.mirror_of("http://192.0.2.1:8080/mirror/debian/") == {
        "protocol": "http",
        "hostname": "192.0.2.1:8080",
        "directory": "/mirror/debian",
    }
    assert I.mirror_of("https://deb.example.test")["directory"] == "/"
    assert I.mirror_of(None) is None
    out = I.Renderer({"t": "{{ mirror.hostname }} {{ mirror.directory }} [{{ installed_kernel_options }}]"}).render(
        dict(_system("preseed"), template="t"), "http://192.0.2.1", "http://192.0.2.1/bm/callback/x", {}
    )
    assert out == {"ks/inst01.cfg": "192.0.2.1 /mirror/debian [console=ttyS0,115200n8 nomodeset]"}


def _copy_of_web01(store, mac, ip):
    """A new system record like web01's, on its own MAC and IP."""
    data = json.loads(json.dumps(store.data("systems", "web01")))
    data["interfaces"] = [dict(data["interfaces"][0], mac=mac, ip=ip)]
    return data


@pytest.mark.parametrize(
    "edit",
    [
        lambda E, txn: E.edit_system(txn, "web01", {"from_pool": "spares-dmz"}),  # a system and a pool
        lambda E, txn: E.edit_system(txn, "web01", {"mac": "52:54:00:12:34:99"}),  # one system
        lambda E, txn: txn.put("systems", "web00", _copy_of_web01(txn.store, "52:54:00:12:34:77", "192.0.2.77")),
        lambda E, txn: E.remove_record(txn, "systems", "app01"),  # a file removed
    ],
    ids=["from-pool", "mac", "new-file", "removed-file"],
)
def test_views_warmed_after_an_edit_are_keyed_by_the_files_as_loaded(tmp_path, monkeypatch, edit):
    from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as E
    from ansible_collections.baremetal.provision.plugins.module_utils._records.cache_files import read_cached
    from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import StoreScan, store_fingerprint
    from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import Transaction

    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    root = write_store(tmp_path / "records")
    with Transaction(root) as txn:
        edit(E, txn)
        pending = txn.commit()
        assert txn.scan_before is not None
        # the scan of the files before the edit, plus a stat of the changed files: a whole scan's
        assert txn.scan_before.updated(pending).fingerprint("x") == StoreScan(root).fingerprint("x")
        assert txn.scan_after.fingerprint("x") == StoreScan(root).fingerprint("x")
        assert C.warm(root, txn)["inventory"] == "built"
    fingerprint = store_fingerprint(root, C.INVENTORY_FINGERPRINT_EXTRA)
    assert read_cached(C.inventory_path(root), fingerprint) is not None, "the warmed view is used"


def test_views_warmed_after_an_edit_are_never_used_when_someone_else_changed_a_file(tmp_path, monkeypatch):
    from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as E
    from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import store_fingerprint
    from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import Transaction

    monkeypatch.setenv("BAREMETAL_CACHE_DIR", str(tmp_path / "cache"))
    root = write_store(tmp_path / "records")
    with Transaction(root) as txn:
        E.edit_system(txn, "web01", {"mac": "52:54:00:12:34:99"})
        # a git pull that does not take the store's lock, after the store was loaded
        path = os.path.join(root, "systems", "app01.yml")
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text.replace("vars: {role: app}", "vars: {role: app, rack: r9}"))
        assert txn.commit()
        C.warm(root, txn)
    assert C.inventory_view(root, store_fingerprint(root, C.INVENTORY_FINGERPRINT_EXTRA)) is None
    loads = []
    view = C.cached_provisioner_view(root, "prov-dmz", lambda path: loads.append(path) or RecordStore.load(path))
    assert loads == [root], "the provisioner's view is built from the files, not taken from the edit"
    assert next(s for s in view["systems"] if s["name"] == "app01")["vars"]["rack"] == "r9"
    # a path outside the scanned folders: the fingerprint comes from a whole scan
    from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import StoreScan

    assert StoreScan(root).updated(["notes/x.yml"]) is None
    assert StoreScan(root).updated(["systems/a/b.yml"]) is None


def test_the_callback_files_of_an_earlier_version_are_removed_and_only_those(tmp_path):
    view = _view(tmp_path)
    callback_dir = tmp_path / "cb"
    callback_dir.mkdir()
    (callback_dir / "_atomic.py").write_text('"""Private to baremetal.provision: not a public API."""\n')
    (callback_dir / "_netboot.py").write_text("# the operator's own file of that name\n")
    options = {
        "root": str(tmp_path / "www"),
        "conf_dir": str(tmp_path / "nginx"),
        "state_dir": str(tmp_path / "state"),
        "callback_dir": str(callback_dir),
        "callback_files": {"bm_callback.py": "# baremetal.provision callback\n"},
        "callback_obsolete": ["_atomic.py", "_netboot.py", "_tree_sync.py"],
    }
    planned = P.sync("web", view, options, check_mode=True)
    assert "callback:_atomic.py" in planned["removed"] and (callback_dir / "_atomic.py").exists()
    done = P.sync("web", view, options)
    assert [p for p in done["removed"] if p.startswith("callback:")] == ["callback:_atomic.py"] and done["changed"]
    assert sorted(os.listdir(callback_dir)) == ["_netboot.py", "bm_callback.py"]
    again = P.sync("web", view, options)
    assert not again["changed"] and again["removed"] == []
    with pytest.raises(P.SyncFailed, match=r"web.callback_obsolete: '../x' is not a path inside"):
        P.sync("web", view, dict(options, callback_obsolete=["../x"]))
    # a caller of sync() itself (bench_render) that has no callback to place or remove
    bare = {k: v for k, v in options.items() if not k.startswith("callback")}
    assert not P.sync("web", view, bare)["changed"]
