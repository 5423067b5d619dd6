# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Files of the per-user cache folder, keyed by a fingerprint: where the folder is, whether it is
on, and one value per file in marshal's format, trusted only while private to the user. The
record parse cache (``parse_cache``) and the views (``_views.cache``) keep their files here.
"""

from __future__ import annotations

import json
import marshal
import os
import sys

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.atomic import write_atomic


def enabled():
    """False when BAREMETAL_CACHE=off (or 0, no, false)."""
    return os.environ.get("BAREMETAL_CACHE", "on").lower() not in ("off", "0", "no", "false")


def cache_dir():
    explicit = os.environ.get("BAREMETAL_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "baremetal.provision")


# The derived views (the inventory's, each provisioner's) are large (10 MB at 10,000 systems) and
# read or written by every playbook step: kept in marshal's format, about ten times faster than JSON
# both ways. A file names its format and Python version; any other is a miss and is rebuilt.
VIEW_FORMAT = "marshal %d python %d.%d" % (marshal.version, sys.version_info[0], sys.version_info[1])


def read_cached(path, fingerprint):
    """The value a fingerprint-keyed cache file holds, or None when it is missing, unreadable, in
    another format or for another fingerprint (then the caller rebuilds and calls write_cached)."""
    return _read(path, fingerprint, marshal.loads)


def holds(path, fingerprint):
    """Whether read_cached would find a value under fingerprint, from the file's first line only."""
    return _read(path, fingerprint, lambda body: True, size=0) is True


def _read(path, fingerprint, value, size=-1):
    if not enabled():
        return None
    try:
        with open(path, "rb") as handle:
            if not (_private(os.fstat(handle.fileno())) and _private(os.stat(os.path.dirname(path) or "."))):
                return None
            header = json.loads(handle.readline())
            if (
                not isinstance(header, dict)
                or header.get("fingerprint") != fingerprint
                or header.get("format") != VIEW_FORMAT
            ):
                return None
            return value(handle.read(size))
    except (OSError, ValueError, EOFError, TypeError):
        return None


def write_cached(path, fingerprint, value):
    """Keep value (plain data) under fingerprint (one file, replaced atomically, private to the user)."""
    if not enabled():
        return
    try:
        payload = marshal.dumps(value)
    except ValueError:  # dict or list subclasses (the store's flow-style YAML types): as plain data
        payload = marshal.dumps(json.loads(json.dumps(value)))
    header = json.dumps({"fingerprint": fingerprint, "format": VIEW_FORMAT}, separators=(",", ":")).encode("utf-8")
    try:
        folder = os.path.dirname(path) or "."
        os.makedirs(folder, mode=0o700, exist_ok=True)
        st = os.stat(folder)
        if st.st_uid != os.geteuid():
            return  # another user's folder: never written to, never read from
        if not _private(st):
            os.chmod(folder, 0o700)
        write_atomic(path, header + b"\n" + payload, mode=0o600, prefix=".cache-", durable=False)
    except OSError:
        pass  # a cache that cannot be written only costs time


def _private(st):
    """Whether a file or folder belongs to this user and no one else can write to it."""
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022
