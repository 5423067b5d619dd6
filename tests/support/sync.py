# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options of a provisioner sync's TFTP or web step, in folders under one base, for tests that
call the sync directly."""

import os
import shutil

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import netboot as N


def sync_options(base, component, **more):
    """tftp or web options under base (its trees, nginx folder, state and callback folders)."""
    state = os.path.join(base, "state")
    if component == "tftp":
        return dict({"root": os.path.join(base, "tftp"), "state_dir": state}, **more)
    return dict(
        {
            "root": os.path.join(base, "www"),
            "conf_dir": os.path.join(base, "nginx"),
            "state_dir": state,
            "callback_dir": os.path.join(base, "cb"),
            "secrets": {"note": "n1"},
        },
        **more,
    )


def copy_netboot_state(source, target):
    """Give the state folder target the secret and the completed installs of source (those it has),
    so that a sync there renders what a sync in source renders."""
    os.makedirs(target, exist_ok=True)
    for name in (N.SECRET, N.COMPLETED):
        if os.path.exists(os.path.join(source, name)):
            shutil.copyfile(os.path.join(source, name), os.path.join(target, name))
