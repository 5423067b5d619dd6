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
spec, its code and its result are the same either way: the argument spec is validated by
ansible-core's public ArgumentSpecValidator, as AnsibleModule does, no_log values are masked the
same way, warnings, deprecations and the invocation are reported as a module reports them, a crash
becomes a failure with its traceback, and check and diff mode come from the task. One part is not
public API: the validation result's ``_no_log_values``, ``_warnings`` and ``_deprecations``, which
``fast_path_ready`` probes once per process; where this ansible-core's validator does not give
what the run needs, the task runs as the module instead (docs/performance.md lists every private
name the collection uses and its guard).
"""

from __future__ import annotations

import gc
import importlib
import json
import sys
import traceback

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase

from ansible_collections.baremetal.provision.plugins.plugin_utils._data import ANSIBLE_LINE, as_data


class ModuleExit(Exception):
    """exit_json or fail_json of an in-process module: carries the result."""

    def __init__(self, result):
        super(ModuleExit, self).__init__(result.get("msg", ""))
        self.result = result


class InProcessModule(object):
    """What the record modules use of AnsibleModule: params, check_mode, _diff, warn, deprecate,
    exit_json and fail_json, with the results AnsibleModule gives (invocation, warnings,
    deprecations, no_log values masked)."""

    def __init__(self, name, spec, args, check_mode, diff, verbosity=0):
        kwargs = {k: v for k, v in spec.items() if k not in ("argument_spec", "supports_check_mode")}
        validation = ArgumentSpecValidator(spec["argument_spec"], **kwargs).validate(args)
        self._no_log_values = validation._no_log_values
        self.params = validation.validated_parameters
        self.check_mode = check_mode
        self._diff = diff
        self._verbosity = verbosity
        self._warnings = []
        self._deprecations = []
        # what ModuleArgumentSpecValidator reports through AnsibleModule's global lists
        for alias in validation._deprecations:
            self.deprecate(
                alias.get("msg")
                or "Alias '%s' is deprecated. See the module docs for more information" % alias.get("name"),
                version=alias.get("version"),
                date=alias.get("date"),
                collection_name=alias.get("collection_name"),
            )
        for both in validation._warnings:
            self.warn("Both option %s and its alias %s are set." % (both["option"], both["alias"]))
        if validation.error_messages:  # worded as AnsibleModule words it
            msg = validation.errors.msg
            if isinstance(validation.errors[0], UnsupportedError):
                msg = "Unsupported parameters for (%s) module: %s" % (name, msg)
            self.fail_json(msg=msg)

    def warn(self, warning):
        self._warnings.append(warning)

    def deprecate(self, msg, version=None, date=None, collection_name=None):
        entry = {"msg": msg, "collection_name": collection_name}
        entry.update({"date": date} if date is not None else {"version": version})
        self._deprecations.append(entry)

    def exit_json(self, **result):
        result.setdefault("invocation", {"module_args": self.params})
        if self._warnings:
            result["warnings"] = list(self._warnings)
        if self._deprecations:
            result["deprecations"] = list(self._deprecations)
        raise ModuleExit(remove_values(result, self._no_log_values))

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        # AnsibleModule before ansible-core 2.19 adds the traceback of the exception being handled at -vvv
        if ANSIBLE_LINE < (2, 19) and "exception" not in result and sys.exc_info()[2] and self._verbosity >= 3:
            result["exception"] = "".join(traceback.format_tb(sys.exc_info()[2]))
        self.exit_json(**result)


def _probe_validator():
    """Whether this ansible-core's ArgumentSpecValidator gives what InProcessModule reads (its
    result's no_log values, warnings and deprecations); checked once per process."""
    try:
        spec = {"secret": {"type": "str", "no_log": True}, "name": {"type": "str", "aliases": ["other"]}}
        validation = ArgumentSpecValidator(spec).validate({"secret": "s3cret-probe", "name": "a", "other": "b"})
        return (
            "s3cret-probe" in validation._no_log_values
            and isinstance(validation._deprecations, list)
            and [(w["option"], w["alias"]) for w in validation._warnings] == [("name", "other")]
            and validation.validated_parameters["secret"] == "s3cret-probe"
            and not validation.error_messages
        )
    except Exception:  # pylint: disable=broad-except
        return False


_READY = []


def fast_path_ready():
    """Whether a module can run in this process with the results it gives as a module."""
    if not _READY:
        _READY.append(_probe_validator())
    return _READY[0]


def runs_here(action):
    """Whether an action plugin's task can run in this very process: connection local, no
    become, no task environment, not async, and an ansible-core whose argument validator gives
    what the in-process run needs (else the task runs as the module, as on any other host)."""
    return (
        action._connection.transport == "local"
        and not action._play_context.become
        and not any(action._task.environment or ())
        and not action._task.async_val
        and fast_path_ready()
    )


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
        module = InProcessModule(
            name,
            spec,
            args,
            check_mode=bool(action._task.check_mode),
            diff=bool(action._task.diff),
            verbosity=action._display.verbosity,
        )
        work(module)
    except ModuleExit as done:
        module_result = done.result
    except Exception as exc:  # pylint: disable=broad-except  # a crash, as a module's traceback would report it
        module_result = dict(
            failed=True, msg="MODULE FAILURE: %s: %s" % (type(exc).__name__, exc), exception=traceback.format_exc()
        )
    else:
        module_result = dict(failed=True, msg="the %s module ended without a result" % name)
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
    # what a module's JSON result is once ansible-core has read it: plain values, never templates
    return as_data(json.loads(json.dumps(module_result)))


class RecordModuleAction(ActionBase):
    """Base of the record modules' action plugins. MODULE is the module's short name; its file
    defines SPEC (the AnsibleModule keyword arguments) and run(module)."""

    MODULE = None
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(RecordModuleAction, self).run(tmp, task_vars)
        if not runs_here(self):
            result.update(
                self._execute_module(
                    module_name="baremetal.provision." + self.MODULE, module_args=self._task.args, task_vars=task_vars
                )
            )
            return result

        result.update(run_in_process(self, self.MODULE, self._task.args, module_code(self.MODULE).run))
        return result
