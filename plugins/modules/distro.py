#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: distro
short_description: Manage a distro record (an installer kernel and initrd)
version_added: 0.1.0
description:
  - Creates, updates or removes a distro record, C(<records_dir>/distros/<name>.yml).
  - A distro names the installer's kernel and initrd (a path on the provisioner, or a URL with a
    checksum that the provisioner fetches once and verifies) and the install tree.
  - Options that are not given keep their current value.
options:
  name:
    description: The distro's name, an RFC 1123 DNS name such as C(rocky9.4-x86-64).
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the record; V(absent) removes it.
      - Removing a distro that profiles still use is refused, naming them.
    type: str
    choices: [present, absent]
    default: present
  family:
    description: The OS family; it picks the install config format (kickstart, preseed, autoinstall, autoyast).
    type: str
    choices: [redhat, debian, ubuntu, suse]
  arch:
    description: CPU architecture.
    type: str
    choices: [x86_64, aarch64]
  os_version:
    description: The OS version, for templates and people (for example C(9.4)).
    type: str
  kernel:
    description:
      - >-
        The installer kernel. An absolute path on the provisioner, or a mapping
        C({url: ..., checksum: sha256:...}) (a URL always needs a checksum). Required when creating.
    type: raw
  initrd:
    description: The installer initrd, in the same forms as O(kernel). Required when creating.
    type: raw
  install_tree:
    description: URL of the installation tree (repository) the installer uses.
    type: str
  description:
    description: Free text for people, one line.
    type: str
extends_documentation_fragment:
  - baremetal.provision.records
  - baremetal.provision.records.git
  - baremetal.provision.records.attributes
  - baremetal.provision.records.action
author:
  - baremetal.provision contributors (@baremetal-provision)
"""

EXAMPLES = r"""
- name: Rocky Linux 9 installer, fetched once and verified on every provisioner
  baremetal.provision.distro:
    name: rocky9
    family: redhat
    arch: x86_64
    os_version: "9.4"
    kernel:
      url: http://mirror.example.test/rocky/9/BaseOS/x86_64/os/images/pxeboot/vmlinuz
      checksum: sha256:0000000000000000000000000000000000000000000000000000000000000000
    initrd:
      url: http://mirror.example.test/rocky/9/BaseOS/x86_64/os/images/pxeboot/initrd.img
      checksum: sha256:0000000000000000000000000000000000000000000000000000000000000000
    install_tree: http://mirror.example.test/rocky/9/BaseOS/x86_64/os
  delegate_to: localhost
"""

RETURN = r"""
record:
  description: The distro record as written (null after removal).
  returned: success
  type: dict
  sample: {"family": "redhat", "arch": "x86_64", "kernel": "/srv/images/vmlinuz", "initrd": "/srv/images/initrd.img"}
files:
  description: Record files written or removed (or that would be in check mode), relative to O(records_dir).
  returned: success
  type: list
  elements: str
  sample: [distros/rocky9.yml]
records_dir:
  description: The absolute path of the record store.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._records.schema import ARCHES, FAMILIES
from ansible_collections.baremetal.provision.plugins.module_utils._runner.records import (
    edit_argument_spec,
    simple_record_module,
)

FIELDS = ("description", "family", "arch", "os_version", "kernel", "initrd", "install_tree")


SPEC = dict(
    argument_spec=edit_argument_spec(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        family=dict(type="str", choices=list(FAMILIES)),
        arch=dict(type="str", choices=list(ARCHES)),
        os_version=dict(type="str"),
        kernel=dict(type="raw"),
        initrd=dict(type="raw"),
        install_tree=dict(type="str"),
        description=dict(type="str"),
    ),
    supports_check_mode=True,
)


def run(module):
    """The module's work, given an AnsibleModule (or the action plugin's in-process stand-in)."""
    simple_record_module(module, "distros", FIELDS)


def main():
    run(AnsibleModule(**SPEC))


if __name__ == "__main__":
    main()
