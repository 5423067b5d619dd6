# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Out-of-band access to machines through their BMC: a small Redfish client that reads a system into
a discovery report and sets a one-time network boot and a reset. Standard library and
ansible.module_utils only (it runs wherever the module runs).
"""
