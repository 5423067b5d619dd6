# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Bring a directory tree to a desired set of generated files, touching only what changed.

The tree keeps a manifest (``.baremetal-manifest.json``: path -> SHA-1) of the files this
collection generated there. A sync writes a file only when its content differs from what is on
disk, removes the generated files that are no longer wanted (a replaced or retired MAC loses its
boot configs in the same run) and never touches a file it did not generate (boot loaders,
kernels). Every write is a temporary file and a rename, so a reader sees the old file or the
new one, never half of either.

A sync is also all-or-nothing across files, by a journal with roll-forward (the same idea as the
record store's transactions):
1. every new file is written into ``.baremetal-stage/`` inside the tree (nothing live changes);
2. the journal ``.baremetal-journal.json`` (renames, removals, new manifest) is written
   atomically: the commit point;
3. the staged files are renamed into place, stale files removed, the manifest written, and the
   journal and staging folder removed.
A run killed before the commit point leaves the live tree exactly as it was (the next sync
discards the staging folder); a run killed after it is finished by ``recover()``, which every
sync calls first under the same lock, so the tree becomes exactly the new state. Until then a
killed run can have renamed some of its files and not others; no file is ever torn. The
provisioner's callback service closes that window within seconds: it runs ``recover()`` on the
TFTP tree under the same lock every few seconds, and always before it switches a MAC to local
boot (else a later roll-forward would undo the switch).

Standard library only: the provisioner's callback service imports it (see the package).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os

from .atomic import TEMP_PREFIX, write_atomic

MANIFEST = ".baremetal-manifest.json"
LISTED_FOLDER = 16  # files of one folder from which _files_in lists the folder instead of a stat per file
JOURNAL = ".baremetal-journal.json"
STAGE = ".baremetal-stage"


class SyncError(Exception):
    pass


def _sha1(data):
    return hashlib.sha1(data).hexdigest()


def _safe_relpath(relpath):
    parts = relpath.split("/")
    if not relpath or relpath.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\x00" in relpath:
        raise SyncError("refusing to write %r: not a plain relative path inside the tree" % (relpath,))
    if parts[0] in (MANIFEST, JOURNAL, STAGE):
        raise SyncError("refusing to write %r: the name is the tree's own bookkeeping" % (relpath,))
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


def _files_in(root, relpaths):
    """The relpaths that are files under root (os.path.isfile of each), from one listing per folder
    that holds many of them.

    A stat per file was a fifth of a 10,000-system TFTP sync (30,000 files in three folders); the web
    tree's folders of two files each are cheaper to stat than to list.
    """
    folders = {}
    for relpath in relpaths:
        folder, _sep, name = relpath.rpartition("/")
        folders.setdefault(folder, []).append(name)
    found = set()
    for folder, names in folders.items():
        prefix = folder + "/" if folder else ""
        if len(names) < LISTED_FOLDER:
            found.update(prefix + name for name in names if os.path.isfile(os.path.join(root, prefix + name)))
            continue
        try:
            with os.scandir(os.path.join(root, folder)) as listing:
                files = {entry.name for entry in listing if entry.is_file()}  # follows symlinks, as isfile
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError:  # a folder that cannot be listed may still be searchable
            found.update(prefix + name for name in names if os.path.isfile(os.path.join(root, prefix + name)))
            continue
        found.update(prefix + name for name in names if name in files)
    return found


def digest(data):
    """The SHA-1 the manifest keeps for a file's content (bytes or str)."""
    return _sha1(data.encode("utf-8") if isinstance(data, str) else data)


def plan(root, desired, known=None, fetch=None, gone=None):
    """(to_write {relpath: bytes}, to_remove [relpath], new manifest or None when it is unchanged),
    without changing anything.

    desired: {relpath: str|bytes}, the files rendered for this sync. known: {relpath: sha1}, files
    wanted but not rendered (their renders are remembered, see render_memo), and fetch(relpath)
    renders one of them when it is needed after all.

    A file whose manifest hash equals the wanted hash and which still exists is unchanged
    without being read; otherwise the file on disk is compared byte for byte (so a file the
    callback service rewrote to the same content is not rewritten).

    gone: None when desired and known are the whole tree (every other file of the manifest goes);
    else desired and known are part of it, the relpaths in gone go and the manifest keeps the rest.
    """
    manifest = read_manifest(root)
    known = known or {}
    gone = None if gone is None else set(gone)
    hashed = {}
    for relpath, data in desired.items():
        _safe_relpath(relpath)
        if isinstance(data, str):
            data = data.encode("utf-8")
        hashed[relpath] = (_sha1(data), data)
    for relpath, sha1 in known.items():
        if relpath not in hashed:
            hashed[relpath] = (sha1, None)
    listed = [relpath for relpath, (sha1, _data) in hashed.items() if manifest.get(relpath) == sha1]
    present = _files_in(root, listed)
    to_write = {}
    new_manifest = {} if gone is None else {p: h for p, h in manifest.items() if p not in gone}
    for relpath, (sha1, data) in hashed.items():
        if relpath in present:
            new_manifest[relpath] = sha1
            continue
        if data is None:  # remembered, but not in the tree as remembered: render it after all
            data = fetch(_safe_relpath(relpath))
            if isinstance(data, str):
                data = data.encode("utf-8")
            sha1 = _sha1(data)
        new_manifest[relpath] = sha1
        if _current(root, relpath) != data:
            to_write[relpath] = data
    # gone: files this collection's render gave (its memo says so), in the manifest or not
    leaving = manifest if gone is None else gone
    to_remove = sorted(p for p in leaving if p not in hashed and os.path.lexists(os.path.join(root, _safe_relpath(p))))
    return to_write, to_remove, (new_manifest if new_manifest != manifest else None)


def _write_manifest(root, manifest):
    body = json.dumps({"version": 1, "files": manifest}, sort_keys=True, separators=(",", ":"))
    write_file(root, MANIFEST, body.encode("utf-8"))


def _discard_stage(root):
    stage = os.path.join(root, STAGE)
    with contextlib.suppress(FileNotFoundError):
        for name in os.listdir(stage):
            os.unlink(os.path.join(stage, name))
        os.rmdir(stage)


def _read_journal(root):
    try:
        with open(os.path.join(root, JOURNAL), "r", encoding="utf-8") as handle:
            journal = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SyncError(
            "%s: unreadable journal of an interrupted sync (%s); remove it and re-run"
            % (os.path.join(root, JOURNAL), exc)
        ) from exc
    if not (
        isinstance(journal, dict)
        and isinstance(journal.get("renames"), list)
        and isinstance(journal.get("remove"), list)
    ):
        raise SyncError("%s: not a journal of this collection; remove it and re-run" % os.path.join(root, JOURNAL))
    return journal


def _roll_forward(root, journal):
    """Finish a committed sync; idempotent, so a crash in here is finished by the next call."""
    made = set()
    for staged, relpath in journal["renames"]:
        source = os.path.join(root, STAGE, _safe_relpath(staged))
        if os.path.exists(source):  # else renamed before the crash
            target = os.path.join(root, _safe_relpath(relpath))
            parent = os.path.dirname(target)
            if parent not in made:
                os.makedirs(parent, mode=0o755, exist_ok=True)
                made.add(parent)
            os.replace(source, target)
    for relpath in journal["remove"]:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(root, _safe_relpath(relpath)))
    if isinstance(journal.get("manifest"), dict):
        _write_manifest(root, journal["manifest"])
    os.unlink(os.path.join(root, JOURNAL))
    _discard_stage(root)


def _remove_stale_temps(root):
    """The temporary file of a journal or manifest write that was killed half-way (never read)."""
    found = False
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(root):
            if entry.name.startswith(TEMP_PREFIX) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                found = True
    return found


def recover(root):
    """Finish a sync that was killed after its commit point, or discard one killed before it.
    True when there was something to recover."""
    found = _remove_stale_temps(root)
    journal = _read_journal(root)
    if journal is not None:
        _roll_forward(root, journal)
        return True
    if os.path.isdir(os.path.join(root, STAGE)):
        _discard_stage(root)
        return True
    return found


def apply(root, to_write, to_remove, new_manifest, mode=0o644):
    """Carry out a plan, all or nothing (see the module docstring); the manifest is written only
    when plan() found it changed."""
    os.makedirs(root, mode=0o755, exist_ok=True)
    if not to_write and not to_remove:
        if new_manifest is not None:
            _write_manifest(root, new_manifest)
        return
    _discard_stage(root)
    stage = os.path.join(root, STAGE)
    os.makedirs(stage, mode=0o700)
    renames = []
    for number, relpath in enumerate(sorted(to_write)):
        staged = str(number)
        with open(os.path.join(stage, staged), "wb") as handle:
            handle.write(to_write[relpath])
        os.chmod(os.path.join(stage, staged), mode)
        renames.append([staged, relpath])
    journal = {"version": 1, "renames": renames, "remove": list(to_remove), "manifest": new_manifest}
    write_file(root, JOURNAL, json.dumps(journal, separators=(",", ":")).encode("utf-8"), 0o600)
    _roll_forward(root, journal)


def sync_tree(root, desired, check_mode=False, mode=0o644, known=None, fetch=None, gone=None):
    """Make root hold desired ({relpath: str|bytes}) and known, and not gone (see plan); returns
    {"written": [...], "removed": [...]}."""
    if not check_mode:
        recover(root)
    to_write, to_remove, new_manifest = plan(root, desired, known, fetch, gone)
    if not check_mode:
        apply(root, to_write, to_remove, new_manifest, mode)
    return {"written": sorted(to_write), "removed": to_remove}
