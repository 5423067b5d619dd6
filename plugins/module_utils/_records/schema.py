# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The fields of each record kind, their types and their single-record rules. A checker takes
the raw YAML value and returns the normalised one, or reports a problem (naming the field,
down to the list index) and returns INVALID. Rules that involve two records (references,
uniqueness, addresses inside a segment) live in store.py.
"""

from __future__ import annotations

from ansible_collections.baremetal.provision.plugins.module_utils._records import fields as F
from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import Problem
from ansible_collections.baremetal.provision.plugins.module_utils._records.yamlio import FlowList, FlowMap

INVALID = object()

KINDS = ("segments", "tiers", "distros", "profiles", "systems", "pools")
KIND_SINGULAR = {
    "segments": "segment",
    "tiers": "tier",
    "distros": "distro",
    "profiles": "profile",
    "systems": "system",
    "pools": "pool",
}
BOOT_LOADERS = ("auto", "pxelinux", "grub", "ipxe")
FAMILIES = ("redhat", "debian", "ubuntu", "suse")
ARCHES = ("x86_64", "aarch64")
INSTALL_FORMATS = ("kickstart", "preseed", "autoinstall", "autoyast")
FORMAT_BY_FAMILY = {"redhat": "kickstart", "debian": "preseed", "ubuntu": "autoinstall", "suse": "autoyast"}
BMC_TYPES = ("ipmi", "redfish")


class Report(object):
    """Collects problems for one record file."""

    def __init__(self, path, problems):
        self.path = path
        self.problems = problems

    def add(self, field, message):
        self.problems.append(Problem(self.path, field, message))


def _wrap(func):
    """Turn a ValueError-raising rule into a checker."""

    def check(value, report, field):
        try:
            return func(value)
        except ValueError as exc:
            report.add(field, str(exc))
            return INVALID

    return check


def _ip(value):
    return str(F.parse_ipv4(value))


def _ip6(value):
    return str(F.parse_ipv6(value))


_ADDRESS = {"IPv4": (_ip, F.parse_ipv4), "IPv6": (_ip6, F.parse_ipv6)}


def _network(value):
    return str(F.parse_network(value))


def _choice(choices):
    def func(value):
        if value not in choices:
            raise ValueError("%r is not one of %s" % (value, ", ".join(choices)))
        return value

    return _wrap(func)


def _bool(value, report, field):
    if not isinstance(value, bool):
        report.add(field, "%r is not a boolean (true or false)" % (value,))
        return INVALID
    return value


def _ip_list(label="IPv4"):
    checker = _wrap(_ADDRESS[label][0])

    def check(value, report, field):
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            report.add(field, "must be a list of %s addresses" % label)
            return INVALID
        result = FlowList()
        for index, item in enumerate(value):
            result.append(checker(item, report, "%s[%d]" % (field, index)))
        return INVALID if INVALID in result else result

    return check


def _ip_range(label="IPv4"):
    checker, parse = _wrap(_ADDRESS[label][0]), _ADDRESS[label][1]

    def check(value, report, field):
        if not isinstance(value, list) or len(value) != 2:
            report.add(field, "must be a list of two %s addresses [first, last]" % label)
            return INVALID
        first = checker(value[0], report, field + "[0]")
        last = checker(value[1], report, field + "[1]")
        if INVALID in (first, last):
            return INVALID
        if parse(first) > parse(last):
            report.add(field, "range %s - %s is reversed (first address is after the last)" % (first, last))
            return INVALID
        return FlowList([first, last])

    return check


def _kernel_options(value, report, field):
    try:
        F.parse_kernel_options(value)
    except ValueError as exc:
        report.add(field, str(exc))
        return INVALID
    return value


def _vars(value, report, field):
    try:
        F.check_vars(value, field)
    except ValueError as exc:
        report.add(field, str(exc))
        return INVALID
    return value


def _host_or_ip(value):
    try:
        return _ip(value)
    except ValueError:
        pass
    try:
        return F.check_dns_name(value)
    except ValueError:
        raise ValueError("%r is neither an IPv4 address nor an RFC 1123 host name" % (value,)) from None


def _positive_int(value, report, field):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        report.add(field, "%r is not a whole number >= 0" % (value,))
        return INVALID
    return value


def _artifact(value, report, field):
    """A kernel or initrd: an absolute path on the provisioner, or a URL with a checksum."""
    if isinstance(value, str):
        value = {"url": value} if "://" in value else {"path": value}
        as_string = True
    elif isinstance(value, dict):
        as_string = False
    else:
        report.add(field, "must be a path, a URL, or a mapping with path or url and checksum")
        return INVALID
    unknown = sorted(set(value) - {"path", "url", "checksum"})
    if unknown:
        report.add(field, "unknown key %s (known: path, url, checksum)" % ", ".join(unknown))
        return INVALID
    if ("path" in value) == ("url" in value):
        report.add(field, "give exactly one of path or url")
        return INVALID
    ok = True
    if "url" in value:
        ok = _wrap(lambda v: F.check_url(v, "url"))(value["url"], report, field + ".url") is not INVALID
        if "checksum" not in value:
            report.add(field + ".checksum", "a URL needs a checksum (sha256:<64 hex> or sha512:<128 hex>)")
            ok = False
    else:
        path = value["path"]
        ok = _wrap(lambda v: F.check_safe_text(v, "path"))(path, report, field + ".path") is not INVALID
        if ok and (not path.startswith("/") or "/../" in path + "/"):
            report.add(field + ".path", "%r must be an absolute path without '..'" % (path,))
            ok = False
    if "checksum" in value and _wrap(F.check_checksum)(value["checksum"], report, field + ".checksum") is INVALID:
        ok = False
    if not ok:
        return INVALID
    return value[("url" if "url" in value else "path")] if as_string else FlowMap(value)


def _mapping_of(key_check, value_check):
    def check(value, report, field):
        if not isinstance(value, dict):
            report.add(field, "must be a mapping")
            return INVALID
        result = {}
        for key, val in value.items():
            if _wrap(key_check)(key, report, "%s.%s" % (field, key)) is INVALID:
                return INVALID
            checked = _wrap(value_check)(val, report, "%s.%s" % (field, key))
            if checked is INVALID:
                return INVALID
            result[key] = checked
        return result

    return check


def _record_list(item_fields, item_name):
    """A list of small flow mappings (interfaces, pool machines)."""

    def check(value, report, field):
        if value is None:
            value = []
        if not isinstance(value, list):
            report.add(field, "must be a list of %s" % (item_name,))
            return INVALID
        result = []
        failed = False
        for index, item in enumerate(value):
            where = "%s[%d]" % (field, index)
            checked = check_fields(item, item_fields, report, where)
            if checked is INVALID:
                failed = True
            else:
                result.append(FlowMap(checked))
        return INVALID if failed else result

    return check


def _safe(what):
    return _wrap(lambda v: F.check_safe_text(v, what))


_name = _wrap(F.check_record_name)
_free_text = _wrap(F.check_free_text)
_boot_loader = _choice(BOOT_LOADERS)
_model = _safe("hardware model")

# Each kind: ordered (field, required, checker). The order is the order fields are written in.
BMC_FIELDS = (
    ("type", True, _choice(BMC_TYPES)),
    ("address", True, _wrap(_host_or_ip)),
    ("port", False, _positive_int),
    ("username", False, _safe("username")),
    ("password_var", False, _wrap(lambda v: F.check_vars({v: None}) and v)),
)

INTERFACE_FIELDS = (
    ("name", True, _wrap(F.check_interface_name)),
    ("mac", True, _wrap(F.normalize_mac)),
    ("ip", False, _wrap(_ip)),
    ("ipv6", False, _wrap(_ip6)),
    ("primary", False, _bool),
    ("segment", False, _name),
)


def _mac_list(value, report, field):
    if not isinstance(value, list):
        report.add(field, "must be a list of MAC addresses")
        return INVALID
    result = FlowList()
    for index, item in enumerate(value):
        result.append(_wrap(F.normalize_mac)(item, report, "%s[%d]" % (field, index)))
    return INVALID if INVALID in result else result


_text = _wrap(lambda v: F.check_free_text(v, "text") and v.strip())

# What discovery found on a disk (enlist writes it; it never reaches a generated config).
DISK_FIELDS = (
    ("name", True, _text),
    ("size_bytes", True, _positive_int),
    ("model", False, _text),
    ("serial", False, _text),
    ("wwn", False, _text),
)

# A spare: its boot MAC, hardware model and serial; the rest is what enlist found (discovery or
# Redfish), kept so that a machine booting again is recognised by any of its MACs, its serial or
# its UUID, and so that a reviewer sees what is being added.
MACHINE_FIELDS = (
    ("mac", True, _wrap(F.normalize_mac)),
    ("hardware_model", True, _model),
    ("serial", False, _safe("serial")),
    ("bmc", False, lambda v, r, f: _flow(check_fields(v, BMC_FIELDS, r, f))),
    ("uuid", False, _wrap(F.normalize_uuid)),
    ("vendor", False, _text),
    ("product", False, _text),
    ("other_macs", False, _mac_list),
    ("cpus", False, _positive_int),
    ("memory_mib", False, _positive_int),
    ("disks", False, _record_list(DISK_FIELDS, "disks")),
    ("bmc_address", False, _wrap(_ip)),
    ("boot_mode", False, _choice(("bios", "uefi", "unknown"))),
    ("enlisted", False, _text),
)

# An enlist rule of a pool: a discovered machine of its segment whose DMI product (and vendor,
# when given) matches goes into the pool as a spare of that hardware model. Patterns are
# shell-style (fnmatch, case-sensitive): "PowerEdge R650*".
ENLIST_FIELDS = (
    ("product", True, _text),
    ("vendor", False, _text),
    ("hardware_model", True, _model),
)


def _min_spares(value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("%r is not a whole number >= 0" % (value,))
    return value


def _flow(value):
    return value if value is INVALID else FlowMap(value)


def _ipv6_part(value):
    """The ipv6 mapping, its fields in their order (a block mapping: it has lists)."""
    if value is INVALID:
        return value
    return {name: value[name] for name, dummy, dummy2 in IPV6_SEGMENT_FIELDS if name in value}


# A segment's IPv6 part (``ipv6:``): its /64, the provisioner's address in it (the firmware's boot
# URLs name it: a firmware has no DNS), DNS servers, the dynamic range unknown machines and every
# new DUID lease from, the relay's address on the segment, and whether the provisioner sends the
# router advertisements (M and O flags, no SLAAC) that make firmware ask DHCPv6 at all.
IPV6_SEGMENT_FIELDS = (
    ("network", True, _wrap(lambda v: str(F.parse_network6(v)))),
    ("next_server", True, _wrap(_ip6)),
    ("dns", False, _ip_list("IPv6")),
    ("dynamic_range", False, _ip_range("IPv6")),
    ("relay", False, _wrap(_ip6)),
    ("advertise", False, _bool),
)

FIELDS = {
    "segments": (
        ("description", False, _free_text),
        ("network", False, _wrap(_network)),
        ("gateway", False, _wrap(_ip)),
        ("dns", False, _ip_list()),
        ("domain", False, _wrap(F.check_dns_name)),
        ("provisioner", True, _wrap(_host_or_ip)),
        ("next_server", False, _wrap(_ip)),
        ("dynamic_range", False, _ip_range()),
        ("discovery", False, _bool),
        ("relay", False, _wrap(_ip)),
        ("ipv6", False, lambda v, r, f: _ipv6_part(check_fields(v, IPV6_SEGMENT_FIELDS, r, f))),
        ("boot_loader", False, _boot_loader),
        ("kernel_options", False, _kernel_options),
        ("installed_kernel_options", False, _kernel_options),
        ("vars", False, _vars),
    ),
    "tiers": (
        ("description", False, _free_text),
        ("segment", True, _name),
        ("profile", False, _name),
        (
            "profiles_by_model",
            False,
            _mapping_of(lambda k: F.check_safe_text(k, "hardware model"), F.check_record_name),
        ),
        ("boot_loader", False, _boot_loader),
        ("kernel_options", False, _kernel_options),
        ("installed_kernel_options", False, _kernel_options),
        ("vars", False, _vars),
    ),
    "distros": (
        ("description", False, _free_text),
        ("family", True, _choice(FAMILIES)),
        ("arch", False, _choice(ARCHES)),
        ("os_version", False, _safe("os_version")),
        ("kernel", True, _artifact),
        ("initrd", True, _artifact),
        ("install_tree", False, _wrap(lambda v: F.check_url(v, "install_tree"))),
    ),
    "profiles": (
        ("description", False, _free_text),
        ("distro", True, _name),
        ("template", True, _wrap(F.check_template_name)),
        ("format", False, _choice(INSTALL_FORMATS)),
        ("boot_loader", False, _boot_loader),
        ("secure_boot", False, _bool),
        ("kernel_options", False, _kernel_options),
        ("installed_kernel_options", False, _kernel_options),
        ("vars", False, _vars),
    ),
    "systems": (
        ("description", False, _free_text),
        ("tier", True, _name),
        ("hardware_model", False, _model),
        ("profile", False, _name),
        ("interfaces", True, _record_list(INTERFACE_FIELDS, "interfaces")),
        ("boot_loader", False, _boot_loader),
        ("kernel_options", False, _kernel_options),
        ("installed_kernel_options", False, _kernel_options),
        ("vars", False, _vars),
        ("bmc", False, lambda v, r, f: _flow(check_fields(v, BMC_FIELDS, r, f))),
        ("build", False, lambda v, r, f: _flow(check_fields(v, (("generation", True, _positive_int),), r, f))),
    ),
    "pools": (
        ("description", False, _free_text),
        ("segment", True, _name),
        ("enlist", False, _record_list(ENLIST_FIELDS, "enlist rules")),
        ("min_spares", False, _mapping_of(lambda k: F.check_safe_text(k, "hardware model"), _min_spares)),
        ("machines", False, _record_list(MACHINE_FIELDS, "machines")),
    ),
}


def check_fields(data, fields, report, prefix=None):
    """Check a mapping against a field list; return the normalised mapping or INVALID.

    Unknown keys are problems: a typo (``netwrok``) must not silently drop a setting.
    """
    if not isinstance(data, dict):
        report.add(prefix, "must be a mapping, got %s" % (type(data).__name__,))
        return INVALID
    known = [name for name, dummy, dummy2 in fields]
    result = {}
    failed = False
    for key in data:
        if key not in known:
            report.add(
                _join(prefix, str(key)),
                "unknown field (known fields: %s)" % (", ".join(known),),
            )
            failed = True
    for name, required, check in fields:
        field = _join(prefix, name)
        if name not in data or data[name] is None:
            if required:
                report.add(field, "is required")
                failed = True
            continue
        value = check(data[name], report, field)
        if value is INVALID:
            failed = True
        else:
            result[name] = value
    return INVALID if failed else result


def _join(prefix, name):
    return "%s.%s" % (prefix, name) if prefix else name


def check_record(kind, path, data, problems):
    """Normalise one record's data; append problems; return the data or INVALID."""
    report = Report(path, problems)
    if data is None:
        report.add(None, "the file is empty; a %s record is a mapping of fields" % (KIND_SINGULAR[kind],))
        return INVALID
    return check_fields(data, FIELDS[kind], report)


def canonical(kind, data):
    """The record as it is written: fields in their fixed order, nested parts in flow style."""
    order = [name for name, dummy, dummy2 in FIELDS[kind]]
    out = {}
    for name in order:
        if name in data and data[name] is not None:
            value = data[name]
            if name in LIST_FIELDS:
                value = [_ordered_flow(item, LIST_FIELDS[name]) for item in value]
            elif name in ("build", "bmc"):
                value = _ordered_flow(value, BMC_FIELDS if name == "bmc" else (("generation",),))
            elif name in ("dns", "dynamic_range"):
                value = FlowList(value)
            elif name == "ipv6":
                value = {
                    key: FlowList(value[key]) if key in ("dns", "dynamic_range") else value[key]
                    for key, dummy, dummy2 in IPV6_SEGMENT_FIELDS
                    if value.get(key) is not None
                }
            out[name] = value
    return out


LIST_FIELDS = {"interfaces": INTERFACE_FIELDS, "machines": MACHINE_FIELDS, "enlist": ENLIST_FIELDS}


def _ordered_flow(item, fields):
    order = [spec[0] for spec in fields]
    flow = FlowMap()
    for name in order:
        if item.get(name) is not None:
            value = item[name]
            if name == "bmc":
                value = _ordered_flow(value, BMC_FIELDS)
            elif name == "disks":
                value = [_ordered_flow(disk, DISK_FIELDS) for disk in value]
            elif name == "other_macs":
                value = FlowList(value)
            flow[name] = value
    return flow
