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


def _path(kind, key):
    return os.path.join(cache_dir(), "%s-%s.view" % (kind, hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]))


def inventory_path(root):
    return _path("inventory", os.path.abspath(root))


def inventory_delta_path(root):
    """The delta file of the inventory view, beside its base (``inventory-<key>.delta``)."""
    return _kept_inventory(root).delta_path


def provisioner_path(root, provisioner):
    return _path("view", "%s|%s" % (os.path.abspath(root), provisioner))


def provisioner_delta_path(root, provisioner):
    """The delta file of a provisioner's view, beside its base (``view-<key>.delta``)."""
    return _kept_provisioner(root, provisioner).delta_path


class _Kept(object):
    """A view kept as its last whole file (the base, at ``path``) and one delta beside it (see
    DELTA_KEPT): {"base": the base's fingerprint, "meta": the view without its parts, and each of
    ``parts``: {name: value, or None for one gone}, what changed since the base}. ``apply(view,
    meta, parts)`` makes the whole view from a view of the base (or one the caller holds that
    changed no more than the delta holds), or None when they do not fit."""

    def __init__(self, path, parts, apply):
        self.path = path
        self.delta_path = os.path.splitext(path)[0] + ".delta"
        self.parts = parts
        self.apply = apply

    def delta(self, fingerprint):
        """The delta under ``fingerprint``, or None."""
        delta = read_cached(self.delta_path, fingerprint)
        if (
            isinstance(delta, dict)
            and isinstance(delta.get("base"), str)
            and all(isinstance(delta.get(key), dict) for key in ("meta", *self.parts))
        ):
            return delta
        return None

    def read(self, fingerprint, instead=None):
        """(view, delta or None) under ``fingerprint``, or None. instead(delta): a view to apply the
        delta to in place of the base, or None to read the base."""
        view = read_cached(self.path, fingerprint)
        if isinstance(view, dict):
            return view, None
        delta = self.delta(fingerprint)
        if delta is None:
            return None
        base = instead(delta) if instead is not None else None
        if base is None:
            base = read_cached(self.path, delta["base"])
        view = self.apply(base, delta["meta"], delta) if isinstance(base, dict) else None
        return None if view is None else (view, delta)

    def patch(self, before, after, patch):
        """Keep the view under ``before`` patched, under ``after``: as a delta over the same base
        while at most DELTA_KEPT of the first part have changed since it, else whole. patch(meta)
        gives (the new meta, {part: what changed}), or None. Returns whether the view was kept
        (else it has to be built)."""
        delta = self.delta(before)
        if delta is not None:
            if not holds(self.path, delta["base"]):
                return False  # its base was written over since
            base, meta, whole = delta["base"], delta["meta"], None
            parts = {part: delta[part] for part in self.parts}
        else:
            whole = read_cached(self.path, before)
            if not isinstance(whole, dict):
                return False
            base, parts = before, {part: {} for part in self.parts}
            meta = {key: value for key, value in whole.items() if key not in self.parts}
        patched = patch(meta)
        if patched is None:
            return False
        meta, changes = patched
        for part in self.parts:
            parts[part].update(changes[part])
        if len(parts[self.parts[0]]) <= DELTA_KEPT:
            write_cached(self.delta_path, after, dict(parts, base=base, meta=meta))
            return True
        if whole is None:
            whole = read_cached(self.path, base)
        view = self.apply(whole, meta, parts) if isinstance(whole, dict) else None
        if view is None:
            return False
        write_cached(self.path, after, view)
        return True


def _kept_inventory(root):
    return _Kept(
        inventory_path(root), ("hosts",), lambda view, meta, parts: with_hosts(meta, view["hosts"], parts["hosts"])
    )


def _kept_provisioner(root, provisioner):
    def apply(view, meta, parts):
        view = with_changes(view, parts["systems"], parts["distros"], parts["templates"])
        return None if view is None else dict(view, **meta)

    return _Kept(provisioner_path(root, provisioner), ("systems", "distros", "templates"), apply)


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
    found = _kept_provisioner(root, provisioner).read(fingerprint)
    return None if found is None else found[0]


def _provisioner_delta(root, provisioner, fingerprint):
    """The delta of a provisioner's view under ``fingerprint`` (see _Kept), or None."""
    return _kept_provisioner(root, provisioner).delta(fingerprint)


def _patch_provisioner(store, systems):
    """The patch of a provisioner's view (its meta) for the systems an edit touched (see _Kept.patch)."""

    def patch(meta):
        now = patch_provisioner_view(meta["segments"], store, systems)
        revised = _revised(meta, now) if now is not None else None
        if revised is None:
            return None
        distros, templates = used_by(store, now.values())
        return dict(meta, **revised), {"systems": now, "distros": distros, "templates": templates}

    return patch


def _patch_inventory(store, touched):
    """The patch of the inventory view (its meta) for the records an edit touched (see _Kept.patch)."""

    def patch(meta):
        changes = patch_inventory_view(meta, store, touched)
        return None if changes is None else (meta, {"hosts": changes})

    return patch


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

    old, new = before.fingerprint(INVENTORY_FINGERPRINT_EXTRA), after.fingerprint(INVENTORY_FINGERPRINT_EXTRA)
    how = "patched"
    if not (patchable and _kept_inventory(root).patch(old, new, _patch_inventory(store, touched))):
        how = "built"
        write_cached(inventory_path(root), new, build_inventory_view(store))
    patch = _patch_provisioner(store, [name for kind, name in touched if kind == "systems"])
    fingerprints = {}
    for provisioner in provisioners:
        old, new = before.fingerprint(provisioner), after.fingerprint(provisioner)
        if not (patchable and _kept_provisioner(root, provisioner).patch(old, new, patch)):
            write_cached(provisioner_path(root, provisioner), new, _built(build_provisioner_view(store, provisioner)))
        fingerprints[provisioner] = new
    return {"inventory": how, "provisioners": provisioners, "fingerprints": fingerprints}


def inventory_delta(root, fingerprint):
    """The delta of the inventory view under ``fingerprint`` (see _Kept), or None."""
    return _kept_inventory(root).delta(fingerprint)


def inventory_view_of(root, fingerprint, held=None):
    """(view, origin) of the store under ``fingerprint`` from the cache folder, or None. origin:
    (the fingerprint of the base file, the hosts changed since it). held: a (view, origin) an
    earlier call returned; a delta over the same base that holds every host changed in it is
    applied to its hosts, and the base, every host of the fleet, is not read again."""

    def instead(delta):
        usable = held is not None and held[1][0] == delta["base"] and held[1][1] <= frozenset(delta["hosts"])
        return held[0] if usable else None

    found = _kept_inventory(root).read(fingerprint, instead)
    if found is None:
        return None
    view, delta = found
    return view, (fingerprint, frozenset()) if delta is None else (delta["base"], frozenset(delta["hosts"]))


def inventory_view(root, fingerprint):
    """The inventory view of the store under ``fingerprint`` from the cache folder, or None."""
    found = inventory_view_of(root, fingerprint)
    return None if found is None else found[0]
