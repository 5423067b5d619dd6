# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""site, replace, a failed run and a DHCP server switch on a real provisioning server, over SSH.

The provisioner is a Debian 12 container with systemd as PID 1 and nothing of the roles
installed (tests/support/provisioner.py); the roles run with their defaults (service manager
systemd, packages installed by the roles from the container's apt cache). Machines are client
namespaces on the lab bridge that ask real questions: a DHCP lease, a TFTP download, an HTTP GET.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from support import provisioner as P
from support.ansible_cli import ansible_env, playbook_recap
from support.netns import Lab, have_root, sh, udhcpc
from support.store import FILES, served_by_lab_provisioner, write_store

pytestmark = pytest.mark.skipif(
    not have_root() or shutil.which("mmdebstrap") is None or shutil.which("systemd-nspawn") is None,
    reason="needs root, mmdebstrap and systemd-nspawn (make deps)",
)

PROV_IP = "192.0.2.10"
WEB01_MAC = "52:54:00:12:34:56"
NEW_MAC = "52:54:00:aa:bb:01"
THIRD_MAC = "52:54:00:aa:bb:02"
ROOT_HASH = "$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789abcdefghijklmn"
UNITS = {"isc": "isc-dhcp-server", "kea": "kea-dhcp4-server"}


def _store(root):
    files = served_by_lab_provisioner(PROV_IP)
    files["systems/web01.yml"] = FILES["systems/web01.yml"]
    files["systems/web02.yml"] = (
        "tier: web\nhardware_model: r650\ninterfaces:\n"
        '  - {name: eth0, mac: "52:54:00:12:34:57", ip: 192.0.2.51, primary: true}\n'
    )
    return write_store(root, files)


class Site(object):
    """The lab: a bridge, the provisioner on it, the records and an inventory that reaches it over SSH."""

    def __init__(self, tmp, backend):
        self.tmp = str(tmp)
        self.backend = backend
        images = os.path.join(self.tmp, "images")
        os.makedirs(images)
        for name in ("vmlinuz", "initrd.img"):
            with open(os.path.join(images, name), "w", encoding="ascii") as handle:
                handle.write("stand-in %s\n" % name)
        self.images = images
        self.records = _store(os.path.join(self.tmp, "records"))
        self.inventory = os.path.join(self.tmp, "inventory")
        os.makedirs(self.inventory)
        with open(os.path.join(self.inventory, "fleet.baremetal.yml"), "w", encoding="utf-8") as handle:
            handle.write("plugin: baremetal.provision.records\nrecords_dir: %s\n" % self.records)
        self.env = ansible_env({"ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore"}, tmp=self.tmp)
        self.lab = Lab("bmr")
        self.ns = self.lab.namespace("lab")
        self.lab.bridge(self.ns, "br0", "192.0.2.1/24")
        self.server = None

    def set_vars(self, **extra):
        """The provisioner's host vars: how to reach it, and only what a user must set."""
        host = dict(
            self.server.inventory_vars(), dhcp_server=self.backend, kickstart_secrets={"root_password_hash": ROOT_HASH}
        )
        host.update(extra)
        with open(os.path.join(self.inventory, "hosts.yml"), "w", encoding="utf-8") as handle:
            json.dump({"all": {"hosts": {"prov-lab": host}}}, handle)

    def play(self, name, *args):
        """ansible-playbook from the lab namespace (the only network that reaches the provisioner)."""
        cmd = [
            "ip",
            "netns",
            "exec",
            self.ns,
            os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
            "-i",
            self.inventory,
            "baremetal.provision." + name,
            *args,
        ]
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=1200, check=False)

    def ok(self, name, *args):
        proc = self.play(name, *args)
        assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
        return playbook_recap(proc.stdout)["prov-lab"]

    def on(self, command, check=True):
        return self.server.ssh(command, check=check).stdout

    def journal(self, unit, pattern):
        """How many lines of a unit's journal match pattern; {unit} in it is the unit's name, as
        systemd's own lines say it ("Starting nginx.service - ...")."""
        text = self.on("journalctl -u %s -o cat --no-pager" % unit)
        pattern = pattern.replace("{unit}", re.escape(unit + ".service"))
        return len([line for line in text.splitlines() if re.search(pattern, line)])

    def client(self, mac, ip=None):
        ns = self.lab.client(self.ns, "br0", mac)
        if ip:
            sh("ip", "addr", "add", ip + "/24", "dev", "eth0", ns=ns)
        return ns

    def close(self):
        self.lab.close()


def _booted(tmp_path, backend):
    lab = Site(tmp_path, backend)
    try:
        with P.booted(lab.lab, lab.ns, "br0", PROV_IP + "/24", tmp_path, binds=[(lab.images, "/srv/images")]) as server:
            lab.server = server
            lab.set_vars()
            yield lab
    finally:
        lab.close()


# The isc run switches the same server to Kea and repeats on it what the kea run checks (a site
# that changes and restarts nothing, --tags service, a replace reloaded through Kea's control
# socket that frees the old MAC's lease): the kea run, from an empty server, is make soak's.
@pytest.fixture(
    params=[
        "isc",
        pytest.param(
            "kea",
            marks=pytest.mark.soak(
                reason="test_site_and_replace_on_a_real_provisioner[isc] switches to Kea and repeats "
                "the Kea checks on it (_on_kea_after_the_switch): install, no-op site, --tags "
                "service, replace through the control socket with the old lease freed"
            ),
        ),
    ]
)
def site(request, tmp_path):
    yield from _booted(tmp_path, request.param)


def _tftp(site, ns, path):
    out = os.path.join(site.tmp, "got-" + path.replace("/", "_"))
    if os.path.exists(out):
        os.unlink(out)
    proc = sh("tftp", PROV_IP, "-c", "get", path, out, ns=ns, check=False)
    if proc.returncode != 0 or not os.path.exists(out) or "Error" in proc.stdout + proc.stderr:
        return None
    with open(out, encoding="utf-8", errors="replace") as handle:
        return handle.read()


def _get(ns, url):
    proc = sh("curl", "-s", "-m", "20", "-w", "\n%{http_code}", url, ns=ns)
    body, _sep, status = proc.stdout.rpartition("\n")
    return status, body


def test_site_and_replace_on_a_real_provisioner(site):
    unit = UNITS[site.backend]
    # --- site on an empty server: the roles install their packages and start their units
    assert site.on("dpkg-query -W -f='${Status}' nginx-light 2>/dev/null || true") != "install ok installed"
    first = site.ok("site")
    assert first["failed"] == 0 and first["changed"] > 0
    for package in (
        "nginx-light",
        "python3-jinja2",
        "tftpd-hpa",
        "isc-dhcp-server" if site.backend == "isc" else "kea-dhcp4-server",
    ):
        assert site.on("dpkg-query -W -f='${Status}' " + package) == "install ok installed", package
    for name in (unit, "tftpd-hpa", "nginx", "bm-callback"):
        assert site.on("systemctl is-active %s" % name, check=False).strip() == "active", name
        assert site.on("systemctl is-enabled %s" % name, check=False).strip() == "enabled", name
    assert site.on("systemctl --failed --no-legend --plain") == ""
    assert site.on("systemctl is-system-running", check=False).strip() == "running"
    if site.backend == "isc":
        assert 'INTERFACESv4="host0"' in site.on("cat /etc/default/isc-dhcp-server")
        assert "dhcpd6" not in site.on("ps -eo args")  # IPv4 only

    # --- a machine with web01's MAC: its reserved IP, next-server and boot file
    web01 = site.client(WEB01_MAC)
    lease = udhcpc(web01)
    assert (
        lease.get("ip") == "192.0.2.50" and lease.get("siaddr") == PROV_IP and lease.get("boot_file") == "pxelinux.0"
    ), lease
    sh("ip", "addr", "add", "192.0.2.50/24", "dev", "eth0", ns=web01)
    # --- TFTP: its per-MAC config, from the role's root
    pxe = _tftp(site, web01, "pxelinux.cfg/01-52-54-00-12-34-56")
    assert pxe is not None and "inst.ks=http://%s/ks/web01.cfg" % PROV_IP in pxe, pxe
    # --- HTTP: its install config to its own IP only (Debian's default site does not shadow it)
    status, body = _get(web01, "http://%s/ks/web01.cfg" % PROV_IP)
    assert status == "200" and "rootpw --iscrypted " + ROOT_HASH in body, (status, body)
    other = site.client("52:54:00:99:99:97", ip="192.0.2.99")
    assert _get(other, "http://%s/ks/web01.cfg" % PROV_IP)[0] == "403"
    assert _get(other, "http://%s/images/rocky9/vmlinuz" % PROV_IP) == ("200", "stand-in vmlinuz\n")
    # --- the installer's callback, through nginx to the bm-callback unit: local boot at once
    callback = re.search(r"curl -fsS (\S+)", body).group(1)
    assert _get(web01, callback)[0] == "200"
    pxe = _tftp(site, web01, "pxelinux.cfg/01-52-54-00-12-34-56")
    assert pxe is not None and "LOCALBOOT" in pxe and "inst.ks=" not in pxe, pxe

    # --- a second site changes nothing and restarts nothing
    _site_again_restarts_nothing(site, unit)
    assert "LOCALBOOT" in (_tftp(site, web01, "pxelinux.cfg/01-52-54-00-12-34-56") or "")
    _tags_service_starts_what_is_stopped(site, unit)
    # --- replace: web01's hardware died; the new box has another MAC
    new = _replace_web01(site, unit, web01, WEB01_MAC, NEW_MAC, 2)
    if site.backend == "isc":  # on the same server, rather than a third one from empty
        _failed_run_then_switch_to_kea(site, new)
        _on_kea_after_the_switch(site, new)


def _site_again_restarts_nothing(site, unit):
    starts = {
        name: site.journal(name, r"^(Starting|Reloading|Stopping) {unit} ")
        for name in (unit, "tftpd-hpa", "nginx", "bm-callback")
    }
    second = site.ok("site")
    assert second["changed"] == 0 and second["failed"] == 0, second
    # few tasks: no per-file loops (18 of these run a module on the provisioner, two of them the
    # DHCP unit's start-limit drop-in; the rest are argument checks and asserts on the controller).
    # The discovery role, off here, adds its argument check and the look for a unit to stop.
    assert second["ok"] <= 25, second
    assert {name: site.journal(name, r"^(Starting|Reloading|Stopping) {unit} ") for name in starts} == starts


def _tags_service_starts_what_is_stopped(site, unit):
    """--tags service alone starts stopped daemons and checks they hold their ports, without a render."""
    site.on("systemctl stop %s bm-callback" % unit)
    service = site.play("site", "--tags", "service")
    assert service.returncode == 0, service.stdout[-8000:] + service.stderr[-3000:]
    assert "provisioner_sync" not in service.stdout and "Render" not in service.stdout, service.stdout[-8000:]
    for role, check in (
        ("dhcp", "Check the DHCP server is bound"),
        ("kickstart", "Check the callback service is bound"),
    ):
        ran = service.stdout.partition("RUNNING HANDLER [baremetal.provision.%s : %s]" % (role, check))[2]
        assert ran.lstrip("* \n").startswith("ok: [prov-lab]"), (check, service.stdout[-8000:])
    for name in (unit, "bm-callback"):
        assert site.on("systemctl is-active %s" % name, check=False).strip() == "active", name
    assert ("kea-dhcp4" if unit == UNITS["kea"] else "dhcpd") in site.on("ss -H -l -n -u -p sport = :67")
    assert site.on("ss -H -l -n -t sport = :8087") != ""


def _replace_web01(site, unit, old, old_mac, new_mac, generation):
    """web01's hardware (old_mac, client namespace old, holding a lease on web01's IP) died: replace
    moves web01 to new_mac. Returns the new box's client namespace."""
    old_dashed, new_dashed = ("01-" + mac.replace(":", "-") for mac in (old_mac, new_mac))
    restarts = site.journal(unit, r"^Starting {unit} ")
    reloads = site.journal(unit, "DHCP4_DYNAMIC_RECONFIGURATION ")
    nginx_reloads = site.journal("nginx", r"^Reloading {unit} ")
    site.ok("replace", "-e", "system=web01", "-e", "mac=" + new_mac)
    if unit == "isc-dhcp-server":
        assert site.journal(unit, r"^Starting {unit} ") == restarts + 1  # restarted exactly once
    else:
        # Kea took the new config through its control socket, once; systemd did not restart it
        assert site.journal(unit, "DHCP4_DYNAMIC_RECONFIGURATION ") == reloads + 1
        assert site.journal(unit, r"^Starting {unit} ") == restarts
    assert site.journal("nginx", r"^Reloading {unit} ") == nginx_reloads + 1
    assert site.on("systemctl --failed --no-legend --plain") == ""
    tree = site.on("ls /srv/tftp/pxelinux.cfg /srv/tftp/grub /srv/tftp/ipxe")
    assert old_dashed[3:] not in tree and old_mac not in tree, tree
    assert new_dashed in tree and new_mac in tree, tree
    assert _tftp(site, old, "pxelinux.cfg/" + old_dashed) is None
    sh("ip", "addr", "del", "192.0.2.50/24", "dev", "eth0", ns=old)  # the dead box leaves the network
    # the new box gets web01's IP at once (Kea: the old MAC's lease on it was deleted) and installs
    new = site.client(new_mac)
    lease = udhcpc(new)
    assert lease.get("ip") == "192.0.2.50" and lease.get("hostname") == "web01", lease
    sh("ip", "addr", "add", "192.0.2.50/24", "dev", "eth0", ns=new)
    assert "generation %d" % generation in (_tftp(site, new, "pxelinux.cfg/" + new_dashed) or "")
    assert _get(new, "http://%s/ks/web01.cfg" % PROV_IP)[0] == "200"
    return new


def _failed_run_then_switch_to_kea(site, web01):
    """A restart or reload notified before a later task fails is not lost; moving to Kea stops ISC.
    web01: the client namespace with web01's (new) MAC."""
    web02 = site.client("52:54:00:12:34:57")
    assert udhcpc(web02).get("ip") == "192.0.2.51"
    # web02 moves to another IP (a new reservation, a new owner of its install config) in a run
    # that fails after the kickstart render notified nginx's reload: the unit folder is read-only
    # and the callback port changes, so writing the callback unit fails
    record = os.path.join(site.records, "systems", "web02.yml")
    with open(record, encoding="utf-8") as handle:
        text = handle.read()
    with open(record, "w", encoding="utf-8") as handle:
        handle.write(text.replace("192.0.2.51", "192.0.2.52"))
    restarts = site.journal("isc-dhcp-server", r"^Starting {unit} ")
    reloads = site.journal("nginx", r"^Reloading {unit} ")
    site.on("mount --bind /etc/systemd/system /etc/systemd/system && mount -o remount,bind,ro /etc/systemd/system")
    site.set_vars(kickstart_callback_port=8088)
    failed = site.play("site")
    site.on("umount /etc/systemd/system")
    assert failed.returncode != 0, failed.stdout[-4000:]
    after = failed.stdout.partition("TASK [baremetal.provision.kickstart : Install the callback unit]")[2]
    assert "fatal: [prov-lab]" in after.split("RUNNING HANDLER")[0], failed.stdout[-4000:]
    # the DHCP restart and the nginx reload ran all the same, once each: both serve the new records
    assert site.journal("isc-dhcp-server", r"^Starting {unit} ") == restarts + 1
    assert site.journal("nginx", r"^Reloading {unit} ") == reloads + 1
    assert udhcpc(web02).get("ip") == "192.0.2.52"
    sh("ip", "addr", "add", "192.0.2.52/24", "dev", "eth0", ns=web02)
    assert _get(web02, "http://%s/ks/web02.cfg" % PROV_IP)[0] == "200"
    site.set_vars()
    assert site.ok("site")["failed"] == 0

    # --- the provisioner moves to Kea: ISC stopped and disabled, its config gone, Kea serves
    site.set_vars(dhcp_server="kea")
    switched = site.ok("site")
    assert switched["changed"] > 0
    assert site.on("systemctl is-active isc-dhcp-server", check=False).strip() != "active"
    assert site.on("systemctl is-enabled isc-dhcp-server", check=False).strip() != "enabled"
    assert site.on("test -e /etc/dhcp/dhcpd.conf && echo stale || echo gone").strip() == "gone"
    assert site.on("systemctl is-active kea-dhcp4-server", check=False).strip() == "active"
    assert site.on("systemctl --failed --no-legend --plain") == ""
    assert "kea-dhcp4" in site.on("ss -H -l -n -u -p sport = :67")
    assert site.on("dpkg-query -W -f='${Status}' kea-dhcp4-server") == "install ok installed"
    assert site.on("systemctl is-enabled kea-dhcp4-server", check=False).strip() == "enabled"
    assert site.on("systemctl is-system-running", check=False).strip() == "running"
    lease = udhcpc(web01)
    assert lease.get("ip") == "192.0.2.50" and lease.get("boot_file") == "pxelinux.0", lease


def _on_kea_after_the_switch(site, web01):
    """What the kea run checks, on the server the isc run moved to Kea: a site that changes and
    restarts nothing, --tags service, and a replace that Kea takes through its control socket,
    freeing the old box's lease (web01: the client namespace of web01's MAC, leased from Kea)."""
    unit = UNITS["kea"]
    _site_again_restarts_nothing(site, unit)
    _tags_service_starts_what_is_stopped(site, unit)
    _replace_web01(site, unit, web01, NEW_MAC, THIRD_MAC, 3)
