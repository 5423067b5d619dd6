#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tier
short_description: Manage a tier record (a group of like systems on one segment)
version_added: 0.1.0
description:
  - Creates, updates or removes a tier record, C(<records_dir>/tiers/<name>.yml).
  - A tier (web, app, db, ...) places its systems on a segment and gives them a default install
    profile, with per-hardware-model overrides. Options that are not given keep their value.
options:
  name:
    description: The tier's name, an RFC 1123 DNS name; also its file name.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the record; V(absent) removes it.
      - Removing a tier that systems still belong to is refused, naming them.
    type: str
    choices: [present, absent]
    default: present
  segment:
    description: The segment the tier's systems live on. Required when creating.
    type: str
  profile:
    description: The default install profile of the tier's systems.
    type: str
  profiles_by_model:
    description:
      - Install profile per hardware model, overriding O(profile) for systems of that model.
    type: dict
  boot_loader:
    description: Default boot loader of the tier's systems.
    type: str
    choices: [auto, pxelinux, grub, ipxe]
  kernel_options:
    description: Kernel options inherited by the tier's systems (a mapping or a string).
    type: raw
  vars:
    description: Template variables inherited by the tier's systems.
    type: dict
  description:
    description: Free text for people, one line.
    type: str
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
- name: Web tier on the DMZ, Rocky 9 by default, a different profile for the older model
  baremetal.provision.tier:
    name: web
    segment: dmz
    profile: rocky9-web
    profiles_by_model:
      r640: rocky9-web-legacy
  delegate_to: localhost
"""

RETURN = r"""
record:
  description: The tier record as written (null after removal).
  returned: success
  type: dict
  sample: {"segment": "dmz", "profile": "rocky9-web"}
files:
  description: Record files written or removed (or that would be in check mode), relative to O(records_dir).
  returned: success
  type: list
  elements: str
  sample: [tiers/web.yml]
records_dir:
  description: The absolute path of the record store.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._runner.records import (
    edit_argument_spec,
    inherited_argument_spec,
    simple_record_module,
)

FIELDS = (
    "description",
    "segment",
    "profile",
    "profiles_by_model",
    "boot_loader",
    "kernel_options",
    "installed_kernel_options",
    "vars",
)


SPEC = dict(
    argument_spec=edit_argument_spec(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        segment=dict(type="str"),
        profile=dict(type="str"),
        profiles_by_model=dict(type="dict"),
        **inherited_argument_spec(),
        description=dict(type="str"),
    ),
    supports_check_mode=True,
)


def run(module):
    """The module's work, given an AnsibleModule (or the action plugin's in-process stand-in)."""
    simple_record_module(module, "tiers", FIELDS)


def main():
    run(AnsibleModule(**SPEC))


if __name__ == "__main__":
    main()
