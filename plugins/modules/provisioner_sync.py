#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: provisioner_sync
short_description: Render a provisioner's DHCP, TFTP or web files from the record store
version_added: 0.1.0
description:
  - Renders, in one pass, every file of one component of a provisioning server for the segments
    it serves, and writes only the files whose content changed. The roles C(dhcp), C(tftp) and
    C(kickstart) call it.
  - The action plugin runs on the controller, where the records are; it loads and validates the
    store (refusing, with every problem listed, a store that breaks a rule) and hands the
    provisioner's share to the module, which runs on the provisioner.
  - >-
    O(component=dhcp): the ISC dhcpd or Kea config. A changed config is checked by the daemon
    itself (C(dhcpd -t), C(kea-dhcp4 -t)) before it replaces the live one; a config the daemon
    rejects fails the task with the daemon's message and leaves the live file as it was.
  - >-
    O(component=tftp): per-MAC pxelinux, GRUB and iPXE configs and the fallbacks (which boot the
    local disk). A MAC that no longer belongs to a system loses its files in the same run.
  - >-
    O(component=web): install configs in the web root, the nginx map that serves each one only to
    its system's IP, and the netboot index the callback service reads. Netboot once: a system is
    armed (its boot configs start the installer) only while its requested build generation is newer
    than the last one completed on this provisioner.
author: baremetal.provision contributors (@baremetal-provision)
options:
  component:
    description: Which files to render.
    type: str
    required: true
    choices: [dhcp, tftp, web]
  records_dir:
    description:
      - The record store on the controller. Defaults to the E(BAREMETAL_RECORDS) environment
        variable of the controller.
    type: path
  provisioner:
    description: The provisioner name the segments name; defaults to C(inventory_hostname).
    type: str
  view_file:
    description: Set by the action plugin (the provisioner's share of the store, as a JSON file); do not set it.
    type: path
  state_dir:
    description: Where the netboot state lives (secret, index, completed generations).
    type: path
    default: /var/lib/baremetal-provision
  dhcp_server:
    description: The DHCP server to render for.
    type: str
    choices: [isc, kea]
    default: isc
  dhcp_config:
    description: The DHCP config file (required for O(component=dhcp)).
    type: path
  dhcp_check_command:
    description:
      - The checker run on a candidate config, the file's path appended. Defaults to
        C(dhcpd -t -q -cf) or C(kea-dhcp4 -t). An empty list skips the check.
    type: list
    elements: str
  dhcp_extra:
    description:
      - The operator's own additions, checked by the daemon like the rest. For ISC, a string of
        C(dhcpd.conf) statements appended to the config; for Kea, a mapping of top-level C(Dhcp4) keys.
    type: raw
  dhcp_interfaces:
    description: Kea's C(interfaces-config.interfaces).
    type: list
    elements: str
    default: ['*']
  kea_lease_file:
    description: Kea's memfile lease file.
    type: path
    default: /var/lib/kea/kea-leases4.csv
  kea_control_socket:
    description:
      - Kea's control socket. When it is set and the socket exists (Kea runs), a changed config is
        loaded with C(config-reload) and the leases of reserved addresses whose MAC went away are
        deleted (C(lease4-del)), so a replacement machine gets its reserved IP at once.
    type: path
  kea_hooks:
    description: Hook libraries Kea loads (the lease commands hook is needed to delete leases).
    type: list
    elements: path
  tftp_root:
    description: The TFTP root (required for O(component=tftp)).
    type: path
  web_root:
    description: The web root install configs are written under (required for O(component=web)).
    type: path
  web_conf_dir:
    description: Where the nginx access map is written (required for O(component=web)).
    type: path
  callback_base:
    description: The base URL of the callback, when it is not the segment's C(next_server).
    type: str
  secrets:
    description:
      - Values given to install templates as C(secrets) (root password hash, keys). Use Ansible
        Vault; they are never logged.
    type: dict
attributes:
  action:
    support: full
    description: An action plugin on the controller loads the records; the module runs on the provisioner.
  check_mode:
    support: full
    description: Renders and compares without writing (the DHCP checker still runs on a changed config).
  diff_mode:
    support: full
    description: The DHCP config before and after; for the trees, the files written and removed.
  platform:
    support: full
    platforms: posix
    description: Runs on the provisioner.
notes:
  - Run it on the provisioner with the records on the controller; the roles do.
"""

EXAMPLES = r"""
- name: DHCP for the segments this host serves
  baremetal.provision.provisioner_sync:
    component: dhcp
    records_dir: "{{ playbook_dir }}/records"
    dhcp_config: /etc/dhcp/dhcpd.conf
  register: dhcp
  notify: Restart dhcpd

- name: Per-MAC boot configs
  baremetal.provision.provisioner_sync:
    component: tftp
    records_dir: "{{ playbook_dir }}/records"
    tftp_root: /srv/tftp
"""

RETURN = r"""
written:
  description: Files written (relative to their tree); C(conf:) and C(state:) prefixes for the nginx map and the index.
  returned: always
  type: list
  elements: str
removed:
  description: Generated files removed (their MAC no longer belongs to a system here).
  returned: always
  type: list
  elements: str
released:
  description: Kea only, reserved addresses whose MAC changed or went away, as C(ip) and C(mac).
  returned: when component is dhcp, dhcp_server is kea and the config changed
  type: list
  elements: dict
deleted_leases:
  description: Kea only, the addresses whose leases were deleted after the reload.
  returned: when Kea's control socket is live and the config changed
  type: list
  elements: str
armed:
  description: Systems whose boot configs start the installer.
  returned: when component is tftp or web
  type: list
  elements: str
systems:
  description: How many systems this provisioner serves.
  returned: always
  type: int
segments:
  description: The segments this provisioner serves.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import run_module_sync


def main():
    module = AnsibleModule(
        argument_spec=dict(
            component=dict(type="str", required=True, choices=["dhcp", "tftp", "web"]),
            records_dir=dict(type="path"),
            provisioner=dict(type="str"),
            view_file=dict(type="path"),
            state_dir=dict(type="path", default="/var/lib/baremetal-provision"),
            dhcp_server=dict(type="str", default="isc", choices=["isc", "kea"]),
            dhcp_config=dict(type="path"),
            dhcp_check_command=dict(type="list", elements="str"),
            dhcp_extra=dict(type="raw"),
            dhcp_interfaces=dict(type="list", elements="str", default=["*"]),
            kea_lease_file=dict(type="path", default="/var/lib/kea/kea-leases4.csv"),
            kea_control_socket=dict(type="path"),
            kea_hooks=dict(type="list", elements="path"),
            tftp_root=dict(type="path"),
            web_root=dict(type="path"),
            web_conf_dir=dict(type="path"),
            callback_base=dict(type="str"),
            secrets=dict(type="dict", no_log=True),
        ),
        required_if=[
            ("component", "dhcp", ("dhcp_config",)),
            ("component", "tftp", ("tftp_root",)),
            ("component", "web", ("web_root", "web_conf_dir")),
        ],
        supports_check_mode=True,
    )
    run_module_sync(module)


if __name__ == "__main__":
    main()
