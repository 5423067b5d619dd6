# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Enlistment: from what discovery found (the provisioners' spools, or Redfish) to spares in pools.

Every machine found is sorted into exactly one outcome, against the whole store:

- ``known``: one of its MACs belongs to a system or a spare already, with the same serial (or
  none recorded): a machine booting again changes nothing;
- ``changed``: its serial or UUID is a spare's, but its MACs are not that spare's: the hardware
  changed (a NIC swapped), reported for a person to fix, never added twice;
- ``added``: a pool of its segment has an enlist rule matching its DMI vendor and product: it
  becomes a spare of that rule's hardware model;
- ``unmatched``: no rule, no segment, or a value the records cannot hold: reported, not added.

A serial or UUID that firmware uses as a placeholder ("Default string", all zeros) never matches.
The plan is computed without writing; ``apply`` stages it in a Transaction, whose commit checks
every rule of the store (a MAC in two places, a serial twice) like any other change.
"""

from __future__ import annotations

import copy
import fnmatch
import ipaddress

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.family import FAMILIES
from ansible_collections.baremetal.provision.plugins.module_utils._records import fields as F
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import Problem, StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import record_path

OUTCOMES = ("added", "known", "changed", "unmatched")


class Found(object):
    """One machine as discovery saw it: its report and where it came from."""

    def __init__(self, entry, index):
        self.index = index
        self.report = entry.get("report") or {}
        self.provisioner = entry.get("provisioner")
        self.source_ip = entry.get("source_ip")
        self.segment = entry.get("segment")
        self.via = entry.get("via") or (
            "redfish" if self.report.get("boot", {}).get("source") == "redfish" else "collector"
        )
        self.when = entry.get("last_seen") or entry.get("first_seen")
        boot = self.report.get("boot") or {}
        system = self.report.get("system") or {}
        self.mac = boot.get("mac") or entry.get("mac")
        self.macs = [
            self.mac,
            *sorted({n.get("mac") for n in self.report.get("nics") or [] if n.get("mac")} - {self.mac}),
        ]
        self.vendor = (system.get("vendor") or "").strip()
        self.product = (system.get("product") or "").strip()
        self.serial = (system.get("serial") or "").strip()
        self.uuid = (system.get("uuid") or "").strip().lower()

    def label(self):
        what = "%s (%s%s)" % (
            self.mac,
            " ".join(part for part in (self.vendor, self.product) if part) or "no DMI product",
            ", serial %s" % self.serial if self.serial else "",
        )
        where = " from %s" % self.provisioner if self.provisioner else ""
        return what + where


class _Index(object):
    """Who holds each MAC, serial and UUID in the store."""

    def __init__(self, store):
        self.macs, self.serials, self.uuids = {}, {}, {}
        for _name, record in sorted(store.records["systems"].items()):
            for index, iface in enumerate((record.data or {}).get("interfaces") or []):
                self.macs.setdefault(iface["mac"], (record.path, "interfaces[%d].mac" % index, None))
        for _name, record in sorted(store.records["pools"].items()):
            for index, machine in enumerate((record.data or {}).get("machines") or []):
                place = (record.path, "machines[%d]" % index, machine)
                for mac in [machine["mac"], *(machine.get("other_macs") or [])]:
                    self.macs.setdefault(mac, place)
                if F.identifies_machine("serial", machine.get("serial")):
                    self.serials.setdefault(machine["serial"], place)
                if F.identifies_machine("uuid", machine.get("uuid")):
                    self.uuids.setdefault(machine["uuid"], place)


def _segment_of(store, found):
    """The segment the machine was found on: given (Redfish), or the one of its reporting
    provisioner whose network holds the address it reported from."""
    if found.segment:
        return found.segment, None
    if not found.source_ip:
        return None, "no segment: the report has no source address (give segment= for Redfish finds)"
    try:
        address = ipaddress.ip_address(found.source_ip)
    except ValueError:
        return None, "no segment: %r is not an address" % (found.source_ip,)
    for name in store.names("segments"):
        segment = store.data("segments", name)
        if not segment or (found.provisioner and segment.get("provisioner") != found.provisioner):
            continue
        for family in FAMILIES:
            part = family.part(segment)
            if part and address.version == family.version and address in family.network(part["network"]):
                return name, None
    return None, "reported from %s, which is in no segment %s serves" % (found.source_ip, found.provisioner or "any")


def _rule_for(store, segment, found):
    """(pool, rule) of the first matching enlist rule of a pool of the segment (pools by name)."""
    for pool in store.names("pools"):
        data = store.data("pools", pool)
        if not data or data.get("segment") != segment:
            continue
        for rule in data.get("enlist") or []:
            if not fnmatch.fnmatchcase(found.product, rule["product"]):
                continue
            if rule.get("vendor") and not fnmatch.fnmatchcase(found.vendor, rule["vendor"]):
                continue
            return pool, rule
    return None, None


def _spare(found, rule):
    """The pool entry of a machine found, as the record holds it (optional facts left out when empty)."""
    report = found.report
    machine = {"mac": found.mac, "hardware_model": rule["hardware_model"]}
    if F.identifies_machine("serial", found.serial):
        machine["serial"] = found.serial
    if F.identifies_machine("uuid", found.uuid):
        machine["uuid"] = found.uuid
    for key, value in (("vendor", found.vendor), ("product", found.product)):
        if value:
            machine[key] = value
    if found.macs[1:]:
        machine["other_macs"] = found.macs[1:]
    for key in ("cpus", "memory_mib"):
        if report.get(key):
            machine[key] = report[key]
    disks = [
        {k: v for k, v in disk.items() if k in ("name", "size_bytes", "model", "serial", "wwn") and v not in ("", None)}
        for disk in report.get("disks") or []
    ]
    if disks:
        machine["disks"] = disks
    bmc = report.get("bmc") or {}
    if bmc.get("ip"):
        machine["bmc_address"] = bmc["ip"]
    mode = (report.get("boot") or {}).get("mode")
    if mode in ("bios", "uefi"):
        machine["boot_mode"] = mode
    machine["enlisted"] = "%s via %s%s" % (
        found.when or "unknown time",
        found.via,
        " on %s" % found.provisioner if found.provisioner else "",
    )
    return machine


def plan(store, entries):
    """{outcome: [item]} for the machines found; an item says what, where and why."""
    index = _Index(store)
    out = {outcome: [] for outcome in OUTCOMES}
    seen = {}  # MAC / serial / UUID -> label of an earlier machine in this same batch
    for number, entry in enumerate(entries):
        found = Found(entry, number)
        item = {
            "mac": found.mac,
            "macs": found.macs,
            "serial": found.serial,
            "uuid": found.uuid,
            "vendor": found.vendor,
            "product": found.product,
            "provisioner": found.provisioner,
        }
        outcome, detail = _classify(store, index, found, seen, item)
        item["detail"] = detail
        out[outcome].append(item)
        for key in [*found.macs, ("serial", found.serial), ("uuid", found.uuid)]:
            seen.setdefault(key, found.label())
    return out


def _classify(store, index, found, seen, item):
    if not found.mac:
        return "unmatched", "the report names no boot MAC"
    for mac in found.macs:
        if mac in index.macs:
            path, field, machine = index.macs[mac]
            if (
                machine is not None
                and F.identifies_machine("serial", found.serial)
                and F.identifies_machine("serial", machine.get("serial"))
                and machine["serial"] != found.serial
            ):
                return "changed", "MAC %s is %s %s's, whose serial is %s, but the machine reports serial %s" % (
                    mac,
                    path,
                    field,
                    machine["serial"],
                    found.serial,
                )
            item["record"] = path
            return "known", "MAC %s is already in %s (%s): nothing to add" % (mac, path, field)
    for kind, value, table in (("serial", found.serial, index.serials), ("uuid", found.uuid, index.uuids)):
        if F.identifies_machine(kind, value) and value in table:
            path, field, machine = table[value]
            item["record"] = path
            return "changed", "%s %s is the spare %s in %s (%s), now reported with MAC %s: the hardware changed; " % (
                kind,
                value,
                machine["mac"],
                path,
                field,
                found.mac,
            ) + "edit that spare (or remove it) rather than enlisting the machine twice"
    for key in [*found.macs, ("serial", found.serial), ("uuid", found.uuid)]:
        if key in seen and (not isinstance(key, tuple) or F.identifies_machine(key[0], key[1])):
            return "known", "the same machine as %s, found earlier in this run" % seen[key]
    segment, why = _segment_of(store, found)
    if segment is None:
        return "unmatched", why
    item["segment"] = segment
    pool, rule = _rule_for(store, segment, found)
    if pool is None:
        return "unmatched", "no enlist rule of a pool of segment %s matches vendor %r product %r" % (
            segment,
            found.vendor,
            found.product,
        )
    item["pool"] = pool
    item["hardware_model"] = rule["hardware_model"]
    item["machine"] = _spare(found, rule)
    return "added", "a spare of hardware model %s in pool %s (rule: product %r%s)" % (
        rule["hardware_model"],
        pool,
        rule["product"],
        ", vendor %r" % rule["vendor"] if rule.get("vendor") else "",
    )


def apply(txn, outcome):
    """Stage the added spares in their pools. A spare the records cannot hold (a serial with a
    space, say) fails the commit with the store's own message naming the pool and field."""
    pools = {}
    for item in outcome["added"]:
        name = item["pool"]
        if name not in pools:
            data = txn.store.data("pools", name)
            if data is None:
                raise StoreError(
                    Problem(record_path("pools", name), None, "the pool record is invalid; fix it before enlisting"),
                    summary="refused, nothing was written",
                )
            pools[name] = copy.deepcopy(dict(data))
        pools[name]["machines"] = [*(pools[name].get("machines") or []), item["machine"]]
    for name, data in sorted(pools.items()):
        txn.put("pools", name, data)
    return sorted(pools)


def done(outcome):
    """{provisioner: [boot MAC]} of the spool entries that may go: the added and the known."""
    out = {}
    for item in outcome["added"] + outcome["known"]:
        if item.get("provisioner"):
            out.setdefault(item["provisioner"], []).append(item["mac"])
    return {prov: sorted(set(macs)) for prov, macs in sorted(out.items())}


def summary(outcome):
    """The commit subject: how many machines went into which pools."""
    per_pool = {}
    for item in outcome["added"]:
        per_pool.setdefault(item["pool"], []).append(item["machine"].get("serial") or item["mac"])
    parts = ["%s: %s" % (pool, ", ".join(names)) for pool, names in sorted(per_pool.items())]
    return "enlist %d machine(s): %s" % (len(outcome["added"]), "; ".join(parts) or "none")
