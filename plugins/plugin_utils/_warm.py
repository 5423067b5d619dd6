# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Ansible runs every task in a worker process forked from its main process. A worker inherits what
the main process has loaded, and loads for itself what it has not. The Jinja filter and test
plugins are loaded the first time a process uses one: about 10 ms of each templated task's worker
(a ``when:`` with ``| bool``, a ``failed_when:`` with ``is failed``), against about 1 ms for an
expression whose plugins are loaded. The main process seldom templates anything before it forks,
so every worker paid it.

``warm_templating`` templates, once in the main process, one expression that uses every filter
and test the collection's playbooks and roles use (``FILTERS_AND_TESTS``; a unit test keeps it in
step with the content), through the public ``Templar``. The inventory plugin calls it: it runs in
the main process before the first task (not in ansible-inventory, which runs none). What it loads
is then every worker's for free. It uses no private name and changes no result: where a line of
ansible-core loads plugins differently, the workers load them as before. It never fails a run; a
failure here is said at -vvv.
"""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.template import Templar

from ansible_collections.baremetal.provision.plugins.plugin_utils._data import as_template, printing_inventory

# Each applied once to a value it takes. Ansible's own (ansible.builtin): bool, combine, comment,
# dict2items, flatten, regex_replace, split, strftime, to_json, zip (filter/core.py); unique
# (filter/mathstuff.py); changed, failed, match (test/core.py); file (test/files.py). The others
# are Jinja's.
FILTERS_AND_TESTS = (
    "true | bool",
    "{} | combine({})",
    "'' | comment",
    "{} | dict2items",
    "[[]] | flatten",
    "'' | regex_replace('a', 'b')",
    "'' | split(',')",
    "'%Y' | strftime(0)",
    "{} | to_json",
    "[] | zip([]) | list",
    "[] | unique",
    "{} is changed",
    "{} is failed",
    "'' is match('a')",
    "'/' is file",
    "none | default('')",
    "[] | length",
    "[] | map('string') | list",
    "[] | join(',')",
    "[] | select | list",
    "[] | reject | list",
    "[] | selectattr('a') | list",
    "[] | rejectattr('a') | list",
    "[1] | first",
    "'1' | int",
    "'1' | float",
    "1 | string",
    "'' | trim",
    "none is none",
    "none is defined",
    "[] is sequence",
    "'' is string",
    "{} is mapping",
)

_WARMED = []


def warm_templating(loader, display=None):
    """Template FILTERS_AND_TESTS once in this process (the first call does; later calls return).
    ansible-inventory runs no task: nothing is done there."""
    if _WARMED or printing_inventory():
        return
    _WARMED.append(True)
    expression = "{{ [%s] }}" % ", ".join(FILTERS_AND_TESTS)
    try:
        Templar(loader=loader).template(as_template(expression))
    except (AnsibleError, TypeError, ValueError) as exc:  # a warm-up never fails a run
        if display is not None:
            display.vvv("baremetal.provision: the template plugins were not loaded ahead: %s" % exc)
