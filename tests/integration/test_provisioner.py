# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dhcp, tftp and kickstart roles against the real daemons, in network namespaces.

One provisioner (prov-lab) serves two segments, dmz (192.0.2.0/24) and app (198.51.100.0/24),
each on its own bridge. The roles run with service_manager=none and write into a temporary
folder; the test starts ISC dhcpd or Kea, tftpd-hpa, nginx and the callback service on the
rendered files, as systemd would, and asks them real questions from client namespaces.
"""

import json
import os
import re
import subprocess
import sys

import pytest
from support.ansible_cli import ansible_env, playbook_recap, run
from support.inventory import tree_vars
from support.netns import Lab, have_root, sh, udhcpc
from support.services import start_boot_services, start_dhcp
from support.store import FILES, KICKSTART, write_store

pytestmark = pytest.mark.skipif(not have_root(), reason="network namespaces need root")


PLAY = """\
- name: Provisioner
  hosts: prov-lab
  gather_facts: false
  roles:
    - role: baremetal.provision.dhcp
    - role: baremetal.provision.tftp
    - role: baremetal.provision.kickstart
"""

WEB01_MAC = "52:54:00:12:34:56"
WEB02_MAC = "52:54:00:12:34:57"
NEW_MAC = "52:54:00:aa:bb:01"
ROOT_HASH = "$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789abcdefghijklmn"


def _store(root, images):
    files = dict(FILES)
    files["segments/dmz.yml"] = FILES["segments/dmz.yml"].replace("provisioner: prov-dmz", "provisioner: prov-lab")
    files["segments/app.yml"] = FILES["segments/app.yml"].replace("provisioner: prov-app", "provisioner: prov-lab")
    files["distros/rocky9.yml"] = (
        "family: redhat\narch: x86_64\nkernel: %s/vmlinuz\ninitrd: %s/initrd.img\ninstall_tree: http://192.0.2.1/repo/rocky9\n"
        % (images, images)
    )
    files["templates/rocky9.ks.j2"] = KICKSTART
    files["systems/web02.yml"] = (
        "tier: web\nhardware_model: r650\nboot_loader: pxelinux\ninterfaces:\n"
        '  - {name: eth0, mac: "%s", ip: 192.0.2.51, primary: true}\n' % WEB02_MAC
    )
    return write_store(root, files)


class Provisioner(object):
    """The rendered tree, the playbook and the daemons of one test."""

    def __init__(self, tmp, backend):
        self.tmp = str(tmp)
        self.backend = backend
        self.paths = {
            k: os.path.join(self.tmp, k) for k in ("tftp", "www", "nginx", "state", "cb", "dhcp", "images", "run")
        }
        for path in self.paths.values():
            os.makedirs(path, exist_ok=True)
        for name in ("vmlinuz", "initrd.img"):
            with open(os.path.join(self.paths["images"], name), "wb") as handle:
                handle.write(b"stand-in " + name.encode() + b"\n")
        self.records = _store(os.path.join(self.tmp, "records"), self.paths["images"])
        self.dhcp_config = os.path.join(self.paths["dhcp"], "kea-dhcp4.conf" if backend == "kea" else "dhcpd.conf")
        self.kea_leases = os.path.join(self.paths["run"], "kea-leases4.csv")
        self.inventory = os.path.join(self.tmp, "hosts.ini")
        with open(self.inventory, "w", encoding="utf-8") as handle:
            handle.write("prov-lab ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
        self.playbook = os.path.join(self.tmp, "site.yml")
        with open(self.playbook, "w", encoding="utf-8") as handle:
            handle.write(PLAY)
        self.vars = {
            "dhcp_records_dir": self.records,
            "tftp_records_dir": self.records,
            "kickstart_records_dir": self.records,
            "dhcp_service_manager": "none",
            "tftp_service_manager": "none",
            "kickstart_service_manager": "none",
            "dhcp_server": backend,
            "dhcp_config": self.dhcp_config,
            "dhcp_kea_lease_file": self.kea_leases,
            "dhcp_kea_control_socket": os.path.join(self.paths["run"], "kea4.sock"),
            **tree_vars(self.paths),
            "kickstart_secrets": {"root_password_hash": ROOT_HASH},
        }
        self.lab = None
        self.procs = {}

    # ---------------------------------------------------------------- ansible
    def apply(self, extra=None, check=True):
        variables = dict(self.vars, **(extra or {}))
        varfile = os.path.join(self.tmp, "vars.json")
        with open(varfile, "w", encoding="utf-8") as handle:
            json.dump(variables, handle)
        proc = run(
            "ansible-playbook",
            ["-i", self.inventory, self.playbook, "-e", "@" + varfile],
            env=ansible_env(tmp=self.tmp),
        )
        if check:
            assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc

    # ---------------------------------------------------------------- daemons
    def start_lab(self):
        self.lab = Lab("bmp")
        self.ns = self.lab.namespace("prov")
        self.lab.bridge(self.ns, "br0", "192.0.2.1/24")
        self.lab.bridge(self.ns, "br1", "198.51.100.1/24")
        self.start_dhcp()
        self.procs.update(start_boot_services(self.lab, self.ns, self.paths, self.tmp, "192.0.2.1", callback_port=8087))

    def start_dhcp(self):
        self.procs["dhcp"], _log = start_dhcp(
            self.lab, self.ns, self.backend, self.dhcp_config, self.paths["run"], interfaces=("br0", "br1")
        )

    def restart_dhcp(self):
        """What the role's handler does under systemd: restart (ISC) or reload (Kea)."""
        self.lab.stop(self.procs.pop("dhcp"))
        self.start_dhcp()

    def client(self, mac, bridge="br0"):
        return self.lab.client(self.ns, bridge, mac)

    def close(self):
        if self.lab:
            self.lab.close()


@pytest.fixture(params=["isc", "kea"])
def prov(request, tmp_path):
    provisioner = Provisioner(tmp_path, request.param)
    yield provisioner
    provisioner.close()


def _status(prov, ns, url):
    """The HTTP status of a GET from a client namespace (the path sent as it is, dot segments
    included); on a timeout, what the servers saw."""
    proc = sh(
        "curl", "-s", "--path-as-is", "-m", "20", "-o", "/dev/null", "-w", "%{http_code}", url, ns=ns, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(
            "GET %s from %s: curl exit %d\nsockets:\n%s\nnginx:\n%s\ncallback:\n%s"
            % (
                url,
                ns,
                proc.returncode,
                sh("ss", "-tanp", ns=prov.ns, check=False).stdout,
                _read(os.path.join(prov.paths["run"], "nginx-error.log"))[-2000:],
                _read(os.path.join(prov.tmp, "callback.log"))[-2000:],
            )
        )
    return proc.stdout


def _changed(proc):
    return playbook_recap(proc.stdout)["prov-lab"]["changed"]


def _read(path):
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def test_provisioner_serves_the_records(prov):
    # a provisioner upgraded from the version whose callback modules were flat files beside it
    os.makedirs(prov.paths["cb"], exist_ok=True)
    with open(os.path.join(prov.paths["cb"], "_atomic.py"), "w", encoding="utf-8") as handle:
        handle.write('"""Private to baremetal.provision: not a public API, may change without notice."""\n')
    first = prov.apply()
    assert _changed(first) > 0
    assert sorted(os.listdir(prov.paths["cb"])) == ["bm_callback.py", "bm_provisioner"]
    prov.start_lab()

    # --- DHCP: reserved MACs get their IP, next-server and the boot file for their firmware
    web01 = prov.client(WEB01_MAC)
    bios = udhcpc(web01)
    assert bios["ip"] == "192.0.2.50" and bios["siaddr"] == "192.0.2.1", bios
    assert bios["boot_file"] == "pxelinux.0" and bios["hostname"] == "web01" and bios["router"] == "192.0.2.1"
    assert udhcpc(web01, options=["0x5d:0007"])["boot_file"] == "grub/grubx64.efi"
    assert udhcpc(web01, options=["0x4d:69505845"])["boot_file"] == "http://192.0.2.1/ipxe/boot.ipxe"
    # a system whose boot loader is fixed gets it even from iPXE
    web02 = prov.client(WEB02_MAC)
    assert udhcpc(web02, options=["0x4d:69505845"]) == dict(udhcpc(web02), boot_file="pxelinux.0")
    assert udhcpc(web02)["ip"] == "192.0.2.51"
    # the second segment, on its own bridge
    app01 = prov.client("52:54:00:12:34:60", bridge="br1")
    lease = udhcpc(app01)
    assert lease["ip"] == "198.51.100.50" and lease["siaddr"] == "198.51.100.1" and lease["router"] == "198.51.100.1"
    # unknown MACs: an address from the dmz's dynamic range; nothing at all in app (no range)
    stranger = udhcpc(prov.client("52:54:00:99:99:99"))
    assert stranger["ip"].startswith("192.0.2.2") and 200 <= int(stranger["ip"].rsplit(".", 1)[1]) <= 250
    assert udhcpc(prov.client("52:54:00:99:99:98", bridge="br1")) == {}

    # --- TFTP: the per-MAC config, downloaded for real
    out = os.path.join(prov.tmp, "got.cfg")
    sh("ip", "addr", "add", "192.0.2.50/24", "dev", "eth0", ns=web01)
    sh("tftp", "192.0.2.1", "-c", "get", "pxelinux.cfg/01-52-54-00-12-34-56", out, ns=web01)
    assert "inst.ks=http://192.0.2.1/ks/web01.cfg" in _read(out)
    sh("tftp", "192.0.2.1", "-c", "get", "pxelinux.cfg/default", out, ns=web01)
    assert "LOCALBOOT" in _read(out)

    # --- HTTP: the kickstart to its own IP only; pykickstart accepts it
    got = sh("curl", "-s", "-m", "20", "-w", "\n%{http_code}", "http://192.0.2.1/ks/web01.cfg", ns=web01).stdout
    body, status = got.rsplit("\n", 1)
    assert status == "200" and "rootpw --iscrypted " + ROOT_HASH in body
    ks_file = os.path.join(prov.tmp, "web01.ks")
    with open(ks_file, "w", encoding="utf-8") as handle:
        handle.write(body)
    validator = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ksvalidator"), "-v", "RHEL9", ks_file],
        capture_output=True,
        text=True,
        check=False,
    )
    assert validator.returncode == 0, validator.stdout + validator.stderr
    other = prov.client("52:54:00:99:99:97")
    sh("ip", "addr", "add", "192.0.2.99/24", "dev", "eth0", ns=other)
    assert _status(prov, other, "http://192.0.2.1/ks/web01.cfg") == "403"
    assert _status(prov, other, "http://192.0.2.1/ks/") in ("403", "404")
    assert _status(prov, other, "http://192.0.2.1/images/rocky9/vmlinuz") == "200"
    # no listings, nothing outside the web root and the images, no way to the state or the rendered configs
    for path in (
        "/images/",
        "/images/rocky9/",
        "/ks",
        "/ks/web01.cfg/",
        "/images/../pxelinux.cfg/default",
        "/images/../../state/secret",
        "/ks/../../state/secret",
        "/ks/..%2f..%2fstate%2fsecret",
        "/images/..%2f..%2fstate%2fsecret",
        "/ks/web01.cfg%00.txt",
        "/ks/WEB01.cfg",
        "/bm/",
        "/state/secret",
        "/nginx/install-acl.map",
        "/.baremetal-manifest.json",
        "/ks/.baremetal-manifest.json",
        "/mirror/",
        "/mirror/debian/dists/bookworm/InRelease",
    ):  # no mirror unless the role names one
        status = _status(prov, other, "http://192.0.2.1" + path)
        assert status in ("400", "403", "404"), (path, status)
    assert _status(prov, web01, "http://192.0.2.1/ks/../ks/web01.cfg") == "200"  # normalised, still its own

    # --- netboot once: forged and valid callbacks
    callback = re.search(r"curl -fsS (\S+)", body).group(1)
    pxe_web01 = os.path.join(prov.paths["tftp"], "pxelinux.cfg/01-52-54-00-12-34-56")
    forged = callback[:-4] + ("0000" if not callback.endswith("0000") else "1111")
    assert _status(prov, web01, forged) == "403"
    assert "inst.ks=" in _read(pxe_web01)
    # the right token from the wrong machine changes nothing either
    assert _status(prov, other, callback) == "403"
    assert "inst.ks=" in _read(pxe_web01)
    assert _status(prov, web01, callback) == "200"
    for path in ("pxelinux.cfg/01-52-54-00-12-34-56", "grub/grub.cfg-01-%s" % WEB01_MAC, "ipxe/%s.ipxe" % WEB01_MAC):
        assert "local boot" in _read(os.path.join(prov.paths["tftp"], path)), path
    assert json.loads(_read(os.path.join(prov.paths["state"], "completed.json"))) == {"web01": 1}
    assert _status(prov, web01, callback) == "403"  # replayed
    assert "replayed token" in _read(os.path.join(prov.tmp, "callback.log"))
    # web02 is still armed
    assert "inst.ks=" in _read(os.path.join(prov.paths["tftp"], "pxelinux.cfg/01-52-54-00-12-34-57"))

    # --- a re-run changes nothing and does not re-arm web01
    again = prov.apply()
    assert _changed(again) == 0, again.stdout
    assert "local boot" in _read(pxe_web01)

    # --- a config the daemon rejects: the play fails with the daemon's words, nothing is replaced
    before = _read(prov.dhcp_config)
    broken = (
        {"dhcp_extra": {"valid-lifetime": "soon"}}
        if prov.backend == "kea"
        else {"dhcp_extra": "this is not dhcpd syntax;"}
    )
    failed = prov.apply(broken, check=False)
    assert failed.returncode != 0
    assert "rejected the new config" in failed.stdout
    assert _read(prov.dhcp_config) == before
    assert udhcpc(web02)["ip"] == "192.0.2.51"  # the running daemon still answers

    # --- hardware replacement: web01 moves to a new MAC with a new build generation
    record = os.path.join(prov.records, "systems", "web01.yml")
    text = _read(record).replace(WEB01_MAC, NEW_MAC).replace("generation: 1", "generation: 2")
    with open(record, "w", encoding="utf-8") as handle:
        handle.write(text)
    moved = prov.apply()
    assert _changed(moved) > 0
    assert not os.path.exists(pxe_web01)
    assert not os.path.exists(os.path.join(prov.paths["tftp"], "grub/grub.cfg-01-%s" % WEB01_MAC))
    assert "generation 2" in _read(os.path.join(prov.paths["tftp"], "pxelinux.cfg/01-52-54-00-aa-bb-01"))
    if prov.backend == "isc":
        prov.restart_dhcp()  # what the role's handler does under systemd
    # Kea is not restarted: the sync loaded the new config through its control socket and deleted
    # the lease web01's old MAC held on 192.0.2.50, or the new MAC would get a dynamic address.
    assert udhcpc(prov.client(NEW_MAC))["ip"] == "192.0.2.50"
    old = udhcpc(web01)
    assert old.get("ip") != "192.0.2.50" and old.get("hostname") != "web01"


def test_local_mirror_is_served_from_the_directory_the_role_names(tmp_path):
    prov = Provisioner(tmp_path, "isc")
    mirror = os.path.join(prov.tmp, "mirror")
    release = os.path.join(mirror, "debian", "dists", "bookworm", "InRelease")
    os.makedirs(os.path.dirname(release))
    with open(release, "w", encoding="utf-8") as handle:
        handle.write("Origin: Debian\n")
    os.symlink(os.path.join(prov.paths["state"]), os.path.join(mirror, "state"))
    try:
        assert _changed(prov.apply({"kickstart_mirror_root": mirror + "/"})) > 0
        prov.start_lab()
        machine = prov.client("52:54:00:99:99:96")
        sh("ip", "addr", "add", "192.0.2.98/24", "dev", "eth0", ns=machine)
        got = sh(
            "curl",
            "-s",
            "-m",
            "20",
            "-w",
            "\n%{http_code}",
            "http://192.0.2.1/mirror/debian/dists/bookworm/InRelease",
            ns=machine,
        ).stdout
        assert got == "Origin: Debian\n\n200"
        # no listing, no way out of the mirror, no symlink followed
        for path in (
            "/mirror/",
            "/mirror/debian/",
            "/mirror/../state/secret",
            "/mirror/..%2fstate%2fsecret",
            "/mirror/state/secret",
            "/mirror/debian/dists/bookworm/Release",
        ):
            status = _status(prov, machine, "http://192.0.2.1" + path)
            assert status in ("400", "403", "404"), (path, status)
        assert _changed(prov.apply({"kickstart_mirror_root": mirror + "/"})) == 0
    finally:
        prov.close()
