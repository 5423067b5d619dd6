#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redfish_power
short_description: Boot a machine from the network once and power-cycle it through its Redfish BMC
version_added: 0.2.0
description:
  - >-
    Finds the system in the BMC's C(/redfish/v1/Systems) collection, sets a one-time network boot
    (C(Boot) with C(BootSourceOverrideTarget=Pxe) and C(BootSourceOverrideEnabled=Once)) and
    resets it, which is what the replace and provision playbooks do to start an install.
  - >-
    Without O(system_id) the collection must list exactly one system; with it, the member whose
    URL ends with it is used. The system is always addressed by the link the collection gives
    (its C(@odata.id)), so a BMC that names its systems by UUID or as C(System.Embedded.1) needs
    no per-vendor setting.
  - >-
    The boot override is sent with C(If-Match) and the system's ETag when the BMC gives one (some
    BMCs refuse a change without it); when the system changed in between (HTTP 412) it is read
    again and sent once more.
  - >-
    The reset is posted to the C(#ComputerSystem.Reset) target the system advertises, and its
    C(ResetType) must be one the system allows (C(ResetType@Redfish.AllowableValues) of the action,
    or the C(@Redfish.ActionInfo) it links to) when the system says which.
  - >-
    Errors name the BMC, the URL and the reason. Run it where the BMC can be reached, usually on
    the controller.
options:
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
  validate_certs:
    description: Whether to check the BMC's TLS certificate. Set V(false) only for a lab BMC.
    type: bool
    default: true
  timeout:
    description: Seconds to wait for each answer of the BMC.
    type: int
    default: 30
  system_id:
    description:
      - The Redfish C(Id) of the system, the last step of its URL as C(/redfish/v1/Systems) lists it
        (such as V(1), V(System.Embedded.1) or a UUID). It must be a member of that collection; a
        system name that a BMC would answer with a redirect is not taken.
      - Not needed when the BMC has only one system.
    type: str
  boot_once:
    description:
      - V(pxe) sets a one-time boot from the network before the power action; V(none) leaves the
        boot order alone.
    type: str
    choices: [pxe, none]
    default: pxe
  power:
    description:
      - V(cycle) restarts a system that is on (C(ForceRestart), or C(PowerCycle) when the system
        allows only that) and powers on one that is off (C(On), or C(ForceOn)); some BMCs refuse
        a restart of a machine that is off. A system whose C(PowerState) is not given is restarted.
      - V(on) powers the system on (C(On), or C(ForceOn)) unless it is on already; V(off) powers it
        off (C(ForceOff)) unless it is off already.
      - When the system lists the C(ResetType) values it takes and none of these is among them,
        the module fails, naming the ones it takes, and changes nothing.
    type: str
    choices: [cycle, "on", "off"]
    default: cycle
notes:
  - Supports check mode, which reads the BMC and reports what the module would do, without acting.
  - C(changed) is true when the module set the boot override or reset the system (in check mode,
    when it would).
seealso:
  - module: baremetal.provision.redfish_info
author:
  - baremetal.provision contributors (@baremetal-provision)
"""

EXAMPLES = r"""
- name: Boot web01's machine from the network once and power-cycle it
  baremetal.provision.redfish_power:
    address: 198.51.100.21
    username: admin
    password: "{{ vault_bmc_password }}"
  delegate_to: localhost

- name: Power on the first system of a Dell iDRAC without changing its boot order
  baremetal.provision.redfish_power:
    address: bmc-r7.example.test
    username: root
    password: "{{ vault_idrac_password }}"
    system_id: System.Embedded.1
    boot_once: none
    power: "on"
  delegate_to: localhost
"""

RETURN = r"""
system_id:
  description: The Id of the system acted on, the last step of its URL as the BMC lists it.
  returned: success
  type: str
  sample: System.Embedded.1
power_state_before:
  description: The system's C(PowerState) before the module acted; null when the BMC does not give it.
  returned: success
  type: str
  sample: "Off"
reset_type:
  description: The C(ResetType) posted (in check mode, that would be posted); null when no reset was needed.
  returned: success
  type: str
  sample: "On"
boot:
  description: The C(Boot) object set (in check mode, that would be set); null for O(boot_once=none).
  returned: success
  type: dict
  sample: {BootSourceOverrideTarget: Pxe, BootSourceOverrideEnabled: Once}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._bmc.redfish import (
    BOOT_ONCE,
    POWER,
    RedfishClient,
    RedfishError,
    connection_argument_spec,
    plan_power,
    power_control,
)

SPEC = dict(
    argument_spec=connection_argument_spec(
        timeout=dict(type="int", default=30),
        system_id=dict(type="str"),
        boot_once=dict(type="str", choices=list(BOOT_ONCE), default="pxe"),
        power=dict(type="str", choices=list(POWER), default="cycle"),
    ),
    supports_check_mode=True,
)


def main():
    module = AnsibleModule(**SPEC)
    params = module.params
    result = dict(changed=False)
    try:
        client = RedfishClient(
            params["address"],
            port=params["port"],
            scheme=params["scheme"],
            username=params["username"],
            password=params["password"],
            validate_certs=params["validate_certs"],
            timeout=params["timeout"],
        )
        plan = plan_power(client, params["system_id"], params["boot_once"], params["power"])
        result.update(
            system_id=plan["system_id"],
            power_state_before=plan["power_state_before"],
            reset_type=plan["reset_type"],
            boot=plan["boot"],
            changed=bool(plan["boot"] or plan["reset_type"]),
        )
        if not module.check_mode:
            result["changed"] = False
            for _step in power_control(client, plan):
                result["changed"] = True  # a later step may fail: changed says whether any was done
    except RedfishError as exc:
        module.fail_json(msg="Redfish: %s" % exc, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
