# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The line breaks no record value may carry, for the tests of the field rules and the store."""

# Each way a line can end or a C string can stop, and how the refusal must name it ("\r\n" is
# named by its first character).
LINE_BREAKS = {
    "\n": "newline",
    "\r\n": "carriage return",
    "\r": "carriage return",
    "\x00": "NUL",
    "\u2028": "U+2028",
    "\u2029": "U+2029",
    "\x85": "U+0085",
}


def char_id(chars):
    """A test id for a line break: its code points."""
    return "U+" + "+".join("%04X" % ord(char) for char in chars)
