# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The template plugins loaded ahead in the main process (plugin_utils/_warm.py): every filter and
test the collection's content uses is in the expression, the expression templates on this line of
ansible-core, and after it a worker's templating loads no plugin of its own."""

import glob
import json
import os
import subprocess
import sys
import warnings

import jinja2
import pytest
import yaml
from ansible import context
from ansible.errors import AnsibleError
from jinja2 import nodes

from ansible_collections.baremetal.provision.plugins.plugin_utils import _warm as W

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
COLLECTIONS = os.path.join(REPO, ".build", "collections")
# keys whose string values Ansible evaluates as bare expressions
EXPRESSION_KEYS = {"when", "failed_when", "changed_when", "until", "that"}


def _templates_in(value, key=None):
    """The Jinja sources in one parsed YAML value: bare expressions under EXPRESSION_KEYS, and
    every string holding a delimiter."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from _templates_in(item, name)
    elif isinstance(value, list):
        for item in value:
            yield from _templates_in(item, key)
    elif isinstance(value, str):
        if key in EXPRESSION_KEYS:
            yield "{{ %s }}" % value
        elif "{{" in value or "{%" in value:
            yield value


def _names(source):
    """(filters, tests) a Jinja source uses."""
    with warnings.catch_warnings():  # a regex's backslash in a string literal: Jinja's own warning
        warnings.simplefilter("ignore", DeprecationWarning)
        tree = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"]).parse(source)
    return {node.name for node in tree.find_all(nodes.Filter)}, {node.name for node in tree.find_all(nodes.Test)}


def _content_sources():
    for pattern in (
        "playbooks/*.yml",
        "roles/*/tasks/*.yml",
        "roles/*/handlers/*.yml",
        "roles/*/defaults/*.yml",
        "roles/*/vars/*.yml",
    ):
        for path in sorted(glob.glob(os.path.join(REPO, pattern))):
            with open(path, encoding="utf-8") as handle:
                for source in _templates_in(yaml.safe_load(handle)):
                    yield path, source
    for path in sorted(glob.glob(os.path.join(REPO, "roles", "*", "templates", "**", "*.j2"), recursive=True)):
        with open(path, encoding="utf-8") as handle:
            yield path, handle.read()


def test_every_filter_and_test_the_content_uses_is_loaded_ahead():
    warmed_filters, warmed_tests = _names("{{ [%s] }}" % ", ".join(W.FILTERS_AND_TESTS))
    used_filters, used_tests, seen = {}, {}, 0
    for path, source in _content_sources():
        filters, tests = _names(source)
        for name in filters:
            used_filters.setdefault(name, os.path.relpath(path, REPO))
        for name in tests:
            used_tests.setdefault(name, os.path.relpath(path, REPO))
        seen += 1
    assert seen > 100  # the playbooks, the roles and their templates were read
    assert {"bool", "default", "combine"} <= set(used_filters) and "failed" in used_tests
    missing = {"filter " + name: path for name, path in used_filters.items() if name not in warmed_filters}
    missing.update({"test " + name: path for name, path in used_tests.items() if name not in warmed_tests})
    assert missing == {}, "used there: add them to _warm.FILTERS_AND_TESTS"
    # and nothing the content no longer uses
    assert warmed_filters - set(used_filters) == set() and warmed_tests - set(used_tests) == set()


def test_the_expression_templates_on_this_line():
    from ansible.parsing.dataloader import DataLoader
    from ansible.template import Templar

    from ansible_collections.baremetal.provision.plugins.plugin_utils._data import as_template

    result = Templar(loader=DataLoader()).template(as_template("{{ [%s] }}" % ", ".join(W.FILTERS_AND_TESTS)))
    assert isinstance(result, list) and len(result) == len(W.FILTERS_AND_TESTS)
    assert result[0] is True and result[-1] is True


PROBE = """
import json, sys
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
_AnsibleCollectionFinder(paths=[sys.argv[1]])._install()
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar
from ansible_collections.baremetal.provision.plugins.plugin_utils import _warm
from ansible_collections.baremetal.provision.plugins.plugin_utils._data import as_template
if sys.argv[2] == "warm":
    _warm.warm_templating(DataLoader())
before = set(sys.modules)
# what a task's worker templates: a when with a filter, a failed_when with a test
Templar(loader=DataLoader(), variables={"x": "yes", "r": {}}).template(
    as_template("{{ [x | bool, r is failed, [x] | unique] }}")
)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def _loaded_by_a_worker(mode):
    env = dict(os.environ, PYTHONPATH=COLLECTIONS)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, COLLECTIONS, mode], capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return [
        name
        for name in json.loads(proc.stdout.splitlines()[-1])
        if ".plugins.filter" in name or ".plugins.test" in name
    ]


def test_after_the_warm_up_templating_loads_no_filter_or_test_plugin():
    cold = _loaded_by_a_worker("cold")
    assert any("filter" in name for name in cold) and any("test" in name for name in cold), cold
    assert _loaded_by_a_worker("warm") == []


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(W, "_WARMED", [])
    return W


class _Display(object):
    def __init__(self):
        self.lines = []

    def vvv(self, text):
        self.lines.append(text)


def test_once_per_process_and_never_in_ansible_inventory(fresh, monkeypatch):
    calls = []

    class Counting(object):
        def __init__(self, loader):
            pass

        def template(self, text):
            calls.append(text)

    monkeypatch.setattr(fresh, "Templar", Counting)
    monkeypatch.setattr(context, "CLIARGS", context.CLIArgs({"export": False}))
    fresh.warm_templating(None)
    assert calls == []
    monkeypatch.setattr(context, "CLIARGS", context.CLIArgs({}))
    fresh.warm_templating(None)
    fresh.warm_templating(None)
    assert len(calls) == 1


def test_a_failing_warm_up_is_said_at_vvv_and_fails_nothing(fresh, monkeypatch):
    class Failing(object):
        def __init__(self, loader):
            pass

        def template(self, text):
            raise AnsibleError("no such filter")

    monkeypatch.setattr(fresh, "Templar", Failing)
    monkeypatch.setattr(context, "CLIARGS", context.CLIArgs({}))
    display = _Display()
    fresh.warm_templating(None, display)
    assert display.lines == ["baremetal.provision: the template plugins were not loaded ahead: no such filter"]
