# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A segment's discovery field: its type, the rules it brings (dynamic range, next_server) and
the segment module that sets it."""

import pytest
from support.modules import run_module
from support.store import FILES, tree_digest, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore, render_record

DMZ = FILES["segments/dmz.yml"]
WITHOUT_RANGE = DMZ.replace("dynamic_range: [192.0.2.200, 192.0.2.250]\n", "")
WITHOUT_NEXT_SERVER = DMZ.replace("next_server: 192.0.2.1\n", "")
NEEDS_RANGE = (
    "segments/dmz.yml: dynamic_range: a segment with discovery: true needs dynamic_range: "
    "unknown machines get their addresses only from the dynamic range"
)
NEEDS_NEXT_SERVER = (
    "segments/dmz.yml: next_server: a segment with discovery: true needs next_server: "
    "the collector boots from and reports to the provisioner at next_server"
)


def messages(tmp_path, dmz):
    files = dict(FILES, **{"segments/dmz.yml": dmz})
    return [str(p) for p in RecordStore.load(write_store(tmp_path, files)).problems()]


def test_a_segment_with_discovery_and_its_range_and_next_server_is_valid(tmp_path):
    store = RecordStore.load(write_store(tmp_path, dict(FILES, **{"segments/dmz.yml": DMZ + "discovery: true\n"})))
    assert [str(p) for p in store.problems()] == []
    assert store.data("segments", "dmz")["discovery"] is True
    # written right after the dynamic range it needs
    assert "dynamic_range: [192.0.2.200, 192.0.2.250]\ndiscovery: true\nrelay" in render_record(
        "segments", dict(store.data("segments", "dmz"), relay="192.0.2.254")
    )


@pytest.mark.parametrize(
    "dmz, expected",
    [
        (WITHOUT_RANGE, [NEEDS_RANGE]),
        (WITHOUT_NEXT_SERVER, [NEEDS_NEXT_SERVER]),
        (WITHOUT_RANGE.replace("next_server: 192.0.2.1\n", ""), [NEEDS_RANGE, NEEDS_NEXT_SERVER]),
    ],
)
def test_discovery_needs_a_dynamic_range_and_a_next_server(tmp_path, dmz, expected):
    assert messages(tmp_path / "on", dmz + "discovery: true\n") == expected
    # the same segment without discovery (or with it off) breaks no rule
    assert messages(tmp_path / "off", dmz + "discovery: false\n") == []
    assert messages(tmp_path / "absent", dmz) == []


@pytest.mark.parametrize("value", ["1", "maybe", '"true"', "[true]"])
def test_discovery_is_a_boolean(tmp_path, value):
    problems = messages(tmp_path, DMZ + "discovery: %s\n" % value)
    assert len(problems) == 1 and problems[0].startswith("segments/dmz.yml: discovery: "), problems
    assert "is not a boolean (true or false)" in problems[0]


def test_the_segment_module_sets_discovery_and_refuses_it_without_a_range(tmp_path):
    records = write_store(tmp_path / "records")

    on = run_module("segment", dict(records_dir=records, name="dmz", discovery=True))
    assert on["changed"] and on["record"]["discovery"] is True, on
    assert (tmp_path / "records/segments/dmz.yml").read_text() == DMZ + "discovery: true\n"
    again = run_module("segment", dict(records_dir=records, name="dmz", discovery=True))
    assert not again["changed"], again

    # app has no dynamic range: refused, naming the record and the field, and nothing is written
    before = tree_digest(records)
    refused = run_module("segment", dict(records_dir=records, name="app", discovery=True))
    assert refused.get("failed") and not refused.get("changed"), refused
    assert "segments/app.yml: dynamic_range: a segment with discovery: true needs dynamic_range" in refused["msg"]
    assert tree_digest(records) == before
