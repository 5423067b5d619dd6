# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stages of an install from the lines the provisioner's daemons wrote (data/progress: lines
captured from the real ISC dhcpd, Kea, tftpd-hpa and nginx; see its README)."""

import json
import os
import subprocess

import pytest

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import progress as G

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "progress")
WEB01_MAC = "52:54:00:12:34:56"
WEB02_MAC = "52:54:00:12:34:57"


def _data(name):
    with open(os.path.join(DATA, name), encoding="utf-8") as handle:
        return handle.read()


def _messages(name):
    return [G.parse_journal_line(line) for line in _data(name).splitlines()]


# ------------------------------------------------------------------ single lines
def test_isc_dhcpd_acks_are_leases_and_nothing_else_is():
    found = [G.parse_dhcp_message(text) for _when, text in _messages("isc-dhcp-server.journal.json")]
    # DISCOVER, OFFER, REQUEST, ACK for each of the two clients
    assert found == [None, None, None, (WEB01_MAC, "192.0.2.50"), None, None, None, (WEB02_MAC, "192.0.2.51")]


def test_isc_dhcpd_ack_with_the_clients_host_name():
    # dhcpd's form when the client sends its host name (written from that form, not captured)
    line = "DHCPACK on 192.0.2.50 to 52:54:00:AB:CD:EF (web01) via eth1"
    assert G.parse_dhcp_message(line) == ("52:54:00:ab:cd:ef", "192.0.2.50")
    # the answer to a DHCPINFORM gives no lease
    assert G.parse_dhcp_message("DHCPACK to 192.0.2.50 (52:54:00:ab:cd:ef) via eth1") is None


def test_kea_allocations_are_leases_and_advertisements_are_not():
    found = [G.parse_dhcp_message(text) for _when, text in _messages("kea-dhcp4-server.journal.json")]
    assert found == [None, (WEB01_MAC, "192.0.2.50"), None, (WEB02_MAC, "192.0.2.51")]


def test_tftp_read_requests():
    found = [G.parse_tftp_message(text) for _when, text in _messages("tftpd-hpa.journal.json")]
    assert found == [
        ("192.0.2.50", "pxelinux.0"),
        ("192.0.2.50", "pxelinux.cfg/01-52-54-00-12-34-56"),
        ("192.0.2.50", "images/rocky9/vmlinuz"),
        ("192.0.2.51", "pxelinux.0"),
    ]
    # tftpd-hpa on an IPv6 socket names IPv4 clients as mapped addresses; GRUB asks with a slash
    assert G.parse_tftp_message("RRQ from ::ffff:192.0.2.60 filename /grub/grub.cfg-01-52:54:00:0e:00:03") == (
        "192.0.2.60",
        "grub/grub.cfg-01-52:54:00:0e:00:03",
    )
    assert G.parse_tftp_message("WRQ from 192.0.2.50 filename x") is None
    assert G.parse_tftp_message("Client 192.0.2.50 finished pxelinux.0") is None


def test_journal_lines():
    when, text = _messages("tftpd-hpa.journal.json")[0]
    assert when == pytest.approx(1796631617.118054) and text == "RRQ from 192.0.2.50 filename pxelinux.0"
    # journald gives a message that is not UTF-8 as a list of its bytes
    raw = json.dumps({"__REALTIME_TIMESTAMP": "1000000", "MESSAGE": [82, 82, 81, 255]})
    assert G.parse_journal_line(raw) == (1.0, "RRQ\ufffd")
    assert G.parse_journal_line("not json") is None
    assert G.parse_journal_line(json.dumps({"MESSAGE": "no time"})) is None


def test_access_log_lines():
    lines = [G.parse_access_line(line) for line in _data("nginx-paths.log").splitlines()]
    assert [(e["method"], e["uri"], e["status"]) for e in lines] == [
        ("GET", "/ipxe/52:54:00:12:34:56.ipxe", 200),
        ("GET", "/images/rocky9/vmlinuz", 200),
        ("GET", "/ks/web01.cfg", 403),
        ("GET", '/nothing?a="b"', 404),
        ("POST", "/bm/callback/web01.2.abc", 404),
    ]
    assert lines[0]["time"] == pytest.approx(1796631674.757) and lines[0]["addr"] == "127.0.0.1"
    for bad in ("", "{", '{"time":"x","remote_addr":"a","request_uri":"/","status":"200"}', "[]", '"text"'):
        assert G.parse_access_line(bad) is None, bad


# ------------------------------------------------------------------ which request is whose
def test_the_machine_owns_requests_from_its_ip_or_naming_its_macs():
    machine = G.Machine("web01", [WEB01_MAC.upper()], "192.0.2.50")
    assert machine.dhcp_event("DHCPACK on 192.0.2.50 to 52:54:00:12:34:56 via host0") == (
        "lease",
        "192.0.2.50 to 52:54:00:12:34:56",
    )
    assert machine.dhcp_event("DHCPACK on 192.0.2.51 to 52:54:00:12:34:57 via host0") is None
    assert machine.tftp_event("RRQ from 192.0.2.50 filename pxelinux.0") == ("boot_loader", "pxelinux.0 over TFTP")
    assert machine.tftp_event("RRQ from 192.0.2.50 filename images/d/linux") == ("kernel", "images/d/linux over TFTP")
    assert machine.tftp_event("RRQ from 192.0.2.51 filename pxelinux.0") is None
    # its per-MAC file, asked before the address is known to be its own
    assert machine.tftp_event("RRQ from 192.0.2.99 filename ipxe/52:54:00:12:34:56.ipxe")[0] == "boot_loader"

    def http(uri, status=200, addr="192.0.2.50", method="GET"):
        return machine.http_event({"time": 1.0, "addr": addr, "method": method, "uri": uri, "status": status})

    assert http("/ipxe/52:54:00:12:34:56.ipxe") == ("boot_loader", "/ipxe/52:54:00:12:34:56.ipxe over HTTP")
    assert http("/images/d/initrd.img") == ("kernel", "/images/d/initrd.img over HTTP")
    assert http("/ks/web01.cfg") == ("install_config", "/ks/web01.cfg over HTTP")
    assert http("/ks/web01/user-data") == ("install_config", "/ks/web01/user-data over HTTP")
    assert http("/ks/web01.cfg", status=403) is None  # refused: not fetched
    assert http("/ks/web01.cfg", addr="192.0.2.51") is None
    assert http("/ks/web010.cfg") is None  # another system's
    assert http("/images/d/linux", status=404) is None
    assert http("/images/d/linux", addr="192.0.2.51") is None
    assert http("/mirror/x") is None
    with pytest.raises(G.ProgressError, match="macs: '52:54:00' is not a MAC address"):
        G.Machine("web01", ["52:54:00"], None)


# ------------------------------------------------------------------ nginx's log, from its end
def _log(path, times, uri="/ks/web01.cfg"):
    with open(path, "w", encoding="utf-8") as handle:
        for when in times:
            handle.write(
                '{"time":"%.3f","remote_addr":"192.0.2.50","method":"GET","request_uri":"%s","status":"200",'
                '"body_bytes_sent":"1"}\n' % (when, uri)
            )


def test_the_log_is_read_backwards_only_as_far_as_the_start(tmp_path):
    path = str(tmp_path / "access.log")
    # 5,000 lines, one a second; the first line says it is newer than all (out of place): a reader
    # that read the whole file would return it
    times = [5000.0] + [float(t) for t in range(1, 5000)]
    _log(path, times)
    found = G.read_access_log(path, since=4990.0, slack=5.0, block=100)
    assert [e["time"] for e in found] == [float(t) for t in range(4990, 5000)]
    # without the slack it stops at the first line older than the start
    assert len(G.read_access_log(path, since=4990.0, slack=0.0, block=4096)) == 10


def test_lines_across_block_boundaries_and_a_missing_final_newline(tmp_path):
    path = str(tmp_path / "access.log")
    _log(path, [float(t) for t in range(100, 200)])
    with open(path, "a", encoding="utf-8") as handle:
        handle.write('{"time":"200.5","remote_addr":"192.0.2.50","request_uri":"/x","status":"200"}')
    for block in (1, 7, 64, 1 << 20):
        found = G.read_access_log(path, since=150.0, slack=0.0, block=block)
        assert [e["time"] for e in found] == [float(t) for t in range(150, 200)] + [200.5], block


def test_the_rotated_log_is_read_when_the_current_one_starts_after_the_start(tmp_path):
    path = str(tmp_path / "access.log")
    _log(path + ".1", [10.0, 20.0, 30.0])
    _log(path, [40.0, 50.0])
    assert [e["time"] for e in G.read_access_log(path, since=20.0, slack=0.0)] == [20.0, 30.0, 40.0, 50.0]
    assert [e["time"] for e in G.read_access_log(path, since=45.0, slack=0.0)] == [50.0]


# ------------------------------------------------------------------ the whole question
class Journal(object):
    """A stand-in for systemctl and journalctl that answers with the captured journal lines, matched
    as journalctl matches them: terms on one field ORed, on different fields ANDed, ``+`` ORing
    groups of terms."""

    def __init__(self, units, lines=None):
        self.units = units  # unit -> file in data/progress
        self.lines = (
            lines
            if lines is not None
            else [json.loads(line) for name in units.values() for line in _data(name).splitlines()]
        )
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        if argv[0] == "systemctl":
            state = "loaded" if argv[-1] in self.units else "not-found"
            return subprocess.CompletedProcess(argv, 0, state + "\n", "")
        groups = [[]]
        for arg in argv[1:]:
            if arg == "+":
                groups.append([])
            elif "=" in arg and not arg.startswith("-"):
                groups[-1].append(tuple(arg.split("=", 1)))
        assert all(groups), argv  # journalctl refuses an empty group

        def matches(entry, group):
            fields = {field for field, _value in group}
            return all(any(entry.get(f) == v for f, v in group if f == field) for field in fields)

        text = "".join(json.dumps(e) + "\n" for e in self.lines if any(matches(e, g) for g in groups))
        return subprocess.CompletedProcess(argv, 0, text, "")


@pytest.fixture
def provisioner(tmp_path, monkeypatch):
    """The state dir and nginx log of the captured run (Kea), journalctl answered from the capture."""
    monkeypatch.setattr(G.shutil, "which", lambda name: "/usr/bin/" + name)
    state = tmp_path / "state"
    state.mkdir()
    (state / "index.json").write_text(
        json.dumps(
            {
                "web01": {"generation": 1, "macs": [WEB01_MAC], "ip": "192.0.2.50"},
                "web02": {"generation": 1, "macs": [WEB02_MAC], "ip": "192.0.2.51"},
            }
        )
    )
    (state / "completed.json").write_text(json.dumps({"web01": 1}))
    log = tmp_path / "access.log"
    log.write_text(_data("nginx-install.log"))
    journal = Journal({"kea-dhcp4-server": "kea-dhcp4-server.journal.json", "tftpd-hpa": "tftpd-hpa.journal.json"})
    return {"state_dir": str(state), "access_log": str(log), "run": journal}


START = 1796631617.0  # a moment before the captured run's first line


def test_every_stage_of_the_captured_install_in_order(provisioner):
    found = G.install_progress("web01", START, **provisioner)
    assert [(s["stage"], s["detail"], s["source"]) for s in found["stages"]] == [
        ("lease", "192.0.2.50 to 52:54:00:12:34:56", "dhcp"),
        ("boot_loader", "pxelinux.0 over TFTP", "tftp"),
        ("kernel", "images/rocky9/vmlinuz over TFTP", "tftp"),
        ("install_config", "/ks/web01.cfg over HTTP", "http"),
        ("callback", "generation 1 recorded", "callback"),
    ]
    times = [s["time"] for s in found["stages"]]
    assert times == sorted(times)
    # the callback's time is that of the accepted request in nginx's log
    assert times[-1] == pytest.approx(1796631620.117)
    assert found["last_stage"]["stage"] == "callback"
    assert (found["macs"], found["ip"], found["generation"], found["requested"], found["completed"]) == (
        [WEB01_MAC],
        "192.0.2.50",
        1,
        1,
        1,
    )
    assert [(s["name"], s["read"]) for s in found["sources"]] == [
        ("dhcp", True),
        ("tftp", True),
        ("http", True),
        ("callback", True),
    ]
    journal_calls = [argv for argv in provisioner["run"].calls if argv[0] == "journalctl"]
    assert all("--since" in argv and "@1796631617" in argv and "json" in argv for argv in journal_calls)


def test_a_machine_that_got_as_far_as_its_boot_loader(provisioner):
    found = G.install_progress("web02", START, **provisioner)
    assert [s["stage"] for s in found["stages"]] == ["lease", "boot_loader"]
    assert found["last_stage"]["detail"] == "pxelinux.0 over TFTP"
    assert found["completed"] == 0


def test_a_callback_of_an_older_generation_does_not_count(provisioner):
    found = G.install_progress("web01", START, generation=2, **provisioner)
    assert found["last_stage"]["stage"] == "install_config"


def test_what_happened_before_the_start_is_not_seen(provisioner):
    found = G.install_progress("web01", 1796631617.13, **provisioner)
    # the lease (…617.088), the boot loader (…617.118) and the kernel (…617.129) came before
    assert [s["stage"] for s in found["stages"]] == ["install_config", "callback"]


def test_without_its_request_in_the_log_the_callback_is_timed_by_the_completed_file(provisioner):
    os.unlink(provisioner["access_log"])
    found = G.install_progress("web01", START, **provisioner)
    assert found["last_stage"]["stage"] == "callback"
    mtime = os.stat(os.path.join(provisioner["state_dir"], "completed.json")).st_mtime
    assert found["last_stage"]["time"] == pytest.approx(mtime, abs=0.001)
    http = next(s for s in found["sources"] if s["name"] == "http")
    assert http["read"] is False and "No such file or directory" in http["reason"]


def test_sources_that_are_not_there_are_skipped_and_named(provisioner, monkeypatch):
    found = G.install_progress("web01", START, dhcp_units=["isc-dhcp-server"], **dict(provisioner, access_log=None))
    assert [(s["name"], s["read"], s.get("reason")) for s in found["sources"]] == [
        ("dhcp", False, "none of the units isc-dhcp-server is on this host"),
        ("tftp", True, None),
        ("http", False, "no access log given (kickstart_access_log is empty)"),
        ("callback", True, None),
    ]
    assert [s["stage"] for s in found["stages"]] == ["boot_loader", "kernel", "callback"]
    monkeypatch.setattr(G.shutil, "which", lambda name: None)
    found = G.install_progress("web02", START, **provisioner)
    assert [(s["name"], s.get("reason")) for s in found["sources"][:2]] == [
        ("dhcp", "no journalctl on this host"),
        ("tftp", "no journalctl on this host"),
    ]
    assert found["stages"] == [] and found["last_stage"] is None


def test_a_tftp_line_the_journal_did_not_put_in_the_unit_is_still_read(provisioner):
    """A tftpd child that ends before a busy journald looks up its cgroup leaves its line without
    _SYSTEMD_UNIT: it matches no unit, but it is still in.tftpd's; another program's is not read."""
    journal = provisioner["run"]
    kernel = next(e for e in journal.lines if "images/rocky9/vmlinuz" in e["MESSAGE"])
    del kernel["_SYSTEMD_UNIT"], kernel["_SYSTEMD_CGROUP"]
    stranger = dict(kernel, SYSLOG_IDENTIFIER="logger", MESSAGE="RRQ from 192.0.2.51 filename images/rocky9/vmlinuz")
    journal.lines.append(stranger)
    found = G.install_progress("web01", START, **provisioner)
    assert [s["stage"] for s in found["stages"]] == ["lease", "boot_loader", "kernel", "install_config", "callback"]
    assert [s["stage"] for s in G.install_progress("web02", START, **provisioner)["stages"]] == ["lease", "boot_loader"]
    tftp = [argv for argv in journal.calls if "SYSLOG_IDENTIFIER=in.tftpd" in argv]
    assert tftp and all(
        argv[-3:] == ["_SYSTEMD_UNIT=tftpd-hpa.service", "+", "SYSLOG_IDENTIFIER=in.tftpd"] for argv in tftp
    )


def test_a_system_the_provisioner_does_not_serve(provisioner):
    found = G.install_progress("db01", START, **provisioner)
    assert found["stages"] == [] and found["requested"] is None and found["macs"] == []


# ------------------------------------------------------------------ sentences
def test_sentences_for_a_stage_and_for_a_wait_that_timed_out():
    lease = {"stage": "lease", "time": 104.1, "detail": "192.0.2.50 to 52:54:00:12:34:56"}
    assert G.describe(lease, 100.0) == "lease taken 4.1 s after power-on (192.0.2.50 to 52:54:00:12:34:56)"
    config = {"stage": "install_config", "time": 141.0, "detail": "/ks/web01.cfg over HTTP"}
    assert G.describe(config, 100.0, "the replace started") == (
        "install config fetched 41.0 s after the replace started (/ks/web01.cfg over HTTP)"
    )
    assert G.stuck_message("web01", [lease, config], 100.0, 600) == (
        "web01 is stuck at install config (/ks/web01.cfg over HTTP) 41.0 s after power-on; "
        "it did not call back within 600 s"
    )
    assert G.stuck_message("web01", [], 100.0, 600) == (
        "web01: no stage seen: the machine never asked for a lease within 600 s after power-on"
    )
