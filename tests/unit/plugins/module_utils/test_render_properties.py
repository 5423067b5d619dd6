# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property tests: any store the validation accepts renders files that their daemons accept and
that hold exactly what the records say, nothing injected, nothing missing, nothing outside its tree:
- DHCP configs (dhcpd -t, kea-dhcp4 -t), parsed back to exactly the expected reservations;
- the nginx access map (nginx -t on a config that includes it), parsed back to exactly the owners;
- the per-MAC boot configs (pxelinux, GRUB, iPXE): exactly the expected files, every line one of
  the fixed statement shapes, every kernel argument a plain token;
- the install configs: exactly one per system, values arriving as data (never templated).
Hostile values go into the system name, the segment's domain, a var, a kernel option and an
interface name. `make soak` (BAREMETAL_SOAK=1) runs many more examples; the counts go to the
hardening report."""

import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support import report
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_boot as B
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_dhcp as D
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_install as I
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import sync as P
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import tree_sync as T
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import build_view

HOSTILE = st.one_of(
    st.sampled_from(
        [
            'a"b',
            "a;b",
            "a{b",
            "a}b",
            "a\nb",
            "a#b",
            "a\x00b",
            "a b",
            "a/b",
            "..",
            "a$b",
            "a\\b",
            "ａ",
            "a\u2028b",
            "-a",
            "a" * 70,
            "{{ 7 * 7 }}",
            "{% raw %}",
            "${netX/mac}",
            "a'b",
            "../../etc/passwd",
            "a\rb",
            "\ufeffa",
            "a:b",
            "a=b",
        ]
    ),
    st.text(max_size=40),
)
FIELDS = ("name", "domain", "vars", "kernel_options", "iface")
SOAK = bool(os.environ.get("BAREMETAL_SOAK"))
TEMPLATE = "# kickstart for {{ name }}\n# note: {{ vars.note | default('none') | tojson }}\n"
LABEL = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}[a-z0-9]\Z")

pytestmark = pytest.mark.skipif(
    not (shutil.which("dhcpd") and shutil.which("kea-dhcp4") and shutil.which("nginx")),
    reason="needs dhcpd, kea-dhcp4 and nginx",
)


@st.composite
def fleets(draw):
    count = draw(st.integers(min_value=1, max_value=12))
    names = draw(st.lists(LABEL, min_size=count, max_size=count, unique=True))
    hosts = draw(st.lists(st.integers(min_value=2, max_value=199), min_size=count, max_size=count, unique=True))
    macs = draw(st.lists(st.integers(min_value=0x100, max_value=0xFFFFFF), min_size=count, max_size=count, unique=True))
    separators = draw(st.lists(st.sampled_from([":", "-", "upper"]), min_size=count, max_size=count))
    hostile = draw(st.one_of(st.none(), HOSTILE))
    hostile_field = draw(st.sampled_from(FIELDS))
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
    files["templates/rocky9.ks.j2"] = TEMPLATE
    for name, ip, mac in systems:
        files["systems/%s.yml" % name] = (
            "tier: web\nhardware_model: r650\ninterfaces:\n  - {name: eth0, mac: %s, ip: %s, primary: true}\n"
            % (json.dumps(mac), ip)
        )
    if hostile is not None:
        if hostile_field == "name":
            files["systems/%s.yml" % hostile.replace("/", "_").replace("\x00", "0").replace("\n", "n")] = files.pop(
                "systems/%s.yml" % systems[0][0]
            )
        elif hostile_field == "domain":
            files["segments/dmz.yml"] = files["segments/dmz.yml"].replace(
                "domain: dmz.example.test", "domain: %s" % json.dumps(hostile)
            )
        elif hostile_field == "kernel_options":
            files["systems/%s.yml" % systems[0][0]] += "kernel_options: {console: %s}\n" % json.dumps(hostile)
        elif hostile_field == "iface":
            first = "systems/%s.yml" % systems[0][0]
            files[first] = files[first].replace("{name: eth0,", "{name: %s," % json.dumps(hostile))
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


TOKEN = re.compile(r"^[A-Za-z0-9._:/=,+@%~?-]+$")
BOOT_LINES = {
    "pxelinux": [
        r"# baremetal\.provision: install (?P<name>\S+) generation \d+",
        "DEFAULT install",
        "PROMPT 0",
        "TIMEOUT 0",
        "LABEL install",
        r"  KERNEL /images/rocky9/vmlinuz",
        r"  APPEND initrd=/images/rocky9/initrd (?P<args>.*)",
    ],
    "grub": [
        r"# baremetal\.provision: install (?P<name>\S+) generation \d+",
        "set timeout=0",
        r"menuentry 'install (?P<name2>\S+)' \{",
        r"  linux /images/rocky9/vmlinuz (?P<args>.*)",
        r"  initrd /images/rocky9/initrd",
        r"\}",
    ],
    "ipxe": [
        "#!ipxe",
        r"# baremetal\.provision: install (?P<name>\S+) generation \d+",
        r"kernel http://192\.0\.2\.1/images/rocky9/vmlinuz initrd=initrd (?P<args>.*)",
        r"initrd --name initrd http://192\.0\.2\.1/images/rocky9/initrd",
        "boot",
    ],
}


def _count(**counts):
    report.add("properties: rendered files of hostile stores (DHCP, boot, install, nginx map)", **counts)


def _boot_file_problems(kind, text, name):
    """Lines of a per-MAC boot file that are not the fixed shapes, or carry more than plain tokens."""
    lines = text.rstrip("\n").split("\n")
    shapes = BOOT_LINES[kind]
    if len(lines) != len(shapes):
        return ["%d lines, expected %d" % (len(lines), len(shapes))]
    bad = []
    for line, shape in zip(lines, shapes):
        match = re.fullmatch(shape, line)
        if not match:
            bad.append(line)
            continue
        for key in ("name", "name2"):
            if match.groupdict().get(key) not in (None, name):
                bad.append(line)
        args = match.groupdict().get("args")
        if args is not None:
            words = args.split(" ")
            # GRUB quotes the one argument that carries a ;
            plain = [
                w[1:-1] if kind == "grub" and w.startswith("'") and w.endswith("'") and "'" not in w[1:-1] else w
                for w in words
            ]
            bad.extend(w for w in plain if not TOKEN.match(w))
            if "inst.ks=http://192.0.2.1/ks/%s.cfg" % name not in words:
                bad.append("no install URL of %s in %r" % (name, args))
    return bad


def _walk(root):
    found = set()
    for folder, _dirs, names in os.walk(root):
        for fname in names:
            path = os.path.join(folder, fname)
            assert os.path.realpath(path).startswith(os.path.realpath(root) + os.sep), path
            found.add(os.path.relpath(path, root))
    return found


def _nginx_check(directory, acl_map):
    with open(os.path.join(directory, "install-acl.map"), "w", encoding="utf-8") as handle:
        handle.write(acl_map)
    conf = os.path.join(directory, "nginx.conf")
    with open(conf, "w", encoding="utf-8") as handle:
        handle.write(
            "pid %(d)s/nginx.pid;\nerror_log %(d)s/error.log;\nevents {}\nhttp {\n  access_log off;\n"
            '  map $uri $bm_owner {\n    default "";\n    include %(d)s/install-acl.map;\n  }\n}\n' % {"d": directory}
        )
    return subprocess.run(
        ["nginx", "-t", "-q", "-p", directory, "-e", os.path.join(directory, "error.log"), "-c", conf],
        capture_output=True,
        text=True,
        check=False,
    )


@settings(
    max_examples=int(os.environ.get("BAREMETAL_PROPERTY_EXAMPLES", "600" if SOAK else "30")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(fleets())
@example(([("a0", "192.0.2.2", "52:54:00:00:01:00")], "../../etc/passwd", "name"))  # the only system file hidden
@example(([("a0", "192.0.2.2", "52:54:00:00:01:00")], "0\n", "domain"))  # a rule's "$" let a final newline by
@example(([("a0", "192.0.2.2", "52:54:00:00:01:00")], "eth0\n", "iface"))
@example(([("a0", "192.0.2.2", "52:54:00:00:01:00")], "eth0\u2028", "iface"))
def test_accepted_stores_render_files_their_daemons_accept_holding_exactly_the_records(tmp_path_factory, fleet):
    systems, hostile, hostile_field = fleet
    root = write_store(tmp_path_factory.mktemp("store"), _files(systems, hostile, hostile_field))
    store = RecordStore.load(root)
    problems = store.problems()
    if problems:
        # refused: every problem names a record file and says what is wrong
        _count(tried=1, refused=1)
        assert all((p.path.endswith(".yml") or p.path.endswith("/")) and p.message for p in problems), problems
        return
    _count(tried=1, accepted=1)
    view = build_view(store, "prov-dmz")
    expected = {}
    for system in view["systems"]:
        for iface in system["interfaces"]:
            if iface["segment"] == "dmz":
                expected[iface["mac"]] = (iface["ip"], system["name"])

    # DHCP: both daemons accept the config; parsed back, exactly the reservations
    isc = D.render_isc(view)
    proc = _check(["dhcpd", "-t", "-q", "-cf"], isc)
    _count(daemon_rejected=proc.returncode != 0)
    assert proc.returncode == 0, proc.stdout + proc.stderr + isc
    found = {}
    for block in re.finditer(r"^host (\S+) \{\n(.*?)^\}", isc, re.S | re.M):
        body = block.group(2)
        statements = [line.strip() for line in body.strip().splitlines()]
        injected = [
            s
            for s in statements
            if not re.match(r"^(hardware ethernet|fixed-address|option host-name|option ipxe\.no-pxedhcp|filename) ", s)
        ]
        _count(injected=len(injected))
        assert not injected, body
        mac = re.search(r"hardware ethernet (\S+);", body).group(1)
        found[mac] = (
            re.search(r"fixed-address (\S+);", body).group(1),
            re.search(r'option host-name "([^"]+)";', body).group(1),
        )
    assert found == expected
    assert isc.count("{") == isc.count("}")
    kea = D.render_kea(view, lease_file=str(tmp_path_factory.mktemp("kea") / "leases.csv"))
    proc = _check(["kea-dhcp4", "-t"], kea)
    _count(daemon_rejected=proc.returncode != 0)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    reservations = json.loads(kea)["Dhcp4"]["subnet4"][0]["reservations"]
    assert {r["hw-address"]: (r["ip-address"], r["hostname"]) for r in reservations} == expected
    for ip, _name in expected.values():
        assert ipaddress.IPv4Address(ip) in ipaddress.IPv4Network("192.0.2.0/24")

    # boot configs: exactly one file per MAC and loader plus the fallbacks, every line a fixed shape
    tftp = str(tmp_path_factory.mktemp("tftp"))
    armed = {system["name"]: True for system in view["systems"]}
    T.sync_tree(tftp, P.tftp_files(view, armed))
    want = set(B.default_files()) | {T.MANIFEST}
    for mac, (_ip, name) in expected.items():
        files = {"pxelinux": B.pxelinux_path(mac), "grub": B.grub_path(mac), "ipxe": B.ipxe_path(mac)}
        want.update(files.values())
        for kind, relpath in files.items():
            with open(os.path.join(tftp, relpath), encoding="utf-8") as handle:
                bad = _boot_file_problems(kind, handle.read(), name)
            _count(injected=len(bad))
            assert not bad, (relpath, bad)
    assert _walk(tftp) == want

    # install configs: one per system, each value arriving as data; the nginx map: exactly the owners
    web = str(tmp_path_factory.mktemp("www"))
    files, owners, _index = P.web_files(view, b"k" * 32, None)
    T.sync_tree(web, files)
    # (a store whose only system file is hidden, such as "..something.yml", has no system at all)
    assert _walk(web) == {"ks/%s.cfg" % s["name"] for s in view["systems"]} | ({T.MANIFEST} if files else set())
    for system in view["systems"]:
        with open(os.path.join(web, "ks", system["name"] + ".cfg"), encoding="utf-8") as handle:
            lines = handle.read().split("\n")
        note = (system.get("vars") or {}).get("note", "none")
        intact = (
            lines[0] == "# kickstart for " + system["name"]
            and json.loads(lines[1][len("# note: ") :]) == note
            and lines[2:] == [""]
        )
        _count(injected=not intact)
        assert intact, lines
    acl = I.acl_map(owners)
    proc = _nginx_check(str(tmp_path_factory.mktemp("nginx")), acl)
    _count(daemon_rejected=proc.returncode != 0)
    assert proc.returncode == 0, proc.stdout + proc.stderr + acl
    assert acl.splitlines()[1:] == ["%s %s;" % (name, ip) for name, ip in sorted(owners.items())]
    assert owners == {name: ip for _mac, (ip, name) in expected.items()}
