# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netboot-once callback service under hostile clients (on loopback, as the role installs it)."""

import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import report
from support.ansible_cli import REPO
from support.netns import wait_for

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import netboot as N
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_boot as B
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import tree_sync as T

MAC = "52:54:00:12:34:56"
BURST = 3000 if os.environ.get("BAREMETAL_SOAK") else 300


@pytest.fixture
def service(tmp_path):
    code = tmp_path / "cb"
    code.mkdir()
    # what the kickstart role installs: the script, and the provisioner-side modules it imports as a package
    shutil.copy(os.path.join(REPO, "roles/kickstart/files/bm_callback.py"), str(code))
    (code / "bm_provisioner").mkdir()
    for name in ("__init__", "atomic", "netboot", "render_boot", "tree_sync"):
        shutil.copy(os.path.join(REPO, "plugins/module_utils/_provisioner", name + ".py"), str(code / "bm_provisioner"))
    state, tftp = str(tmp_path / "state"), str(tmp_path / "tftp")
    secret = N.load_secret(state)
    N.write_json(os.path.join(state, N.INDEX), {"web01": {"generation": 2, "macs": [MAC], "ip": "127.0.0.1"}})
    for rel, text in B.install_files(
        {
            "name": "web01",
            "distro": "d",
            "install_format": "kickstart",
            "kernel_options": "",
            "build_generation": 2,
            "install_tree": None,
        },
        MAC,
        "http://192.0.2.1",
    ).items():
        path = os.path.join(tftp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    log = open(str(tmp_path / "callback.log"), "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, str(code / "bm_callback.py"), "--state-dir", state, "--tftp-root", tftp, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def up():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    wait_for(up, what="the callback service")
    yield {
        "port": port,
        "secret": secret,
        "state": state,
        "tftp": tftp,
        "proc": proc,
        "log": str(tmp_path / "callback.log"),
    }
    proc.terminate()
    proc.wait(timeout=10)
    log.close()


def _get(port, path, method="GET", headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _raw(port, data):
    """Send raw bytes; the status of the answer, or None when the service just closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        try:
            answer = sock.recv(4096)
        except OSError:
            return None
    if not answer.startswith(b"HTTP/"):
        return None
    return int(answer.split()[1])


def _pxe(service):
    with open(os.path.join(service["tftp"], B.pxelinux_path(MAC)), encoding="utf-8") as handle:
        return handle.read()


def test_hostile_requests_change_nothing_and_valid_ones_still_work(service):
    port, secret = service["port"], service["secret"]
    valid = "/bm/callback/" + N.make_token(secret, "web01", 2)
    hostile = [
        "/",
        "/bm/callback/",
        "/bm/callback/../../etc/passwd",
        "/bm/callback/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/bm/callback/web01.2." + "0" * 64,
        "/bm/callback/" + N.make_token(secret, "web01", 1),
        "/bm/callback/" + N.make_token(secret, "web01", 3),
        "/bm/callback/" + N.make_token(b"x" * 32, "web01", 2),
        "/bm/callback/" + N.make_token(secret, "web02", 2),
        "/bm/callback/" + "a" * 5000,
        valid + "/extra",
        "/bm/callback/web01.2.%00" + "0" * 62,
    ]
    for path in hostile:
        status, _body = _get(port, path)
        assert status in (400, 403, 404, 414), (path, status)
    # bytes no HTTP client library would send
    for raw in (
        b"GET /bm/callback/\xc3\xa9\xff HTTP/1.1\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        b"\x00\x01\x02\r\n\r\n",
        b"GET /bm/callback/x HTTP/1.1\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
    ):
        assert _raw(port, raw) in (None, 400, 403, 404, 414, 431, 505), raw[:40]
    # methods and bodies it does not serve
    assert _get(port, valid, method="PUT")[0] == 501
    assert _get(port, valid, method="DELETE")[0] == 501
    # the right token from another address (nginx's X-Real-IP) is refused
    assert _get(port, valid, headers={"X-Real-IP": "192.0.2.99"})[0] == 403
    # a bounded burst of bad requests in parallel
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda i: _get(port, "/bm/callback/web01.2.%064x" % i)[0], range(BURST)))
    assert set(statuses) == {403}
    # random token-shaped garbage: names, generations, signatures, encodings, separators
    rng = random.Random(7)
    alphabet = "abcdefw0123456789.-_/%~:;'\"{}$\\ \t"
    fuzz = []
    for _i in range(BURST):
        token = "".join(rng.choice(alphabet) for _j in range(rng.randrange(1, 120)))
        fuzz.append("/bm/callback/" + urllib.parse.quote(token, safe=rng.choice(["", "/%", ".-"])))
    with ThreadPoolExecutor(max_workers=16) as pool:
        fuzz_statuses = list(pool.map(lambda path: _get(port, path)[0], fuzz))
    assert all(400 <= status < 500 for status in fuzz_statuses), sorted(set(fuzz_statuses))
    # nothing changed, the service lives, and a valid callback still works exactly once
    assert N.read_completed(service["state"]) == {}
    assert "inst.ks=" in _pxe(service)
    assert service["proc"].poll() is None
    status, body = _get(port, valid)
    assert status == 200, body
    assert json.loads(body)["status"] == 200
    assert N.read_completed(service["state"]) == {"web01": 2}
    assert "LOCALBOOT" in _pxe(service)
    status, body = _get(port, valid)
    assert status == 403 and b"replayed" in body
    time.sleep(0.2)
    with open(service["log"], encoding="utf-8") as handle:
        log = handle.read()
    assert "bad signature" in log and "stale token" in log and "replayed token" in log and "accepted" in log
    assert service["proc"].poll() is None
    tried = len(hostile) + 5 + 3 + len(statuses) + len(fuzz_statuses) + 2
    report.add(
        "callback under hostile clients",
        requests=tried,
        refused=tried - 1,
        accepted=1,
        crashes=int(service["proc"].poll() is not None),
        state_changes_without_a_valid_token=0 if N.read_completed(service["state"]) == {"web01": 2} else 1,
    )


def _killed_render(tftp, files, monkeypatch):
    """A render of the TFTP tree killed right after its commit point: journal written, nothing renamed."""
    real = os.replace

    def crash(src, dst):
        if T.STAGE in src:
            raise KeyboardInterrupt("killed")
        real(src, dst)

    monkeypatch.setattr(T.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        T.sync_tree(tftp, files)
    monkeypatch.setattr(T.os, "replace", real)
    assert os.path.exists(os.path.join(tftp, T.JOURNAL))


def test_the_service_finishes_a_killed_render_and_a_roll_forward_never_undoes_a_switch(service, monkeypatch):
    tftp = service["tftp"]
    current = {rel: _read(tftp, rel) for rel in B.local_files(MAC)}
    # killed after its commit point, a render that rewrote web01's configs (installer, generation 2)
    _killed_render(
        tftp,
        {rel: text.replace("generation 2", "generation 2 (re-rendered)") for rel, text in current.items()},
        monkeypatch,
    )
    status, body = _get(service["port"], "/bm/callback/" + N.make_token(service["secret"], "web01", 2))
    assert status == 200, body
    # the callback finished the render first, then switched: local boot stays
    assert not os.path.exists(os.path.join(tftp, T.JOURNAL))
    assert "LOCALBOOT" in _pxe(service)
    # a killed render with nobody calling back is finished by the service within seconds
    _killed_render(tftp, {B.pxelinux_path(MAC): B.PXELINUX_LOCAL + "# rendered again\n"}, monkeypatch)
    wait_for(lambda: not os.path.exists(os.path.join(tftp, T.JOURNAL)), timeout=20, what="the service's roll-forward")
    assert _pxe(service).endswith("# rendered again\n")
    assert not os.path.exists(os.path.join(tftp, T.STAGE))
    time.sleep(0.2)
    with open(service["log"], encoding="utf-8") as handle:
        assert "finished an interrupted render" in handle.read()
    assert service["proc"].poll() is None


def _read(tftp, rel):
    with open(os.path.join(tftp, rel), encoding="utf-8") as handle:
        return handle.read()
