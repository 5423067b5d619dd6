# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The provisioner_sync module's run: the components given, in order, with check and diff mode.
"""

from __future__ import annotations

import json

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_install as I
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import revision as R
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import tree_sync as T
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.scope import ALL
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.sync import (
    COMPONENTS,
    DEFAULT_STATE_DIR,
    SyncFailed,
    sync,
)
from ansible_collections.baremetal.provision.plugins.module_utils._runner.collector import gc_paused


def _diffs(component, options, result, before, after, more):
    """The diff of one component; more: (path, before, after) of further files (DHCPv6, radvd)."""
    if component == "dhcp":
        files = ([(options["config"], before, after)] if result["dhcp4_changed"] else []) + more
        return [
            {"before": old or "", "after": new or "", "before_header": path, "after_header": path}
            for path, old, new in files
        ]
    lines = ["+ %s: %s" % (component, p) for p in result["written"]] + [
        "- %s: %s" % (component, p) for p in result["removed"]
    ]
    return [{"prepared": "\n".join(lines) + "\n"}]


def run_module_sync(module, view=None):
    """The module side of provisioner_sync: the components given, in order, check and diff mode.
    The view is the one given (the action plugin running the module in its own process) or the
    one in the view_file the action plugin sent."""
    with gc_paused():
        _run_module_sync(module, view)


def _run_module_sync(module, view):
    params = module.params
    if view is None:
        view = _read_view_file(module)
    revision = params.get("revision")
    with R.guarded(R.state_dir_of(params, DEFAULT_STATE_DIR), revision, module.check_mode) as newer:
        if newer:  # rendered from records this sync cannot place: the controller decides
            out = dict(changed=False, components={}, revision=dict(commit=revision["commit"], conflict=newer))
        else:
            out = _sync_components(module, view)
            if revision:
                out["revision"] = dict(commit=revision["commit"], conflict=None)
    out.update(systems=len(view["systems"]), segments=sorted(view["segments"]))
    module.exit_json(**out)


def _sync_components(module, view):
    """Every component given, in order; a failure says which and what the earlier ones changed."""
    params = module.params
    components, diffs = {}, []
    for component in COMPONENTS:
        options = params.get(component)
        if options is None:
            continue
        if component != "dhcp":  # the DHCP config is rendered whole (and checked whole by the daemon)
            options = dict(options, scope=params.get("scope") or ALL)
        try:
            result = sync(component, view, options, check_mode=module.check_mode)
        except (SyncFailed, T.SyncError, I.RenderError, OSError) as exc:
            # the components before this one are done; say which failed and what they changed
            module.fail_json(msg="%s: %s" % (component, exc), component=component, components=components)
        before, after = result.pop("before", None), result.pop("after", None)
        more = result["ipv6"].pop("diffs") if component == "dhcp" else []  # the texts: diff only
        if module._diff and result["changed"]:
            diffs.extend(_diffs(component, options, result, before, after, more))
        components[component] = result
    out = dict(changed=any(r["changed"] for r in components.values()), components=components)
    if diffs:
        out["diff"] = diffs
    return out


def _read_view_file(module):
    path = module.params.get("view_file")
    if not path:
        module.fail_json(msg="view_file: not set; run this module through its action plugin (as the roles do)")
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        module.fail_json(msg="view_file: cannot read %s: %s" % (path, exc))
    return None  # not reached: fail_json exits
