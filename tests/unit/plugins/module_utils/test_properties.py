# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property tests: any value in any field is either refused, naming record and field, or
accepted and then unable to inject anything into a generated config.

`make test` runs a bounded number of examples; HYPOTHESIS_PROFILE=soak runs many more.
"""

import os
import re

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support import report
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._records.yamlio import dump_text

settings.register_profile(
    "default",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "soak",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Characters that would open or close a statement in dhcpd.conf, Kea JSON, pxelinux/GRUB/iPXE
# scripts or nginx.conf, or break a line.
INJECTION = re.compile(r"[\s\"'{}\[\];#$\\`<>|&\x00-\x1f\x7f\u2028\u2029]")

HOSTILE = st.one_of(
    st.text(min_size=0, max_size=300),
    st.sampled_from(
        [
            "a\nb",
            'a"b',
            "a'b",
            "a{b",
            "a}b",
            "a;b",
            "a#b",
            "a$b",
            "a\\b",
            "a b",
            "a`b",
            "a\x00b",
            "../../etc/passwd",
            "/etc/../x",
            "x" * 300,
            "wеb01",  # Cyrillic e
            "ttyS0; next-server 203.0.113.66",
            '"; } host evil { hardware ethernet 00:00:00:00:00:01; ',
            "${IFS}reboot",
            "\u2028",
            "\ufeffweb",
            "web01.",
            "-web",
            "WEB01",
            "52:54:00:12:34:56",
            # a valid value and a line break: "$" of a ^...$ rule matched before the last one
            "web01\n",
            "web01\r\n",
            "\nweb01",
            "web01\x85",
            "web01\u2029",
        ]
    ),
    st.from_regex(r"[a-z0-9][a-z0-9.:/,=+@%~_-]{0,20}", fullmatch=True),
)


def _place(tmp_path, relpath, text):
    files = dict(FILES)
    files[relpath] = text
    return RecordStore.load(write_store(tmp_path, files))


def _with(relpath, path_in_record, value):
    """The sample record at relpath, with value put at path_in_record, written as YAML."""
    data = yaml.safe_load(FILES[relpath])
    target = data
    for step in path_in_record[:-1]:
        target = target[step]
    target[path_in_record[-1]] = value
    return dump_text(data)


def _check(store, path, field, value_of):
    section = "properties: record fields (hostile values, malformed MACs and IPs)"
    problems = store.problems()
    if problems:
        ours = [p for p in problems if p.path == path and (p.field or "").startswith(field)]
        report.add(section, tried=1, refused=1, refusal_without_record_and_field=not ours)
        assert ours, "refusal does not name %s %s: %s" % (path, field, problems)
        assert all(p.message for p in ours)
        return "refused"
    value = value_of(store)
    injecting = bool(INJECTION.search(str(value)))
    report.add(section, tried=1, accepted=1, injecting_value_accepted=injecting)
    assert not injecting, "accepted an injecting value %r in %s %s" % (value, path, field)
    return "accepted"


@given(HOSTILE)
def test_system_hardware_model(tmp_path_factory, value):
    tmp = tmp_path_factory.mktemp("s")
    text = _with("systems/web01.yml", ["hardware_model"], value)
    store = _place(tmp, "systems/web01.yml", text)
    _check(store, "systems/web01.yml", "hardware_model", lambda s: s.resolve_system("web01")["hardware_model"])


@given(HOSTILE)
@example("eth0\n")
@example("52:54:00:12:34:56\n")
@example("192.0.2.50\n")
def test_interface_name_mac_and_ip(tmp_path_factory, value):
    tmp = tmp_path_factory.mktemp("i")
    for field in ("name", "mac", "ip"):
        text = _with("systems/web01.yml", ["interfaces", 0, field], value)
        store = _place(tmp / field, "systems/web01.yml", text)
        _check(
            store,
            "systems/web01.yml",
            "interfaces[0].%s" % field,
            lambda s, f=field: s.resolve_system("web01")["interfaces"][0][f],
        )


@given(HOSTILE, HOSTILE)
@example("console\n", "ttyS0")
def test_kernel_options(tmp_path_factory, key, value):
    tmp = tmp_path_factory.mktemp("k")
    text = _with("profiles/rocky9-web.yml", ["kernel_options"], {key: value})
    store = _place(tmp, "profiles/rocky9-web.yml", text)
    _check(
        store,
        "profiles/rocky9-web.yml",
        "kernel_options",
        lambda s: s.resolve_system("web01")["kernel_options"].replace(" ", ""),
    )


@given(HOSTILE)
def test_kernel_options_as_a_string(tmp_path_factory, value):
    tmp = tmp_path_factory.mktemp("ks")
    text = _with("profiles/rocky9-web.yml", ["kernel_options"], value)
    store = _place(tmp, "profiles/rocky9-web.yml", text)
    outcome = _check(
        store,
        "profiles/rocky9-web.yml",
        "kernel_options",
        lambda s: s.resolve_system("web01")["kernel_options"].replace(" ", ""),
    )
    if outcome == "accepted":
        assert "\n" not in store.resolve_system("web01")["kernel_options"]


@given(HOSTILE)
@example("0\n")  # found by the soak: a label rule matched before a final newline
@example("prov-dmz.example.test\n")
def test_segment_domain_and_provisioner(tmp_path_factory, value):
    tmp = tmp_path_factory.mktemp("d")
    for field in ("domain", "provisioner"):
        text = _with("segments/dmz.yml", [field], value)
        store = _place(tmp / field, "segments/dmz.yml", text)
        _check(store, "segments/dmz.yml", field, lambda s, f=field: s.data("segments", "dmz")[f])


@given(HOSTILE)
def test_distro_paths_and_urls(tmp_path_factory, value):
    tmp = tmp_path_factory.mktemp("p")
    for field in ("kernel", "install_tree"):
        store = _place(tmp / field, "distros/rocky9.yml", _with("distros/rocky9.yml", [field], value))
        outcome = _check(store, "distros/rocky9.yml", field, lambda s, f=field: s.data("distros", "rocky9")[f])
        if outcome == "accepted" and field == "kernel":
            assert ".." not in str(store.data("distros", "rocky9")["kernel"]).split("/")


@given(HOSTILE)
@example("web02\n")
def test_record_names_from_file_names(tmp_path_factory, value):
    tmp = tmp_path_factory.mktemp("n")
    if (
        not value
        or "/" in value
        or "\x00" in value
        or value in (".", "..")
        or value.startswith(".")
        or len(value.encode()) > 200
    ):
        return  # not a possible file name (or a hidden file, which is ignored by design)
    store = _place(
        tmp, "systems/%s.yml" % value, FILES["systems/web01.yml"].replace("34:56", "34:99").replace(".50", ".99")
    )
    path = "systems/%s.yml" % value
    problems = store.problems()
    if any(p.path == path for p in problems):
        return
    assert value in store.names("systems") and not INJECTION.search(value) and value == value.lower()


@st.composite
def mac_spellings(draw):
    """MAC-like strings: 5 to 7 octets, any separator and case, multicast, all-zero, broadcast,
    or web01's own neighbour app01's MAC in another spelling (a collision)."""
    special = draw(st.sampled_from([None, "zero", "broadcast", "collision"]))
    if special == "zero":
        octets = [0] * 6
    elif special == "broadcast":
        octets = [0xFF] * 6
    elif special == "collision":
        octets = [0x52, 0x54, 0x00, 0x12, 0x34, 0x60]  # app01's eth0
    else:
        octets = draw(st.lists(st.integers(0, 255), min_size=5, max_size=7))
    sep = draw(st.sampled_from([":", "-", ".", "", " "]))
    text = sep.join("%02x" % o for o in octets)
    return text.upper() if draw(st.booleans()) else text


@given(mac_spellings())
@example("52:54:00:12:34:60")
@example("52-54-00-12-34-60")
@example("5254.0012.3460")
@example("01:00:5e:00:00:01")
@example("00:00:00:00:00:00")
@example("ff:ff:ff:ff:ff:ff")
@example("52:54:00:12:34")
@example("52:54:00:12:34:56:78")
def test_macs_malformed_colliding_multicast_or_zero_are_refused(tmp_path_factory, value):
    tmp = tmp_path_factory.mktemp("m")
    store = _place(tmp, "systems/web01.yml", _with("systems/web01.yml", ["interfaces", 0, "mac"], value))
    outcome = _check(
        store, "systems/web01.yml", "interfaces[0].mac", lambda s: s.resolve_system("web01")["interfaces"][0]["mac"]
    )
    digits = re.sub(r"[^0-9a-fA-F]", "", value).lower()
    valid = (
        len(digits) == 12
        and re.fullmatch(
            r"([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}|[0-9a-fA-F]{12}|([0-9a-fA-F]{4}\.){2}[0-9a-fA-F]{4}", value
        )
        and int(digits[1], 16) % 2 == 0
        and digits not in ("0" * 12, "f" * 12)
        and digits != "525400123460"
    )
    if outcome == "accepted":
        mac = store.resolve_system("web01")["interfaces"][0]["mac"]
        assert valid, value
        assert mac == ":".join(digits[i : i + 2] for i in range(0, 12, 2)), (value, mac)  # one canonical spelling
    elif valid:
        raise AssertionError("refused a valid MAC %r: %s" % (value, store.problems()))


@given(st.integers(min_value=-3, max_value=260), st.sampled_from(["192.0.2.%d", "198.51.100.%d", "203.0.113.%d"]))
@example(0, "192.0.2.%d")
@example(1, "192.0.2.%d")
@example(2, "192.0.2.%d")
@example(199, "192.0.2.%d")
@example(200, "192.0.2.%d")
@example(250, "192.0.2.%d")
@example(251, "192.0.2.%d")
@example(254, "192.0.2.%d")
@example(255, "192.0.2.%d")
@example(256, "192.0.2.%d")
@example(60, "192.0.2.%d")
@example(50, "198.51.100.%d")
def test_ips_outside_on_the_edge_or_in_the_dynamic_range_are_refused(tmp_path_factory, host, network):
    tmp = tmp_path_factory.mktemp("a")
    value = network % host
    store = _place(tmp, "systems/web01.yml", _with("systems/web01.yml", ["interfaces", 0, "ip"], value))
    outcome = _check(
        store, "systems/web01.yml", "interfaces[0].ip", lambda s: s.resolve_system("web01")["interfaces"][0]["ip"]
    )
    # dmz is 192.0.2.0/24 with its gateway (and next server) on .1, dynamic range .200-.250; app01's dmz NIC has .60
    fits = network.startswith("192.0.2.") and 2 <= host <= 254 and not 200 <= host <= 250 and host != 60
    assert (outcome == "accepted") == fits, (value, store.problems())
