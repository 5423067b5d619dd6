# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

One scan of a record store's files (name, size, modification time, inode; no file is read) and
the fingerprints it gives: what every cache of the collection is keyed by.
"""

from __future__ import annotations

import hashlib
import os

from ansible_collections.baremetal.provision.plugins.module_utils._records.schema import KINDS
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import JOURNAL_NAME, rules_digest

VIEW_VERSION = 3  # of the views: part of every fingerprint, so a new view format is never read as an old one


def store_fingerprint(root, extra=""):
    """A digest of every record file's name, size, modification time and inode (no file is read;
    every write of this collection and of git is a new file, so a new inode).

    Used as the inventory cache's validity check: any edit, checkout, addition or removal
    under the store changes it.
    """
    return StoreScan(root).fingerprint(extra)


SCANNED = (*KINDS, "templates")  # the store's folders a scan covers, in its order


def _line(relpath, size, mtime_ns, inode):
    return f"{relpath}|{size}|{mtime_ns}|{inode}\n"


class StoreScan(object):
    """One scan of a store's files (name, size, modification time, inode) and the fingerprints it gives."""

    def __init__(self, root):
        self.root = root
        self.lines = {}  # relpath -> line, in the order of the scan (kind, then name)
        self.stats = {}  # kind -> [(file name, os.stat_result)] in name order: what a load of the store reads
        for kind in SCANNED:
            self._scan_dir(kind)

    def _scan_dir(self, kind):
        # the hottest loop of a run at 10,000 systems (every run scans the store two or three times):
        # names relative to an open folder, and the line built in place
        path = os.path.join(self.root, kind)
        try:
            names = sorted(os.listdir(path))
            folder = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):
            return
        lines, stat, prefix = self.lines, os.stat, kind + "/"
        stats = self.stats[kind] = []
        try:
            for name in names:
                try:
                    found = stat(name, dir_fd=folder)
                except OSError:  # gone since the listing
                    continue
                stats.append((name, found))
                relpath = prefix + name
                lines[relpath] = _line(relpath, found.st_size, found.st_mtime_ns, found.st_ino)
        finally:
            os.close(folder)

    def updated(self, relpaths):
        """The scan of the store after this process wrote relpaths and nothing else changed: a stat
        of those files alone. A file changed by someone else meanwhile is not in it, so its
        fingerprints match no reader's scan and what is cached under them is never used. None when
        a path is not a file of a scanned folder (the caller scans again)."""
        new = StoreScan.__new__(StoreScan)
        new.root, new.lines, new.stats = self.root, dict(self.lines), None  # no load reads an updated scan
        added = False
        for relpath in relpaths:
            kind, _sep, name = relpath.partition("/")
            if kind not in SCANNED or not name or "/" in name:
                return None
            try:
                found = os.stat(os.path.join(self.root, relpath))
            except FileNotFoundError:
                new.lines.pop(relpath, None)
                continue
            added = added or relpath not in new.lines
            new.lines[relpath] = _line(relpath, found.st_size, found.st_mtime_ns, found.st_ino)
        if added:  # in the order of a scan: folder, then name
            order = {kind: number for number, kind in enumerate(SCANNED)}
            new.lines = dict(sorted(new.lines.items(), key=lambda item: (order[item[0].split("/", 1)[0]], item[0])))
        return new

    def fingerprint(self, extra=""):
        lines = list(self.lines.values())
        try:  # the journal of an interrupted edit: readers see the store as it will be rolled forward
            stat = os.stat(os.path.join(self.root, JOURNAL_NAME))
            lines.append("journal|%d|%d\n" % (stat.st_size, stat.st_mtime_ns))
        except OSError:
            pass
        body = "".join(lines).encode("utf-8")
        # the rules as well: a view says its store is valid, which a change of the rules can undo
        head = "%d|%s|%s|" % (VIEW_VERSION, rules_digest(), os.path.abspath(self.root))
        return hashlib.sha1((head + extra).encode("utf-8") + body).hexdigest()
