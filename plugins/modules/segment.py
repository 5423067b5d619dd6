#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: segment
short_description: Manage a network segment record
version_added: 0.1.0
description:
  - Creates, updates or removes a segment record, C(<records_dir>/segments/<name>.yml).
  - A segment is one layer-2 network served by one provisioning server (DHCP, TFTP, web),
    directly or through a DHCP relay. Its network settings are inherited by every system in it.
  - Options that are not given keep their current value.
options:
  name:
    description: The segment's name, an RFC 1123 DNS name; also its file name.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the record; V(absent) removes it.
      - Removing a segment that a tier, pool or interface still refers to is refused, naming them.
    type: str
    choices: [present, absent]
    default: present
  network:
    description:
      - The segment's IPv4 network in CIDR form. A new segment needs O(network), O(ipv6) or both
        (an IPv6-only segment has no O(network)).
    type: str
  gateway:
    description: The default router handed out by DHCP; inside O(network).
    type: str
  dns:
    description: DNS servers handed out by DHCP.
    type: list
    elements: str
  domain:
    description: The DNS domain of the segment; a system's FQDN is C(<name>.<domain>).
    type: str
  provisioner:
    description:
      - The inventory host name of the provisioning server that serves this segment.
        Required when creating.
    type: str
  next_server:
    description:
      - The provisioner's address handed to booting machines (DHCP C(next-server)); also the host
        of the HTTP boot, iPXE, kernel, install config and callback URLs.
    type: str
  dynamic_range:
    description:
      - C([first, last]) addresses leased to unknown machines. Unknown machines never get an
        installer; they boot their local disk, or the discovery collector where O(discovery) is
        on. Reserved IPs may not fall inside it.
    type: list
    elements: str
  discovery:
    description:
      - Send unknown machines (a MAC with no reservation, leasing from O(dynamic_range)), BIOS or
        UEFI, to the discovery collector instead of their local disk. The collector reports the
        machine's hardware to the provisioner and powers off; it never installs anything, and its
        report reaches the records only through a reviewed change.
      - Known machines boot as without it. A segment with discovery on needs O(dynamic_range) and
        O(next_server) (the collector is fetched from and reports to it).
      - The collector is started by iPXE, which is not signed; an unknown machine with Secure Boot
        on cannot run it and falls through to its next boot device (its disk).
      - The record's default is V(false).
    type: bool
  relay:
    description:
      - The address of the DHCP relay agent in this segment (the giaddr of the requests it
        forwards), when the provisioner is on another segment and requests reach it through a
        relay. Both DHCP servers select the segment's subnet by that address; a relayed segment
        needs O(next_server), the provisioner's address its machines reach through the router.
    type: str
  ipv6:
    description:
      - The segment's IPv6 part, replacing the current one. Its machines install over DHCPv6
        (UEFI only). See the IPv6 section of docs/provisioner.md.
    type: dict
    suboptions:
      network:
        description: The segment's IPv6 /64.
        type: str
        required: true
      next_server:
        description:
          - The provisioner's IPv6 address the segment's machines reach; the host of their boot
            and install URLs (firmware has no DNS).
        type: str
        required: true
      dns:
        description: DNS servers handed out by DHCPv6 and the router advertisements.
        type: list
        elements: str
      dynamic_range:
        description:
          - C([first, last]) addresses leased to unknown machines, and to firmware and iPXE,
            whose requests carry no MAC a reservation can match.
        type: list
        elements: str
      relay:
        description: The address of the DHCPv6 relay on the segment, when the provisioner is not on it.
        type: str
      advertise:
        description:
          - Whether the provisioner sends the segment's router advertisements (managed and
            other-config flags on, no SLAAC). The record's default is V(true) on the provisioner's
            own link; set V(false) where the segment's router sends them.
        type: bool
  boot_loader:
    description: Default boot loader of systems in the segment (inherited unless overridden).
    type: str
    choices: [auto, pxelinux, grub, ipxe]
  kernel_options:
    description: Kernel options inherited by every system of the segment (a mapping or a string).
    type: raw
  vars:
    description: Template variables inherited by every system of the segment.
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
- name: Define the DMZ segment
  baremetal.provision.segment:
    records_dir: /srv/records
    name: dmz
    network: 192.0.2.0/24
    gateway: 192.0.2.1
    dns: [192.0.2.53]
    domain: dmz.example.test
    provisioner: prov-dmz
    next_server: 192.0.2.1
    dynamic_range: [192.0.2.200, 192.0.2.250]
  delegate_to: localhost

- name: An IPv6-only provisioning segment
  baremetal.provision.segment:
    records_dir: /srv/records
    name: dc2-prov
    provisioner: prov-dc2
    domain: dc2.example.test
    ipv6:
      network: 2001:db8:10::/64
      next_server: 2001:db8:10::1
      dynamic_range: [2001:db8:10::1000, 2001:db8:10::1fff]
  delegate_to: localhost

- name: Send the DMZ's unknown machines to the discovery collector
  baremetal.provision.segment:
    records_dir: /srv/records
    name: dmz
    discovery: true
  delegate_to: localhost

- name: Remove a segment that nothing uses any more
  baremetal.provision.segment:
    name: old-lab
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
record:
  description: The segment record as written (null after removal).
  returned: success
  type: dict
  sample: {"network": "192.0.2.0/24", "gateway": "192.0.2.1", "provisioner": "prov-dmz"}
files:
  description: Record files that were (or in check mode would be) written or removed, relative to O(records_dir).
  returned: success
  type: list
  elements: str
  sample: [segments/dmz.yml]
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
    "network",
    "gateway",
    "dns",
    "domain",
    "provisioner",
    "next_server",
    "dynamic_range",
    "discovery",
    "relay",
    "ipv6",
    "boot_loader",
    "kernel_options",
    "installed_kernel_options",
    "vars",
)


SPEC = dict(
    argument_spec=edit_argument_spec(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        network=dict(type="str"),
        gateway=dict(type="str"),
        dns=dict(type="list", elements="str"),
        domain=dict(type="str"),
        provisioner=dict(type="str"),
        next_server=dict(type="str"),
        dynamic_range=dict(type="list", elements="str"),
        discovery=dict(type="bool"),
        relay=dict(type="str"),
        ipv6=dict(
            type="dict",
            options=dict(
                network=dict(type="str", required=True),
                next_server=dict(type="str", required=True),
                dns=dict(type="list", elements="str"),
                dynamic_range=dict(type="list", elements="str"),
                relay=dict(type="str"),
                advertise=dict(type="bool"),
            ),
        ),
        **inherited_argument_spec(),
        description=dict(type="str"),
    ),
    supports_check_mode=True,
)


def run(module):
    """The module's work, given an AnsibleModule (or the action plugin's in-process stand-in)."""
    simple_record_module(module, "segments", FIELDS)


def main():
    run(AnsibleModule(**SPEC))


if __name__ == "__main__":
    main()
