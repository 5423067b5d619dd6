# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Single-value rules: MACs, addresses, names, config-safe text, kernel options, vars."""

import inspect

import pytest
from support.line_breaks import LINE_BREAKS, char_id

from ansible_collections.baremetal.provision.plugins.module_utils._records import fields as F


@pytest.mark.parametrize(
    "spelling",
    [
        "52:54:00:12:34:56",
        "52:54:00:12:34:56".upper(),
        "52-54-00-12-34-56",
        "5254.0012.3456",
        "525400123456",
        " 52:54:00:12:34:56 ",
        "52:54:0:12:34:56".replace(":0:", ":00:"),
    ],
)
def test_mac_spellings_normalise_to_lower_colon_form(spelling):
    assert F.normalize_mac(spelling) == "52:54:00:12:34:56"


def test_mac_single_digit_octets_are_padded():
    assert F.normalize_mac("2:54:0:1:3:a") == "02:54:00:01:03:0a"


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("52:54:00:12:34", "6 octets"),  # 5 octets
        ("52:54:00:12:34:56:78", "6 octets"),  # 7 octets
        ("52:54:00:12-34:56", "6 octets"),  # mixed separators
        ("52:54:00:12:34:5g", "6 octets"),  # not hex
        ("00:00:00:00:00:00", "all-zero"),
        ("ff:ff:ff:ff:ff:ff", "broadcast"),
        ("01:00:5e:00:00:01", "multicast"),
        ("", "6 octets"),
    ],
)
def test_mac_refusals_say_why(bad, reason):
    with pytest.raises(ValueError, match=reason):
        F.normalize_mac(bad)


def test_mac_with_a_line_break_anywhere_is_refused_and_the_break_named():
    # Refused, not trimmed: a record holds what it is read as (one rule for every value; see
    # test_every_string_rule_refuses_a_line_break_and_names_it). Spaces around it are still trimmed.
    for bad in ("52:54:00:12:34:56\n", "52:54:00\n:12:34:56", "\t52:54:00:12:34:56"):
        with pytest.raises(ValueError, match=r"newline|tab"):
            F.normalize_mac(bad)


def test_mac_that_yaml_read_as_a_number_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="quote it"):
        F.normalize_mac(123456)


def test_mac_dashed():
    assert F.mac_dashed("52:54:00:AA:BB:CC") == "52-54-00-aa-bb-cc"


def test_ipv4_and_network():
    assert str(F.parse_ipv4("192.0.2.7")) == "192.0.2.7"
    assert str(F.parse_network("192.0.2.0/24")) == "192.0.2.0/24"
    for bad in ("192.0.2.256", "192.0.2", "2001:db8::1", 5, "192.0.2.1;"):
        with pytest.raises(ValueError):
            F.parse_ipv4(bad)
    with pytest.raises(ValueError, match="host bits"):
        F.parse_network("192.0.2.5/24")
    with pytest.raises(ValueError, match="CIDR"):
        F.parse_network("192.0.2.0")
    with pytest.raises(ValueError, match="no room"):
        F.parse_network("192.0.2.0/31")


@pytest.mark.parametrize("good", ["web01", "a", "db-eu-1", "x" * 63])
def test_label_accepts_rfc1123(good):
    assert F.check_label(good) == good


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("web\n01", "RFC 1123"),
        ("-web", "RFC 1123"),
        ("web-", "RFC 1123"),
        ("web_01", "RFC 1123"),
        ("x" * 64, "RFC 1123"),
        ("web 01", "RFC 1123"),
        ("Web01", "lower-case"),
        ("web;01", "RFC 1123"),
        ("", "RFC 1123"),
        ("wеb01", "RFC 1123"),  # the second is a Cyrillic e
    ],
)
def test_label_refusals(bad, reason):
    with pytest.raises(ValueError, match=reason):
        F.check_label(bad)


def test_dns_name_and_record_name():
    assert F.check_dns_name("dmz.example.test.") == "dmz.example.test"
    assert F.check_record_name("rocky9.4") == "rocky9.4"
    with pytest.raises(ValueError):
        F.check_record_name("rocky9.")
    with pytest.raises(ValueError):
        F.check_dns_name("a..b")
    with pytest.raises(ValueError):
        F.check_record_name("../etc/passwd")


@pytest.mark.parametrize(
    "char, name",
    [
        ("\n", "newline"),
        ('"', "'\"'"),
        ("'", '"\'"'),
        ("{", "'{'"),
        ("}", "'}'"),
        (";", "';'"),
        ("#", "'#'"),
        ("$", "'\\$'"),
        ("\\", "'\\\\\\\\'"),
        (" ", "space"),
        ("`", "'`'"),
        ("\x00", "NUL"),
    ],
)
def test_safe_text_refuses_every_injection_character_and_names_it(char, name):
    with pytest.raises(ValueError, match="contains %s" % name):
        F.check_safe_text("ttyS0" + char + "x", "kernel option console")


def test_safe_text_accepts_typical_values():
    for value in ("ttyS0,115200n8", "http://192.0.2.1/ks/web01.cfg", "inst.repo=nfs:192.0.2.1:/srv", "SN-0001"):
        assert F.check_safe_text(value) == value
    with pytest.raises(ValueError, match="longer"):
        F.check_safe_text("a" * 256)
    with pytest.raises(ValueError, match="empty"):
        F.check_safe_text("")


def test_url_rules():
    assert F.check_url("https://mirror.example.test/rocky/9") == "https://mirror.example.test/rocky/9"
    for bad in ("file:///etc/passwd", "http://x/a b", "javascript:alert(1)", 'http://x/"; include'):
        with pytest.raises(ValueError):
            F.check_url(bad)


def test_template_name_has_no_path():
    assert F.check_template_name("rocky9.ks.j2") == "rocky9.ks.j2"
    for bad in ("../x", "a/b", ".hidden", "a..b", ""):
        with pytest.raises(ValueError, match="template file name"):
            F.check_template_name(bad)


def test_kernel_options_string_and_mapping_forms_agree():
    assert F.parse_kernel_options("console=ttyS0 inst.text") == {"console": "ttyS0", "inst.text": None}
    assert F.parse_kernel_options({"console": "ttyS0", "inst.text": None}) == {"console": "ttyS0", "inst.text": None}
    assert F.parse_kernel_options(None) == {}


@pytest.mark.parametrize(
    "bad, reason",
    [
        ("console=ttyS0\ninitrd=evil", "newline"),
        ({"console": "ttyS0;reboot"}, "';'"),
        ({"a b": "1"}, "kernel option name"),
        ({"console": 'tty"S0'}, "contains"),
        ({"x": "}"}, "contains"),
        (["console=ttyS0"], "mapping or a string"),
        ("console=ttyS0 --- console=ttyS0", "installed_kernel_options"),
        ({"--": None}, "installed_kernel_options"),
        ("~---", "installed_kernel_options"),
    ],
)
def test_kernel_options_refusals(bad, reason):
    with pytest.raises(ValueError, match=reason):
        F.parse_kernel_options(bad)


def test_kernel_options_merge_nearest_wins_and_tilde_removes():
    merged = F.merge_kernel_options({"console": "tty0", "quiet": None}, {"console": "ttyS0"}, {"~quiet": None})
    assert merged == {"console": "ttyS0"}
    assert F.format_kernel_options({"console": "ttyS0", "inst.text": None}) == "console=ttyS0 inst.text"


def test_vars_rules():
    assert F.check_vars({"a": 1, "b": ["x", {"c": True}], "d": None})
    with pytest.raises(ValueError, match="newline"):
        F.check_vars({"motd": "hello\n%post\nrm -rf /"})
    with pytest.raises(ValueError, match="identifier"):
        F.check_vars({"bad-key": 1})
    with pytest.raises(ValueError, match=r"vars.a.b\[1\]"):
        F.check_vars({"a": {"b": ["ok", "no\x00"]}})


# --- line breaks: no rule lets one through, before or after a valid value --------------------


# Every rule of fields.py that takes a string: (the rule's name, a call of it on one string, a
# value it accepts). A rule over a mapping is called with the string as a key and as a value.
# A new rule joins here (test_every_public_rule_is_in_the_table fails until it does).
STRING_RULES = [
    ("normalize_mac", F.normalize_mac, "52:54:00:12:34:56"),
    ("normalize_mac", F.normalize_mac, "5254.0012.3456"),
    ("normalize_mac", F.normalize_mac, "525400123456"),
    ("mac_dashed", F.mac_dashed, "52-54-00-12-34-56"),
    ("parse_ipv4", F.parse_ipv4, "192.0.2.10"),
    ("parse_network", F.parse_network, "192.0.2.0/24"),
    ("parse_ipv6", F.parse_ipv6, "2001:db8:10::20"),
    ("parse_network6", F.parse_network6, "2001:db8:10::/64"),
    ("check_label", F.check_label, "web01"),
    ("check_dns_name", F.check_dns_name, "dmz.example.test"),
    ("check_dns_name", F.check_dns_name, "dmz.example.test."),
    ("check_record_name", F.check_record_name, "rocky9.4"),
    ("check_system_name", F.check_system_name, "web01"),
    ("check_safe_text", F.check_safe_text, "ttyS0,115200n8"),
    ("check_url", F.check_url, "http://192.0.2.1/repo/rocky9"),
    ("check_checksum", F.check_checksum, "sha256:" + "ab" * 32),
    ("check_checksum", F.check_checksum, "sha512:" + "cd" * 64),
    ("check_template_name", F.check_template_name, "rocky9.ks.j2"),
    ("check_interface_name", F.check_interface_name, "eth0"),
    ("check_free_text", F.check_free_text, "Web tier, rack 4"),
    ("parse_kernel_options", F.parse_kernel_options, "console=ttyS0 inst.text"),
    ("parse_kernel_options", lambda s: F.parse_kernel_options({s: None}), "inst.text"),
    ("parse_kernel_options", lambda s: F.parse_kernel_options({"~" + s: None}), "quiet"),
    ("parse_kernel_options", lambda s: F.parse_kernel_options({"console": s}), "ttyS0"),
    ("check_vars", lambda s: F.check_vars({s: 1}), "ntp"),
    ("check_vars", lambda s: F.check_vars({"ntp": s}), "192.0.2.123"),
    ("check_vars", lambda s: F.check_vars({"site": {"servers": [s]}}), "ntp1"),
    ("normalize_uuid", F.normalize_uuid, "4c4c4544-0042-3510-8056-b4c04f4e3032"),
]

# Public functions of fields.py that are not a rule over a string, and why.
NOT_STRING_RULES = {
    "describe_char": "names a character for a message",
    "merge_kernel_options": "merges options that parse_kernel_options already checked",
    "format_kernel_options": "writes options that parse_kernel_options already checked",
    "identifies_machine": "tells a firmware placeholder from a serial or UUID the schema already checked",
}


def _rule_id(value):
    return value if isinstance(value, str) and value.isidentifier() else None


def test_every_public_rule_is_in_the_table():
    public = {
        name
        for name, func in inspect.getmembers(F, inspect.isfunction)
        if not name.startswith("_") and func.__module__ == F.__name__
    }
    tabled = {name for name, _call, _good in STRING_RULES}
    assert public - tabled - set(NOT_STRING_RULES) == set(), "add these rules to STRING_RULES or NOT_STRING_RULES"
    assert (tabled | set(NOT_STRING_RULES)) - public == set(), "the table names rules fields.py no longer has"


@pytest.mark.parametrize("name, call, good", STRING_RULES, ids=[n for n, _c, _g in STRING_RULES])
def test_each_rule_accepts_its_sample(name, call, good):
    # so that a refusal below is the break's doing, not the sample's
    call(good)


@pytest.mark.parametrize("where", ["after", "before"])
@pytest.mark.parametrize("char", list(LINE_BREAKS), ids=char_id)
@pytest.mark.parametrize("name, call, good", STRING_RULES, ids=[n for n, _c, _g in STRING_RULES])
def test_every_string_rule_refuses_a_line_break_and_names_it(name, call, good, char, where):
    value = good + char if where == "after" else char + good
    with pytest.raises(ValueError) as refused:
        call(value)
    assert LINE_BREAKS[char] in str(refused.value), (name, value, str(refused.value))


@pytest.mark.parametrize("char", list(LINE_BREAKS), ids=char_id)
def test_a_line_break_inside_a_value_is_refused_too(char):
    for _name, call, good in STRING_RULES:
        middle = len(good) // 2
        with pytest.raises(ValueError, match=LINE_BREAKS[char].replace("+", r"\+")):
            call(good[:middle] + char + good[middle:])


@pytest.mark.parametrize("char", ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x7f", "\x9b"])
def test_the_other_line_ends_and_control_characters_are_refused(char):
    # str.splitlines() also ends a line at \v, \f and \x1c-\x1e; \x7f and the C1 controls such as
    # U+009B (CSI) are not text either
    assert len(("a" + char + "b").splitlines()) == 2 or char in "\x7f\x9b"
    for _name, call, good in STRING_RULES:
        with pytest.raises(ValueError):
            call(good + char)


def test_kernel_options_split_at_spaces_only():
    # a no-break or ideographic space is not a separator the boot configs would write back as one
    assert F.parse_kernel_options("  console=ttyS0   quiet ") == {"console": "ttyS0", "quiet": None}
    for space, name in (("\u00a0", "U\\+00A0"), ("\u3000", "U\\+3000")):
        with pytest.raises(ValueError, match="kernel option name .*%s|contains %s" % (name, name)):
            F.parse_kernel_options("console=ttyS0" + space + "quiet")


def test_describe_char_names_invisible_characters_by_code_point():
    assert F.describe_char("\u200b") == "U+200B"
    assert F.describe_char("\x85") == "next line U+0085"
    assert F.describe_char(";") == "';'"
