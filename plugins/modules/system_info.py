#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: system_info
short_description: Show systems as they will be installed, with everything inherited
version_added: 0.1.0
description:
  - >-
    Returns systems merged with what they inherit (segment, then tier, then profile, then the
    system itself, the nearest winning): network settings, profile, distro, kernel options,
    template variables, boot loader and build generation.
options:
  name:
    description: Only this system. Without it, every system (filtered by O(tier) and O(segment)).
    type: str
  tier:
    description: Only systems of this tier.
    type: str
  segment:
    description: Only systems on this segment.
    type: str
extends_documentation_fragment:
  - baremetal.provision.records.info
  - baremetal.provision.records.action
notes:
  - >-
    It reads the records on the controller and cannot see a provisioner. How far a system's install
    got there (the last stage seen, lease to callback, and the generation that completed) is what
    M(baremetal.provision.install_progress) tells, run on the system's provisioner; the C(status)
    playbook runs both for one system
    (C(ansible-playbook baremetal.provision.status -e system=web01 [-e since=EPOCH])).
seealso:
  - module: baremetal.provision.install_progress
  - module: baremetal.provision.install_wait
author:
  - baremetal.provision contributors (@baremetal-provision)
"""

EXAMPLES = r"""
- name: What will web01 be installed with?
  baremetal.provision.system_info:
    name: web01
  delegate_to: localhost
  register: web01

- name: Show its kernel options
  ansible.builtin.debug:
    var: web01.systems[0].kernel_options
"""

RETURN = r"""
systems:
  description: The merged systems, sorted by name.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The system's name (and host name).
      type: str
    fqdn:
      description: Host name and the segment's domain.
      type: str
    tier:
      description: The tier.
      type: str
    segment:
      description: The segment (from the tier).
      type: str
    provisioner:
      description: The inventory host that serves the segment.
      type: str
    profile:
      description: The install profile in effect.
      type: str
    distro:
      description: The profile's distro.
      type: str
    mac:
      description: The primary MAC.
      type: str
    ip:
      description: The primary reserved IP.
      type: str
    interfaces:
      description: All interfaces, with their segment and a primary flag.
      type: list
      elements: dict
    network:
      description: network, netmask, prefix, gateway, dns, domain, next_server of the segment.
      type: dict
    kernel_options:
      description: The merged kernel options of the installer, as a kernel command line fragment.
      type: str
    installed_kernel_options:
      description: The merged kernel options of the installed system, as a kernel command line fragment.
      type: str
    vars:
      description: The merged template variables.
      type: dict
    boot_loader:
      description: The boot loader in effect (V(auto) lets DHCP choose by firmware).
      type: str
    build_generation:
      description: The number of installs requested so far.
      type: int
  sample:
    - name: web01
      fqdn: web01.dmz.example.test
      tier: web
      segment: dmz
      profile: rocky9-web
      mac: "52:54:00:12:34:56"
      ip: 192.0.2.50
      kernel_options: console=ttyS0
      build_generation: 1
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import Problem, StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import record_path
from ansible_collections.baremetal.provision.plugins.module_utils._runner.records import records_argument_spec, run_read

SPEC = dict(
    argument_spec=records_argument_spec(
        name=dict(type="str"),
        tier=dict(type="str"),
        segment=dict(type="str"),
    ),
    supports_check_mode=True,
)


def run(module):
    """The module's work, given an AnsibleModule (or the action plugin's in-process stand-in)."""
    params = module.params

    def read(store):
        names = [params["name"]] if params["name"] else store.names("systems")
        if params["name"] and not store.exists("systems", params["name"]):
            raise StoreError(Problem(record_path("systems", params["name"]), None, "no such system"))
        systems = []
        for name in names:
            if store.data("systems", name) is None:
                raise StoreError(store.records["systems"][name].problems)
            merged = store.resolve_system(name)
            if params["tier"] and merged["tier"] != params["tier"]:
                continue
            if params["segment"] and merged["segment"] != params["segment"]:
                continue
            systems.append(merged)
        return {"systems": systems}

    run_read(module, read)


def main():
    run(AnsibleModule(**SPEC))


if __name__ == "__main__":
    main()
