#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: profile
short_description: Manage an install profile and its template
version_added: 0.1.0
description:
  - Creates, updates or removes a profile record, C(<records_dir>/profiles/<name>.yml), and the
    install template it uses, C(<records_dir>/templates/<template>).
  - A profile joins a distro to a kickstart, preseed or autoinstall Jinja2 template, with kernel
    options, a default boot loader and template variables. Options not given keep their value.
options:
  name:
    description: The profile's name, an RFC 1123 DNS name; also its file name.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the record; V(absent) removes it (the template file stays).
      - Removing a profile that tiers or systems still use is refused, naming them.
    type: str
    choices: [present, absent]
    default: present
  distro:
    description: The distro this profile installs. Required when creating.
    type: str
  template:
    description:
      - The file name of the install template in C(templates/). Required when creating, unless
        O(template_src) is given (its base name is then used).
    type: str
  template_src:
    description:
      - A Jinja2 template file on the host running the module, copied into C(templates/).
    type: path
  template_content:
    description: The template's text, written into C(templates/).
    type: str
  format:
    description: The install config format; by default it follows the distro's family.
    type: str
    choices: [kickstart, preseed, autoinstall, autoyast]
  boot_loader:
    description: Default boot loader for systems with this profile.
    type: str
    choices: [auto, pxelinux, grub, ipxe]
  secure_boot:
    description: Boot UEFI machines through shim (Secure Boot).
    type: bool
  kernel_options:
    description: Kernel options for the installer (a mapping or a string).
    type: raw
  vars:
    description: Template variables.
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
- name: Rocky 9 web profile with its kickstart template
  baremetal.provision.profile:
    name: rocky9-web
    distro: rocky9
    template_src: files/rocky9-web.ks.j2
    kernel_options:
      console: ttyS0,115200n8
      inst.text:
    vars:
      timezone: UTC
  delegate_to: localhost
"""

RETURN = r"""
record:
  description: The profile record as written (null after removal).
  returned: success
  type: dict
  sample: {"distro": "rocky9", "template": "rocky9-web.ks.j2"}
files:
  description: Files written or removed (or that would be in check mode), relative to O(records_dir).
  returned: success
  type: list
  elements: str
  sample: [profiles/rocky9-web.yml, templates/rocky9-web.ks.j2]
records_dir:
  description: The absolute path of the record store.
  returned: success
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as _editors
from ansible_collections.baremetal.provision.plugins.module_utils._records.schema import INSTALL_FORMATS
from ansible_collections.baremetal.provision.plugins.module_utils._runner.records import (
    edit_argument_spec,
    inherited_argument_spec,
    record_summary,
    run_edit,
)

FIELDS = (
    "description",
    "distro",
    "template",
    "format",
    "boot_loader",
    "secure_boot",
    "kernel_options",
    "installed_kernel_options",
    "vars",
)


SPEC = dict(
    argument_spec=edit_argument_spec(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        distro=dict(type="str"),
        template=dict(type="str"),
        template_src=dict(type="path"),
        template_content=dict(type="str"),
        format=dict(type="str", choices=list(INSTALL_FORMATS)),
        secure_boot=dict(type="bool"),
        **inherited_argument_spec(),
        description=dict(type="str"),
    ),
    mutually_exclusive=[("template_src", "template_content")],
    supports_check_mode=True,
)


def run(module):
    """The module's work, given an AnsibleModule (or the action plugin's in-process stand-in)."""
    params = module.params
    name = params["name"]
    content = params["template_content"]
    if params["template_src"]:
        if not params["template"]:
            params["template"] = os.path.basename(params["template_src"])
        try:
            with open(params["template_src"], "r", encoding="utf-8") as handle:
                content = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            module.fail_json(
                msg="profiles/%s.yml: template_src: cannot read %s: %s" % (name, params["template_src"], exc)
            )

    def edit(txn):
        if params["state"] == "absent":
            return {"record": None, "previous": _editors.remove_record(txn, "profiles", name)}
        if content is not None:
            template = params["template"] or (_editors.current_field(txn.store, "profiles", name, "template"))
            if not template:
                module.fail_json(msg="profiles/%s.yml: template: name the template file (template=...)" % name)
            params["template"] = template
            _editors.put_template(txn, "profiles", name, template, content)
        return {"record": _editors.set_fields(txn, "profiles", name, {f: params.get(f) for f in FIELDS})}

    run_edit(module, edit, summary=lambda facts: record_summary("profiles", params))


def main():
    run(AnsibleModule(**SPEC))


if __name__ == "__main__":
    main()
