#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: enlist
short_description: Turn discovered machines into spares in pools, as one reviewable change
version_added: 0.2.0
description:
  - >-
    Takes what discovery found (the entries of the provisioners' spools that
    M(baremetal.provision.discovered_info) returns, or the reports of
    M(baremetal.provision.redfish_info)) and adds each new machine to a pool as a spare, by the
    C(enlist) rules of the pools of the segment it was found on (DMI product and vendor to
    hardware model).
  - >-
    Deduplicates against the whole store by every MAC, serial and UUID. A machine one of whose
    MACs a system or spare already has is C(known) and changes nothing; one whose serial or UUID
    is a spare's but whose MACs are not is C(changed) (new hardware in a known machine), reported
    and not added twice; one no rule matches is C(unmatched). Firmware placeholders
    (C(Default string), an all-zero UUID) never match.
  - >-
    The change is one commit, on a new branch ready for a pull request with O(branch), or on the
    current branch without it; the work tree stays as it was when a branch is given. Nothing
    here touches a provisioner.
options:
  entries:
    description:
      - The machines found. Each is a spool entry (C(mac), C(report), C(source_ip), C(first_seen),
        C(last_seen)) plus C(provisioner), the inventory name of the provisioner whose spool it
        came from, which with C(source_ip) gives the segment.
      - A Redfish find has C(report) and C(segment) (Redfish cannot tell where a machine is cabled).
      - A report is the discovery document, schema 1 (see the discovery guide).
    type: list
    elements: dict
    required: true
  branch:
    description:
      - Commit on this new branch (made from the current head, pushed to the current branch's
        remote) for a pull request, instead of on the current branch. It must not exist yet.
      - Needs a git work tree; the store's files and branch are left as they were.
    type: str
extends_documentation_fragment:
  - baremetal.provision.records
  - baremetal.provision.records.git
author:
  - baremetal.provision contributors (@baremetal-provision)
"""

EXAMPLES = r"""
- name: Read what the provisioners' spools hold
  baremetal.provision.discovered_info:
  register: found
  delegate_to: "{{ item }}"
  loop: "{{ groups['provisioners'] }}"

- name: Enlist the new machines on a branch for review
  baremetal.provision.enlist:
    records_dir: /srv/records
    entries: >-
      {{ found.results | map(attribute='entries') | flatten }}
    branch: enlist/2026-12-07
    git: {commit: always}
  register: enlisted
"""

RETURN = r"""
added:
  description: Machines that became spares, with the pool, hardware model and the spare's entry.
  returned: always
  type: list
  elements: dict
known:
  description: >-
    Machines the store already has (by a MAC, or the same machine earlier in the list); nothing
    changed for them.
  returned: always
  type: list
  elements: dict
hardware_changed:
  description: Machines whose serial or UUID is a spare's but whose MACs are not; each C(detail) says what to fix.
  returned: always
  type: list
  elements: dict
unmatched:
  description: Machines not added, each with the reason (no rule, no segment).
  returned: always
  type: list
  elements: dict
done:
  description: >-
    The boot MACs that may leave their provisioner's spool, per provisioner (the added and the known
    ones). Empty in check mode and when the change could not be recorded.
  returned: always
  type: dict
pools:
  description: The pools that got spares.
  returned: always
  type: list
  elements: str
files:
  description: The record files written (relative to O(records_dir)).
  returned: always
  type: list
  elements: str
git:
  description: The commit (and C(branch) with O(branch)), as for every record module.
  returned: when O(git) is given
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._records import enlist as _enlist
from ansible_collections.baremetal.provision.plugins.module_utils._runner.records import edit_argument_spec, run_edit

SPEC = dict(
    argument_spec=edit_argument_spec(
        entries=dict(type="list", elements="dict", required=True),
        branch=dict(type="str"),
    ),
    supports_check_mode=True,
)


def run(module):
    """The module's work, given an AnsibleModule (or the action plugin's in-process stand-in)."""
    params = module.params

    def edit(txn):
        outcome = _enlist.plan(txn.store, params["entries"])
        pools = _enlist.apply(txn, outcome)
        return {
            "added": outcome["added"],
            "known": outcome["known"],
            "hardware_changed": outcome["changed"],
            "unmatched": outcome["unmatched"],
            "pools": pools,
            "done": {} if module.check_mode else _enlist.done(outcome),
            "summary": _enlist.summary(outcome),
        }

    run_edit(module, edit, summary=lambda facts: facts["summary"], branch=params.get("branch") or None)


def main():
    run(AnsibleModule(**SPEC))


if __name__ == "__main__":
    main()
