#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pool
short_description: Manage a pool of spare machines
version_added: 0.1.0
description:
  - >-
    Creates, updates or removes a pool record, C(<records_dir>/pools/<name>.yml): spare machines
    on a segment that are known only by their MAC address, hardware model and serial number.
  - A spare's MAC may not belong to any system or other pool. The
    M(baremetal.provision.system) module takes spares out with O(baremetal.provision.system#module:from_pool).
options:
  name:
    description: The pool's name, an RFC 1123 DNS name; also its file name.
    type: str
    required: true
  state:
    description: V(present) creates or updates the pool; V(absent) removes it with its spares.
    type: str
    choices: [present, absent]
    default: present
  segment:
    description: The segment the spares are cabled to. Required when creating.
    type: str
  machines:
    description: The exact list of spares, replacing the current one.
    type: list
    elements: dict
    suboptions: &machine
      mac:
        description: The MAC address of the interface that PXE-boots.
        type: str
        required: true
      hardware_model:
        description: The hardware model.
        type: str
        required: true
      serial:
        description: The serial number, for people finding the box in a rack.
        type: str
      bmc:
        description: Power management of the spare, carried to the system that takes it.
        type: dict
  add:
    description: Spares to add (or update, matched by MAC).
    type: list
    elements: dict
    suboptions: *machine
  remove:
    description: MAC addresses of spares to remove.
    type: list
    elements: str
  description:
    description: Free text for people, one line.
    type: str
extends_documentation_fragment:
  - baremetal.provision.records
  - baremetal.provision.records.git
  - baremetal.provision.records.attributes
  - baremetal.provision.records.action
author:
  - baremetal.provision contributors (@baremetal-provision)
"""

EXAMPLES = r"""
- name: Two spare R650s for the DMZ
  baremetal.provision.pool:
    name: spares-dmz
    segment: dmz
    add:
      - {mac: "52:54:00:00:00:01", hardware_model: r650, serial: SN001}
      - {mac: "52:54:00:00:00:02", hardware_model: r650, serial: SN002}
  delegate_to: localhost

- name: A spare went to the scrap heap
  baremetal.provision.pool:
    name: spares-dmz
    remove: ["52:54:00:00:00:02"]
  delegate_to: localhost
"""

RETURN = r"""
record:
  description: The pool record as written (null after removal).
  returned: success
  type: dict
  sample: {segment: dmz, machines: [{mac: "52:54:00:00:00:01", hardware_model: r650, serial: SN001}]}
files:
  description: Files written or removed (or that would be in check mode), relative to O(records_dir).
  returned: success
  type: list
  elements: str
  sample: [pools/spares-dmz.yml]
records_dir:
  description: The absolute path of the record store.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as _editors
from ansible_collections.baremetal.provision.plugins.module_utils._runner.records import (
    edit_argument_spec,
    record_summary,
    run_edit,
)

MACHINE = dict(
    mac=dict(type="str", required=True),
    hardware_model=dict(type="str", required=True),
    serial=dict(type="str"),
    bmc=dict(type="dict"),
)


SPEC = dict(
    argument_spec=edit_argument_spec(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        segment=dict(type="str"),
        machines=dict(type="list", elements="dict", options=MACHINE),
        add=dict(type="list", elements="dict", options=MACHINE),
        remove=dict(type="list", elements="str"),
        description=dict(type="str"),
    ),
    mutually_exclusive=[("machines", "add"), ("machines", "remove")],
    supports_check_mode=True,
)


def run(module):
    """The module's work, given an AnsibleModule (or the action plugin's in-process stand-in)."""
    params = module.params

    def edit(txn):
        if params["state"] == "absent":
            return {"record": None, "previous": _editors.remove_record(txn, "pools", params["name"])}
        return {"record": _editors.edit_pool(txn, params["name"], params)}

    run_edit(module, edit, summary=lambda facts: record_summary("pools", params))


def main():
    run(AnsibleModule(**SPEC))


if __name__ == "__main__":
    main()
