# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redfish documents to discovery reports: captured documents of sushy-tools' emulator and of the
mockup in tests/fixtures/redfish-mockup, then the same with hostile and missing values."""

import copy
import http.server
import json
import os
import threading

import pytest
from support.ansible_cli import REPO
from support.line_breaks import LINE_BREAKS, char_id

from ansible_collections.baremetal.provision.plugins.module_utils._bmc import redfish as rf
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.discovery import check_report

MOCKUP = os.path.join(REPO, "tests", "fixtures", "redfish-mockup")
BMC = "198.51.100.7"
SYSTEM_URL = "https://198.51.100.7/redfish/v1/Systems/1"

# Captured from sushy-emulator 2.2.0, fake driver (trimmed of links the conversion does not read).
SUSHY_SYSTEM = {
    "@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem",
    "Id": "8a1b2c3d-0000-4000-8000-000000000001",
    "Name": "spare-1",
    "UUID": "8a1b2c3d-0000-4000-8000-000000000001",
    "Manufacturer": "Sushy Emulator",
    "Status": {"State": "Enabled", "Health": "OK", "HealthRollUp": "OK"},
    "PowerState": "Off",
    "Boot": {
        "BootSourceOverrideEnabled": "Continuous",
        "BootSourceOverrideTarget": "Hdd",
        "BootSourceOverrideMode": "UEFI",
        "HttpBootUri": "None",
    },
    "ProcessorSummary": {"Status": {"State": "Enabled", "Health": "OK", "HealthRollUp": "OK"}},
    "MemorySummary": {"Status": {"State": "Enabled", "Health": "OK", "HealthRollUp": "OK"}},
    "EthernetInterfaces": {"@odata.id": "/redfish/v1/Systems/8a1b2c3d-0000-4000-8000-000000000001/EthernetInterfaces"},
    "@odata.id": "/redfish/v1/Systems/8a1b2c3d-0000-4000-8000-000000000001",
}


def sushy_nic(mac):
    return {
        "@odata.type": "#EthernetInterface.v1_0_2.EthernetInterface",
        "Id": mac,
        "Name": "VNIC %s" % mac,
        "Status": {"State": "Enabled", "Health": "OK"},
        "PermanentMACAddress": mac,
        "MACAddress": mac,
    }


def mockup(*path):
    with open(os.path.join(MOCKUP, *path, "index.json"), encoding="utf-8") as handle:
        return json.load(handle)


def mockup_system():
    nics = [mockup("Systems", "1", "EthernetInterfaces", name) for name in sorted(NIC_IDS)]
    return mockup("Systems", "1"), nics


NIC_IDS = ("NIC.Slot.3-1", "NIC.Integrated.1-2", "NIC.Integrated.1-1")


def doc(data, url=SYSTEM_URL):
    return rf.Document(BMC, url, data)


def convert(system, nics, pxe_mac=None, address=BMC):
    return rf.convert(
        address, doc(system), [doc(n, SYSTEM_URL + "/EthernetInterfaces/%d" % i) for i, n in enumerate(nics)], pxe_mac
    )


def checked(report):
    """The report, which the in-band side's own check (check_report) must take as it is."""
    assert check_report(report) == report
    return report


def test_sushy_fake_system_gives_vendor_uuid_and_macs_and_says_what_it_lacks():
    nics = [sushy_nic("52:54:00:aa:00:02"), sushy_nic("52:54:00:aa:00:01")]
    report, warnings = convert(SUSHY_SYSTEM, nics)
    assert checked(report) == {
        "schema": 1,
        "collector": "baremetal.provision-redfish/1",
        "boot": {"mac": "52:54:00:aa:00:01", "source": "redfish", "mode": "uefi"},
        "system": {
            "vendor": "Sushy Emulator",
            "product": "",
            "serial": "",
            "uuid": "8a1b2c3d-0000-4000-8000-000000000001",
        },
        "cpus": 0,
        "memory_mib": 0,
        "nics": [
            {"name": "52:54:00:aa:00:01", "mac": "52:54:00:aa:00:01", "carrier": None, "speed_mbps": None},
            {"name": "52:54:00:aa:00:02", "mac": "52:54:00:aa:00:02", "carrier": None, "speed_mbps": None},
        ],
        "disks": [],
        "bmc": {"ip": BMC, "mac": ""},
    }
    guess = [w for w in warnings if "guess" in w]
    assert len(guess) == 1 and "52:54:00:aa:00:01" in guess[0] and "pxe_mac" in guess[0]
    assert any("does not give Model" in w for w in warnings)
    assert any("does not give SerialNumber" in w for w in warnings)


def test_mockup_system_full_report():
    system, nics = mockup_system()
    report, warnings = convert(system, nics)
    assert checked(report)["system"] == {
        "vendor": "Contoso",
        "product": "3500RX",  # stripped
        "serial": "437XR1138R2",
        "uuid": "38947555-7742-3448-3784-823347823834",
    }
    assert report["boot"] == {"mac": "12:44:6a:3b:04:11", "source": "redfish", "mode": "bios"}
    assert (report["cpus"], report["memory_mib"]) == (2, 97792)  # 95.5 GiB
    assert report["nics"] == [
        {"name": "NIC.Integrated.1-1", "mac": "12:44:6a:3b:04:11", "carrier": True, "speed_mbps": 10000},
        # PermanentMACAddress only, spelled with hyphens in capitals
        {"name": "NIC.Integrated.1-2", "mac": "12:44:6a:3b:04:12", "carrier": False, "speed_mbps": 10000},
        {"name": "NIC.Slot.3-1", "mac": "12:44:6a:3b:05:01", "carrier": None, "speed_mbps": None},
    ]
    assert [w for w in warnings if "guess" in w] and not [w for w in warnings if "does not give" in w]


def test_uuid_is_lowercased():
    system, nics = mockup_system()
    system["UUID"] = "38947555-7742-3448-3784-823347823ABC"
    assert convert(system, nics)[0]["system"]["uuid"] == "38947555-7742-3448-3784-823347823abc"


@pytest.mark.parametrize("given", ["12:44:6a:3b:05:01", "12-44-6A-3B-05-01", "1244.6a3b.0501"])
def test_pxe_mac_names_the_boot_nic_and_no_guess_is_reported(given):
    system, nics = mockup_system()
    report, warnings = convert(system, nics, pxe_mac=given)
    assert report["boot"]["mac"] == "12:44:6a:3b:05:01"
    assert not [w for w in warnings if "guess" in w]


def test_pxe_mac_of_no_nic_is_refused():
    system, nics = mockup_system()
    with pytest.raises(rf.RedfishError) as err:
        convert(system, nics, pxe_mac="52:54:00:00:00:99")
    assert BMC in str(err.value) and "pxe_mac 52:54:00:00:00:99 is none of the system's NICs" in str(err.value)


def test_malformed_pxe_mac_is_refused():
    system, nics = mockup_system()
    with pytest.raises(rf.RedfishError, match="pxe_mac: 'nonsense' is not a MAC"):
        convert(system, nics, pxe_mac="nonsense")
    client = rf.RedfishClient("127.0.0.1", port=9, scheme="http")
    with pytest.raises(rf.RedfishError, match=r"^BMC 127\.0\.0\.1:9: pxe_mac: 'nonsense' is not a MAC"):
        rf.read_bmc(client, pxe_mac="nonsense")  # refused before any request


@pytest.mark.parametrize(
    "field",
    [
        ("Manufacturer",),
        ("Model",),
        ("SerialNumber",),
        ("UUID",),
        ("Id",),
        ("Boot", "BootSourceOverrideMode"),
    ],
    ids="/".join,
)
@pytest.mark.parametrize("char", [*LINE_BREAKS, "\x1b", "\x7f", "\t"], ids=char_id)
def test_control_characters_in_a_system_field_are_refused_naming_bmc_url_and_field(field, char):
    system, nics = mockup_system()
    node = system
    for step in field[:-1]:
        node = node[step]
    node[field[-1]] = "Con" + char + "toso"
    with pytest.raises(rf.RedfishError) as err:
        convert(system, nics)
        doc(system).text("Id", required=True)  # read_bmc reads the system's Id this way
    message = str(err.value)
    assert message.startswith(
        "BMC %s: %s#/%s: refused: it contains the control character" % (BMC, SYSTEM_URL, "/".join(field))
    )


@pytest.mark.parametrize("field", ["Id", "MACAddress", "PermanentMACAddress", "LinkStatus"])
def test_control_characters_in_a_nic_field_are_refused(field):
    system, nics = mockup_system()
    nics[0][field] = "12:44:6a:3b:04:11\n"
    with pytest.raises(rf.RedfishError) as err:
        convert(system, nics)
    assert "#/%s: refused: it contains the control character newline" % field in str(err.value)
    assert BMC in str(err.value)


def test_strings_longer_than_128_are_refused_and_128_pass():
    system, nics = mockup_system()
    system["Model"] = "M" * 128
    assert convert(system, nics)[0]["system"]["product"] == "M" * 128
    system["Model"] = "M" * 129
    with pytest.raises(rf.RedfishError, match=r"#/Model: refused: 129 characters, more than 128"):
        convert(system, nics)


@pytest.mark.parametrize(
    "field, value, why",
    [
        (("Model",), 3500, "expected a string, got int"),
        (("UUID",), "not-a-uuid", "'not-a-uuid' is not a UUID"),
        (("ProcessorSummary", "Count"), "2", "expected a number, got '2'"),
        (("ProcessorSummary", "Count"), True, "expected a number, got True"),
        (("ProcessorSummary", "Count"), float("nan"), "expected a number, got nan"),
        (("ProcessorSummary", "Count"), 100001, "refused: 100001 is not from 0 to 100000"),
        (("MemorySummary", "TotalSystemMemoryGiB"), -1, "refused: -1 is not from 0 to 4194304"),
        (("MemorySummary", "TotalSystemMemoryGiB"), float("inf"), "expected a number, got inf"),
    ],
)
def test_values_of_the_wrong_kind_are_refused(field, value, why):
    system, nics = mockup_system()
    node = system
    for step in field[:-1]:
        node = node[step]
    node[field[-1]] = value
    with pytest.raises(rf.RedfishError) as err:
        convert(system, nics)
    assert str(err.value) == "BMC %s: %s#/%s: %s" % (BMC, SYSTEM_URL, "/".join(field), why)


@pytest.mark.parametrize("mac, why", [("12:44:6a:3b:04", "is not a MAC address"), ("01:00:5e:00:00:01", "multicast")])
def test_malformed_macs_are_refused_naming_the_nic_field(mac, why):
    system, nics = mockup_system()
    nics[0]["MACAddress"] = mac
    with pytest.raises(rf.RedfishError) as err:
        convert(system, nics)
    assert "EthernetInterfaces/0#/MACAddress" in str(err.value) and why in str(err.value)


def test_missing_descriptive_fields_are_empty_with_a_warning():
    system, nics = mockup_system()
    for field in ("Manufacturer", "Model", "SerialNumber", "UUID", "ProcessorSummary", "MemorySummary", "Boot"):
        del system[field]
    report, warnings = convert(system, nics)
    assert checked(report)["system"] == {"vendor": "", "product": "", "serial": "", "uuid": ""}
    assert (report["cpus"], report["memory_mib"], report["boot"]["mode"]) == (0, 0, "unknown")
    for field in ("Manufacturer", "Model", "SerialNumber", "UUID"):
        assert any(w.endswith("the BMC does not give %s" % field) for w in warnings)


def test_permanent_mac_is_used_when_mac_address_is_missing_empty_or_zero():
    system, nics = mockup_system()
    nics[0]["MACAddress"] = None
    nics[1]["MACAddress"] = ""
    nics[2]["MACAddress"] = "00:00:00:00:00:00"
    nics[2]["PermanentMACAddress"] = "12:44:6A:3B:04:AA"
    report, _warnings = convert(system, nics)
    assert [n["mac"] for n in report["nics"]] == ["12:44:6a:3b:04:11", "12:44:6a:3b:04:12", "12:44:6a:3b:04:aa"]


def test_a_nic_without_any_mac_is_left_out_with_a_warning():
    system, nics = mockup_system()
    del nics[2]["MACAddress"]
    del nics[2]["PermanentMACAddress"]
    report, warnings = convert(system, nics)
    assert [n["name"] for n in report["nics"]] == ["NIC.Integrated.1-1", "NIC.Integrated.1-2"]
    assert any("NIC NIC.Slot.3-1 left out" in w for w in warnings)


def test_nic_ids_longer_than_32_and_more_than_64_nics_are_refused():
    system, nics = mockup_system()
    nics[0]["Id"] = "N" * 32
    assert checked(convert(system, nics)[0])["nics"][-1]["name"] == "N" * 32
    nics[0]["Id"] = "N" * 33
    with pytest.raises(rf.RedfishError, match=r"EthernetInterfaces/0#/Id: refused: 33 characters, more than 32"):
        convert(system, nics)
    many = [dict(nics[0], Id="p%d" % i, MACAddress="12:44:6a:3b:06:%02x" % i) for i in range(65)]
    assert len(checked(convert(system, many[:64])[0])["nics"]) == 64
    with pytest.raises(rf.RedfishError, match="refused: 65 NICs, more than 64"):
        convert(system, many)


def test_a_system_without_any_nic_is_refused():
    system, _nics = mockup_system()
    with pytest.raises(rf.RedfishError, match="has no NIC with a MAC address, so it cannot be enlisted"):
        convert(system, [])


def test_two_nics_with_one_mac_are_refused():
    system, nics = mockup_system()
    nics[1]["PermanentMACAddress"] = nics[0]["MACAddress"]
    with pytest.raises(rf.RedfishError, match=r"NICs NIC\.Integrated\.1-1 and NIC\.Integrated\.1-2 have the same MAC"):
        convert(system, nics)


@pytest.mark.parametrize(
    "address, bmc",
    [
        ("198.51.100.7", {"ip": "198.51.100.7", "mac": ""}),
        (" 192.0.2.9 ", {"ip": "192.0.2.9", "mac": ""}),
        ("bmc7.example.test", None),
        ("2001:db8::7", None),
    ],
)
def test_bmc_ip_is_the_address_only_when_it_is_ipv4(address, bmc):
    system, nics = mockup_system()
    assert checked(convert(system, nics, address=address)[0])["bmc"] == bmc


@pytest.mark.parametrize(
    "link",
    [
        "http://203.0.113.9/redfish/v1/Systems/1",
        "//203.0.113.9/redfish/v1/Systems/1",
        "/redfish/v1/../../etc/passwd",
        "/other/v1/Systems/1",
        "/redfish/v1/Systems/1?x=1",
    ],
)
def test_links_that_leave_the_bmc_are_refused(link):
    collection = doc(
        {"Members": [{"@odata.id": "/redfish/v1/Systems/2"}, {"@odata.id": link}]},
        "https://%s/redfish/v1/Systems" % BMC,
    )
    with pytest.raises(rf.RedfishError) as err:
        collection.members()
    assert "redfish/v1/Systems#/Members/1/@odata.id: refused" in str(err.value)


def test_a_collection_without_members_is_refused():
    with pytest.raises(rf.RedfishError, match="#/Members: missing or not a list"):
        doc({"Members": {"@odata.id": "/redfish/v1/Systems/1"}}).members()


@pytest.mark.parametrize("address", ["", "bmc/../x", "bmc:8443", "bmc\nx", "user@bmc"])
def test_bad_bmc_addresses_are_refused(address):
    with pytest.raises(rf.RedfishError, match="BMC address"):
        rf.RedfishClient(address)


def test_ipv6_addresses_go_in_brackets():
    assert rf.RedfishClient("2001:db8::7", port=8443).url("/redfish/v1") == "https://[2001:db8::7]:8443/redfish/v1"


class _Redirector(object):
    """A stand-in for a hostile BMC: every GET is redirected to another host."""

    def __init__(self, location):
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(307)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_redirect_to_another_host_is_refused_and_credentials_do_not_follow():
    bmc = _Redirector("http://203.0.113.9/redfish/v1/Systems")
    try:
        client = rf.RedfishClient("127.0.0.1", port=bmc.port, scheme="http", username="admin", password="secret")
        with pytest.raises(rf.RedfishError) as err:
            client.get("/redfish/v1/Systems")
    finally:
        bmc.close()
    assert "refused a redirect to 'http://203.0.113.9/redfish/v1/Systems', which is not this BMC" in str(err.value)
    assert "secret" not in str(err.value)


def test_reports_are_independent_copies():
    system, nics = mockup_system()
    before = copy.deepcopy(system)
    convert(system, nics)
    assert system == before
