# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

A cache of parsed record files, so that a store of 10,000 systems is not re-parsed from YAML by
every module run, inventory load and render (YAML parsing is most of the cost of a load).

Entries are keyed by the SHA-1 of the file's bytes, never by name or mtime: an entry only ever
stands for exactly the text it was parsed from, so no edit, checkout or clock skew can make the
cache stale. Beside the parse, the normalised data of a record that passed every rule of its own
is kept under its kind, name and a digest of the source of those rules (``store``), so a changed
rule checks every record again; the rules between records are checked on every load. Like the
views (``_views.cache``) these are trusted as the user's own files: the folder is created private
to the user (0700), and a file is read only while it and its folder belong to this user and no one
else can write to them (marshal data is loaded as it is: it must be the user's own).
The cache lives outside the record store (records are in git; the cache is per user):
``$BAREMETAL_CACHE_DIR``, else ``$XDG_CACHE_HOME/baremetal.provision``, else
``~/.cache/baremetal.provision``. ``BAREMETAL_CACHE=off`` disables it.
"""

from __future__ import annotations

import hashlib
import math
import os
import time

from ansible_collections.baremetal.provision.plugins.module_utils._records.cache_files import (
    cache_dir,
    enabled,
    read_cached,
    write_cached,
)

VERSION = 3


class _NotPlain(Exception):
    """A value JSON would not give back exactly."""


def _plain(value):
    """value rebuilt of the builtin types (the YAML loader's flow-style dict and list types become
    dict and list, so marshal writes the cache in one pass), or _NotPlain when JSON would not give it
    back exactly (dates, non-string keys, NaN)."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise _NotPlain()
        return float(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        if not all(isinstance(key, str) for key in value):
            raise _NotPlain()
        return {str(key): _plain(item) for key, item in value.items()}
    raise _NotPlain()


def _cacheable(value):
    """_plain(value), or None when it cannot be cached."""
    try:
        return _plain(value)
    except _NotPlain:
        return None


SHARDS = "0123456789abcdef"


class ParseCache(object):
    """parse(bytes) -> data, remembering results across runs in 16 files per store (by the first
    hex digit of the key), so that a run which parsed one edited file rewrites one sixteenth of the
    cache, not all of it.

    A 17th file maps each record file's path, size, modification and change times and inode to
    its content key, so that a file unchanged since the last load is not even read again. The
    change time (ctime) moves on every write and cannot be set back, and as in git's index a file
    changed less than RACY_NS before it was read is read again every time: a write in the same
    clock tick as that read could otherwise leave all four the same."""

    RACY_NS = 2 * 10**9

    TAG = "records %d" % VERSION  # the "fingerprint" of every file of this cache

    def __init__(self, root, parse):
        self.parse = parse
        self.enabled = enabled()
        self.prefix = os.path.join(
            cache_dir(), "records-%s" % hashlib.sha256(os.path.abspath(root).encode("utf-8")).hexdigest()[:16]
        )
        self.entries = {}
        self.loaded = dict.fromkeys(SHARDS, 0)  # entries read per shard
        self.used = {}
        self.dirty = set()  # shards that gained an entry
        self.stats = {}  # relpath -> (size, mtime_ns, ctime_ns, inode, key, read at ns) as last saved
        self.seen = {}  # the same for this load
        self.now = time.time_ns()
        if self.enabled:
            self._read()

    def _shard_path(self, shard):
        return "%s-%s.bin" % (self.prefix, shard)

    def _read(self):
        for shard in SHARDS:
            saved = read_cached(self._shard_path(shard), self.TAG)
            if isinstance(saved, dict):
                entries = {k: v for k, v in saved.items() if k[:1] == shard}
                self.entries.update(entries)
                self.loaded[shard] = len(entries)
        saved = read_cached(self.prefix + "-stat.bin", self.TAG)
        self.stats = saved if isinstance(saved, dict) else {}

    def known_key(self, relpath, stat):
        """The content key of a file whose (size, mtime_ns, ctime_ns, inode) is what it was when it
        was last read, well after its last change; else None (then read it)."""
        known = self.stats.get(relpath)
        if known is None or tuple(known[:4]) != stat or stat[2] >= known[5] - self.RACY_NS:
            return None
        self.seen[relpath] = known
        return known[4]

    def note_key(self, relpath, stat, key):
        if self.enabled:
            self.seen[relpath] = (*stat, key, self.now)

    def parsed(self, key):
        """The parsed data of the file of this key, when the cache has it, else None."""
        data = self.entries.get(key)
        if data is not None:
            self.used[key] = data
        return data

    def get(self, raw_bytes, key=None):
        """The parsed data of raw_bytes; parse errors propagate and are never cached."""
        if not self.enabled:
            return self.parse(raw_bytes)
        key = key or self.key(raw_bytes)
        if key in self.entries:
            data = self.entries[key]
        else:
            data = self.parse(raw_bytes)
            plain = _cacheable(data)
            if plain is None:
                return data
            self.dirty.add(key[0])
            self.used[key] = plain
            return data
        self.used[key] = data
        return data

    @staticmethod
    def key(raw_bytes):
        return hashlib.sha1(raw_bytes).hexdigest()

    def checked(self, key, label):
        """The normalised data remembered for the file of this key under label (its kind, name and
        the digest of the rules that checked it), or None."""
        if not self.enabled:
            return None
        entry = "%s|%s" % (key, label)
        data = self.entries.get(entry)
        if data is not None:
            self.used[entry] = data
        return data

    def remember_checked(self, key, label, data):
        """Remember the normalised data of a file that passed every rule of its own under label."""
        plain = _cacheable(data) if self.enabled else None
        if plain is not None:
            self.used["%s|%s" % (key, label)] = plain
            self.dirty.add(key[0])

    def save(self):
        """Rewrite the shards that gained an entry or would drop one this load did not use, and the
        file index when it changed."""
        if not self.enabled:
            return
        by_shard = {shard: {} for shard in SHARDS}
        for key, data in self.used.items():
            by_shard[key[0]][key] = data
        for shard, entries in by_shard.items():
            if shard not in self.dirty and len(entries) == self.loaded[shard]:
                continue
            write_cached(self._shard_path(shard), self.TAG, entries)
        if self.seen != self.stats:
            write_cached(self.prefix + "-stat.bin", self.TAG, self.seen)
