# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property tests: any store the validation accepts renders DHCP configs that the daemons accept
and that hold exactly the expected reservations, nothing injected, nothing missing."""

import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils import _provisioner as P
from ansible_collections.baremetal.provision.plugins.module_utils import _render_dhcp as D
from ansible_collections.baremetal.provision.plugins.module_utils._store import RecordStore

HOSTILE = st.sampled_from([
    'a"b', "a;b", "a{b", "a}b", "a\nb", "a#b", "a\x00b", "a b", "a/b", "..", "a$b", "a\\b", "ａ", "a\u2028b", "-a", "a" * 70,
])
LABEL = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}[a-z0-9]\Z")

pytestmark = pytest.mark.skipif(not (shutil.which("dhcpd") and shutil.which("kea-dhcp4")), reason="needs dhcpd and kea-dhcp4")


@st.composite
def fleets(draw):
    count = draw(st.integers(min_value=1, max_value=12))
    names = draw(st.lists(LABEL, min_size=count, max_size=count, unique=True))
    hosts = draw(st.lists(st.integers(min_value=2, max_value=199), min_size=count, max_size=count, unique=True))
    macs = draw(st.lists(st.integers(min_value=0x100, max_value=0xFFFFFF), min_size=count, max_size=count, unique=True))
    separators = draw(st.lists(st.sampled_from([":", "-", "upper"]), min_size=count, max_size=count))
    hostile = draw(st.one_of(st.none(), HOSTILE))
    hostile_field = draw(st.sampled_from(["name", "domain", "vars"]))
    systems = []
    for name, host, mac, sep in zip(names, hosts, macs, separators):
        text = "52:54:00:%02x:%02x:%02x" % (mac >> 16, (mac >> 8) & 0xFF, mac & 0xFF)
        if sep == "-":
            text = text.replace(":", "-")
        elif sep == "upper":
            text = text.upper()
        systems.append((name, "192.0.2.%d" % host, text))
    return systems, hostile, hostile_field


def _files(systems, hostile, hostile_field):
    files = {k: v for k, v in FILES.items() if not k.startswith("systems/")}
    for name, ip, mac in systems:
        files["systems/%s.yml" % name] = "tier: web\nhardware_model: r650\ninterfaces:\n  - {name: eth0, mac: %s, ip: %s, primary: true}\n" % (
            json.dumps(mac), ip)
    if hostile is not None:
        if hostile_field == "name":
            files["systems/%s.yml" % hostile.replace("/", "_").replace("\x00", "0").replace("\n", "n")] = files.pop(
                "systems/%s.yml" % systems[0][0])
        elif hostile_field == "domain":
            files["segments/dmz.yml"] = files["segments/dmz.yml"].replace("domain: dmz.example.test", "domain: %s" % json.dumps(hostile))
        else:
            files["systems/%s.yml" % systems[0][0]] += "vars: {note: %s}\n" % json.dumps(hostile)
    return files


def _check(command, text):
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as handle:
        handle.write(text)
    try:
        return subprocess.run([*command, handle.name], capture_output=True, text=True, check=False)
    finally:
        os.unlink(handle.name)


@settings(max_examples=int(os.environ.get("BAREMETAL_PROPERTY_EXAMPLES", "25")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(fleets())
def test_accepted_stores_render_configs_the_daemons_accept_with_exactly_the_reservations(tmp_path_factory, fleet):
    systems, hostile, hostile_field = fleet
    root = write_store(tmp_path_factory.mktemp("store"), _files(systems, hostile, hostile_field))
    store = RecordStore.load(root)
    problems = store.problems()
    if problems:
        # refused: every problem names a record file and says what is wrong
        assert all(p.path.endswith(".yml") or p.path.endswith("/") for p in problems), problems
        return
    view = P.build_view(store, "prov-dmz")
    expected = {}
    for system in view["systems"]:
        for iface in system["interfaces"]:
            if iface["segment"] == "dmz":
                expected[iface["mac"]] = (iface["ip"], system["name"])
    isc = D.render_isc(view)
    proc = _check(["dhcpd", "-t", "-q", "-cf"], isc)
    assert proc.returncode == 0, proc.stdout + proc.stderr + isc
    found = {}
    for block in re.finditer(r"^host (\S+) \{\n(.*?)^\}", isc, re.S | re.M):
        body = block.group(2)
        statements = [line.strip() for line in body.strip().splitlines()]
        assert all(re.match(r'^(hardware ethernet|fixed-address|option host-name|option ipxe\.no-pxedhcp|filename) ', s) for s in statements), body
        mac = re.search(r"hardware ethernet (\S+);", body).group(1)
        found[mac] = (re.search(r"fixed-address (\S+);", body).group(1), re.search(r'option host-name "([^"]+)";', body).group(1))
    assert found == expected
    assert isc.count("{") == isc.count("}")
    kea = D.render_kea(view, lease_file=str(tmp_path_factory.mktemp("kea") / "leases.csv"))
    proc = _check(["kea-dhcp4", "-t"], kea)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reservations = json.loads(kea)["Dhcp4"]["subnet4"][0]["reservations"]
    assert {r["hw-address"]: (r["ip-address"], r["hostname"]) for r in reservations} == expected
    for ip, _name in expected.values():
        assert ipaddress.IPv4Address(ip) in ipaddress.IPv4Network("192.0.2.0/24")
