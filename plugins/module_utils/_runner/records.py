# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The glue between AnsibleModule and the store: common options, one transaction per run,
check mode, diff mode, and one place where domain errors become fail_json.
"""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as _editors
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.gitstore import (
    PushRejected,
    RecordChange,
    git_argument_spec,
)
from ansible_collections.baremetal.provision.plugins.module_utils._records.schema import BMC_TYPES, BOOT_LOADERS
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import default_root
from ansible_collections.baremetal.provision.plugins.module_utils._records.transaction import Transaction, load_snapshot
from ansible_collections.baremetal.provision.plugins.module_utils._records.yamlio import HAS_YAML, YAML_IMPORT_ERROR
from ansible_collections.baremetal.provision.plugins.module_utils._runner.collector import gc_paused
from ansible_collections.baremetal.provision.plugins.module_utils._views.cache import warm

MAX_WARNINGS = 20


def records_argument_spec(**extra):
    """Options every record module takes, plus the module's own."""
    spec = dict(
        records_dir=dict(type="path"),
        lock_timeout=dict(type="float", default=120.0),
    )
    spec.update(extra)
    return spec


def edit_argument_spec(**extra):
    """Options every module that edits records takes: the common ones, ``git``, the module's own."""
    spec = records_argument_spec(**extra)
    spec.update(git_argument_spec())
    return spec


def inherited_argument_spec():
    """The options of every layer a system inherits from (segment, tier, profile) and of the system
    itself: the same fields with the same values, the choices those of the store's schema."""
    return dict(
        boot_loader=dict(type="str", choices=list(BOOT_LOADERS)),
        kernel_options=dict(type="raw"),
        installed_kernel_options=dict(type="raw"),
        vars=dict(type="dict"),
    )


def system_argument_spec():
    """The options that describe one system's record, as the system module takes them and each item
    of the systems module: the same fields with the same types (defaults are the module's own)."""
    return dict(
        tier=dict(type="str"),
        hardware_model=dict(type="str"),
        profile=dict(type="str"),
        interfaces=dict(
            type="list",
            elements="dict",
            options=dict(
                name=dict(type="str", required=True),
                mac=dict(type="str", required=True),
                ip=dict(type="str"),
                ipv6=dict(type="str"),
                primary=dict(type="bool"),
                segment=dict(type="str"),
            ),
        ),
        mac=dict(type="str"),
        ip=dict(type="str"),
        ipv6=dict(type="str"),
        **inherited_argument_spec(),
        bmc=dict(
            type="dict",
            options=dict(
                type=dict(type="str", choices=list(BMC_TYPES), required=True),
                address=dict(type="str", required=True),
                port=dict(type="int"),
                username=dict(type="str"),
                password_var=dict(type="str", no_log=False),
            ),
        ),
        description=dict(type="str"),
    )


def _fail(module, exc):
    module.fail_json(msg=exc.message, problems=[p.as_dict() for p in exc.problems])


def _plain(value):
    """Turn FlowMap/FlowList (dict/list subclasses) into plain types for the JSON result."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def run_edit(module, edit, summary, refresh_caches=False, explain_retry=None, branch=None):
    """Run edit(txn) in one locked transaction, record it in git, and exit the module with the outcome.

    edit returns a dict of facts for the result (its ``warnings``, a list of sentences, are shown as
    the module's warnings). changed is true exactly when a file's bytes
    would change; diff holds the YAML of every file before and after. refresh_caches: after a
    change, leave the inventory's and the touched provisioners' views cached (``_views.cache``).

    With the ``git`` option, the written files are committed (and pushed) under the lock before
    the module returns (``_records.gitstore``); summary(facts) is the commit's subject (for a plain
    record, ``record_summary``). A push that lost to another run's is undone, and edit runs again
    on the new head; when that second edit is refused, explain_retry(txn, first_facts) may name
    what the other run changed (returns a sentence or None). branch: commit on that new branch
    (for a pull request) and leave the work tree and its branch as they were.
    """
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=str(YAML_IMPORT_ERROR))
    refresh_caches = refresh_caches and not module.check_mode
    first_facts = None
    try:
        root = default_root(module.params.get("records_dir"))
        change = RecordChange(root, None if module.check_mode else module.params.get("git"), branch=branch)
        for attempt in change.attempts():
            transaction = Transaction(
                root,
                timeout=module.params["lock_timeout"],
                create=not module.check_mode,
                before_load=attempt.before_load,
            )
            try:
                with gc_paused(), transaction as txn:
                    try:
                        facts = edit(txn) or {}
                        first_facts = facts if first_facts is None else first_facts
                        pending = txn.commit(check_mode=module.check_mode)
                    except StoreError as exc:
                        _explain_retry(exc, attempt, explain_retry, txn, first_facts)
                        raise
                    message = _commit_message(module, summary, facts, pending)
                    git = attempt.record(txn, sorted(pending), message)
                    warmed = None
                    if refresh_caches and pending:
                        warmed = warm(root, txn)
                    diff = txn.diff()
                    old_problems = sorted(txn.before_problems)
            except PushRejected:
                continue
            break
        if module.check_mode and module.params.get("git"):
            git = RecordChange(root, module.params["git"], branch=branch).check_only()
    except StoreError as exc:
        _fail(module, exc)
    for problem in old_problems[:MAX_WARNINGS]:
        module.warn("the store already had this problem (not caused by this change): %s" % problem)
    if len(old_problems) > MAX_WARNINGS:
        module.warn("... and %d more existing problems" % (len(old_problems) - MAX_WARNINGS))
    for warning in facts.pop("warnings", None) or []:  # what the edit itself wants the operator to see
        module.warn(warning)
    result = dict(changed=bool(pending), files=sorted(pending), records_dir=root)
    if module.params.get("git"):
        result["git"] = git
        if git and git.get("skipped"):
            module.warn(git["skipped"])
    if warmed is not None:
        result["cached_views"] = warmed
    result.update(_plain(facts))
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


def _explain_retry(exc, attempt, explain_retry, txn, first_facts):
    """A retry's edit was refused: say that another run changed the records in between."""
    if attempt.number == 1 or first_facts is None:
        return
    detail = explain_retry(txn, first_facts) if explain_retry else None
    exc.summary = "refused after another run changed the records first (now at %s)%s; nothing was changed" % (
        (attempt.change.base or "?")[:12],
        ": " + detail if detail else "",
    )


def record_summary(kind, params):
    """The commit subject of a plain record edit: what was done to which record."""
    if params.get("state") == "absent":
        return "remove %s %s" % (kind[:-1], params["name"])
    moves = ["add %s" % ", ".join(m["mac"] for m in params.get("add") or [])] if params.get("add") else []
    moves += ["remove %s" % ", ".join(params.get("remove"))] if params.get("remove") else []
    return "%s %s: %s" % (kind[:-1], params["name"], "; ".join(moves) if moves else "update")


def _commit_message(module, summary, facts, pending):
    subject = summary(facts)
    lines = [subject, ""]
    note = (module.params.get("git") or {}).get("body")
    if note:
        lines += [note, ""]
    lines += ["Files:"] + ["  " + path for path in sorted(pending)]
    return "\n".join(lines) + "\n"


def run_read(module, read):
    """Run read(store) on a consistent snapshot and exit with its facts (never changed)."""
    if not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML"), exception=str(YAML_IMPORT_ERROR))
    try:
        root = default_root(module.params.get("records_dir"))
        with gc_paused():
            store = load_snapshot(root, timeout=module.params["lock_timeout"])
            facts = read(store)
    except StoreError as exc:
        _fail(module, exc)
    for warning in facts.pop("warnings", None) or []:
        module.warn(warning)
    result = dict(changed=False, records_dir=root)
    result.update(_plain(facts))
    module.exit_json(**result)


def simple_record_module(module, kind, fields):
    """The whole body of a module whose record is a flat set of options (segment, tier, ...)."""
    name = module.params["name"]

    def edit(txn):
        if module.params["state"] == "absent":
            before = _editors.remove_record(txn, kind, name)
            return {"record": None, "previous": before}
        values = {field: module.params.get(field) for field in fields}
        return {"record": _editors.set_fields(txn, kind, name, values)}

    run_edit(module, edit, summary=lambda facts: record_summary(kind, module.params))
