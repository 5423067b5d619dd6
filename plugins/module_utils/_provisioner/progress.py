# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

How far a machine's install got, as the provisioner's own daemons saw it. Each stage comes from
what a real daemon wrote:

    lease           the DHCP server's journal: ISC dhcpd's ``DHCPACK on <ip> to <mac>``, Kea's
                    ``DHCP4_LEASE_ALLOC [hwtype=1 <mac>] ... lease <ip>``, for one of the MACs
    boot_loader     tftpd-hpa's journal (``-v``): ``RRQ from <ip> filename <file>`` of anything
                    but images/, or nginx's log: a GET of /ipxe/... (the per-MAC iPXE script)
    kernel          a kernel or initrd: TFTP ``images/...`` or a GET of /images/...
    install_config  a GET of the system's /ks/ URL answered 200
    callback        the completed generation (completed.json) at least the one asked for; its time
                    from nginx's log of the accepted /bm/callback/ request

The journal is read with ``journalctl --since @<start> -o json _SYSTEMD_UNIT=<unit>.service``, and
for TFTP ``+ SYSLOG_IDENTIFIER=in.tftpd`` (see TFTP_IDENTIFIERS); nginx's log (the
kickstart role's JSON format) from its end backwards, only as far as the start. A source that is
not there (no journalctl, no such unit, no log file) is skipped and said so in ``sources``.

Standard library only: the install_progress module runs it on the provisioner.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time

from .netboot import COMPLETED, DEFAULT_STATE_DIR, INDEX, read_completed, read_json

STAGES = ("lease", "boot_loader", "kernel", "install_config", "callback")
# How a stage is named in a sentence: "<name> is stuck at <where>", "<name>: <done> 4.1 s after ..."
WHERE = {
    "lease": "lease",
    "boot_loader": "boot loader",
    "kernel": "kernel",
    "install_config": "install config",
    "callback": "callback",
}
DONE = {
    "lease": "lease taken",
    "boot_loader": "boot loader fetched",
    "kernel": "kernel fetched",
    "install_config": "install config fetched",
    "callback": "called back",
}
DEFAULT_ACCESS_LOG = "/var/log/nginx/baremetal-provision.log"
# The roles' units on Debian and on the RHEL family (roles/dhcp and roles/tftp vars/main.yml).
DEFAULT_DHCP_UNITS = ("isc-dhcp-server", "kea-dhcp4-server", "dhcpd", "kea-dhcp4")
DEFAULT_TFTP_UNITS = ("tftpd-hpa", "tftp")
# The syslog names a source's lines are also matched by. tftpd forks a child per transfer, and a
# child that ends before journald looks up its cgroup leaves a line without _SYSTEMD_UNIT (a busy
# journald loses the race): such a line matches no -u, but it still carries the daemon's name.
TFTP_IDENTIFIERS = ("in.tftpd",)
# nginx writes a line when a request ends, so lines are in end-time order only roughly (workers,
# long downloads): the backward read goes this far past the start before it stops.
LOG_SLACK = 120.0
LOG_BLOCK = 65536
LOG_MAX_BYTES = 256 * 1024 * 1024

_ISC_ACK = re.compile(r"\bDHCPACK on (?P<ip>[0-9.]+) to (?P<mac>[0-9A-Fa-f:]+)")
_KEA_ALLOC = re.compile(
    r"\bDHCP4_LEASE_ALLOC \[hwtype=\d+ (?P<mac>[0-9A-Fa-f:]+)\].*?\blease (?P<ip>[0-9.]+) has been allocated"
)
_TFTP_RRQ = re.compile(r"\bRRQ from (?P<ip>\S+) filename (?P<file>\S+)")
_CALLBACK = re.compile(r"^/bm/callback/(?P<system>[a-z0-9-]+)\.(?P<generation>[0-9]+)\.")


class ProgressError(Exception):
    """A question progress cannot answer (bad input)."""


def normalize_mac(mac):
    text = str(mac).strip().lower().replace("-", ":")
    if not re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", text):
        raise ProgressError("macs: %r is not a MAC address" % (mac,))
    return text


def _plain_ip(address):
    address = address.strip()
    return address[len("::ffff:") :] if address.lower().startswith("::ffff:") else address


# ------------------------------------------------------------------ parsers of single lines
def parse_dhcp_message(text):
    """(mac, ip) of a lease given out, from one ISC dhcpd or Kea log message; else None."""
    match = _ISC_ACK.search(text) or _KEA_ALLOC.search(text)
    if not match:
        return None
    try:
        return normalize_mac(match.group("mac")), match.group("ip")
    except ProgressError:
        return None


def parse_tftp_message(text):
    """(client ip, file name without a leading slash) of a tftpd-hpa read request; else None."""
    match = _TFTP_RRQ.search(text)
    if not match:
        return None
    return _plain_ip(match.group("ip")), match.group("file").lstrip("/")


def parse_access_line(line):
    """One line of the kickstart role's nginx log (JSON): a dict with time (float), addr, method,
    uri, status (int); None for a line that is not one."""
    try:
        entry = json.loads(line)
        return {
            "time": float(entry["time"]),
            "addr": _plain_ip(str(entry["remote_addr"])),
            "method": str(entry.get("method") or "GET"),
            "uri": str(entry["request_uri"]),
            "status": int(entry["status"]),
        }
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def parse_journal_line(line):
    """(time in epoch seconds, message) of one line of ``journalctl -o json``; else None."""
    try:
        entry = json.loads(line)
        stamp = int(entry["__REALTIME_TIMESTAMP"]) / 1e6
        message = entry.get("MESSAGE")
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    if isinstance(message, list):  # journald gives a message that is not UTF-8 as its bytes
        message = bytes(b & 0xFF for b in message if isinstance(b, int)).decode("utf-8", "replace")
    if not isinstance(message, str):
        return None
    return stamp, message


# ------------------------------------------------------------------ the machine's files
def per_mac_names(mac):
    """The per-MAC boot config paths of a MAC in the TFTP tree (render_boot's names)."""
    return (
        "pxelinux.cfg/01-" + mac.replace(":", "-"),
        "grub/grub.cfg-01-" + mac,
        "ipxe/%s.ipxe" % mac,
    )


class Machine(object):
    """What identifies a system's requests: its name, its MACs and its IP."""

    def __init__(self, name, macs, ip):
        self.name = name
        self.macs = [normalize_mac(mac) for mac in macs or []]
        self.ip = ip or None
        self.files = set()
        for mac in self.macs:
            self.files.update(per_mac_names(mac))
        self.ks = re.compile(r"^/ks/%s(\.cfg|\.xml|/user-data|/meta-data)(\?.*)?$" % re.escape(name))

    def owns(self, addr, path):
        return (self.ip is not None and addr == self.ip) or path.lstrip("/") in self.files

    # each classifier: (stage, detail) or None
    def dhcp_event(self, message):
        parsed = parse_dhcp_message(message)
        if parsed is None or parsed[0] not in self.macs:
            return None
        return "lease", "%s to %s" % (parsed[1], parsed[0])

    def tftp_event(self, message):
        parsed = parse_tftp_message(message)
        if parsed is None or not self.owns(*parsed):
            return None
        _addr, path = parsed
        stage = "kernel" if path.startswith("images/") else "boot_loader"
        return stage, "%s over TFTP" % path

    def http_event(self, entry):
        uri = entry["uri"]
        path = uri.split("?", 1)[0]
        if entry["method"] not in ("GET", "HEAD", "POST"):
            return None
        if self.ks.match(uri):
            if entry["addr"] == self.ip and entry["status"] == 200:
                return "install_config", "%s over HTTP" % path
            return None
        if not self.owns(entry["addr"], path) or entry["status"] >= 400:
            return None
        if path.startswith("/images/"):
            return "kernel", "%s over HTTP" % path
        if path.startswith("/ipxe/"):
            return "boot_loader", "%s over HTTP" % path
        return None


# ------------------------------------------------------------------ sources
def read_access_log(path, since, slack=LOG_SLACK, block=LOG_BLOCK, max_bytes=LOG_MAX_BYTES):
    """The entries of nginx's JSON log at or after since, oldest first, read from the end of the
    file backwards until a line older than since - slack (and from ``path.1``, the file logrotate
    left, when the current one starts after since). Raises OSError when path cannot be read."""
    entries, reached_start = _read_back(path, since, slack, block, max_bytes)
    if reached_start and os.path.exists(path + ".1"):
        try:
            older = _read_back(path + ".1", since, slack, block, max_bytes)[0]
        except OSError:
            older = []
        entries = older + entries
    return entries


def _read_back(path, since, slack, block, max_bytes):
    """(entries at or after since oldest first, whether the start of the file was reached)."""
    found = []
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        position = handle.tell()
        rest = b""
        read = 0
        while position > 0 and read < max_bytes:
            step = min(block, position)
            position -= step
            handle.seek(position)
            lines = (handle.read(step) + rest).split(b"\n")
            read += step
            # the first piece may be the end of a line that starts in the block before
            rest = lines.pop(0) if position > 0 and read < max_bytes else b""
            for raw in reversed(lines):
                entry = parse_access_line(raw.decode("utf-8", "replace")) if raw.strip() else None
                if entry is None:
                    continue
                if entry["time"] < since - slack:
                    found.reverse()
                    return sorted(found, key=lambda item: item["time"]), False
                if entry["time"] >= since:
                    found.append(entry)
    found.reverse()  # oldest first, so that equal times keep the file's order
    return sorted(found, key=lambda item: item["time"]), position <= 0


def _run(argv):
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def loaded_units(units, run=_run):
    """Those of units that systemd knows here (all of them when systemctl cannot say)."""
    if shutil.which("systemctl") is None:
        return list(units)
    found = []
    for unit in units:
        proc = run(["systemctl", "show", "-p", "LoadState", "--value", unit])
        if proc.returncode != 0 or proc.stdout.strip() not in ("not-found", ""):
            found.append(unit)
    return found


def journal_argv(units, since, identifiers=()):
    """journalctl's arguments for the lines of the units, or of a process naming itself as one of
    identifiers, since the start: matches on one field are ORed, ``+`` ORs the two groups."""
    argv = ["journalctl", "--no-pager", "-q", "-o", "json", "--since", "@%d" % int(since)]
    argv += ["_SYSTEMD_UNIT=%s" % (unit if "." in unit else unit + ".service") for unit in units]
    if identifiers:
        argv += ["+"] + ["SYSLOG_IDENTIFIER=%s" % name for name in identifiers]
    return argv


def read_journal(units, since, run=_run, identifiers=()):
    """(messages [(time, text)] oldest first, where, reason) of the units' journal since the start;
    messages is None when it could not be read, and reason says why."""
    if shutil.which("journalctl") is None:
        return None, "journal", "no journalctl on this host"
    present = loaded_units(units, run)
    if not present:
        return None, "journal", "none of the units %s is on this host" % ", ".join(units)
    argv = journal_argv(present, since, identifiers)
    where = "journal of %s" % ", ".join(present)
    proc = run(argv)
    if proc.returncode != 0:
        return None, where, "journalctl failed: %s" % (proc.stderr.strip() or proc.returncode)
    messages = []
    for line in proc.stdout.splitlines():
        parsed = parse_journal_line(line)
        if parsed is not None and parsed[0] >= since:
            messages.append(parsed)
    messages.sort(key=lambda item: item[0])
    reason = None
    if "insufficient permissions" in proc.stderr:
        reason = "read as a user who may not see the daemons' lines (run as root, or in group adm or systemd-journal)"
    return messages, where, reason


# ------------------------------------------------------------------ the question
def install_progress(
    name,
    since,
    macs=None,
    ip=None,
    generation=None,
    state_dir=DEFAULT_STATE_DIR,
    access_log=DEFAULT_ACCESS_LOG,
    dhcp_units=DEFAULT_DHCP_UNITS,
    tftp_units=DEFAULT_TFTP_UNITS,
    run=_run,
):
    """The stages of name's install seen since ``since`` (epoch seconds), in the order of STAGES,
    each the first time it was seen: {"stage", "time", "detail", "source"}. MACs, IP and the
    generation asked default to what the netboot index says of the system."""
    index = read_json(os.path.join(state_dir, INDEX), {})
    entry = index.get(name) if isinstance(index.get(name), dict) else {}
    if not macs:
        macs = entry.get("macs") or []
    ip = ip or entry.get("ip")
    requested = entry.get("generation")
    if generation is None:
        generation = requested
    machine = Machine(name, macs, ip)
    first = {}
    sources = []

    def seen(stage_detail, when, source):
        if stage_detail is None:
            return
        stage, detail = stage_detail
        if stage not in first or when < first[stage]["time"]:
            first[stage] = {"stage": stage, "time": round(when, 3), "detail": detail, "source": source}

    for source, units, identifiers, classify in (
        ("dhcp", dhcp_units, (), machine.dhcp_event),
        ("tftp", tftp_units, TFTP_IDENTIFIERS, machine.tftp_event),
    ):
        messages, where, reason = read_journal(list(units), since, run, identifiers)
        sources.append(_source(source, where, messages is not None, reason))
        for when, text in messages or []:
            seen(classify(text), when, source)

    callback_time = None
    if access_log:
        try:
            entries = read_access_log(access_log, since)
        except OSError as exc:
            sources.append(_source("http", access_log, False, "cannot read it: %s" % (exc.strerror or exc)))
        else:
            sources.append(_source("http", access_log, True, None))
            for item in entries:
                seen(machine.http_event(item), item["time"], "http")
                match = _CALLBACK.match(item["uri"])
                if (
                    match
                    and item["status"] == 200
                    and match.group("system") == name
                    and generation is not None
                    and int(match.group("generation")) == generation
                ):
                    callback_time = item["time"] if callback_time is None else min(callback_time, item["time"])
    else:
        sources.append(_source("http", "nginx log", False, "no access log given (kickstart_access_log is empty)"))

    completed = read_completed(state_dir).get(name, 0)
    path = os.path.join(state_dir, COMPLETED)
    sources.append(_source("callback", path, os.path.exists(path), None if os.path.exists(path) else "not there yet"))
    if generation is not None and completed >= generation:
        when = callback_time
        if when is None:
            try:
                when = os.stat(path).st_mtime  # the last completion recorded, maybe another system's
            except OSError:
                when = since
        seen(("callback", "generation %d recorded" % completed), when, "callback")

    stages = [first[stage] for stage in STAGES if stage in first]
    return {
        "now": time.time(),
        "macs": machine.macs,
        "ip": machine.ip,
        "since": since,
        "generation": generation,
        "requested": requested,
        "completed": completed,
        "stages": stages,
        "last_stage": stages[-1] if stages else None,
        "sources": sources,
    }


def _source(name, where, read, reason):
    source = {"name": name, "where": where, "read": bool(read)}
    if reason:
        source["reason"] = reason
    return source


# ------------------------------------------------------------------ sentences
def describe(stage, since, since_what="power-on"):
    """``lease taken 4.1 s after power-on (192.0.2.10 to 52:54:00:...)``."""
    return "%s %.1f s after %s (%s)" % (DONE[stage["stage"]], stage["time"] - since, since_what, stage["detail"])


def stuck_message(name, stages, since, timeout, since_what="power-on"):
    """The failure of a wait that timed out, naming the last stage seen."""
    if not stages:
        return "%s: no stage seen: the machine never asked for a lease within %d s after %s" % (
            name,
            timeout,
            since_what,
        )
    last = stages[-1]
    return "%s is stuck at %s (%s) %.1f s after %s; it did not call back within %d s" % (
        name,
        WHERE[last["stage"]],
        last["detail"],
        last["time"] - since,
        since_what,
        timeout,
    )
