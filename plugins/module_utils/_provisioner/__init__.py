# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The provisioner side, shipped to the provisioning server: the tree sync, the netboot state,
the renderers, the Kea client and the sync itself. Standard library only (jinja2 for install
configs); imports inside the package are relative, so the callback service can install
``atomic``, ``netboot``, ``render_boot`` and ``tree_sync`` as a package of its own.
"""
