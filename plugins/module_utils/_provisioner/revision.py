# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Which records commit a provisioner was last rendered from, so that an older render never lands
after a newer one. Two jobs that change records served by one provisioner push one after the
other (git orders them), but may render in the other order: the job that pushed first, with the
older records, could overwrite the newer render and drop the other job's change from DHCP and the
boot files while that job power-cycles its machine.

A sync that names its commit and the commits it descends from (``history``) renders while the
provisioner's last commit is one of them (or unknown), and records its own. Otherwise it renders
nothing and reports the provisioner's commit (``conflict``); the controller, which has git,
decides: that commit descends from ours (it already includes our change: nothing to do), or it
is older or unrelated (sync again with ``replaces`` naming it, which renders only if no other
sync came in between). Syncs of one provisioner take turns on the revision lock, so renders never
interleave. Standard library only: this runs on the provisioner.
"""

from __future__ import annotations

import contextlib
import os

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import netboot as N

REVISION = "records-revision.json"
REVISION_LOCK = ".revision.lock"


def state_dir_of(params, default):
    for component in ("web", "tftp"):
        options = params.get(component) or {}
        if options.get("state_dir"):
            return options["state_dir"]
    return default


def last_commit(state_dir):
    return N.read_json(os.path.join(state_dir, REVISION), {}).get("commit")


@contextlib.contextmanager
def guarded(state_dir, revision, check_mode):
    """Around one sync: yields None to render, or the provisioner's newer-or-unknown commit to
    report instead. The commit is recorded only after the body finished without an exception."""
    if not revision or check_mode:
        yield None
        return
    with N.state_lock(state_dir, REVISION_LOCK):
        stored = last_commit(state_dir)
        known = set(revision.get("history") or []) | {revision["commit"]}
        if stored and stored not in known and stored != revision.get("replaces"):
            yield stored
            return
        yield None
        N.write_json(os.path.join(state_dir, REVISION), {"commit": revision["commit"]})
