# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wait for a system's install, reporting each stage as its provisioner sees it.

Runs on the controller, its task delegated to the provisioner: every ``delay`` seconds it runs
install_progress there (ActionBase._execute_module, the way action plugins run modules) and
prints each stage that is new, until the callback of the generation or the timeout."""

from __future__ import annotations

import time

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.progress import (
    DEFAULT_ACCESS_LOG,
    DEFAULT_DHCP_UNITS,
    DEFAULT_TFTP_UNITS,
    describe,
    stuck_message,
)

display = Display()

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    generation=dict(type="int", required=True),
    macs=dict(type="list", elements="str"),
    ip=dict(type="str"),
    since=dict(type="float"),
    since_what=dict(type="str", default="power-on"),
    timeout=dict(type="int", default=1800),
    delay=dict(type="float", default=2.0),
    state_dir=dict(type="path", default="/var/lib/baremetal-provision"),
    access_log=dict(type="str", default=DEFAULT_ACCESS_LOG),
    dhcp_unit=dict(type="list", elements="str", default=list(DEFAULT_DHCP_UNITS)),
    tftp_unit=dict(type="list", elements="str", default=list(DEFAULT_TFTP_UNITS)),
)
MODULE = "baremetal.provision.install_progress"
# A provisioner whose clock is further than this from the controller's: its times are corrected.
CLOCK_SKEW = 1.0


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if args["timeout"] < 0 or args["delay"] <= 0:
            return dict(result, failed=True, msg="timeout must be 0 or more and delay more than 0 seconds")
        if self._task.check_mode:
            return dict(result, changed=False, skipped=True, msg="not waited for in check mode")
        name = args["name"]
        since = args["since"] if args["since"] is not None else time.time()
        deadline = time.monotonic() + args["timeout"]
        module_args = {
            key: args[key]
            for key in ("name", "generation", "macs", "ip", "state_dir", "access_log", "dhcp_unit", "tftp_unit")
            if args[key] is not None
        }
        module_args["since"] = since
        shown = set()
        polls = 0
        progress = {}
        problem = None
        offset = None
        while True:
            asked = time.time()
            answer = self._execute_module(module_name=MODULE, module_args=dict(module_args), task_vars=task_vars)
            answered = time.time()
            polls += 1
            if answer.get("failed") or answer.get("unreachable"):
                problem = answer.get("msg") or "install_progress failed"
                if polls == 1:
                    # a wrong option or a provisioner that is not there: say so now, not after the timeout
                    return dict(result, failed=True, changed=False, msg="%s: %s" % (name, problem))
                display.warning("%s: could not ask the provisioner (will ask again): %s" % (name, problem))
            else:
                if offset is None:
                    offset = _clock_offset(answer, asked, answered)
                    if offset:
                        # the provisioner's clock is not the controller's: ask again from its own moment
                        module_args["since"] = since + offset
                        continue
                progress = answer
                start = module_args["since"]
                for stage in answer.get("stages") or []:
                    if stage["stage"] not in shown:
                        shown.add(stage["stage"])
                        display.display("%s: %s" % (name, describe(stage, start, args["since_what"])))
                last = answer.get("last_stage") or {}
                if last.get("stage") == "callback":
                    return dict(
                        result,
                        changed=False,
                        stages=answer["stages"],
                        last_stage=last,
                        seconds=round(last["time"] - start, 1),
                        sources=answer.get("sources") or [],
                    )
            left = deadline - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(args["delay"], left))
        stages = progress.get("stages") or []
        msg = stuck_message(name, stages, module_args["since"], args["timeout"], args["since_what"])
        skipped = [s for s in progress.get("sources") or [] if not s.get("read")]
        if skipped:
            msg += "; not read: " + "; ".join("%s (%s: %s)" % (s["name"], s["where"], s.get("reason")) for s in skipped)
        if problem and not progress:
            msg += "; the provisioner could not be asked: %s" % problem
        return dict(
            result,
            failed=True,
            changed=False,
            msg=msg,
            stages=stages,
            last_stage=progress.get("last_stage"),
            sources=progress.get("sources") or [],
        )


def _clock_offset(answer, asked, answered):
    """The provisioner's clock minus the controller's, from the answer's ``now``; 0.0 when the clocks
    agree within CLOCK_SKEW. The module read its clock somewhere between asked and answered, so a
    slow round trip (a busy controller, a slow link) is no skew: only a ``now`` outside it is."""
    try:
        now = float(answer["now"])
    except (KeyError, TypeError, ValueError):
        return 0.0
    if asked - CLOCK_SKEW <= now <= answered + CLOCK_SKEW:
        return 0.0
    return now - (asked + answered) / 2.0
