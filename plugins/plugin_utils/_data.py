# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Record values are data, never templates. From ansible-core 2.19 on, a plain string is not a
template unless something marks it as trusted, so values need nothing. Before 2.19 every string
Ansible sees is a template unless it is wrapped as unsafe, which is what ``as_data`` does there.

``as_inventory_data`` is the inventory's form of the same promise, shaped so that
``ansible-inventory --list --export`` (what AWX stores) writes plain JSON for every value that
cannot be a template (``could_be_template``): before 2.19 only a string that could be one is
wrapped as unsafe; from 2.19 on, in ansible-inventory (which prints untrusted text wrapped), every
string that cannot be one is marked trusted with the public ``ansible.template.trust_as_template``,
and one that could be stays untrusted; elsewhere nothing is marked, untrusted text being data. Either way a value
is exported wrapped (``{"__ansible_unsafe": ...}``) exactly when it could be a template, and
Ansible, AWX's inventory script included, reads it back as data. No private ansible-core name is
used here: ``TRUST_TAGS`` probes for the public 2.19 function, and ``wrap_var`` is the public way
to mark a value unsafe before it.
"""

from __future__ import annotations

from ansible import context
from ansible import template as _template
from ansible.release import __version__ as _ANSIBLE_CORE_VERSION

TRUST_TAGS = hasattr(_template, "trust_as_template")  # public from ansible-core 2.19 on
if TRUST_TAGS:
    from ansible.template import trust_as_template as _trusted

    _unsafe = None
else:
    from ansible.utils.unsafe_proxy import wrap_var as _unsafe

    _trusted = None

# (major, minor) of the running ansible-core, for the few behaviours that differ by line
ANSIBLE_LINE = tuple(int(part) for part in _ANSIBLE_CORE_VERSION.split(".")[:2])


def as_data(value):
    """``value`` in a form Ansible never templates, on every supported ansible-core line."""
    return value if TRUST_TAGS else _unsafe(value)


def as_template(text):
    """The collection's own constant ``text``, which it means as a template, in the form Ansible
    templates on every supported line (before 2.19 every string is one)."""
    return _trusted(text) if TRUST_TAGS else text


# Jinja's markers as Ansible uses them: every default delimiter ({{ }}, {% %}, {# #}) holds a
# brace, and a text that begins with this header picks its own delimiters (on every line).
_OVERRIDE_HEADER = "#jinja2:"


def could_be_template(text):
    """Whether Ansible could ever evaluate the string ``text`` as a template: it holds a brace, or
    Jinja's ``#jinja2:`` override header (which can choose delimiters without braces). Text with
    neither comes out of templating unchanged on every ansible-core line; a template task's own
    delimiters (``variable_start_string``) apply to its template file, not to the variables it
    reads. Every value that passed the record rules for names, addresses, paths and URLs has no
    brace and no ``#``; free text (``vars``, ``description``) may have both."""
    return "{" in text or "}" in text or _OVERRIDE_HEADER in text


def as_inventory_data(value):
    """``value`` (JSON data: dict, list, str, int, float, bool, None) as the inventory keeps it:
    every string that could be a template stays data (unsafe before 2.19, untrusted from 2.19 on),
    every other string is one ``ansible-inventory --export`` writes as a plain JSON string
    (plain before 2.19, trusted from 2.19 on, which templating returns unchanged)."""
    if TRUST_TAGS:
        if not printing_inventory():
            return value  # untrusted text is data; trust would change nothing but the cost
        if len(_MARKED) > _MARKED_MAX:
            _MARKED.clear()
        return _trusted_where_plain(value, _MARKED)
    return _unsafe_where_template(value)


def printing_inventory():
    """Whether this process is ansible-inventory (its options, --export among them, are in the
    CLI arguments), which prints untrusted text wrapped from 2.19 on. Elsewhere (ansible-playbook,
    an AWX job) a string with no brace templates to itself whether trusted or not, and tagging
    40,000 texts at 10,000 systems would cost every inventory read some 0.3 s for nothing."""
    return "export" in context.CLIARGS


# {text: its marked form} kept for the process: ansible-playbook reads the inventory again after a
# record edit (meta: refresh_inventory), and the texts of the hosts that did not change are tagged
# already. Tagged strings are immutable, so sharing them between reads is safe; the bound keeps a
# long run over many stores from growing it without end.
_MARKED = {}
_MARKED_MAX = 1000000


def _trusted_where_plain(value, memo):
    """From 2.19 on: every string trusted where it cannot be a template, else left untrusted.
    Keys stay as they are: 2.19 neither templates nor wraps them. memo: {text: its marked form},
    so that a name or address that recurs on many hosts is tagged once (a tag costs some 5 us,
    the fleet of 10,000 systems has some 330,000 strings and 40,000 distinct ones); the loops
    look a string up there themselves, a call per string being most of the rest of the time."""
    kind = type(value)
    if kind is dict:
        return {
            key: memo[item] if item.__class__ is str and item in memo else _trusted_where_plain(item, memo)
            for key, item in value.items()
        }
    if kind is list or kind is tuple:
        return kind(
            memo[item] if item.__class__ is str and item in memo else _trusted_where_plain(item, memo) for item in value
        )
    if isinstance(value, str):
        text = _plain_str(value)
        done = memo[text] = text if could_be_template(text) else _trusted(text)
        return done
    return value  # a number, a bool or None


def _unsafe_where_template(value):
    """Before 2.19: every string (keys too, which Ansible templates as well) wrapped as unsafe
    where it could be a template, else left plain."""
    if isinstance(value, str):
        text = _plain_str(value)
        return _unsafe(text) if could_be_template(text) else text
    kind = type(value)
    if kind is dict:
        return {_unsafe_where_template(key): _unsafe_where_template(item) for key, item in value.items()}
    if kind is list or kind is tuple:
        return kind(_unsafe_where_template(item) for item in value)
    return value  # a number, a bool or None


def _plain_str(text):
    """``text`` as a str of no subclass: without the tags (trust included) or the unsafe mark that
    a view given back by an inventory cache plugin may carry, so that the rule alone decides.
    (str.__str__ copies a subclass into a plain str; a subclass's own __str__ may keep its class.)"""
    return text if text.__class__ is str else str.__str__(text)
