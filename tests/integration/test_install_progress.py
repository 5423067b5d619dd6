# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""install_progress and install_wait on a real provisioning server (systemd, journald, the roles'
daemons as its units), with a client namespace that takes the steps a PXE install takes: a DHCP
lease, the boot loader and the kernel over TFTP, its install config and the callback over HTTP.

And the wait's timeout, on the controller itself: a machine that never boots is named with
"no stage seen", and the wait ends at its timeout.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest
from support import provisioner as P
from support.ansible_cli import ansible_env, run
from support.netns import Lab, have_root, sh, udhcpc
from support.store import served_by_lab_provisioner, write_store

PROV_IP = "192.0.2.10"
WEB01_MAC = "52:54:00:12:34:56"
WEB02_MAC = "52:54:00:12:34:57"
ROOT_HASH = "$6$saltsalt$" + "x" * 86
# Set BM_PROGRESS_CAPTURE to a folder to keep the daemons' journal lines of a run (JSON), from
# which the unit tests' captured lines were taken.
CAPTURE = os.environ.get("BM_PROGRESS_CAPTURE")

needs_provisioner = pytest.mark.skipif(
    not have_root() or shutil.which("mmdebstrap") is None or shutil.which("systemd-nspawn") is None,
    reason="needs root, mmdebstrap and systemd-nspawn (make deps)",
)


def _playbook(tmp, tasks, hosts="localhost"):
    path = os.path.join(str(tmp), "play-%d.yml" % time.monotonic_ns())
    with open(path, "w", encoding="utf-8") as handle:
        json.dump([{"hosts": hosts, "gather_facts": False, "tasks": tasks}], handle)
    return path


# ------------------------------------------------------------------ on the controller
def test_a_machine_that_never_boots_times_out_naming_no_stage(tmp_path):
    """No provisioner daemon and no machine at all: the wait gives up at its timeout and says no
    stage was seen, and which sources it could not read."""
    state = tmp_path / "state"
    state.mkdir()
    (state / "index.json").write_text(json.dumps({"web01": {"generation": 2, "macs": [WEB01_MAC], "ip": "192.0.2.50"}}))
    (state / "completed.json").write_text(json.dumps({"web01": 1}))
    play = _playbook(
        tmp_path,
        [
            {
                "name": "Wait for web01",
                "baremetal.provision.install_wait": {
                    "name": "web01",
                    "generation": 2,
                    "timeout": 3,
                    "delay": 1,
                    "state_dir": str(state),
                    "access_log": str(tmp_path / "no-such.log"),
                    "dhcp_unit": ["bm-no-such-dhcp"],
                    "tftp_unit": ["bm-no-such-tftp"],
                },
            }
        ],
    )
    env = ansible_env(tmp=tmp_path)
    started = time.monotonic()
    proc = run("ansible-playbook", ["-i", "localhost,", "-c", "local", play], env=env, timeout=120)
    took = time.monotonic() - started
    assert proc.returncode != 0, proc.stdout
    assert "web01: no stage seen: the machine never asked for a lease within 3 s after power-on" in proc.stdout, (
        proc.stdout
    )
    assert "not read: " in proc.stdout and "no-such.log" in proc.stdout, proc.stdout
    # it ended at its timeout rather than hanging (a generous bound: ansible's own start included)
    assert took < 100, took


def test_the_wait_refuses_bad_arguments_at_once(tmp_path):
    play = _playbook(
        tmp_path, [{"name": "Wait", "baremetal.provision.install_wait": {"name": "web01", "generation": 1, "delay": 0}}]
    )
    proc = run("ansible-playbook", ["-i", "localhost,", "-c", "local", play], env=ansible_env(tmp=tmp_path))
    assert proc.returncode != 0 and "delay more than 0 seconds" in proc.stdout, proc.stdout


# ------------------------------------------------------------------ on a real provisioner
class Provisioner(object):
    """The lab: a bridge, the provisioner on it, the records and an inventory over SSH."""

    def __init__(self, tmp, backend):
        self.tmp = str(tmp)
        self.backend = backend
        self.images = os.path.join(self.tmp, "images")
        os.makedirs(self.images)
        for name in ("vmlinuz", "initrd.img"):
            with open(os.path.join(self.images, name), "w", encoding="ascii") as handle:
                handle.write("stand-in %s\n" % name)
        files = served_by_lab_provisioner(PROV_IP)
        for name, mac, ip in (("web01", WEB01_MAC, "192.0.2.50"), ("web02", WEB02_MAC, "192.0.2.51")):
            files["systems/%s.yml" % name] = (
                'tier: web\nhardware_model: r650\ninterfaces:\n  - {name: eth0, mac: "%s", ip: %s, primary: true}\n'
                % (mac, ip)
            )
        self.records = write_store(os.path.join(self.tmp, "records"), files)
        self.inventory = os.path.join(self.tmp, "inventory")
        os.makedirs(self.inventory)
        with open(os.path.join(self.inventory, "fleet.baremetal.yml"), "w", encoding="utf-8") as handle:
            handle.write("plugin: baremetal.provision.records\nrecords_dir: %s\n" % self.records)
        self.env = ansible_env({"ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore"}, tmp=self.tmp)
        self.lab = Lab("bmq")
        self.ns = self.lab.namespace("lab")
        self.lab.bridge(self.ns, "br0", "192.0.2.1/24")
        self.server = None

    def write_vars(self):
        host = dict(
            self.server.inventory_vars(),
            dhcp_server=self.backend,
            kickstart_secrets={"root_password_hash": ROOT_HASH},
        )
        with open(os.path.join(self.inventory, "hosts.yml"), "w", encoding="utf-8") as handle:
            json.dump({"all": {"hosts": {"prov-lab": host}}}, handle)

    def ansible(self, tool, *args):
        """An ansible tool from the lab namespace (the only network that reaches the provisioner)."""
        cmd = ["ip", "netns", "exec", self.ns, os.path.join(os.path.dirname(sys.executable), tool)]
        cmd += ["-i", self.inventory, *args]
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=1200, check=False)

    def wait(self, name, generation, since, timeout):
        """The replace playbook's wait task, as a play of its own delegated to the provisioner."""
        task = {
            "name": "Wait for %s" % name,
            "baremetal.provision.install_wait": {
                "name": name,
                "generation": generation,
                "since": since,
                "timeout": timeout,
                "delay": 1,
            },
            "delegate_to": "prov-lab",
            "register": "waited",
        }
        show = {"name": "Show", "ansible.builtin.debug": {"msg": "seconds={{ waited.seconds }}"}}
        return self.ansible("ansible-playbook", _playbook(self.tmp, [task, show]))

    def capture(self, since):
        if not CAPTURE:
            return
        os.makedirs(CAPTURE, exist_ok=True)
        unit = {"isc": "isc-dhcp-server", "kea": "kea-dhcp4-server"}[self.backend]
        for name in (unit, "tftpd-hpa"):
            text = self.server.ssh("journalctl -u %s --since @%d -o json --no-pager" % (name, since)).stdout
            with open(os.path.join(CAPTURE, "%s.json" % name), "w", encoding="utf-8") as handle:
                handle.write(text)
        text = self.server.ssh("cat /var/log/nginx/baremetal-provision.log").stdout
        with open(os.path.join(CAPTURE, "nginx-%s.log" % self.backend), "w", encoding="utf-8") as handle:
            handle.write(text)

    def close(self):
        self.lab.close()


@pytest.fixture(params=["isc", "kea"])
def provisioner(request, tmp_path):
    lab = Provisioner(tmp_path, request.param)
    try:
        with P.booted(lab.lab, lab.ns, "br0", PROV_IP + "/24", tmp_path, binds=[(lab.images, "/srv/images")]) as server:
            lab.server = server
            lab.write_vars()
            site = lab.ansible("ansible-playbook", "baremetal.provision.site")
            assert site.returncode == 0, site.stdout[-6000:] + site.stderr[-2000:]
            yield lab
    finally:
        lab.close()


def _tftp(lab, ns, path):
    out = os.path.join(lab.tmp, "got-" + path.replace("/", "_"))
    proc = sh("tftp", PROV_IP, "-c", "get", path, out, ns=ns, check=False)
    return proc.returncode == 0 and os.path.exists(out)


def _get(ns, url):
    proc = sh("curl", "-s", "-m", "20", "-w", "\n%{http_code}", url, ns=ns)
    body, _sep, status = proc.stdout.rpartition("\n")
    return status, body


@needs_provisioner
def test_the_stages_of_an_install_as_the_provisioner_sees_them(provisioner):
    lab = provisioner
    since = time.time()
    # web01 boots: a lease, its boot loader and per-MAC config, the kernel, its install config
    web01 = lab.lab.client(lab.ns, "br0", WEB01_MAC)
    assert udhcpc(web01).get("ip") == "192.0.2.50"
    sh("ip", "addr", "add", "192.0.2.50/24", "dev", "eth0", ns=web01)
    assert _tftp(lab, web01, "pxelinux.0")
    assert _tftp(lab, web01, "pxelinux.cfg/01-" + WEB01_MAC.replace(":", "-"))
    assert _tftp(lab, web01, "images/rocky9/vmlinuz")
    status, kickstart = _get(web01, "http://%s/ks/web01.cfg" % PROV_IP)
    assert status == "200", (status, kickstart)

    # stuck there: the wait names the install config as the last stage
    stuck = lab.wait("web01", 1, since, timeout=2)
    assert stuck.returncode != 0, stuck.stdout[-4000:]
    assert re.search(
        r"web01 is stuck at install config \(/ks/web01\.cfg over HTTP\) [0-9.]+ s after power-on; "
        r"it did not call back within 2 s",
        stuck.stdout,
    ), stuck.stdout[-4000:]

    # the callback: the wait reports every stage, in order, then the time
    callback = re.search(r"curl -fsS (\S+)", kickstart).group(1)
    assert _get(web01, callback)[0] == "200"
    done = lab.wait("web01", 1, since, timeout=60)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    lines = re.findall(r"^web01: (.*)$", done.stdout, flags=re.M)
    expected = [
        r"lease taken [0-9.]+ s after power-on \(192\.0\.2\.50 to %s\)" % WEB01_MAC,
        r"boot loader fetched [0-9.]+ s after power-on \(pxelinux\.0 over TFTP\)",
        r"kernel fetched [0-9.]+ s after power-on \(images/rocky9/vmlinuz over TFTP\)",
        r"install config fetched [0-9.]+ s after power-on \(/ks/web01\.cfg over HTTP\)",
        r"called back [0-9.]+ s after power-on \(generation 1 recorded\)",
    ]
    assert len(lines) == len(expected), done.stdout[-4000:]
    for line, pattern in zip(lines, expected):
        assert re.fullmatch(pattern, line), (line, pattern)
    times = [float(re.search(r"([0-9.]+) s after", line).group(1)) for line in lines]
    assert times == sorted(times), lines
    assert "seconds=" in done.stdout

    # install_progress itself, as the status playbook runs it: every source read
    proc = lab.ansible(
        "ansible", "prov-lab", "-m", "baremetal.provision.install_progress", "-a", "name=web01 since=%f" % since
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    result = json.loads(proc.stdout.split("=>", 1)[1])
    assert [s["stage"] for s in result["stages"]] == ["lease", "boot_loader", "kernel", "install_config", "callback"]
    assert result["completed"] == 1 and result["requested"] == 1 and result["changed"] is False
    assert all(source["read"] for source in result["sources"]), result["sources"]
    unit = {"isc": "isc-dhcp-server", "kea": "kea-dhcp4-server"}[lab.backend]
    assert {"name": "dhcp", "where": "journal of %s" % unit, "read": True} in result["sources"], result["sources"]

    # the status playbook: the record's generation, the provisioner's completed one, the last stage
    status = lab.ansible(
        "ansible-playbook",
        "baremetal.provision.status",
        "-e",
        "system=web01",
        "-e",
        "since=%f" % since,
        "-e",
        "records_dir=" + lab.records,
    )
    assert status.returncode == 0, status.stdout[-4000:] + status.stderr[-2000:]
    assert re.search(
        r"web01: record generation 1, completed 1 on prov-lab; last stage callback at "
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(generation 1 recorded\)",
        status.stdout,
    ), status.stdout[-3000:]

    # web02 only takes a lease and its boot loader: it is stuck at the boot loader
    web02 = lab.lab.client(lab.ns, "br0", WEB02_MAC)
    assert udhcpc(web02).get("ip") == "192.0.2.51"
    sh("ip", "addr", "add", "192.0.2.51/24", "dev", "eth0", ns=web02)
    assert _tftp(lab, web02, "pxelinux.0")
    stuck = lab.wait("web02", 1, since, timeout=2)
    assert re.search(
        r"web02 is stuck at boot loader \(pxelinux\.0 over TFTP\) [0-9.]+ s after power-on; it did not call back within 2 s",
        stuck.stdout,
    ), stuck.stdout[-4000:]
    lab.capture(since)

    # A line of in.tftpd's that journald did not put in tftpd-hpa.service (its child ended before a
    # busy journald looked up its cgroup) still counts. Stand-in: logger from an SSH session, a line
    # in no unit of the daemon's, under in.tftpd's name, as such a line is stored.
    lab.server.ssh("logger -t in.tftpd 'RRQ from 192.0.2.51 filename images/rocky9/vmlinuz'")
    stuck = lab.wait("web02", 1, since, timeout=2)
    assert re.search(
        r"web02 is stuck at kernel \(images/rocky9/vmlinuz over TFTP\) [0-9.]+ s after power-on", stuck.stdout
    ), stuck.stdout[-4000:]
