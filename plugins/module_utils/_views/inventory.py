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

from ansible_collections.baremetal.provision.plugins.module_utils._records import spares as _spares
from ansible_collections.baremetal.provision.plugins.module_utils._records.fields import mac_dashed
from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import VIEW_VERSION

PREFIX = "bm_"

# resolve_system() key -> host variable (without the prefix); anything not listed is not exposed.
SYSTEM_VARS = (
    "name",
    "hostname",
    "fqdn",
    "tier",
    "segment",
    "provisioner",
    "profile",
    "distro",
    "family",
    "arch",
    "install_format",
    "template",
    "install_tree",
    "hardware_model",
    "mac",
    "ip",
    "ipv6",
    "interfaces",
    "network",
    "boot_loader",
    "secure_boot",
    "kernel_options",
    "installed_kernel_options",
    "vars",
    "build_generation",
    "bmc",
)

# host_vars=lean (the inventory plugin's option): what a host keeps. Ansible's own needs (the
# address to connect to; the groups are the view's and stay whole), the record's identity and
# place (name, state, tier, segment, provisioner, a spare's pool and MAC), and every variable the
# collection's playbooks and roles read from the inventory rather than from a module: the
# provisioners' segments (site, enlist and the discovery and dhcp roles). The playbooks take a
# system's merged record from the record modules or system_info, never from its host variables.
HOST_VARS = ("full", "lean")
LEAN_VARS = frozenset(
    (
        "ansible_host",
        PREFIX + "name",
        PREFIX + "state",
        PREFIX + "tier",
        PREFIX + "segment",
        PREFIX + "provisioner",
        PREFIX + "pool",
        PREFIX + "provisioner_segments",
        PREFIX + "discovery_segments",
        PREFIX + "ipv6_segments",
    )
)
LEAN_SPARE_VARS = LEAN_VARS | {PREFIX + "mac"}  # a spare machine is known by its MAC alone

SYSTEMS_GROUP = "systems"
SPARES_GROUP = "spares"
PROVISIONERS_GROUP = "provisioners"


def spare_host_name(mac):
    """The inventory name of a spare machine: ``spare-52-54-00-00-00-01``."""
    return "spare-" + mac_dashed(mac)


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
    host = system["ip"] or system["ipv6"]  # an IPv6-only system is reached at its IPv6 address
    if host:
        hostvars["ansible_host"] = host
    groups = [
        prefix + system[key]
        for prefix, key in (
            ("tier_", "tier"),
            ("segment_", "segment"),
            ("profile_", "profile"),
            ("model_", "hardware_model"),
        )
        if system[key]
    ]
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


def build_view(store, host_vars="full"):
    """The inventory view of a loaded store. Invalid records are left out (the caller decides
    whether that is an error or a warning); nothing here raises on bad data. host_vars="lean":
    see lean_view."""
    view = _full_view(store)
    return lean_view(view) if host_vars == "lean" else view


def lean_view(view):
    """The lean form of a full view: the same hosts, groups and warnings, each host with only
    the variables of LEAN_VARS (a spare: LEAN_SPARE_VARS). Marked ``"host_vars": "lean"`` (a full
    view has no such key), so that a reader can tell one from the other beside the fingerprint."""
    hosts = {}
    for name, hostvars in view["hosts"].items():
        keep = LEAN_SPARE_VARS if hostvars.get(PREFIX + "state") == "spare" else LEAN_VARS
        hosts[name] = {key: value for key, value in hostvars.items() if key in keep}
    lean = dict(view)
    lean["hosts"] = hosts
    lean["host_vars"] = "lean"
    return lean


def view_host_vars(view):
    """Which host variables a view holds: "full" or "lean"."""
    return view.get("host_vars", "full")


def _full_view(store):
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

    serves, discovers, ipv6 = {}, {}, {}
    for seg_name in store.names("segments"):
        segment = store.data("segments", seg_name)
        if segment and segment.get("provisioner"):
            serves.setdefault(segment["provisioner"], []).append(seg_name)
            # where unknown machines boot the collector: the roles that serve it read this
            if segment.get("discovery"):
                discovers.setdefault(segment["provisioner"], []).append(seg_name)
            # where DHCPv6 (and router advertisements) serve: the dhcp role runs kea-dhcp6 there
            if segment.get("ipv6"):
                ipv6.setdefault(segment["provisioner"], []).append(seg_name)
    groups.groups[PROVISIONERS_GROUP] = {"hosts": [], "children": []}
    for prov, segments in sorted(serves.items()):
        hostvars = hosts.setdefault(prov, {})
        hostvars[PREFIX + "provisioner_segments"] = segments
        if prov in discovers:  # absent where discovery is off: such an inventory is as it was
            hostvars[PREFIX + "discovery_segments"] = discovers[prov]
        if prov in ipv6:  # likewise absent where no segment has IPv6
            hostvars[PREFIX + "ipv6_segments"] = ipv6[prov]
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
    return {
        "version": VIEW_VERSION,
        "hosts": hosts,
        "groups": _in_order(groups.groups),
        # pools below the spares their records ask to keep: shown each time the inventory loads
        "warnings": _spares.warnings(store),
    }


def _in_order(groups):
    """Groups in a fixed order that does not depend on which system comes first: systems, the
    system groups by name, provisioners, spares, the pools by name."""

    def rank(name):
        fixed = {SYSTEMS_GROUP: 0, PROVISIONERS_GROUP: 2, SPARES_GROUP: 3}
        return (fixed.get(name, 4 if name.startswith("pool_") else 1), name)

    return {name: groups[name] for name in sorted(groups, key=rank)}
