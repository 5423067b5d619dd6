# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Record values are data, never templates. From ansible-core 2.19 on, a plain string is not a
template unless something marks it as trusted, so values need nothing. Before 2.19 every string
Ansible sees is a template unless it is wrapped as unsafe, which is what ``as_data`` does there.
"""

from __future__ import annotations

from ansible import template as _template
from ansible.release import __version__ as _ANSIBLE_CORE_VERSION

TRUST_TAGS = hasattr(_template, "trust_as_template")  # public from ansible-core 2.19 on
if TRUST_TAGS:
    _unsafe = None
else:
    from ansible.utils.unsafe_proxy import wrap_var as _unsafe

# (major, minor) of the running ansible-core, for the few behaviours that differ by line
ANSIBLE_LINE = tuple(int(part) for part in _ANSIBLE_CORE_VERSION.split(".")[:2])


def as_data(value):
    """``value`` in a form Ansible never templates, on every supported ansible-core line."""
    return value if TRUST_TAGS else _unsafe(value)
