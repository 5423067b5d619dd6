# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run inventory updates and job templates the way AWX does, with the real ansible-runner.

AWX itself cannot run here (no container runtime, no database). What it does for one job is
small and is reproduced step by step from its source (awx/main/tasks/jobs.py, RunJob and
RunInventoryUpdate, checked against ansible/awx e21dd0a):

- every run gets a fresh private data dir (pdd) with ``project/``, ``inventory/``, ``env/``;
- the project is copied with ``shutil.copytree(..., ignore=ignore_patterns('.git'))``;
- an inventory update runs ``ansible-inventory --list --export -i <source> --output
  <artifacts>/output.json --playbook-dir <dir of source>`` from an ``args`` file, in the
  project, and AWX reads output.json with plain ``json.load``; what AWX stores (groups, hosts
  and their variables, the ``all`` vars as the inventory's own) is what a job's inventory script
  prints later;
- a job's extra vars go to ``env/extravars`` as YAML, the job template's own vars plain, every
  other value (survey answers, AWX's meta vars) tagged ``!unsafe`` (AWX's safe_dump);
- credentials: a machine credential gives ``-u`` and an SSH key that ansible-runner loads into
  an ssh-agent; a custom credential type's injectors render files into ``env/``, environment
  variables and extra vars (``-e @file``), with ``{{ tower.filename }}`` naming the files.

Inside AWX's execution environment the pdd is mounted at ``/runner``: the inventory update and
every job see the project at the same path, which is why a path the inventory plugin puts in
its output (``bm_records_dir``) is right in the job. As root, each run here happens in a mount
namespace of its own (``unshare --mount``) with its pdd bound at one fixed folder, RUNNER, for
the same effect; N jobs at once each see their own pdd there. Without root the pdd is used where
it is and such paths differ between the update and the job.

    data = sync_inventory(project, "inventory")
    job = run_job(project, "playbooks/site.yml", data, extra_vars={...}, survey={...})
    job.status, job.rc, job.stdout, job.events
"""

import itertools
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, ".build", "collections")
BIN = os.path.dirname(sys.executable)
# Where a run's pdd is bound in its own mount namespace (AWX's /runner); an empty folder.
RUNNER = "/tmp/bm-awx-runner"
# AWX's settings that become ANSIBLE_* variables of every run (awx/settings/defaults.py).
AWX_SETTINGS_ENV = {
    "ANSIBLE_FORCE_COLOR": "True",
    "ANSIBLE_HOST_KEY_CHECKING": "False",
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    "ANSIBLE_PARAMIKO_RECORD_HOST_KEYS": "False",
}
# RunInventoryUpdate's environment (awx/main/constants.py).
INVENTORY_UPDATE_ENV = {
    "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
    "ANSIBLE_INVENTORY_EXPORT": "True",
    "ANSIBLE_VERBOSE_TO_STDERR": "True",
    "ANSIBLE_HOST_PATTERN_MISMATCH": "error",
}
_IDS = itertools.count(1)
_IDS_LOCK = threading.Lock()


def _next_id():
    with _IDS_LOCK:
        return next(_IDS)


class AWXError(AssertionError):
    """A run that AWX would show as failed where the caller needs it to succeed."""


class Job(object):
    """A finished run: what AWX's job page shows (status, rc, stdout, events), and its pdd
    (kept when the job failed, else removed)."""

    def __init__(self, ident, status, rc, stdout, events, pdd, command):
        self.ident = ident
        self.status = status
        self.rc = rc
        self.stdout = stdout
        self.events = events
        self.pdd = pdd
        self.command = command

    def __iter__(self):  # status, rc, stdout, events = run_job(...)
        return iter((self.status, self.rc, self.stdout, self.events))

    def failed_messages(self):
        """The msg of every failed task result, in order."""
        return [
            str((event.get("event_data", {}).get("res") or {}).get("msg", ""))
            for event in self.events
            if event.get("event") == "runner_on_failed"
        ]

    def task_results(self, action=None, task=None):
        """The result events (ok, failed, skipped, unreachable) of the tasks with this module or name."""
        found = []
        for event in self.events:
            if event.get("event") not in (
                "runner_on_ok",
                "runner_on_failed",
                "runner_on_skipped",
                "runner_on_unreachable",
            ):
                continue
            data = event.get("event_data", {})
            if action is not None and data.get("resolved_action", data.get("task_action")) != action:
                continue
            if task is not None and data.get("task") != task:
                continue
            found.append(event)
        return found

    def __repr__(self):
        return "Job(%s, status=%s, rc=%s, pdd=%s)" % (self.ident, self.status, self.rc, self.pdd)


def _isolated():
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def _new_pdd(prefix):
    pdd = tempfile.mkdtemp(prefix=prefix)
    os.chmod(pdd, 0o700)
    for sub in ("inventory", "env", "project"):
        os.mkdir(os.path.join(pdd, sub))
    return pdd


def _copy_project(src, pdd):
    """AWX's make_local_copy: the checkout without .git."""
    dest = os.path.join(pdd, "project")
    os.rmdir(dest)
    shutil.copytree(src, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    return dest


def _write(pdd, relpath, content, mode=0o600):
    path = os.path.join(pdd, relpath)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(content)
    os.chmod(path, mode)
    return path


def _base_env(pdd_inside):
    """What every AWX run has: AWX's ANSIBLE_* settings, the collection on both collection path
    variables (the EE's path; ansible-core 2.19 reads only the singular one), a HOME and git
    config of the execution environment's own (empty: nothing of this machine's user leaks in)."""
    env = {
        "PATH": BIN + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.path.join(pdd_inside, ".home"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "LANG": "C.UTF-8",
        "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
        "ANSIBLE_COLLECTIONS_PATHS": COLLECTIONS,
        "ANSIBLE_NOCOLOR": "1",
        "AWX_PRIVATE_DATA_DIR": pdd_inside,
    }
    env.update(AWX_SETTINGS_ENV)
    env["ANSIBLE_FORCE_COLOR"] = "False"  # plain text for assertions; AWX strips the colour for its events too
    if "BAREMETAL_CACHE_DIR" in os.environ:
        env["BAREMETAL_CACHE_DIR"] = os.environ["BAREMETAL_CACHE_DIR"]
    return env


def _run_runner(pdd, spec, timeout):
    """ansible_runner.interface.run in a child process: in its own mount namespace with the pdd
    bound at RUNNER (as root), else on the pdd itself. Returns (status, rc, stdout, events)."""
    spec_path = os.path.join(pdd, "..", os.path.basename(pdd) + ".spec.json")
    with open(spec_path, "w", encoding="utf-8") as handle:
        json.dump(spec, handle)
    os.chmod(spec_path, 0o600)
    cmd = [sys.executable, os.path.abspath(__file__), "--child", spec_path, pdd]
    if _isolated():
        os.makedirs(RUNNER, exist_ok=True)
        cmd = ["unshare", "--mount", "--propagation", "private", "--", *cmd]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    finally:
        os.unlink(spec_path)
    artifacts = os.path.join(pdd, "artifacts", str(spec["ident"]))
    status = _read(os.path.join(artifacts, "status")).strip() or "error"
    rc_text = _read(os.path.join(artifacts, "rc")).strip()
    rc = int(rc_text) if rc_text.lstrip("-").isdigit() else None
    stdout = _read(os.path.join(artifacts, "stdout"))
    events = []
    events_dir = os.path.join(artifacts, "job_events")
    if os.path.isdir(events_dir):
        for name in os.listdir(events_dir):
            if name.endswith(".json"):
                with open(os.path.join(events_dir, name), encoding="utf-8") as handle:
                    events.append(json.load(handle))
    events.sort(key=lambda event: event.get("counter", 0))
    if proc.returncode != 0 and status not in ("failed", "successful"):
        status = "error"
        stdout += "\n[harness] runner child exited %d:\n%s%s" % (proc.returncode, proc.stdout, proc.stderr)
    return status, rc, stdout, events


def _read(path):
    # netns.read_log's twin: this file also runs alone as the runner's child process, where the
    # support package cannot be imported
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def _inside(pdd):
    """The pdd's path as the run sees it."""
    return RUNNER if _isolated() else pdd


# --- inventory update ----------------------------------------------------------------------


def sync_inventory(project_dir, source_path, timeout=300, keep=False):
    """AWX's inventory update from a project source; returns output.json loaded with json.load.
    Raises AWXError (with the update's output) when ansible-inventory exits non-zero."""
    ident = "inv%d" % _next_id()
    pdd = _new_pdd("bm-awx-inv-")
    _copy_project(project_dir, pdd)
    inside = _inside(pdd)
    source = os.path.join(inside, "project", source_path)
    output = os.path.join(inside, "artifacts", ident, "output.json")
    args = [
        "ansible-inventory",
        "--list",
        "--export",
        "-i",
        source,
        "--output",
        output,
        "--playbook-dir",
        os.path.dirname(source) if not os.path.isdir(os.path.join(pdd, "project", source_path)) else source,
    ]
    # AWX: RunInventoryUpdate.write_args_file, a plain join; runner runs it from the project
    _write(pdd, "args", " ".join(args))
    env = _base_env(inside)
    env.update(INVENTORY_UPDATE_ENV)
    env["INVENTORY_UPDATE_ID"] = ident
    spec = {"ident": ident, "envvars": env, "settings": {"job_timeout": timeout, "suppress_ansible_output": True}}
    status, rc, stdout, _events = _run_runner(pdd, spec, timeout + 60)
    path = os.path.join(pdd, "artifacts", ident, "output.json")
    if rc != 0 or not os.path.exists(path):
        raise AWXError(
            "inventory update failed (status %s, rc %s), pdd kept at %s:\n%s" % (status, rc, pdd, stdout[-6000:])
        )
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not keep:
        shutil.rmtree(pdd, ignore_errors=True)
    return data


def stored_inventory(output):
    """What AWX's database holds after importing output.json (inventory_import with
    mem_inventory.dict_to_mem_data), as its inventory script prints it (Inventory.get_script_data
    with hostvars and towervars): the ``all`` vars become the inventory's variables, every group
    is a child of ``all``, hosts in no group are ``all``'s hosts, host vars come from _meta."""
    data = json.loads(json.dumps(output))  # AWX stores variables as JSON text
    meta = data.pop("_meta", {}).get("hostvars", {})
    inventory_vars = {}
    groups = {}  # name -> {"hosts": [], "children": [], "vars": {}}
    hosts = {}

    def group(name):
        return groups.setdefault(name, {"hosts": [], "children": [], "vars": {}})

    for name, value in data.items():
        is_all = name in ("all", "ungrouped")
        target = None if is_all else group(name)
        if not isinstance(value, dict):
            value = {"hosts": value}
        members = value.get("hosts") or []
        for host in members:
            hosts.setdefault(host, {})
            if isinstance(members, dict) and isinstance(members[host], dict):
                hosts[host].update(members[host])
            if target is not None and host not in target["hosts"]:
                target["hosts"].append(host)
        if is_all:
            inventory_vars.update(value.get("vars") or {})
        else:
            target["vars"].update(value.get("vars") or {})
        for child in value.get("children") or []:
            if child in ("all", "ungrouped"):
                continue
            group(child)
            if target is not None and child not in target["children"]:
                target["children"].append(child)
    for host, host_vars in meta.items():
        if host in hosts:
            hosts[host].update(host_vars)
    grouped = {host for info in groups.values() for host in info["hosts"]}
    script = {"all": {"hosts": sorted(host for host in hosts if host not in grouped)}}
    if inventory_vars:
        script["all"]["vars"] = inventory_vars
    if groups:
        script["all"]["children"] = sorted(groups)
    for name, info in sorted(groups.items()):
        entry = {key: info[key] for key in ("hosts", "children", "vars") if info[key]}
        if entry:
            script[name] = entry
    script["_meta"] = {"hostvars": {}}
    for number, host in enumerate(sorted(hosts), 1):
        host_vars = dict(hosts[host])
        for prefix in ("host", "tower"):
            host_vars["remote_%s_enabled" % prefix] = "true"
            host_vars["remote_%s_id" % prefix] = number
        script["_meta"]["hostvars"][host] = host_vars
    return script


INVENTORY_SCRIPT = """#!%s
# AWX's job inventory: the stored inventory, printed for --list
import json
import sys

DATA = %r
if len(sys.argv) > 1 and sys.argv[1] == "--host":
    print("{}")
else:
    print(DATA)
"""


# --- extra vars and credentials ------------------------------------------------------------


class _UnsafeDumper(yaml.SafeDumper):
    """AWX's SafeStringDumper: every string, keys included, as !unsafe."""

    def represent_data(self, data):
        if isinstance(data, str):
            return self.represent_scalar("!unsafe", data)
        return super().represent_data(data)


def awx_extravars(template_vars, launch_vars):
    """env/extravars as AWX writes it (ALLOW_JINJA_IN_EXTRA_VARS='template'): one YAML document
    per top-level key; a key whose value is the job template's own is dumped plainly, any other
    (survey answers, meta vars) with every string tagged !unsafe."""
    merged = dict(template_vars or {})
    merged.update(launch_vars or {})
    parts = []
    for key, value in merged.items():
        trusted = key in (template_vars or {}) and template_vars[key] == value
        dumper = yaml.SafeDumper if trusted else _UnsafeDumper
        parts.append(yaml.dump_all([{key: value}], None, Dumper=dumper, default_flow_style=False))
    return "".join(parts)


class _Namespace(object):
    pass


def _inject(credential, pdd, inside, env, args):
    """A custom credential type's injectors: {inputs, files: {label: template}, env: {VAR:
    template}, extra_vars: {...}} rendered with Jinja's sandbox like AWX's inject_credential
    (``{{ tower.filename }}`` / ``{{ tower.filename.LABEL }}`` name the files in env/)."""
    from jinja2 import sandbox

    jinja = sandbox.ImmutableSandboxedEnvironment()
    tower = _Namespace()
    namespace = dict(credential.get("inputs") or {})
    namespace["tower"] = tower
    for label, template in (credential.get("files") or {}).items():
        fd, path = tempfile.mkstemp(dir=os.path.join(pdd, "env"))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(jinja.from_string(template).render(**namespace))
        os.chmod(path, 0o600)
        in_path = os.path.join(inside, "env", os.path.basename(path))
        if "." not in label:
            tower.filename = in_path
        else:
            if not hasattr(tower, "filename"):
                tower.filename = _Namespace()
            setattr(tower.filename, label.split(".", 1)[1], in_path)
    for var, template in (credential.get("env") or {}).items():
        if var.startswith("ANSIBLE_") or var in ("PATH", "HOME", "JOB_ID", "INVENTORY_ID"):
            raise ValueError("AWX refuses the credential env var %s" % var)
        env[var] = jinja.from_string(template).render(**namespace)
    extra = credential.get("extra_vars")
    if extra:

        def render(node):
            if isinstance(node, dict):
                return {render(k): render(v) for k, v in node.items()}
            if isinstance(node, list):
                return [render(v) for v in node]
            return jinja.from_string(str(node)).render(**namespace)

        fd, path = tempfile.mkstemp(dir=os.path.join(pdd, "env"))
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(yaml.dump_all([render(extra)], None, Dumper=_UnsafeDumper, default_flow_style=False))
        os.chmod(path, 0o400)
        args.extend(["-e", "@" + os.path.join(inside, "env", os.path.basename(path))])


# --- job run --------------------------------------------------------------------------------


def run_job(
    project_src,
    playbook,
    inventory_data,
    extra_vars=None,
    survey=None,
    credentials=(),
    check=False,
    limit=None,
    name="job",
    timeout=1200,
    keep=False,
):
    """AWX's job run of a job template. project_src: the project checkout (its .git is not
    copied); playbook: relative to the project; inventory_data: sync_inventory's result (stored
    and printed as AWX does); extra_vars: the job template's own; survey: the launch answers;
    credentials: dicts, either a machine credential {"kind": "ssh", "username", "ssh_key_data"}
    or a custom type's injectors {"inputs", "files", "env", "extra_vars"}.
    Returns a Job (iterable as status, rc, stdout, events)."""
    ident = _next_id()
    pdd = _new_pdd("bm-awx-job%d-" % ident)
    _copy_project(project_src, pdd)
    inside = _inside(pdd)
    script = INVENTORY_SCRIPT % (sys.executable, json.dumps(stored_inventory(inventory_data)))
    _write(pdd, os.path.join("inventory", "hosts"), script, mode=0o700)

    meta = {
        "awx_job_id": ident,
        "awx_job_launch_type": "manual",
        "awx_job_template_name": name,
        "awx_user_name": "admin",
        "awx_user_email": "",
        "tower_job_id": ident,
    }
    launch = dict(survey or {})
    launch.update(meta)
    _write(pdd, os.path.join("env", "extravars"), awx_extravars(extra_vars, launch))

    env = _base_env(inside)
    env.update({"JOB_ID": str(ident), "INVENTORY_ID": "1", "ANSIBLE_RETRY_FILES_ENABLED": "False"})
    env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = os.path.join(inside, "cp")
    # an execution environment's /tmp goes with its container: the job's temporary files (the
    # records' clone) go into the private data dir, removed with it
    os.makedirs(os.path.join(pdd, "tmp"), exist_ok=True)
    env["TMPDIR"] = os.path.join(inside, "tmp")
    args = []
    if check:
        args.append("--check")
    user, ssh_key = "root", None
    for credential in credentials:
        if credential.get("kind") == "ssh":
            user = credential.get("username") or user
            ssh_key = credential.get("ssh_key_data")
        else:
            _inject(credential, pdd, inside, env, args)
    args[0:0] = ["-u", user]
    if limit:
        args.extend(["-l", limit])
    # RunJob.write_args_file: env/cmdline; runner adds -i, -e @env/extravars and the playbook
    command = " ".join(shlex.quote(arg) for arg in args)
    _write(pdd, os.path.join("env", "cmdline"), command)
    spec = {
        "ident": ident,
        "playbook": playbook,
        "inventory": os.path.join(inside, "inventory", "hosts"),
        "envvars": env,
        "ssh_key": ssh_key,
        "settings": {"job_timeout": timeout, "suppress_ansible_output": True},
    }
    status, rc, stdout, events = _run_runner(pdd, spec, timeout + 120)
    job = Job(ident, status, rc, stdout, events, pdd, command)
    if status == "successful" and not keep:
        shutil.rmtree(pdd, ignore_errors=True)
        job.pdd = None
    return job


# --- the child: one runner run, in its own mount namespace ----------------------------------


def _child(spec_path, pdd):
    with open(spec_path, encoding="utf-8") as handle:
        spec = json.load(handle)
    where = pdd
    if os.geteuid() == 0 and os.path.isdir(RUNNER):
        subprocess.run(["mount", "--bind", pdd, RUNNER], check=True)
        where = RUNNER
    with open(os.path.join(where, "env", "settings"), "w", encoding="utf-8") as handle:
        json.dump(spec["settings"], handle)
    os.makedirs(os.path.join(where, ".home"), exist_ok=True)
    import ansible_runner

    params = {
        "private_data_dir": where,
        "ident": str(spec["ident"]),
        "envvars": spec["envvars"],
        "suppress_env_files": True,
        "fact_cache_type": "",
        "quiet": True,
    }
    for key in ("playbook", "inventory", "ssh_key"):
        if spec.get(key):
            params[key] = spec[key]
    result = ansible_runner.interface.run(**params)
    return 0 if result.status in ("successful", "failed") else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        sys.exit(_child(sys.argv[2], sys.argv[3]))
    sys.exit("usage: awx.py --child SPEC PDD (used by run_job and sync_inventory)")
