# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collector's JSON writer (roles/discovery/files/collector-json.awk), run by this machine's
busybox awk as the collector runs it: hostile strings come back from json.loads exactly (blanks
at the ends trimmed), bytes that are not UTF-8 come back one character each (as Latin-1), and
the output carries no raw control character and is always valid UTF-8."""

import codecs
import json
import os
import shutil
import subprocess

import pytest

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import discovery

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWK = os.path.join(REPO, "roles", "discovery", "files", "collector-json.awk")
BUSYBOX = shutil.which("busybox")

pytestmark = pytest.mark.skipif(BUSYBOX is None, reason="needs busybox (Debian busybox-static)")

# Text the collector may read from DMI or a disk: quotes, backslashes, JSON and shell syntax,
# every C0 control character, DEL, C1 controls, multi-byte UTF-8, look-alike escapes.
HOSTILE = [
    'S"1\\2',
    "\\",
    '"',
    '\\"',
    "\\u0000",
    '"},"bmc":{"ip":"203.0.113.9"',
    "$(reboot) `id` ;|&",
    "%s %d %c %%",
    "a\tb",
    "line\nbreak",
    "".join(chr(c) for c in range(1, 32)) + "x",
    "del\x7f",
    "nel\u0085 c1\u009f",
    "Acme Ünïcødé 日本 \U0001f600",
    "\u2028\u2029",
    "</script><!--",
    " ",
    "",
]

# Bytes that are not UTF-8: a lone continuation, a truncated sequence, overlong forms, an encoded
# surrogate, a code point above U+10FFFF, 0xFE/0xFF.
NOT_UTF8 = [
    b"\x80",
    b"ab\xe2\x82",
    b"\xe2\x82 x",
    b"\xc0\xaf",
    b"\xe0\x80\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xf0\x80\x80\x80",
    b"\xfe\xff",
    b"ok \xc3\xa9 \xff end",
]


def latin1_fallback(error):
    """Each byte that breaks UTF-8 as the character of that code (what the awk program writes)."""
    return "".join(chr(b) for b in error.object[error.start : error.end]), error.end


codecs.register_error("bm-latin1-fallback", latin1_fallback)


def run_awk(lines):
    """The awk program on lines (str or bytes, one per line): (exit status, stdout bytes, stderr)."""
    data = b"".join((line if isinstance(line, bytes) else line.encode("utf-8")) + b"\n" for line in lines)
    proc = subprocess.run([BUSYBOX, "awk", "-f", AWK], input=data, capture_output=True, check=False, timeout=30)
    return proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace")


def render(lines):
    status, out, err = run_awk(lines)
    assert status == 0, err
    assert out.endswith(b"\n") and out.count(b"\n") == 1, out  # one line: the console shows it whole
    assert not any(b < 0x20 for b in out[:-1]), out  # no raw control character
    return json.loads(out.decode("utf-8"))  # strict UTF-8: a stray byte would fail here


def from_file(tmp_path, content):
    path = tmp_path / "value"
    path.write_bytes(content)
    return render(["obj\t", "file\tv\t%s" % path, "end"])["v"]


@pytest.mark.parametrize("text", HOSTILE)
def test_strings_read_from_a_file_come_back_exactly(tmp_path, text):
    # sysfs ends every value with a newline; the collector trims blanks at both ends
    assert from_file(tmp_path, text.encode("utf-8") + b"\n") == text.strip(" \t\n\r\v\f")


@pytest.mark.parametrize("text", [t for t in HOSTILE if "\n" not in t])
def test_strings_given_on_the_line_come_back_exactly(text):
    # str takes the rest of the line: a tab inside the value stays part of it
    assert render(["obj\t", "str\tv\t" + text, "end"])["v"] == text.strip(" \t\r\v\f")


@pytest.mark.parametrize("raw", NOT_UTF8)
def test_bytes_that_are_not_utf8_come_back_one_character_each(tmp_path, raw):
    expected = raw.decode("utf-8", "bm-latin1-fallback").strip()
    assert from_file(tmp_path, raw) == expected


def test_a_uuid_is_lower_cased_and_only_ascii_letters_change(tmp_path):
    path = tmp_path / "uuid"
    path.write_bytes("11223344-5566-7788-99AA-BBCCDDEEFF00 Ä\n".encode())
    assert render(["obj\t", "lfile\tu\t%s" % path, "end"]) == {"u": "11223344-5566-7788-99aa-bbccddeeff00 Ä"}


def test_a_file_that_cannot_be_read_is_an_empty_string(tmp_path):
    assert render(["obj\t", "file\tv\t%s" % (tmp_path / "absent"), "end"]) == {"v": ""}


def test_keys_are_escaped_too():
    assert render(["obj\t", 'str\tk"\\ey\tv', "end"]) == {'k"\\ey': "v"}


@pytest.mark.parametrize(
    "value, expected",
    [("0", 0), ("42", 42), ("0012", 12), ("-1", -1), ("-0", 0), ("1099511627776", 1099511627776)]
    + [(bad, None) for bad in ("", "x", "1 2", "1.5", "0x10", "+3", "--1", "١")],
)
def test_numbers_are_integers_or_null(value, expected):
    assert render(["obj\t", "num\tn\t" + value, "end"]) == {"n": expected}


@pytest.mark.parametrize(
    "value, expected", [("1", True), ("true", True), ("0", False), ("false", False), ("", None), ("2", None)]
)
def test_booleans_are_true_false_or_null(value, expected):
    assert render(["obj\t", "bool\tb\t" + value, "end"]) == {"b": expected}


def test_objects_and_arrays_nest_with_their_commas():
    lines = ["obj\t", "arr\tl", "obj\t", "num\ta\t1", "end", "obj\t", "null\tb", "end", "end", "arr\te", "end"]
    lines += ["obj\to", "end", "null\tz", "end"]
    assert render(lines) == {"l": [{"a": 1}, {"b": None}], "e": [], "o": {}, "z": None}


@pytest.mark.parametrize(
    "lines, message",
    [
        (["obj\t", "end", "end"], "unbalanced end at line 3"),
        (["obj\t", "arr\tl"], "2 unclosed"),
        (["obj\t", "text\tk\tv", "end"], 'unknown kind "text" at line 2'),
    ],
)
def test_a_broken_description_fails_and_prints_no_json(lines, message):
    status, out, err = run_awk(lines)
    assert status != 0
    assert out == b""
    assert message in err


def test_a_report_with_hostile_dmi_passes_the_spool_check(tmp_path):
    """A schema-1 report described as the collector's /init describes it, its DMI strings read
    from files: the discovery spool's own check accepts it and keeps the strings."""
    dmi = {
        "vendor": 'Acme "Servers" \\ Co. ',
        "product": "Box <9> & 'x' é",
        "serial": 'S"1\\2,;$(id)',
        "uuid": "11223344-5566-7788-99AA-BBCCDDEEFF00",
    }
    for name, value in dmi.items():
        (tmp_path / name).write_bytes(value.encode() + b"\n")
    (tmp_path / "mac").write_bytes(b"52:54:00:12:34:56\n")
    lines = ["obj\t", "num\tschema\t1", "str\tcollector\tbaremetal.provision-collector/1"]
    lines += ["obj\tboot", "file\tmac\t%s" % (tmp_path / "mac"), "str\tsource\tbootif", "str\tmode\tbios", "end"]
    lines += ["obj\tsystem"] + ["file\t%s\t%s" % (k, tmp_path / k) for k in ("vendor", "product", "serial")]
    lines += ["lfile\tuuid\t%s" % (tmp_path / "uuid"), "end", "num\tcpus\t2", "num\tmemory_mib\t457"]
    lines += ["arr\tnics", "obj\t", "str\tname\teth0", "file\tmac\t%s" % (tmp_path / "mac")]
    lines += ["bool\tcarrier\t1", "num\tspeed_mbps\t", "end", "end"]
    lines += ["arr\tdisks", "obj\t", "str\tname\tvda", "num\tsize_bytes\t104861696"]
    lines += ["file\tmodel\t%s" % (tmp_path / "none"), "str\tserial\tDISK-0042", "str\twwn\t", "bool\trotational\t1"]
    lines += ["end", "end", "null\tbmc", "end"]
    report = render(lines)
    assert report["system"] == {
        "vendor": 'Acme "Servers" \\ Co.',
        "product": "Box <9> & 'x' é",
        "serial": 'S"1\\2,;$(id)',
        "uuid": "11223344-5566-7788-99aa-bbccddeeff00",
    }
    assert discovery.check_report(report) == report
