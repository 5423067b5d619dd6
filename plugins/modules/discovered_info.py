#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: discovered_info
short_description: List the machines a provisioner discovered
version_added: 0.2.0
description:
  - Reads the discovery spool of a provisioner, where its discovery service (the C(discovery)
    role) keeps one entry per boot MAC of an unknown machine that booted the collector and
    reported its hardware.
  - Runs on the provisioner. Every entry is checked as strictly as the service checked the report;
    a damaged or invalid file is listed in RV(problems) and skipped, never a failure.
  - What it returns is data a machine sent, unauthenticated; enlist it into the records only
    through a reviewable change.
author:
  - baremetal.provision contributors (@baremetal-provision)
options:
  spool_dir:
    description: The discovery spool (the C(discovery) role's C(discovery_spool_dir)).
    type: path
    default: /var/lib/baremetal-provision/discovered
attributes:
  check_mode:
    support: full
    description: Reads only; the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing.
seealso:
  - module: baremetal.provision.discovered
"""

EXAMPLES = r"""
- name: What did the provisioners discover?
  baremetal.provision.discovered_info:
  register: discovered

- name: Show the boot MAC, vendor and product of each machine
  ansible.builtin.debug:
    msg: "{{ item.mac }} {{ item.report.system.vendor }} {{ item.report.system.product }}"
  loop: "{{ discovered.entries }}"
  loop_control:
    label: "{{ item.mac }}"
"""

RETURN = r"""
entries:
  description: One entry per boot MAC, sorted by MAC.
  returned: always
  type: list
  elements: dict
  contains:
    mac:
      description: The boot MAC, lower-case colon form.
      type: str
      sample: "52:54:00:12:34:56"
    report:
      description:
        - The last report of the machine, normalised (schema 1).
        - C(schema), C(collector), C(boot) (C(mac), C(source), C(mode)), C(system) (C(vendor),
          C(product), C(serial), C(uuid)), C(cpus), C(memory_mib), C(nics) (C(name), C(mac),
          C(carrier), C(speed_mbps)), C(disks) (C(name), C(size_bytes), C(model), C(serial),
          C(wwn), C(rotational)) and C(bmc) (C(ip), C(mac), or null).
      type: dict
    source_ip:
      description: The address the last report came from.
      type: str
      sample: 192.0.2.77
    first_seen:
      description: When the machine first reported (ISO 8601, UTC).
      type: str
      sample: "2026-12-07T08:00:00Z"
    last_seen:
      description: When it last reported (ISO 8601, UTC).
      type: str
      sample: "2026-12-07T08:30:00Z"
    reports:
      description: How many reports it sent that were accepted.
      type: int
      sample: 2
problems:
  description: Each damaged or invalid file of the spool, named, with why; such files are skipped.
  returned: always
  type: list
  elements: str
  sample: ["52-54-00-00-00-02.json: Expecting value: line 1 column 1 (char 0)"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.discovery import (
    DEFAULT_SPOOL_DIR,
    read_spool,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(spool_dir=dict(type="path", default=DEFAULT_SPOOL_DIR)),
        supports_check_mode=True,
    )
    entries, problems = read_spool(module.params["spool_dir"])
    module.exit_json(changed=False, entries=entries, problems=problems)


if __name__ == "__main__":
    main()
