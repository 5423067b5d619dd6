# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Discovery of unknown machines, the provisioner's side: the collector's report (schema 1), and
the spool the discovery service writes it to and the discovered modules read.

An unknown machine in a segment with discovery on boots the collector, which POSTs one report
and powers off. Nothing here trusts the report: every field is checked and normalised by
``check_report`` before anything is written, and the spool is the only thing ever written.

Standard library only, relative imports only: the discovery service installs this file and
``atomic`` as its package ``bm_provisioner`` (see the package).

Spool layout (``spool``, default /var/lib/baremetal-provision/discovered)::

    52-54-00-12-34-56.json   one entry per boot MAC: {"mac", "report", "source_ip",
                             "first_seen", "last_seen", "reports"}
    .lock                    serialises writers (the service's threads, the modules)
"""

from __future__ import annotations

import calendar
import ipaddress
import json
import os
import re
import threading
import time

from .atomic import locked, write_atomic

SCHEMA = 1
DEFAULT_SPOOL_DIR = "/var/lib/baremetal-provision/discovered"
LOCK = ".lock"
SUFFIX = ".json"
ENTRY_KEYS = ("mac", "report", "source_ip", "first_seen", "last_seen", "reports")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

BOOT_SOURCES = ("bootif", "carrier", "only", "redfish")
BOOT_MODES = ("bios", "uefi", "unknown")
MAX_NICS = 64
MAX_DISKS = 128
MAX_NAME = 32
MAX_TEXT = 128
MAX_COLLECTOR = 64
MAX_CPUS = 100000
MAX_MEMORY_MIB = 2**32
MAX_SPEED_MBPS = 10**7
MAX_DISK_BYTES = 2**64
MAX_NESTING = 32
SHOW = 48

_MAC_SEPARATED = re.compile(r"[0-9a-f]{2}([:-])(?:[0-9a-f]{2}\1){4}[0-9a-f]{2}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ENTRY_NAME = re.compile(r"[0-9a-f]{2}(?:-[0-9a-f]{2}){5}\.json")
# Control characters (C0, DEL, C1: NEL U+0085 among them), the line and paragraph separators, and
# lone surrogates (JSON's "\ud800" escapes decode to them; they cannot be written as UTF-8).
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


class DiscoveryError(Exception):
    """The one error of discovery: a bad report, a spool that cannot be written or read."""


class ReportError(DiscoveryError):
    """A report field that breaks schema 1: ``field`` is its path (``nics[3].mac``)."""

    def __init__(self, field, message):
        super().__init__("%s: %s" % (field, message))
        self.field = field
        self.message = message


def show(value, limit=SHOW):
    """A value for a message or a log line: escaped like repr but ASCII only (no control
    character, line break or bidirectional override reaches a terminal), and truncated."""
    if isinstance(value, (bytes, str)) and len(value) > limit:
        return ascii(value[:limit]) + "...(%d more)" % (len(value) - limit)
    text = ascii(value)
    return text if len(text) <= limit + 2 else text[:limit] + "..."


def _kind(value):
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def _text(value, field, limit=MAX_TEXT, empty=True):
    if not isinstance(value, str):
        raise ReportError(field, "must be a string, got %s %s" % (_kind(value), show(value)))
    bad = _FORBIDDEN.search(value)
    if bad:
        raise ReportError(
            field, "contains the character U+%04X, which no field may hold: %s" % (ord(bad.group()), show(value))
        )
    text = value.strip()
    if len(text) > limit:
        raise ReportError(field, "is %d characters long, at most %d: %s" % (len(text), limit, show(text)))
    if not text and not empty:
        raise ReportError(field, "must not be empty")
    return text


def _int(value, field, low, high):
    # bool is a subclass of int: true is not 1 here
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReportError(field, "must be an integer, got %s %s" % (_kind(value), show(value)))
    if not low <= value <= high:
        raise ReportError(field, "must be between %d and %d, got %s" % (low, high, show(value)))
    return value


def _optional_int(value, field, low, high):
    return None if value is None else _int(value, field, low, high)


def _optional_bool(value, field):
    if value is not None and not isinstance(value, bool):
        raise ReportError(field, "must be true, false or null, got %s %s" % (_kind(value), show(value)))
    return value


def _choice(value, field, choices):
    text = _text(value, field)
    if text not in choices:
        raise ReportError(field, "must be one of %s, got %s" % (", ".join(choices), show(value)))
    return text


def normalize_mac(value, field):
    """A unicast MAC in lower-case colon form; colons or dashes, any case."""
    text = _text(value, field).lower()
    if not _MAC_SEPARATED.fullmatch(text):
        raise ReportError(field, "is not a MAC address of 6 octets (like 52:54:00:12:34:56): %s" % show(value))
    mac = text.replace("-", ":")
    if mac == "00:00:00:00:00:00":
        raise ReportError(field, "is the all-zero MAC address")
    if mac == "ff:ff:ff:ff:ff:ff":
        raise ReportError(field, "is the broadcast MAC address")
    if int(mac[:2], 16) & 1:
        raise ReportError(field, "%s is a multicast MAC address; a network card has a unicast one" % mac)
    return mac


def entry_name(mac):
    """The spool file of a boot MAC: 52-54-00-12-34-56.json."""
    return normalize_mac(mac, "mac").replace(":", "-") + SUFFIX


def _uuid(value, field):
    text = _text(value, field).lower()
    if text and not _UUID.fullmatch(text):
        raise ReportError(field, "is not a UUID of the form 8-4-4-4-12 hex digits (or empty): %s" % show(value))
    return text


def _ipv4(value, field):
    text = _text(value, field)
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise ReportError(field, "is not an IPv4 address: %s" % show(value)) from None


def _object(value, field, keys):
    """A dict with exactly these keys (an unknown or missing key is refused)."""
    if not isinstance(value, dict):
        raise ReportError(field, "must be an object, got %s %s" % (_kind(value), show(value)))
    for key in value:
        if key not in keys:
            raise ReportError(field, "has the unknown key %s" % show(key))
    for key in keys:
        if key not in value:
            raise ReportError(_path(field, key), "is missing")
    return value


def _path(parent, key):
    return key if parent == "report" else "%s.%s" % (parent, key)


def _list(value, field, limit):
    if not isinstance(value, list):
        raise ReportError(field, "must be a list, got %s %s" % (_kind(value), show(value)))
    if len(value) > limit:
        raise ReportError(field, "has %d items, at most %d" % (len(value), limit))
    return value


def _nic(value, field):
    _object(value, field, ("name", "mac", "carrier", "speed_mbps"))
    return {
        "name": _text(value["name"], field + ".name", MAX_NAME),
        "mac": normalize_mac(value["mac"], field + ".mac"),
        "carrier": _optional_bool(value["carrier"], field + ".carrier"),
        "speed_mbps": _optional_int(value["speed_mbps"], field + ".speed_mbps", 0, MAX_SPEED_MBPS),
    }


def _disk(value, field):
    _object(value, field, ("name", "size_bytes", "model", "serial", "wwn", "rotational"))
    return {
        "name": _text(value["name"], field + ".name", MAX_NAME),
        "size_bytes": _int(value["size_bytes"], field + ".size_bytes", 0, MAX_DISK_BYTES),
        "model": _text(value["model"], field + ".model"),
        "serial": _text(value["serial"], field + ".serial"),
        "wwn": _text(value["wwn"], field + ".wwn"),
        "rotational": _optional_bool(value["rotational"], field + ".rotational"),
    }


def check_report(data):
    """The report normalised (MACs in colon form, UUID lower case, strings stripped), or
    ReportError naming the first field that breaks schema 1."""
    _object(data, "report", ("schema", "collector", "boot", "system", "cpus", "memory_mib", "nics", "disks", "bmc"))
    schema = data["schema"]
    if isinstance(schema, bool) or not isinstance(schema, int) or schema != SCHEMA:
        raise ReportError("schema", "must be %d, got %s" % (SCHEMA, show(schema)))
    boot = _object(data["boot"], "boot", ("mac", "source", "mode"))
    system = _object(data["system"], "system", ("vendor", "product", "serial", "uuid"))
    report = {
        "schema": SCHEMA,
        "collector": _text(data["collector"], "collector", MAX_COLLECTOR, empty=False),
        "boot": {
            "mac": normalize_mac(boot["mac"], "boot.mac"),
            "source": _choice(boot["source"], "boot.source", BOOT_SOURCES),
            "mode": _choice(boot["mode"], "boot.mode", BOOT_MODES),
        },
        "system": {
            "vendor": _text(system["vendor"], "system.vendor"),
            "product": _text(system["product"], "system.product"),
            "serial": _text(system["serial"], "system.serial"),
            "uuid": _uuid(system["uuid"], "system.uuid"),
        },
        "cpus": _int(data["cpus"], "cpus", 0, MAX_CPUS),
        "memory_mib": _int(data["memory_mib"], "memory_mib", 0, MAX_MEMORY_MIB),
        "nics": [_nic(nic, "nics[%d]" % i) for i, nic in enumerate(_list(data["nics"], "nics", MAX_NICS))],
        "disks": [_disk(disk, "disks[%d]" % i) for i, disk in enumerate(_list(data["disks"], "disks", MAX_DISKS))],
        "bmc": None,
    }
    seen = {}
    for i, nic in enumerate(report["nics"]):
        if nic["mac"] in seen:
            raise ReportError("nics[%d].mac" % i, "%s is also nics[%d].mac" % (nic["mac"], seen[nic["mac"]]))
        seen[nic["mac"]] = i
    if report["boot"]["source"] != "redfish" and report["boot"]["mac"] not in seen:
        raise ReportError(
            "nics", "no NIC has the boot MAC %s (only a redfish report may omit it)" % report["boot"]["mac"]
        )
    if data["bmc"] is not None:
        bmc = _object(data["bmc"], "bmc", ("ip", "mac"))
        mac = _text(bmc["mac"], "bmc.mac")
        report["bmc"] = {"ip": _ipv4(bmc["ip"], "bmc.ip"), "mac": normalize_mac(mac, "bmc.mac") if mac else ""}
    return report


def _no_duplicates(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ReportError("report", "repeats the key %s" % show(key))
        result[key] = value
    return result


def _refuse_constant(name):
    raise ReportError("report", "%s is not a JSON value" % name)


def _depth(text):
    """How deep the brackets outside strings nest (json's parser recurses: bound it first)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_report(body):
    """A POST body (bytes): UTF-8 JSON of one report, checked and normalised, or ReportError."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ReportError("report", "is not UTF-8 (byte %d)" % exc.start) from None
    if _depth(text) > MAX_NESTING:
        raise ReportError("report", "nests deeper than %d" % MAX_NESTING)
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except ReportError:
        raise
    except (ValueError, RecursionError) as exc:
        raise ReportError("report", "is not JSON: %s" % show(str(exc), 80)) from None
    return check_report(data)


def iso(now):
    """Seconds since the epoch as ISO 8601 UTC (2026-12-07T08:00:00Z)."""
    return time.strftime(TIME_FORMAT, time.gmtime(now))


def _seconds(text):
    return calendar.timegm(time.strptime(text, TIME_FORMAT))


class Limits(object):
    """What the service accepts: at most ``max_entries`` entries (a new MAC beyond it is refused,
    a known one still updates), one accepted report per MAC per ``min_interval`` seconds, and
    ``per_source`` accepted reports per source address per minute (0: no such limit)."""

    WINDOW = 60

    def __init__(self, max_entries=1024, min_interval=30, per_source=20):
        self.max_entries = max_entries
        self.min_interval = min_interval
        self.per_source = per_source
        self._accepted = {}  # source address -> times of its accepted reports in the last WINDOW
        self._mutex = threading.Lock()

    def _recent(self, now):
        for source in list(self._accepted):
            times = [t for t in self._accepted[source] if now - t < self.WINDOW]
            if times:
                self._accepted[source] = times
            else:
                del self._accepted[source]

    def source_refusal(self, source, now):
        """Why a report from source is over its rate now, or None."""
        with self._mutex:
            self._recent(now)
            count = len(self._accepted.get(source, ()))
        if self.per_source and count >= self.per_source:
            return "%s sent %d reports in the last %d s, at most %d" % (source, count, self.WINDOW, self.per_source)
        return None

    def accepted(self, source, now):
        with self._mutex:
            self._accepted.setdefault(source, []).append(now)


def spool_lock(spool):
    """The spool's lock (fcntl): the service's threads and the modules write one at a time."""
    return locked(spool, LOCK, dir_mode=0o750, file_mode=0o600)


def _entry_files(spool):
    """Names of the files in the spool that are not its own bookkeeping (dot files)."""
    try:
        names = os.listdir(spool)
    except FileNotFoundError:
        return []
    return sorted(name for name in names if not name.startswith("."))


def _check_entry(name, data):
    """A spool entry as read back, checked as strictly as a report; ValueError says why not."""
    if not isinstance(data, dict) or sorted(data) != sorted(ENTRY_KEYS):
        raise ValueError("not a spool entry (keys %s)" % show(sorted(data) if isinstance(data, dict) else data, 120))
    report = check_report(data["report"])
    mac = normalize_mac(data["mac"], "mac")
    if mac != report["boot"]["mac"] or name != entry_name(mac):
        raise ValueError("its MAC %s is not its name's or its report's boot.mac" % mac)
    source = _text(data["source_ip"], "source_ip")
    try:
        ipaddress.ip_address(source)
    except ValueError:
        raise ValueError("source_ip %s is not an address" % show(source)) from None
    for key in ("first_seen", "last_seen"):
        try:
            _seconds(data[key])
        except (TypeError, ValueError):
            raise ValueError("%s %s is not ISO 8601 UTC" % (key, show(data[key]))) from None
    if isinstance(data["reports"], bool) or not isinstance(data["reports"], int) or data["reports"] < 1:
        raise ValueError("reports %s is not a positive count" % show(data["reports"]))
    return {
        "mac": mac,
        "report": report,
        "source_ip": source,
        "first_seen": data["first_seen"],
        "last_seen": data["last_seen"],
        "reports": data["reports"],
    }


def _read_entry(spool, name):
    """(entry, None) or (None, problem) for one spool file."""
    path = os.path.join(spool, name)
    if not _ENTRY_NAME.fullmatch(name):
        return None, "%s: not a spool entry name (<mac with dashes>.json)" % show(name)
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read().decode("utf-8"))
        return _check_entry(name, data), None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, DiscoveryError) as exc:
        return None, "%s: %s" % (name, exc)


def read_spool(spool):
    """(entries sorted by MAC, problems): a damaged or invalid file is a problem naming it, and
    is skipped. A spool that does not exist yet holds nothing."""
    entries, problems = [], []
    try:
        names = _entry_files(spool)
    except OSError as exc:
        return [], ["%s: cannot list the spool: %s" % (spool, exc)]
    for name in names:
        entry, problem = _read_entry(spool, name)
        if problem:
            problems.append(problem)
        else:
            entries.append(entry)
    entries.sort(key=lambda entry: entry["mac"])
    return entries, problems


def write_report(spool, report, source_ip, now, limits):
    """Store a report under its boot MAC: (201, message) for a new entry, (200, message) when
    the MAC reported before (its report replaced, first_seen kept, the count raised), (429,
    message) over a rate limit, (507, message) when the spool is full. Only a 200 or 201 writes."""
    report = check_report(report)
    mac = report["boot"]["mac"]
    name = entry_name(mac)
    with spool_lock(spool):
        path = os.path.join(spool, name)
        present = os.path.exists(path)
        entry, _problem = _read_entry(spool, name) if present else (None, None)
        if entry is not None and limits.min_interval > 0:
            since = now - _seconds(entry["last_seen"])
            if since < limits.min_interval:
                wait = limits.min_interval
                return 429, "%s reported %d s ago; at most one report per %d s" % (mac, max(since, 0), wait)
        refusal = limits.source_refusal(source_ip, now)
        if refusal:
            return 429, refusal
        if not present:
            count = sum(1 for name_ in _entry_files(spool) if _ENTRY_NAME.fullmatch(name_))
            if count >= limits.max_entries:
                return 507, "the spool holds %d entries, its limit; %s is not recorded" % (count, mac)
        stored = {
            "mac": mac,
            "report": report,
            "source_ip": source_ip,
            "first_seen": entry["first_seen"] if entry else iso(now),
            "last_seen": iso(now),
            "reports": entry["reports"] + 1 if entry else 1,
        }
        write_atomic(path, json.dumps(stored, indent=1, sort_keys=True) + "\n", mode=0o640)
        limits.accepted(source_ip, now)
    if entry:
        return 200, "%s updated (report %d)" % (mac, stored["reports"])
    return 201, "%s recorded" % mac


def spool_macs(spool):
    """The MACs the spool has a file for (damaged or not), sorted."""
    try:
        names = _entry_files(spool)
    except OSError:
        return []
    return [name[: -len(SUFFIX)].replace("-", ":") for name in names if _ENTRY_NAME.fullmatch(name)]


def remove_entries(spool, macs, check_mode=False):
    """Remove the entries of these MACs; the normalised MACs that were there (and are gone,
    unless check_mode). A MAC with no entry is no error."""
    wanted = sorted({normalize_mac(mac, "macs[%d]" % i) for i, mac in enumerate(macs)})
    removed = []
    if not os.path.isdir(spool):
        return removed
    with spool_lock(spool):
        for mac in wanted:
            path = os.path.join(spool, entry_name(mac))
            if not os.path.exists(path):
                continue
            if not check_mode:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    raise DiscoveryError("cannot remove the entry of %s: %s" % (mac, exc)) from None
            removed.append(mac)
    return removed
