#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: systems
short_description: Replace, provision or retire a list of systems as one change
version_added: 0.2.0
description:
  - Applies a list of system changes of one kind (O(action)) as B(one) change of the record store.
    Each item is what M(baremetal.provision.system) does for one system, by the same code, but the
    store is validated once, the change is one git commit (and push), and the provisioners that
    follow render it once.
  - A rack of new machines, or a batch of hardware replacements after a bad firmware roll-out, is
    one run instead of one run per machine.
  - By default a problem with any item refuses the whole list, changing nothing; the error lists
    every item's problems (C(problems) of each of RV(items)), each naming its record file and field.
  - With O(partial=true), the items that keep the store valid are applied and committed, and the
    others are reported in RV(refused); the task then fails (after the commit), so that a list that
    was not applied whole never reads as success.
options:
  action:
    description:
      - V(replace) moves each system to new hardware (O(items[].mac) or a spare O(items[].from_pool));
        each system must exist.
      - V(provision) creates each system, or with O(items[].reinstall) re-arms an existing one.
      - V(retire) removes each system (it must exist), its machine back to O(items[].to_pool) if given.
    type: str
    required: true
    choices: [replace, provision, retire]
  items:
    description:
      - The systems, one item each; a system may be listed once.
      - V(replace) takes O(items[].name) and exactly one of O(items[].mac) and O(items[].from_pool).
        V(retire) takes O(items[].name) and optionally O(items[].to_pool). V(provision) takes the
        options M(baremetal.provision.system) takes for a new system, or O(items[].reinstall).
        Another option is a problem of that item.
      - Items are applied in order; two items that take spares from one pool get different spares.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The system's name.
        type: str
        required: true
      mac:
        description: The new primary MAC (V(replace)), or the primary MAC of a new system (V(provision)).
        type: str
      from_pool:
        description: Take the first spare of the system's hardware model out of this pool.
        type: str
      to_pool:
        description: V(retire) only. Return the system's primary MAC to this pool as a spare.
        type: str
      reinstall:
        description: V(provision) only. Raise the build generation of an existing system.
        type: bool
      tier:
        description: V(provision) only. The system's tier.
        type: str
      hardware_model:
        description: V(provision) only. The hardware model.
        type: str
      profile:
        description: V(provision) only. The install profile.
        type: str
      ip:
        description: V(provision) only. The primary interface's reserved IP.
        type: str
      ipv6:
        description: V(provision) only. The primary interface's reserved IPv6 address.
        type: str
      interface_name:
        description: V(provision) only. Name of the primary interface that O(items[].mac) creates (default C(eth0)).
        type: str
      interfaces:
        description: V(provision) only. All network interfaces, as M(baremetal.provision.system) takes them.
        type: list
        elements: dict
        suboptions:
          name:
            description: Interface name.
            type: str
            required: true
          mac:
            description: MAC address.
            type: str
            required: true
          ip:
            description: Reserved IPv4 address.
            type: str
          ipv6:
            description: Reserved IPv6 address.
            type: str
          primary:
            description: The interface that PXE-boots.
            type: bool
          segment:
            description: The interface's segment, when not the tier's.
            type: str
      boot_loader:
        description: V(provision) only. The boot loader.
        type: str
        choices: [auto, pxelinux, grub, ipxe]
      kernel_options:
        description: V(provision) only. Kernel options (a mapping or a string).
        type: raw
      installed_kernel_options:
        description: V(provision) only. Kernel options of the installed system.
        type: raw
      vars:
        description: V(provision) only. Template variables.
        type: dict
      bmc:
        description: V(provision) only. Power management of the machine.
        type: dict
        suboptions:
          type:
            description: The protocol.
            type: str
            choices: [ipmi, redfish]
            required: true
          address:
            description: BMC address or host name.
            type: str
            required: true
          port:
            description: BMC port.
            type: int
          username:
            description: BMC user.
            type: str
          password_var:
            description: The name of the Ansible variable that holds the password.
            type: str
      description:
        description: V(provision) only. Free text for people, one line.
        type: str
  partial:
    description:
      - V(false) refuses the whole list when any item has a problem, changing nothing.
      - V(true) applies and commits the items that keep the store valid and reports the others in
        RV(refused); the task still fails at the end, naming them.
    type: bool
    default: false
  refresh_caches:
    description:
      - As for M(baremetal.provision.system) (the replace, provision and retire playbooks set it).
    type: bool
    default: false
extends_documentation_fragment:
  - baremetal.provision.records
  - baremetal.provision.records.git
  - baremetal.provision.records.attributes
  - baremetal.provision.records.action
author:
  - baremetal.provision contributors (@baremetal-provision)
"""

EXAMPLES = r"""
- name: Three replacements after a bad firmware roll-out, one commit
  baremetal.provision.systems:
    action: replace
    items:
      - {name: web01, mac: "52:54:00:aa:bb:01"}
      - {name: web02, mac: "52:54:00:aa:bb:02"}
      - {name: web03, from_pool: spares-dmz}
  delegate_to: localhost

- name: A new rack, the valid ones applied even if some are not
  baremetal.provision.systems:
    action: provision
    partial: true
    items:
      - {name: web10, tier: web, hardware_model: r650, mac: "52:54:00:aa:cc:10", ip: 192.0.2.70}
      - {name: web11, tier: web, hardware_model: r650, mac: "52:54:00:aa:cc:11", ip: 192.0.2.71}
  delegate_to: localhost
  register: rack
  ignore_errors: true

- name: Retire two systems, their machines back to the pool
  baremetal.provision.systems:
    action: retire
    items:
      - {name: web05, to_pool: spares-dmz}
      - {name: web06, to_pool: spares-dmz}
  delegate_to: localhost
"""

RETURN = r"""
items:
  description:
    - One result per item, in the order given; also returned when the change is refused.
    - C(status) is V(applied) or V(refused) (null when the list itself was refused); C(change) the
      line the commit's body has for it; C(old_mac) and C(new_mac) the primary MAC before and after
      a replacement; C(generation) the build generation after; C(pool_spare) the spare taken, as
      M(baremetal.provision.system) returns it; C(provisioners) the provisioners the item touches;
      C(problems) what refused it, each with C(path), C(field) and C(message).
  returned: always
  type: list
  elements: dict
  sample:
    - {name: web01, status: applied, change: "replace web01: 52:54:00:12:34:56 -> 52:54:00:aa:bb:01",
       created: false, old_mac: "52:54:00:12:34:56", new_mac: "52:54:00:aa:bb:01", generation: 2,
       pool_spare: null, provisioners: [prov-dmz], problems: []}
action:
  description: The action applied.
  returned: success
  type: str
applied:
  description: The names of the items applied.
  returned: success
  type: list
  elements: str
refused:
  description: The names of the items not applied (only with O(partial)).
  returned: success
  type: list
  elements: str
provisioners:
  description: Every provisioner the applied items touch (before and after the change), each to render once.
  returned: success
  type: list
  elements: str
  sample: [prov-dmz]
systems:
  description:
    - The applied systems that still exist, merged with everything they inherit, as
      M(baremetal.provision.system) returns RV(baremetal.provision.system#module:system).
  returned: success
  type: list
  elements: dict
files:
  description: Files written or removed (or that would be in check mode), relative to O(records_dir).
  returned: success
  type: list
  elements: str
records_dir:
  description: The absolute path of the record store.
  returned: success
  type: str
cached_views:
  description:
    - With O(refresh_caches), what was cached for the steps that follow, as
      M(baremetal.provision.system) returns it.
  returned: when refresh_caches is true, the store changed and has no problems
  type: dict
problems:
  description: On a refusal, every problem, each with C(path), C(field) and C(message).
  returned: failure
  type: list
  elements: dict
git:
  description: With O(git), how the change was recorded, as M(baremetal.provision.system) returns it.
  returned: when git is given
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._records.bulk import (
    ACTIONS,
    BulkChange,
    RefusalOutcome,
)
from ansible_collections.baremetal.provision.plugins.module_utils._runner.records import (
    edit_argument_spec,
    run_edit,
    system_argument_spec,
)
from ansible_collections.baremetal.provision.plugins.module_utils._views.cache import _provisioners

ITEM = dict(
    name=dict(type="str", required=True),
    **system_argument_spec(),
    from_pool=dict(type="str"),
    to_pool=dict(type="str"),
    reinstall=dict(type="bool"),
    interface_name=dict(type="str"),
)

SPEC = dict(
    argument_spec=edit_argument_spec(
        action=dict(type="str", required=True, choices=list(ACTIONS)),
        items=dict(
            type="list",
            elements="dict",
            required=True,
            options=ITEM,
            mutually_exclusive=[
                ("interfaces", "mac"),
                ("interfaces", "ip"),
                ("interfaces", "ipv6"),
                ("mac", "from_pool"),
                ("interfaces", "from_pool"),
            ],
        ),
        partial=dict(type="bool", default=False),
        refresh_caches=dict(type="bool", default=False),
    ),
    supports_check_mode=True,
)


def run(module):
    """The module's work, given an AnsibleModule (or the action plugin's in-process stand-in)."""
    params = module.params
    change = BulkChange(params["action"], params["items"], partial=params["partial"], provisioners_of=_provisioners)
    run_edit(
        RefusalOutcome(module, change),
        change.edit,
        summary=change.summary,
        refresh_caches=params["refresh_caches"],
        explain_retry=change.explain_retry,
    )


def main():
    run(AnsibleModule(**SPEC))


if __name__ == "__main__":
    main()
