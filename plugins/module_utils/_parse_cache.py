# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

A cache of parsed record files, so that a store of 10,000 systems is not re-parsed from YAML by
every module run, inventory load and render (YAML parsing is most of the cost of a load).

Entries are keyed by the SHA-1 of the file's bytes, never by name or mtime: an entry only ever
stands for exactly the text it was parsed from, so no edit, checkout or clock skew can make the
cache stale. Only the parse is cached: every rule is still checked on every load, so even a
tampered cache file could not slip an unvalidated value into a generated config.
The cache lives outside the record store (records are in git; the cache is per user):
``$BAREMETAL_CACHE_DIR``, else ``$XDG_CACHE_HOME/baremetal.provision``, else
``~/.cache/baremetal.provision``. ``BAREMETAL_CACHE=off`` disables it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile

VERSION = 1


def enabled():
    """False when BAREMETAL_CACHE=off (or 0, no, false)."""
    return os.environ.get("BAREMETAL_CACHE", "on").lower() not in ("off", "0", "no", "false")


def cache_dir():
    explicit = os.environ.get("BAREMETAL_CACHE_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "baremetal.provision")


def _json_safe(value):
    """True when JSON gives back exactly this value (no dates, no non-string keys, no NaN)."""
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_json_safe(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_safe(v) for k, v in value.items())
    return False


class ParseCache(object):
    """parse(bytes) -> data, remembering results across runs in one JSON file per store."""

    def __init__(self, root, parse):
        self.parse = parse
        self.enabled = enabled()
        self.path = os.path.join(
            cache_dir(), "records-%s.json" % hashlib.sha256(os.path.abspath(root).encode("utf-8")).hexdigest()[:16]
        )
        self.entries = {}
        self.used = {}
        self.misses = 0
        if self.enabled:
            self._read()

    def _read(self):
        try:
            with open(self.path, "r", encoding="utf-8") as handle:
                saved = json.load(handle)
        except (OSError, ValueError):
            return
        if isinstance(saved, dict) and saved.get("version") == VERSION and isinstance(saved.get("entries"), dict):
            self.entries = saved["entries"]

    def get(self, raw_bytes):
        """The parsed data of raw_bytes; parse errors propagate and are never cached."""
        if not self.enabled:
            return self.parse(raw_bytes)
        key = hashlib.sha1(raw_bytes).hexdigest()
        if key in self.entries:
            data = self.entries[key]
        else:
            data = self.parse(raw_bytes)
            self.misses += 1
            if not _json_safe(data):
                return data
        self.used[key] = data
        return data

    def save(self):
        """Write the entries this load used (dropping the rest), if anything was new."""
        if not self.enabled or (not self.misses and len(self.used) == len(self.entries)):
            return
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(self.path), prefix=".records-")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"version": VERSION, "entries": self.used}, handle, separators=(",", ":"))
            os.replace(tmp, self.path)
        except OSError:
            pass  # a cache that cannot be written only costs time
