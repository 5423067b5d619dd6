# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Loading a store of 10,000 systems, or a view of it, creates about a million small objects in one
go. Python's cyclic garbage collector runs every few hundred allocations and, as the heap grows,
scans everything already loaded again and again: about a third of the load time, for data that
holds no reference cycles. ``gc_paused`` turns it off for such a bulk step and back on after it;
``settle_long_lived`` takes what a process keeps to its end (the inventory) out of its reach.
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


_FROZEN_SINCE_COLLECT = [0]


def settle_long_lived():
    """Call once a large structure that lives for the rest of the process is built (the inventory).

    Every object alive now moves to the collector's permanent generation (``gc.freeze``), so later
    collections, here and in the worker processes Ansible forks for every task, stop walking it:
    at 10,000 hosts that walk costs each playbook about half a second in the parent, and in a
    worker it touches every inherited page. What an earlier call froze and a later build replaced
    (the inventory before a ``refresh_inventory``) is kept for one build and collected at the next
    (a full collection costs about 0.2 s at 10,000 hosts), so the memory held stays bounded: at
    most one replaced inventory.
    """
    if _FROZEN_SINCE_COLLECT[0] >= 2:
        gc.unfreeze()
        gc.collect()
        _FROZEN_SINCE_COLLECT[0] = 0
    gc.freeze()
    _FROZEN_SINCE_COLLECT[0] += 1
