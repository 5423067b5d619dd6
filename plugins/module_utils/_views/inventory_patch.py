# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The inventory view of the store before an edit of systems and pools, made the view of the store
after it, touching only what the edit touched: each changed system's host and memberships, each
changed pool's spares. The result equals ``inventory.build_view`` of the store after the edit,
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


def patch_view(view, store, touched):
    """view: the inventory view before the edit (changed in place); store: after it; touched:
    the (kind, name) of every record the edit wrote, systems and pools only. Returns the view,
    or None when it has to be built instead."""
    if view.get("version") != VIEW_VERSION:
        return None
    hosts, groups = view["hosts"], view["groups"]
    provisioners = set(groups[PROVISIONERS_GROUP]["hosts"])
    for kind, name in sorted(touched):
        if kind == "systems":
            if name in provisioners or not _patch_system(hosts, groups, store, name):
                return None
        elif not _patch_pool(hosts, groups, store, name):
            return None
    ordered = _in_order(groups)
    # hosts in build_view's order: systems by name, provisioners, then each pool's spares
    lists = [ordered[SYSTEMS_GROUP]["hosts"], ordered[PROVISIONERS_GROUP]["hosts"]]
    lists += [group["hosts"] for name, group in ordered.items() if name.startswith(POOL_PREFIX)]
    in_order = {host: hosts[host] for names in lists for host in names if host in hosts}
    if len(in_order) != len(hosts):
        return None
    view["hosts"], view["groups"] = in_order, ordered
    view["warnings"] = _spares.warnings(store)
    return view


def _patch_system(hosts, groups, store, name):
    old = hosts.pop(name, None)
    if old is not None:
        if old.get("bm_state") != "active":
            return False  # the name was a spare's
        for group, members in list(groups.items()):
            if name in members["hosts"]:
                members["hosts"].remove(name)
                if not members["hosts"] and not members["children"] and group not in FIXED:
                    del groups[group]
    if store.data("systems", name) is None:
        return True
    if name in hosts:
        return False
    hosts[name], system_groups = _system_host(store, name)
    for group in (SYSTEMS_GROUP, *system_groups):
        members = groups.setdefault(group, {"hosts": [], "children": []})
        bisect.insort(members["hosts"], name)  # systems join their groups in name order
    return True


def _patch_pool(hosts, groups, store, name):
    group = POOL_PREFIX + name
    for host in groups.get(group, {}).get("hosts", ()):
        hosts.pop(host, None)
    pool = store.data("pools", name)
    if pool is None:
        groups.pop(group, None)
        children = groups[SPARES_GROUP]["children"]
        if group in children:
            children.remove(group)
        return True
    spare_hosts = _spare_hosts(name, pool)
    if any(host in hosts for host in spare_hosts):
        return False
    hosts.update(spare_hosts)
    groups[group] = {"hosts": list(spare_hosts), "children": []}
    children = groups[SPARES_GROUP]["children"]
    if group not in children:
        bisect.insort(children, group)  # pools join the spares in name order
    return True
