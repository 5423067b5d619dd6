# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The controller-side caches of views built from a record store: the inventory plugin's view (every
host and group) and each provisioner's view (what its dhcp, tftp and web steps render). Each is
one file of the cache folder (``_records.cache_files``), valid only under the fingerprint of the
store it was built from (``_records.scan``: every record file's name, size, modification time and
inode, and the journal of an interrupted edit), so a stale entry is never used.

``warm`` lets a record module that has just validated a store under its lock leave these views
behind for the steps that follow it in a playbook (refresh_inventory, the render steps), so
that none of them has to read and validate a 10,000-system store again; it patches the views of
the store before the edit where it can, so an edit of one system costs one system's work.
"""

from __future__ import annotations

import hashlib
import json
import os

from ansible_collections.baremetal.provision.plugins.module_utils._records.cache_files import (
    cache_dir,
    holds,
    read_cached,
    write_cached,
)
from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import store_fingerprint
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import LEAF_KINDS
from ansible_collections.baremetal.provision.plugins.module_utils._views.inventory import (
    build_view as build_inventory_view,
)
from ansible_collections.baremetal.provision.plugins.module_utils._views.inventory_patch import (
    patch_meta as patch_inventory_view,
)
from ansible_collections.baremetal.provision.plugins.module_utils._views.inventory_patch import with_hosts
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import (
    build_view as build_provisioner_view,
)
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import (
    patch_systems as patch_provisioner_view,
)
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import used_by, with_changes

INVENTORY_FINGERPRINT_EXTRA = "error"  # the inventory view is only cached for on_invalid=error's strict load

# What a cached provisioner view carries besides its content, for a sync of the changed systems
# only (_provisioner.scope): its revision, and the systems changed since each of the last
# CHANGES_KEPT views it was patched from, while they are at most CHANGED_KEPT.
SYNC_KEYS = ("revision", "changes")
CHANGES_KEPT = 16
CHANGED_KEPT = 1000


def content(view):
    """A provisioner view without what a cache adds to it (SYNC_KEYS)."""
    return {key: value for key, value in view.items() if key not in SYNC_KEYS}


def _digest(*values):
    data = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(data.encode("utf-8")).hexdigest()


def _built(view):
    """A view just built, with its revision: the digest of its content, so that a view built again
    from the same records (here or on another controller) has the same one."""
    return dict(view, revision=_digest(view), changes={})


def _revised(old, now):
    """The revision and changes of a view patched from old (a view, or its meta) for the systems of
    now ({name: the system as it is now, or None}): the revision derived from old's and the changed
    systems, and the systems changed since old and since the views old was patched from. None when
    old has no revision (the patched view is then given one as built)."""
    previous = old.get("revision")
    if not previous:
        return None
    changed = set(now)
    systems = sorted(changed)
    changes = {previous: systems}
    for revision, names in (old.get("changes") or {}).items():
        merged = sorted(changed.union(names))
        if len(changes) < CHANGES_KEPT and len(merged) <= CHANGED_KEPT:
            changes[revision] = merged
    return {"revision": _digest(previous, systems, [now[name] for name in systems]), "changes": changes}


# The views a record module leaves behind are each their last whole file (the base) and one delta
# file under the store's new fingerprint: the view without its hosts or systems (the inventory's
# groups and warnings; a provisioner's segments and revision) and every host or system changed
# since the base. An edit reads and writes the delta only, not the hosts or systems of the whole
# fleet; once more than DELTA_KEPT have changed since the base, the view is written whole.
DELTA_KEPT = 256
# what a provisioner's delta holds besides its meta
PROVISIONER_PARTS = ("systems", "distros", "templates")


def _path(kind, key):
    return os.path.join(cache_dir(), "%s-%s.view" % (kind, hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]))


def inventory_path(root):
    return _path("inventory", os.path.abspath(root))


def inventory_delta_path(root):
    """The delta file of the inventory view, beside its base (``inventory-<key>.delta``)."""
    return os.path.splitext(inventory_path(root))[0] + ".delta"


def provisioner_path(root, provisioner):
    return _path("view", "%s|%s" % (os.path.abspath(root), provisioner))


def provisioner_delta_path(root, provisioner):
    """The delta file of a provisioner's view, beside its base (``view-<key>.delta``)."""
    return os.path.splitext(provisioner_path(root, provisioner))[0] + ".delta"


def cached_provisioner_view(root, provisioner, load):
    """The provisioner's view through its cache: the dhcp, tftp and web steps of one run share one
    load of the store. ``load(root)`` returns a RecordStore."""
    return view_for_render(root, provisioner, load)[0]


def view_for_render(root, provisioner, load, left=None):
    """(view, where it came from): cached_provisioner_view's, or with left (the fingerprint under
    which a record module left the view of its change: warm's "fingerprints") that view, taken
    without a scan of the store when it is cached."""
    if left:
        view = provisioner_view(root, provisioner, left)
        if view is not None:
            return view, "left by the record change"
    fingerprint = store_fingerprint(root, provisioner)
    view = provisioner_view(root, provisioner, fingerprint)
    if view is not None:
        return view, "cached"
    view = _built(build_provisioner_view(load(root), provisioner))
    write_cached(provisioner_path(root, provisioner), fingerprint, view)
    return view, "built"


def provisioner_view(root, provisioner, fingerprint):
    """The provisioner's view of the store under ``fingerprint`` from the cache folder (its file,
    or its base and the delta over it), or None."""
    path = provisioner_path(root, provisioner)
    view = read_cached(path, fingerprint)
    if isinstance(view, dict):
        return view
    delta = _provisioner_delta(root, provisioner, fingerprint)
    base = read_cached(path, delta["base"]) if delta is not None else None
    if not isinstance(base, dict):
        return None
    view = with_changes(base, *(delta[part] for part in PROVISIONER_PARTS))
    return None if view is None else dict(view, **delta["meta"])


def _provisioner_delta(root, provisioner, fingerprint):
    """The delta file of a provisioner's view under ``fingerprint``: {"base": the base's
    fingerprint, "meta": the view without its systems, distros and templates, "systems": {name:
    system, or None for one gone}, "distros" and "templates": those the changed systems use}, or None."""
    delta = read_cached(provisioner_delta_path(root, provisioner), fingerprint)
    if (
        isinstance(delta, dict)
        and isinstance(delta.get("base"), str)
        and all(isinstance(delta.get(key), dict) for key in ("meta", *PROVISIONER_PARTS))
    ):
        return delta
    return None


def _warm_provisioner(root, store, provisioner, systems, before, after):
    """A provisioner's view under the scan before the edit, patched for the systems it touched and
    kept under the scan after it, as _warm_inventory keeps the inventory's. Returns True, or None
    when it has to be built."""
    path = provisioner_path(root, provisioner)
    old = before.fingerprint(provisioner)
    delta = _provisioner_delta(root, provisioner, old)
    if delta is not None:
        if not holds(path, delta["base"]):
            return None  # its base was written over since
        base, meta, whole = delta["base"], delta["meta"], None
        parts = [delta[part] for part in PROVISIONER_PARTS]
    else:
        whole = read_cached(path, old)
        if not isinstance(whole, dict):
            return None
        base, parts = old, [{}, {}, {}]
        meta = {key: value for key, value in whole.items() if key not in PROVISIONER_PARTS}
    now = patch_provisioner_view(meta["segments"], store, systems)
    revised = _revised(meta, now) if now is not None else None
    if revised is None:
        return None
    for part, new in zip(parts, (now, *used_by(store, now.values()))):
        part.update(new)
    meta = dict(meta, **revised)
    new = after.fingerprint(provisioner)
    if len(parts[0]) <= DELTA_KEPT:
        delta = dict(zip(PROVISIONER_PARTS, parts), base=base, meta=meta)
        write_cached(provisioner_delta_path(root, provisioner), new, delta)
        return True
    if whole is None:
        whole = read_cached(path, base)
    view = with_changes(whole, *parts) if isinstance(whole, dict) else None
    if view is None:
        return None
    write_cached(path, new, dict(view, **meta))
    return True


def _provisioners(store, records):
    """The provisioners serving the systems and pools of ``records`` (Records, any of them None)."""
    provisioners = set()
    for record in records:
        if record is None or record.data is None:
            continue
        if record.kind == "systems":
            tier = store.data("tiers", record.data["tier"]) or {}
            # an interface is in the tier's segment unless it names one
            segments = {i.get("segment", tier.get("segment")) for i in record.data["interfaces"]}
        elif record.kind == "pools":
            segments = {record.data.get("segment")}
        else:
            continue
        for segment in segments:
            data = store.data("segments", segment) if segment else None
            if data and data.get("provisioner"):
                provisioners.add(data["provisioner"])
    return sorted(provisioners)


def warm(root, txn):
    """After a commit that wrote, still under the store lock: leave the inventory view and the
    views of the provisioners the change touched (before it or after it) cached under the store's
    new fingerprint (``txn.scan_after``: the scan before the change updated by a stat of the files
    written; a file someone else changed meanwhile is in neither, so what is cached here is never
    used). Returns {"inventory": "patched" or "built", "provisioners": [...], "fingerprints":
    {provisioner: the fingerprint its view is cached under}}, or None for a store with problems
    (nothing is cached for it).

    A view cached under the store's fingerprint before the change is patched for the systems and
    pools the change touched (``inventory_patch``, ``provisioner.patch_systems``); any other change,
    or no such view, builds it from ``txn.store``, which now equals the files.
    """
    store = txn.store
    if txn.after_problems is None or txn.after_problems:
        return None
    touched = sorted(txn.before_records)
    patchable = all(kind in LEAF_KINDS for kind, _name in touched)
    records = [store.records[kind].get(name) for kind, name in touched if kind in LEAF_KINDS]
    provisioners = _provisioners(store, records + list(txn.before_records.values()))
    before, after = txn.scan_before, txn.scan_after

    how = _warm_inventory(root, store, touched, before, after) if patchable else None
    if how is None:
        how = "built"
        write_cached(inventory_path(root), after.fingerprint(INVENTORY_FINGERPRINT_EXTRA), build_inventory_view(store))
    systems = [name for kind, name in touched if kind == "systems"]
    for provisioner in provisioners:
        if not (patchable and _warm_provisioner(root, store, provisioner, systems, before, after)):
            view = _built(build_provisioner_view(store, provisioner))
            write_cached(provisioner_path(root, provisioner), after.fingerprint(provisioner), view)
    fingerprints = {provisioner: after.fingerprint(provisioner) for provisioner in provisioners}
    return {"inventory": how, "provisioners": provisioners, "fingerprints": fingerprints}


def _warm_inventory(root, store, touched, before, after):
    """The inventory view under the scan before the edit, patched for the records it touched and
    kept under the scan after it: as a delta over the same base while at most DELTA_KEPT hosts have
    changed since it, else whole. Returns "patched", or None when it has to be built."""
    old = before.fingerprint(INVENTORY_FINGERPRINT_EXTRA)
    delta = inventory_delta(root, old)
    if delta is not None:
        if not holds(inventory_path(root), delta["base"]):
            return None  # its base was written over since
        base, meta, hosts, whole = delta["base"], delta["meta"], delta["hosts"], None
    else:
        whole = read_cached(inventory_path(root), old)
        if not isinstance(whole, dict):
            return None
        base, hosts = old, {}
        meta = {key: value for key, value in whole.items() if key != "hosts"}
    changes = patch_inventory_view(meta, store, touched)
    if changes is None:
        return None
    hosts.update(changes)
    new = after.fingerprint(INVENTORY_FINGERPRINT_EXTRA)
    if len(hosts) <= DELTA_KEPT:
        write_cached(inventory_delta_path(root), new, {"base": base, "meta": meta, "hosts": hosts})
        return "patched"
    if whole is None:
        whole = read_cached(inventory_path(root), base)
    view = with_hosts(meta, whole["hosts"], hosts) if isinstance(whole, dict) else None
    if view is None:
        return None
    write_cached(inventory_path(root), new, view)
    return "patched"


def inventory_delta(root, fingerprint):
    """The inventory view's delta file under ``fingerprint``: {"base": the base's fingerprint,
    "meta": the view without its hosts, "hosts": {host: variables, or None for a host gone}}, or None."""
    delta = read_cached(inventory_delta_path(root), fingerprint)
    if (
        isinstance(delta, dict)
        and isinstance(delta.get("base"), str)
        and isinstance(delta.get("meta"), dict)
        and isinstance(delta.get("hosts"), dict)
    ):
        return delta
    return None


def inventory_view_of(root, fingerprint, held=None):
    """(view, origin) of the store under ``fingerprint`` from the cache folder, or None. origin:
    (the fingerprint of the base file, the hosts changed since it). held: a (view, origin) an
    earlier call returned; a delta over the same base that holds every host changed in it is
    applied to its hosts, and the base, every host of the fleet, is not read again."""
    view = read_cached(inventory_path(root), fingerprint)
    if isinstance(view, dict):
        return view, (fingerprint, frozenset())
    delta = inventory_delta(root, fingerprint)
    if delta is None:
        return None
    changed = frozenset(delta["hosts"])
    if held is not None and held[1][0] == delta["base"] and held[1][1] <= changed:
        hosts = held[0]["hosts"]
    else:
        base = read_cached(inventory_path(root), delta["base"])
        if not isinstance(base, dict):
            return None
        hosts = base["hosts"]
    view = with_hosts(delta["meta"], hosts, delta["hosts"])
    return None if view is None else (view, (delta["base"], changed))


def inventory_view(root, fingerprint):
    """The inventory view of the store under ``fingerprint`` from the cache folder, or None."""
    found = inventory_view_of(root, fingerprint)
    return None if found is None else found[0]
