# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in Redfish BMC for a QEMU machine of the lab.

It stands in for the one part that cannot run here, a physical BMC: a minimal Redfish service on
loopback with what the playbooks use, and it starts and stops the QEMU machine it was given.

- /redfish/v1 (the service root) and /redfish/v1/Systems, a collection with one member,
  /redfish/v1/Systems/1;
- the system: PowerState (from the machine), Boot with the override set last and
  BootSourceOverrideTarget@Redfish.AllowableValues, and Actions with the #ComputerSystem.Reset
  target and its ResetType@Redfish.AllowableValues (reset_types); an ETag header that changes
  with every change of the system;
- PATCH of the system takes only Boot, and, as some BMCs do, only with If-Match and the current
  ETag (428 without it, 412 with another one) unless require_if_match is false;
- POST of the Reset target takes the allowed ResetTypes only (400 otherwise).

Requests are kept for the test to inspect: ``calls`` has each PATCH and POST (method, path, body)
and each refused request (method, path, status as a string), in order; ``reads`` has the path of
each GET answered.
"""

import base64
import http.server
import json
import threading

SYSTEMS = "/redfish/v1/Systems"
SYSTEM = SYSTEMS + "/1"
RESET = SYSTEM + "/Actions/ComputerSystem.Reset"
BOOT_TARGETS = ["None", "Pxe", "Hdd", "Cd"]
RESET_TYPES = ["On", "ForceOff", "GracefulShutdown", "ForceRestart", "GracefulRestart", "PowerCycle"]
_OFF = ("ForceOff", "GracefulShutdown", "ForceRestart", "GracefulRestart", "PowerCycle")
_ON = ("On", "ForceOn", "ForceRestart", "GracefulRestart", "PowerCycle")


class RedfishStandIn(object):
    def __init__(self, machine, username="admin", password="lab-password", reset_types=None, require_if_match=True):
        self.machine = machine
        self.credentials = "Basic " + base64.b64encode(("%s:%s" % (username, password)).encode()).decode()
        self.boot_override = None
        self.reset_types = list(RESET_TYPES if reset_types is None else reset_types)
        self.require_if_match = require_if_match
        self.version = 1  # of the system resource: its ETag is W/"<version>"
        self.calls = []
        self.reads = []
        bmc = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _reply(self, status, body=None, etag=None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                if etag:
                    self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _refuse(self, status, message):
                bmc.calls.append((self.command, self.path, str(status)))
                self._reply(status, {"error": {"code": "Base.1.0.GeneralError", "message": message}})

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    return json.loads(self.rfile.read(length) or b"{}") if length else {}
                except ValueError:
                    return None

            def _authorised(self):
                if self.headers.get("Authorization") != bmc.credentials:
                    self._refuse(401, "bad credentials")
                    return False
                return True

            def do_GET(self):
                if not self._authorised():
                    return
                path = self.path.rstrip("/")
                if path == "/redfish/v1":
                    document = {"@odata.id": "/redfish/v1", "Id": "RootService", "Systems": {"@odata.id": SYSTEMS}}
                elif path == SYSTEMS:
                    document = {
                        "@odata.id": SYSTEMS,
                        "Name": "Computer System Collection",
                        "Members@odata.count": 1,
                        "Members": [{"@odata.id": SYSTEM}],
                    }
                elif path == SYSTEM:
                    bmc.reads.append(self.path)
                    return self._reply(200, bmc.system(), etag=bmc.etag())
                else:
                    return self._refuse(404, "no such resource")
                bmc.reads.append(self.path)
                self._reply(200, document)

            def do_PATCH(self):
                if not self._authorised():
                    return
                if self.path.rstrip("/") != SYSTEM:
                    return self._refuse(405 if self.path.rstrip("/") in ("/redfish/v1", SYSTEMS) else 404, "cannot")
                tag = self.headers.get("If-Match")
                if tag is None and bmc.require_if_match:
                    return self._refuse(428, "If-Match with the ETag of the resource is required")
                if tag is not None and tag not in (bmc.etag(), "*"):
                    return self._refuse(412, "the ETag does not match")
                body = self._body()
                boot = body.get("Boot") if isinstance(body, dict) else None
                if not isinstance(body, dict) or set(body) != {"Boot"} or not isinstance(boot, dict):
                    return self._refuse(400, "only Boot can be changed")
                if boot.get("BootSourceOverrideTarget", "Pxe") not in BOOT_TARGETS or boot.get(
                    "BootSourceOverrideEnabled", "Once"
                ) not in ("Disabled", "Once", "Continuous"):
                    return self._refuse(400, "unknown boot override")
                bmc.boot_override = boot
                bmc.version += 1
                bmc.calls.append(("PATCH", self.path, body))
                self._reply(204)

            def do_POST(self):
                if not self._authorised():
                    return
                body = self._body()
                if self.path != RESET:
                    return self._refuse(404, "unknown action")
                kind = body.get("ResetType") if isinstance(body, dict) else None
                if kind not in bmc.reset_types:
                    return self._refuse(400, "ResetType %r is not allowed" % (kind,))
                bmc.calls.append(("POST", self.path, body))
                if kind in _OFF:
                    bmc.machine.power_off()
                if kind in _ON:
                    bmc.machine.power_on()
                bmc.version += 1
                return self._reply(204)

            def log_message(self, fmt, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def etag(self):
        return 'W/"%d"' % self.version

    def system(self):
        """The system resource as GET answers it."""
        boot = {"BootSourceOverrideEnabled": "Disabled", "BootSourceOverrideTarget": "None"}
        boot.update(self.boot_override or {})
        boot["BootSourceOverrideTarget@Redfish.AllowableValues"] = BOOT_TARGETS
        return {
            "@odata.id": SYSTEM,
            "@odata.type": "#ComputerSystem.v1_13_0.ComputerSystem",
            "Id": "1",
            "Name": "stand-in",
            "PowerState": "On" if self.machine.is_on() else "Off",
            "Boot": boot,
            "Actions": {
                "#ComputerSystem.Reset": {"target": RESET, "ResetType@Redfish.AllowableValues": self.reset_types}
            },
        }

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class MachineStandIn(object):
    """A stand-in for the machine behind RedfishStandIn: a power switch that remembers what it was
    told (the e2e story puts a real QEMU machine there)."""

    def __init__(self, on=False):
        self.on = on
        self.switched = []

    def is_on(self):
        return self.on

    def power_on(self):
        self.on = True
        self.switched.append("on")

    def power_off(self):
        self.on = False
        self.switched.append("off")
