# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The inventory's view of a record store: which hosts exist, their ``bm_*`` variables and the
groups they belong to. The inventory plugin turns this into Ansible hosts and groups (and
caches it as JSON); everything that decides *what* the inventory holds is here, in one place,
so it can be tested without Ansible's inventory machinery.

The view is plain JSON data::

    {"hosts": {name: {var: value}}, "groups": {name: {"hosts": [...], "children": [...]}}}
"""

from __future__ import annotations

import bisect
import hashlib
import os

from ansible_collections.baremetal.provision.plugins.module_utils._fields import mac_dashed
from ansible_collections.baremetal.provision.plugins.module_utils._schema import KINDS
from ansible_collections.baremetal.provision.plugins.module_utils._store import rules_digest, split_record_path
from ansible_collections.baremetal.provision.plugins.module_utils._transaction import JOURNAL_NAME

PREFIX = "bm_"
VIEW_VERSION = 1

# resolve_system() key -> host variable (without the prefix); anything not listed is not exposed.
SYSTEM_VARS = (
    "name", "hostname", "fqdn", "tier", "segment", "provisioner", "profile", "distro", "family", "arch",
    "install_format", "template", "install_tree", "hardware_model", "mac", "ip", "interfaces", "network", "boot_loader",
    "secure_boot", "kernel_options", "installed_kernel_options", "vars", "build_generation", "bmc",
)

SYSTEMS_GROUP = "systems"
SPARES_GROUP = "spares"
PROVISIONERS_GROUP = "provisioners"


def spare_host_name(mac):
    """The inventory name of a spare machine: ``spare-52-54-00-00-00-01``."""
    return "spare-" + mac_dashed(mac)


def store_fingerprint(root, extra=""):
    """A digest of every record file's name, size, modification time and inode (no file is read;
    every write of this collection and of git is a new file, so a new inode).

    Used as the inventory cache's validity check: any edit, checkout, addition or removal
    under the store changes it.
    """
    return StoreScan(root).fingerprint(extra)


SCANNED = (*KINDS, "templates")  # the store's folders a scan covers, in its order


def _line(relpath, size, mtime_ns, inode):
    return f"{relpath}|{size}|{mtime_ns}|{inode}\n"


class StoreScan(object):
    """One scan of a store's files (name, size, modification time, inode) and the fingerprints it gives."""

    def __init__(self, root, _lines=None):
        self.root = root
        if _lines is not None:
            self.lines = _lines
            return
        self.lines = {}  # relpath -> line, in the order of the scan (kind, then name)
        for kind in SCANNED:
            self._scan_dir(kind)

    def _scan_dir(self, kind):
        # the hottest loop of a run at 10,000 systems (every run scans the store two or three times):
        # names relative to an open folder, and the line built in place
        path = os.path.join(self.root, kind)
        try:
            names = sorted(os.listdir(path))
            folder = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):
            return
        lines, stat, prefix = self.lines, os.stat, kind + "/"
        try:
            for name in names:
                try:
                    found = stat(name, dir_fd=folder)
                except OSError:  # gone since the listing
                    continue
                relpath = prefix + name
                lines[relpath] = _line(relpath, found.st_size, found.st_mtime_ns, found.st_ino)
        finally:
            os.close(folder)

    @classmethod
    def of_load(cls, store):
        """The scan that loading ``store`` made of its record folders (RecordStore.seen), with its
        templates folder scanned now: what StoreScan(store.root) gives when nothing changed since."""
        scan = cls(store.root, {})
        lines = scan.lines
        for kind in KINDS:
            seen = store.seen.get(kind, {})
            for name in sorted(seen):
                relpath = kind + "/" + name
                lines[relpath] = _line(relpath, *seen[name])
        scan._scan_dir("templates")
        return scan

    def _stat(self, relpath):
        try:
            found = os.stat(os.path.join(self.root, relpath))
        except OSError:
            self.lines.pop(relpath, None)
            return
        self.lines[relpath] = _line(relpath, found.st_size, found.st_mtime_ns, found.st_ino)

    def after_writing(self, relpaths):
        """The scan of the store after this process wrote (or removed) ``relpaths`` and nothing
        else changed: only those are looked at again. Had anything else changed, the fingerprint
        would differ from a full scan's, and a view cached under it is then never found."""
        scan = StoreScan(self.root, dict(self.lines))
        for relpath in relpaths:
            scan._stat(relpath)
        if any(relpath not in self.lines for relpath in relpaths):  # a new file: into its place in the order
            scan.lines = dict(sorted(scan.lines.items(), key=lambda item: (SCANNED.index(item[0].partition("/")[0]), item[0])))
        return scan

    def fingerprint(self, extra=""):
        lines = list(self.lines.values())
        try:  # the journal of an interrupted edit: readers see the store as it will be rolled forward
            stat = os.stat(os.path.join(self.root, JOURNAL_NAME))
            lines.append("journal|%d|%d\n" % (stat.st_size, stat.st_mtime_ns))
        except OSError:
            pass
        body = "".join(lines).encode("utf-8")
        # the rules as well: a view says its store is valid, which a change of the rules can undo
        head = "%d|%s|%s|" % (VIEW_VERSION, rules_digest(), os.path.abspath(self.root))
        return hashlib.sha1((head + extra).encode("utf-8") + body).hexdigest()


class _Groups(object):
    def __init__(self):
        self.groups = {}

    def add_host(self, group, host):
        self.groups.setdefault(group, {"hosts": [], "children": []})["hosts"].append(host)

    def add_child(self, parent, child):
        children = self.groups.setdefault(parent, {"hosts": [], "children": []})["children"]
        if child not in children:
            children.append(child)
        self.groups.setdefault(child, {"hosts": [], "children": []})


def _system_host(store, name):
    """(host variables, groups besides systems) of a valid system."""
    system = store.resolve_system(name)
    hostvars = {PREFIX + key: system[key] for key in SYSTEM_VARS}
    hostvars[PREFIX + "state"] = "active"
    if system["ip"]:
        hostvars["ansible_host"] = system["ip"]
    groups = [prefix + system[key] for prefix, key in (("tier_", "tier"), ("segment_", "segment"), ("profile_", "profile"),
                                                       ("model_", "hardware_model")) if system[key]]
    return hostvars, groups


def _spare_hosts(pool_name, pool):
    """{host: variables} of a pool's spare machines, in the pool's order."""
    hosts = {}
    for machine in pool.get("machines") or []:
        hosts[spare_host_name(machine["mac"])] = {
            PREFIX + "mac": machine["mac"],
            PREFIX + "hardware_model": machine.get("hardware_model"),
            PREFIX + "serial": machine.get("serial"),
            PREFIX + "segment": pool.get("segment"),
            PREFIX + "bmc": dict(machine["bmc"]) if machine.get("bmc") else None,
            PREFIX + "pool": pool_name,
            PREFIX + "state": "spare",
        }
    return hosts


def build_view(store):
    """The inventory view of a loaded store. Invalid records are left out (the caller decides
    whether that is an error or a warning); nothing here raises on bad data."""
    hosts = {}
    groups = _Groups()
    groups.groups[SYSTEMS_GROUP] = {"hosts": [], "children": []}
    for name in store.names("systems"):
        if store.data("systems", name) is None:
            continue
        hosts[name], system_groups = _system_host(store, name)
        groups.add_host(SYSTEMS_GROUP, name)
        for group in system_groups:
            groups.add_host(group, name)

    serves = {}
    for seg_name in store.names("segments"):
        segment = store.data("segments", seg_name)
        if segment and segment.get("provisioner"):
            serves.setdefault(segment["provisioner"], []).append(seg_name)
    groups.groups[PROVISIONERS_GROUP] = {"hosts": [], "children": []}
    for prov, segments in sorted(serves.items()):
        hosts.setdefault(prov, {})[PREFIX + "provisioner_segments"] = segments
        groups.add_host(PROVISIONERS_GROUP, prov)

    groups.groups[SPARES_GROUP] = {"hosts": [], "children": []}
    for pool_name in store.names("pools"):
        pool = store.data("pools", pool_name)
        if pool is None:
            continue
        group = "pool_" + pool_name
        groups.add_child(SPARES_GROUP, group)
        for host, hostvars in _spare_hosts(pool_name, pool).items():
            hosts[host] = hostvars
            groups.add_host(group, host)
    return {"version": VIEW_VERSION, "hosts": hosts, "groups": _in_order(groups.groups)}


def _in_order(groups):
    """Groups in a fixed order that does not depend on which system comes first: systems, the
    system groups by name, provisioners, spares, the pools by name."""
    def rank(name):
        fixed = {SYSTEMS_GROUP: 0, PROVISIONERS_GROUP: 2, SPARES_GROUP: 3}
        return (fixed.get(name, 4 if name.startswith("pool_") else 1), name)
    return {name: groups[name] for name in sorted(groups, key=rank)}


def patch_view(view, store, changed_paths, note=None):
    """The view of ``store``, made from ``view`` (the view of the store before a change that wrote
    only ``changed_paths``) by redoing the systems and pools the change wrote, in place. Returns
    None, and ``view`` is then of no further use, when the change is one a patch cannot follow
    exactly (another kind of record, a system named like a provisioner, a pool that is not valid):
    the caller builds the view instead. What it returns equals build_view(store), group order
    included.

    note: a dict that receives what apply_note() needs to make the same view from another copy of
    ``view``: the hosts removed, the hosts added (in order) and the groups.
    """
    hosts, groups = view["hosts"], view["groups"]
    systems, pools = [], []
    for relpath in sorted(changed_paths):
        kind, name = split_record_path(relpath)
        if kind == "systems" and name not in groups[PROVISIONERS_GROUP]["hosts"]:
            systems.append(name)  # (a system named like a provisioner shares its host entry: a build)
        elif kind == "pools" and "pool_" + name in groups and store.data("pools", name) is not None:
            pools.append(name)
        else:
            return None
    # every old entry goes first, then the new ones: a spare can move from one pool to another
    removed, added = [], {}
    for name in systems:
        for members in groups.values():
            if name in members["hosts"]:
                members["hosts"].remove(name)
        removed.append(name)
    for name in pools:
        removed.extend(groups["pool_" + name]["hosts"])
    for name in removed:
        hosts.pop(name, None)
    for name in systems:
        if store.data("systems", name) is not None:
            added[name], system_groups = _system_host(store, name)
            for group in (SYSTEMS_GROUP, *system_groups):
                bisect.insort(groups.setdefault(group, {"hosts": [], "children": []})["hosts"], name)
    for name in pools:
        spares = _spare_hosts(name, store.data("pools", name))
        added.update(spares)
        groups["pool_" + name]["hosts"] = list(spares)
    hosts.update(added)
    # a system group the change emptied: a full build would not have it
    emptied = [group for group, members in groups.items() if not members["hosts"] and not members["children"]
               and group not in (SYSTEMS_GROUP, PROVISIONERS_GROUP, SPARES_GROUP) and not group.startswith("pool_")]
    for group in emptied:
        del groups[group]
    view["groups"] = _in_order(groups)
    if note is not None:
        note.update(removed=removed, added=added, groups=view["groups"])
    return view


def apply_note(view, note):
    """What patch_view() made of its copy of ``view``, made here of this one (in place), from
    the note it filled in."""
    hosts = view["hosts"]
    for name in note["removed"]:
        hosts.pop(name, None)
    hosts.update(note["added"])
    view["groups"] = note["groups"]
    return view
