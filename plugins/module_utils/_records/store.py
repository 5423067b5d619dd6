# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The record store: a directory of one YAML file per record, ``<root>/<kind>/<name>.yml``,
plus ``<root>/templates/`` for install templates. This module loads a whole store, checks
every rule (single records in schema.py, rules between records here) and reports every
problem at once, each naming its file and field. It also computes the inherited view of a
system (segment -> tier -> profile -> system, the nearest wins).

The same code serves the modules, the inventory plugin and the validate entry point.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import inspect
import ipaddress
import os
import sys
from stat import S_ISREG

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import family as _family
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.family import (
    FAMILIES,
    IPV4,
    IPV6,
    boot_family,
    families,
)
from ansible_collections.baremetal.provision.plugins.module_utils._records import fields as F
from ansible_collections.baremetal.provision.plugins.module_utils._records import schema as _schema
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import Problem, StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.parse_cache import ParseCache
from ansible_collections.baremetal.provision.plugins.module_utils._records.schema import (
    FORMAT_BY_FAMILY,
    INVALID,
    KINDS,
    canonical,
    check_record,
)
from ansible_collections.baremetal.provision.plugins.module_utils._records.yamlio import (
    RecordSyntaxError,
    dump_text,
    load_text,
)

ENV_RECORDS = "BAREMETAL_RECORDS"
TEMPLATES = "templates"
SUFFIX = ".yml"
JOURNAL_NAME = ".baremetal.journal"  # an edit of several files in flight (see transaction)


def record_path(kind, name):
    """The store-relative path of a record, as used in every message."""
    return "%s/%s%s" % (kind, name, SUFFIX)


def split_record_path(relpath):
    """(kind, name) of a store-relative path: record_path's inverse; a template keeps its file name."""
    kind, _sep, fname = relpath.partition("/")
    if kind != TEMPLATES and fname.endswith(SUFFIX):
        fname = fname[: -len(SUFFIX)]
    return kind, fname


def render_record(kind, data):
    """The exact text a record file gets when a module writes it."""
    return dump_text(canonical(kind, data))


class Record(object):
    """One record file: its raw data as read, and the normalised data (None when invalid)."""

    __slots__ = ("data", "kind", "name", "path", "problems", "raw")

    def __init__(self, kind, name, raw):
        self.kind = kind
        self.name = name
        self.path = record_path(kind, name)
        self.raw = raw
        self.problems = []
        self.data = None
        try:
            (F.check_system_name if kind == "systems" else F.check_record_name)(name)
        except ValueError as exc:
            self.problems.append(Problem(self.path, None, "bad record name (the file name): %s" % (exc,)))
            return
        data = check_record(kind, self.path, raw, self.problems)
        self.data = None if data is INVALID else data

    @classmethod
    def checked(cls, kind, name, raw, data):
        """A record whose normalised data passed these rules before (see rules_digest)."""
        record = cls.__new__(cls)
        record.kind, record.name, record.path = kind, name, record_path(kind, name)
        record.raw, record.data, record.problems = raw, data, []
        return record


def _checked_label(kind, name, rules):
    """What a checked record's cache entry is filed under besides its content: the rules that
    checked it depend on its kind and name."""
    return "%s/%s|%s" % (kind, name, rules)


@functools.lru_cache(maxsize=None)
def rules_digest():
    """A digest of the source of every rule: those a single record is checked by (the fields,
    the schema) and those between records (this module's store). Caches of checked records and
    views of a valid store carry it, so an upgrade that changes any rule checks everything again.
    None when the source cannot be read, and then no check is reused."""
    try:
        source = "".join(inspect.getsource(part) for part in (F, _family, _schema, sys.modules[__name__]))
    except (OSError, TypeError, KeyError):
        return None
    return hashlib.sha1(source.encode("utf-8")).hexdigest()[:16]


LEAF_KINDS = ("systems", "pools")  # no record refers to these


def _own(owners, record, remove=False):
    """Add (or remove) a leaf record's values to (from) owners (see RecordStore.owners)."""
    if record is None or record.data is None:
        return
    for what, value, field in _addresses(record):
        places = owners.setdefault((what, value), [])
        if remove:
            places.remove((record.path, field))
            if not places:
                del owners[(what, value)]
        else:
            places.append((record.path, field))


def _addresses(record):
    """(what, value, field) of each MAC and IP a valid system or pool record holds."""
    if record.kind == "pools":
        found = []
        for index, machine in enumerate(record.data.get("machines") or []):
            found.append(("MAC", machine["mac"], "machines[%d].mac" % index))
            # a spare's other NICs: a discovered machine is known by every MAC it reported
            for other, mac in enumerate(machine.get("other_macs") or []):
                if mac != machine["mac"]:
                    found.append(("MAC", mac, "machines[%d].other_macs[%d]" % (index, other)))
            for what in ("serial", "uuid"):
                if F.identifies_machine(what, machine.get(what)):
                    found.append((what, machine[what], "machines[%d].%s" % (index, what)))
        return found
    found = []
    for index, iface in enumerate(record.data["interfaces"]):
        found.append(("MAC", iface["mac"], "interfaces[%d].mac" % index))
        for family in FAMILIES:  # an IPv6 address is written one way (RFC 5952): equal text, same address
            if family.address_field in iface:
                found.append(("IP", iface[family.address_field], "interfaces[%d].%s" % (index, family.address_field)))
    return found


class RecordStore(object):
    """An in-memory copy of a store directory, with validation and inheritance."""

    def __init__(self, root):
        self.root = root
        self.records = {kind: {} for kind in KINDS}
        self.templates = set()
        self.load_problems = []
        self.stats = {}  # (kind, name) -> (size, mtime_ns, inode) of the file each record was read from
        self.seen = {}  # kind -> {file name: (size, mtime_ns, inode)} of every entry the load found
        self._problems = None  # (templates, problems) of the last problems(); any record change drops it
        self._owners = None  # {(what, value): [(path, field)]} of the leaf records, once asked for (see owners)

    # ------------------------------------------------------------------ loading
    @classmethod
    def load(cls, root, reuse=None, scan=None):
        """Read every record file under root. Problems are collected, never raised here.

        reuse: a store loaded earlier from the same root (read-only from then on). Its records are
        taken over for every file whose size, modification time and inode are unchanged, and only
        the other files are read; when nothing changed at all, reuse itself is returned.
        scan: a StoreScan of root just taken (under the same lock): its listing and stats are used
        instead of listing and stat'ing every file again.
        """
        store = cls(root)
        if not os.path.isdir(root):
            raise StoreError(Problem(root, None, "the records directory does not exist"))
        if reuse is not None and reuse.root != root:
            reuse = None
        cache = None
        for kind in KINDS:
            entries = _entries(root, kind, scan)
            if entries is None:
                continue
            seen = store.seen[kind] = {}
            for fname, stat in entries:
                if fname.startswith(".") or not S_ISREG(stat.st_mode) or not fname.endswith(SUFFIX):
                    seen[fname] = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
                    if not fname.startswith(".") and fname.endswith(".yaml") and S_ISREG(stat.st_mode):
                        store.load_problems.append(
                            Problem("%s/%s" % (kind, fname), None, "record files end in .yml, not .yaml")
                        )
                    continue
                name = fname[: -len(SUFFIX)]
                key = seen[fname] = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
                store.stats[(kind, name)] = key
                if reuse is not None and reuse.stats.get((kind, name)) == key:
                    store.records[kind][name] = reuse.records[kind][name]
                    continue
                if cache is None and reuse is None:  # a store re-read after an edit parses its few files directly
                    cache = ParseCache(root, _parse_bytes)
                # for the parse cache's file index: the change time as well (a write always moves it)
                full = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
                if cache is not None and store._add_known(kind, name, full, cache):
                    continue
                with open(os.path.join(root, kind, fname), "rb") as handle:
                    raw_bytes = handle.read()
                if cache is None or not store._add_checked(kind, name, raw_bytes, cache, full):
                    store.add_text(kind, name, raw_bytes)
        if cache is not None:
            cache.save()
        tdir = os.path.join(root, TEMPLATES)
        if os.path.isdir(tdir):
            store.templates = {
                entry.name for entry in os.scandir(tdir) if entry.is_file() and not entry.name.startswith(".")
            }
        if (
            reuse is not None
            and store.stats == reuse.stats
            and store.templates == reuse.templates
            and store.load_problems == reuse.load_problems
        ):
            return reuse
        return store

    def add_text(self, kind, name, raw_bytes, parse=None):
        """Parse one file's bytes and put the record in the store (replacing any of that name)."""
        try:
            raw = (parse or _parse_bytes)(raw_bytes)
        except UnicodeDecodeError:
            self._broken(kind, name, "the file is not UTF-8 text")
            return
        except RecordSyntaxError as exc:
            self._broken(kind, name, str(exc))
            return
        self.set_record(kind, name, Record(kind, name, raw))

    def set_record(self, kind, name, record):
        """Put a record (None: remove it); every change of a record goes through here."""
        owners = self._owners
        if owners is not None and kind in LEAF_KINDS:
            _own(owners, self.records[kind].get(name), remove=True)
            _own(owners, record)
        if record is None:
            self.records[kind].pop(name, None)
        else:
            self.records[kind][name] = record
        self._problems = None

    def _add_known(self, kind, name, stat, cache):
        """Add a record without reading its file: when the file's size, modification and change
        times and inode are as when it was last read, and the cache holds its parsed and checked
        data. False when the file has to be read."""
        rules = rules_digest()
        key = cache.known_key(record_path(kind, name), stat) if rules else None
        if key is None:
            return False
        data = cache.checked(key, _checked_label(kind, name, rules))
        raw = cache.parsed(key) if data is not None else None
        if raw is None:
            return False
        self.set_record(kind, name, Record.checked(kind, name, raw, data))
        return True

    def _add_checked(self, kind, name, raw_bytes, cache, stat):
        """Add a record through the parse cache: taken as checked when the cache holds the
        normalised data of these bytes under this kind, name and rules; else parsed, checked and,
        when it passes, remembered. False when the bytes do not parse (add_text reports that)."""
        rules = rules_digest()
        key = cache.key(raw_bytes)
        cache.note_key(record_path(kind, name), stat, key)
        label = _checked_label(kind, name, rules)
        data = cache.checked(key, label) if rules else None
        try:
            raw = cache.get(raw_bytes, key)
        except (UnicodeDecodeError, RecordSyntaxError):
            return False
        if data is not None:
            self.set_record(kind, name, Record.checked(kind, name, raw, data))
        else:
            record = Record(kind, name, raw)
            self.set_record(kind, name, record)
            if rules and record.data is not None and not record.problems:
                cache.remember_checked(key, label, record.data)
        return True

    def _broken(self, kind, name, message):
        record = Record.__new__(Record)
        record.kind, record.name, record.path = kind, name, record_path(kind, name)
        record.raw, record.data = None, None
        record.problems = [Problem(record.path, None, message)]
        self.set_record(kind, name, record)

    # ------------------------------------------------------------------ editing in memory
    def put(self, kind, name, data):
        """Set a record's data (as a module would write it); returns the Record."""
        record = Record(kind, name, data)
        self.set_record(kind, name, record)
        return record

    def remove(self, kind, name):
        self.set_record(kind, name, None)

    # ------------------------------------------------------------------ access
    def names(self, kind):
        return sorted(self.records[kind])

    def exists(self, kind, name):
        return name in self.records[kind]

    def data(self, kind, name):
        """Normalised data of a valid record, or None (missing or invalid)."""
        record = self.records[kind].get(name)
        return record.data if record is not None else None

    def text(self, kind, name):
        """The text a record has on disk, or None if there is no such file."""
        path = os.path.join(self.root, kind, name + SUFFIX)
        try:
            with open(path, "r", encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    # ------------------------------------------------------------------ validation
    def problems(self):
        """Every problem in the store, sorted: per-record rules and rules between records."""
        return self._remembered(lambda: self._rules({kind: list(self.records[kind].values()) for kind in KINDS}))

    def remember(self, problems):
        """Take ``problems`` as the whole store's (known from the index or an edit's checks) until
        a record or the set of templates changes."""
        self._problems = (frozenset(self.templates), tuple(sorted(problems)))

    def check(self):
        problems = self.problems()
        if problems:
            raise StoreError(problems)

    def _remembered(self, compute):
        """compute()'s problems, sorted and kept until a record or the set of templates changes."""
        templates = frozenset(self.templates)
        if self._problems is None or self._problems[0] != templates:
            self._problems = (templates, tuple(sorted(set(compute()))))
        return list(self._problems[1])

    def _rules(self, records):
        """The load's problems, and those of ``records`` ({kind: [Record]}): their own rules and
        every rule between records that involves them."""
        problems = list(self.load_problems)
        for kind_records in records.values():
            for record in kind_records:
                problems.extend(record.problems)
        add = problems.append
        missing = self._missing(add)
        networks = self._check_segments(add)
        self._check_tiers(missing, records.get("tiers", ()))
        self._check_profiles(add, missing, records.get("profiles", ()))
        self._check_pools(add, missing, records.get("pools", ()))
        self._check_systems(add, missing, networks, records.get("systems", ()))
        self._check_unique(add)
        return problems

    def _missing(self, add):
        """missing(kind, name, path, field, what): adds the problem of a reference to a record that
        does not exist and says whether it did."""

        def missing(kind, name, path, field, what):
            if not self.exists(kind, name):
                known = self.names(kind)
                hint = " (known: %s)" % ", ".join(known[:10]) + (" ..." if len(known) > 10 else "") if known else ""
                add(
                    Problem(
                        path, field, "%s %r does not exist: no file %s%s" % (what, name, record_path(kind, name), hint)
                    )
                )
                return True
            return False

        return missing

    @staticmethod
    def _check_tiers(missing, records):
        for record in records:
            tier = record.data
            if tier is None:
                continue
            missing("segments", tier["segment"], record.path, "segment", "segment")
            if "profile" in tier:
                missing("profiles", tier["profile"], record.path, "profile", "profile")
            for model, profile in (tier.get("profiles_by_model") or {}).items():
                missing("profiles", profile, record.path, "profiles_by_model.%s" % model, "profile")

    def _check_profiles(self, add, missing, records):
        for record in records:
            profile = record.data
            if profile is None:
                continue
            missing("distros", profile["distro"], record.path, "distro", "distro")
            if profile["template"] not in self.templates:
                add(
                    Problem(
                        record.path, "template", "template %r does not exist in %s/" % (profile["template"], TEMPLATES)
                    )
                )

    def _check_pools(self, add, missing, records, enlist=True):
        for record in records:
            if record.data is not None:
                missing("segments", record.data["segment"], record.path, "segment", "segment")
        if not enlist:
            return
        # two pools of one segment with the same enlist rule: which pool a machine goes to would
        # depend on the pools' names
        rules = {}
        for _name, record in sorted(self.records["pools"].items()):
            for index, rule in enumerate((record.data or {}).get("enlist") or []):
                key = (record.data["segment"], rule["product"], rule.get("vendor"))
                rules.setdefault(key, []).append((record.path, "enlist[%d]" % index))
        for (segment, product, vendor), places in sorted(rules.items()):
            pools = sorted({path for path, field in places})
            if len(pools) < 2:
                continue
            for path, field in places:
                others = ", ".join(p for p in pools if p != path)
                add(
                    Problem(
                        path,
                        field,
                        "the same enlist rule (product %r%s) as %s, on the same segment %s: "
                        "a machine found there could go to either pool"
                        % (product, ", vendor %r" % vendor if vendor else "", others, segment),
                    )
                )

    def _check_segments(self, add):
        """Each segment's networks (one per family it has) and the addresses inside them; returns
        {family: {segment: network}} for the systems' checks."""
        networks = {family: {} for family in FAMILIES}
        for name, record in sorted(self.records["segments"].items()):
            seg = record.data
            if seg is None:
                continue
            if not families(seg):
                add(
                    Problem(
                        record.path,
                        "network",
                        "a segment needs an IPv4 network (network), an IPv6 one (ipv6.network) or both",
                    )
                )
                continue
            for family in families(seg):
                networks[family][name] = self._check_segment_family(add, record.path, seg, family)
            if seg.get("discovery"):
                self._check_discovery(add, record.path, seg)
        for family, by_name in networks.items():
            names = sorted(by_name)
            for i, left in enumerate(names):
                for right in names[i + 1 :]:
                    if by_name[left].overlaps(by_name[right]):
                        for this, other in ((left, right), (right, left)):
                            add(
                                Problem(
                                    record_path("segments", this),
                                    family.field("network"),
                                    "%s overlaps %s of %s"
                                    % (by_name[this], by_name[other], record_path("segments", other)),
                                )
                            )
        return networks

    @staticmethod
    def _check_segment_family(add, path, seg, family):
        """One family's part of a segment: its router, relay and range inside its network."""
        part = family.part(seg)
        net = family.network(part["network"])
        for field in ("gateway", "relay"):
            if field in part:
                value = family.to_int(part[field])
                where = family.field(field)
                if not int(net.network_address) <= value <= int(net.broadcast_address):
                    add(Problem(path, where, "%s is outside the segment's network %s" % (part[field], net)))
                    continue
                reason = family.host_problem(net, value)
                if reason:
                    add(Problem(path, where, "%s is %s" % (part[field], reason)))
        if family.version == 4 and "relay" in part and "next_server" not in part:
            # the relay forwards DHCP only: TFTP, HTTP and the callback need the provisioner's
            # address, which nothing else in the records gives for a segment it is not on
            add(
                Problem(
                    path,
                    "next_server",
                    "a segment served through the relay %s needs next_server: the "
                    "provisioner's address its machines reach through the relay" % part["relay"],
                )
            )
        if family.version == 6 and part.get("advertise") and "relay" in part:
            add(
                Problem(
                    path,
                    family.field("advertise"),
                    "the provisioner cannot send router advertisements to a segment it reaches through "
                    "the relay %s: its router sends them (advertise: false)" % part["relay"],
                )
            )
        if "dynamic_range" in part:
            bounds = [family.to_int(a) for a in part["dynamic_range"]]
            for index, (text, value) in enumerate(zip(part["dynamic_range"], bounds)):
                inside = int(net.network_address) <= value <= int(net.broadcast_address)
                if not inside or family.host_problem(net, value):
                    add(
                        Problem(
                            path,
                            family.field("dynamic_range[%d]" % index),
                            "%s is not a host address of the segment's network %s" % (text, net),
                        )
                    )
            for field in family.reserved:
                if field in part and bounds[0] <= family.to_int(part[field]) <= bounds[1]:
                    message = "the range contains the %s %s" % (field, part[field])
                    add(Problem(path, family.field("dynamic_range"), message))
        return net

    @staticmethod
    def _check_discovery(add, path, seg):
        """A segment that sends unknown machines to the collector: they lease from its dynamic
        range (there is no other address for a MAC without a record), and the collector reports
        to its next_server (the only address of the provisioner the records give)."""
        if "network" not in seg:
            add(
                Problem(
                    path,
                    "discovery",
                    "discovery runs over IPv4 (the collector boots through iPXE and DHCPv4): "
                    "a segment with discovery: true needs network",
                )
            )
            return
        needs = (
            ("dynamic_range", "unknown machines get their addresses only from the dynamic range"),
            ("next_server", "the collector boots from and reports to the provisioner at next_server"),
        )
        for field, why in needs:
            if field not in seg:
                add(Problem(path, field, "a segment with discovery: true needs %s: %s" % (field, why)))

    def _check_systems(self, add, missing, networks, records):
        for record in records:
            system = record.data
            if system is None:
                continue
            path = record.path
            if missing("tiers", system["tier"], path, "tier", "tier"):
                continue
            tier = self.data("tiers", system["tier"])
            if tier is not None and not missing("segments", tier["segment"], path, "tier", "segment of the tier"):
                profile = self.profile_name(system)
                if profile is None:
                    add(
                        Problem(
                            path,
                            "profile",
                            "no install profile: set profile here or on %s" % record_path("tiers", system["tier"]),
                        )
                    )
                elif "profile" in system:
                    missing("profiles", profile, path, "profile", "profile")
            interfaces = system["interfaces"]
            if not interfaces:
                add(Problem(path, "interfaces", "a system needs at least one interface"))
                continue
            primaries = [i for i, iface in enumerate(interfaces) if iface.get("primary")]
            if len(interfaces) > 1 and len(primaries) != 1:
                add(
                    Problem(
                        path, "interfaces", "exactly one interface must have primary: true (found %d)" % len(primaries)
                    )
                )
            primary_index = primaries[0] if primaries else 0
            primary = interfaces[primary_index]
            primary_segment = self.data("segments", primary.get("segment") or (tier or {}).get("segment"))
            seg_families = families(primary_segment)
            if seg_families and not any(f.address_field in primary for f in seg_families):
                add(
                    Problem(
                        path,
                        "interfaces[%d].%s" % (primary_index, seg_families[0].address_field),
                        "the primary interface needs an %s" % " or an ".join(f.address_field for f in seg_families),
                    )
                )
            if boot_family(primary_segment, primary) is IPV6:
                self._check_ipv6_boot(add, path, system, primary_segment)
            names_seen = set()
            for index, iface in enumerate(interfaces):
                if iface["name"] in names_seen:
                    add(Problem(path, "interfaces[%d].name" % index, "interface name %r is used twice" % iface["name"]))
                names_seen.add(iface["name"])
                seg_name = iface.get("segment") or (tier or {}).get("segment")
                if "segment" in iface and missing(
                    "segments", iface["segment"], path, "interfaces[%d].segment" % index, "segment"
                ):
                    continue
                for family in FAMILIES:
                    address = iface.get(family.address_field)
                    if address is None:
                        continue
                    field = "interfaces[%d].%s" % (index, family.address_field)
                    if seg_name in networks[family]:
                        network = networks[family][seg_name]
                        self._check_ip_in_segment(add, path, field, address, seg_name, network, family)
                    elif seg_name in networks[IPV4] or seg_name in networks[IPV6]:
                        add(
                            Problem(
                                path,
                                field,
                                "%s has no %s network: give this interface %s"
                                % (
                                    record_path("segments", seg_name),
                                    family.label,
                                    " or ".join(f.address_field for f in FAMILIES if seg_name in networks[f]),
                                ),
                            )
                        )

    def _check_ipv6_boot(self, add, path, system, segment):
        """What a machine that boots over IPv6 can boot: UEFI only (pxelinux is BIOS's), and
        Secure Boot only on the provisioner's own link (through a relay, GRUB finds no route to
        the TFTP server, so iPXE, which is unsigned, boots there)."""
        profile = self.data("profiles", self.profile_name(system)) or {}
        if _boot_loader((segment, self.data("tiers", system["tier"]) or {}, profile, system)) == "pxelinux":
            add(
                Problem(
                    path,
                    "boot_loader",
                    "boot_loader pxelinux (inherited or set here) is BIOS's: this system boots over IPv6, "
                    "which is UEFI only; use auto, grub or ipxe",
                )
            )
        if profile.get("secure_boot") and segment["ipv6"].get("relay"):
            add(
                Problem(
                    path,
                    "profile",
                    "profile %s has secure_boot, but this system boots over IPv6 through the relay %s: "
                    "Debian's GRUB finds no route to the TFTP server there, and iPXE, which boots instead, "
                    "is not signed" % (self.profile_name(system), segment["ipv6"]["relay"]),
                )
            )

    def _check_ip_in_segment(self, add, path, field, ip, seg_name, network, family=IPV4):
        # ip was validated: compared as integers (10,000 systems, two passes per edit)
        value = family.to_int(ip)
        part = family.part(self.data("segments", seg_name))
        seg_path = record_path("segments", seg_name)
        first, last = int(network.network_address), int(network.broadcast_address)
        if not first <= value <= last:
            add(Problem(path, field, "%s is outside %s, the network of %s" % (ip, network, seg_path)))
            return
        reason = family.host_problem(network, value)
        if reason:
            add(Problem(path, field, "%s is %s" % (ip, reason)))
        for reserved in family.reserved:
            if part.get(reserved) == ip:
                add(Problem(path, field, "%s is the %s of %s" % (ip, family.field(reserved), seg_path)))
        if "dynamic_range" in part:
            low, high = part["dynamic_range"]
            if family.to_int(low) <= value <= family.to_int(high):
                add(Problem(path, field, "%s is inside the dynamic range %s - %s of %s" % (ip, low, high, seg_path)))

    def owners(self):
        """{(what, value): [(path, field)]}: who holds each MAC, IP, serial and UUID among the leaf
        records (firmware placeholders aside). Built on first use, then kept up to date by every
        change of a record, so that the checks of an edit look up its own values only."""
        if self._owners is None:
            owners = {}
            for kind in LEAF_KINDS:
                for record in self.records[kind].values():
                    _own(owners, record)
            self._owners = owners
        return self._owners

    def leaf_values(self, kind, name):
        """The (what, value) pairs the leaf record kind/name holds now (none if missing or invalid)."""
        record = self.records[kind].get(name)
        if record is None or record.data is None:
            return set()
        return {(what, value) for what, value, _field in _addresses(record)}

    def _check_unique(self, add, values=None):
        """MACs across systems and pools; IPs across interfaces; serials and UUIDs across spares
        (firmware placeholders aside). Both sides are reported, the others in order. values: only
        these (what, value) pairs (the checks of an edit), else every value."""
        owners = self.owners()
        for key in owners if values is None else values:
            places = owners.get(key) or ()
            if len(places) < 2:
                continue
            what, value = key
            for path, field in places:
                others = ", ".join("%s (%s)" % place for place in sorted(places) if place != (path, field))
                topic = "%s %s is used more than once" % (what, value)
                add(Problem(path, field, "%s %s is also used by %s" % (what, value, others), topic))

    def local_problems(self, touched, values):
        """The problems an edit of the leaf records ``touched`` ({(kind, name)}: systems and pools,
        which no record refers to) can add or take away: the touched records' own, those of their
        references and addresses, the uniqueness of ``values`` on every record holding one (pass
        the values the touched records hold before the edit and after it), and, when a pool is
        touched, the pools' enlist rules. The store's other problems are those it had before."""
        records = {kind: [] for kind in LEAF_KINDS}
        problems = []
        for kind, name in sorted(touched):
            record = self.records[kind].get(name)
            if record is not None:
                records[kind].append(record)
                problems.extend(record.problems)
        add = problems.append
        missing = self._missing(add)
        networks = self._check_segments(lambda problem: None)  # the segments' own problems are not the edit's
        self._check_pools(add, missing, records["pools"], enlist=any(kind == "pools" for kind, _name in touched))
        self._check_systems(add, missing, networks, records["systems"])
        self._check_unique(add, values)
        return problems

    # ------------------------------------------------------------------ references
    def referrers(self, kind, name):
        """Paths of records that refer to the record kind/name (deleting it would break them)."""
        refs = []
        for _tname, record in self.records["tiers"].items():
            tier = record.raw if isinstance(record.raw, dict) else {}
            if kind == "segments" and tier.get("segment") == name:
                refs.append(record.path)
            if kind == "profiles" and (
                tier.get("profile") == name or name in (tier.get("profiles_by_model") or {}).values()
            ):
                refs.append(record.path)
        for _sname, record in self.records["systems"].items():
            system = record.raw if isinstance(record.raw, dict) else {}
            if kind == "tiers" and system.get("tier") == name:
                refs.append(record.path)
            if kind == "profiles" and system.get("profile") == name:
                refs.append(record.path)
            if kind == "segments" and any(
                isinstance(i, dict) and i.get("segment") == name for i in system.get("interfaces") or []
            ):
                refs.append(record.path)
        for other_kind, field, target in (("profiles", "distro", "distros"), ("pools", "segment", "segments")):
            if kind != target:
                continue
            for _oname, record in self.records[other_kind].items():
                if isinstance(record.raw, dict) and record.raw.get(field) == name:
                    refs.append(record.path)
        return sorted(set(refs))

    # ------------------------------------------------------------------ inheritance
    def profile_name(self, system):
        """The profile a system installs: its own, else its tier's for its model, else the tier's."""
        if system.get("profile"):
            return system["profile"]
        tier = self.data("tiers", system["tier"]) or {}
        model = system.get("hardware_model")
        by_model = tier.get("profiles_by_model") or {}
        if model is not None and model in by_model:
            return by_model[model]
        return tier.get("profile")

    def resolve_system(self, name):
        """The merged, inherited view of a valid system (segment -> tier -> profile -> system)."""
        system = self.data("systems", name)
        if system is None:
            raise StoreError(Problem(record_path("systems", name), None, "no such valid system record"))
        tier = self.data("tiers", system["tier"]) or {}
        seg_name = tier.get("segment")
        segment = self.data("segments", seg_name) or {}
        profile_name = self.profile_name(system)
        profile = self.data("profiles", profile_name) or {}
        distro = self.data("distros", profile.get("distro")) or {}
        layers = (segment, tier, profile, system)
        interfaces = system["interfaces"]
        primary = next((i for i in interfaces if i.get("primary")), interfaces[0])
        network = _network_facts(segment["network"]) if segment.get("network") else None
        ipv6 = segment.get("ipv6") or {}
        kernel_options = F.merge_kernel_options(
            *[F.parse_kernel_options(layer.get("kernel_options")) for layer in layers]
        )
        installed_options = F.merge_kernel_options(
            *[F.parse_kernel_options(layer.get("installed_kernel_options")) for layer in layers]
        )
        merged_vars = {}
        for layer in layers:
            merged_vars.update(layer.get("vars") or {})
        boot_loader = _boot_loader(layers)
        domain = segment.get("domain")
        return {
            "name": name,
            "hostname": name,
            "fqdn": "%s.%s" % (name, domain) if domain else name,
            "tier": system["tier"],
            "segment": seg_name,
            "provisioner": segment.get("provisioner"),
            "profile": profile_name,
            "distro": profile.get("distro"),
            "family": distro.get("family"),
            "arch": distro.get("arch", "x86_64"),
            "install_format": profile.get("format") or FORMAT_BY_FAMILY.get(distro.get("family")),
            "template": profile.get("template"),
            "install_tree": distro.get("install_tree"),
            "hardware_model": system.get("hardware_model"),
            "mac": primary["mac"],
            "ip": primary.get("ip"),
            "ipv6": primary.get("ipv6"),
            "interfaces": [
                {
                    "name": i["name"],
                    "mac": i["mac"],
                    "ip": i.get("ip"),
                    "ipv6": i.get("ipv6"),
                    "primary": i is primary,
                    "segment": i.get("segment", seg_name),
                }
                for i in interfaces
            ],
            "network": {
                "network": network[0] if network else None,
                "netmask": network[1] if network else None,
                "prefix": network[2] if network else None,
                "gateway": segment.get("gateway"),
                "dns": list(segment.get("dns") or []),
                "domain": domain,
                "next_server": segment.get("next_server"),
                # the segment's IPv6 part (addresses come by DHCPv6, the route by router advertisement)
                "ipv6": (
                    {
                        "network": ipv6["network"],
                        "prefix": 64,
                        "dns": list(ipv6.get("dns") or []),
                        "next_server": ipv6["next_server"],
                    }
                    if ipv6
                    else None
                ),
            },
            "boot_loader": boot_loader,
            "secure_boot": bool(profile.get("secure_boot", False)),
            "kernel_options": F.format_kernel_options(kernel_options),
            "installed_kernel_options": F.format_kernel_options(installed_options),
            "vars": merged_vars,
            "build_generation": (system.get("build") or {}).get("generation", 1),
            "bmc": dict(system["bmc"]) if system.get("bmc") else None,
        }


def _boot_loader(layers):
    """The boot loader of a system's layers (segment, tier, profile, system): the nearest says."""
    boot_loader = "auto"
    for layer in layers:
        boot_loader = layer.get("boot_loader", boot_loader)
    return boot_loader


@functools.lru_cache(maxsize=256)
def _network_facts(text):
    """(network, netmask, prefix length) of a segment's validated network, computed once per segment."""
    network = ipaddress.IPv4Network(text)
    return str(network), str(network.netmask), network.prefixlen


def _entries(root, kind, scan=None):
    """[(file name, stat)] of a kind's folder, from the scan when there is one; None without the folder."""
    if scan is not None and scan.stats is not None:
        return scan.stats.get(kind)
    try:
        found = list(os.scandir(os.path.join(root, kind)))
    except (FileNotFoundError, NotADirectoryError):
        return None
    entries = []
    for entry in found:
        with contextlib.suppress(OSError):  # gone since the listing
            entries.append((entry.name, entry.stat()))
    return entries


def _parse_bytes(raw_bytes):
    return load_text(raw_bytes.decode("utf-8"))


def default_root(value=None):
    """records_dir from the argument, else the BAREMETAL_RECORDS environment variable."""
    root = value or os.environ.get(ENV_RECORDS)
    if not root:
        raise StoreError(Problem("records_dir", None, "no records directory: set records_dir or %s" % ENV_RECORDS))
    return os.path.abspath(os.path.expanduser(root))
