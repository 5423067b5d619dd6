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
that none of them has to read and validate a 10,000-system store again.
"""

from __future__ import annotations

import hashlib
import os

from ansible_collections.baremetal.provision.plugins.module_utils._records.cache_files import (
    cache_dir,
    read_cached,
    write_cached,
)
from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import StoreScan, store_fingerprint
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import split_record_path
from ansible_collections.baremetal.provision.plugins.module_utils._views.inventory import (
    build_view as build_inventory_view,
)
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import (
    build_view as build_provisioner_view,
)

INVENTORY_FINGERPRINT_EXTRA = "error"  # the inventory view is only cached for on_invalid=error's strict load


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
        view = build_provisioner_view(load(root), provisioner)
        write_cached(path, fingerprint, view)
    return view


def _touched_provisioners(store, changed_paths):
    """The provisioners serving a system or pool that the change wrote."""
    provisioners = set()
    for relpath in changed_paths:
        kind, name = split_record_path(relpath)
        if kind == "systems" and store.data("systems", name) is not None:
            # resolved interfaces all carry their segment (the tier's unless they name one)
            segments = {i["segment"] for i in store.resolve_system(name)["interfaces"]}
        elif kind == "pools" and store.data("pools", name) is not None:
            segments = {store.data("pools", name).get("segment")}
        else:
            continue
        for segment in segments:
            data = store.data("segments", segment) if segment else None
            if data and data.get("provisioner"):
                provisioners.add(data["provisioner"])
    return sorted(provisioners)


def warm(root, store, changed_paths, before=None):
    """After a commit, still under the store lock: build the inventory view and the views of the
    provisioners the change touched from ``store`` (which now equals the files) and cache them
    under the store's new fingerprint. Returns {"inventory": "built", "provisioners": [...]}, or
    None for a store with problems (nothing is cached for it).

    before: the StoreScan taken under the lock before the store was loaded. The new fingerprints
    are then its own updated by a stat of the changed files, not a scan of the whole store again;
    a file someone else changed meanwhile is in neither, so what is cached here is never used.
    """
    if store.problems():
        return None
    provisioners = _touched_provisioners(store, changed_paths)
    scan = before.updated(changed_paths) if before is not None else None
    if scan is None:
        scan = StoreScan(root)
    write_cached(inventory_path(root), scan.fingerprint(INVENTORY_FINGERPRINT_EXTRA), build_inventory_view(store))
    for provisioner in provisioners:
        write_cached(
            provisioner_path(root, provisioner),
            scan.fingerprint(provisioner),
            build_provisioner_view(store, provisioner),
        )
    return {"inventory": "built", "provisioners": provisioners}


def inventory_view(root, fingerprint):
    """The inventory view of the store under ``fingerprint`` from the cache folder, or None."""
    view = read_cached(inventory_path(root), fingerprint)
    return view if isinstance(view, dict) else None
