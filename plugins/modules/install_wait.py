#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# The documentation of the install_wait action plugin (plugins/action/install_wait.py), which does
# all the work on the controller; like ansible.builtin.debug, it has no module code to run.

from __future__ import annotations

DOCUMENTATION = r"""
module: install_wait
short_description: Wait for a system's network install, reporting each stage its provisioner sees
version_added: 0.2.0
description:
  - Waits until the provisioner records the installer's callback for the system's build generation
    O(generation), or O(timeout) seconds pass.
  - >-
    Every O(delay) seconds it runs M(baremetal.provision.install_progress) on the host the task runs on or
    is delegated to (the system's provisioner), and prints each stage as it first appears, with the
    time since O(since), for example
    C(web01: lease taken 4.1 s after power-on (192.0.2.50 to 52:54:00:0e:00:02)). The stages are
    lease, boot loader, kernel, install config and callback.
  - >-
    On timeout it fails and names the last stage seen, for example
    C(web01 is stuck at install config (/ks/web01.cfg over HTTP) 41.0 s after power-on; it did not call
    back within 600 s), or C(web01: no stage seen: the machine never asked for a lease), with the sources it
    could not read.
  - When the provisioner's clock is more than a second off the controller's, O(since) is moved onto the
    provisioner's clock (from the time install_progress answers) before the stages are looked for.
    A clock read anywhere within the round trip of that first question is taken as the same clock, so a
    slow round trip is not mistaken for a skew.
  - The C(replace) and C(provision) playbooks use it with C(wait=true) (C(wait_timeout), C(wait_delay)).
  - An action plugin; this file only documents it.
author: baremetal.provision contributors (@baremetal-provision)
options:
  name:
    description: The system's name.
    type: str
    required: true
  generation:
    description: The build generation whose callback ends the wait.
    type: int
    required: true
  macs:
    description: The system's MACs; default those the provisioner's netboot index lists for it.
    type: list
    elements: str
  ip:
    description: The system's IP; default the one the netboot index lists for it.
    type: str
  since:
    description:
      - Epoch seconds (the controller's clock) of the power-on, or of the start of the run when the
        machine is powered on by hand. Stages are looked for from then on and timed from it.
      - Default the moment the wait begins.
    type: float
  since_what:
    description: What O(since) is, as the messages name it.
    type: str
    default: power-on
  timeout:
    description: How long to wait for the callback, in seconds.
    type: int
    default: 1800
  delay:
    description: Seconds between two looks at the provisioner.
    type: float
    default: 2
  state_dir:
    description: The provisioner's netboot state (the kickstart role's C(kickstart_state_dir)).
    type: path
    default: /var/lib/baremetal-provision
  access_log:
    description: The provisioner's nginx log of the collection's server block (C(kickstart_access_log)); empty skips it.
    type: str
    default: /var/log/nginx/baremetal-provision.log
  dhcp_unit:
    description: The DHCP server's systemd units (those not on the provisioner are left out).
    type: list
    elements: str
    default: [isc-dhcp-server, kea-dhcp4-server, dhcpd, kea-dhcp4]
  tftp_unit:
    description: The TFTP server's systemd units (those not on the provisioner are left out).
    type: list
    elements: str
    default: [tftpd-hpa, tftp]
seealso:
  - module: baremetal.provision.install_progress
notes:
  - In check mode it does not wait and reports the task as skipped.
"""

EXAMPLES = r"""
- name: Wait for web01's install, power-cycled a moment ago
  baremetal.provision.install_wait:
    name: web01
    generation: 4
    since: "{{ powered_on }}"
    timeout: 1200
  delegate_to: prov-dmz
"""

RETURN = r"""
stages:
  description: The stages seen, as M(baremetal.provision.install_progress) returns them.
  returned: always
  type: list
  elements: dict
  sample:
    - {stage: lease, time: 1767225604.1, detail: 192.0.2.50 to 52:54:00:0e:00:02, source: dhcp}
    - {stage: callback, time: 1767225631.8, detail: generation 4 recorded, source: callback}
last_stage:
  description: The last stage seen; null when none was.
  returned: always
  type: dict
seconds:
  description: Seconds from O(since) to the callback.
  returned: success
  type: float
  sample: 27.7
sources:
  description: Where each stage was looked for, and whether it could be read.
  returned: always
  type: list
  elements: dict
"""
