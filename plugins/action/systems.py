# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The systems module, run in the controller's worker process when its task runs on the controller."""

from __future__ import annotations

from ansible_collections.baremetal.provision.plugins.plugin_utils._inprocess import RecordModuleAction


class ActionModule(RecordModuleAction):
    MODULE = "systems"
