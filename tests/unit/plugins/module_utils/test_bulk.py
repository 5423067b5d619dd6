# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The garbage-collector helpers: what they freeze is left alone, and nothing frozen leaks."""

import gc
import weakref

from ansible_collections.baremetal.provision.plugins.module_utils._runner import collector as _bulk


class _Node(object):
    def __init__(self):
        self.me = self  # a reference cycle: only the cyclic collector can free it


def test_gc_paused_restores_the_collector_as_it_was():
    assert gc.isenabled()
    with _bulk.gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with _bulk.gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_settle_long_lived_freezes_and_frees_what_was_dropped_two_calls_later(monkeypatch):
    monkeypatch.setattr(_bulk, "_FROZEN_SINCE_COLLECT", [0])
    try:
        kept, dropped = _Node(), _Node()
        gone = weakref.ref(dropped)
        _bulk.settle_long_lived()  # the inventory is built
        assert gc.get_freeze_count() > 0
        del dropped
        gc.collect()
        assert gone() is not None  # frozen: the collector does not see it
        _bulk.settle_long_lived()  # a refresh: the replaced structure is kept for one more build
        assert gone() is not None
        _bulk.settle_long_lived()  # the next refresh collects it
        assert gone() is None and kept.me is kept
    finally:
        gc.unfreeze()
