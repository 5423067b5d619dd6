# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Record modules and provisioner_sync run where their task runs. When that is the controller itself
(connection local, no become, no task environment, not async), the module's own code runs right
here in Ansible's worker process instead of being packed into an AnsiballZ payload, copied and
started as a new Python. That saves about a second per task (the payload build, the interpreter
start and the compilation of every imported file), which is most of what a record edit costs in a
playbook, and half of a render on a provisioner that is the controller. The module's argument
spec, its code and its result are the same either way: the argument spec is validated by the
same validator AnsibleModule uses, no_log values are masked the same way, and check and diff mode
come from the task.
"""

from __future__ import annotations

import gc
import importlib
import json
import sys

from ansible.module_utils.common.arg_spec import ModuleArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase

try:
    from ansible._internal._errors import _captured
except ImportError:  # ansible-core before 2.19 takes a module's failure as it is
    _captured = None


class ModuleExit(Exception):
    """exit_json or fail_json of an in-process module: carries the result."""

    def __init__(self, result):
        super(ModuleExit, self).__init__(result.get("msg", ""))
        self.result = result


class InProcessModule(object):
    """What the record modules use of AnsibleModule: params, check_mode, _diff, warn, exit_json, fail_json."""

    def __init__(self, name, spec, args, check_mode, diff):
        kwargs = {k: v for k, v in spec.items() if k not in ("argument_spec", "supports_check_mode")}
        validation = ModuleArgumentSpecValidator(spec["argument_spec"], **kwargs).validate(args)
        self._no_log_values = validation._no_log_values
        self.params = validation.validated_parameters
        self.check_mode = check_mode
        self._diff = diff
        self._warnings = []
        if validation.error_messages:  # worded as AnsibleModule words it
            msg = validation.errors.msg
            if isinstance(validation.errors[0], UnsupportedError):
                msg = "Unsupported parameters for (%s) module: %s" % (name, msg)
            self.fail_json(msg=msg)

    def warn(self, warning):
        self._warnings.append(warning)

    def exit_json(self, **result):
        if self._warnings:
            result["warnings"] = list(self._warnings)
        raise ModuleExit(remove_values(result, self._no_log_values))

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        self.exit_json(**result)


def _inventory_views():
    """{store fingerprint: _view_cache.Held} of the inventory views the records inventory plugin
    holds in this process (the worker is a fork of the process that read the inventory). A record
    edit that refreshes the caches patches the new inventory view from the one of the store it changed."""
    plugin = sys.modules.get("ansible_collections.baremetal.provision.plugins.inventory.records")
    views = {}
    for entry in getattr(plugin, "_MEMO", {}).values():
        views.update(entry)
    return views


def runs_here(action):
    """Whether an action plugin's task runs in this very process's reach: connection local, no
    become, no task environment, not async."""
    return (action._connection.transport == "local" and not action._play_context.become
            and not any(action._task.environment or ()) and not action._task.async_val)


def module_code(short_name):
    """The Python module of one of this collection's modules (it defines SPEC and run)."""
    return importlib.import_module("ansible_collections.baremetal.provision.plugins.modules." + short_name)


def run_in_process(action, short_name, args, work):
    """Run a module's work here: ``work(module)`` with an InProcessModule built from ``args`` and
    the module's SPEC (its AnsibleModule keyword arguments). Returns the module's result as
    ansible-core would have it from the module."""
    name = "baremetal.provision." + short_name
    spec = module_code(short_name).SPEC
    # plain values, as a module gets them on its stdin (no template tags, no Ansible types)
    args = json.loads(json.dumps(args))
    # The worker process ends with its task. What the module builds (a loaded store of 10,000
    # systems is about a million objects) is frozen for the cyclic collector when it is done,
    # instead of being walked once when the collector is turned on again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        module = InProcessModule(name, spec, args, check_mode=bool(action._task.check_mode), diff=bool(action._task.diff))
        work(module)
    except ModuleExit as done:
        module_result = done.result
    else:
        module_result = dict(failed=True, msg="the %s module ended without a result" % name)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
    if _captured is not None:  # what ansible-core 2.19 does to a module's result: a failure is the module's, not the action's
        _captured.AnsibleModuleCapturedError.normalize_result_exception(module_result)
    module_result["_ansible_parsed"] = True
    return module_result


class RecordModuleAction(ActionBase):
    """Base of the record modules' action plugins. MODULE is the module's short name; its file
    defines SPEC (the AnsibleModule keyword arguments) and run(module)."""

    MODULE = None
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(RecordModuleAction, self).run(tmp, task_vars)
        if not runs_here(self):
            result.update(self._execute_module(module_name="baremetal.provision." + self.MODULE, module_args=self._task.args,
                                               task_vars=task_vars))
            return result

        def work(module):
            module.inventory_views = _inventory_views()
            module_code(self.MODULE).run(module)

        result.update(run_in_process(self, self.MODULE, self._task.args, work))
        return result
