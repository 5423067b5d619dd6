#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: system
short_description: Manage a system record, replace its hardware, or request a reinstall
version_added: 0.1.0
description:
  - Creates, updates or removes a system record, C(<records_dir>/systems/<name>.yml).
  - >-
    A system is one machine: its tier (and so its segment), hardware model, network interfaces
    (MAC and reserved IP), install profile, template variables, power management, and its build
    generation, the number of installs requested so far.
  - Giving an existing system a new primary MAC (O(mac), O(interfaces) or O(from_pool)) is a
    B(hardware replacement). The build generation is raised so the new box installs itself as
    this system, and the old MAC is returned in RV(replaced).
  - A new system starts at build generation 1, so it installs on its first network boot.
  - Options that are not given keep their current value.
options:
  name:
    description: The system's name, an RFC 1123 host name label; also its host name and file name.
    type: str
    required: true
  state:
    description: V(present) creates or updates the record; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  tier:
    description: The tier the system belongs to (it sets the segment). Required when creating.
    type: str
  hardware_model:
    description: The hardware model; picks per-model profiles and matching spares in pools.
    type: str
  profile:
    description: The install profile; by default the tier's profile for the hardware model.
    type: str
  interfaces:
    description:
      - All network interfaces, replacing the current list. Exactly one is primary (with a
        single interface, it is the primary one).
    type: list
    elements: dict
    suboptions:
      name:
        description: Interface name, such as C(eth0).
        type: str
        required: true
      mac:
        description: MAC address, any common spelling; stored in lower-case colon form.
        type: str
        required: true
      ip:
        description: Reserved IPv4 address. The primary interface needs O(interfaces[].ip) or O(interfaces[].ipv6).
        type: str
      ipv6:
        description:
          - Reserved IPv6 address, in the segment's C(ipv6.network). A system whose primary
            interface has no O(interfaces[].ip) installs over IPv6.
        type: str
      primary:
        description: The interface that PXE-boots and carries C(ansible_host).
        type: bool
      segment:
        description: The interface's segment, when not the tier's.
        type: str
  mac:
    description:
      - Shorthand for the primary interface's MAC. On an existing system with another MAC this
        is a hardware replacement.
    type: str
  ip:
    description: Shorthand for the primary interface's reserved IP.
    type: str
  ipv6:
    description: Shorthand for the primary interface's reserved IPv6 address.
    type: str
  interface_name:
    description: Name of the primary interface when O(mac) creates it.
    type: str
    default: eth0
  from_pool:
    description:
      - Take the first spare of the system's O(hardware_model) out of this pool and make its MAC
        the primary MAC, in the same transaction. No matching spare is an error and changes nothing.
      - Each run takes another spare; this is an action, not a state.
    type: str
  reinstall:
    description:
      - Request a new install by raising the build generation. Each run with V(true) raises it
        again; this is an action, not a state.
    type: bool
    default: false
  must_exist:
    description:
      - Refuse, changing nothing, when the system has no record. The replace and provision
        playbooks set it for a replacement or a re-install, so that a mistyped name (an AWX
        survey's free text) is an error, not a new system.
    type: bool
    default: false
  to_pool:
    description: With O(state=absent), return the system's primary MAC to this pool as a spare.
    type: str
  boot_loader:
    description: The boot loader; V(auto) lets DHCP choose by firmware.
    type: str
    choices: [auto, pxelinux, grub, ipxe]
  kernel_options:
    description: Kernel options for this system (a mapping or a string); C(~name) removes an inherited one.
    type: raw
  vars:
    description: Template variables for this system (they win over inherited ones).
    type: dict
  bmc:
    description: Power management of the machine.
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
        description: BMC port, if not the protocol's default.
        type: int
      username:
        description: BMC user.
        type: str
      password_var:
        description: The name of the Ansible variable (for example from Vault) that holds the password.
        type: str
  description:
    description: Free text for people, one line.
    type: str
  refresh_caches:
    description:
      - After a change, build the views that the inventory plugin and the provisioner's render
        steps cache (see M(baremetal.provision.provisioner_sync)) from the store this run has just
        validated, while it still holds the lock, so that an inventory refresh (C(refresh_inventory)) and the
        render steps that follow do not read and validate the whole store again.
      - Worth it when those steps follow in the same playbook (the collection's replace,
        provision and retire playbooks set it); it costs this run about a second at 10,000
        systems, so leave it off in loops over many systems.
    type: bool
    default: false
extends_documentation_fragment:
  - baremetal.provision.records
  - baremetal.provision.records.git
  - baremetal.provision.records.attributes
  - baremetal.provision.records.action
  - baremetal.provision.records.installed_kernel_options
author:
  - baremetal.provision contributors (@baremetal-provision)
"""

EXAMPLES = r"""
- name: A new web server
  baremetal.provision.system:
    name: web01
    tier: web
    hardware_model: r650
    mac: "52:54:00:12:34:56"
    ip: 192.0.2.50
  delegate_to: localhost

- name: Hardware replacement - the new box has another MAC
  baremetal.provision.system:
    name: web01
    mac: "52:54:00:aa:bb:cc"
  delegate_to: localhost
  register: moved

- name: Say which MAC was retired
  ansible.builtin.debug:
    msg: "web01 moved from {{ moved.replaced.old_mac }} to {{ moved.replaced.new_mac }}"
  when: moved.replaced

- name: Hardware replacement from the spare pool
  baremetal.provision.system:
    name: web01
    from_pool: spares-dmz
  delegate_to: localhost

- name: Reinstall a system
  baremetal.provision.system:
    name: web01
    reinstall: true
  delegate_to: localhost

- name: Retire a system and put its machine back in the pool
  baremetal.provision.system:
    name: web01
    state: absent
    to_pool: spares-dmz
  delegate_to: localhost
"""

RETURN = r"""
cached_views:
  description:
    - With O(refresh_caches), what was cached for the steps that follow.
    - C(inventory) is V(patched) (the inventory view from before the change, patched for the
      records it touched) or V(built) (built from the whole store). C(provisioners) are the
      provisioners whose views were cached, and C(fingerprints) the fingerprint each one's view is
      cached under, which M(baremetal.provision.provisioner_sync) takes as
      O(baremetal.provision.provisioner_sync#module:view).
  returned: when refresh_caches is true, the store changed and has no problems
  type: dict
  sample: {"inventory": "patched", "provisioners": [prov-dmz], "fingerprints": {"prov-dmz": "5f0c...e1"}}
record:
  description: The system record as written (null after removal).
  returned: success
  type: dict
  sample:
    tier: web
    hardware_model: r650
    interfaces: [{name: eth0, mac: "52:54:00:12:34:56", ip: 192.0.2.50, primary: true}]
    build: {generation: 1}
created:
  description: Whether the record was created by this run.
  returned: state=present
  type: bool
generation:
  description: The build generation after this run.
  returned: state=present
  type: int
  sample: 2
replaced:
  description: The primary MAC before and after, when this run replaced the hardware; else null.
  returned: state=present
  type: dict
  sample: {old_mac: "52:54:00:12:34:56", new_mac: "52:54:00:aa:bb:cc"}
pool_spare:
  description:
    - The spare taken out of O(from_pool), with the pool's name and C(spares_left), the spares of
      its hardware model the pool still has; else null.
    - Taking the last one, or going below the pool's C(min_spares), is also a warning.
  returned: state=present
  type: dict
  sample: {mac: "52:54:00:00:00:01", hardware_model: r650, serial: SN001, pool: spares-dmz, spares_left: 1}
previous:
  description: The record before removal.
  returned: state=absent
  type: dict
files:
  description: Files written or removed (or that would be in check mode), relative to O(records_dir).
  returned: success
  type: list
  elements: str
  sample: [pools/spares-dmz.yml, systems/web01.yml]
system:
  description:
    - The system merged with everything it inherits, as M(baremetal.provision.system_info) returns it
      (provisioner, IP, MAC, build generation...); null after removal.
  returned: success
  type: dict
records_dir:
  description: The absolute path of the record store.
  returned: success
  type: str
git:
  description:
    - With O(git), how the change was recorded. C(commit) is the new commit (null when nothing
      changed), C(pushed) whether it was pushed, C(remote) where to (C(origin/main)), C(attempts)
      how many tries a moving remote took.
    - In check mode, C(would_commit) and C(push) say what a real run would do.
  returned: when git is given
  type: dict
  sample: {commit: 3f2a9c0e5b7d4a1f8e6c2b9a0d7e5f4c3b2a1908, pushed: true, remote: origin/main, attempts: 1}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as _editors
from ansible_collections.baremetal.provision.plugins.module_utils._runner.records import (
    edit_argument_spec,
    run_edit,
    system_argument_spec,
)

SPEC = dict(
    argument_spec=edit_argument_spec(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        **system_argument_spec(),
        interface_name=dict(type="str", default="eth0"),
        from_pool=dict(type="str"),
        reinstall=dict(type="bool", default=False),
        must_exist=dict(type="bool", default=False),
        to_pool=dict(type="str"),
        refresh_caches=dict(type="bool", default=False),
    ),
    mutually_exclusive=[
        ("interfaces", "mac"),
        ("interfaces", "ip"),
        ("interfaces", "ipv6"),
        ("mac", "from_pool"),
        ("interfaces", "from_pool"),
    ],
    supports_check_mode=True,
)


def run(module):
    """The module's work, given an AnsibleModule (or the action plugin's in-process stand-in)."""
    params = module.params
    if params["bmc"]:
        params["bmc"] = {k: v for k, v in params["bmc"].items() if v is not None}

    def edit(txn):
        if params["state"] == "absent":
            return {"record": None, "previous": _editors.retire_system(txn, params["name"], params["to_pool"])}
        return _editors.edit_system(txn, params["name"], params)

    run_edit(
        module,
        edit,
        refresh_caches=params["refresh_caches"],
        summary=lambda facts: _editors.describe_system_change(params["name"], params, facts),
        explain_retry=lambda txn, first: _editors.explain_lost_hardware(txn.store, params["name"], first),
    )


def main():
    run(AnsibleModule(**SPEC))


if __name__ == "__main__":
    main()
