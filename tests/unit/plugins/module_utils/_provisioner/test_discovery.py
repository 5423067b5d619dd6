# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collector's report (schema 1) and the discovery spool: every field's rule, refusals that
name the field, one entry per boot MAC, the service's limits, and a spool that survives damage."""

import copy
import json
import os

import pytest

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import discovery as D

MAC = "52:54:00:12:34:56"
T0 = 1796601600.0  # 2026-12-07T00:00:00Z


def report(**changes):
    """A full valid report; changes: dotted paths to new values (``nics[0].mac``), None deletes."""
    data = {
        "schema": 1,
        "collector": "baremetal.provision-collector/1",
        "boot": {"mac": MAC, "source": "bootif", "mode": "uefi"},
        "system": {
            "vendor": "QEMU",
            "product": "Standard PC (Q35 + ICH9, 2009)",
            "serial": "SN-0001",
            "uuid": "4c4c4544-0042-3510-8044-b4c04f4e3232",
        },
        "cpus": 4,
        "memory_mib": 8192,
        "nics": [
            {"name": "eth0", "mac": MAC, "carrier": True, "speed_mbps": 1000},
            {"name": "eth1", "mac": "52:54:00:12:34:57", "carrier": False, "speed_mbps": None},
        ],
        "disks": [
            {
                "name": "sda",
                "size_bytes": 480103981056,
                "model": "QEMU HARDDISK",
                "serial": "QM00001",
                "wwn": "0x5000c500a1b2c3d4",
                "rotational": False,
            }
        ],
        "bmc": {"ip": "192.0.2.250", "mac": "52:54:00:aa:bb:cc"},
    }
    for path, value in changes.items():
        _set(data, path, value)
    return data


def _set(data, path, value, delete=False):
    parts = path.replace("[", ".").replace("]", "").split(".")
    target = data
    for part in parts[:-1]:
        target = target[int(part)] if isinstance(target, list) else target[part]
    last = int(parts[-1]) if isinstance(target, list) else parts[-1]
    if delete:
        del target[last]
    else:
        target[last] = value


def test_a_full_report_is_accepted_and_kept_as_it_is():
    data = report()
    assert D.check_report(copy.deepcopy(data)) == data


def test_the_report_is_normalised():
    checked = D.check_report(
        report(
            **{
                "boot.mac": "52-54-00-12-34-56",
                "nics[0].mac": "52:54:00:12:34:56".upper(),
                "nics[1].mac": "52-54-00-12-34-57",
                "system.uuid": "4C4C4544-0042-3510-8044-B4C04F4E3232",
                "system.vendor": "  Dell Inc.  ",
                "bmc.mac": "52-54-00-AA-BB-CC",
            }
        )
    )
    assert checked["boot"]["mac"] == MAC
    assert [nic["mac"] for nic in checked["nics"]] == [MAC, "52:54:00:12:34:57"]
    assert checked["system"]["uuid"] == "4c4c4544-0042-3510-8044-b4c04f4e3232"
    assert checked["system"]["vendor"] == "Dell Inc."
    assert checked["bmc"]["mac"] == "52:54:00:aa:bb:cc"


@pytest.mark.parametrize(
    "changes",
    [
        {"bmc": None},
        {"bmc.mac": ""},
        {"system.uuid": "", "system.serial": "", "system.vendor": "", "system.product": ""},
        {"boot.source": "carrier", "boot.mode": "bios"},
        {"boot.source": "only", "boot.mode": "unknown"},
        {"boot.source": "redfish", "nics": []},
        {"nics[0].carrier": None, "nics[0].speed_mbps": 0},
        {"disks": []},
        {"disks[0].rotational": None, "disks[0].size_bytes": 0},
        {"cpus": 0, "memory_mib": 0},
        {"cpus": 100000, "memory_mib": 2**32},
        {
            "nics": [
                {"name": "n%d" % i, "mac": "52:54:00:00:00:%02x" % i, "carrier": None, "speed_mbps": None}
                for i in range(63)
            ]
            + [{"name": "eth0", "mac": MAC, "carrier": True, "speed_mbps": 1}]
        },
        {
            "disks": [
                {"name": "d%d" % i, "size_bytes": i, "model": "", "serial": "", "wwn": "", "rotational": None}
                for i in range(128)
            ]
        },
        {"system.vendor": "Ünïcode vendor ✓ 日本", "collector": "c" * 64, "system.serial": "s" * 128},
    ],
    ids=",".join,
)
def test_each_documented_shape_is_accepted(changes):
    checked = D.check_report(report(**changes))
    assert checked["boot"]["mac"] == MAC


LONG = "x" * 129
BAD = [
    # path, value, words the message must hold
    ("schema", 2, "must be 1"),
    ("schema", True, "must be 1"),
    ("schema", "1", "must be 1"),
    ("schema", 1.0, "must be 1"),
    ("collector", "", "must not be empty"),
    ("collector", "c" * 65, "at most 64"),
    ("collector", 1, "must be a string"),
    ("boot.mac", "52:54:00:12:34", "not a MAC address"),
    ("boot.mac", "01:00:5e:00:00:01", "multicast"),
    ("boot.mac", "ff:ff:ff:ff:ff:ff", "broadcast"),
    ("boot.mac", "00:00:00:00:00:00", "all-zero"),
    ("boot.mac", "5254.0012.3456", "not a MAC address"),
    ("boot.mac", "52:54:00:12:34:56\n", "U+000A"),
    ("boot.mac", None, "must be a string"),
    ("boot.source", "pxe", "must be one of bootif, carrier, only, redfish"),
    ("boot.mode", "UEFI", "must be one of bios, uefi, unknown"),
    ("system.vendor", "Dell\nInc.", "U+000A"),
    ("system.vendor", "Dell\rInc.", "U+000D"),
    ("system.vendor", "tab\there", "U+0009"),
    ("system.vendor", "nul\x00", "U+0000"),
    ("system.vendor", "del\x7f", "U+007F"),
    ("system.vendor", "c1\x9b", "U+009B"),
    ("system.vendor", "nel\x85", "U+0085"),
    ("system.vendor", "ls\u2028", "U+2028"),
    ("system.vendor", "ps\u2029", "U+2029"),
    ("system.vendor", "lone\ud800", "U+D800"),
    ("system.product", LONG, "at most 128"),
    ("system.serial", 12345, "must be a string"),
    ("system.uuid", "4c4c4544004235108044b4c04f4e3232", "not a UUID"),
    ("system.uuid", "{4c4c4544-0042-3510-8044-b4c04f4e3232}", "not a UUID"),
    ("system.uuid", "urn:uuid:4c4c4544-0042-3510-8044-b4c04f4e3232", "not a UUID"),
    ("system.uuid", "4c4c4544-0042-3510-8044-b4c04f4e323", "not a UUID"),
    ("system.uuid", "gggggggg-0042-3510-8044-b4c04f4e3232", "not a UUID"),
    ("cpus", True, "must be an integer, got a boolean"),
    ("cpus", 4.0, "must be an integer, got a number"),
    ("cpus", "4", "must be an integer, got a string"),
    ("cpus", -1, "between 0 and 100000"),
    ("cpus", 100001, "between 0 and 100000"),
    ("memory_mib", 2**32 + 1, "between 0 and"),
    ("memory_mib", False, "must be an integer"),
    ("nics", {}, "must be a list"),
    ("nics[0].mac", "33:33:00:00:00:01", "multicast"),
    ("nics[1].mac", MAC, "is also nics[0].mac"),
    ("nics[0].name", "n" * 33, "at most 32"),
    ("nics[0].carrier", 1, "true, false or null"),
    ("nics[0].carrier", "yes", "true, false or null"),
    ("nics[0].speed_mbps", True, "must be an integer"),
    ("nics[0].speed_mbps", -1, "between 0 and"),
    ("disks", "sda", "must be a list"),
    ("disks[0].size_bytes", "480G", "must be an integer"),
    ("disks[0].size_bytes", 2**64 + 1, "between 0 and"),
    ("disks[0].rotational", 0, "true, false or null"),
    ("disks[0].wwn", "${jndi:ldap://x}\n", "U+000A"),
    ("disks[0].model", LONG, "at most 128"),
    ("bmc", [], "must be an object"),
    ("bmc.ip", "192.0.2.256", "not an IPv4 address"),
    ("bmc.ip", "2001:db8::1", "not an IPv4 address"),
    ("bmc.mac", "not-a-mac", "not a MAC address"),
]


@pytest.mark.parametrize("path, value, words", BAD, ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None)
def test_each_bad_field_is_refused_by_its_path(path, value, words):
    data = report(**{path: value})
    with pytest.raises(D.ReportError) as caught:
        D.check_report(data)
    expected = path if not path.startswith(("nics[", "disks[")) or "." in path else path.split("[")[0]
    assert caught.value.field == expected
    assert str(caught.value).startswith(expected + ": ")
    assert words in caught.value.message
    # the value is shown escaped: no raw control character or line break reaches a message
    assert str(caught.value).isprintable() and str(caught.value).isascii()


@pytest.mark.parametrize(
    "path, field",
    [
        ("color", "report"),
        ("boot.vlan", "boot"),
        ("system.asset_tag", "system"),
        ("nics[0].lldp", "nics[0]"),
        ("disks[0].partitions", "disks[0]"),
        ("bmc.user", "bmc"),
    ],
)
def test_unknown_keys_are_refused_anywhere(path, field):
    with pytest.raises(D.ReportError) as caught:
        D.check_report(report(**{path: "x"}))
    assert caught.value.field == field and "unknown key" in caught.value.message


@pytest.mark.parametrize("path", ["schema", "bmc", "boot.mode", "system.uuid", "nics[0].speed_mbps", "disks[0].wwn"])
def test_missing_keys_are_refused(path):
    data = report()
    _set(data, path, None, delete=True)
    with pytest.raises(D.ReportError) as caught:
        D.check_report(data)
    assert caught.value.field == path and caught.value.message == "is missing"


def test_oversize_lists_and_the_boot_nic_rule():
    nic = {"name": "x", "carrier": None, "speed_mbps": None}
    nics = [dict(nic, mac="52:54:00:00:01:%02x" % i) for i in range(65)]
    with pytest.raises(D.ReportError, match=r"^nics: has 65 items, at most 64"):
        D.check_report(report(nics=nics))
    disk = {"name": "d", "size_bytes": 1, "model": "", "serial": "", "wwn": "", "rotational": None}
    with pytest.raises(D.ReportError, match=r"^disks: has 129 items, at most 128"):
        D.check_report(report(disks=[disk] * 129))
    with pytest.raises(D.ReportError, match=r"^nics: no NIC has the boot MAC 52:54:00:12:34:56"):
        D.check_report(report(nics=[]))
    with pytest.raises(D.ReportError, match=r"^report: must be an object, got a list"):
        D.check_report([report()])


def test_a_long_hostile_value_is_shown_escaped_and_truncated():
    hostile = "{{ lookup('pipe', 'id') }}\n${IFS}" + "A" * 5000
    with pytest.raises(D.ReportError) as caught:
        D.check_report(report(**{"system.product": hostile}))
    text = str(caught.value)
    assert "\\n" in text and "\n" not in text and len(text) < 200 and "more)" in text


@pytest.mark.parametrize(
    "body, words",
    [
        (b"{", "is not JSON"),
        (b"\xff\xfe{}", "is not UTF-8"),
        (b"[" * 5000 + b"]" * 5000, "nests deeper than"),
        (b'{"schema": NaN}', "NaN is not a JSON value"),
        (b'{"schema": 1, "schema": 1}', "repeats the key 'schema'"),
        (b"1" * 5000, "is not JSON"),
        (b"", "is not JSON"),
    ],
)
def test_bodies_that_are_not_one_json_report_are_refused(body, words):
    with pytest.raises(D.ReportError) as caught:
        D.parse_report(body)
    assert caught.value.field == "report" and words in caught.value.message


def test_a_json_body_is_parsed_and_checked():
    assert D.parse_report(json.dumps(report()).encode("utf-8")) == report()
    with pytest.raises(D.ReportError) as caught:
        D.parse_report(json.dumps(report(**{"nics[1].mac": "01:00:00:00:00:01"})).encode())
    assert caught.value.field == "nics[1].mac"


def _read(spool, name):
    with open(os.path.join(spool, name), "rb") as handle:
        return handle.read()


def _files(spool):
    return sorted(name for name in os.listdir(spool) if not name.startswith("."))


def test_the_same_mac_twice_is_one_entry_counted_twice(tmp_path):
    spool, limits = str(tmp_path / "spool"), D.Limits(min_interval=30)
    assert D.write_report(spool, report(), "192.0.2.50", T0, limits)[0] == 201
    status, message = D.write_report(spool, report(cpus=8), "192.0.2.51", T0 + 31, limits)
    assert (status, message) == (200, "52:54:00:12:34:56 updated (report 2)")
    assert _files(spool) == ["52-54-00-12-34-56.json"]
    entries, problems = D.read_spool(spool)
    assert problems == []
    assert entries == [
        {
            "mac": MAC,
            "report": report(cpus=8),
            "source_ip": "192.0.2.51",
            "first_seen": "2026-12-07T00:00:00Z",
            "last_seen": "2026-12-07T00:00:31Z",
            "reports": 2,
        }
    ]


def test_rate_limits_refuse_and_change_nothing(tmp_path):
    spool, limits = str(tmp_path / "spool"), D.Limits(min_interval=30, per_source=2)
    assert D.write_report(spool, report(), "192.0.2.50", T0, limits)[0] == 201
    before = _read(spool, "52-54-00-12-34-56.json")
    status, message = D.write_report(spool, report(cpus=8), "192.0.2.50", T0 + 10, limits)
    assert status == 429 and "at most one report per 30 s" in message
    assert _read(spool, "52-54-00-12-34-56.json") == before
    other = report(**{"boot.mac": "52:54:00:00:00:02", "nics[0].mac": "52:54:00:00:00:02"})
    third = report(**{"boot.mac": "52:54:00:00:00:03", "nics[0].mac": "52:54:00:00:00:03"})
    assert D.write_report(spool, other, "192.0.2.50", T0 + 11, limits)[0] == 201
    status, message = D.write_report(spool, third, "192.0.2.50", T0 + 12, limits)
    assert status == 429 and "192.0.2.50 sent 2 reports in the last 60 s, at most 2" in message
    assert _files(spool) == ["52-54-00-00-00-02.json", "52-54-00-12-34-56.json"]
    # another source is not limited by the first; the first is again after a minute
    assert D.write_report(spool, third, "192.0.2.60", T0 + 12, limits)[0] == 201
    fourth = report(**{"boot.mac": "52:54:00:00:00:04", "nics[0].mac": "52:54:00:00:00:04"})
    assert D.write_report(spool, fourth, "192.0.2.50", T0 + 61, limits)[0] == 201


def test_a_full_spool_refuses_new_macs_and_still_updates_known_ones(tmp_path):
    spool, limits = str(tmp_path / "spool"), D.Limits(max_entries=2, min_interval=0, per_source=0)
    macs = ["52:54:00:00:00:%02x" % i for i in (2, 4, 6)]
    results = [
        D.write_report(spool, report(**{"boot.mac": mac, "nics[0].mac": mac}), "192.0.2.50", T0, limits) for mac in macs
    ]
    assert [status for status, _message in results] == [201, 201, 507]
    assert results[2][1] == "the spool holds 2 entries, its limit; 52:54:00:00:00:06 is not recorded"
    assert _files(spool) == ["52-54-00-00-00-02.json", "52-54-00-00-00-04.json"]
    update = report(**{"boot.mac": macs[0], "nics[0].mac": macs[0], "cpus": 2})
    assert D.write_report(spool, update, "192.0.2.50", T0 + 1, limits)[0] == 200


def test_write_report_refuses_a_bad_report_and_writes_nothing(tmp_path):
    spool = str(tmp_path / "spool")
    with pytest.raises(D.ReportError):
        D.write_report(spool, report(cpus=-1), "192.0.2.50", T0, D.Limits())
    assert not os.path.exists(spool) or _files(spool) == []


def test_remove_entries_is_idempotent_and_honours_check_mode(tmp_path):
    spool, limits = str(tmp_path / "spool"), D.Limits(min_interval=0, per_source=0)
    for mac in ("52:54:00:00:00:02", "52:54:00:00:00:04"):
        D.write_report(spool, report(**{"boot.mac": mac, "nics[0].mac": mac}), "192.0.2.50", T0, limits)
    assert D.remove_entries(spool, ["52-54-00-00-00-02", "52:54:00:00:00:08"], check_mode=True) == ["52:54:00:00:00:02"]
    assert len(_files(spool)) == 2
    assert D.remove_entries(spool, ["52-54-00-00-00-02".upper(), "52:54:00:00:00:08"]) == ["52:54:00:00:00:02"]
    assert _files(spool) == ["52-54-00-00-00-04.json"]
    assert D.remove_entries(spool, ["52:54:00:00:00:02"]) == []
    assert D.remove_entries(str(tmp_path / "none"), ["52:54:00:00:00:02"]) == []
    with pytest.raises(D.ReportError, match=r"^macs\[1\]: is not a MAC address"):
        D.remove_entries(spool, ["52:54:00:00:00:04", "bogus"])
    assert _files(spool) == ["52-54-00-00-00-04.json"]


def test_a_damaged_spool_file_is_a_problem_never_a_crash(tmp_path):
    spool, limits = str(tmp_path / "spool"), D.Limits()
    D.write_report(spool, report(), "192.0.2.50", T0, limits)
    good = json.loads(_read(spool, "52-54-00-12-34-56.json"))
    damaged = {
        "52-54-00-00-00-02.json": b'{"mac": "52:54:00:00:00:02", "rep',
        "52-54-00-00-00-04.json": b"\xff\xfe",
        "52-54-00-00-00-06.json": json.dumps(dict(good, reports=0)).encode(),
        "52-54-00-00-00-08.json": json.dumps(good).encode(),  # another MAC's entry under this name
        "52-54-00-00-00-0a.json": json.dumps(dict(good, report=report(cpus="many"))).encode(),
        "52-54-00-00-00-0c.json": b"[]",
        "notes.txt": b"hello",
    }
    for name, data in damaged.items():
        with open(os.path.join(spool, name), "wb") as handle:
            handle.write(data)
    os.mkdir(os.path.join(spool, "52-54-00-00-00-0e.json"))
    entries, problems = D.read_spool(spool)
    assert [entry["mac"] for entry in entries] == [MAC]
    assert len(problems) == len(damaged) + 1
    for name in [*damaged, "52-54-00-00-00-0e.json"]:
        assert any(problem.startswith((name, "'%s'" % name)) for problem in problems), name
    assert any("cpus: must be an integer" in problem for problem in problems)
    # a damaged entry of a reporting MAC is replaced by the new report
    bad = "52-54-00-00-00-02.json"
    mac = "52:54:00:00:00:02"
    assert D.write_report(spool, report(**{"boot.mac": mac, "nics[0].mac": mac}), "192.0.2.9", T0, limits)[0] == 201
    assert not any(problem.startswith(bad) for problem in D.read_spool(spool)[1])


def test_a_missing_spool_holds_nothing():
    assert D.read_spool("/nonexistent/bm-spool") == ([], [])
