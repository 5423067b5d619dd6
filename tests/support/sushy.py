# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sushy-tools' Redfish emulators on loopback, for the tests of the Redfish side.

- SushyEmulator: ``sushy-emulator`` (the one OpenStack Ironic and Metal3 test with) with its fake
  driver, which keeps systems in memory and needs no libvirt. Reset takes effect 1 to 11 s after
  it is accepted; a boot override is stored (and always reported as Continuous). It gives
  Manufacturer "Sushy Emulator" but no Model, SerialNumber, CPU or memory figures, and its NICs'
  Id is their MAC. Basic authentication comes from an htpasswd file with bcrypt digests only.
- SushyStatic: ``sushy-static``, which serves a directory of Redfish mockup files read-only
  (answers 204 to every PATCH and POST and changes nothing).

Each is started as a process of its own on a free loopback port, ended by its PID, and its state
(the fake driver keeps systems in a SQLite file) stays in the test's directory.
"""

import base64
import json
import os
import socket
import sys
import urllib.error
import urllib.request

from support.netns import Lab, read_log, wait_for

BIN = os.path.dirname(sys.executable)


def free_port():
    """A TCP port nothing listens on at 127.0.0.1 now."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


class _Served(object):
    """A Redfish service process on 127.0.0.1:port, and plain HTTP requests to it."""

    def __init__(self, workdir, name, credentials=None):
        self.workdir = str(workdir)
        self.name = name
        self.credentials = credentials
        self.port = free_port()
        self.log = os.path.join(self.workdir, "%s.log" % name)
        self.lab = Lab(tag="rf")
        self.proc = None

    def _start(self, argv):
        self.proc = self.lab.start(None, argv, self.log)
        wait_for(self._answers, timeout=60, what="%s on port %d (log: %s)" % (self.name, self.port, self.log))

    def _answers(self):
        if self.proc.poll() is not None:
            raise AssertionError("%s exited (%s):\n%s" % (self.name, self.proc.returncode, read_log(self.log)))
        try:
            return self.request("GET", "/redfish/v1/")[0] == 200
        except OSError:
            return False

    def request(self, method, path, body=None, auth=True):
        """(status, parsed JSON or None) of one request, with the credentials unless auth=False."""
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if auth and self.credentials:
            token = base64.b64encode(("%s:%s" % self.credentials).encode()).decode()
            req.add_header("Authorization", "Basic " + token)
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:
                raw, status = answer.read(), answer.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        try:
            return status, json.loads(raw) if raw.strip() else None
        except ValueError:
            return status, None

    def get(self, path):
        status, data = self.request("GET", path)
        if status != 200:
            raise AssertionError("GET %s: HTTP %d %r" % (path, status, data))
        return data

    def close(self):
        if self.proc is not None:
            self.lab.stop(self.proc)
            self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class SushyEmulator(_Served):
    """sushy-emulator, fake driver, with the given systems: [{uuid, name, power_state, nics:
    [{mac, ip}]}]; credentials (user, password) turns on basic authentication."""

    def __init__(self, workdir, systems, credentials=None):
        super().__init__(workdir, "sushy-emulator", credentials)
        config = {
            "SUSHY_EMULATOR_LISTEN_IP": "127.0.0.1",
            "SUSHY_EMULATOR_LISTEN_PORT": self.port,
            "SUSHY_EMULATOR_FAKE_DRIVER": True,
            "SUSHY_EMULATOR_FAKE_SYSTEMS": systems,
            # The fake driver's systems live in a SQLite file (default: /tmp/sushy-emulator): keep
            # it here, so that no other run's systems or power states leak in.
            "SUSHY_EMULATOR_STATE_DIR": os.path.join(self.workdir, "sushy-state"),
        }
        if credentials:
            import bcrypt  # sushy-tools' own dependency: its htpasswd reader takes bcrypt digests only

            htpasswd = os.path.join(self.workdir, "sushy-htpasswd")
            digest = bcrypt.hashpw(credentials[1].encode(), bcrypt.gensalt(rounds=4)).decode()
            with open(htpasswd, "w", encoding="ascii") as handle:
                handle.write("%s:%s\n" % (credentials[0], digest))
            config["SUSHY_EMULATOR_AUTH_FILE"] = htpasswd
        self.config = os.path.join(self.workdir, "sushy-emulator.conf")
        with open(self.config, "w", encoding="utf-8") as handle:
            for key, value in config.items():
                handle.write("%s = %r\n" % (key, value))
        self._start([os.path.join(BIN, "sushy-emulator"), "--config", self.config, "--fake"])

    def system(self, ident):
        return self.get("/redfish/v1/Systems/%s" % ident)


class SushyStatic(_Served):
    """sushy-static serving the mockup tree at mockup_dir (its index.json is /redfish/v1)."""

    def __init__(self, workdir, mockup_dir):
        super().__init__(workdir, "sushy-static")
        self._start([os.path.join(BIN, "sushy-static"), "-i", "127.0.0.1", "-p", str(self.port), "-m", str(mockup_dir)])
