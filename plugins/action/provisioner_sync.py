# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load the record store on the controller, then render on the provisioner (in this process when
the provisioner is the controller itself: see plugin_utils/_inprocess)."""

from __future__ import annotations

import json

from ansible.plugins.action import ActionBase

from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.gitstore import RecordsRepo
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import default_root
from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import load_snapshot
from ansible_collections.baremetal.provision.plugins.module_utils._runner.collector import gc_paused
from ansible_collections.baremetal.provision.plugins.module_utils._views.cache import view_for_render
from ansible_collections.baremetal.provision.plugins.plugin_utils._inprocess import (
    module_code,
    run_in_process,
    runs_here,
)
from ansible_collections.baremetal.provision.plugins.plugin_utils._python_floor import python_refusal

# how often a sync that met another run's render tries again before it gives up
REVISION_TRIES = 5


COMPONENTS = ("dhcp", "tftp", "web")


def spread_components(args):
    """Give the module the components as its own options (where their sub-options are checked and
    defaulted): components={dhcp: {...}} is dhcp={...}. Returns a refusal, or None."""
    components = args.pop("components", None)
    if components is None:
        return None
    if not isinstance(components, dict):
        return "components: a mapping of component (%s) to its options, got %s" % (
            ", ".join(COMPONENTS),
            type(components).__name__,
        )
    unknown = sorted(set(components) - set(COMPONENTS))
    if unknown:
        return "components: %s: not a component provisioner_sync renders (%s)" % (
            ", ".join(map(str, unknown)),
            ", ".join(COMPONENTS),
        )
    both = sorted(name for name in components if name in args)
    if both:
        return "components and %s: give each component once" % ", ".join(both)
    args.update(components)
    return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        if args.get("view_file"):
            return dict(
                result, failed=True, msg="view_file: set by this action plugin from the records; do not pass it"
            )
        spread = spread_components(args)
        if spread:
            return dict(result, failed=True, msg=spread)
        provisioner = args.get("provisioner") or task_vars.get("inventory_hostname")
        try:
            root = default_root(args.get("records_dir"))
            with gc_paused():
                view, how = view_for_render(root, provisioner, load_snapshot, args.pop("view", None))
            self._display.vvv("%s: the view of %s %s" % (provisioner, root, how))
        except StoreError as exc:
            return dict(result, failed=True, msg=exc.message, problems=[p.as_dict() for p in exc.problems])
        args["provisioner"] = provisioner
        args["records_dir"] = root
        revision = args.get("revision")
        if not revision or not revision.get("commit") or self._task.check_mode:
            return self._sync(result, args, view, task_vars)
        try:
            return self._sync_in_order(result, args, view, task_vars, revision)
        except StoreError as exc:
            return dict(result, failed=True, msg=exc.message, problems=[p.as_dict() for p in exc.problems])

    def _sync_in_order(self, result, args, view, task_vars, revision):
        """Render only records at least as new as the provisioner's (``_provisioner.revision``)."""
        repo = RecordsRepo(args["records_dir"])
        args["revision"] = dict(revision, history=repo.history(revision["commit"]))
        for _attempt in range(REVISION_TRIES):
            outcome = self._sync(dict(result), args, view, task_vars)
            conflict = (outcome.get("revision") or {}).get("conflict")
            if outcome.get("failed") or not conflict:
                return outcome
            if repo.descends_from(conflict, revision["commit"]):
                outcome["revision"]["newer"] = conflict
                outcome["msg"] = (
                    "not rendered: the provisioner has newer records (commit %s), which already hold "
                    "this change (commit %s)" % (conflict[:12], revision["commit"][:12])
                )
                return outcome
            args["revision"] = dict(args["revision"], replaces=conflict)
        return dict(
            outcome,
            failed=True,
            msg="other runs kept syncing this provisioner; run again (or run site) to bring it up to date",
        )

    def _sync(self, result, args, view, task_vars):
        if runs_here(self):  # the provisioner is this controller: the view needs no file
            result.update(
                run_in_process(
                    self, "provisioner_sync", args, lambda module: module_code("provisioner_sync").run(module, view)
                )
            )
            return result
        refusal = python_refusal(task_vars.get("ansible_facts"))
        if refusal:
            return dict(result, failed=True, msg=refusal)
        # The view (thousands of systems) goes over as one file, not as a module argument: Ansible
        # inspects every value of a module's arguments, which costs seconds at 10,000 systems.
        if self._connection._shell.tmpdir is None:
            self._make_tmp_path()
        remote = self._connection._shell.join_path(self._connection._shell.tmpdir, "baremetal-view.json")
        try:
            self._transfer_data(remote, json.dumps(view, separators=(",", ":")))
            self._fixup_perms2((self._connection._shell.tmpdir, remote))
            args["view_file"] = remote
            result.update(
                self._execute_module(
                    module_name="baremetal.provision.provisioner_sync",
                    module_args=args,
                    task_vars=task_vars,
                )
            )
        finally:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result
