# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The controller-side caches of views built from a record store: the inventory plugin's view (every
host and group) and each provisioner's view (what its dhcp, tftp and web steps render). Each is
one file (in marshal's format, see ``_parse_cache``) in the cache folder of ``_parse_cache``,
valid only under the fingerprint of the store it was built from (every record file's name, size,
modification time and inode, and the journal of an interrupted edit), so a stale entry is never
used.

``warm`` lets a record module that has just validated a store under its lock leave these views
behind for the steps that follow it in a playbook (refresh_inventory, the render steps), so
that none of them has to read and validate a 10,000-system store again.
"""

from __future__ import annotations

import collections
import hashlib
import os

from ansible_collections.baremetal.provision.plugins.module_utils._parse_cache import cache_dir, read_cached, write_cached
from ansible_collections.baremetal.provision.plugins.module_utils._store import split_record_path

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
    # imported here: the inventory plugin and the record modules need only the paths and warm()
    from ansible_collections.baremetal.provision.plugins.module_utils._inventory_view import store_fingerprint
    from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import build_view

    path = provisioner_path(root, provisioner)
    fingerprint = store_fingerprint(root, provisioner)
    view = read_cached(path, fingerprint)
    if not isinstance(view, dict):
        view = build_view(load(root), provisioner)
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


# An inventory view held in memory (by the inventory plugin, in Ansible's process), with what it
# owes to the cache folder: ``disk`` is the fingerprint of the whole view file it was made from
# (None: not from that file) and ``touched`` the hosts that differ from that file's.
Held = collections.namedtuple("Held", "view disk touched")

# The inventory view of a store before an edit, as the record module found it: the Held view, the
# scan of the store it took under the edit's lock and the fingerprint that scan gave.
Base = collections.namedtuple("Base", "held scan fingerprint")

# A note stands in for writing the whole view file again until it names this many hosts.
NOTE_HOSTS = 1000
NOTE_KEYS = frozenset(("base", "removed", "added", "groups", "whole"))


def note_path(root):
    return _path("note", os.path.abspath(root))


def warm(root, store, changed_paths, base=None):
    """After a commit, still under the store lock: build the inventory view and the views of the
    provisioners the change touched from ``store`` (which now equals the files) and cache them
    under the store's new fingerprint. Returns {"inventory": "patched" or "built", "provisioners":
    [...]}, or None for a store with problems (nothing is cached for it).

    base: the inventory view of the store as it was before the change (a Base: the record module,
    run inside Ansible's process, finds it in the inventory plugin's memory). The new view is then
    patched from it for the records the change wrote instead of being built from all of them, and
    the store's new fingerprint comes from the base's scan with only the written files looked at
    again. What is cached for it is then a note of the patch (see held_view): relative to the
    whole view file the base was made from, which is not written again, until the note would name
    NOTE_HOSTS hosts; then the whole view file, and a note relative to the base itself.
    """
    from ansible_collections.baremetal.provision.plugins.module_utils import _inventory_view as V
    from ansible_collections.baremetal.provision.plugins.module_utils import _provisioner as P

    if store.problems():
        return None
    provisioners = _touched_provisioners(store, changed_paths)
    scan = base.scan.after_writing(changed_paths) if base is not None else V.StoreScan(root)
    fingerprint = scan.fingerprint(INVENTORY_FINGERPRINT_EXTRA)
    note = {}
    view = V.patch_view(base.held.view, store, changed_paths, note) if base is not None else None
    if view is None:
        write_cached(inventory_path(root), fingerprint, V.build_view(store))
    else:
        touched = set(base.held.touched or ()).union(note["removed"], note["added"])
        if base.held.disk is not None and len(touched) <= NOTE_HOSTS:
            # every host touched since that file comes after the others, in the view's order
            added = {name: entry for name, entry in view["hosts"].items() if name in touched}
            note = {"base": base.held.disk, "removed": sorted(touched), "added": added, "groups": view["groups"], "whole": False}
        else:
            write_cached(inventory_path(root), fingerprint, view)
            note = dict(note, base=base.fingerprint, whole=True)
        write_cached(note_path(root), fingerprint, note)
    for provisioner in provisioners:
        write_cached(provisioner_path(root, provisioner), scan.fingerprint(provisioner), P.build_view(store, provisioner))
    return {"inventory": "patched" if view is not None else "built", "provisioners": provisioners}


def held_view(root, fingerprint, held=None):
    """The inventory view of the store under ``fingerprint`` from the cache folder, as (Held, how
    it was made), or None: made from ``held`` (the view in memory, {fingerprint: Held}) and the
    note of the edit that changed it (in place), from the whole view file and the note of the
    edits since it was written, or from the whole view file alone."""
    from ansible_collections.baremetal.provision.plugins.module_utils._inventory_view import apply_note

    held = held or {}
    note = read_cached(note_path(root), fingerprint)
    if isinstance(note, dict) and NOTE_KEYS.issubset(note):
        removed = set(note["removed"])
        for have_fingerprint, have in held.items():
            # the note of a patch of this very view, or of the file it comes from and covering what it changed since
            if note["base"] == have_fingerprint or (note["base"] == have.disk and removed.issuperset(have.touched)):
                view = apply_note(have.view, note)
                how = "patched in memory as the record edit noted"
                return (Held(view, fingerprint, frozenset()) if note["whole"] else Held(view, note["base"], frozenset(removed))), how
        if not note["whole"]:
            view = read_cached(inventory_path(root), note["base"])
            if isinstance(view, dict):
                how = "from the cache folder %s, with the note of %d host%s changed since" % (cache_dir(), len(removed), "" if len(removed) == 1 else "s")
                return Held(apply_note(view, note), note["base"], frozenset(removed)), how
    view = read_cached(inventory_path(root), fingerprint)
    return (Held(view, fingerprint, frozenset()), "from the cache folder " + cache_dir()) if isinstance(view, dict) else None
