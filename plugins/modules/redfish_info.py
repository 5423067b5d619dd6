#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redfish_info
short_description: Read machines over Redfish into discovery reports, for enlistment
version_added: 0.2.0
description:
  - >-
    Given BMC addresses and credentials, reads each system of each BMC over Redfish (its
    ComputerSystem and EthernetInterfaces) and turns it into the discovery report (schema 1) the
    in-band collector sends. M(baremetal.provision.enlist) takes these reports to add the machines
    to pools as spares.
  - >-
    Redfish does not say which NIC the machine boots from the network with; without O(bmcs[].pxe_mac)
    the report's C(boot.mac) is the first NIC by its Redfish C(Id), and the entry's C(warnings) say
    so. A BMC that does not give C(Model), C(SerialNumber) or C(UUID) gets an empty value and a
    warning.
  - >-
    Every value a BMC sends is checked; a string with a control character or of more than 128
    characters, a malformed MAC or UUID, or a link that leaves the BMC fails that BMC, with a
    message that names the BMC, the URL and the field.
  - >-
    A BMC that cannot be read is listed in RV(failed_bmcs); the module fails only when no BMC could
    be read, or on any failure with O(fail_on_error=true).
  - Reads only. Run it where the BMCs can be reached, usually on the controller (C(delegate_to) V(localhost)).
options:
  bmcs:
    description: The BMCs to read.
    type: list
    elements: dict
    required: true
    suboptions:
      address:
        description: The BMC's host name or IP address.
        type: str
        required: true
      port:
        description: The BMC's TCP port; the scheme's own (443 or 80) when not given.
        type: int
      scheme:
        description: Whether to talk HTTPS or plain HTTP.
        type: str
        choices: [https, http]
        default: https
      username:
        description: The user for HTTP basic authentication; none is sent without it.
        type: str
      password:
        description: The password for HTTP basic authentication.
        type: str
      system_id:
        description:
          - The Redfish C(Id) of the one system to read (the last step of its URL, such as V(1) or
            V(System.Embedded.1)). Every member of C(/redfish/v1/Systems) is read without it.
        type: str
      pxe_mac:
        description:
          - The MAC of the NIC the machine boots from the network with, to use for the report's
            C(boot.mac) instead of a guess. It must be one of the NICs of a system of this BMC.
        type: str
      validate_certs:
        description: Whether to check the BMC's TLS certificate. Set V(false) only for a lab BMC.
        type: bool
        default: true
  timeout:
    description: Seconds to wait for each answer of a BMC.
    type: int
    default: 30
  fail_on_error:
    description:
      - Fail when any BMC cannot be read. With V(false), fail only when none can be read; the
        others are in RV(failed_bmcs).
    type: bool
    default: false
notes:
  - Supports check mode; the module only reads.
  - The report has no disks (C(disks) is empty) and no BMC MAC; C(bmc.ip) is the BMC address when
    it is an IPv4 address, and C(bmc) is null for a BMC given by name or IPv6 address (schema 1
    holds an IPv4 address only).
seealso:
  - module: baremetal.provision.enlist
author:
  - baremetal.provision contributors (@baremetal-provision)
"""

EXAMPLES = r"""
- name: Read the new rack's machines through their BMCs
  baremetal.provision.redfish_info:
    bmcs:
      - address: 198.51.100.21
        username: admin
        password: "{{ vault_bmc_password }}"
        pxe_mac: "52:54:00:12:34:56"
      - address: 198.51.100.22
        username: admin
        password: "{{ vault_bmc_password }}"
        system_id: System.Embedded.1
  delegate_to: localhost
  register: redfish

- name: Show the BMCs that could not be read
  ansible.builtin.debug:
    var: redfish.failed_bmcs
  when: redfish.failed_bmcs | length > 0

- name: Enlist them in the DMZ's pools
  baremetal.provision.enlist:
    records_dir: "{{ playbook_dir }}/records"
    entries: "{{ redfish.reports | map('combine', {'segment': 'dmz'}) }}"
  delegate_to: localhost
"""

RETURN = r"""
reports:
  description: One entry for each system read.
  returned: always
  type: list
  elements: dict
  contains:
    bmc:
      description: The BMC's address, as given.
      type: str
      sample: 198.51.100.21
    system_id:
      description: The system's Redfish C(Id).
      type: str
      sample: "1"
    report:
      description: The discovery report, schema 1, as the in-band collector sends it.
      type: dict
      sample:
        schema: 1
        collector: baremetal.provision-redfish/1
        boot: {mac: "52:54:00:12:34:56", source: redfish, mode: uefi}
        system: {vendor: Contoso, product: R100, serial: CN12345, uuid: 0d2d3a8e-1c1a-4d9b-8c59-5b5d8f2e4a11}
        cpus: 2
        memory_mib: 16384
        nics:
          - {name: NIC.1, mac: "52:54:00:12:34:56", carrier: true, speed_mbps: 10000}
        disks: []
        bmc: {ip: 198.51.100.21, mac: ""}
    warnings:
      description: What the report could not say for sure, such as a guessed boot MAC or a field the BMC does not give.
      type: list
      elements: str
failed_bmcs:
  description: The BMCs that could not be read, each with why.
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: The BMC's address, as given.
      type: str
    msg:
      description: What went wrong, naming the BMC, the URL and, for a bad value, the field.
      type: str
      sample: >-
        BMC 198.51.100.22: GET https://198.51.100.22/redfish/v1/Systems: HTTP 401 Unauthorized:
        the BMC refused the username and password
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._bmc.redfish import (
    RedfishClient,
    RedfishError,
    connection_argument_spec,
    read_bmc,
)

BMC_OPTIONS = connection_argument_spec(system_id=dict(type="str"), pxe_mac=dict(type="str"))

SPEC = dict(
    argument_spec=dict(
        bmcs=dict(type="list", elements="dict", required=True, options=BMC_OPTIONS),
        timeout=dict(type="int", default=30),
        fail_on_error=dict(type="bool", default=False),
    ),
    supports_check_mode=True,
)


def read_all(bmcs, timeout):
    """(reports, failed_bmcs) of every BMC: one that cannot be read does not stop the others."""
    reports, failed = [], []
    for bmc in bmcs:
        try:
            client = RedfishClient(
                bmc["address"],
                port=bmc["port"],
                scheme=bmc["scheme"],
                username=bmc["username"],
                password=bmc["password"],
                validate_certs=bmc["validate_certs"],
                timeout=timeout,
            )
            systems = read_bmc(client, system_id=bmc["system_id"], pxe_mac=bmc["pxe_mac"])
        except RedfishError as exc:
            failed.append({"address": bmc["address"], "msg": str(exc)})
            continue
        reports.extend(dict(found, bmc=bmc["address"]) for found in systems)
    return reports, failed


def main():
    module = AnsibleModule(**SPEC)
    bmcs = module.params["bmcs"]
    reports, failed = read_all(bmcs, module.params["timeout"])
    result = dict(changed=False, reports=reports, failed_bmcs=failed)
    if failed and (module.params["fail_on_error"] or len(failed) == len(bmcs)):
        word = "every BMC" if len(failed) == len(bmcs) else "%d of %d BMCs" % (len(failed), len(bmcs))
        why = "; ".join(f["msg"] for f in failed)
        module.fail_json(msg="Redfish: %s could not be read: %s" % (word, why), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
