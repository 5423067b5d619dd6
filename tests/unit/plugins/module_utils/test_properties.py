# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Property tests: any value in any field is either refused, naming record and field, or
accepted and then unable to inject anything into a generated config.

`make test` runs a bounded number of examples; HYPOTHESIS_PROFILE=soak runs many more.
"""

import os
import re

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._yamlio import dump_text

settings.register_profile("default", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.register_profile("soak", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Characters that would open or close a statement in dhcpd.conf, Kea JSON, pxelinux/GRUB/iPXE
# scripts or nginx.conf, or break a line.
INJECTION = re.compile(r"[\s\"'{}\[\];#$\\`<>|&\x00-\x1f\x7f\u2028\u2029]")

HOSTILE = st.one_of(
    st.text(min_size=0, max_size=300),
    st.sampled_from([
        "a\nb", "a\"b", "a'b", "a{b", "a}b", "a;b", "a#b", "a$b", "a\\b", "a b", "a`b", "a\x00b",
        "../../etc/passwd", "/etc/../x", "x" * 300, "wеb01",  # Cyrillic e
        "ttyS0; next-server 203.0.113.66", "\"; } host evil { hardware ethernet 00:00:00:00:00:01; ",
        "${IFS}reboot", "\u2028", "\ufeffweb", "web01.", "-web", "WEB01", "52:54:00:12:34:56",
    ]),
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
    problems = store.problems()
    if problems:
        ours = [p for p in problems if p.path == path and (p.field or "").startswith(field)]
        assert ours, "refusal does not name %s %s: %s" % (path, field, problems)
        assert all(p.message for p in ours)
        return "refused"
    value = value_of(store)
    assert not INJECTION.search(str(value)), "accepted an injecting value %r in %s %s" % (value, path, field)
    return "accepted"


@given(HOSTILE)
def test_system_hardware_model(tmp_path_factory, value):
    tmp = tmp_path_factory.mktemp("s")
    text = _with("systems/web01.yml", ["hardware_model"], value)
    store = _place(tmp, "systems/web01.yml", text)
    _check(store, "systems/web01.yml", "hardware_model", lambda s: s.resolve_system("web01")["hardware_model"])


@given(HOSTILE)
def test_interface_name_mac_and_ip(tmp_path_factory, value):
    tmp = tmp_path_factory.mktemp("i")
    for field in ("name", "mac", "ip"):
        text = _with("systems/web01.yml", ["interfaces", 0, field], value)
        store = _place(tmp / field, "systems/web01.yml", text)
        _check(store, "systems/web01.yml", "interfaces[0].%s" % field,
               lambda s, f=field: s.resolve_system("web01")["interfaces"][0][f])


@given(HOSTILE, HOSTILE)
def test_kernel_options(tmp_path_factory, key, value):
    tmp = tmp_path_factory.mktemp("k")
    text = _with("profiles/rocky9-web.yml", ["kernel_options"], {key: value})
    store = _place(tmp, "profiles/rocky9-web.yml", text)
    _check(store, "profiles/rocky9-web.yml", "kernel_options", lambda s: s.resolve_system("web01")["kernel_options"].replace(" ", ""))


@given(HOSTILE)
def test_kernel_options_as_a_string(tmp_path_factory, value):
    tmp = tmp_path_factory.mktemp("ks")
    text = _with("profiles/rocky9-web.yml", ["kernel_options"], value)
    store = _place(tmp, "profiles/rocky9-web.yml", text)
    outcome = _check(store, "profiles/rocky9-web.yml", "kernel_options",
                     lambda s: s.resolve_system("web01")["kernel_options"].replace(" ", ""))
    if outcome == "accepted":
        assert "\n" not in store.resolve_system("web01")["kernel_options"]


@given(HOSTILE)
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
def test_record_names_from_file_names(tmp_path_factory, value):
    tmp = tmp_path_factory.mktemp("n")
    if not value or "/" in value or "\x00" in value or value in (".", "..") or value.startswith(".") or len(value.encode()) > 200:
        return  # not a possible file name (or a hidden file, which is ignored by design)
    store = _place(tmp, "systems/%s.yml" % value, FILES["systems/web01.yml"].replace("34:56", "34:99").replace(".50", ".99"))
    path = "systems/%s.yml" % value
    problems = store.problems()
    if any(p.path == path for p in problems):
        return
    assert value in store.names("systems") and not INJECTION.search(value) and value == value.lower()
