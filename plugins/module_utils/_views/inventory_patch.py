# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The inventory view of the store before an edit of systems and pools, made the view of the store
after it, touching only what the edit touched: each changed system's host and memberships, each
changed pool's spares. ``patch_meta`` changes the view's groups and warnings and returns the hosts
the edit changed, without reading the others; ``with_hosts`` puts them together with the hosts of
a view before the edit. The result equals ``inventory.build_view`` of the store after the edit,
the order of hosts and groups included (the unit tests hold it to that); where it cannot be
patched (a system that is also a provisioner's host, a host name taken twice), None: build it.
"""

from __future__ import annotations

import bisect

from ansible_collections.baremetal.provision.plugins.module_utils._records import spares as _spares
from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import VIEW_VERSION
from ansible_collections.baremetal.provision.plugins.module_utils._views.inventory import (
    PROVISIONERS_GROUP,
    SPARES_GROUP,
    SYSTEMS_GROUP,
    _in_order,
    _spare_hosts,
    _system_host,
)

FIXED = (SYSTEMS_GROUP, PROVISIONERS_GROUP, SPARES_GROUP)
POOL_PREFIX = "pool_"


def patch_meta(meta, store, touched):
    """The edit's patch of a view without its hosts (``meta``: its groups, warnings and version,
    changed in place): returns the hosts it changes, {host: variables, or None for a host that
    went}, or None when the view has to be built instead. Which hosts exist is read from the
    groups (every host is in systems, provisioners or a pool's group), so the hosts themselves,
    most of the view, are neither read nor written."""
    if meta.get("version") != VIEW_VERSION:
        return None
    groups = meta["groups"]
    names = set(groups[PROVISIONERS_GROUP]["hosts"])
    provisioners = set(names)
    for members in groups.values():
        names.update(members["hosts"])
    changes = {}
    for kind, name in sorted(touched):
        if kind == "systems":
            if name in provisioners or not _patch_system(names, groups, store, name, changes):
                return None
        elif not _patch_pool(names, groups, store, name, changes):
            return None
    meta["groups"] = _in_order(groups)
    meta["warnings"] = _spares.warnings(store)
    return changes


def hosts_in_order(groups):
    """The hosts of a view in build_view's order: systems by name, provisioners, then each pool's
    spares (groups in _in_order's order)."""
    lists = [groups[SYSTEMS_GROUP]["hosts"], groups[PROVISIONERS_GROUP]["hosts"]]
    lists += [group["hosts"] for name, group in groups.items() if name.startswith(POOL_PREFIX)]
    return [host for names in lists for host in names]


def with_hosts(meta, hosts, changes):
    """The whole view: meta with hosts (a view's, before changes) changed by changes (patch_meta's),
    in build_view's order; None when the groups and the hosts do not match one for one (a host
    in no group, in two of these lists, or named by a group without variables): build it instead."""
    in_order = {}
    view = {"version": meta.get("version"), "hosts": in_order}  # build_view's order of keys
    view.update(meta)
    for host in hosts_in_order(meta["groups"]):
        variables = changes[host] if host in changes else hosts.get(host)
        if variables is None or host in in_order:
            return None
        in_order[host] = variables
    gone = sum(1 for host, variables in changes.items() if variables is None and host in hosts)
    added = sum(1 for host, variables in changes.items() if variables is not None and host not in hosts)
    return view if len(in_order) == len(hosts) - gone + added else None


def _patch_system(names, groups, store, name, changes):
    if name in names:
        if name not in groups[SYSTEMS_GROUP]["hosts"]:
            return False  # the name was a spare's
        names.discard(name)
        changes[name] = None
        for group, members in list(groups.items()):
            if name in members["hosts"]:
                members["hosts"].remove(name)
                if not members["hosts"] and not members["children"] and group not in FIXED:
                    del groups[group]
    if store.data("systems", name) is None:
        return True
    if name in names:
        return False
    changes[name], system_groups = _system_host(store, name)
    names.add(name)
    for group in (SYSTEMS_GROUP, *system_groups):
        members = groups.setdefault(group, {"hosts": [], "children": []})
        bisect.insort(members["hosts"], name)  # systems join their groups in name order
    return True


def _patch_pool(names, groups, store, name, changes):
    group = POOL_PREFIX + name
    for host in groups.get(group, {}).get("hosts", ()):
        names.discard(host)
        changes[host] = None
    pool = store.data("pools", name)
    if pool is None:
        groups.pop(group, None)
        children = groups[SPARES_GROUP]["children"]
        if group in children:
            children.remove(group)
        return True
    spare_hosts = _spare_hosts(name, pool)
    if any(host in names for host in spare_hosts):
        return False
    names.update(spare_hosts)
    changes.update(spare_hosts)
    groups[group] = {"hosts": list(spare_hosts), "children": []}
    children = groups[SPARES_GROUP]["children"]
    if group not in children:
        bisect.insort(children, group)  # pools join the spares in name order
    return True
