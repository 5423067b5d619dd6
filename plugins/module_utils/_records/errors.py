# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Domain exceptions. Every problem names the record file and the field it is about, so that a
refusal can always be read as "which file, which line of it, why".
"""

from __future__ import annotations


class Problem(object):
    """One thing wrong with one field of one record."""

    __slots__ = ("field", "message", "path", "topic")

    def __init__(self, path, field, message, topic=None):
        self.path = path
        self.field = field
        self.message = message
        # what the problem is about, when the message says more than that (the others that share a
        # value): a change that only changes the more is not a new problem of that field
        self.topic = topic or message

    def key(self):
        return (self.path, self.field or "", self.message)

    def about(self):
        """(path, field, topic): the same for a problem whose message changed only in its detail."""
        return (self.path, self.field or "", self.topic)

    def __eq__(self, other):
        return isinstance(other, Problem) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def __lt__(self, other):
        return self.key() < other.key()

    def __str__(self):
        if self.field:
            return "%s: %s: %s" % (self.path, self.field, self.message)
        return "%s: %s" % (self.path, self.message)

    __repr__ = __str__

    def as_dict(self):
        return {"path": self.path, "field": self.field, "message": self.message}


class StoreError(Exception):
    """A refusal. Carries every problem found, each naming its record file and field."""

    def __init__(self, problems, summary=None):
        if isinstance(problems, Problem):
            problems = [problems]
        self.problems = sorted(set(problems))
        self.summary = summary
        super(StoreError, self).__init__(self.message)

    @property
    def message(self):
        lines = [str(p) for p in self.problems]
        head = self.summary or ("the record store has %d problem%s" % (len(lines), "" if len(lines) == 1 else "s"))
        if len(lines) == 1 and not self.summary:
            return lines[0]
        return head + ":\n  " + "\n  ".join(lines) if lines else head


class LockTimeout(StoreError):
    """Another run holds the store's lock for longer than we are willing to wait."""
