#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: discovered
short_description: Remove machines from a provisioner's discovery spool
version_added: 0.2.0
description:
  - Removes the entries of the given boot MACs from the discovery spool of a provisioner (see
    M(baremetal.provision.discovered_info)), typically once they were enlisted into the records or
    judged to be noise.
  - Runs on the provisioner, under the spool's lock, so it never races the discovery service.
  - A MAC with no entry is not an error; removing the same MACs again changes nothing.
author:
  - baremetal.provision contributors (@baremetal-provision)
options:
  macs:
    description:
      - The boot MACs whose entries go, in colon or dash form, any case.
      - A string that is not a unicast MAC fails the task before anything is removed.
    type: list
    elements: str
    required: true
  state:
    description: V(absent) removes the entries; the only choice.
    type: str
    choices: [absent]
    default: absent
  spool_dir:
    description: The discovery spool (the C(discovery) role's C(discovery_spool_dir)).
    type: path
    default: /var/lib/baremetal-provision/discovered
attributes:
  check_mode:
    support: full
    description: Reports what it would remove and removes nothing.
  diff_mode:
    support: full
    description: The MACs in the spool before and after, one a line.
seealso:
  - module: baremetal.provision.discovered_info
"""

EXAMPLES = r"""
- name: Forget the machines that were enlisted
  baremetal.provision.discovered:
    macs:
      - "52:54:00:12:34:56"
      - 52-54-00-12-34-57
    state: absent

- name: Empty the spool
  block:
    - name: Read the spool
      baremetal.provision.discovered_info:
      register: spool
    - name: Remove every entry
      baremetal.provision.discovered:
        macs: "{{ spool.entries | map(attribute='mac') | list }}"
"""

RETURN = r"""
removed:
  description: The MACs whose entries were removed (would be, in check mode), normalised and sorted.
  returned: always
  type: list
  elements: str
  sample: ["52:54:00:12:34:56"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.discovery import (
    DEFAULT_SPOOL_DIR,
    DiscoveryError,
    remove_entries,
    spool_macs,
)


def _lines(macs):
    return "".join(mac + "\n" for mac in macs)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            macs=dict(type="list", elements="str", required=True),
            state=dict(type="str", choices=["absent"], default="absent"),
            spool_dir=dict(type="path", default=DEFAULT_SPOOL_DIR),
        ),
        supports_check_mode=True,
    )
    spool = module.params["spool_dir"]
    before = spool_macs(spool)
    try:
        removed = remove_entries(spool, module.params["macs"], check_mode=module.check_mode)
    except DiscoveryError as exc:
        module.fail_json(msg="discovered: %s; nothing was removed" % exc)
    result = dict(changed=bool(removed), removed=removed)
    if module._diff:
        after = [mac for mac in before if mac not in removed]
        result["diff"] = dict(before=_lines(before), after=_lines(after))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
