# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""redfish_power's logic: which system, which ResetType, the ETag, with the real client against a
stand-in BMC on loopback that serves captured documents (sushy-emulator 2.2.0's fake driver) and
documents of the shapes other BMCs send (System.Embedded.1 ids, @odata.etag in the body, an
ActionInfo as the DMTF Redfish-Interface-Emulator and OpenBMC link to)."""

import http.server
import json
import threading

import pytest

from ansible_collections.baremetal.provision.plugins.module_utils._bmc import redfish as rf

UUID_A = "0f3c5a2e-7d41-4c8b-9a6e-1b2c3d4e5f60"
UUID_B = "9B2D6F1A-3C4E-4A5B-8C7D-0E1F2A3B4C5D"
PXE_ONCE = {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"}


def sushy_system(uuid, power_state="Off"):
    """sushy-emulator 2.2.0, fake driver: GET /redfish/v1/Systems/<uuid> (links it does not need
    for this trimmed)."""
    path = "/redfish/v1/Systems/" + uuid
    return {
        "@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem",
        "Id": uuid,
        "Name": "spare-a",
        "UUID": uuid,
        "Manufacturer": "Sushy Emulator",
        "PowerState": power_state,
        "Boot": {
            "BootSourceOverrideEnabled": "Continuous",
            "BootSourceOverrideTarget": "Hdd",
            "BootSourceOverrideTarget@Redfish.AllowableValues": ["Pxe", "Cd", "Hdd", "UefiHttp"],
            "BootSourceOverrideMode": "UEFI",
        },
        "Actions": {
            "#ComputerSystem.Reset": {
                "target": path + "/Actions/ComputerSystem.Reset",
                "ResetType@Redfish.AllowableValues": [
                    "On",
                    "ForceOff",
                    "GracefulShutdown",
                    "GracefulRestart",
                    "ForceRestart",
                    "Nmi",
                    "ForceOn",
                ],
            }
        },
        "@odata.id": path,
    }


def collection(*paths):
    """GET /redfish/v1/Systems, as sushy-emulator answers it."""
    return {
        "@odata.type": "#ComputerSystemCollection.ComputerSystemCollection",
        "Name": "Computer System Collection",
        "Members@odata.count": len(paths),
        "Members": [{"@odata.id": path} for path in paths],
        "@odata.id": "/redfish/v1/Systems",
    }


def embedded_system(power_state="On"):
    """A system named System.Embedded.1, whose Reset action lists its values in an ActionInfo."""
    path = "/redfish/v1/Systems/System.Embedded.1"
    return {
        "@odata.id": path,
        "@odata.etag": 'W/"gen-17"',
        "Id": "System.Embedded.1",
        "PowerState": power_state,
        "Boot": {"BootSourceOverrideEnabled": "Disabled", "BootSourceOverrideTarget": "None"},
        "Actions": {
            "#ComputerSystem.Reset": {
                "target": path + "/Actions/ComputerSystem.Reset",
                "@Redfish.ActionInfo": path + "/ResetActionInfo",
            }
        },
    }


def action_info(values):
    """An ActionInfo of the Reset action (the shape of the DMTF Redfish-Interface-Emulator's)."""
    return {
        "@odata.id": "/redfish/v1/Systems/System.Embedded.1/ResetActionInfo",
        "@odata.type": "#ActionInfo.v1_0_0.ActionInfo",
        "Parameters": [{"Name": "ResetType", "Required": True, "DataType": "String", "AllowableValues": values}],
    }


class CapturedBMC(object):
    """A stand-in BMC on loopback: GET answers the documents given ({path: document}) with the
    ETag given for the path (etags), PATCH and POST answer the statuses queued in answers (204
    when none is queued); every request is kept as (method, path, If-Match, body)."""

    def __init__(self, documents, etags=None):
        self.documents = documents
        self.etags = dict(etags or {})
        self.answers = []
        self.requests = []
        bmc = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _send(self, status, body=None, etag=None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _keep(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                bmc.requests.append((self.command, self.path, self.headers.get("If-Match"), body))

            def do_GET(self):
                self._keep()
                if self.path not in bmc.documents:
                    return self._send(404, {"error": {"message": "no such resource"}})
                self._send(200, bmc.documents[self.path], bmc.etags.get(self.path))

            def do_PATCH(self):
                self._keep()
                status = bmc.answers.pop(0) if bmc.answers else 204
                self._send(status, {"error": {"message": "refused"}} if status >= 400 else None)

            do_POST = do_PATCH

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.client = rf.RedfishClient("127.0.0.1", port=self.port, scheme="http", username="admin", password="pw")
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def writes(self):
        return [(m, p, tag, body) for m, p, tag, body in self.requests if m != "GET"]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def served():
    """served(documents, etags) -> a CapturedBMC, closed after the test."""
    bmcs = []

    def start(documents, etags=None):
        bmcs.append(CapturedBMC(documents, etags))
        return bmcs[-1]

    yield start
    for bmc in bmcs:
        bmc.close()


def sushy(*systems):
    """The documents of sushy-emulator with these systems."""
    docs = {"/redfish/v1/Systems": collection(*(s["@odata.id"] for s in systems))}
    docs.update({s["@odata.id"]: s for s in systems})
    return docs


# -- which ResetType ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "power, state, allowed, kind",
    [
        ("cycle", "On", None, "ForceRestart"),
        ("cycle", "Off", None, "On"),
        ("cycle", None, None, "ForceRestart"),
        ("cycle", "PoweringOn", None, "ForceRestart"),
        ("cycle", "On", ["On", "ForceOff", "PowerCycle"], "PowerCycle"),
        ("cycle", "Off", ["ForceOn", "ForceOff"], "ForceOn"),
        ("on", "Off", None, "On"),
        ("on", "On", None, None),
        ("on", "PoweringOn", ["ForceOff"], None),  # nothing to send: what it allows does not matter
        ("off", "On", None, "ForceOff"),
        ("off", "Off", None, None),
    ],
)
def test_reset_type_by_power_and_state(power, state, allowed, kind):
    assert rf.reset_type_for(power, state, allowed) == kind


def test_a_reset_type_the_system_does_not_allow_is_refused_naming_what_it_allows():
    with pytest.raises(rf.RedfishError) as err:
        rf.reset_type_for("cycle", "On", ["On", "ForceOff", "GracefulRestart", "GracefulShutdown"])
    assert str(err.value) == (
        "the system takes none of ForceRestart, PowerCycle (power cycle, PowerState On); "
        "it allows: On, ForceOff, GracefulRestart, GracefulShutdown"
    )


# -- which system -------------------------------------------------------------------------------


def test_the_only_member_is_used_without_system_id(served):
    bmc = served(sushy(sushy_system(UUID_A)))
    plan = rf.plan_power(bmc.client)
    assert plan == {
        "system_id": UUID_A,
        "path": "/redfish/v1/Systems/" + UUID_A,
        "etag": None,
        "power_state_before": "Off",
        "boot": PXE_ONCE,
        "reset_type": "On",
        "reset_target": "/redfish/v1/Systems/%s/Actions/ComputerSystem.Reset" % UUID_A,
    }
    assert bmc.writes() == []  # planning reads only
    plan["boot"]["BootSourceOverrideTarget"] = "Hdd"
    assert rf.BOOT_ONCE["pxe"] == PXE_ONCE  # the plan has a copy


def test_two_members_without_system_id_are_refused_naming_both(served):
    bmc = served(sushy(sushy_system(UUID_A), sushy_system(UUID_B, "On")))
    with pytest.raises(rf.RedfishError) as err:
        rf.plan_power(bmc.client)
    assert str(err.value) == (
        "BMC 127.0.0.1:%d: http://127.0.0.1:%d/redfish/v1/Systems lists 2 systems (%s, %s): "
        "give system_id to say which one" % (bmc.port, bmc.port, UUID_A, UUID_B)
    )


def test_system_id_picks_a_member_by_its_id_exactly(served):
    bmc = served(sushy(sushy_system(UUID_A), sushy_system(UUID_B, "On")))
    plan = rf.plan_power(bmc.client, UUID_B)
    assert (plan["system_id"], plan["reset_type"]) == (UUID_B, "ForceRestart")
    with pytest.raises(rf.RedfishError) as err:
        rf.plan_power(bmc.client, UUID_B.lower())  # Redfish ids are case-sensitive
    assert "system_id '%s' is not a member of" % UUID_B.lower() in str(err.value)
    assert str(err.value).endswith("which lists: %s, %s (give the Id as the BMC lists it)" % (UUID_A, UUID_B))


@pytest.mark.parametrize("system_id", ["../Managers/1", "a/b", "..", "1\n2", "1\x1b[2J"])
def test_a_system_id_that_is_no_resource_id_is_refused_before_any_request(served, system_id):
    bmc = served(sushy(sushy_system(UUID_A)))
    with pytest.raises(rf.RedfishError) as err:
        rf.plan_power(bmc.client, system_id)
    assert "is not a Redfish resource id" in str(err.value) and bmc.requests == []


def test_an_empty_collection_is_refused(served):
    bmc = served({"/redfish/v1/Systems": collection()})
    with pytest.raises(rf.RedfishError) as err:
        rf.plan_power(bmc.client)
    assert str(err.value) == "BMC 127.0.0.1:%d: http://127.0.0.1:%d/redfish/v1/Systems lists no systems" % (
        bmc.port,
        bmc.port,
    )


@pytest.mark.parametrize(
    "spoil, why",
    [
        (("@odata.id",), "refused: 'http://203.0.113.9/redfish/v1/Systems/1' is not a path under /redfish/"),
        (
            ("Actions", "#ComputerSystem.Reset", "target"),
            "refused: 'http://203.0.113.9/redfish/v1/Systems/1' is not a path under /redfish/",
        ),
    ],
    ids=["system-link", "reset-target"],
)
def test_links_off_the_bmc_are_refused(served, spoil, why):
    system = sushy_system(UUID_A)
    node = system
    for part in spoil[:-1]:
        node = node[part]
    node[spoil[-1]] = "http://203.0.113.9/redfish/v1/Systems/1"
    docs = sushy(sushy_system(UUID_A))
    docs["/redfish/v1/Systems/" + UUID_A] = system
    bmc = served(docs)
    with pytest.raises(rf.RedfishError) as err:
        rf.plan_power(bmc.client)
    assert why in str(err.value) and bmc.writes() == []


# -- what the system allows ---------------------------------------------------------------------


def test_a_boot_target_the_system_does_not_allow_is_refused(served):
    system = sushy_system(UUID_A)
    system["Boot"]["BootSourceOverrideTarget@Redfish.AllowableValues"] = ["Hdd", "Cd"]
    bmc = served(sushy(system))
    with pytest.raises(rf.RedfishError) as err:
        rf.plan_power(bmc.client)
    assert str(err.value).endswith(
        "/redfish/v1/Systems/%s#/Boot/BootSourceOverrideTarget@Redfish.AllowableValues: the system cannot boot "
        "from Pxe once; it allows: Hdd, Cd" % UUID_A
    )
    # with boot_once none, the boot target does not matter
    assert rf.plan_power(bmc.client, boot_once="none")["boot"] is None


def test_allowed_reset_types_come_from_the_action_info(served):
    path = "/redfish/v1/Systems/System.Embedded.1"
    docs = {
        "/redfish/v1/Systems": collection(path),
        path: embedded_system("On"),
        path + "/ResetActionInfo": action_info(["On", "ForceOff", "GracefulRestart", "GracefulShutdown"]),
    }
    bmc = served(docs)
    with pytest.raises(rf.RedfishError) as err:
        rf.plan_power(bmc.client)
    assert str(err.value) == (
        "BMC 127.0.0.1:%d: http://127.0.0.1:%d%s#/Actions/#ComputerSystem.Reset: the system takes none of "
        "ForceRestart, PowerCycle (power cycle, PowerState On); it allows: On, ForceOff, GracefulRestart, "
        "GracefulShutdown" % (bmc.port, bmc.port, path)
    )
    docs[path + "/ResetActionInfo"] = action_info(["On", "ForceOff", "ForceRestart"])
    assert rf.plan_power(bmc.client, "System.Embedded.1")["reset_type"] == "ForceRestart"
    assert bmc.writes() == []


def test_a_system_without_a_reset_action_is_refused_when_a_reset_is_needed(served):
    system = sushy_system(UUID_A)
    del system["Actions"]
    bmc = served(sushy(system))
    with pytest.raises(rf.RedfishError) as err:
        rf.plan_power(bmc.client)
    assert "the system advertises no #ComputerSystem.Reset action" in str(err.value)
    # none is needed to power on a system that is on
    system["PowerState"] = "On"
    assert rf.plan_power(bmc.client, power="on")["reset_type"] is None


def test_the_advertised_reset_target_is_used(served):
    system = sushy_system(UUID_A)
    system["Actions"]["#ComputerSystem.Reset"]["target"] = "/redfish/v1/Systems/%s/Actions/Oem/Reset" % UUID_A
    bmc = served(sushy(system))
    list(rf.power_control(bmc.client, rf.plan_power(bmc.client)))
    assert bmc.writes()[-1] == ("POST", "/redfish/v1/Systems/%s/Actions/Oem/Reset" % UUID_A, None, {"ResetType": "On"})


# -- the ETag -----------------------------------------------------------------------------------


def test_no_etag_no_if_match(served):
    bmc = served(sushy(sushy_system(UUID_A)))
    done = list(rf.power_control(bmc.client, rf.plan_power(bmc.client)))
    path = "/redfish/v1/Systems/" + UUID_A
    assert done == ["boot", "reset"]
    assert bmc.writes() == [
        ("PATCH", path, None, {"Boot": PXE_ONCE}),
        ("POST", path + "/Actions/ComputerSystem.Reset", None, {"ResetType": "On"}),
    ]


def test_the_etag_header_goes_along_as_if_match(served):
    path = "/redfish/v1/Systems/" + UUID_A
    bmc = served(sushy(sushy_system(UUID_A)), etags={path: '"a1b2"'})
    list(rf.power_control(bmc.client, rf.plan_power(bmc.client)))
    assert bmc.writes()[0] == ("PATCH", path, '"a1b2"', {"Boot": PXE_ONCE})
    assert bmc.writes()[1][2] is None  # an action takes no If-Match


def test_the_odata_etag_of_the_body_is_used_when_there_is_no_header(served):
    path = "/redfish/v1/Systems/System.Embedded.1"
    bmc = served(
        {
            "/redfish/v1/Systems": collection(path),
            path: embedded_system("Off"),
            path + "/ResetActionInfo": action_info(["On"]),
        }
    )
    list(rf.power_control(bmc.client, rf.plan_power(bmc.client)))
    assert bmc.writes()[0] == ("PATCH", path, 'W/"gen-17"', {"Boot": PXE_ONCE})


def test_a_412_is_read_again_and_sent_once_more_with_the_new_etag(served):
    path = "/redfish/v1/Systems/" + UUID_A
    bmc = served(sushy(sushy_system(UUID_A)), etags={path: '"v1"'})
    plan = rf.plan_power(bmc.client)
    bmc.etags[path] = '"v2"'  # the system changed since it was read
    bmc.answers = [412]
    assert list(rf.power_control(bmc.client, plan)) == ["boot", "reset"]
    patches = [(m, tag) for m, _p, tag, _b in bmc.writes() if m == "PATCH"]
    assert patches == [("PATCH", '"v1"'), ("PATCH", '"v2"')]


def test_a_second_412_and_a_428_are_errors_that_say_why(served):
    path = "/redfish/v1/Systems/" + UUID_A
    bmc = served(sushy(sushy_system(UUID_A)), etags={path: '"v1"'})
    plan = rf.plan_power(bmc.client)
    bmc.answers = [412, 412]
    steps = []
    with pytest.raises(rf.RedfishError) as err:
        steps.extend(rf.power_control(bmc.client, plan))
    assert steps == [] and err.value.status == 412
    assert str(err.value) == (
        "BMC 127.0.0.1:%d: PATCH http://127.0.0.1:%d%s: HTTP 412 Precondition Failed: the resource changed since "
        "it was read (its ETag no longer matches) (the BMC says: refused)" % (bmc.port, bmc.port, path)
    )
    assert [w[0] for w in bmc.writes()] == ["PATCH", "PATCH"]  # no reset after a failed boot override

    bmc.answers = [428]
    with pytest.raises(rf.RedfishError) as err:
        list(rf.power_control(bmc.client, dict(plan, etag=None)))
    assert "HTTP 428 Precondition Required: the BMC wants If-Match with the resource's ETag, and gave none" in str(
        err.value
    )


def test_a_failed_reset_after_the_boot_override_says_the_boot_was_set(served):
    bmc = served(sushy(sushy_system(UUID_A)))
    plan = rf.plan_power(bmc.client)
    bmc.answers = [204, 409]
    steps = []
    with pytest.raises(rf.RedfishError) as err:
        steps.extend(rf.power_control(bmc.client, plan))
    assert steps == ["boot"] and "POST http://127.0.0.1:%d" % bmc.port in str(err.value)
    assert "HTTP 409" in str(err.value)
