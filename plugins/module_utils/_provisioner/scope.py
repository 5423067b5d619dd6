# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Which systems a sync of the TFTP or web tree looks at: every system of the view, or only those
an edit changed since the view this provisioner last synced whole.

A view the controller caches carries a ``revision`` (an id of its content, new for every view
built or patched) and ``changes``: for each view it was patched from, not too far back, the
systems changed since (``_views.cache``). A provisioner remembers, per component, the revision
of the last view it synced and a digest of everything else the render takes (the component's
options, the provisioner's secret, the renderers' code): ``synced.json`` in the state
directory. A sync asked for the changed systems only (``scope=changed``, as the replace,
provision and retire playbooks ask) renders and places the changed systems alone, removes the
files the render memo says they had, and patches the netboot index, when

- the view names the provisioner's last revision among the ones it was patched from,
- the options digest is the one remembered, and
- the render memo is the one that sync left (it knows the changed systems' old files), and so
  is the netboot index (the web step patches it).

Anything else syncs every system, and the result says why. What a sync of the changed systems
does not see: a file of another system removed or edited by hand since the last whole sync, and
a system that completed its install since (the callback service has already switched its boot
files). ``site`` syncs everything and repairs the first.

The entry is removed before a sync writes and written back when it has finished, so a sync
killed half-way leaves none and the next sync looks at everything. Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import os

from . import netboot as N

SYNCED = "synced.json"
ALL = "all"
CHANGED = "changed"
SCOPES = (ALL, CHANGED)
# the options a component's trees depend on (the others place files no system's render gives:
# boot loaders, the callback service)
RENDER_OPTIONS = {"tftp": ("root",), "web": ("root", "conf_dir", "secrets", "callback_base")}


def options_digest(options, *more):
    """A digest of a component's options and of anything else its render takes (plain data)."""
    data = json.dumps([options, list(more)], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha1(data.encode("utf-8")).hexdigest()


class Scope(object):
    """The systems one component's sync looks at: ``names`` is None for every system, else the
    set of names changed since the last whole sync; ``why`` says why every system, when asked for
    the changed ones (None otherwise). Decided under the state lock, before anything is written."""

    def __init__(self, view, state_dir, component, wanted, digest, memo_size=None):
        self.path = os.path.join(state_dir, SYNCED)
        self.component = component
        self.revision = view.get("revision")
        self.digest = digest
        self.names = None
        self.why = None
        if wanted != CHANGED:
            return
        last = N.read_json(self.path, {}).get(component)
        self.why = self._why_all(view, last, memo_size)
        if self.why is None:
            if last["view"] == self.revision:
                self.names = set()
            else:
                self.names = set(view["changes"][last["view"]])

    def _why_all(self, view, last, memo_size):
        if not self.revision or not self.digest:
            return "the view carries no revision, or the renderers' code cannot be read"
        if not isinstance(last, dict) or not last.get("view"):
            return "no whole sync of this provisioner is on record"
        if last.get("options") != self.digest:
            return "options, the provisioner's secret or the renderers changed since the last sync"
        if last["view"] != self.revision and last["view"] not in (view.get("changes") or {}):
            return "the last sync was of records this change was not made from"
        if memo_size is None or last.get("systems") != memo_size:
            return "the render memo or the netboot index is not the one the last sync left"
        return None

    def begin(self, check_mode):
        """Forget the last sync before this one writes anything: a sync killed half-way leaves
        no entry."""
        if not check_mode:
            self._store(None)

    def done(self, check_mode, memo_size):
        """Remember this sync (its view's revision, its digest, the memo's size)."""
        if not check_mode:
            entry = {"view": self.revision, "options": self.digest, "systems": memo_size} if self.revision else None
            self._store(entry)

    def report(self, result):
        result["scope"] = ALL if self.names is None else CHANGED
        if self.why:
            result["scope_reason"] = self.why

    def _store(self, entry):
        data = N.read_json(self.path, {})
        if data.get(self.component) == entry:
            return
        if entry is None:
            data.pop(self.component, None)
        else:
            data[self.component] = entry
        N.write_json(self.path, data, mode=0o600)
