# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

What the store was last found to be, kept between runs: the problems of the whole store as it
was at one scan (``_records.scan``: every record file's name, size, modification time and inode,
and the digest of the rules). A record module that finds the store as the last run left it takes
the problems from here instead of checking every rule on every record; it then checks only what
its edit can change (``RecordStore.local_problems``) and leaves the problems of the store after
its edit here, under the scan of the store after its write.

A store changed outside the modules (a ``git pull``, an editor) has another scan: nothing here
stands for it, so the next run checks the whole store and starts again from there. Like every
file of the cache folder (``cache_files``), it is read only while it is the user's own.
"""

from __future__ import annotations

import hashlib
import os

from ansible_collections.baremetal.provision.plugins.module_utils._records.cache_files import (
    cache_dir,
    read_cached,
    write_cached,
)
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import Problem

FINGERPRINT_EXTRA = "problems 2"  # one scan gives one fingerprint per use: this is the index's (and its format)


def _path(root):
    digest = hashlib.sha256(os.path.abspath(root).encode("utf-8")).hexdigest()[:24]
    return os.path.join(cache_dir(), "index-%s.bin" % digest)


def remembered_problems(root, scan):
    """The problems of the store under this scan, as a frozenset, or None when not known."""
    saved = read_cached(_path(root), scan.fingerprint(FINGERPRINT_EXTRA))
    if not isinstance(saved, list):
        return None
    try:
        return frozenset(Problem(path, field, message, topic) for path, field, message, topic in saved)
    except (TypeError, ValueError):
        return None


def remember_problems(root, scan, problems):
    """Keep the problems of the whole store under this scan (the one entry of the store's index)."""
    write_cached(
        _path(root),
        scan.fingerprint(FINGERPRINT_EXTRA),
        [[p.path, p.field, p.message, p.topic] for p in sorted(problems)],
    )
