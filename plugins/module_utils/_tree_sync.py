# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Bring a directory tree to a desired set of generated files, touching only what changed.

The tree keeps a manifest (``.baremetal-manifest.json``: path -> SHA-1) of the files this
collection generated there. A sync writes a file only when its content differs from what is on
disk, removes the generated files that are no longer wanted (a replaced or retired MAC loses its
boot configs in the same run) and never touches a file it did not generate (boot loaders,
kernels). Every write is a temporary file and a rename, so a reader (or a crash) sees the old
file or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os

from ansible_collections.baremetal.provision.plugins.module_utils._atomic import write_atomic

MANIFEST = ".baremetal-manifest.json"


class SyncError(Exception):
    pass


def _sha1(data):
    return hashlib.sha1(data).hexdigest()


def _safe_relpath(relpath):
    parts = relpath.split("/")
    if not relpath or relpath.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\x00" in relpath:
        raise SyncError("refusing to write %r: not a plain relative path inside the tree" % (relpath,))
    return relpath


def read_manifest(root):
    try:
        with open(os.path.join(root, MANIFEST), "r", encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def write_file(root, relpath, data, mode=0o644):
    """Atomically replace root/relpath with data (bytes)."""
    write_atomic(os.path.join(root, relpath), data, mode=mode, durable=False)


def _current(root, relpath):
    try:
        with open(os.path.join(root, relpath), "rb") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def plan(root, desired):
    """(to_write {relpath: bytes}, to_remove [relpath], new manifest or None when it is unchanged),
    without changing anything.

    A file whose manifest hash equals the wanted hash and which still exists is unchanged
    without being read; otherwise the file on disk is compared byte for byte (so a file the
    callback service rewrote to the same content is not rewritten).
    """
    manifest = read_manifest(root)
    to_write = {}
    new_manifest = {}
    for relpath, data in desired.items():
        _safe_relpath(relpath)
        if isinstance(data, str):
            data = data.encode("utf-8")
        digest = _sha1(data)
        new_manifest[relpath] = digest
        if manifest.get(relpath) == digest and os.path.isfile(os.path.join(root, relpath)):
            continue
        if _current(root, relpath) != data:
            to_write[relpath] = data
    to_remove = sorted(p for p in manifest if p not in desired and os.path.lexists(os.path.join(root, _safe_relpath(p))))
    return to_write, to_remove, (new_manifest if new_manifest != manifest else None)


def apply(root, to_write, to_remove, new_manifest, mode=0o644):
    """Carry out a plan; the manifest is written only when plan() found it changed."""
    os.makedirs(root, mode=0o755, exist_ok=True)
    for relpath in sorted(to_write):
        write_file(root, relpath, to_write[relpath], mode)
    for relpath in to_remove:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(root, relpath))
    if new_manifest is not None:
        body = json.dumps({"version": 1, "files": new_manifest}, sort_keys=True, separators=(",", ":"))
        write_file(root, MANIFEST, body.encode("utf-8"))


def sync_tree(root, desired, check_mode=False, mode=0o644):
    """Make root hold desired ({relpath: str|bytes}); returns {"written": [...], "removed": [...]}."""
    to_write, to_remove, new_manifest = plan(root, desired)
    if not check_mode:
        apply(root, to_write, to_remove, new_manifest, mode)
    return {"written": sorted(to_write), "removed": to_remove}
