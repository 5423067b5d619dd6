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
    read_cached,
    write_cached,
)
from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import store_fingerprint
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import LEAF_KINDS
from ansible_collections.baremetal.provision.plugins.module_utils._views.inventory import (
    build_view as build_inventory_view,
)
from ansible_collections.baremetal.provision.plugins.module_utils._views.inventory_patch import (
    patch_view as patch_inventory_view,
)
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import (
    build_view as build_provisioner_view,
)
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import (
    patch_view as patch_provisioner_view,
)

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


def _patched(view, old, systems):
    """A view patched from old for the named systems, with a revision derived from old's and the
    changed systems (as they are now), and the systems changed since old and since the views old
    was patched from."""
    changed = set(systems)
    systems = sorted(changed)
    previous = old.get("revision")
    if not previous:
        return _built(view)
    now = {system["name"]: system for system in view["systems"] if system["name"] in changed}
    changes = {previous: systems}
    for revision, names in (old.get("changes") or {}).items():
        merged = sorted(changed.union(names))
        if len(changes) < CHANGES_KEPT and len(merged) <= CHANGED_KEPT:
            changes[revision] = merged
    return dict(view, revision=_digest(previous, systems, [now.get(name) for name in systems]), changes=changes)


def _path(kind, key):
    return os.path.join(cache_dir(), "%s-%s.view" % (kind, hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]))


def inventory_path(root):
    return _path("inventory", os.path.abspath(root))


def provisioner_path(root, provisioner):
    return _path("view", "%s|%s" % (os.path.abspath(root), provisioner))


def cached_provisioner_view(root, provisioner, load):
    """The provisioner's view through its cache: the dhcp, tftp and web steps of one run share one
    load of the store. ``load(root)`` returns a RecordStore."""
    path = provisioner_path(root, provisioner)
    fingerprint = store_fingerprint(root, provisioner)
    view = read_cached(path, fingerprint)
    if not isinstance(view, dict):
        view = _built(build_provisioner_view(load(root), provisioner))
        write_cached(path, fingerprint, view)
    return view


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
    used). Returns {"inventory": "patched" or "built", "provisioners": [...]}, or None for a store
    with problems (nothing is cached for it).

    A view cached under the store's fingerprint before the change is patched for the systems and
    pools the change touched (``inventory_patch``, ``provisioner.patch_view``); any other change,
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

    old = read_cached(inventory_path(root), before.fingerprint(INVENTORY_FINGERPRINT_EXTRA)) if patchable else None
    view = patch_inventory_view(old, store, touched) if isinstance(old, dict) else None
    how = "patched" if view is not None else "built"
    write_cached(
        inventory_path(root), after.fingerprint(INVENTORY_FINGERPRINT_EXTRA), view or build_inventory_view(store)
    )
    systems = [name for kind, name in touched if kind == "systems"]
    for provisioner in provisioners:
        path = provisioner_path(root, provisioner)
        old = read_cached(path, before.fingerprint(provisioner)) if patchable else None
        view = patch_provisioner_view(content(old), store, systems) if isinstance(old, dict) else None
        view = _patched(view, old, systems) if view is not None else _built(build_provisioner_view(store, provisioner))
        write_cached(path, after.fingerprint(provisioner), view)
    return {"inventory": how, "provisioners": provisioners}


def inventory_view(root, fingerprint):
    """The inventory view of the store under ``fingerprint`` from the cache folder, or None."""
    view = read_cached(inventory_path(root), fingerprint)
    return view if isinstance(view, dict) else None
