# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A provisioner renders only records at least as new as the ones it was last rendered from."""

import pytest

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import revision as R


def _sync(state, revision, check_mode=False, fail=False):
    """One guarded sync; returns what the guard yielded (None: it rendered)."""
    with R.guarded(str(state), revision, check_mode) as newer:
        if fail and newer is None:
            raise RuntimeError("the render failed")
        return newer


def test_first_render_and_descendants_render_and_are_remembered(tmp_path):
    assert _sync(tmp_path, {"commit": "a1", "history": ["a1"]}) is None
    assert R.last_commit(str(tmp_path)) == "a1"
    assert _sync(tmp_path, {"commit": "b2", "history": ["b2", "a1"]}) is None
    assert R.last_commit(str(tmp_path)) == "b2"


def test_records_that_do_not_know_the_provisioners_commit_are_not_rendered(tmp_path):
    _sync(tmp_path, {"commit": "b2", "history": ["b2", "a1"]})

    assert _sync(tmp_path, {"commit": "a1", "history": ["a1", "x0"]}) == "b2"
    assert R.last_commit(str(tmp_path)) == "b2"


def test_replaces_renders_only_over_the_commit_it_names(tmp_path):
    _sync(tmp_path, {"commit": "b2", "history": ["b2"]})

    assert _sync(tmp_path, {"commit": "c3", "history": ["c3"], "replaces": "zz"}) == "b2"
    assert _sync(tmp_path, {"commit": "c3", "history": ["c3"], "replaces": "b2"}) is None
    assert R.last_commit(str(tmp_path)) == "c3"


def test_a_failed_render_and_check_mode_remember_nothing(tmp_path):
    _sync(tmp_path, {"commit": "a1", "history": ["a1"]})

    with pytest.raises(RuntimeError):
        _sync(tmp_path, {"commit": "b2", "history": ["b2", "a1"]}, fail=True)
    assert _sync(tmp_path, {"commit": "c3", "history": ["c3"]}, check_mode=True) is None
    assert R.last_commit(str(tmp_path)) == "a1"


def test_without_a_revision_every_sync_renders_and_leaves_the_commit(tmp_path):
    _sync(tmp_path, {"commit": "a1", "history": ["a1"]})

    assert _sync(tmp_path, None) is None
    assert R.last_commit(str(tmp_path)) == "a1"


def test_the_state_dir_is_the_web_or_tftp_components(tmp_path):
    assert R.state_dir_of({"web": {"state_dir": "/w"}, "tftp": {"state_dir": "/t"}}, "/d") == "/w"
    assert R.state_dir_of({"web": None, "tftp": {"state_dir": "/t"}}, "/d") == "/t"
    assert R.state_dir_of({"dhcp": {}}, "/d") == "/d"
