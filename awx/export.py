# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Write the AWX assets of awx/job_templates.yml and awx/credential_type.yml in the format of
awxkit's `awx export`, for `awx import`:

    python3 awx/export.py [--set NAME=VALUE ...] > awx/export.json
    awx --conf.host https://awx.example.test --conf.token ... import < awx/export.json

--set overrides a setting of awx/job_templates.yml (awx_project_repo, awx_organization, ...), as -e
does for awx/configure.yml. Needs PyYAML and Jinja2 (ansible-core brings both).

Each object names the objects it refers to by awxkit's natural keys ({"name": ..., "type": ...},
with the organization and the inventory where awxkit's keys have them), so a re-import updates
the objects instead of adding copies. The organization must exist already.
"""

import argparse
import json
import os
import sys

import jinja2
import jinja2.nativetypes
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
DEFINITIONS = ("job_templates.yml", "credential_type.yml")


class _Loader(yaml.SafeLoader):
    """YAML as Ansible reads these files: !unsafe marks a string Ansible must not render (here, AWX's
    own injector templates); it is a plain string to AWX."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def load_definitions(folder=HERE):
    """The variables of awx/job_templates.yml and awx/credential_type.yml, unrendered."""
    settings = {}
    for name in DEFINITIONS:
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            settings.update(yaml.load(handle, Loader=_Loader))
    return settings


def render_settings(settings, overrides=None):
    """The awx_* settings with the overrides applied and "{{ name }}" references resolved, as
    Ansible resolves them for configure.yml. Only top-level strings are rendered: the injector
    templates are AWX's own."""
    values = dict(settings)
    values.update(overrides or {})
    env = jinja2.nativetypes.NativeEnvironment(undefined=jinja2.StrictUndefined)
    for _round in range(10):
        rendered = {
            key: env.from_string(value).render(values)
            if isinstance(value, str) and key not in (overrides or {})
            else value
            for key, value in values.items()
        }
        if rendered == values:
            return values
        values = rendered
    raise ValueError("awx/job_templates.yml: the settings refer to each other in a loop")


def _render_tree(value, values):
    # native types, as Ansible renders "{{ awx_git_push }}" to the boolean it names
    env = jinja2.nativetypes.NativeEnvironment(undefined=jinja2.StrictUndefined)
    if isinstance(value, dict):
        return {key: _render_tree(item, values) for key, item in value.items()}
    if isinstance(value, list):
        return [_render_tree(item, values) for item in value]
    if isinstance(value, str):
        return env.from_string(value).render(values)
    return value


def build_export(settings):
    """The export (a dict) of rendered settings."""
    org = {"name": settings["awx_organization"], "type": "organization"}
    ee = {"name": settings["awx_execution_environment"], "type": "execution_environment"}
    ctype = settings["awx_records_credential_type"]
    ctype_key = {"name": ctype["name"], "kind": ctype["kind"], "type": "credential_type"}
    credential_key = {
        "organization": org,
        "name": settings["awx_records_credential"],
        "credential_type": ctype_key,
        "type": "credential",
    }
    project = {"organization": org, "name": settings["awx_project"], "type": "project"}
    inventory = {"organization": org, "name": settings["awx_inventory"], "type": "inventory"}
    records_extra_vars = _render_tree(settings["awx_records_extra_vars"], settings)

    job_templates = []
    for template in settings["awx_job_templates"]:
        related = {}
        if template["records_change"]:
            related["credentials"] = [credential_key]
        if template["survey"] is not None:
            related["survey_spec"] = settings["awx_surveys"][template["survey"]]
        job_templates.append(
            {
                "name": template["name"],
                "description": template["description"],
                "job_type": "run",
                "inventory": inventory,
                "project": project,
                "playbook": template["playbook"],
                "execution_environment": ee,
                "extra_vars": json.dumps(records_extra_vars if template["records_change"] else {}, sort_keys=True),
                "survey_enabled": template["survey"] is not None,
                "ask_variables_on_launch": False,
                # awx.awx's concurrent_jobs_enabled
                "allow_simultaneous": True,
                "related": related,
                "natural_key": {"organization": org, "name": template["name"], "type": "job_template"},
            }
        )

    return {
        "execution_environments": [
            {
                "name": ee["name"],
                "description": "",
                "image": settings["awx_ee_image"],
                "pull": "missing",
                "organization": org,
                "natural_key": ee,
            }
        ],
        "credential_types": [
            {
                "name": ctype["name"],
                "description": ctype["description"],
                "kind": ctype["kind"],
                "inputs": ctype["inputs"],
                "injectors": ctype["injectors"],
                "natural_key": ctype_key,
            }
        ],
        "credentials": [
            {
                "name": credential_key["name"],
                "description": "The key or token: enter it in AWX after the import.",
                "organization": org,
                "credential_type": ctype_key,
                "inputs": {},
                "natural_key": credential_key,
            }
        ],
        "projects": [
            {
                "name": project["name"],
                "description": "",
                "organization": org,
                "scm_type": "git",
                "scm_url": settings["awx_project_repo"],
                "scm_branch": settings["awx_project_branch"],
                "scm_update_on_launch": True,
                "default_environment": ee,
                "natural_key": project,
            }
        ],
        "inventory": [
            {
                "name": inventory["name"],
                "description": "",
                "organization": org,
                "kind": "",
                "variables": "",
                "natural_key": inventory,
            }
        ],
        "inventory_sources": [
            {
                "name": settings["awx_inventory"] + "-records",
                "description": "",
                "inventory": inventory,
                "source": "scm",
                "source_project": project,
                "source_path": settings["awx_inventory_source_path"],
                "update_on_launch": True,
                "overwrite": True,
                "execution_environment": ee,
                "natural_key": {
                    "organization": org,
                    "name": settings["awx_inventory"] + "-records",
                    "inventory": inventory,
                    "type": "inventory_source",
                },
            }
        ],
        "job_templates": job_templates,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a setting")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith("awx_"):
            parser.error("--set %s: expected awx_NAME=VALUE" % item)
        overrides[name] = value
    definitions = load_definitions()
    unknown = sorted(set(overrides) - set(definitions))
    if unknown:
        parser.error("--set: no such setting in awx/job_templates.yml: %s" % ", ".join(unknown))
    settings = render_settings(definitions, overrides)
    json.dump(build_export(settings), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
