# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The records inventory plugin's hosts and memberships put into Ansible's inventory: through
InventoryData.add_host (the reference), or in bulk with ansible-core's own classes where a guard
finds the attributes the bulk path relies on (``add_hosts`` chooses).
"""

from __future__ import annotations

from ansible import constants as C
from ansible.inventory.data import InventoryData
from ansible.inventory.host import Host
from ansible.utils.path import basedir
from ansible.utils.vars import get_unique_id


def add_hosts(inventory, view, named):
    """Every host of the view into the groups it belongs to (named: the inventory's name of
    each group of the view)."""
    data = inventory_data(inventory)
    if data is not None and bulk_ready(data):
        add_hosts_bulk(data, view, named)
    else:
        add_hosts_public(inventory, view, named)


def inventory_data(inventory):
    """The InventoryData behind what Ansible hands to parse(): the object itself before
    ansible-core 2.19, from 2.19 on the object inside the proxy that tags what set_variable gets
    (its values are plain strings here, which 2.19 never templates). None when it is neither."""
    for candidate in (inventory, getattr(inventory, "__wrapped__", None)):
        if type(candidate) is InventoryData:  # pylint: disable=unidiomatic-typecheck  # not a subclass of unknown behaviour
            return candidate
    return None


def add_hosts_public(inventory, view, named):
    """The reference: every host and membership through InventoryData.add_host (named: the
    inventory's name of each group of the view)."""
    for group, members in view["groups"].items():
        for host in members["hosts"]:
            inventory.add_host(host, group=named[group])


# add_hosts_bulk exists for speed: at 10,000 hosts in ~5 groups each, add_host spends most of a
# parse in per-call work that is the same for every host (basedir() of the source, two
# set_variable calls, a walk of the group's ancestors per membership and another to clear the
# host caches). It builds the same objects in the same order as add_hosts_public with
# ansible-core's own classes, doing that work once. It relies on the attributes of
# ansible-core's inventory objects (ansible/inventory/data.py, group.py, host.py), so
# bulk_ready() checks them first, and test_records.py compares both paths on the installed
# ansible-core.
def add_hosts_bulk(data, view, named):
    """What add_hosts_public does, with the per-host work of InventoryData.add_host done once."""
    groups_of, hosts_of = data.groups, data.hosts
    source = data.current_source
    if source:  # as add_host sets them for a host first seen in this source
        where = {"inventory_file": source, "inventory_dir": basedir(source)}
    else:
        where = {"inventory_file": None, "inventory_dir": None}
    touched = []
    for group_name, members in view["groups"].items():
        group = groups_of[named[group_name]]
        ancestors = list(group.get_ancestors())  # fixed while hosts are added (no group edges change)
        names, hosts = group.host_names, group.hosts
        size = len(hosts)
        for name in members["hosts"]:
            host = hosts_of.get(name)
            if host is None:
                if name and isinstance(name, str) and name not in C.LOCALHOST:
                    host = new_host(name)
                    host.vars.update(where)
                    hosts_of[host.name] = host
                else:  # the localhost rules, refusal of an empty name or a non-string: add_host's
                    host = hosts_of[data.add_host(name)]
            if host.name in names:
                continue
            # Group.add_host and Host.add_group, without walking the ancestors again
            hosts.append(host)
            names.add(host.name)
            mine = host.groups
            for parent in ancestors:
                if parent not in mine:
                    mine.append(parent)
            if group not in mine:
                mine.append(group)
        if len(hosts) != size:
            touched.append(group)
    for group in touched:  # Group.add_host clears these after every host; once is enough
        group.clear_hosts_cache()
    data._groups_dict_cache = {}  # as add_host leaves it


def new_host(name):
    """Host(name). A name of the plain str type carries no trust or other tag, so there is none
    for Host() to remove: the host is made without that check, the costliest part of Host() for
    the names of a view (checked to give what Host() gives, by bulk_ready and the tests)."""
    if name.__class__ is not str:  # a subclass: a tagged string, perhaps trusted
        return Host(name)  # which removes trust from the name, as add_host does
    host = _HOST_NEW(Host)
    host.vars, host.groups, host._uuid, host.name, host.address, host.implicit = (
        {},
        [],
        get_unique_id(),
        name,
        name,
        False,
    )
    return host


_HOST_NEW = Host.__new__


_READY = {}


def bulk_ready(data):
    """Whether ansible-core's inventory objects have what add_hosts_bulk uses (checked once per class)."""
    group = data.groups.get("all") if isinstance(getattr(data, "groups", None), dict) else None
    key = (type(data), type(group))
    ready = _READY.get(key)
    if ready is None:
        try:
            probe, made = Host("bm-probe"), new_host("bm-probe")
            ready = (
                isinstance(data.hosts, dict)
                and hasattr(data, "current_source")
                and hasattr(data, "_groups_dict_cache")
                and isinstance(group.hosts, list)
                and group.host_names is group._hosts
                and isinstance(group._hosts, set)
                and callable(group.get_ancestors)
                and callable(group.clear_hosts_cache)
                and isinstance(probe.vars, dict)
                and isinstance(probe.groups, list)
                and probe.name == "bm-probe"
                and not probe.implicit
                # new_host gives what Host() gives: the same attributes, of the same types, a uuid of its own
                and vars(made).keys() == vars(probe).keys()
                and all(type(vars(made)[k]) is type(v) for k, v in vars(probe).items())
                and made != new_host("bm-probe")
                and made.get_groups() == []
            )
        except Exception:
            ready = False
        _READY[key] = ready
    return ready
