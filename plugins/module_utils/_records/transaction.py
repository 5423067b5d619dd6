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
* The store's problems before the change come from its index (``index``) when the store is as
  the last run left it; an edit of systems and pools alone is then checked on what it touches
  (``RecordStore.local_problems``), and the index keeps the store's problems after it.
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
from ansible_collections.baremetal.provision.plugins.module_utils._records.index import (
    remember_problems,
    remembered_problems,
)
from ansible_collections.baremetal.provision.plugins.module_utils._records.scan import StoreScan
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import (
    JOURNAL_NAME,
    LEAF_KINDS,
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

    def __init__(self, root, timeout=120.0, create=False, before_load=None):
        self.root = root
        self.before_load = before_load  # called under the lock, before the store is read (git catch-up)
        self.timeout = timeout
        self.create = create
        self.lock = None
        self.store = None
        self.scan_before = None  # the StoreScan of the files under the lock, before the load
        self.scan_after = None  # after a commit that wrote: that scan updated by the files written
        self.before_problems = frozenset()
        self.after_problems = None  # after a commit that wrote: the whole store's problems
        self.changes = {}  # relpath -> [before text or None, after text or None]
        self.before_records = {}  # (kind, name) -> its Record before the first change staged (None: absent)
        self.before_values = set()  # the (what, value) pairs the touched systems and pools held before
        self._staged = 0  # a count of the changes staged: what _now() computed is kept until it moves
        self._kept = None  # (that count, the problems _now() found then)

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
            self.scan_before = StoreScan(self.root)
            self.store = RecordStore.load(self.root, scan=self.scan_before)  # one scan: the fingerprint and the load
            known = remembered_problems(self.root, self.scan_before) if self._incremental() else None
            if known is None:  # changed outside the modules (or never indexed): every rule, once
                known = frozenset(self.store.problems())
                remember_problems(self.root, self.scan_before, known)
            else:
                self.store.remember(known)
            self.before_problems = known
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
        self._staged += 1
        if relpath in self.changes:
            self.changes[relpath][1] = after
        else:
            self.changes[relpath] = [before, after]

    def _touch(self, kind, name):
        """Remember what a record was before the first change staged for it."""
        if (kind, name) not in self.before_records:
            self.before_records[(kind, name)] = self.store.records[kind].get(name) if kind != TEMPLATES else None
            if kind in LEAF_KINDS:
                self.before_values |= self.store.leaf_values(kind, name)

    def savepoint(self):
        """The staged edit as it is now; restore() goes back to it (one item of a list undone)."""
        records = {key: self.store.records[key[0]].get(key[1]) for key in self.before_records if key[0] != TEMPLATES}
        return ({relpath: list(texts) for relpath, texts in self.changes.items()}, records)

    def restore(self, point):
        """Undo what was staged since savepoint() gave point: every record, and every file's
        staged text, as it was then (a record file is not rewritten in another form)."""
        changes, records = point
        since = [key for key in self.before_records if key not in records]
        if any(kind == TEMPLATES for kind, _name in since):
            raise ValueError("a template staged after the savepoint cannot be undone")
        for key in since:
            records[key] = self.before_records[key]
        for (kind, name), record in records.items():
            if self.store.records[kind].get(name) is not record:
                self.store.set_record(kind, name, record)
        self.changes = {relpath: list(texts) for relpath, texts in changes.items()}
        self._staged += 1

    def put(self, kind, name, data):
        """Stage a record's new content (normalised and written in canonical form)."""
        self._touch(kind, name)
        record = self.store.put(kind, name, data)
        text = render_record(kind, record.data if record.data is not None else data)
        self._stage(record_path(kind, name), self.store.text(kind, name), text)
        return record

    def delete(self, kind, name):
        self._touch(kind, name)
        self._stage(record_path(kind, name), self.store.text(kind, name), None)
        self.store.remove(kind, name)

    def put_template(self, name, text):
        path = os.path.join(self.root, TEMPLATES, name)
        try:
            with open(path, "r", encoding="utf-8") as handle:
                before = handle.read()
        except FileNotFoundError:
            before = None
        self._touch(TEMPLATES, name)
        self._stage("%s/%s" % (TEMPLATES, name), before, text)
        self.store.templates.add(name)

    # ------------------------------------------------------------------ results
    def pending(self):
        """Staged changes that really change a file: {relpath: (before, after)}."""
        return {p: tuple(ba) for p, ba in sorted(self.changes.items()) if ba[0] != ba[1]}

    def _incremental(self):
        """Whether only systems and pools were touched, so the edit is checked on what it touches."""
        return all(kind in LEAF_KINDS for kind, _name in self.before_records)

    def _local(self):
        """The problems of the store that the staged edit can change: the touched records and the
        values they hold before or after (see RecordStore.local_problems)."""
        touched = set(self.before_records)
        values = set(self.before_values)
        for kind, name in touched:
            values |= self.store.leaf_values(kind, name)
        return self.store.local_problems(touched, values)

    def _now(self):
        """The problems the staged edit can have: the edit's own (see _local) or, for an edit that is
        checked whole, the store's. Computed once per state of the edit: a list's module, its
        commit and the index after it all ask for them."""
        if self._kept is None or self._kept[0] != self._staged:
            self._kept = (self._staged, self._local() if self._incremental() else self.store.problems())
        return self._kept[1]

    def new_problems(self):
        """The problems the staged edit adds to the store. A value that was already used twice and
        now is by fewer or other records is not a new problem of the records still using it."""
        after = self._now()
        known = {problem.about() for problem in self.before_problems}
        return sorted(problem for problem in set(after) - self.before_problems if problem.about() not in known)

    def _problems_after(self):
        """The whole store's problems with the staged edit: those it had, less those the edit's
        records had before it, plus those they have now."""
        after = set(self._now())
        if not self._incremental():
            return frozenset(after)
        now = {key: self.store.records[key[0]].get(key[1]) for key in self.before_records}
        for (kind, name), record in self.before_records.items():
            self.store.set_record(kind, name, record)
        try:
            before = set(self._local())
        finally:
            for (kind, name), record in now.items():
                self.store.set_record(kind, name, record)
        return frozenset((self.before_problems - before) | after)

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
        problems = self._problems_after()
        _write_files(self.root, {relpath: text for relpath, (_before, text) in pending.items()})
        self.store.remember(problems)
        self.after_problems = problems
        if self.scan_before is not None:
            self.scan_after = self.scan_before.updated(pending) or StoreScan(self.root)
            remember_problems(self.root, self.scan_after, problems)
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
