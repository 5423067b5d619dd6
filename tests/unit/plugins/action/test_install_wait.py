# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""install_wait's reading of the provisioner's clock: a skew is corrected, a slow round trip is not
one (read as one, it moved the start past the stages already seen, and the wait showed only the
callback)."""

import pytest

from ansible_collections.baremetal.provision.plugins.action.install_wait import CLOCK_SKEW, _clock_offset


def test_the_same_clock_over_a_slow_round_trip_is_no_skew():
    # asked at 100, answered 6 s later; the module read the clock early, late, or in the middle
    for now in (100.0, 100.2, 103.0, 105.9, 106.0):
        assert _clock_offset({"now": now}, 100.0, 106.0) == 0.0


def test_a_clock_off_by_less_than_the_skew_is_taken_as_the_same():
    assert _clock_offset({"now": 100.0 - CLOCK_SKEW + 0.1}, 100.0, 100.1) == 0.0
    assert _clock_offset({"now": 100.1 + CLOCK_SKEW - 0.1}, 100.0, 100.1) == 0.0


@pytest.mark.parametrize("ahead", [30.0, -30.0, 2.5, -2.5])
def test_a_provisioner_clock_ahead_or_behind_is_measured_from_the_round_trips_middle(ahead):
    assert _clock_offset({"now": 100.05 + ahead}, 100.0, 100.1) == pytest.approx(ahead)


def test_an_answer_without_a_clock_is_taken_as_the_same_clock():
    assert _clock_offset({}, 100.0, 100.1) == 0.0
    assert _clock_offset({"now": "soon"}, 100.0, 100.1) == 0.0
