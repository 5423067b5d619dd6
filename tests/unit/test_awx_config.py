# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""awx/: the export for `awx import` is what awx/job_templates.yml and awx/credential_type.yml
define, configure.yml uses the same definitions, the surveys and the credential type pass AWX's
own checks (re-implemented here from AWX 24.6's rules), and the credential type's environment
makes the real git and ssh use the key or token it holds.

AWX's rules, as read in ansible/awx (api/views JobTemplateSurveySpec._validate_spec_data, the
SurveyJobTemplateMixin's answer checks, main/fields.py CredentialTypeInputField and
CredentialTypeInjectorField, models/credential.py CredentialType.inject_credential) and awxkit's
import (api/pages/api.py EXPORTABLE_RESOURCES, the NATURAL_KEY of each page class).
"""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import types

import jinja2
import pytest
from jinja2 import sandbox

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AWX = os.path.join(REPO, "awx")

# --- facts from AWX and awxkit -------------------------------------------------------------

# awxkit api/pages/api.py: the resources an export may hold.
EXPORTABLE = {
    "users",
    "organizations",
    "teams",
    "credential_types",
    "credentials",
    "notification_templates",
    "projects",
    "inventory",
    "inventory_sources",
    "job_templates",
    "workflow_job_templates",
    "execution_environments",
    "applications",
    "schedules",
}
# awxkit's NATURAL_KEY of each page class ("type" is added to each); the resource list it lives in.
NATURAL_KEYS = {
    "organization": (("name",), "organizations"),
    "execution_environment": (("name",), "execution_environments"),
    "credential_type": (("name", "kind"), "credential_types"),
    "credential": (("organization", "name", "credential_type"), "credentials"),
    "project": (("organization", "name"), "projects"),
    "inventory": (("organization", "name"), "inventory"),
    "inventory_source": (("organization", "name", "inventory"), "inventory_sources"),
    "job_template": (("organization", "name"), "job_templates"),
}
# awx/main/constants.py
SURVEY_TYPES = {
    "text": str,
    "textarea": str,
    "password": str,
    "multiplechoice": str,
    "multiselect": str,
    "integer": int,
    "float": (float, int),
}
ENV_BLOCKLIST = {
    "VIRTUAL_ENV",
    "PATH",
    "PYTHONPATH",
    "JOB_ID",
    "INVENTORY_ID",
    "INVENTORY_SOURCE_ID",
    "INVENTORY_UPDATE_ID",
    "AD_HOC_COMMAND_ID",
    "REST_API_URL",
    "REST_API_TOKEN",
    "MAX_EVENT_RES",
    "CALLBACK_QUEUE",
    "CALLBACK_CONNECTION",
    "CACHE",
    "JOB_CALLBACK_DEBUG",
    "INVENTORY_HOSTVARS",
    "AWX_HOST",
    "PROJECT_REVISION",
    "SUPERVISOR_CONFIG_PATH",
}
# The credential kinds a job template accepts (api/views, the job template credentials list).
JOB_TEMPLATE_KINDS = {"ssh", "vault", "cloud", "net", "kubernetes"}


# --- loading ---------------------------------------------------------------------------------


def _export_module():
    spec = importlib.util.spec_from_file_location("awx_export", os.path.join(AWX, "export.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ansible_yaml(name):
    """A file of awx/ as Ansible loads it (vars_files), !unsafe and all."""
    from ansible.parsing.dataloader import DataLoader

    return DataLoader().load_from_file(os.path.join(AWX, name))


def _plain(value):
    """Ansible's loaded values (tagged or unsafe strings) as plain Python values."""
    return json.loads(json.dumps(value, default=str))


@pytest.fixture(scope="module")
def export():
    with open(os.path.join(AWX, "export.json"), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(scope="module")
def definitions():
    return {
        **_plain(_ansible_yaml("job_templates.yml")),
        **_plain(_ansible_yaml("credential_type.yml")),
    }


# --- AWX's rules, re-implemented -------------------------------------------------------------


def survey_spec_errors(spec):
    """The first problem AWX's survey_spec endpoint would answer 400 with, or None."""
    for field, kind in (("name", str), ("description", str), ("spec", list)):
        if not isinstance(spec.get(field), kind):
            return "%s: missing or not a %s" % (field, kind.__name__)
    if not spec["spec"]:
        return "spec: no question"
    seen = set()
    for idx, item in enumerate(spec["spec"]):
        if not isinstance(item, dict):
            return "question %d: not an object" % idx
        for field in ("type", "question_name", "variable", "required"):
            if field not in item:
                return "question %d: %s missing" % (idx, field)
            if not isinstance(item[field], bool if field == "required" else str):
                return "question %d: %s of the wrong type" % (idx, field)
        if item["variable"] in seen:
            return "question %d: variable %s twice" % (idx, item["variable"])
        seen.add(item["variable"])
        if item["type"] not in SURVEY_TYPES:
            return "question %d: type %s" % (idx, item["type"])
        if item.get("default", "") != "" and not isinstance(item["default"], SURVEY_TYPES[item["type"]]):
            return "question %d: default of the wrong type" % idx
        for key in ("min", "max"):
            if item.get(key) is not None and (not isinstance(item[key], int) or isinstance(item[key], bool)):
                return "question %d: %s not an integer" % (idx, key)
        if item["type"] in ("multiplechoice", "multiselect"):
            if "choices" not in item:
                return "question %d: no choices" % idx
            if "default" in item:
                defaults = item["default"].splitlines() if isinstance(item["default"], str) else item["default"]
                if item["type"] == "multiplechoice" and len(defaults) > 1:
                    return "question %d: more than one default" % idx
                if any(value not in item["choices"] for value in defaults):
                    return "question %d: default not a choice" % idx
        if str(item.get("default", "")).startswith("$encrypted$"):
            return "question %d: $encrypted$ default" % idx
    return None


def answer_errors(item, answers):
    """AWX's launch-time check of one question against the answers (extra vars of the launch)."""
    name = item["variable"]
    if name not in answers:
        return ["%s missing" % name] if item["required"] else []
    value = answers[name]
    if item["type"] in ("text", "textarea", "password"):
        if not isinstance(value, str):
            return ["%s not a string" % name]
        if item.get("min") not in ("", None) and len(value) < int(item["min"]):
            return ["%s too small" % name]
        if item.get("max") not in ("", None) and len(value) > int(item["max"]):
            return ["%s too large" % name]
    elif item["type"] == "multiplechoice" and value not in item["choices"]:
        return ["%s not one of %s" % (name, item["choices"])]
    return []


def credential_type_errors(ctype):
    """The problems AWX's credential type fields would refuse the type for."""
    problems = []
    if ctype["kind"] not in JOB_TEMPLATE_KINDS:
        problems.append("kind %s cannot be attached to a job template" % ctype["kind"])
    fields = ctype["inputs"].get("fields", [])
    ids = [field["id"] for field in fields]
    if len(ids) != len(set(ids)) or "tower" in ids:
        problems.append("field ids must be unique and not tower")
    allowed = {
        "id",
        "label",
        "type",
        "format",
        "choices",
        "help_text",
        "multiline",
        "secret",
        "ask_at_runtime",
        "default",
    }
    for field in fields:
        if not re.match(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$", field["id"]) or "label" not in field:
            problems.append("field %s: id or label" % field["id"])
        if set(field) - allowed:
            problems.append("field %s: unknown keys %s" % (field["id"], sorted(set(field) - allowed)))
        if field.get("type", "string") not in ("string", "boolean"):
            problems.append("field %s: type" % field["id"])
        if field.get("format") not in (None, "ssh_private_key", "url"):
            problems.append("field %s: format" % field["id"])
    if set(ctype["inputs"]) - {"fields", "required"} or not set(ctype["inputs"].get("required", [])) <= set(ids):
        problems.append("inputs: unknown keys or required fields")
    injectors = ctype["injectors"]
    if set(injectors) - {"file", "env", "extra_vars"}:
        problems.append("injectors: unknown kinds")
    names = list(injectors.get("file", {}))
    if not all(re.match(r"^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$", name) for name in names):
        problems.append("file injectors: names")
    if "template" in names and len(names) > 1:
        problems.append("file injectors: single and multi-file syntax mixed")
    for name, value in injectors.get("env", {}).items():
        if not re.match(r"^[a-zA-Z_]+[a-zA-Z0-9_]*$", name) or name.startswith("ANSIBLE_") or name in ENV_BLOCKLIST:
            problems.append("env %s: not allowed" % name)
        if not isinstance(value, str) or not value.isascii():
            problems.append("env %s: not an ASCII string" % name)
    # every template renders with every field defined and the file names set, nothing else
    namespace = dict.fromkeys(ids, "EXAMPLE")
    namespace["tower"] = types.SimpleNamespace(
        filename=types.SimpleNamespace(**{name.split(".")[1]: "EXAMPLE_FILENAME" for name in names if "." in name})
    )
    env = sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined)
    for kind in ("file", "env"):
        for name, template in injectors.get(kind, {}).items():
            try:
                env.from_string(template).render(namespace)
            except jinja2.TemplateError as error:
                problems.append("%s %s: %s" % (kind, name, error))
    return problems


def inject(ctype, inputs, private_dir):
    """The environment AWX gives a job for a credential of this type with these inputs: empty
    inputs are left undefined, a private key gets a final newline, each file template is written to
    a file of its own (mode 0600) whose name the other templates see as tower.filename.<name>."""
    namespace = {key: value for key, value in inputs.items() if value}
    for field in ctype["inputs"]["fields"]:
        if field.get("format") == "ssh_private_key" and field["id"] in namespace:
            namespace[field["id"]] = namespace[field["id"]].rstrip("\n") + "\n"
    env = sandbox.ImmutableSandboxedEnvironment()
    filenames = types.SimpleNamespace()
    for label, template in ctype["injectors"].get("file", {}).items():
        path = os.path.join(private_dir, "tmp_" + label.split(".")[1])
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(env.from_string(template).render(**namespace))
        os.chmod(path, 0o600)
        setattr(filenames, label.split(".")[1], path)
    namespace["tower"] = types.SimpleNamespace(filename=filenames)
    return {name: env.from_string(template).render(**namespace) for name, template in ctype["injectors"]["env"].items()}


# --- the export --------------------------------------------------------------------------------


def test_export_json_is_what_the_definitions_give(export):
    module = _export_module()
    built = module.build_export(module.render_settings(module.load_definitions()))
    assert built == export, "awx/export.json is stale: run python3 awx/export.py > awx/export.json"


def test_export_has_the_shape_awx_import_reads(export):
    assert set(export) <= EXPORTABLE
    keys = {}  # frozen natural key -> resource
    for resource, assets in export.items():
        assert isinstance(assets, list) and assets, resource
        for asset in assets:
            key = asset["natural_key"]
            fields, home = NATURAL_KEYS[key["type"]]
            assert home == resource, "%s holds a %s" % (resource, key["type"])
            assert set(key) == set(fields) | {"type"}, key
            for field in fields:
                assert asset.get(field, key[field]) == key[field], (resource, field)
            keys[json.dumps(key, sort_keys=True)] = resource

    def references(value):
        if isinstance(value, dict):
            if "type" in value and set(value) - {"type"} and value["type"] in NATURAL_KEYS:
                yield value
            for item in value.values():
                yield from references(item)
        elif isinstance(value, list):
            for item in value:
                yield from references(item)

    for resource, assets in export.items():
        for asset in assets:
            body = {k: v for k, v in asset.items() if k not in ("natural_key", "related")}
            body["credentials"] = asset.get("related", {}).get("credentials", [])
            for ref in references(body):
                if ref["type"] == "organization":
                    assert ref == {"name": "Default", "type": "organization"}  # exists in every AWX
                    continue
                assert json.dumps(ref, sort_keys=True) in keys, "%s refers to %s, not in the export" % (resource, ref)
    for template in export["job_templates"]:
        assert isinstance(template["extra_vars"], str)  # AWX's field is YAML or JSON text
        json.loads(template["extra_vars"])
        assert template["allow_simultaneous"] is True
        assert template["survey_enabled"] == ("survey_spec" in template["related"])


def test_the_export_and_configure_yml_share_one_definition(export, definitions):
    """configure.yml reads the definitions this export is made from, and sends each job template's
    survey as defined, with the records extra vars and the credential where records change."""
    from ansible.parsing.dataloader import DataLoader

    play = DataLoader().load_from_file(os.path.join(AWX, "configure.yml"))[0]
    assert play["vars_files"] == ["job_templates.yml", "credential_type.yml"]
    task = next(t for t in play["tasks"] if "awx.awx.job_template" in t)
    assert task["loop"] == "{{ awx_job_templates }}"
    assert "awx_surveys[item.survey]" in task["awx.awx.job_template"]["survey_spec"]
    assert "awx_records_extra_vars" in task["awx.awx.job_template"]["extra_vars"]
    ctype_task = next(t for t in play["tasks"] if "awx.awx.credential_type" in t)["awx.awx.credential_type"]
    assert ctype_task["injectors"] == "{{ awx_records_credential_type.injectors }}"

    by_name = {template["name"]: template for template in export["job_templates"]}
    assert sorted(by_name) == sorted(t["name"] for t in definitions["awx_job_templates"])
    for template in definitions["awx_job_templates"]:
        exported = by_name[template["name"]]
        assert exported["playbook"] == template["playbook"]
        if template["survey"] is None:
            assert "survey_spec" not in exported["related"]
        else:
            assert exported["related"]["survey_spec"] == definitions["awx_surveys"][template["survey"]]
        extra = json.loads(exported["extra_vars"])
        if template["records_change"]:
            assert extra == {
                "git_commit": True,
                "git_push": True,
                "records_repo": definitions["awx_project_repo"],
                "records_branch": definitions["awx_project_branch"],
                "records_path": "records",
            }
            assert [c["name"] for c in exported["related"]["credentials"]] == [definitions["awx_records_credential"]]
        else:
            assert extra == {} and "credentials" not in exported["related"]
    exported_type = export["credential_types"][0]
    ctype = definitions["awx_records_credential_type"]
    assert {k: exported_type[k] for k in ("name", "kind", "inputs", "injectors")} == {
        k: ctype[k] for k in ("name", "kind", "inputs", "injectors")
    }


def test_export_settings_can_be_overridden():
    module = _export_module()
    settings = module.render_settings(
        module.load_definitions(), {"awx_project_repo": "git@git.example.test:ops/fleet.git"}
    )
    built = module.build_export(settings)
    assert built["projects"][0]["scm_url"] == "git@git.example.test:ops/fleet.git"
    # records_repo follows the project's URL unless set on its own
    assert json.loads(built["job_templates"][0]["extra_vars"])["records_repo"] == "git@git.example.test:ops/fleet.git"


# --- surveys ------------------------------------------------------------------------------------


def test_every_survey_passes_awx_checks(definitions):
    assert set(definitions["awx_surveys"]) == {"replace", "provision", "retire", "pool", "enlist", "status"}
    for name, spec in definitions["awx_surveys"].items():
        assert survey_spec_errors(spec) is None, name


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda s: s.pop("description"), "description"),
        (lambda s: s["spec"].clear(), "no question"),
        (lambda s: s["spec"][0].update(required="yes"), "required of the wrong type"),
        (lambda s: s["spec"].append(dict(s["spec"][0])), "variable system twice"),
        (lambda s: s["spec"][0].update(type="regex"), "type regex"),
        (lambda s: s["spec"][0].update(max="63"), "max not an integer"),
        (lambda s: s["spec"][3].update(default="maybe"), "default not a choice"),
        (lambda s: s["spec"][3].pop("choices"), "no choices"),
    ],
)
def test_the_survey_check_refuses_what_awx_refuses(definitions, change, expected):
    spec = json.loads(json.dumps(definitions["awx_surveys"]["replace"]))
    change(spec)
    assert expected in (survey_spec_errors(spec) or "")


def _launch(spec, answers):
    return [error for item in spec["spec"] for error in answer_errors(item, answers)]


def test_launch_answers_awx_accepts_and_refuses(definitions):
    replace = definitions["awx_surveys"]["replace"]
    ok = {"system": "web01", "mac": "52:54:00:aa:bb:cc", "from_pool": "", "wait": "true"}
    assert _launch(replace, ok) == []
    assert _launch(replace, {**ok, "mac": "", "from_pool": "spares-dmz"}) == []
    # any of 10,000 names of up to 63 characters, without a choice list to keep up to date
    assert _launch(replace, {**ok, "system": "w" * 63}) == []
    assert _launch(replace, {**ok, "system": "w" * 64}) == ["system too large"]
    assert _launch(replace, {**ok, "system": ""}) == ["system too small"]
    assert _launch(replace, {k: v for k, v in ok.items() if k != "system"}) == ["system missing"]
    assert _launch(replace, {**ok, "mac": "52:54:00:aa:bb:cc:dd"}) == ["mac too large"]
    assert _launch(replace, {**ok, "wait": True}) == ["wait not one of ['true', 'false']"]
    retire = definitions["awx_surveys"]["retire"]
    assert _launch(retire, {"system": "web01", "to_pool": ""}) == []
    assert _launch(retire, {"to_pool": "spares-dmz"}) == ["system missing"]
    pool = definitions["awx_surveys"]["pool"]
    assert _launch(pool, {"pool": "spares-dmz", "mac": "52:54:00:aa:bb:10", "hardware_model": "r650"}) == []
    assert _launch(pool, {"pool": "spares-dmz", "remove_mac": "52:54:00:aa:bb:10"}) == []
    assert _launch(pool, {"mac": "52:54:00:aa:bb:10"}) == ["pool missing"]


# --- the credential type ---------------------------------------------------------------------


def test_the_credential_type_passes_awx_checks(definitions):
    ctype = definitions["awx_records_credential_type"]
    assert credential_type_errors(ctype) == []
    secret = {field["id"] for field in ctype["inputs"]["fields"] if field.get("secret")}
    assert secret == {"ssh_private_key", "https_token"}


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda t: t.update(kind="scm"), "cannot be attached to a job template"),
        (lambda t: t["injectors"]["env"].update(ANSIBLE_CONFIG="x"), "env ANSIBLE_CONFIG"),
        (lambda t: t["injectors"]["env"].update(PATH="x"), "env PATH"),
        (lambda t: t["injectors"]["file"].update(template="x"), "mixed"),
        (lambda t: t["injectors"]["env"].update(X="{{ no_such_field }}"), "env X"),
        (lambda t: t["injectors"]["env"].update(X="{{ tower.filename.nofile }}"), "env X"),
        (lambda t: t["inputs"]["fields"].append({"id": "tower", "label": "x"}), "unique and not tower"),
    ],
)
def test_the_credential_type_check_refuses_what_awx_refuses(definitions, change, expected):
    ctype = json.loads(json.dumps(definitions["awx_records_credential_type"]))
    change(ctype)
    assert any(expected in problem for problem in credential_type_errors(ctype)), credential_type_errors(ctype)


def _ssh_config(env, tmp_path):
    """What ssh makes of GIT_SSH_COMMAND for a host (ssh -G: the configuration, no connection)."""
    proc = subprocess.run(
        ["sh", "-c", env["GIT_SSH_COMMAND"] + " -F /dev/null -G git.example.test"],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(tmp_path),
    )
    config = {}
    for line in proc.stdout.splitlines():
        key, _sep, value = line.partition(" ")
        config.setdefault(key, []).append(value)
    return config


def _git_credential(env, tmp_path, host="git.example.test"):
    """What git's credential machinery answers for https://host (no network)."""
    full = dict(os.environ, HOME=str(tmp_path), GIT_TERMINAL_PROMPT="0", GIT_CONFIG_NOSYSTEM="1", **env)
    proc = subprocess.run(
        ["git", "credential", "fill"],
        input="protocol=https\nhost=%s\n\n" % host,
        capture_output=True,
        text=True,
        env=full,
        cwd=str(tmp_path),
        check=False,
    )
    return proc.returncode, dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)


needs_git_ssh = pytest.mark.skipif(not (shutil.which("git") and shutil.which("ssh")), reason="git and ssh needed")


@needs_git_ssh
def test_an_ssh_key_reaches_ssh_with_the_known_hosts_given(definitions, tmp_path):
    ctype = definitions["awx_records_credential_type"]
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nstand-in\n-----END OPENSSH PRIVATE KEY-----"
    known = "git.example.test ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIStandIn"
    env = inject(ctype, {"ssh_private_key": key, "ssh_known_hosts": known}, str(tmp_path))
    config = _ssh_config(env, tmp_path)
    key_file = config["identityfile"][0]
    assert key_file.startswith(str(tmp_path))
    with open(key_file, encoding="utf-8") as handle:
        assert handle.read() == key + "\n"
    assert oct(os.stat(key_file).st_mode & 0o777) == "0o600"
    assert config["identitiesonly"] == ["yes"]
    assert config["stricthostkeychecking"] == ["true"]
    (known_file,) = config["userknownhostsfile"]
    with open(known_file, encoding="utf-8") as handle:
        assert handle.read() == known


@needs_git_ssh
def test_without_known_hosts_ssh_accepts_a_new_host_key_into_the_jobs_own_file(definitions, tmp_path):
    ctype = definitions["awx_records_credential_type"]
    env = inject(ctype, {"ssh_private_key": "stand-in key"}, str(tmp_path))
    config = _ssh_config(env, tmp_path)
    assert config["stricthostkeychecking"] == ["accept-new"]
    assert config["userknownhostsfile"][0].startswith(str(tmp_path))


@needs_git_ssh
def test_an_https_token_reaches_git_through_its_environment(definitions, tmp_path):
    ctype = definitions["awx_records_credential_type"]
    inputs = {"https_host": "git.example.test", "https_username": "deploy@ops", "https_token": "t0k/en:with@odd"}
    env = inject(ctype, inputs, str(tmp_path))
    assert env["GIT_CONFIG_COUNT"] == "1" and env["GIT_CONFIG_KEY_0"] == "credential.helper"
    rc, answer = _git_credential(env, tmp_path)
    assert rc == 0, answer
    assert answer["username"] == "deploy@ops"
    assert answer["password"] == "t0k/en:with@odd"
    # another host gets nothing (and git, unable to prompt, fails)
    rc, answer = _git_credential(env, tmp_path, host="elsewhere.example.test")
    assert rc != 0 and "password" not in answer


@needs_git_ssh
def test_an_empty_credential_leaves_ssh_plain_and_https_without_a_token(definitions, tmp_path):
    ctype = definitions["awx_records_credential_type"]
    env = inject(ctype, {}, str(tmp_path))
    config = _ssh_config(env, tmp_path)
    assert "identitiesonly" not in config or config["identitiesonly"] == ["no"]
    rc, answer = _git_credential(env, tmp_path)
    assert rc != 0 and "password" not in answer
