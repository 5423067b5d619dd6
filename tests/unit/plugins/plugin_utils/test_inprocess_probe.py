# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The in-process run decides once whether this ansible-core gives what it needs, and otherwise
hands every task to the module (tests/integration/test_inprocess.py compares the two ways)."""

import types

import pytest
from ansible.module_utils.common import arg_spec

from ansible_collections.baremetal.provision.plugins.plugin_utils import _inprocess


def _action(transport="local", become=False, environment=None, async_val=0):
    return types.SimpleNamespace(
        _connection=types.SimpleNamespace(transport=transport),
        _play_context=types.SimpleNamespace(become=become),
        _task=types.SimpleNamespace(environment=environment, async_val=async_val),
    )


def test_the_fast_path_is_ready_on_this_ansible_core(monkeypatch):
    monkeypatch.setattr(_inprocess, "_READY", [])
    assert _inprocess.fast_path_ready()  # else the comparison tests would compare the module with itself
    assert _inprocess.runs_here(_action())
    for other in (
        _action(transport="ssh"),
        _action(become=True),
        _action(environment=[{"X": "1"}]),
        _action(async_val=10),
    ):
        assert not _inprocess.runs_here(other)


def test_a_validator_without_what_the_run_needs_hands_the_task_to_the_module(monkeypatch):
    class Result(object):  # a validator result of another shape: no no_log values, warnings, deprecations
        validated_parameters = {}
        error_messages = []

    class Validator(object):
        def __init__(self, *args, **kwargs):
            pass

        def validate(self, params):
            return Result()

    monkeypatch.setattr(_inprocess, "ArgumentSpecValidator", Validator)
    monkeypatch.setattr(_inprocess, "_READY", [])
    assert not _inprocess.fast_path_ready()
    assert not _inprocess.runs_here(_action())
    monkeypatch.setattr(_inprocess, "ArgumentSpecValidator", arg_spec.ArgumentSpecValidator)
    monkeypatch.setattr(_inprocess, "_READY", [])
    assert _inprocess.fast_path_ready()


def test_a_crash_in_process_is_a_failure_with_its_traceback(monkeypatch):
    action = types.SimpleNamespace(
        _task=types.SimpleNamespace(check_mode=False, diff=False), _display=types.SimpleNamespace(verbosity=0)
    )

    def work(module):
        raise KeyError("config")

    result = _inprocess.run_in_process(action, "system_info", {"name": "web01"}, work)
    assert result["failed"] and result["msg"] == "MODULE FAILURE: KeyError: 'config'"
    assert "Traceback" in result["exception"] and "raise KeyError" in result["exception"]


def test_warnings_deprecations_and_invocation_are_reported_as_a_module_reports_them():
    spec = {"argument_spec": {"name": {"type": "str"}, "token": {"type": "str", "no_log": True}}}
    module = _inprocess.InProcessModule(
        "baremetal.provision.x", spec, {"name": "a", "token": "t0ps3cret"}, check_mode=False, diff=False
    )
    module.warn("careful")
    module.deprecate("old way", version="2.0.0", collection_name="baremetal.provision")
    with pytest.raises(_inprocess.ModuleExit) as done:
        module.exit_json(changed=False, echoed="t0ps3cret")
    result = done.value.result
    assert result["warnings"] == ["careful"]
    assert result["deprecations"] == [{"msg": "old way", "version": "2.0.0", "collection_name": "baremetal.provision"}]
    assert result["invocation"] == {"module_args": {"name": "a", "token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}}
    assert result["echoed"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"  # a no_log value anywhere in the result
