# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Loading a store of 10,000 systems, or a view of it, creates about a million small objects in one
go. Python's cyclic garbage collector runs every few hundred allocations and, as the heap grows,
scans everything already loaded again and again: about a third of the load time, for data that
holds no reference cycles. ``gc_paused`` turns it off for such a bulk step and back on after it.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def gc_paused():
    """Run the block with the cyclic garbage collector off (restored afterwards if it was on)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
