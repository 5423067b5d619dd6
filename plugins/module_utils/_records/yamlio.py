# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Reading and writing record files. Records are reviewed by people in pull requests, so what
we write is short, in a fixed key order, and stable: writing a record that did not change
gives the same bytes.

The loader differs from YAML 1.1 where 1.1 silently corrupts provisioning data: an unquoted
MAC such as 52:54:00:12:34:56 is a base-60 integer in YAML 1.1; here it stays a string.
Duplicate keys (two ``mac:`` lines) are an error instead of "last one wins", and a
``!vault`` value is refused, because records are not where secrets live.
"""

from __future__ import annotations

import re

try:
    import yaml
    from yaml.constructor import ConstructorError

    HAS_YAML = True
    YAML_IMPORT_ERROR = None
    _BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    # The pure-Python dumper: it can indent lists under their key ("  - {...}"), the way people
    # write records by hand, so a module's edit does not re-indent lines in a pull request.
    _BaseDumper = yaml.SafeDumper
except ImportError as _exc:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False
    YAML_IMPORT_ERROR = _exc
    _BaseLoader = _BaseDumper = object
    ConstructorError = Exception

_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


class RecordSyntaxError(ValueError):
    """A record file is not valid YAML (or uses a construct records refuse)."""

    def __init__(self, message, line=None):
        self.line = line
        super(RecordSyntaxError, self).__init__(message)


class RecordLoader(_BaseLoader):
    """Safe loader without sexagesimal numbers, with duplicate-key and !vault refusal."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _dummy in node.value:
            if getattr(key_node, "tag", None) == "tag:yaml.org,2002:merge":
                continue
            key = getattr(key_node, "value", None)
            if isinstance(key, str):
                if key in seen:
                    raise ConstructorError(
                        None,
                        None,
                        "duplicate key %r (first on line %d)" % (key, seen[key] + 1),
                        key_node.start_mark,
                    )
                seen[key] = key_node.start_mark.line
        return super(RecordLoader, self).construct_mapping(node, deep=deep)


def _refuse_vault(loader, node):
    raise ConstructorError(
        None,
        None,
        "!vault values are not allowed in records: keep secrets in Ansible variables "
        "(group_vars, Vault) and refer to them from templates",
        node.start_mark,
    )


if HAS_YAML:
    RecordLoader.yaml_implicit_resolvers = {
        first: [r for r in resolvers if r[0] not in (_INT_TAG, _FLOAT_TAG)]
        for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
    }
    RecordLoader.add_implicit_resolver(
        _INT_TAG,
        re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
        list("-+0123456789"),
    )
    RecordLoader.add_implicit_resolver(
        _FLOAT_TAG,
        re.compile(
            r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
            r"|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+0123456789."),
    )
    RecordLoader.add_constructor("!vault", _refuse_vault)


def load_text(text):
    """Parse one record file's text; raise RecordSyntaxError with the line on failure."""
    try:
        return yaml.load(text, Loader=RecordLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        where = " (line %d)" % line if line else ""
        raise RecordSyntaxError("not valid YAML%s: %s" % (where, problem), line) from None


class FlowMap(dict):
    """A mapping written on one line: ``{name: eth0, mac: "52:54:00:12:34:56"}``."""


class FlowList(list):
    """A list written on one line: ``[192.0.2.53, 192.0.2.54]``."""


class RecordDumper(_BaseDumper):
    def increase_indent(self, flow=False, indentless=False):
        return super(RecordDumper, self).increase_indent(flow, False)


def _represent_str(dumper, value):
    # Anything with a colon is double-quoted so that YAML 1.1 readers (yamllint, other tools,
    # older loaders) never read a MAC as a base-60 number.
    style = '"' if ":" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_flow_map(dumper, value):
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=True)


def _represent_flow_list(dumper, value):
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


def _represent_block_map(dumper, value):
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=False)


if HAS_YAML:
    RecordDumper.add_representer(str, _represent_str)
    RecordDumper.add_representer(FlowMap, _represent_flow_map)
    RecordDumper.add_representer(FlowList, _represent_flow_list)
    RecordDumper.add_representer(dict, _represent_block_map)


def dump_text(data):
    """Serialise prepared data (key order already fixed by the caller)."""
    return yaml.dump(
        data,
        Dumper=RecordDumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=4096,
        indent=2,
    )
