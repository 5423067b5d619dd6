# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The Ansible glue of the modules: one transaction per record module run, the provisioner_sync
module's run, and the garbage-collector pauses of bulk steps.
"""
