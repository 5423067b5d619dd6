#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: install_progress
short_description: How far a system's network install got, as its provisioner saw it
version_added: 0.2.0
description:
  - Runs on the provisioner that serves the system and reads what its daemons wrote since a moment
    (O(since)), then returns the stages of the install seen, in order, each with the time it was
    first seen and a short detail.
  - C(lease) is the DHCP server's lease to one of the system's MACs (ISC dhcpd's C(DHCPACK), Kea's
    C(DHCP4_LEASE_ALLOC)), read from the systemd journal of the DHCP unit.
  - C(boot_loader) is the first boot file the machine asked for. That is a TFTP read request from its
    IP for anything outside C(images/) (tftpd-hpa logs them with C(tftp_log_requests), the tftp role's
    default), or an HTTP GET of its per-MAC iPXE script.
  - C(kernel) is a kernel or initrd fetched, over TFTP (C(images/...)) or HTTP (C(/images/...)).
  - C(install_config) is a GET of the system's C(/ks/) URL that nginx answered with 200, from nginx's
    log of the collection's server block (the kickstart role's C(kickstart_access_log)).
  - C(callback) is the provisioner's completed generation of the system at least O(generation); its
    time is that of the accepted C(/bm/callback/) request in nginx's log.
  - The journal is read with C(journalctl --since @SINCE -o json _SYSTEMD_UNIT=UNIT.service), and for
    TFTP also by the syslog name C(in.tftpd). A busy journald can store the line of a short-lived
    tftpd child without its unit, and that line still counts. nginx's log is read from its end
    backwards, only as far as O(since). A source that is not there (no journalctl, no such unit, no
    log file) is skipped, and RV(sources) says so. Reading other units' lines needs root (or the
    groups C(adm) or C(systemd-journal)).
  - The C(replace) and C(provision) playbooks run it through M(baremetal.provision.install_wait) while they wait
    (C(wait=true)); the C(status) playbook runs it for one system.
author: baremetal.provision contributors (@baremetal-provision)
options:
  name:
    description: The system's name.
    type: str
    required: true
  macs:
    description: Its MACs; default those the provisioner's netboot index lists for it.
    type: list
    elements: str
  ip:
    description: Its IP; default the one the netboot index lists for it.
    type: str
  since:
    description:
      - Epoch seconds. Only what the daemons wrote from then on is read; default one hour ago.
    type: float
  generation:
    description: The build generation whose callback counts; default the one the netboot index requests.
    type: int
  state_dir:
    description: The netboot state (the kickstart role's C(kickstart_state_dir)).
    type: path
    default: /var/lib/baremetal-provision
  access_log:
    description:
      - nginx's log of the collection's server block (the kickstart role's C(kickstart_access_log)).
        Empty skips HTTP requests.
    type: path
    default: /var/log/nginx/baremetal-provision.log
  dhcp_unit:
    description: The DHCP server's systemd units; those that are not on the host are left out.
    type: list
    elements: str
    default: [isc-dhcp-server, kea-dhcp4-server, dhcpd, kea-dhcp4]
  tftp_unit:
    description: The TFTP server's systemd units; those that are not on the host are left out.
    type: list
    elements: str
    default: [tftpd-hpa, tftp]
seealso:
  - module: baremetal.provision.install_wait
  - module: baremetal.provision.system_info
notes:
  - Supports check mode; it changes nothing.
"""

EXAMPLES = r"""
- name: How far did web01's install get in the last hour?
  baremetal.provision.install_progress:
    name: web01
  become: true
  register: web01_progress

- name: Show its last stage
  ansible.builtin.debug:
    msg: "{{ web01_progress.last_stage.stage | default('no stage seen') }}"
"""

RETURN = r"""
stages:
  description: The stages seen since O(since), in the order lease, boot_loader, kernel, install_config, callback.
  returned: always
  type: list
  elements: dict
  contains:
    stage:
      description: V(lease), V(boot_loader), V(kernel), V(install_config) or V(callback).
      type: str
    time:
      description: When it was first seen, epoch seconds.
      type: float
    detail:
      description: What was seen (the IP and MAC of the lease, the file fetched, the generation recorded).
      type: str
    source:
      description: V(dhcp), V(tftp), V(http) or V(callback).
      type: str
  sample:
    - {stage: lease, time: 1767225604.1, detail: 192.0.2.50 to 52:54:00:0e:00:02, source: dhcp}
    - {stage: boot_loader, time: 1767225606.3, detail: pxelinux.0 over TFTP, source: tftp}
last_stage:
  description: The last of RV(stages); null when none was seen.
  returned: always
  type: dict
completed:
  description: The generation of the system that last completed on this provisioner (0 for none).
  returned: always
  type: int
requested:
  description: The generation the provisioner's netboot index requests for the system; null when it does not serve it.
  returned: always
  type: int
generation:
  description: The generation whose callback was looked for.
  returned: always
  type: int
macs:
  description: The MACs looked for.
  returned: always
  type: list
  elements: str
ip:
  description: The IP looked for.
  returned: always
  type: str
since:
  description: The moment read from, epoch seconds.
  returned: always
  type: float
now:
  description: The provisioner's clock when it answered, epoch seconds (install_wait corrects its own by it).
  returned: always
  type: float
sources:
  description: Each source, where it was read and whether it could be; C(reason) says why not.
  returned: always
  type: list
  elements: dict
  sample:
    - {name: dhcp, where: journal of kea-dhcp4-server, read: true}
    - name: http
      where: /var/log/nginx/baremetal-provision.log
      read: false
      reason: "cannot read it: No such file or directory"
"""

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.progress import (
    DEFAULT_ACCESS_LOG,
    DEFAULT_DHCP_UNITS,
    DEFAULT_TFTP_UNITS,
    ProgressError,
    install_progress,
)

SPEC = dict(
    argument_spec=dict(
        name=dict(type="str", required=True),
        macs=dict(type="list", elements="str"),
        ip=dict(type="str"),
        since=dict(type="float"),
        generation=dict(type="int"),
        state_dir=dict(type="path", default="/var/lib/baremetal-provision"),
        access_log=dict(type="path", default=DEFAULT_ACCESS_LOG),
        dhcp_unit=dict(type="list", elements="str", default=list(DEFAULT_DHCP_UNITS)),
        tftp_unit=dict(type="list", elements="str", default=list(DEFAULT_TFTP_UNITS)),
    ),
    supports_check_mode=True,
)


def main():
    module = AnsibleModule(**SPEC)
    params = module.params
    since = params["since"] if params["since"] is not None else time.time() - 3600
    try:
        found = install_progress(
            params["name"],
            since,
            macs=params["macs"],
            ip=params["ip"],
            generation=params["generation"],
            state_dir=params["state_dir"],
            access_log=params["access_log"] or None,
            dhcp_units=params["dhcp_unit"],
            tftp_units=params["tftp_unit"],
        )
    except ProgressError as exc:
        module.fail_json(msg="%s: %s" % (params["name"], exc))
    module.exit_json(changed=False, **found)


if __name__ == "__main__":
    main()
