# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

A list of systems replaced, provisioned or retired as one change: every item goes through the
system module's own editors (``editors.edit_system``, ``editors.retire_system``) in one
transaction, so the store is validated once, the change is one commit, and the provisioners
render once. A refusal lists every item's problems and writes nothing; with ``partial``, the
items that keep the store valid are applied and the others reported (and undone in the
transaction before the commit).
"""

from __future__ import annotations

from ansible_collections.baremetal.provision.plugins.module_utils._records import editors as _editors
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import Problem, StoreError
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import record_path, split_record_path

ACTIONS = ("replace", "provision", "retire")

# The fields an item may carry for each action: what the system module takes for it.
FIELDS = {
    "replace": ("name", "mac", "from_pool"),
    "provision": (
        "name",
        "tier",
        "hardware_model",
        "profile",
        "interfaces",
        "mac",
        "ip",
        "ipv6",
        "interface_name",
        "from_pool",
        "reinstall",
        "boot_loader",
        "kernel_options",
        "installed_kernel_options",
        "vars",
        "bmc",
        "description",
    ),
    "retire": ("name", "to_pool"),
}
# names in a commit subject before "(+N)"
SUBJECT_NAMES = 3


def _system_params(action, item):
    """The system module's options for one item (what edit_system and describe_system_change read)."""
    params = dict.fromkeys(FIELDS["provision"])
    params.update({k: v for k, v in item.items() if v is not None})
    params["interface_name"] = params["interface_name"] or "eth0"
    params["reinstall"] = bool(params["reinstall"])
    if params.get("bmc"):
        params["bmc"] = {k: v for k, v in params["bmc"].items() if v is not None}
    params["state"] = "absent" if action == "retire" else "present"
    # a replacement or a re-install needs the record: a mistyped name is an error, not a new system
    params["must_exist"] = action == "replace" or params["reinstall"]
    params["to_pool"] = item.get("to_pool")
    return params


class BulkChange(object):
    """One run of the systems module: check(), then edit(txn) in run_edit's transaction,
    summary(facts) for the commit, explain_retry for a push that lost to another run's.

    provisioners_of(store, records): the provisioners serving those system and pool Records (None
    for an absent one); the views' own definition (``_views.cache``), passed in by the module:
    this package does not import the views."""

    def __init__(self, action, items, partial=False, provisioners_of=None):
        if action not in ACTIONS:
            raise ValueError("action must be one of %s" % ", ".join(ACTIONS))
        self.action = action
        self.items = [{k: v for k, v in dict(item).items() if v is not None} for item in items]
        self.partial = partial
        self.provisioners_of = provisioners_of
        self.results = None  # per item, once edit() ran (also for a refusal)

    # ------------------------------------------------------------------ before the store
    def check(self):
        """Problems of the list itself (no store needed): duplicates, fields the action does not
        take, a replacement without exactly one of mac and from_pool. Each names the item's record."""
        problems = []
        seen = {}
        for index, item in enumerate(self.items):
            seen.setdefault(item.get("name"), []).append(index)
        for name, indexes in sorted(seen.items(), key=lambda pair: pair[1][0]):
            if len(indexes) > 1:
                problems.append(
                    Problem(
                        record_path("systems", name),
                        "name",
                        "listed %d times (items %s): a list changes each system once"
                        % (len(indexes), ", ".join("%d" % i for i in indexes)),
                    )
                )
        allowed = FIELDS[self.action]
        for item in self.items:
            path = record_path("systems", item.get("name"))
            for field in sorted(set(item) - set(allowed)):
                problems.append(
                    Problem(path, field, "not an option of %s (it takes %s)" % (self.action, ", ".join(allowed)))
                )
            if self.action == "replace" and ("mac" in item) == ("from_pool" in item):
                problems.append(Problem(path, "mac", "a replacement takes exactly one of mac or from_pool"))
        return problems

    # ------------------------------------------------------------------ in the transaction
    def edit(self, txn):
        """Apply every item; refuse the whole change (StoreError listing every item's problems),
        or with partial, keep the valid items and report the others. Returns the facts."""
        problems = self.check()
        if problems:
            self.results = None
            raise StoreError(problems, summary="refused, nothing was written: the list has problems")
        self.results = [self._result(item) for item in self.items]
        for item, result in zip(self.items, self.results):
            self._apply(txn, item, result)
        if not self.partial:
            unowned = self._attribute(txn.new_problems())
            refused = [r for r in self.results if r["problems"]]
            if refused or unowned:
                raise StoreError(
                    [p for r in refused for p in r["_problems"]] + unowned,
                    summary="refused, nothing was written: %s" % self._refusal(refused, unowned),
                )
        return self._facts()

    @staticmethod
    def _result(item):
        return {
            "name": item.get("name"),
            "status": None,
            "change": None,
            "created": False,
            "old_mac": None,
            "new_mac": None,
            "generation": None,
            "pool_spare": None,
            "provisioners": [],
            "problems": [],
            "_paths": [],
            "_problems": [],
            "_facts": None,
        }

    def _apply(self, txn, item, result):
        """One item through the editors; undone when refused (or, with partial, when it adds a problem)."""
        params = _system_params(self.action, item)
        name = params["name"]
        paths = [record_path("systems", name)]
        paths += [record_path("pools", params[key]) for key in ("from_pool", "to_pool") if params.get(key)]
        result["_paths"] = paths
        saved = _save(txn.store, paths)
        point = txn.savepoint()
        provisioners = set(self._provisioners(txn.store, [record for _k, _n, record in saved.values()]))
        try:
            if params["state"] == "absent":
                if not txn.store.exists("systems", name):
                    raise StoreError(
                        Problem(paths[0], "name", "no system %r: there is no file %s to retire" % (name, paths[0])),
                        summary="refused, nothing was written",
                    )
                facts = {"previous": _editors.retire_system(txn, name, params["to_pool"])}
            else:
                facts = _editors.edit_system(txn, name, params)
        except StoreError as exc:
            txn.restore(point)
            self._refuse(result, exc.problems)
            return
        if self.partial:
            problems = txn.new_problems()
            if problems:
                txn.restore(point)
                self._refuse(result, problems)
                return
        provisioners.update(self._provisioners(txn.store, [txn.store.records[k].get(n) for k, n, _r in saved.values()]))
        replaced = facts.get("replaced") or {}
        result.update(
            status="applied",
            change=_editors.describe_system_change(name, params, facts),
            created=bool(facts.get("created")),
            old_mac=replaced.get("old_mac"),
            new_mac=replaced.get("new_mac"),
            generation=facts.get("generation"),
            pool_spare=facts.get("pool_spare"),
            provisioners=sorted(provisioners),
            _facts=facts,
        )

    def _provisioners(self, store, records):
        """The provisioners serving these records; a record the store cannot resolve serves none."""
        if self.provisioners_of is None:
            return []
        try:
            return self.provisioners_of(store, records)
        except (KeyError, TypeError, ValueError, StoreError):
            return []

    @staticmethod
    def _refuse(result, problems):
        result.update(status="refused", _problems=list(problems), problems=[p.as_dict() for p in problems])

    def _attribute(self, problems):
        """Give each new problem to the items it is about: the item whose record it names, else the
        items its message names, else the items that changed the record it names (a pool). Returns
        the problems that name no item."""
        own = {record_path("systems", item["name"]): result for item, result in zip(self.items, self.results)}
        unowned = []
        for problem in problems:
            owners = [own[problem.path]] if problem.path in own else []
            owners = owners or [r for path, r in own.items() if path in problem.message]
            owners = owners or [r for r in self.results if problem.path in r["_paths"]]
            if not owners:
                unowned.append(problem)
            for result in owners:
                told = problem
                if len(self.items) > 1 and problem.path != record_path("systems", result["name"]):
                    told = Problem(problem.path, problem.field, "%s (item %s)" % (problem.message, result["name"]))
                self._refuse(result, result["_problems"] + [told])
        return unowned

    def _refusal(self, refused, unowned):
        if len(self.items) == 1:
            return "the change has problems"
        what = "%d of %d items have problems (%s)" % (
            len(refused),
            len(self.items),
            ", ".join(r["name"] for r in refused),
        )
        return what + ("; and problems that name no item" if unowned else "")

    def _facts(self):
        applied = [r for r in self.results if r["status"] == "applied"]
        refused = [r for r in self.results if r["status"] == "refused"]
        warnings = []
        for result in applied:
            warnings += result["_facts"].get("warnings") or []
        for result in refused:
            warnings.append(
                "%s not applied (partial): %s" % (result["name"], "; ".join(str(p) for p in result["_problems"]))
            )
        return {
            "action": self.action,
            "items": self.public_results(),
            "applied": [r["name"] for r in applied],
            "refused": [r["name"] for r in refused],
            "provisioners": sorted({p for r in applied for p in r["provisioners"]}),
            "systems": [r["_facts"]["system"] for r in applied if r["_facts"].get("system") is not None],
            "warnings": warnings,
        }

    def public_results(self):
        """The per-item results, without the bookkeeping (None before edit() ran)."""
        if self.results is None:
            return None
        return [{k: v for k, v in r.items() if not k.startswith("_")} for r in self.results]

    # ------------------------------------------------------------------ the commit
    def summary(self, facts):
        """The commit message: a subject that sums the change up, every item in the body. A list of
        one is committed as the system module commits it."""
        applied = [r for r in self.results if r["status"] == "applied"]
        if len(self.items) == 1 and applied:
            return applied[0]["change"]
        names = [r["name"] for r in applied]
        shown = ", ".join(names[:SUBJECT_NAMES]) + (
            " (+%d)" % (len(names) - SUBJECT_NAMES) if len(names) > SUBJECT_NAMES else ""
        )
        subject = "%s %d system%s: %s" % (self.action, len(names), "" if len(names) == 1 else "s", shown)
        body = [r["change"] for r in applied]
        body += [
            "not applied: %s (%s)" % (r["name"], "; ".join(str(p) for p in r["_problems"]))
            for r in self.results
            if r["status"] == "refused"
        ]
        return "\n".join([subject, "", *body])

    def explain_retry(self, txn, first_facts):
        """After another run changed the records first: who now has the hardware this run had chosen."""
        lines = []
        for result in first_facts.get("items") or []:
            if result.get("status") != "applied":
                continue
            facts = {"pool_spare": result.get("pool_spare"), "replaced": None}
            if result.get("new_mac"):
                facts["replaced"] = {"old_mac": result.get("old_mac"), "new_mac": result["new_mac"]}
            line = _editors.explain_lost_hardware(txn.store, result["name"], facts)
            if line:
                lines.append(line)
        return "; ".join(lines) or None


def _save(store, paths):
    """The records at paths as they are now: {path: (kind, name, Record or None)}."""
    saved = {}
    for path in paths:
        kind, name = split_record_path(path)
        saved[path] = (kind, name, store.records[kind].get(name))
    return saved


class RefusalOutcome(object):
    """run_edit's module, with the outcome of a bulk change: a refusal carries every item's result;
    with partial, a change that left items out is a failure too (after its commit), so a run that
    did not do all it was asked never reads as success. The rest is the module itself."""

    def __init__(self, module, change):
        self._module = module
        self._change = change

    def __getattr__(self, name):
        return getattr(self._module, name)

    def exit_json(self, **result):
        refused = result.get("refused") or []
        if refused:
            self._module.fail_json(
                msg="%d of %d items were not applied (%s); the other %d were applied%s"
                % (
                    len(refused),
                    len(result.get("items") or []),
                    ", ".join(refused),
                    len(result.get("applied") or []),
                    " and committed" if (result.get("git") or {}).get("commit") else "",
                ),
                **result,
            )
        self._module.exit_json(**result)

    def fail_json(self, msg, **result):
        if "items" not in result and self._change.results is not None:
            result["items"] = self._change.public_results()
        self._module.fail_json(msg=msg, **result)
