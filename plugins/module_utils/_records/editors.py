# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

What the record modules do to the store, independent of Ansible: each function takes an open
Transaction and the module's options, stages the change and returns facts for the result.
Validation of the outcome is the Transaction's job (every rule, once, in store.py).
"""

from __future__ import annotations

import copy

from ansible_collections.baremetal.provision.plugins.module_utils._records import fields as F
from ansible_collections.baremetal.provision.plugins.module_utils._records import spares as _spares
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import Problem, StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import _addresses, record_path


def _current(store, kind, name):
    """The record as a mutable dict: normalised if valid, as read if not, {} if absent."""
    record = store.records[kind].get(name)
    if record is None:
        return None
    if record.data is not None:
        return copy.deepcopy(record.data)
    return copy.deepcopy(record.raw) if isinstance(record.raw, dict) else {}


def _refuse(path, field, message):
    raise StoreError(Problem(path, field, message), summary="refused, nothing was written")


def _check_name(kind, name):
    try:
        F.check_record_name(name)
    except ValueError as exc:
        # the path is shown with repr(): a hostile name must not break the message into lines
        _refuse("%s/%r" % (kind, name), "name", str(exc))


def remove_record(txn, kind, name):
    """state=absent: refuse while other records refer to this one."""
    _check_name(kind, name)
    store = txn.store
    if not store.exists(kind, name):
        return None
    referrers = [p for p in store.referrers(kind, name) if p != record_path(kind, name)]
    if referrers:
        _refuse(
            record_path(kind, name),
            None,
            "cannot remove: still referred to by %s; change or remove those first" % ", ".join(referrers),
        )
    before = _current(store, kind, name)
    txn.delete(kind, name)
    return before


def set_fields(txn, kind, name, fields):
    """state=present for segments, tiers, distros, profiles: set every option that was given."""
    _check_name(kind, name)
    data = _current(txn.store, kind, name) or {}
    for key, value in fields.items():
        if value is not None:
            data[key] = value
    record = txn.put(kind, name, data)
    return record.data


# ---------------------------------------------------------------------- systems
def _primary(interfaces):
    for iface in interfaces:
        if iface.get("primary"):
            return iface
    return interfaces[0] if interfaces else None


def _normalized_mac(path, field, value):
    try:
        return F.normalize_mac(value)
    except ValueError as exc:
        _refuse(path, field, str(exc))


def edit_system(txn, name, params):
    """state=present for a system. Returns facts: created, replaced, generation, pool_spare."""
    _check_name("systems", name)
    store = txn.store
    path = record_path("systems", name)
    existing = _current(store, "systems", name)
    if existing is None and params.get("must_exist"):
        _refuse(
            path, "name", "no system %r: there is no file %s (a replacement or re-install needs one)" % (name, path)
        )
    data = copy.deepcopy(existing) if existing is not None else {}
    for key in (
        "description",
        "tier",
        "hardware_model",
        "profile",
        "boot_loader",
        "kernel_options",
        "installed_kernel_options",
        "vars",
        "bmc",
    ):
        if params.get(key) is not None:
            data[key] = params[key]
    if params.get("interfaces") is not None:
        data["interfaces"] = [{k: v for k, v in iface.items() if v is not None} for iface in params["interfaces"]]
    interfaces = data.setdefault("interfaces", [])
    old_primary = _primary(existing.get("interfaces") or []) if existing else None
    old_mac = _safe_mac(old_primary.get("mac")) if old_primary else None

    addresses = [f for f in ("ip", "ipv6") if params.get(f) is not None]
    if params.get("mac") is not None or addresses or params.get("from_pool"):
        primary = _primary(interfaces)
        if primary is None:
            primary = {"name": params.get("interface_name") or "eth0", "primary": True}
            interfaces.append(primary)
        if params.get("mac") is not None:
            primary["mac"] = _normalized_mac(path, "mac", params["mac"])
        for field in addresses:
            primary[field] = params[field]

    facts = {"created": existing is None, "replaced": None, "pool_spare": None}
    if params.get("from_pool"):
        spare = _take_spare(txn, name, data, params["from_pool"])
        primary["mac"] = spare["mac"]
        # the new hardware's own BMC powers it from now on; the old one belongs to the old box
        # (a spare without one in its record: the operator powers it on, nothing else is cycled)
        if spare.get("bmc"):
            data["bmc"] = spare["bmc"]
        else:
            data.pop("bmc", None)
        level, warning = _spares.after_taking(txn.store, params["from_pool"], spare["hardware_model"])
        facts["pool_spare"] = dict(spare, pool=params["from_pool"], spares_left=level["spares"])
        if warning:
            facts["warnings"] = [warning]

    new_primary = _primary(interfaces)
    new_mac = _safe_mac(new_primary.get("mac")) if new_primary else None
    build = dict(data.get("build") or {})
    generation = build.get("generation", 1) if existing is not None else 0
    raise_generation = existing is None or bool(params.get("reinstall"))
    if existing is not None and old_mac and new_mac and old_mac != new_mac:
        facts["replaced"] = {"old_mac": old_mac, "new_mac": new_mac}
        raise_generation = True
    if raise_generation and isinstance(generation, int):
        generation += 1
    build["generation"] = generation
    data["build"] = build
    facts["generation"] = generation
    record = txn.put("systems", name, data)
    facts["record"] = record.data
    facts["system"] = _resolved(txn.store, name)
    return facts


def describe_system_change(name, params, facts):
    """The subject of the git commit that records a system module's change."""
    if params.get("state") == "absent":
        return "retire %s%s" % (name, " (machine back to pool %s)" % params["to_pool"] if params.get("to_pool") else "")
    spare = facts.get("pool_spare")
    source = " (spare %s from pool %s)" % (spare.get("serial") or spare["mac"], spare["pool"]) if spare else ""
    if facts.get("replaced"):
        replaced = facts["replaced"]
        return "replace %s: %s -> %s%s" % (name, replaced["old_mac"], replaced["new_mac"], source)
    if facts.get("created"):
        return "provision %s (new system%s)" % (name, source)
    if params.get("reinstall"):
        return "reinstall %s (build generation %s)" % (name, facts.get("generation"))
    return "update system %s" % name


def explain_lost_hardware(store, name, first_facts):
    """After another run changed the records first: who now has the hardware this run had chosen."""
    spare = first_facts.get("pool_spare")
    mac = spare["mac"] if spare else (first_facts.get("replaced") or {}).get("new_mac")
    if not mac:
        return None
    what = "spare %s (serial %s) of pool %s" % (mac, spare.get("serial") or "unknown", spare["pool"]) if spare else mac
    for other, record in sorted(store.records["systems"].items()):
        if other != name and record.data is not None and ("MAC", mac) in [a[:2] for a in _addresses(record)]:
            return "%s was taken by %s" % (what, record.path)
    return None


def _resolved(store, name):
    """The merged view of a system after an edit, or None while the store around it is incomplete
    (the commit then refuses the change with the reasons)."""
    try:
        return store.resolve_system(name)
    except (KeyError, TypeError, ValueError, StoreError):
        return None


def _safe_mac(value):
    try:
        return F.normalize_mac(value)
    except ValueError:
        return value


def _take_spare(txn, system_name, system, pool_name):
    """Remove the first spare of the system's hardware model from the pool; return it."""
    store = txn.store
    pool_path = record_path("pools", pool_name)
    path = record_path("systems", system_name)
    pool = _current(store, "pools", pool_name)
    if pool is None:
        _refuse(path, "from_pool", "pool %r does not exist: no file %s" % (pool_name, pool_path))
    if store.records["pools"][pool_name].data is None:
        _refuse(pool_path, None, "the pool record is invalid; fix it before taking spares from it")
    model = system.get("hardware_model")
    if not model:
        _refuse(path, "hardware_model", "from_pool needs the system's hardware_model to pick a matching spare")
    tier = store.data("tiers", system.get("tier")) if system.get("tier") else None
    if tier is not None and tier.get("segment") != pool.get("segment"):
        _refuse(
            pool_path,
            "segment",
            "pool %s serves segment %r but %s is in segment %r"
            % (pool_name, pool.get("segment"), system_name, tier.get("segment")),
        )
    machines = pool.get("machines") or []
    for index, machine in enumerate(machines):
        if machine.get("hardware_model") == model:
            spare = dict(machines.pop(index))
            pool["machines"] = machines
            txn.put("pools", pool_name, pool)
            return spare
    available = sorted({m.get("hardware_model") for m in machines})
    _refuse(
        pool_path,
        "machines",
        "no spare of hardware model %r left for %s (models in the pool: %s)"
        % (model, system_name, ", ".join(available) if available else "none, the pool is empty"),
    )


def retire_system(txn, name, to_pool=None):
    """state=absent for a system; optionally give its primary MAC back to a pool as a spare."""
    _check_name("systems", name)
    store = txn.store
    existing = _current(store, "systems", name)
    if existing is None:
        return None
    if to_pool:
        pool = _current(store, "pools", to_pool)
        if pool is None:
            _refuse(record_path("systems", name), "to_pool", "pool %r does not exist" % (to_pool,))
        primary = _primary(existing.get("interfaces") or [])
        if not existing.get("hardware_model"):
            _refuse(
                record_path("systems", name), "hardware_model", "a spare needs a hardware_model to go back to a pool"
            )
        spare = {"mac": primary["mac"], "hardware_model": existing["hardware_model"]}
        if existing.get("bmc"):
            spare["bmc"] = existing["bmc"]
        pool.setdefault("machines", [])
        pool["machines"] = (pool["machines"] or []) + [spare]
        txn.delete("systems", name)
        txn.put("pools", to_pool, pool)
    else:
        txn.delete("systems", name)
    return existing


# ---------------------------------------------------------------------- pools
def edit_pool(txn, name, params):
    """state=present for a pool: segment, and machines set whole or added/removed by MAC."""
    _check_name("pools", name)
    path = record_path("pools", name)
    data = _current(txn.store, "pools", name) or {}
    for key in ("description", "segment"):
        if params.get(key) is not None:
            data[key] = params[key]
    if params.get("machines") is not None:
        data["machines"] = [_clean(m) for m in params["machines"]]
    machines = list(data.get("machines") or [])
    for index, machine in enumerate(params.get("add") or []):
        machine = _clean(machine)
        mac = _normalized_mac(path, "add[%d].mac" % index, machine.get("mac"))
        machine["mac"] = mac
        found = [i for i, m in enumerate(machines) if _safe_mac(m.get("mac")) == mac]
        if found:
            machines[found[0]] = dict(machines[found[0]], **machine)
        else:
            machines.append(machine)
    for index, mac in enumerate(params.get("remove") or []):
        mac = _normalized_mac(path, "remove[%d]" % index, mac)
        machines = [m for m in machines if _safe_mac(m.get("mac")) != mac]
    data["machines"] = machines
    record = txn.put("pools", name, data)
    return record.data


def _clean(mapping):
    return {k: v for k, v in (mapping or {}).items() if v is not None}


# ---------------------------------------------------------------------- templates
def current_field(store, kind, name, field):
    data = _current(store, kind, name) or {}
    return data.get(field)


def put_template(txn, kind, name, template, content):
    """Write an install template into templates/, checking its file name first."""
    try:
        F.check_template_name(template)
    except ValueError as exc:
        _refuse(record_path(kind, name), "template", str(exc))
    txn.put_template(template, content)
