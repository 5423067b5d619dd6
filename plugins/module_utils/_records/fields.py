# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The rules for single values: MAC addresses, IP addresses, names, and the character sets of
every string that may reach a generated DHCP, boot-loader, kickstart or web-server file.
This is the one place each rule lives; the store, the modules and the inventory plugin call
these functions and never re-implement them.

Every function raises ValueError with a sentence a user can act on, or returns the
normalised value.
"""

from __future__ import annotations

import ipaddress
import re

# A pattern of a whole value is used with fullmatch, never match: with "^...$" and match, "$" also
# matches before a final newline, and "web01\n" passed as a label.
_MAC_HEX = re.compile(r"[0-9a-f]{12}")
_MAC_SEPARATED = re.compile(r"[0-9a-f]{1,2}([:-])(?:[0-9a-f]{1,2}\1){4}[0-9a-f]{1,2}")
_MAC_DOTTED = re.compile(r"[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}")

# RFC 1123: labels of letters, digits and hyphens, not starting or ending with a hyphen.
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")

# Characters allowed in any value that is written into a daemon or boot-loader config.
# No whitespace, quote, brace, bracket, semicolon, hash, dollar, backslash, backtick, angle
# bracket, pipe or ampersand: none of them can then open or close a statement in dhcpd.conf,
# Kea JSON, pxelinux/GRUB/iPXE scripts or nginx.conf.
_SAFE_CHARS = r"A-Za-z0-9._:/,=+@%~-"
_UNSAFE = re.compile(r"[^%s]" % _SAFE_CHARS)
_URL = re.compile(r"(?:https?|ftp|nfs)://[%s]+" % _SAFE_CHARS)
_KERNEL_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_VAR_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_IFACE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]{0,14}")
_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
_CHECKSUM = re.compile(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}")
# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: among them every
# character at which a line can end (\n \r \v \f \x1c-\x1e, NEL U+0085, U+2028, U+2029).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

MAX_TEXT = 255


_CHAR_NAMES = {
    "\n": "newline",
    "\r": "carriage return",
    "\t": "tab",
    "\x00": "NUL",
    " ": "space",
    "\x0b": "vertical tab",
    "\x0c": "form feed",
    "\x85": "next line U+0085",
    "\u2028": "line separator U+2028",
    "\u2029": "paragraph separator U+2029",
}


def describe_char(char):
    """How to name a rejected character in a message (newline is invisible otherwise)."""
    if char in _CHAR_NAMES:
        return _CHAR_NAMES[char]
    return repr(char) if char.isprintable() else "U+%04X" % ord(char)


def _control_named(value):
    """For a refusal: "; it contains newline" when the value holds a control character or line
    break, which its repr alone hides among escapes; else ""."""
    bad = _CONTROL.search(value) if isinstance(value, str) else None
    return "; it contains %s" % (describe_char(bad.group()),) if bad else ""


def normalize_mac(value):
    """Return the MAC in lower-case colon form ("52:54:00:ab:cd:ef").

    Accepts colon, hyphen, Cisco dotted and bare-hex spellings of a 6-octet address.
    Refuses multicast (a NIC never has one), all-zero and broadcast addresses.
    """
    if not isinstance(value, str):
        raise ValueError("MAC must be a string, got %s %r (quote it in YAML)" % (type(value).__name__, value))
    text = value.strip(" ").lower()
    if _MAC_SEPARATED.fullmatch(text):
        octets = re.split(r"[:-]", text)
    elif _MAC_DOTTED.fullmatch(text) or _MAC_HEX.fullmatch(text):
        bare = text.replace(".", "")
        octets = [bare[i : i + 2] for i in range(0, 12, 2)]
    else:
        raise ValueError(
            "%r is not a MAC address of 6 octets (like 52:54:00:12:34:56)%s" % (value, _control_named(value))
        )
    octets = [o.zfill(2) for o in octets]
    mac = ":".join(octets)
    if mac == "00:00:00:00:00:00":
        raise ValueError("%r is the all-zero MAC address" % (value,))
    if mac == "ff:ff:ff:ff:ff:ff":
        raise ValueError("%r is the broadcast MAC address" % (value,))
    if int(octets[0], 16) & 1:
        raise ValueError("%r is a multicast MAC address; a network card has a unicast one" % (value,))
    return mac


def mac_dashed(mac):
    """52:54:00:12:34:56 -> 52-54-00-12-34-56 (pxelinux file names, spare host names)."""
    return normalize_mac(mac).replace(":", "-")


def parse_ipv4(value):
    """An IPv4 address as ipaddress.IPv4Address."""
    if not isinstance(value, str):
        raise ValueError("%r is not an IPv4 address (expected a string like 192.0.2.10)" % (value,))
    try:
        return ipaddress.IPv4Address(value.strip(" "))
    except ValueError:
        raise ValueError("%r is not an IPv4 address%s" % (value, _control_named(value))) from None


def parse_network(value):
    """A CIDR network (host bits must be zero) as ipaddress.IPv4Network."""
    if not isinstance(value, str) or "/" not in value:
        raise ValueError("%r is not a network in CIDR form (like 192.0.2.0/24)" % (value,))
    try:
        network = ipaddress.IPv4Network(value.strip(" "), strict=True)
    except ValueError as exc:
        raise ValueError("%r is not a network in CIDR form: %s%s" % (value, exc, _control_named(value))) from None
    if network.prefixlen > 30:
        raise ValueError("%s leaves no room for hosts (prefix longer than /30)" % (network,))
    return network


def parse_ipv6(value):
    """A host's IPv6 address (global or unique local) as ipaddress.IPv6Address, written the one
    way RFC 5952 gives (lower case, longest run of zeros compressed): the key of uniqueness."""
    if not isinstance(value, str):
        raise ValueError("%r is not an IPv6 address (expected a string like 2001:db8:10::20)" % (value,))
    if "%" in value:
        raise ValueError("%r carries a zone (%%...): a record's IPv6 address is global, no zone" % (value,))
    try:
        address = ipaddress.IPv6Address(value.strip(" "))
    except ValueError:
        raise ValueError("%r is not an IPv6 address%s" % (value, _control_named(value))) from None
    for test, what in (
        (address.ipv4_mapped, "an IPv4-mapped address (write the IPv4 address in ip)"),
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "the loopback address"),
        (address.is_link_local, "a link-local address (a host's reserved address is global or unique local)"),
        (address.is_multicast, "a multicast address"),
    ):
        if test:
            raise ValueError("%s is %s" % (value.strip(" "), what))
    return address


def parse_network6(value):
    """An IPv6 provisioning network: a /64 (host bits zero) as ipaddress.IPv6Network. Router
    advertisements and the firmware's PXE client (edk2 takes the prefix as /64) assume one."""
    if not isinstance(value, str) or "/" not in value:
        raise ValueError("%r is not an IPv6 network in CIDR form (like 2001:db8:10::/64)" % (value,))
    try:
        network = ipaddress.IPv6Network(value.strip(" "), strict=True)
    except ValueError as exc:
        raise ValueError("%r is not an IPv6 network in CIDR form: %s%s" % (value, exc, _control_named(value))) from None
    if network.prefixlen != 64:
        raise ValueError(
            "%s is a /%d: an IPv6 provisioning segment is a /64 (router advertisements and UEFI "
            "firmware's PXE client assume that length)" % (network, network.prefixlen)
        )
    if network.is_link_local or network.is_multicast or network.network_address.ipv4_mapped:
        raise ValueError("%s is not a network hosts can be given addresses in (global or unique local)" % (network,))
    return network


def check_label(value):
    """An RFC 1123 host label: the name of a system, also its short host name."""
    if not isinstance(value, str):
        raise ValueError("%r is not a name" % (value,))
    if value != value.lower() and _LABEL.fullmatch(value.lower()):
        raise ValueError("%r must be lower-case (%r)" % (value, value.lower()))
    if not _LABEL.fullmatch(value):
        raise ValueError(
            "%r is not an RFC 1123 host name label (letters, digits and hyphens, "
            "1 to 63 characters, no leading or trailing hyphen)%s" % (value, _control_named(value))
        )
    return value


def check_dns_name(value):
    """An RFC 1123 DNS name: dot-separated labels, at most 253 characters."""
    if not isinstance(value, str) or not value or len(value) > 253:
        raise ValueError("%r is not a DNS name" % (value,))
    labels = value.rstrip(".").split(".")
    for label in labels:
        try:
            check_label(label)
        except ValueError:
            raise ValueError(
                "%r is not an RFC 1123 DNS name (label %r is not letters, digits and hyphens)%s"
                % (value, label, _control_named(value))
            ) from None
    return value.rstrip(".")


def check_record_name(value):
    """The name of a record (its file stem): an RFC 1123 DNS name, so also a safe file name."""
    name = check_dns_name(value)
    if name != value:
        raise ValueError("%r must not end with a dot" % (value,))
    return name


# Names the inventory gives to its own groups and hosts: a system by one of these names would be
# a host with the name of a group (or of the controller, or of a spare), so a play aimed at one
# would reach the other.
INVENTORY_NAMES = frozenset(("all", "ungrouped", "localhost", "systems", "provisioners", "spares"))
_SPARE_HOST = re.compile(r"spare(-[0-9a-f]{2}){6}")


def check_system_name(value):
    """A system's name: a record name that is not one of the inventory's own names."""
    name = check_record_name(value)
    if name in INVENTORY_NAMES or _SPARE_HOST.fullmatch(name):
        raise ValueError(
            "%r is a name the inventory uses for its own groups or hosts (%s, spare-<mac>)"
            % (value, ", ".join(sorted(INVENTORY_NAMES)))
        )
    return name


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# What firmware reports when nobody set a serial or UUID: never an identity of one machine.
PLACEHOLDER_SERIALS = frozenset(
    s.lower()
    for s in (
        "",
        "0",
        "none",
        "n/a",
        "na",
        "not specified",
        "not available",
        "default string",
        "system serial number",
        "to be filled by o.e.m.",
        "0123456789",
        "123456789",
        "chassis serial number",
    )
)
PLACEHOLDER_UUIDS = frozenset(
    (
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
        "03000200-0400-0500-0006-000700080009",
    )
)


def normalize_uuid(value):
    """A machine's SMBIOS UUID in lower-case 8-4-4-4-12 form."""
    if not isinstance(value, str):
        raise ValueError("UUID must be a string, got %s %r" % (type(value).__name__, value))
    text = value.strip(" ").lower()
    if not _UUID.fullmatch(text):
        raise ValueError(
            "%r is not a UUID (like 4c4c4544-0042-3510-8056-b4c04f4e3032)%s" % (value, _control_named(value))
        )
    return text


def identifies_machine(kind, value):
    """Whether a serial or UUID names one machine (firmware placeholders such as "Default string"
    or an all-zero UUID name none, and are never used to match machines)."""
    if not value:
        return False
    if kind == "uuid":
        return value.lower() not in PLACEHOLDER_UUIDS
    return value.strip().lower() not in PLACEHOLDER_SERIALS


def check_safe_text(value, what="value"):
    """A short string that may be written into a daemon or boot-loader config."""
    if isinstance(value, bool) or value is None:
        raise ValueError("%s must be a string, got %r" % (what, value))
    if isinstance(value, (int, float)):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError("%s must be a string, got %s" % (what, type(value).__name__))
    if not value:
        raise ValueError("%s must not be empty" % (what,))
    if len(value) > MAX_TEXT:
        raise ValueError("%s is longer than %d characters" % (what, MAX_TEXT))
    bad = _UNSAFE.search(value)
    if bad:
        raise ValueError(
            "%s %r contains %s, which could inject a statement into a generated config "
            "(allowed: letters, digits and . _ : / , = + @ %% ~ -)" % (what, value, describe_char(bad.group()))
        )
    return value


_URL_IPV6_HOST = re.compile(r"((?:https?|ftp|nfs)://)\[([0-9A-Fa-f:.]+)\](.*)", re.S)


def check_url(value, what="URL"):
    """An http(s), ftp or nfs URL made only of config-safe characters; its host may be an IPv6
    literal in brackets (RFC 3986), the only place a bracket is allowed."""
    literal = _URL_IPV6_HOST.fullmatch(value) if isinstance(value, str) else None
    checked = value
    if literal:
        try:
            ipaddress.IPv6Address(literal.group(2))
        except ValueError:
            raise ValueError("%s %r: [%s] is not an IPv6 address" % (what, value, literal.group(2))) from None
        checked = literal.group(1) + "ipv6-host" + literal.group(3)  # the rest, by the rules of any URL
    check_safe_text(checked, what)
    if not _URL.fullmatch(checked):
        raise ValueError("%s %r is not an http://, https://, ftp:// or nfs:// URL" % (what, value))
    return value


def check_checksum(value):
    """The checksum of a downloaded kernel or initrd: sha256:<64 hex> or sha512:<128 hex>."""
    if not isinstance(value, str) or not _CHECKSUM.fullmatch(value):
        raise ValueError("%r is not sha256:<64 hex> or sha512:<128 hex>%s" % (value, _control_named(value)))
    return value


def check_template_name(value):
    """A file name inside templates/: no directory part, no way out of the tree."""
    if not isinstance(value, str) or not _TEMPLATE_NAME.fullmatch(value) or ".." in value:
        raise ValueError(
            "%r is not a template file name in templates/ (letters, digits, . _ -, no path)%s"
            % (value, _control_named(value))
        )
    return value


def check_interface_name(value):
    """A network interface's name as the kernel allows it (IFNAMSIZ: at most 15 characters)."""
    if not isinstance(value, str) or not _IFACE.fullmatch(value):
        raise ValueError(
            "%r is not an interface name (up to 15 letters, digits and _ . : -)%s" % (value, _control_named(value))
        )
    return value


def check_free_text(value, what="value"):
    """Text that never reaches a generated config (descriptions): one line, no control characters."""
    if not isinstance(value, str):
        raise ValueError("%s must be a string" % (what,))
    bad = _CONTROL.search(value)
    if bad:
        raise ValueError("%s contains %s; it must be one line of text" % (what, describe_char(bad.group())))
    if len(value) > 1024:
        raise ValueError("%s is longer than 1024 characters" % (what,))
    return value


def parse_kernel_options(value):
    """Kernel options as an ordered dict {key: value or None}.

    Accepts a mapping (``{console: ttyS0, quiet: null}``) or a string
    (``"console=ttyS0 quiet"``), as Cobbler users write them. A key given as ``~key``
    removes an inherited option.
    """
    if value is None:
        return {}
    if isinstance(value, str):
        bad = _CONTROL.search(value)
        if bad:
            raise ValueError("kernel options contain %s" % (describe_char(bad.group()),))
        items = []
        # Split at spaces only: Unicode spaces (U+00A0, U+3000 ...) stay in a word and are refused
        # there, rather than read as separators the boot configs would then spell differently.
        for word in value.split(" "):
            if not word:
                continue
            key, sep, val = word.partition("=")
            items.append((key, val if sep else None))
    elif isinstance(value, dict):
        items = list(value.items())
    else:
        raise ValueError("kernel options must be a mapping or a string, got %s" % (type(value).__name__,))
    options = {}
    for key, val in items:
        lookup = key[1:] if isinstance(key, str) and key.startswith("~") else key
        if isinstance(lookup, str) and lookup.strip("-") == "" and lookup:
            raise ValueError(
                "%r is not a kernel option: the installer's options and the installed system's are two fields "
                "(kernel_options, installed_kernel_options); the boot configs put --- between them" % (key,)
            )
        if not isinstance(lookup, str) or not _KERNEL_KEY.fullmatch(lookup):
            raise ValueError(
                "kernel option name %r is not letters, digits and _ . - (no spaces, quotes or braces)%s"
                % (key, _control_named(key))
            )
        if val is not None:
            val = check_safe_text(val, "kernel option %s" % (lookup,))
        options[key] = val
    return options


def merge_kernel_options(*layers):
    """Merge option dicts, later layers winning; ``~key`` in a layer removes key."""
    merged = {}
    for layer in layers:
        for key, val in (layer or {}).items():
            if key.startswith("~"):
                merged.pop(key[1:], None)
            else:
                merged[key] = val
    return merged


def format_kernel_options(options):
    """{console: ttyS0, quiet: None} -> "console=ttyS0 quiet"."""
    return " ".join(key if val is None else "%s=%s" % (key, val) for key, val in options.items())


def check_vars(value, what="vars"):
    """Template variables: identifier keys; values are scalars, lists or mappings whose strings
    hold no control characters (no newline can smuggle a line into a rendered file)."""
    if not isinstance(value, dict):
        raise ValueError("%s must be a mapping" % (what,))
    for key, val in value.items():
        if not isinstance(key, str) or not _VAR_KEY.fullmatch(key):
            raise ValueError("%s key %r is not an identifier (letters, digits, _)%s" % (what, key, _control_named(key)))
        _check_var_value(val, "%s.%s" % (what, key))
    return value


def _check_var_value(val, where):
    if val is None or isinstance(val, (bool, int, float)):
        return
    if isinstance(val, str):
        bad = _CONTROL.search(val)
        if bad:
            raise ValueError("%s contains %s" % (where, describe_char(bad.group())))
        if len(val) > 4096:
            raise ValueError("%s is longer than 4096 characters" % (where,))
        return
    if isinstance(val, list):
        for index, item in enumerate(val):
            _check_var_value(item, "%s[%d]" % (where, index))
        return
    if isinstance(val, dict):
        check_vars(val, where)
        return
    raise ValueError("%s has an unsupported type %s" % (where, type(val).__name__))
