# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

What rendering each system's files gave last time, so that a sync renders only the systems whose
inputs changed (a replace renders one system of 10,000, not all of them).

An entry maps a system to the digest of every input of its render (the system as the view has
it, plus what the component adds: armed or not, base URLs, the template's text, the secrets) and
to the SHA-1 of each file that render gave. It is a cache of a pure function, so it never has to
agree with the tree: the tree sync trusts an entry only when the tree's manifest has the same
SHA-1 for the file and the file is there, and renders the system again otherwise. A memo from
other code (the renderers' source or jinja2's version differ) or one that cannot be read counts
as empty.

One file per component in the state directory: ``render-<component>.json``. It does not depend on
the tree (the render of the same inputs gives the same files wherever they go); a state directory
shared by two trees of one component keeps the systems of the last sync only.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os

from .netboot import read_json, write_json

VERSION = 1


def code_digest(modules, extra=""):
    """SHA-1 of the source of the modules that render and of extra (a library's version); None
    when a source cannot be read, and then there is no memo."""
    digest = hashlib.sha1(extra.encode("utf-8"))
    for module in modules:
        try:
            source = module.__loader__.get_source(module.__name__)
        except (AttributeError, ImportError, OSError):
            return None
        if source is None:
            return None
        digest.update(b"\x00" + (source.encode("utf-8") if isinstance(source, str) else source))
    return digest.hexdigest()


def key(inputs):
    """The digest of one system's render inputs (plain data).

    marshal's version 2 (no back-references) is a faithful encoding, several times faster than
    JSON: equal digests mean equal inputs. The same data in another key order or of dict
    subclasses (JSON then) only gives another digest, and the system is rendered again.
    """
    try:
        data = b"m" + marshal.dumps(inputs, 2)
    except ValueError:
        data = b"j" + json.dumps(inputs, separators=(",", ":"), default=str).encode("utf-8")
    return hashlib.sha1(data).hexdigest()


def memo_path(state_dir, component):
    return os.path.join(state_dir, "render-%s.json" % component)


class Memo(object):
    """The memo of one component: lookup, record, then save what this sync rendered."""

    def __init__(self, path=None, code=None):
        """The memo in the file path for the renderers of code (see code_digest); without either, a
        memo that remembers nothing and saves nothing: every system is rendered."""
        self.path = path
        self.code = code if path else None
        self.old = {}
        self.loaded = False  # whether the memo file was read, valid, for this code
        if self.code is not None:
            data = read_json(self.path, {})
            if data.get("version") == VERSION and data.get("code") == code and isinstance(data.get("systems"), dict):
                self.old = data["systems"]
                self.loaded = True
        self.new = {}
        self.rendered = []

    def lookup(self, name, digest):
        """{relpath: sha1} of the system's files when its inputs are unchanged, else None."""
        entry = self.old.get(name)
        if isinstance(entry, list) and len(entry) == 2 and entry[0] == digest and isinstance(entry[1], dict):
            self.new[name] = entry
            return entry[1]
        return None

    def files_of(self, name):
        """{relpath: sha1} of the files the system's last render gave (empty when not known)."""
        entry = self.old.get(name)
        return entry[1] if isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], dict) else {}

    def carry(self, changed):
        """Keep every system's entry but those of changed (a sync of changed systems only)."""
        self.new.update((name, entry) for name, entry in self.old.items() if name not in changed)

    def record(self, name, digest, files):
        """A system just rendered: its input digest and its files ({relpath: sha1})."""
        self.new[name] = [digest, files]
        self.rendered.append(name)

    def save(self):
        """Write the memo of this sync's systems (only when it differs from the one read)."""
        if self.code is None or self.new == self.old:
            return
        write_json(self.path, {"version": VERSION, "code": self.code, "systems": self.new}, mode=0o600)
