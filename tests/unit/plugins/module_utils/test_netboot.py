# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Netboot once: tokens, their refusals, the state files."""

import os
import stat

import pytest

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import netboot as N

SECRET = b"k" * 32
INDEX = {"web01": {"generation": 2, "macs": ["52:54:00:12:34:56"], "ip": "192.0.2.50"}}


def test_a_valid_token_is_accepted_once():
    token = N.make_token(SECRET, "web01", 2)
    assert N.check_token(SECRET, token, INDEX, {}) == (True, "web01", 2)
    assert N.check_token(SECRET, token, INDEX, {"web01": 1}) == (True, "web01", 2)
    ok, reason, _gen = N.check_token(SECRET, token, INDEX, {"web01": 2})
    assert not ok and "replayed" in reason


@pytest.mark.parametrize(
    "token, reason",
    [
        (N.make_token(b"another provisioner" * 2, "web01", 2), "bad signature"),
        (N.make_token(SECRET, "web01", 2)[:-1] + "0", "bad signature"),
        (N.make_token(SECRET, "web01", 1), "stale token"),
        (N.make_token(SECRET, "web01", 3), "stale token"),
        (N.make_token(SECRET, "web02", 2), "not served"),
        ("", "malformed"),
        ("web01.2", "malformed"),
        ("../../etc/passwd", "malformed"),
        ("web01.2." + "A" * 64, "malformed"),
        ("web01.02." + "a" * 64, "malformed"),
        ("web01.2." + "a" * 65, "malformed"),
        ("WEB01.2." + "a" * 64, "malformed"),
        ("web01.2." + "a" * 64 + "\n", "malformed"),
        ("x" * 100000, "malformed"),
    ],
)
def test_refused_tokens(token, reason):
    ok, why, generation = N.check_token(SECRET, token, INDEX, {})
    assert not ok and reason in why and generation is None


def test_a_token_names_system_and_generation():
    assert N.parse_token(N.make_token(SECRET, "web-01", 12))[:2] == ("web-01", 12)


def test_armed_only_while_requested_is_newer():
    assert N.is_armed(1, None) and N.is_armed(2, 1)
    assert not N.is_armed(1, 1) and not N.is_armed(1, 2)


def test_secret_is_private_and_stable(tmp_path):
    state = str(tmp_path / "state")
    first = N.load_secret(state)
    assert len(first) == 32
    assert stat.S_IMODE(os.stat(os.path.join(state, N.SECRET)).st_mode) == 0o600
    assert N.load_secret(state) == first
    with pytest.raises(FileNotFoundError):
        N.load_secret(str(tmp_path / "other"), create=False)


def test_completed_state_ignores_garbage(tmp_path):
    state = str(tmp_path)
    assert N.read_completed(state) == {}
    (tmp_path / N.COMPLETED).write_text('{"web01": 2, "bad": "x", "worse": null}')
    assert N.read_completed(state) == {"web01": 2}
    (tmp_path / N.COMPLETED).write_text("not json")
    assert N.read_completed(state) == {}
    N.write_json(os.path.join(state, N.COMPLETED), {"web01": 3})
    assert N.read_completed(state) == {"web01": 3}
