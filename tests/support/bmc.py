# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in Redfish BMC for a QEMU machine of the lab.

It stands in for the one part that cannot run here, a physical BMC: it answers the two Redfish
calls the playbooks make (a one-time boot override, a reset) on loopback and starts and stops
the QEMU machine it was given. Requests and their outcome are kept for the test to inspect.
"""

import base64
import http.server
import json
import threading


class RedfishStandIn(object):
    def __init__(self, machine, username="admin", password="lab-password"):
        self.machine = machine
        self.credentials = "Basic " + base64.b64encode(("%s:%s" % (username, password)).encode()).decode()
        self.boot_override = None
        self.calls = []
        bmc = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _reply(self, status, body=None):
                data = json.dumps(body or {}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}") if length else {}

            def _authorised(self):
                if self.headers.get("Authorization") != bmc.credentials:
                    bmc.calls.append((self.command, self.path, "401"))
                    self._reply(401, {"error": "bad credentials"})
                    return False
                return True

            def do_GET(self):
                if self._authorised():
                    state = "On" if bmc.machine.is_on() else "Off"
                    self._reply(200, {"Id": "1", "PowerState": state, "Boot": bmc.boot_override or {}})

            def do_PATCH(self):
                if not self._authorised():
                    return
                body = self._body()
                bmc.boot_override = body.get("Boot")
                bmc.calls.append(("PATCH", self.path, body))
                self._reply(204)

            def do_POST(self):
                if not self._authorised():
                    return
                body = self._body()
                bmc.calls.append(("POST", self.path, body))
                if not self.path.endswith("/Actions/ComputerSystem.Reset"):
                    return self._reply(404, {"error": "unknown action"})
                kind = body.get("ResetType")
                if kind in ("ForceOff", "GracefulShutdown", "ForceRestart", "GracefulRestart", "PowerCycle"):
                    bmc.machine.power_off()
                if kind in ("On", "ForceOn", "ForceRestart", "GracefulRestart", "PowerCycle"):
                    bmc.machine.power_on()
                return self._reply(204)

            def log_message(self, fmt, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
