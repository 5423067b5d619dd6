# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Safe writes to the record store.

* One writer at a time: an exclusive flock on ``<root>/.baremetal.lock``; readers take a
  shared lock so they never see a transaction half applied. Two runs on one checkout queue;
  runs in separate copies (AWX jobs) meet at the git push instead (``gitstore``).
* Every file is replaced atomically (temporary file in the same directory, fsync, rename).
* A change that spans several files (a spare leaves its pool and joins a system) is first
  written whole to a journal; it is then applied file by file and the journal removed. If the
  run dies in between, the next writer (or reader) rolls the journal forward, so the store is
  never seen with the spare in both places or in neither.
* Nothing is written unless the store after the change has no problem that it did not have
  before: a refusal lists the new problems and leaves every file byte-identical.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.atomic import write_atomic
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import (
    LockTimeout,
    Problem,
    StoreError,
)
from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import StoreScan
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import (
    JOURNAL_NAME,
    TEMPLATES,
    RecordStore,
    record_path,
    render_record,
    split_record_path,
)

LOCK_NAME = ".baremetal.lock"
TEMP_PREFIX = ".bm-tmp-"


def atomic_write(path, text, mode=0o644):
    """Replace path with text so that readers see the old file or the new one, never a mix."""
    write_atomic(path, text, mode=mode, prefix=TEMP_PREFIX, durable=True)
    fsync_dir(os.path.dirname(path) or ".")


def fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class StoreLock(object):
    """flock on the store's lock file; exclusive for writers, shared for readers."""

    def __init__(self, root, shared=False, timeout=120.0):
        self.path = os.path.join(root, LOCK_NAME)
        self.shared = shared
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        try:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if self.shared and exc.errno in (errno.EACCES, errno.EROFS, errno.EPERM):
                return self  # a read-only checkout: nobody can be writing to it
            raise
        flag = fcntl.LOCK_SH if self.shared else fcntl.LOCK_EX
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(self.fd, flag | fcntl.LOCK_NB)
                return self
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                os.close(self.fd)
                self.fd = None
                raise LockTimeout(
                    Problem(
                        self.path,
                        None,
                        "another run has held the store lock for more than %g s; nothing was changed" % self.timeout,
                    )
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def __exit__(self, *exc_info):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        return False


def _read_journal(root):
    path = os.path.join(root, JOURNAL_NAME)
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


def _apply_journal(root, journal):
    for relpath, text in sorted(journal["files"].items()):
        target = os.path.join(root, relpath)
        if text is None:
            try:
                os.unlink(target)
            except FileNotFoundError:
                pass
        else:
            atomic_write(target, text)
    for kind_dir in {os.path.dirname(p) for p in journal["files"]}:
        fsync_dir(os.path.join(root, kind_dir))
    os.unlink(os.path.join(root, JOURNAL_NAME))
    fsync_dir(root)


def _overlay_journal(store, journal):
    """Show a reader the state a crashed writer's journal will roll forward to."""
    for relpath, text in journal["files"].items():
        kind, name = split_record_path(relpath)
        if kind == TEMPLATES:
            (store.templates.discard if text is None else store.templates.add)(name)
            continue
        if text is None:
            store.remove(kind, name)
        else:
            store.add_text(kind, name, text.encode("utf-8"))


# The last snapshot of each store this process loaded. An inventory refresh, and every task
# that Ansible forks from the process afterwards, re-reads only the files that changed since.
_SNAPSHOTS = {}


def load_snapshot(root, timeout=120.0):
    """Load a store for reading, consistent even while a writer works on it.

    The store returned is shared with later calls in this process: read it, never change it
    (a Transaction loads its own)."""
    if not os.path.isdir(root):
        raise StoreError(Problem(root, None, "the records directory does not exist"))
    key = os.path.abspath(root)
    with StoreLock(root, shared=True, timeout=timeout):
        journal = _read_journal(root)
        if journal is not None:
            store = RecordStore.load(root)
            _overlay_journal(store, journal)
        else:
            store = RecordStore.load(root, reuse=_SNAPSHOTS.get(key))
            _SNAPSHOTS[key] = store
    return store


def _remove_stale_temps(root):
    for dirpath in [root] + [os.path.join(root, d) for d in os.listdir(root)]:
        if not os.path.isdir(dirpath):
            continue
        for entry in os.scandir(dirpath):
            if entry.name.startswith(TEMP_PREFIX):
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass


class Transaction(object):
    """An exclusive edit of the store::

    with Transaction(root) as txn:
        txn.put("systems", "web01", data)
        diff = txn.commit(check_mode=False)
    """

    def __init__(self, root, timeout=120.0, create=False, scan=False, before_load=None):
        self.root = root
        self.before_load = before_load  # called under the lock, before the store is read (git catch-up)
        self.timeout = timeout
        self.create = create
        self.lock = None
        self.store = None
        self.scan_before = None  # with scan: the StoreScan of the files under the lock, before the load
        self.scan = scan
        self.before_problems = frozenset()
        self.changes = {}  # relpath -> [before text or None, after text or None]

    def __enter__(self):
        if not os.path.isdir(self.root):
            if not self.create:
                # check mode before the first record exists: an empty store, nothing locked
                self.store = RecordStore(self.root)
                return self
            os.makedirs(self.root)
        self.lock = StoreLock(self.root, timeout=self.timeout)
        self.lock.__enter__()
        try:
            journal = _read_journal(self.root)
            if journal is not None:
                _apply_journal(self.root, journal)
            _remove_stale_temps(self.root)
            if self.before_load is not None:
                self.before_load()
            if self.scan:
                self.scan_before = StoreScan(self.root)
            self.store = RecordStore.load(self.root)
            self.before_problems = frozenset(self.store.problems())
        except BaseException:
            self.lock.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info):
        if self.lock is not None:
            self.lock.__exit__(*exc_info)
        return False

    # ------------------------------------------------------------------ staging
    def _stage(self, relpath, before, after):
        if relpath in self.changes:
            self.changes[relpath][1] = after
        else:
            self.changes[relpath] = [before, after]

    def put(self, kind, name, data):
        """Stage a record's new content (normalised and written in canonical form)."""
        record = self.store.put(kind, name, data)
        text = render_record(kind, record.data if record.data is not None else data)
        self._stage(record_path(kind, name), self.store.text(kind, name), text)
        return record

    def delete(self, kind, name):
        self._stage(record_path(kind, name), self.store.text(kind, name), None)
        self.store.remove(kind, name)

    def put_template(self, name, text):
        path = os.path.join(self.root, TEMPLATES, name)
        try:
            with open(path, "r", encoding="utf-8") as handle:
                before = handle.read()
        except FileNotFoundError:
            before = None
        self._stage("%s/%s" % (TEMPLATES, name), before, text)
        self.store.templates.add(name)

    # ------------------------------------------------------------------ results
    def pending(self):
        """Staged changes that really change a file: {relpath: (before, after)}."""
        return {p: tuple(ba) for p, ba in sorted(self.changes.items()) if ba[0] != ba[1]}

    def new_problems(self):
        return sorted(set(self.store.problems()) - self.before_problems)

    def diff(self):
        return [
            {
                "before_header": relpath if before is not None else "/dev/null",
                "after_header": relpath if after is not None else "/dev/null",
                "before": before or "",
                "after": after or "",
            }
            for relpath, (before, after) in self.pending().items()
        ]

    def commit(self, check_mode=False):
        """Refuse if the change adds a problem; else write (unless check_mode). Returns pending."""
        problems = self.new_problems()
        if problems:
            raise StoreError(problems, summary="refused, nothing was written")
        pending = self.pending()
        if check_mode or not pending:
            return pending
        _write_files(self.root, {relpath: after for relpath, (before, after) in pending.items()})
        return pending

    def rollback(self):
        """Put back every file commit() wrote, as it was before (the change could not be recorded)."""
        _write_files(self.root, {relpath: before for relpath, (before, after) in self.pending().items()})


def _write_files(root, files):
    """Write {relpath: text or None} as one change: through the journal when it spans files."""
    if len(files) == 1:
        relpath, text = next(iter(files.items()))
        _apply_journal_free(root, relpath, text)
    elif files:
        atomic_write(os.path.join(root, JOURNAL_NAME), json.dumps({"files": files}))
        _apply_journal(root, {"files": files})


def _apply_journal_free(root, relpath, text):
    """A one-file change is atomic by itself and needs no journal."""
    target = os.path.join(root, relpath)
    if text is None:
        try:
            os.unlink(target)
        except FileNotFoundError:
            pass
        fsync_dir(os.path.dirname(target))
    else:
        atomic_write(target, text)
