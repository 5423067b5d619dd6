# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Counts of the hardening tests (cases tried, refused, crashes, lost updates ...), gathered
across a pytest session and printed as one table at its end (see conftest.py).

Each test adds its counts under a section name; the table also goes to
``.build/hardening-report.json`` so that `make soak` leaves the figures behind.
"""

import json
import os
from collections import OrderedDict

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATH = os.path.join(REPO, ".build", "hardening-report.json")

COUNTS = OrderedDict()


def add(section, **counts):
    """Add counts (name=int) to a section of the report."""
    mine = COUNTS.setdefault(section, OrderedDict())
    for name, value in counts.items():
        mine[name] = mine.get(name, 0) + int(value)


def table():
    lines = []
    for section, counts in COUNTS.items():
        lines.append(
            "%s: %s" % (section, ", ".join("%s %d" % (name.replace("_", " "), value) for name, value in counts.items()))
        )
    return lines


def save():
    if not COUNTS:
        return None
    os.makedirs(os.path.dirname(PATH), exist_ok=True)
    with open(PATH, "w", encoding="utf-8") as handle:
        json.dump(COUNTS, handle, indent=1)
        handle.write("\n")
    return PATH
