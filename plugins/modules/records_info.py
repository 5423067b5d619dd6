#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: records_info
short_description: Validate a whole record store and count its records
version_added: 0.1.0
description:
  - Loads every record of the store, checks every rule (fields, references, unique MACs and IPs,
    addresses inside their segment, characters that could inject into generated configs) and
    reports every problem at once, each naming its file and field.
  - This is what the C(baremetal.provision.validate) playbook runs on a pull request.
options:
  fail_on_problems:
    description: Fail when the store has problems. With V(false), return them and succeed.
    type: bool
    default: true
extends_documentation_fragment:
  - baremetal.provision.records.info
  - baremetal.provision.records.action
author:
  - baremetal.provision contributors (@baremetal-provision)
"""

EXAMPLES = r"""
- name: Check the records of this pull request
  baremetal.provision.records_info:
    records_dir: "{{ playbook_dir }}/records"
  delegate_to: localhost
"""

RETURN = r"""
valid:
  description: Whether the store has no problem.
  returned: success
  type: bool
problems:
  description: Every problem, each with the record file, the field and a message.
  returned: always
  type: list
  elements: dict
  sample:
    - path: systems/web02.yml
      field: "interfaces[0].mac"
      message: "MAC 52:54:00:12:34:56 is also used by systems/web01.yml (interfaces[0].mac)"
counts:
  description: The number of records of each kind, and of templates.
  returned: success
  type: dict
  sample: {segments: 2, tiers: 3, distros: 1, profiles: 2, systems: 200, pools: 2, templates: 2}
spares:
  description:
    - The spares each pool has left per hardware model, with the level its record asks to keep
      (C(min_spares), null when it sets none) and C(low) when it has fewer. A pool below its level
      is also a warning.
  returned: success
  type: list
  elements: dict
  sample:
    - {pool: spares-dmz, segment: dmz, hardware_model: r650, spares: 1, min_spares: 2, low: true}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._records import spares as _spares
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.schema import KINDS
from ansible_collections.baremetal.provision.plugins.module_utils._runner.records import records_argument_spec, run_read

SPEC = dict(
    argument_spec=records_argument_spec(fail_on_problems=dict(type="bool", default=True)),
    supports_check_mode=True,
)


def run(module):
    """The module's work, given an AnsibleModule (or the action plugin's in-process stand-in)."""

    def read(store):
        problems = store.problems()
        if problems and module.params["fail_on_problems"]:
            raise StoreError(problems)
        counts = {kind: len(store.records[kind]) for kind in KINDS}
        counts["templates"] = len(store.templates)
        return {
            "valid": not problems,
            "problems": [p.as_dict() for p in problems],
            "counts": counts,
            "spares": _spares.levels(store),
            "warnings": _spares.warnings(store),
        }

    run_read(module, read)


def main():
    run(AnsibleModule(**SPEC))


if __name__ == "__main__":
    main()
