# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Redfish side against sushy-tools, the emulator OpenStack Ironic and Metal3 test with.

redfish_info, run by ansible-playbook, reads sushy-emulator's fake systems (with basic auth) and a
mockup served by sushy-static (a stand-in for a vendor BMC, with the Model and SerialNumber the
fake driver lacks). The replace flow's power control (playbooks/tasks/power.yml, as it is) sets a
one-time network boot and resets a fake system.
"""

import json
import os
import shutil

import pytest
from support.ansible_cli import REPO, ansible_env, run
from support.netns import wait_for
from support.sushy import SushyEmulator, SushyStatic, free_port

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.discovery import check_report

USER, PASSWORD = "admin", "lab-password-7"
SYSTEMS = [
    {
        "uuid": "0f3c5a2e-7d41-4c8b-9a6e-1b2c3d4e5f60",
        "name": "spare-a",
        "power_state": "Off",
        "nics": [{"mac": "52:54:00:aa:01:02", "ip": "192.0.2.61"}, {"mac": "52:54:00:aa:01:01", "ip": "192.0.2.60"}],
    },
    {
        "uuid": "9B2D6F1A-3C4E-4A5B-8C7D-0E1F2A3B4C5D",
        "name": "spare-b",
        "power_state": "On",
        "nics": [{"mac": "52:54:00:bb:02:01", "ip": "192.0.2.70"}],
    },
]
MOCKUP = os.path.join(REPO, "tests", "fixtures", "redfish-mockup")

READ_PLAY = """
- name: Read BMCs over Redfish
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Read
      baremetal.provision.redfish_info:
        bmcs: "{{ bmcs }}"
        timeout: 20
        fail_on_error: "{{ fail_on_error | default(false) }}"
      register: found
      ignore_errors: true

    - name: Keep the result for the test
      ansible.builtin.copy:
        content: "{{ found | to_json }}"
        dest: "{{ out }}"
        mode: "0600"
"""

POWER_PLAY = """
- name: The replace flow's power control
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Power control
      ansible.builtin.include_tasks: {power}
"""


def checked(report):
    """The report, which the in-band side's own check (check_report) must take as it is."""
    assert check_report(report) == report
    return report


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    with SushyEmulator(tmp_path_factory.mktemp("sushy"), SYSTEMS, credentials=(USER, PASSWORD)) as bmc:
        yield bmc


def bmc_entry(port, **extra):
    entry = {"address": "127.0.0.1", "port": port, "scheme": "http", "username": USER, "password": PASSWORD}
    entry.update(extra)
    return entry


def read(tmp_path, bmcs, **extra):
    """(result of redfish_info, ansible-playbook's output)."""
    play = tmp_path / "read.yml"
    play.write_text(READ_PLAY)
    out = tmp_path / "found.json"
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps(dict(bmcs=bmcs, out=str(out), **extra)))
    proc = run(
        "ansible-playbook", [str(play), "-i", "localhost,", "-e", "@%s" % variables], env=ansible_env(tmp=tmp_path)
    )
    assert out.exists(), proc.stdout + proc.stderr
    return json.loads(out.read_text()), proc.stdout + proc.stderr


def by_uuid(result):
    return {entry["report"]["system"]["uuid"]: entry for entry in result["reports"]}


def test_two_fake_systems_are_read_with_their_uuids_and_macs(emulator, tmp_path):
    result, output = read(tmp_path, [bmc_entry(emulator.port)])
    assert not result.get("failed") and result["changed"] is False and result["failed_bmcs"] == []
    found = by_uuid(result)
    assert sorted(found) == ["0f3c5a2e-7d41-4c8b-9a6e-1b2c3d4e5f60", "9b2d6f1a-3c4e-4a5b-8c7d-0e1f2a3b4c5d"]
    a = found["0f3c5a2e-7d41-4c8b-9a6e-1b2c3d4e5f60"]
    assert a["bmc"] == "127.0.0.1" and a["system_id"] == "0f3c5a2e-7d41-4c8b-9a6e-1b2c3d4e5f60"
    assert [n["mac"] for n in checked(a["report"])["nics"]] == ["52:54:00:aa:01:01", "52:54:00:aa:01:02"]
    assert a["report"]["system"] == {
        "vendor": "Sushy Emulator",
        "product": "",
        "serial": "",
        "uuid": "0f3c5a2e-7d41-4c8b-9a6e-1b2c3d4e5f60",
    }
    assert a["report"]["boot"] == {"mac": "52:54:00:aa:01:01", "source": "redfish", "mode": "uefi"}
    assert a["report"]["bmc"] == {"ip": "127.0.0.1", "mac": ""}
    # the emulator keeps the uuid as configured (capitals); the report has it in lower case
    b = found["9b2d6f1a-3c4e-4a5b-8c7d-0e1f2a3b4c5d"]
    assert [n["mac"] for n in checked(b["report"])["nics"]] == ["52:54:00:bb:02:01"]
    for entry in (a, b):
        guesses = [w for w in entry["warnings"] if "is a guess" in w]
        assert len(guesses) == 1 and entry["report"]["boot"]["mac"] in guesses[0]
        assert any(w.endswith("the BMC does not give Model") for w in entry["warnings"])
    assert PASSWORD not in output and PASSWORD not in json.dumps(result)


def test_pxe_mac_is_respected_and_one_system_can_be_named(emulator, tmp_path):
    result, _output = read(tmp_path, [bmc_entry(emulator.port, pxe_mac="52-54-00-AA-01-02")])
    found = by_uuid(result)
    a = found["0f3c5a2e-7d41-4c8b-9a6e-1b2c3d4e5f60"]
    assert a["report"]["boot"]["mac"] == "52:54:00:aa:01:02"
    assert not [w for w in a["warnings"] if "is a guess" in w]
    # the other system has no such NIC: its boot MAC stays a flagged guess
    b = found["9b2d6f1a-3c4e-4a5b-8c7d-0e1f2a3b4c5d"]
    assert [w for w in b["warnings"] if "is a guess" in w]

    # by name: sushy answers with a redirect to the system's uuid URL, which is followed
    result, _output = read(tmp_path, [bmc_entry(emulator.port, system_id="spare-b")])
    assert [e["system_id"] for e in result["reports"]] == [SYSTEMS[1]["uuid"]]  # the Id as the BMC has it


def test_pxe_mac_of_no_system_fails_that_bmc(emulator, tmp_path):
    result, _output = read(tmp_path, [bmc_entry(emulator.port, pxe_mac="52:54:00:00:00:99")])
    assert result["failed"] and result["reports"] == []
    assert "pxe_mac 52:54:00:00:00:99 is none of the NICs of its systems" in result["failed_bmcs"][0]["msg"]


def test_a_down_bmc_and_a_wrong_password_are_in_failed_bmcs_with_clear_messages(emulator, tmp_path):
    down = free_port()
    bmcs = [bmc_entry(emulator.port), bmc_entry(down), bmc_entry(emulator.port, password="wrong")]
    result, _output = read(tmp_path, bmcs)
    assert not result.get("failed")  # one BMC was read
    assert len(result["reports"]) == 2
    failed = [f["msg"] for f in result["failed_bmcs"]]
    assert failed == [
        "BMC 127.0.0.1:%d: GET http://127.0.0.1:%d/redfish/v1/Systems: connection refused "
        "(is the BMC up, and the address and port right?)" % (down, down),
        "BMC 127.0.0.1:%d: GET http://127.0.0.1:%d/redfish/v1/Systems: HTTP 401 Unauthorized: the BMC refused "
        "the username and password (the BMC says: Incorrect username or password)" % (emulator.port, emulator.port),
    ]

    # fail_on_error: any failure fails the task, and the reports read are still returned
    result, _output = read(tmp_path, bmcs, fail_on_error=True)
    assert result["failed"] and "2 of 3 BMCs could not be read" in result["msg"] and len(result["reports"]) == 2

    # no BMC could be read: the task fails
    result, _output = read(tmp_path, [bmc_entry(down)])
    assert result["failed"] and "every BMC could not be read" in result["msg"]


def test_a_tls_client_against_a_plain_http_bmc_gets_a_clear_message(emulator, tmp_path):
    result, _output = read(tmp_path, [bmc_entry(emulator.port, scheme="https", validate_certs=False)])
    assert result["failed"]
    assert result["failed_bmcs"][0]["msg"].startswith(
        "BMC 127.0.0.1:%d: GET https://127.0.0.1:%d/redfish/v1/Systems: TLS failed" % (emulator.port, emulator.port)
    )


@pytest.fixture()
def hostile_mockup(tmp_path):
    """A copy of the mockup to spoil."""
    tree = tmp_path / "mockup"
    shutil.copytree(MOCKUP, tree)
    return tree


def test_the_static_mockup_gives_model_serial_and_nic_details(hostile_mockup, tmp_path):
    with SushyStatic(tmp_path, hostile_mockup) as bmc:
        result, _output = read(tmp_path, [{"address": "127.0.0.1", "port": bmc.port, "scheme": "http"}])
    assert result["failed_bmcs"] == []
    (entry,) = result["reports"]
    report = checked(entry["report"])
    assert entry["system_id"] == "1"
    assert report["system"] == {
        "vendor": "Contoso",
        "product": "3500RX",
        "serial": "437XR1138R2",
        "uuid": "38947555-7742-3448-3784-823347823834",
    }
    assert (report["cpus"], report["memory_mib"], report["boot"]["mode"]) == (2, 97792, "bios")
    assert report["nics"][1] == {
        "name": "NIC.Integrated.1-2",
        "mac": "12:44:6a:3b:04:12",
        "carrier": False,
        "speed_mbps": 10000,
    }
    assert not [w for w in entry["warnings"] if "does not give" in w]


@pytest.mark.parametrize(
    "spoil, where",
    [
        (("Systems/1", "Model", "3500RX\u001b[2J"), "Systems/1#/Model: refused: it contains the control character"),
        (
            ("Systems/1", "SerialNumber", "437XR\n1138"),
            "Systems/1#/SerialNumber: refused: it contains the control character newline",
        ),
        (
            ("Systems/1/EthernetInterfaces/NIC.Slot.3-1", "MACAddress", "12:44:6a:3b:05:01\r"),
            "EthernetInterfaces/NIC.Slot.3-1#/MACAddress: refused: it contains the control character carriage return",
        ),
    ],
    ids=["model-escape", "serial-newline", "mac-cr"],
)
def test_hostile_strings_from_the_bmc_are_refused_naming_bmc_url_and_field(hostile_mockup, tmp_path, spoil, where):
    path, field, value = spoil
    index = hostile_mockup / path / "index.json"
    data = json.loads(index.read_text())
    data[field] = value
    index.write_text(json.dumps(data))
    with SushyStatic(tmp_path, hostile_mockup) as bmc:
        result, _output = read(tmp_path, [{"address": "127.0.0.1", "port": bmc.port, "scheme": "http"}])
    assert result["failed"] and result["reports"] == []
    (msg,) = [f["msg"] for f in result["failed_bmcs"]]
    assert msg.startswith("BMC 127.0.0.1:%d: http://127.0.0.1:%d/redfish/v1/" % (bmc.port, bmc.port)) and where in msg


def test_an_answer_that_is_not_json_is_refused(hostile_mockup, tmp_path):
    (hostile_mockup / "Systems" / "1" / "index.json").write_text("<html>login</html>")
    with SushyStatic(tmp_path, hostile_mockup) as bmc:
        result, _output = read(tmp_path, [{"address": "127.0.0.1", "port": bmc.port, "scheme": "http"}])
    assert result["failed_bmcs"] == [
        {
            "address": "127.0.0.1",
            "msg": "BMC 127.0.0.1:%d: GET http://127.0.0.1:%d/redfish/v1/Systems/1: the answer is not JSON "
            "(is this a Redfish service?)" % (bmc.port, bmc.port),
        }
    ]


def power(tmp_path, port, system_id):
    """playbooks/tasks/power.yml, as it is, for a system whose record has a Redfish BMC."""
    play = tmp_path / "power.yml"
    play.write_text(POWER_PLAY.format(power=os.path.join(REPO, "playbooks", "tasks", "power.yml")))
    variables = tmp_path / "power-vars.json"
    variables.write_text(
        json.dumps(
            {
                "bm_system": {
                    "name": "web01",
                    "bmc": {
                        "type": "redfish",
                        "address": "127.0.0.1",
                        "port": port,
                        "username": USER,
                        "password_var": "lab_bmc_password",
                    },
                },
                "lab_bmc_password": PASSWORD,
                "bmc_scheme": "http",
            }
            | ({"bmc_system_id": system_id} if system_id else {})
        )
    )
    return run(
        "ansible-playbook", [str(play), "-i", "localhost,", "-e", "@%s" % variables], env=ansible_env(tmp=tmp_path)
    )


def test_power_yml_boots_a_fake_system_from_the_network_and_resets_it(emulator, tmp_path):
    uuid = SYSTEMS[0]["uuid"]
    before = emulator.system(uuid)
    assert before["PowerState"] == "Off" and before["Boot"]["BootSourceOverrideTarget"] != "Pxe"
    proc = power(tmp_path, emulator.port, uuid)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert PASSWORD not in proc.stdout + proc.stderr
    after = emulator.system(uuid)
    assert after["Boot"]["BootSourceOverrideTarget"] == "Pxe"
    # The fake driver applies a reset 1 to 11 s after accepting it: ForceRestart of an Off system
    # ends On.
    wait_for(lambda: emulator.system(uuid)["PowerState"] == "On", timeout=60, what="the reset to take effect")


@pytest.mark.parametrize(
    "system_id, status",
    [(SYSTEMS[1]["name"], 307), (None, 404)],
    ids=["name-redirects", "default-1-is-not-found"],
)
def test_power_yml_needs_the_id_the_bmc_lists(emulator, tmp_path, system_id, status):
    """power.yml addresses /redfish/v1/Systems/<bmc_system_id>, '1' by default, and does not read
    /redfish/v1/Systems. sushy-emulator lists its systems by uuid: '1' is not found, and a name is
    answered with a 307 redirect to the uuid URL, which ansible's uri does not follow for a PATCH."""
    uuid = SYSTEMS[1]["uuid"]
    before = emulator.system(uuid)["Boot"]["BootSourceOverrideTarget"]
    proc = power(tmp_path, emulator.port, system_id)
    assert proc.returncode != 0
    assert "Status code was %d and not [200, 202, 204]" % status in proc.stdout + proc.stderr
    assert emulator.system(uuid)["Boot"]["BootSourceOverrideTarget"] == before
