# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fields of each record kind, through the store: a line break in any string of any record,
before or after a valid value, is refused naming the record file and the field.

test_fields.py holds the same promise for each rule of fields.py on its own; this file holds it
for the way schema.py wires the rules to the fields (keys of mappings, items of lists, nested
interfaces, machines and BMCs, choices), so that no field reaches a rule by a path that skips it.
"""

import pytest
import yaml
from support.line_breaks import LINE_BREAKS, char_id
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records import schema
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._records.yamlio import load_text

BMC = {"type": "ipmi", "address": "bmc-web01.example.test", "username": "admin", "password_var": "bmc_password"}

# The sample store with every optional string field of every kind filled in, kernel options
# and vars in both their forms somewhere (a string and a mapping).
ADDED = {
    "segments/dmz.yml": {
        "description": "The DMZ",
        "relay": "192.0.2.3",
        "ipv6": {
            "network": "2001:db8:10::/64",
            "next_server": "2001:db8:10::1",
            "dns": ["2001:db8:10::53"],
            "dynamic_range": ["2001:db8:10::1000", "2001:db8:10::1fff"],
            "relay": "2001:db8:10::3",
            "advertise": False,
        },
        "boot_loader": "auto",
        "kernel_options": {"console": "ttyS0"},
        "installed_kernel_options": "quiet",
        "vars": {"ntp": "192.0.2.123", "servers": ["ntp1"]},
    },
    "tiers/web.yml": {
        "description": "Web servers",
        "boot_loader": "grub",
        "kernel_options": "console=ttyS0",
        "installed_kernel_options": {"quiet": None},
    },
    "distros/rocky9.yml": {"description": "Rocky Linux 9", "os_version": "9.4"},
    "profiles/rocky9-web.yml": {
        "description": "A web server",
        "format": "kickstart",
        "boot_loader": "ipxe",
        "installed_kernel_options": "quiet",
    },
    "systems/web01.yml": {
        "description": "web01, rack 4",
        "profile": "rocky9-web",
        "boot_loader": "auto",
        "kernel_options": "console=ttyS0",
        "installed_kernel_options": {"quiet": None},
        "vars": {"note": "first"},
        "bmc": dict(BMC),
    },
    "pools/spares-dmz.yml": {
        "description": "Spares",
        "enlist": [{"product": "PowerEdge R650*", "vendor": "Dell Inc.", "hardware_model": "r650"}],
        "min_spares": {"r650": 1},
    },
}


class Key(object):
    """A step of a path that names a mapping key itself (the line break goes into the key)."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "key %s" % (self.name,)


def _full_data():
    data = {relpath: yaml.safe_load(FILES[relpath]) for relpath in ADDED}
    for relpath, added in ADDED.items():
        data[relpath].update(added)
    data["systems/web01.yml"]["interfaces"][0]["segment"] = "dmz"
    data["systems/web01.yml"]["interfaces"][0]["ipv6"] = "2001:db8:10::20"
    data["pools/spares-dmz.yml"]["machines"][0]["bmc"] = dict(BMC, address="192.0.2.9")
    data["pools/spares-dmz.yml"]["machines"][0].update(
        uuid="4c4c4544-0042-3510-8056-b4c04f4e3032",
        vendor="Dell Inc.",
        product="PowerEdge R650",
        other_macs=["52:54:00:00:01:01"],
        cpus=64,
        memory_mib=524288,
        disks=[{"name": "nvme0n1", "size_bytes": 960197124096, "model": "PM9A3", "serial": "S1", "wwn": "eui.1"}],
        bmc_address="192.0.2.60",
        boot_mode="uefi",
        enlisted="2026-12-07T08:00:00Z via collector on prov-dmz",
    )
    return data


# (record file, path to a string in it, the field a refusal must name, or the start of it)
STRINGS = [
    ("segments/dmz.yml", ("description",), "description"),
    ("segments/dmz.yml", ("network",), "network"),
    ("segments/dmz.yml", ("gateway",), "gateway"),
    ("segments/dmz.yml", ("dns", 0), "dns[0]"),
    ("segments/dmz.yml", ("domain",), "domain"),
    ("segments/dmz.yml", ("provisioner",), "provisioner"),
    ("segments/dmz.yml", ("next_server",), "next_server"),
    ("segments/dmz.yml", ("dynamic_range", 0), "dynamic_range[0]"),
    ("segments/dmz.yml", ("dynamic_range", 1), "dynamic_range[1]"),
    ("segments/dmz.yml", ("relay",), "relay"),
    ("segments/dmz.yml", ("ipv6", "network"), "ipv6.network"),
    ("segments/dmz.yml", ("ipv6", "next_server"), "ipv6.next_server"),
    ("segments/dmz.yml", ("ipv6", "dns", 0), "ipv6.dns[0]"),
    ("segments/dmz.yml", ("ipv6", "dynamic_range", 0), "ipv6.dynamic_range[0]"),
    ("segments/dmz.yml", ("ipv6", "dynamic_range", 1), "ipv6.dynamic_range[1]"),
    ("segments/dmz.yml", ("ipv6", "relay"), "ipv6.relay"),
    ("segments/dmz.yml", ("boot_loader",), "boot_loader"),
    ("segments/dmz.yml", ("kernel_options", Key("console")), "kernel_options"),
    ("segments/dmz.yml", ("kernel_options", "console"), "kernel_options"),
    ("segments/dmz.yml", ("installed_kernel_options",), "installed_kernel_options"),
    ("segments/dmz.yml", ("vars", Key("ntp")), "vars"),
    ("segments/dmz.yml", ("vars", "ntp"), "vars"),
    ("segments/dmz.yml", ("vars", "servers", 0), "vars"),
    ("tiers/web.yml", ("description",), "description"),
    ("tiers/web.yml", ("segment",), "segment"),
    ("tiers/web.yml", ("profile",), "profile"),
    ("tiers/web.yml", ("profiles_by_model", Key("r640")), "profiles_by_model"),
    ("tiers/web.yml", ("profiles_by_model", "r640"), "profiles_by_model.r640"),
    ("tiers/web.yml", ("boot_loader",), "boot_loader"),
    ("tiers/web.yml", ("kernel_options",), "kernel_options"),
    ("tiers/web.yml", ("installed_kernel_options", Key("quiet")), "installed_kernel_options"),
    ("tiers/web.yml", ("vars", "site"), "vars"),
    ("distros/rocky9.yml", ("description",), "description"),
    ("distros/rocky9.yml", ("family",), "family"),
    ("distros/rocky9.yml", ("arch",), "arch"),
    ("distros/rocky9.yml", ("os_version",), "os_version"),
    ("distros/rocky9.yml", ("kernel",), "kernel"),
    ("distros/rocky9.yml", ("initrd", "url"), "initrd.url"),
    ("distros/rocky9.yml", ("initrd", "checksum"), "initrd.checksum"),
    ("distros/rocky9.yml", ("install_tree",), "install_tree"),
    ("profiles/rocky9-web.yml", ("description",), "description"),
    ("profiles/rocky9-web.yml", ("distro",), "distro"),
    ("profiles/rocky9-web.yml", ("template",), "template"),
    ("profiles/rocky9-web.yml", ("format",), "format"),
    ("profiles/rocky9-web.yml", ("boot_loader",), "boot_loader"),
    ("profiles/rocky9-web.yml", ("kernel_options", Key("inst.text")), "kernel_options"),
    ("profiles/rocky9-web.yml", ("kernel_options", "console"), "kernel_options"),
    ("profiles/rocky9-web.yml", ("installed_kernel_options",), "installed_kernel_options"),
    ("profiles/rocky9-web.yml", ("vars", Key("role")), "vars"),
    ("profiles/rocky9-web.yml", ("vars", "role"), "vars"),
    ("systems/web01.yml", ("description",), "description"),
    ("systems/web01.yml", ("tier",), "tier"),
    ("systems/web01.yml", ("hardware_model",), "hardware_model"),
    ("systems/web01.yml", ("profile",), "profile"),
    ("systems/web01.yml", ("interfaces", 0, "name"), "interfaces[0].name"),
    ("systems/web01.yml", ("interfaces", 0, "mac"), "interfaces[0].mac"),
    ("systems/web01.yml", ("interfaces", 0, "ip"), "interfaces[0].ip"),
    ("systems/web01.yml", ("interfaces", 0, "ipv6"), "interfaces[0].ipv6"),
    ("systems/web01.yml", ("interfaces", 0, "segment"), "interfaces[0].segment"),
    ("systems/web01.yml", ("boot_loader",), "boot_loader"),
    ("systems/web01.yml", ("kernel_options",), "kernel_options"),
    ("systems/web01.yml", ("installed_kernel_options", Key("quiet")), "installed_kernel_options"),
    ("systems/web01.yml", ("vars", "note"), "vars"),
    ("systems/web01.yml", ("bmc", "type"), "bmc.type"),
    ("systems/web01.yml", ("bmc", "address"), "bmc.address"),
    ("systems/web01.yml", ("bmc", "username"), "bmc.username"),
    ("systems/web01.yml", ("bmc", "password_var"), "bmc.password_var"),
    ("pools/spares-dmz.yml", ("description",), "description"),
    ("pools/spares-dmz.yml", ("segment",), "segment"),
    ("pools/spares-dmz.yml", ("machines", 0, "mac"), "machines[0].mac"),
    ("pools/spares-dmz.yml", ("machines", 0, "hardware_model"), "machines[0].hardware_model"),
    ("pools/spares-dmz.yml", ("machines", 0, "serial"), "machines[0].serial"),
    ("pools/spares-dmz.yml", ("machines", 0, "bmc", "type"), "machines[0].bmc.type"),
    ("pools/spares-dmz.yml", ("machines", 0, "bmc", "address"), "machines[0].bmc.address"),
    ("pools/spares-dmz.yml", ("machines", 0, "bmc", "username"), "machines[0].bmc.username"),
    ("pools/spares-dmz.yml", ("machines", 0, "bmc", "password_var"), "machines[0].bmc.password_var"),
    ("pools/spares-dmz.yml", ("enlist", 0, "product"), "enlist[0].product"),
    ("pools/spares-dmz.yml", ("enlist", 0, "vendor"), "enlist[0].vendor"),
    ("pools/spares-dmz.yml", ("enlist", 0, "hardware_model"), "enlist[0].hardware_model"),
    ("pools/spares-dmz.yml", ("min_spares", Key("r650")), "min_spares"),
    ("pools/spares-dmz.yml", ("machines", 0, "uuid"), "machines[0].uuid"),
    ("pools/spares-dmz.yml", ("machines", 0, "vendor"), "machines[0].vendor"),
    ("pools/spares-dmz.yml", ("machines", 0, "product"), "machines[0].product"),
    ("pools/spares-dmz.yml", ("machines", 0, "other_macs", 0), "machines[0].other_macs[0]"),
    ("pools/spares-dmz.yml", ("machines", 0, "disks", 0, "name"), "machines[0].disks[0].name"),
    ("pools/spares-dmz.yml", ("machines", 0, "disks", 0, "model"), "machines[0].disks[0].model"),
    ("pools/spares-dmz.yml", ("machines", 0, "disks", 0, "serial"), "machines[0].disks[0].serial"),
    ("pools/spares-dmz.yml", ("machines", 0, "disks", 0, "wwn"), "machines[0].disks[0].wwn"),
    ("pools/spares-dmz.yml", ("machines", 0, "bmc_address"), "machines[0].bmc_address"),
    ("pools/spares-dmz.yml", ("machines", 0, "boot_mode"), "machines[0].boot_mode"),
    ("pools/spares-dmz.yml", ("machines", 0, "enlisted"), "machines[0].enlisted"),
]

# Fields of the schema that hold no string (every other one must have a row in STRINGS).
NOT_STRINGS = {"profiles": {"secure_boot"}, "systems": {"build", "interfaces[0].primary", "bmc.port"}}
NOT_STRINGS["segments"] = {"discovery", "ipv6.advertise"}
NOT_STRINGS["pools"] = {
    "machines[0].bmc.port",
    "machines[0].cpus",
    "machines[0].memory_mib",
    "machines[0].disks[0].size_bytes",
}
NESTED = {
    "interfaces": ("[0]", schema.INTERFACE_FIELDS),
    "machines": ("[0]", schema.MACHINE_FIELDS),
    "enlist": ("[0]", schema.ENLIST_FIELDS),
    "disks": ("[0]", schema.DISK_FIELDS),
    "ipv6": ("", schema.IPV6_SEGMENT_FIELDS),
}


def _leaves(fields, prefix=""):
    for name, _required, _check in fields:
        field = prefix + name
        # a segment's ipv6 is a mapping; an interface's ipv6 (prefix "interfaces[0].") an address
        if name in NESTED and not (name == "ipv6" and prefix):
            index, inner = NESTED[name]
            yield from _leaves(inner, field + index + ".")
        elif name == "bmc":
            yield from _leaves(schema.BMC_FIELDS, field + ".")
        else:
            yield field


def _covers(field, leaf):
    return field == leaf or field.startswith((leaf + ".", leaf + "["))


def _with(data, path, char, where):
    """A copy of data with char put before or after the string at path."""
    data = yaml.safe_load(yaml.safe_dump(data))
    target = data
    for step in path[:-1]:
        target = target[step]
    last = path[-1]
    if isinstance(last, Key):
        name = last.name + char if where == "after" else char + last.name
        target[name] = target.pop(last.name)
    else:
        target[last] = target[last] + char if where == "after" else char + target[last]
    return data


def _store(tmp_path, data):
    files = dict(FILES)
    for relpath, record in data.items():
        # escaped, as a user writes them ("\N", "\L", "\P"): YAML reads NEL, U+2028 and U+2029 in
        # the raw text as line breaks and folds them, so they reach the rules only through escapes
        text = yaml.safe_dump(record, allow_unicode=False, sort_keys=False)
        assert load_text(text) == record  # the value reaches the store exactly as meant
        files[relpath] = text
    return RecordStore.load(write_store(tmp_path, files))


def test_every_string_field_of_every_kind_is_in_the_table():
    missing = []
    for kind, fields in schema.FIELDS.items():
        relpaths = [relpath for relpath in ADDED if relpath.startswith(kind + "/")]
        tabled = [field for relpath, _path, field in STRINGS if relpath in relpaths]
        for leaf in _leaves(fields):
            if leaf not in NOT_STRINGS.get(kind, ()) and not any(_covers(field, leaf) for field in tabled):
                missing.append("%s %s" % (kind, leaf))
    assert missing == [], "add a row to STRINGS (or NOT_STRINGS) for each"


def test_the_full_sample_store_is_valid(tmp_path):
    # so that each refusal below is the line break's doing
    store = _store(tmp_path, _full_data())
    assert store.problems() == []


# Fields whose check stops at the first bad key or item: two rows in one of them go to two stores.
_FIRST_ONLY = ("kernel_options", "installed_kernel_options", "vars", "profiles_by_model", "min_spares")


def _rounds():
    """STRINGS in a few groups, each of which can be spoiled in one store: every row of a group
    is a field of its own, so each must be refused on its own account (a store per row would be
    a thousand stores)."""
    groups = {}
    for row in STRINGS:
        relpath, path, _field = row
        groups.setdefault((relpath, path[0]) if path[0] in _FIRST_ONLY else (relpath, path), []).append(row)
    return [[rows[i] for rows in groups.values() if i < len(rows)] for i in range(max(map(len, groups.values())))]


def test_the_rounds_hold_every_row_once():
    assert sorted(repr(row) for rows in _rounds() for row in rows) == sorted(map(repr, STRINGS))


@pytest.mark.parametrize("where", ["after", "before"])
@pytest.mark.parametrize("char", list(LINE_BREAKS), ids=char_id)
def test_a_line_break_in_any_string_field_is_refused_naming_file_and_field(tmp_path, char, where):
    shown = (LINE_BREAKS[char], repr(char[0])[1:-1])
    failures = []
    for number, rows in enumerate(_rounds()):
        data = _full_data()
        for relpath, path, _field in rows:
            data[relpath] = _with(data[relpath], path, char, where)
        problems = _store(tmp_path / str(number), data).problems()
        for relpath, path, field in rows:
            ours = [p for p in problems if p.path == relpath and (p.field or "").startswith(field)]
            if not ours:
                failures.append("%s %s %r: not refused as %s" % (relpath, field, path, field))
            elif not any(any(s in p.message for s in shown) for p in ours):
                failures.append("%s %s %r: the character is not named: %s" % (relpath, field, path, ours))
    assert failures == []


@pytest.mark.parametrize("kind", schema.KINDS)
@pytest.mark.parametrize("char", [c for c in LINE_BREAKS if c != "\x00"], ids=char_id)
def test_a_line_break_in_a_record_file_name_is_refused_naming_the_file(tmp_path, kind, char):
    # (a file name cannot hold NUL)
    sample = next(relpath for relpath in ADDED if relpath.startswith(kind + "/"))
    name = sample.split("/")[1][: -len(".yml")] + char
    relpath = "%s/%s.yml" % (kind, name)
    store = RecordStore.load(write_store(tmp_path, FILES, {relpath: FILES[sample]}))
    ours = [p for p in store.problems() if p.path == relpath]
    assert ours and all("bad record name" in p.message for p in ours), store.problems()
    assert any(LINE_BREAKS[char] in p.message for p in ours), ours
