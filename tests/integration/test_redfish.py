# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Redfish side against sushy-tools, the emulator OpenStack Ironic and Metal3 test with.

redfish_info, run by ansible-playbook, reads sushy-emulator's fake systems (with basic auth) and a
mockup served by sushy-static (a stand-in for a vendor BMC, with the Model and SerialNumber the
fake driver lacks). The replace flow's power control (playbooks/tasks/power.yml, the
redfish_power module) finds the system in /redfish/v1/Systems, sets a one-time network boot and
powers on or restarts it, against the fake systems and against the e2e story's stand-in BMC.
"""

import json
import os
import re
import shutil

import pytest
from support.ansible_cli import REPO, ansible_env, run
from support.bmc import MachineStandIn, RedfishStandIn
from support.netns import read_log, wait_for
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
        # the refusal's way from a real BMC to failed_bmcs is the case above; each field and
        # character is the unit tests' (test_redfish_reports.py, on every ansible-core line)
        pytest.param(
            ("Systems/1", "SerialNumber", "437XR\n1138"),
            "Systems/1#/SerialNumber: refused: it contains the control character newline",
            marks=pytest.mark.soak(
                reason="model-escape here; test_control_characters_in_a_system_field_are_refused_naming_bmc_url_"
                "and_field[SerialNumber-*] in tests/unit/plugins/module_utils/_bmc/test_redfish_reports.py"
            ),
        ),
        pytest.param(
            ("Systems/1/EthernetInterfaces/NIC.Slot.3-1", "MACAddress", "12:44:6a:3b:05:01\r"),
            "EthernetInterfaces/NIC.Slot.3-1#/MACAddress: refused: it contains the control character carriage return",
            marks=pytest.mark.soak(
                reason="model-escape here; test_control_characters_in_a_nic_field_are_refused[MACAddress] in "
                "tests/unit/plugins/module_utils/_bmc/test_redfish_reports.py"
            ),
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


def power(tmp_path, port, system_id=None, password=PASSWORD, args=()):
    """(ansible-playbook's exit code, its output, the redfish_power result it printed or None):
    playbooks/tasks/power.yml for a system whose record has a Redfish BMC, run with -vvv (so that
    the test sees that the password is not in the output even then)."""
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
                "lab_bmc_password": password,
                "bmc_scheme": "http",
            }
            | ({"bmc_system_id": system_id} if system_id else {})
        )
    )
    proc = run(
        "ansible-playbook",
        [str(play), "-i", "localhost,", "-e", "@%s" % variables, "-vvv", *args],
        env=ansible_env(tmp=tmp_path),
    )
    output = proc.stdout + proc.stderr
    return proc.returncode, output, _module_result(output)


def _module_result(output):
    """The result the default callback printed for the Redfish task (JSON after "=> ")."""
    start = output.find("TASK [Redfish - boot from the network once, then power-cycle]")
    if start < 0:
        return None
    for line_start in (
        m.end() for m in re.finditer(r"^(ok|changed|fatal): \[localhost\](: FAILED!)? => ", output[start:], re.M)
    ):
        return json.JSONDecoder().raw_decode(output[start + line_start :])[0]
    return None


PXE_ONCE = {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}
LONE = [
    {
        "uuid": "5d4c3b2a-1908-4f7e-8d6c-5b4a39281706",
        "name": "lone",
        "power_state": "Off",
        "nics": [{"mac": "52:54:00:cc:03:01", "ip": "192.0.2.80"}],
    }
]


@pytest.fixture(scope="module")
def lone_emulator(tmp_path_factory):
    """sushy-emulator with one fake system, as a BMC of one machine has."""
    with SushyEmulator(tmp_path_factory.mktemp("sushy-lone"), LONE, credentials=(USER, PASSWORD)) as bmc:
        yield bmc


def test_power_yml_finds_the_only_system_sets_pxe_and_powers_on_an_off_one(lone_emulator, tmp_path):
    """No bmc_system_id: the one member of /redfish/v1/Systems (a uuid, not "1") is used, and
    a system that is off gets On, not ForceRestart."""
    uuid = LONE[0]["uuid"]
    before = lone_emulator.system(uuid)
    assert before["PowerState"] == "Off" and before["Boot"]["BootSourceOverrideTarget"] != "Pxe"
    code, output, result = power(tmp_path, lone_emulator.port)
    assert code == 0, output
    assert result["changed"] is True and result["system_id"] == uuid
    assert (result["power_state_before"], result["reset_type"], result["boot"]) == ("Off", "On", PXE_ONCE)
    assert PASSWORD not in output
    assert lone_emulator.system(uuid)["Boot"]["BootSourceOverrideTarget"] == "Pxe"
    # The fake driver applies a reset 1 to 11 s after accepting it.
    wait_for(lambda: lone_emulator.system(uuid)["PowerState"] == "On", timeout=60, what="the power-on")


def test_power_yml_restarts_a_system_that_is_on(emulator, tmp_path):
    uuid = SYSTEMS[1]["uuid"]  # spare-b, on
    assert emulator.system(uuid)["PowerState"] == "On"
    code, output, result = power(tmp_path, emulator.port, system_id=uuid)
    assert code == 0, output
    assert (result["system_id"], result["power_state_before"], result["reset_type"]) == (uuid, "On", "ForceRestart")
    path = "/redfish/v1/Systems/" + uuid
    assert writes(emulator)[-2:] == [("PATCH", path), ("POST", path + "/Actions/ComputerSystem.Reset")]
    assert emulator.system(uuid)["Boot"]["BootSourceOverrideTarget"] == "Pxe"
    assert PASSWORD not in output


def writes(emulator):
    """The PATCH and POST requests sushy-emulator logged so far: [(method, path)]."""
    log = re.sub(r"\x1b\[[0-9;]*m", "", read_log(emulator.log))  # werkzeug colours the request line
    return re.findall(r'"(PATCH|POST) (/\S*) HTTP/', log)


def test_power_yml_without_system_id_on_a_bmc_of_two_systems_fails_naming_both(emulator, tmp_path):
    before = writes(emulator)
    code, output, result = power(tmp_path, emulator.port)
    assert code != 0
    assert result["msg"] == (
        "Redfish: BMC 127.0.0.1:%d: http://127.0.0.1:%d/redfish/v1/Systems lists 2 systems (%s, %s): give "
        "system_id to say which one" % (emulator.port, emulator.port, SYSTEMS[0]["uuid"], SYSTEMS[1]["uuid"])
    )
    assert "changed" not in result or result["changed"] is False
    assert PASSWORD not in output
    assert writes(emulator) == before  # nothing was changed


def test_power_yml_with_a_system_name_fails_listing_the_ids(emulator, tmp_path):
    """sushy answers /redfish/v1/Systems/<name> with a 307 to the uuid URL. redfish_power takes a
    system_id only as a member of /redfish/v1/Systems lists it: a name fails, with the Ids to use,
    and nothing is changed (a redirect is never followed for a change)."""
    before = writes(emulator)
    code, output, result = power(tmp_path, emulator.port, system_id=SYSTEMS[1]["name"])
    assert code != 0 and PASSWORD not in output
    assert result["msg"] == (
        "Redfish: BMC 127.0.0.1:%d: system_id 'spare-b' is not a member of http://127.0.0.1:%d/redfish/v1/Systems, "
        "which lists: %s, %s (give the Id as the BMC lists it)"
        % (emulator.port, emulator.port, SYSTEMS[0]["uuid"], SYSTEMS[1]["uuid"])
    )
    assert writes(emulator) == before  # nothing was changed


def test_power_yml_with_a_wrong_password_fails_naming_bmc_url_and_why(lone_emulator, tmp_path):
    code, output, result = power(tmp_path, lone_emulator.port, password="not-the-password-9")
    assert code != 0
    assert result["msg"] == (
        "Redfish: BMC 127.0.0.1:%d: GET http://127.0.0.1:%d/redfish/v1/Systems: HTTP 401 Unauthorized: the BMC "
        "refused the username and password (the BMC says: Incorrect username or password)"
        % (lone_emulator.port, lone_emulator.port)
    )
    assert "not-the-password-9" not in output and "Traceback" not in output


# -- against the e2e story's stand-in BMC (tests/support/bmc.py) --------------------------------


@pytest.fixture()
def standin():
    """The story's stand-in Redfish BMC, in front of a stand-in machine that is off."""
    bmc = RedfishStandIn(MachineStandIn(on=False), username=USER, password=PASSWORD)
    yield bmc
    bmc.close()


def test_power_yml_against_the_story_stand_in_powers_on_with_the_etag(standin, tmp_path):
    """The stand-in refuses a PATCH without If-Match (428), as some BMCs do: the ETag it gave is sent."""
    code, output, result = power(tmp_path, standin.port)
    assert code == 0, output
    assert (result["system_id"], result["reset_type"], result["boot"]) == ("1", "On", PXE_ONCE)
    assert standin.calls == [
        ("PATCH", "/redfish/v1/Systems/1", {"Boot": PXE_ONCE}),
        ("POST", "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", {"ResetType": "On"}),
    ]
    assert standin.machine.switched == ["on"] and standin.boot_override == PXE_ONCE
    assert "/redfish/v1/Systems" in standin.reads
    assert PASSWORD not in output


def test_power_yml_against_the_stand_in_restarts_a_machine_that_is_on(standin, tmp_path):
    standin.machine.on = True
    code, output, result = power(tmp_path, standin.port, system_id="1")
    assert code == 0, output
    assert result["reset_type"] == "ForceRestart"
    assert [c[0] for c in standin.calls] == ["PATCH", "POST"] and standin.machine.switched == ["off", "on"]


@pytest.mark.parametrize(
    "reset_types, sent",
    [
        pytest.param(
            ["On", "ForceOff", "PowerCycle"],
            "PowerCycle",
            marks=pytest.mark.soak(
                reason="the choice: test_reset_type_by_power_and_state in tests/unit/plugins/module_utils/_bmc/"
                "test_redfish_power.py; sending the chosen ResetType through power.yml: the restart tests here"
            ),
        ),
        # what OpenBMC's documentation shows for a system: no forced restart, no power cycle
        (["On", "ForceOff", "GracefulRestart", "GracefulShutdown"], None),
    ],
    ids=["power-cycle-only", "graceful-only"],
)
def test_a_system_that_takes_no_forced_restart(tmp_path, reset_types, sent):
    bmc = RedfishStandIn(MachineStandIn(on=True), username=USER, password=PASSWORD, reset_types=reset_types)
    try:
        code, output, result = power(tmp_path, bmc.port)
    finally:
        bmc.close()
    if sent:
        assert code == 0, output
        assert bmc.calls[-1] == ("POST", "/redfish/v1/Systems/1/Actions/ComputerSystem.Reset", {"ResetType": sent})
        return
    assert code != 0
    assert result["msg"] == (
        "Redfish: BMC 127.0.0.1:%d: http://127.0.0.1:%d/redfish/v1/Systems/1#/Actions/#ComputerSystem.Reset: the "
        "system takes none of ForceRestart, PowerCycle (power cycle, PowerState On); it allows: %s"
        % (bmc.port, bmc.port, ", ".join(reset_types))
    )
    assert bmc.calls == [] and bmc.machine.switched == []  # refused before anything was changed


def test_check_mode_reads_and_says_what_it_would_do(standin, tmp_path):
    code, output, result = power(tmp_path, standin.port, args=["--check"])
    assert code == 0, output
    assert result["changed"] is True and (result["reset_type"], result["boot"]) == ("On", PXE_ONCE)
    assert standin.calls == [] and standin.machine.switched == [] and standin.boot_override is None
    assert standin.reads  # it did read
