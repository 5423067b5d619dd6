# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: records
short_description: Systems, tiers, segments, profiles and spare-machine pools from a record store
version_added: 0.1.0
author: baremetal.provision contributors (@baremetal-provision)
description:
  - Reads a C(baremetal.provision) record store (the directory the record modules edit) and
    exposes it to Ansible, so the records that provision a machine also drive everything done
    with it afterwards.
  - Every system record is a host. C(ansible_host) is its primary IP; its merged record
    (segment, then tier, then profile, then system; the nearest wins) is in host variables
    prefixed C(bm_).
  - >-
    Groups: C(systems) (every system), C(tier_<tier>), C(segment_<segment>), C(profile_<profile>),
    C(model_<hardware_model>), C(provisioners) (every host named as a segment's provisioner, with
    the segments it serves in C(bm_provisioner_segments) and, on a provisioner that serves a
    segment with discovery on, those segments in C(bm_discovery_segments), both sorted; added even
    when it is not a system record), and for every pool a group C(pool_<pool>), child of
    C(spares), holding its spare machines as hosts named C(spare-<mac with dashes>) with
    C(bm_state=spare).
  - The store is validated with the same rules the record modules enforce. An invalid store fails
    the inventory with every problem listed by file and field, never a silently partial inventory,
    unless O(on_invalid=warn).
  - Configuration files must end in C(.baremetal.yml) or C(.baremetal.yaml).
  - The group C(all) gets C(bm_records_dir), the store's absolute path, which the collection's
    playbooks use when C(records_dir) is not given.
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: The name of this plugin; set it to V(baremetal.provision.records).
    type: str
    required: true
    choices: [baremetal.provision.records]
  records_dir:
    description:
      - The record store directory. A relative path is relative to the directory of the
        inventory configuration file.
    type: str
    env:
      - name: BAREMETAL_RECORDS
  on_invalid:
    description:
      - What to do when the store breaks a rule. V(error) fails the inventory and lists every
        problem; V(warn) lists them as warnings and leaves out the records that are themselves
        invalid (records that are valid on their own but clash, such as two systems with one
        MAC, stay in).
    type: str
    choices: [error, warn]
    default: error
  host_vars:
    description:
      - Which variables each host gets.
      - V(full) gives every system its merged record in C(bm_) variables (about 2 KB of the
        exported JSON per system).
      - >-
        V(lean) keeps only what Ansible needs to reach and group a host and what the collection's
        playbooks and roles read from the inventory. A system has C(ansible_host), C(bm_name),
        C(bm_state), C(bm_tier), C(bm_segment) and C(bm_provisioner); a spare has C(bm_mac),
        C(bm_state), C(bm_segment) and C(bm_pool); a provisioner keeps C(bm_provisioner_segments),
        C(bm_discovery_segments) and C(bm_ipv6_segments). The groups are those of V(full).
      - With V(lean) the merged record of a system comes from M(baremetal.provision.system_info),
        which returns the same merged data that V(full) puts in the C(bm_) variables.
      - With V(lean), O(compose), O(groups) and O(keyed_groups) see only the lean variables.
      - For AWX inventory syncs of large fleets (C(ansible-inventory --list --export) at 100,000
        systems prints some 220 MB of JSON with V(full), a fifth of that with V(lean)).
    type: str
    choices: [full, lean]
    default: full
    env:
      - name: BAREMETAL_INVENTORY_HOST_VARS
    version_added: 0.2.0
notes:
  - >-
    The plugin keeps the inventory it built in its own cache (one file beside the record parse
    cache: C($BAREMETAL_CACHE_DIR), else C(~/.cache/baremetal.provision); C(BAREMETAL_CACHE=off)
    disables it) and, within one C(ansible-playbook) process, in memory. Both are used only while
    a fingerprint of every record file (name, size, modification time, inode) matches, so an
    edit, a C(git pull) or a module run is seen at once; a run with an unchanged store skips
    loading and validating records, and an inventory refresh (C(refresh_inventory)) after a record change
    re-reads the store only then.
  - >-
    O(cache=true) with an Ansible cache plugin works as well (the same fingerprint check, without
    waiting for O(cache_timeout)), but is not needed for speed: the plugin's own cache is faster
    than Ansible's cache plugins at 10,000 systems.
  - Group names contain the record names as they are, dashes included (C(pool_spares-dmz)).
seealso:
  - module: baremetal.provision.system
  - module: baremetal.provision.pool
"""

EXAMPLES = r"""
# The smallest config, fleet.baremetal.yml, for the store in ../records:
#   plugin: baremetal.provision.records
#   records_dir: ../records
#
# With extra groups and variables from the records' variables:
plugin: baremetal.provision.records
records_dir: /srv/gitops/records
keyed_groups:
  - key: bm_vars.rack | default('unracked')
    prefix: rack
groups:
  uefi: bm_boot_loader == 'grub'
compose:
  ansible_user: bm_vars.admin_user | default('root')

# For an AWX inventory source of a large fleet: hosts and groups, the merged records on demand
# (baremetal.provision.system_info):
#   plugin: baremetal.provision.records
#   records_dir: ../records
#   host_vars: lean
"""

import os

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.baremetal.provision.plugins.module_utils._records.cache_files import cache_dir, write_cached
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import StoreScan
from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import load_snapshot
from ansible_collections.baremetal.provision.plugins.module_utils._runner.collector import gc_paused, settle_long_lived
from ansible_collections.baremetal.provision.plugins.module_utils._views import cache as _view_cache
from ansible_collections.baremetal.provision.plugins.module_utils._views.cache import (
    inventory_path,
    inventory_view,
    inventory_view_of,
)
from ansible_collections.baremetal.provision.plugins.module_utils._views.inventory import (
    build_view,
    lean_view,
    view_host_vars,
)
from ansible_collections.baremetal.provision.plugins.plugin_utils._data import as_inventory_data
from ansible_collections.baremetal.provision.plugins.plugin_utils._populate import add_hosts
from ansible_collections.baremetal.provision.plugins.plugin_utils._warm import warm_templating


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "baremetal.provision.records"

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith((".baremetal.yml", ".baremetal.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache=cache)
        self._read_config_data(path)
        root = self.get_option("records_dir")
        if not root:
            raise AnsibleParserError("%s: records_dir: not set (and BAREMETAL_RECORDS is not set either)" % path)
        root = os.path.join(os.path.dirname(os.path.abspath(path)), os.path.expanduser(root))
        if not os.path.isdir(root):
            raise AnsibleParserError("%s: records_dir: %s is not a directory" % (path, root))

        on_invalid = self.get_option("on_invalid")
        host_vars = self.get_option("host_vars")
        # One scan, two fingerprints: the full view's (what a record module leaves behind, see
        # _views.cache.warm) and, for host_vars=lean, the lean view's, which differs from it, so
        # that neither view is ever taken for the other.
        scan = StoreScan(root)
        full = scan.fingerprint(on_invalid)
        fingerprint = scan.fingerprint(on_invalid + LEAN_FINGERPRINT) if host_vars == "lean" else full
        memo_key = (os.path.abspath(path), root, host_vars)
        with gc_paused():  # a view and its hosts are a few hundred thousand objects, all kept: see _bulk
            view, how, origin = self._view(root, path, memo_key, fingerprint, cache, host_vars, full)
            self.display.vvv(
                "%s: %d hosts of the record store %s, %s (host_vars=%s)"
                % (path, len(view["hosts"]), root, how, host_vars)
            )
            _MEMO[memo_key] = (fingerprint, view, origin)
            self._populate(view)
            for warning in view.get("warnings") or []:
                self.display.warning("%s: %s" % (root, warning))
            # Playbooks run with this inventory find the store without being told again.
            self.inventory.set_variable("all", "bm_records_dir", as_inventory_data(root))
            # before the first task forks a worker: see _warm
            warm_templating(loader, self.display)
            settle_long_lived()

    def _view(self, root, path, memo_key, fingerprint, cache, host_vars="full", full=None):
        """(view, where it came from, its origin in the cache folder or None): the view of the store
        under ``fingerprint`` in the form ``host_vars`` asks for. full: the full view's fingerprint
        (the same as ``fingerprint`` for host_vars=full)."""
        # Every cache below is used only while the fingerprint matches, so it is safe even when
        # Ansible asks for a fresh read (cache=False: meta refresh_inventory).
        held = _MEMO.get(memo_key)
        if held is not None and held[0] == fingerprint:
            return held[1], "unchanged since the last read", held[2]
        if self.get_option("cache"):
            cache_key = self.get_cache_key(path)
            if cache:
                try:
                    cached = self._cache[cache_key]
                except KeyError:
                    cached = None
                if isinstance(cached, dict) and cached.get("fingerprint") == fingerprint:
                    view = cached.get("view")
                    if isinstance(view, dict) and view_host_vars(view) == host_vars:
                        return view, "from the inventory cache plugin", None
            view = self._load_view(root, host_vars)
            self._cache[cache_key] = {"fingerprint": fingerprint, "view": view}
            return view, "built", None
        if host_vars == "lean":
            return (*self._lean_view(root, fingerprint, full), None)
        # A record edit run by this playbook (meta: refresh_inventory) left the new view behind, as
        # the hosts it changed over the view read before: only those are read.
        found = inventory_view_of(root, fingerprint, (held[1], held[2]) if held is not None and held[2] else None)
        if found is not None and view_host_vars(found[0]) == "full":
            return found[0], "from the cache folder " + cache_dir(), found[1]
        view = self._load_view(root)
        write_cached(inventory_path(root), fingerprint, view)
        return view, "built", (fingerprint, frozenset())

    def _lean_view(self, root, fingerprint, full):
        """The lean view from its own cache file (under its own fingerprint), else made from the
        full view a record module left behind (under the full fingerprint), else built; the lean
        view is then kept in its file. The full view's file is left as it is."""
        path = lean_inventory_path(root)
        view = _view_cache.read_cached(path, fingerprint)  # through the module: benchmarks switch it off
        if isinstance(view, dict) and view_host_vars(view) == "lean":
            return view, "from the cache folder " + cache_dir()
        whole = inventory_view(root, full)
        if whole is not None and view_host_vars(whole) == "full":
            view, how = lean_view(whole), "from the cache folder %s (made from the full view)" % cache_dir()
        else:
            view, how = self._load_view(root, "lean"), "built"
        del whole
        write_cached(path, fingerprint, view)
        return view, how

    def _load_view(self, root, host_vars="full"):
        try:
            store = load_snapshot(root)  # a crashed edit's journal is seen whole, never half
        except StoreError as exc:
            raise AnsibleParserError("records_dir %s: %s" % (root, exc.message)) from exc
        problems = store.problems()
        if problems:
            error = StoreError(
                problems,
                "the record store %s has %d problem%s" % (root, len(problems), "" if len(problems) == 1 else "s"),
            )
            if self.get_option("on_invalid") == "error":
                raise AnsibleParserError(error.message)
            self.display.warning(
                error.message + "\n(on_invalid=warn: records that are invalid on their own are left out)"
            )
        view = build_view(store)
        return lean_view(view) if host_vars == "lean" else view

    def _populate(self, view):
        inventory = self.inventory
        hosts_of = inventory.hosts
        known = set(hosts_of)  # hosts another inventory source already added: merged into, never replaced
        # the name Ansible keeps for each group: with TRANSFORM_INVALID_GROUP_CHARS=always a dash
        # in a record's name becomes an underscore (pool_spares-dmz: pool_spares_dmz)
        named = {group: inventory.add_group(group) for group in view["groups"]}
        for group, members in view["groups"].items():
            for child in members["children"]:
                inventory.add_child(named[group], named[child])
        # The top groups go under "all" now, while they are empty: reconcile_inventory() would put
        # them there once the hosts are in, walking every host of each.
        for group in named.values():
            if not inventory.groups[group].get_ancestors():
                inventory.add_child("all", group)
        add_hosts(inventory, view, named)
        compose = self.get_option("compose")
        groups = self.get_option("groups")
        keyed_groups = self.get_option("keyed_groups")
        strict = self.get_option("strict")
        constructed = bool(compose or groups or keyed_groups)
        # record values are data, never templates; what cannot be a template exports as plain JSON
        # (all hosts at once: a name or address that recurs on many hosts is marked once)
        for host, hostvars in as_inventory_data(view["hosts"]).items():  # every host is already in a group of the view
            target = hosts_of[host]
            if host in known:
                for name, value in hostvars.items():
                    target.set_variable(name, value)
            else:
                # Plain values with fixed, valid names on a host made here: what Host.set_variable does, in one step.
                target.vars.update(hostvars)
            if constructed:
                self._set_composite_vars(compose, hostvars, host, strict=strict)
                self._add_host_to_composed_groups(groups, hostvars, host, strict=strict)
                self._add_host_to_keyed_groups(keyed_groups, hostvars, host, strict=strict)


# One ansible-playbook process reads the inventory at start and again at each refresh_inventory;
# the view built from an unchanged store is kept here ({(config, records_dir, host_vars): (fingerprint,
# view, origin)}; origin: see _views.cache.inventory_view_of).
_MEMO = {}

# Added to on_invalid in the lean view's fingerprint (the full view's is on_invalid alone, as
# _views.cache.INVENTORY_FINGERPRINT_EXTRA is for on_invalid=error).
LEAN_FINGERPRINT = "|host_vars=lean"


def lean_inventory_path(root):
    """The lean view's cache file: beside the full view's, named after it (``inventory-<key>-lean.view``),
    so that the full view a record module leaves behind and the lean one never replace each other."""
    base, ext = os.path.splitext(inventory_path(root))
    return base + "-lean" + ext
