# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job templates run as AWX runs them (tests/support/awx.py: the real ansible-runner, a
private data dir per job, the project copied without .git, the stored inventory as a script,
survey answers as !unsafe), against the real Debian provisioner of test_real_provisioner.py.

The "project" is a git repository as docs/awx.md lays it out (records/, inventory/ with the
plugin config and the provisioner's address, playbooks/ importing the collection's), pushed to a
bare repository that stands for the records remote. Each job works in its own copy, as AWX's do,
so the only thing jobs share is that remote and the provisioner.
"""

import hashlib
import json
import os
import shutil
import subprocess
import threading
import time

import pytest
import yaml
from support import awx, report
from support import provisioner as P
from support.awx import REPO
from support.netns import Lab, have_root, udhcpc
from support.store import served_by_lab_provisioner, write_store

PROV_IP = "192.0.2.10"
ROOT_HASH = "$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789abcdefghijklmn"
SYSTEMS = ["web%02d" % n for n in range(1, 17)]
POOL = "spares-dmz"
# r650 spares (the systems' model) and one r640 that none of them may take
SPARES = ["52:54:00:00:00:%02x" % n for n in (1, 3, 4, 5)]
SPARE_R640 = "52:54:00:00:00:02"
TEST_AUTHOR = ("fleet admin", "admin@example.test")
needs_lab = pytest.mark.skipif(
    not have_root() or shutil.which("mmdebstrap") is None or shutil.which("systemd-nspawn") is None,
    reason="needs root, mmdebstrap and systemd-nspawn (make deps)",
)


def mac_of(name):
    return "52:54:00:12:34:%02x" % (0x50 + int(name[3:]))


def ip_of(name):
    return "192.0.2.%d" % (50 + int(name[3:]))


def git(*args, cwd=None, check=True):
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", LC_ALL="C")
    proc = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise AssertionError("git %s failed (%d): %s%s" % (" ".join(args), proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout


def _records():
    files = served_by_lab_provisioner(PROV_IP)
    for name in SYSTEMS:
        files["systems/%s.yml" % name] = (
            "tier: web\nhardware_model: r650\ninterfaces:\n"
            '  - {name: eth0, mac: "%s", ip: %s, primary: true}\nbuild: {generation: 1}\n' % (mac_of(name), ip_of(name))
        )
    machines = ['  - {mac: "%s", hardware_model: r650, serial: SN%d}' % (mac, n) for n, mac in enumerate(SPARES, 1)]
    machines.insert(1, '  - {mac: "%s", hardware_model: r640, serial: SN640}' % SPARE_R640)
    files["pools/%s.yml" % POOL] = "segment: dmz\nmachines:\n%s\n" % "\n".join(machines)
    return files


PLAYBOOKS = ("site", "validate", "replace", "provision", "retire")


class Fleet(object):
    """The lab, the provisioner, the project repository and its bare remote."""

    def __init__(self, tmp):
        self.tmp = str(tmp)
        self.images = os.path.join(self.tmp, "images")
        os.makedirs(self.images)
        for name in ("vmlinuz", "initrd.img"):
            with open(os.path.join(self.images, name), "w", encoding="ascii") as handle:
                handle.write("stand-in %s\n" % name)
        self.bare = os.path.join(self.tmp, "fleet.git")
        self.work = os.path.join(self.tmp, "work")
        self.project = os.path.join(self.tmp, "awx-project")  # AWX's project checkout
        self.lab = Lab("bmawx")
        self.ns = self.lab.namespace("lab")
        self.lab.bridge(self.ns, "br0", "192.0.2.1/24")
        self.server = None
        self.credentials = []
        self._site = None

    # --- the project --------------------------------------------------------------------------

    def create_project(self):
        """The project repository as docs/awx.md lays it out, pushed to the bare remote."""
        os.makedirs(self.work)
        write_store(os.path.join(self.work, "records"), _records())
        inventory = os.path.join(self.work, "inventory")
        os.makedirs(inventory)
        with open(os.path.join(inventory, "fleet.baremetal.yml"), "w", encoding="utf-8") as handle:
            handle.write("plugin: baremetal.provision.records\nrecords_dir: ../records\n")
        # how to reach the provisioner: address and SSH options; user and key come from the
        # job template's machine credential, as in AWX
        host = self.server.inventory_vars(proxy=True)
        for key in ("ansible_user", "ansible_ssh_private_key_file"):
            host.pop(key)
        host["dhcp_server"] = "isc"
        with open(os.path.join(inventory, "hosts.yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump({"all": {"hosts": {"prov-lab": host}}}, handle, default_flow_style=False)
        os.makedirs(os.path.join(self.work, "playbooks"))
        for name in PLAYBOOKS:
            with open(os.path.join(self.work, "playbooks", name + ".yml"), "w", encoding="utf-8") as handle:
                handle.write(
                    "---\n- name: %s\n  ansible.builtin.import_playbook: baremetal.provision.%s\n" % (name, name)
                )
        with open(os.path.join(self.work, "ansible.cfg"), "w", encoding="utf-8") as handle:
            handle.write("[defaults]\nforce_valid_group_names = ignore\n")
        git("init", "-q", "--bare", "-b", "main", self.bare)
        git("init", "-q", "-b", "main", cwd=self.work)
        git("add", "-A", cwd=self.work)
        self.commit_work("The fleet: records, inventory and playbooks")
        git("remote", "add", "origin", self.url, cwd=self.work)
        git("push", "-q", "-u", "origin", "main", cwd=self.work)
        git("clone", "-q", self.url, self.project)
        with open(self.server.key, encoding="ascii") as handle:
            machine = {"kind": "ssh", "username": "root", "ssh_key_data": handle.read()}
        # kickstart_secrets as a custom credential type would inject it (extra vars, not in git)
        secrets = {
            "inputs": {"root_password_hash": ROOT_HASH},
            "extra_vars": {"kickstart_secrets": {"root_password_hash": "{{ root_password_hash }}"}},
        }
        self.credentials = [machine, secrets]

    def commit_work(self, message):
        name, email = TEST_AUTHOR
        git("-c", "user.name=" + name, "-c", "user.email=" + email, "commit", "-q", "-m", message, cwd=self.work)

    @property
    def url(self):
        return "file://" + self.bare

    def template_vars(self):
        """The extra vars of the job templates that change records, as awx/job_templates.yml
        defines them, with this lab's remote for the project's URL."""
        with open(os.path.join(REPO, "awx", "job_templates.yml"), encoding="utf-8") as handle:
            definitions = yaml.safe_load(handle)
        given = {
            "{{ awx_git_push }}": definitions["awx_git_push"],
            "{{ awx_records_repo }}": self.url,
            "{{ awx_records_branch }}": "main",
            "{{ awx_records_path }}": definitions["awx_records_path"],
        }
        return {key: given.get(value, value) for key, value in definitions["awx_records_extra_vars"].items()}

    # --- AWX ------------------------------------------------------------------------------------

    def update_project(self):
        """AWX's project update on launch: the checkout follows the remote's main."""
        git("fetch", "-q", "origin", cwd=self.project)
        git("reset", "-q", "--hard", "origin/main", cwd=self.project)

    def sync(self):
        self.update_project()
        return awx.sync_inventory(self.project, "inventory")

    def job(self, playbook, inventory=None, **kwargs):
        if inventory is None:
            inventory = self.sync()
        kwargs.setdefault("credentials", self.credentials)
        kwargs.setdefault("name", playbook)
        return awx.run_job(self.project, "playbooks/%s.yml" % playbook, inventory, **kwargs)

    def site(self):
        """The site job, once per module (the first installs the packages)."""
        if self._site is None:
            self._site = self.job("site")
        return self._site

    # --- what the remote and the provisioner hold ----------------------------------------------

    def head(self):
        return git("rev-parse", "main", cwd=self.bare).strip()

    def refs(self):
        return git("for-each-ref", "--format=%(refname) %(objectname)", cwd=self.bare)

    def remote_file(self, path, rev="main"):
        proc = subprocess.run(
            ["git", "show", "%s:%s" % (rev, path)], cwd=self.bare, capture_output=True, text=True, check=False
        )
        return proc.stdout if proc.returncode == 0 else None

    def remote_primary_mac(self, system, rev="main"):
        text = self.remote_file("records/systems/%s.yml" % system, rev)
        if text is None:
            return None
        interfaces = yaml.safe_load(text)["interfaces"]
        return next(i["mac"] for i in interfaces if i.get("primary", len(interfaces) == 1)).lower()

    def remote_pool(self, rev="main"):
        return [
            m["mac"].lower() for m in yaml.safe_load(self.remote_file("records/pools/%s.yml" % POOL, rev))["machines"]
        ]

    def last_commit(self):
        """(files changed with their status, author, committer, subject) of main's tip."""
        files = git("show", "--name-status", "--format=", "main", cwd=self.bare).split("\n")
        files = sorted(tuple(line.split("\t", 1)) for line in files if line.strip())
        who = git("show", "-s", "--format=%an <%ae>%n%cn <%ce>%n%s", "main", cwd=self.bare).splitlines()
        return files, who[0], who[1], who[2]

    def on(self, command, check=True):
        return self.server.ssh(command, check=check).stdout

    def dhcp_conf(self):
        return self.on("cat /etc/dhcp/dhcpd.conf")

    def lease(self, mac):
        return udhcpc(self.lab.client(self.ns, "br0", mac))

    def close(self):
        self.lab.close()


MACHINE_GIT = git("config", "--global", "user.name", check=False).strip()


def _module_result(job, action="baremetal.provision.systems"):
    results = [e["event_data"].get("res", {}) for e in job.task_results(action=action) if e["event"] == "runner_on_ok"]
    return results[-1] if results else {}


def _event_index(job, action, kind="runner_on_ok"):
    for index, event in enumerate(job.events):
        data = event.get("event_data", {})
        if event.get("event") == kind and data.get("resolved_action", data.get("task_action")) == action:
            return index
    return None


def _touched_provisioner(job):
    """Whether any event of the job belongs to the provisioner sync task (it started or ran)."""
    return any(
        event.get("event_data", {}).get("resolved_action", event.get("event_data", {}).get("task_action"))
        == "baremetal.provision.provisioner_sync"
        for event in job.events
    )


def _why(job):
    return "%r\n%s" % (job, job.stdout[-6000:])


def _done(job):
    """A job the test expected to fail: its kept pdd is not needed once it has been looked at, nor
    the records' clone the failed run kept (in the job's TMPDIR, which should be the pdd's; a clone
    found outside it, in the host's temporary folder, goes too)."""
    if job.pdd:
        shutil.rmtree(job.pdd, ignore_errors=True)
    for event in job.task_results(action="ansible.builtin.tempfile"):
        path = (event["event_data"].get("res") or {}).get("path") or ""
        if os.path.basename(path).startswith("baremetal-records.") and not path.startswith(awx.RUNNER + "/"):
            shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("awx")
    lab = Fleet(tmp)
    try:
        with P.booted(lab.lab, lab.ns, "br0", PROV_IP + "/24", tmp, binds=[(lab.images, "/srv/images")]) as server:
            lab.server = server
            lab.create_project()
            yield lab
    finally:
        lab.close()


# --- the harness itself, without a provisioner ------------------------------------------------


def test_harness_writes_what_awx_writes(tmp_path):
    """Survey answers arrive as data (a template in one stays text), the job template's vars as
    written, credential injectors as files, env vars and extra vars, and the inventory's records
    path (from the update's project copy) names the job's own project copy."""
    project = str(tmp_path / "project")
    write_store(os.path.join(project, "records"))
    os.makedirs(os.path.join(project, "inventory"))
    os.makedirs(os.path.join(project, "playbooks"))
    with open(os.path.join(project, "inventory", "fleet.baremetal.yml"), "w", encoding="utf-8") as handle:
        handle.write("plugin: baremetal.provision.records\nrecords_dir: ../records\n")
    with open(os.path.join(project, "playbooks", "probe.yml"), "w", encoding="utf-8") as handle:
        handle.write(
            "- hosts: localhost\n  connection: local\n  gather_facts: false\n  tasks:\n"
            "    - ansible.builtin.stat: {path: '{{ bm_records_dir }}/systems/web01.yml'}\n      register: rec\n"
            "    - ansible.builtin.debug:\n        msg:\n"
            "          answer: '{{ system }}'\n          jt: '{{ jt_var }}'\n"
            "          env: \"{{ lookup('ansible.builtin.env', 'PROBE_TOKEN') }}\"\n"
            "          file: \"{{ lookup('ansible.builtin.file', lookup('ansible.builtin.env', 'PROBE_CFG')) }}\"\n"
            "          secret: '{{ probe_secret }}'\n          found: '{{ rec.stat.exists }}'\n"
        )
    os.makedirs(os.path.join(project, ".git"))  # stands for the checkout's: never copied
    data = awx.sync_inventory(project, "inventory/fleet.baremetal.yml")
    assert "web01" in data["_meta"]["hostvars"] and "provisioners" in data, sorted(data)
    credential = {
        "inputs": {"token": "s3cr3t"},
        "files": {"template.cfg": "token={{ token }}\n"},
        "env": {"PROBE_TOKEN": "{{ token }}", "PROBE_CFG": "{{ tower.filename.cfg }}"},
        "extra_vars": {"probe_secret": "{{ token }}"},
    }
    job = awx.run_job(
        project,
        "playbooks/probe.yml",
        data,
        extra_vars={"jt_var": "{{ 1 + 1 }}"},
        survey={"system": "{{ 7 * 6 }}"},
        credentials=[credential],
        keep=True,
    )
    try:
        assert job.status == "successful" and job.rc == 0, _why(job)
        msg = next(e["event_data"]["res"]["msg"] for e in job.task_results(action="ansible.builtin.debug"))
        assert msg == {
            "answer": "{{ 7 * 6 }}",  # a survey answer is never templated
            "jt": 2,  # the job template's own extra vars are
            "env": "s3cr3t",
            "file": "token=s3cr3t",
            "secret": "s3cr3t",
            # the update's project path is the job's: both see their pdd at awx.RUNNER (as root)
            "found": awx._isolated(),
        }, msg
        with open(os.path.join(job.pdd, "env", "extravars"), encoding="utf-8") as handle:
            extravars = handle.read()
        assert "!unsafe 'system': !unsafe '{{ 7 * 6 }}'" in extravars and "jt_var: '{{ 1 + 1 }}'" in extravars
        assert not os.path.exists(os.path.join(job.pdd, "project", ".git"))
    finally:
        shutil.rmtree(job.pdd, ignore_errors=True)


# --- against the real provisioner -------------------------------------------------------------


@needs_lab
def test_inventory_sync_values_are_plain_json(fleet):
    """AWX stores output.json as json.load reads it: every host var must be a plain JSON value,
    not ansible-core's {"__ansible_unsafe": ...} wrapper (only a value with a "{" may be wrapped,
    so that it is never templated)."""
    data = fleet.sync()
    hostvars = data["_meta"]["hostvars"]
    assert set(SYSTEMS) <= set(hostvars) and "prov-lab" in data["provisioners"]["hosts"], sorted(hostvars)
    assert hostvars["prov-lab"]["ansible_host"] in (PROV_IP, {"__ansible_unsafe": PROV_IP})
    wrapped = []

    def walk(where, value):
        if isinstance(value, dict):
            if set(value) == {"__ansible_unsafe"}:
                if "{" not in str(value["__ansible_unsafe"]):
                    wrapped.append(where)
                return
            for key, item in value.items():
                walk("%s.%s" % (where, key), item)
        elif isinstance(value, list):
            for n, item in enumerate(value):
                walk("%s[%d]" % (where, n), item)
        else:
            assert value is None or isinstance(value, (str, int, float, bool)), (where, value)

    for host, host_vars in hostvars.items():
        walk(host, host_vars)
    assert not wrapped, "%d host vars arrive wrapped, e.g. %s" % (len(wrapped), wrapped[:8])


@needs_lab
def test_site_job_configures_the_provisioner(fleet):
    job = fleet.site()
    assert job.status == "successful" and job.rc == 0, _why(job)
    conf = fleet.dhcp_conf()
    for name in SYSTEMS:
        assert mac_of(name) in conf and ip_of(name) in conf, name
    assert fleet.on("systemctl is-active isc-dhcp-server", check=False).strip() == "active"
    lease = fleet.lease(mac_of("web01"))
    assert lease.get("ip") == ip_of("web01") and lease.get("siaddr") == PROV_IP, lease


@needs_lab
def test_validate_job(fleet):
    job = fleet.job("validate")
    assert job.status == "successful", _why(job)
    report_msg = next(e["event_data"]["res"]["msg"] for e in job.task_results(action="ansible.builtin.debug"))
    assert "is valid" in report_msg and "systems=%d" % len(SYSTEMS) in report_msg, report_msg
    # a broken record in the project: the job fails naming the file and the field
    broken = os.path.join(fleet.tmp, "broken-project")
    shutil.copytree(fleet.project, broken, ignore=shutil.ignore_patterns(".git"))
    path = os.path.join(broken, "records", "systems", "web07.yml")
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text.replace(ip_of("web07"), "192.0.2.999"))
    bad = awx.run_job(broken, "playbooks/validate.yml", fleet.sync(), credentials=fleet.credentials)
    assert bad.status == "failed", _why(bad)
    assert any("web07.yml" in m and "ip" in m for m in bad.failed_messages()), bad.failed_messages()
    _done(bad)


# --- record changes: committed and pushed before the provisioner is touched ------------------


def _changed_job(fleet, playbook, survey, expect_files, **kwargs):
    """Run a record-changing job; check it succeeded, pushed exactly one commit with exactly
    these files, by the playbook's author (not this machine's git user), before the provisioner
    sync ran. Returns the job."""
    before = fleet.head()
    job = fleet.job(playbook, extra_vars=fleet.template_vars(), survey=survey, **kwargs)
    assert job.status == "successful" and job.rc == 0, _why(job)
    after = fleet.head()
    assert after != before, "no new commit in the remote"
    assert git("rev-list", "--count", "%s..%s" % (before, after), cwd=fleet.bare).strip() == "1"
    files, author, committer, subject = fleet.last_commit()
    assert files == sorted(expect_files), (files, subject)
    for who in (author, committer):
        assert MACHINE_GIT == "" or MACHINE_GIT not in who, who
        assert TEST_AUTHOR[0] not in who, who
    result = _module_result(job)
    assert result.get("git", {}).get("commit") == after and result["git"].get("pushed") is True, result.get("git")
    committed = _event_index(job, "baremetal.provision.systems")
    synced = _event_index(job, "baremetal.provision.provisioner_sync")
    assert committed is not None and synced is not None and committed < synced, (committed, synced)
    return job


@needs_lab
def test_replace_by_mac(fleet):
    assert fleet.site().status == "successful"
    new = "52:54:00:aa:bb:01"
    _changed_job(
        fleet,
        "replace",
        {"system": "web01", "mac": new, "from_pool": "", "wait": "false"},
        [("M", "records/systems/web01.yml")],
    )
    assert fleet.remote_primary_mac("web01") == new
    conf = fleet.dhcp_conf()
    assert new in conf and mac_of("web01") not in conf
    lease = fleet.lease(new)
    assert lease.get("ip") == ip_of("web01") and lease.get("hostname") == "web01", lease


@needs_lab
def test_replace_from_pool(fleet):
    assert fleet.site().status == "successful"
    job = _changed_job(
        fleet,
        "replace",
        {"system": "web02", "mac": "", "from_pool": POOL, "wait": "false"},
        [("M", "records/pools/%s.yml" % POOL), ("M", "records/systems/web02.yml")],
    )
    spare = SPARES[0]  # the first r650 of the pool, not the r640 listed second
    assert fleet.remote_primary_mac("web02") == spare, _module_result(job)
    assert spare not in fleet.remote_pool() and SPARE_R640 in fleet.remote_pool()
    conf = fleet.dhcp_conf()
    assert spare in conf and mac_of("web02") not in conf


@needs_lab
def test_provision_reinstall(fleet):
    assert fleet.site().status == "successful"
    _changed_job(
        fleet,
        "provision",
        {"system": "web03", "reinstall": "true", "wait": "false"},
        [("M", "records/systems/web03.yml")],
    )
    assert yaml.safe_load(fleet.remote_file("records/systems/web03.yml"))["build"]["generation"] == 2
    installs = fleet.on("grep -rh '# web03 generation' /srv/baremetal/www || true")
    assert "# web03 generation 2" in installs, installs


@needs_lab
def test_retire(fleet):
    assert fleet.site().status == "successful"
    assert mac_of("web04") in fleet.dhcp_conf()
    _changed_job(fleet, "retire", {"system": "web04"}, [("D", "records/systems/web04.yml")])
    assert fleet.remote_file("records/systems/web04.yml") is None
    assert mac_of("web04") not in fleet.dhcp_conf()


@needs_lab
def test_refused_push_changes_nothing(fleet):
    """The remote refuses the push: the job fails, the remote and the provisioner are as before."""
    assert fleet.site().status == "successful"
    hook = os.path.join(fleet.bare, "hooks", "pre-receive")
    with open(hook, "w", encoding="ascii") as handle:
        handle.write("#!/bin/sh\necho 'records are frozen' >&2\nexit 1\n")
    os.chmod(hook, 0o755)
    refs = fleet.refs()
    digest = hashlib.sha256(fleet.dhcp_conf().encode()).hexdigest()
    try:
        job = fleet.job(
            "replace",
            extra_vars=fleet.template_vars(),
            survey={"system": "web05", "mac": "52:54:00:aa:bb:05", "from_pool": "", "wait": "false"},
        )
    finally:
        os.unlink(hook)
    assert job.status == "failed", _why(job)
    assert fleet.refs() == refs
    assert hashlib.sha256(fleet.dhcp_conf().encode()).hexdigest() == digest
    assert not _touched_provisioner(job), _why(job)
    assert job.pdd and os.path.isdir(job.pdd)  # a failed job's pdd is kept for the report
    print("refused push, the job's failure: %s" % job.failed_messages())
    _done(job)


@needs_lab
def test_concurrent_replaces_against_one_remote(fleet):
    """Ten replace jobs at once, each in its own copy: six take a spare from a pool with three
    left, four get a MAC. Nothing is lost, no spare is handed out twice, and a job that loses the
    race for a spare fails before it touches the provisioner, naming the spare and its new owner."""
    assert fleet.site().status == "successful"
    pool_before = [m for m in fleet.remote_pool() if m != SPARE_R640]
    by_pool = ["web%02d" % n for n in range(6, 12)]
    by_mac = {"web%02d" % n: "52:54:00:aa:bb:%02x" % n for n in range(12, 16)}
    old = {name: fleet.remote_primary_mac(name) for name in by_pool + list(by_mac)}
    head_before = fleet.head()
    inventory = fleet.sync()  # one project update and inventory sync, as for jobs launched together
    jobs = {}

    def launch(name):
        survey = {"system": name, "mac": by_mac.get(name, ""), "from_pool": "" if name in by_mac else POOL}
        survey["wait"] = "false"
        jobs[name] = fleet.job("replace", inventory=inventory, extra_vars=fleet.template_vars(), survey=survey)

    started = time.monotonic()
    threads = [threading.Thread(target=launch, args=(name,)) for name in by_pool + list(by_mac)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started

    ok = {name: job for name, job in jobs.items() if job.status == "successful"}
    failed = {name: job for name, job in jobs.items() if job.status != "successful"}
    commits = int(git("rev-list", "--count", "%s..main" % head_before, cwd=fleet.bare).strip())
    final = {name: fleet.remote_primary_mac(name) for name in jobs}
    pool_after = fleet.remote_pool()
    wanted = {}
    for name, job in ok.items():
        # the replace playbook runs the systems module: one item per system, here one
        items = _module_result(job).get("items") or [{}]
        wanted[name] = by_mac.get(name) or (items[0].get("new_mac") or "").lower()
    lost = sorted(name for name, mac in wanted.items() if final[name] != mac)
    all_systems = {name: fleet.remote_primary_mac(name) for name in SYSTEMS}
    handed = {mac: [name for name, have in all_systems.items() if have == mac] for mac in pool_before}
    twice = sorted(mac for mac, owners in handed.items() if len(owners) > 1 or (owners and mac in pool_after))
    spares_out = sorted(mac for mac, owners in handed.items() if owners)
    missing_commits = [
        name
        for name, job in ok.items()
        if subprocess.run(
            [
                "git",
                "merge-base",
                "--is-ancestor",
                (_module_result(job).get("git") or {}).get("commit") or "0" * 40,
                "main",
            ],
            cwd=fleet.bare,
            capture_output=True,
            check=False,
        ).returncode
        != 0
    ]
    conf = fleet.dhcp_conf()
    provisioner_lost = sorted(name for name, mac in wanted.items() if mac not in conf)
    # a failed job: its message names the spare and the system that took it
    messages = {name: " | ".join(job.failed_messages()) for name, job in failed.items()}
    named = sorted(
        name
        for name, text in messages.items()
        if any(mac in text and owners and owners[0] in text for mac, owners in handed.items())
    )
    figures = dict(
        jobs=len(jobs),
        successes=len(ok),
        failures=len(failed),
        failures_naming_spare_and_owner=len(named),
        commits_in_remote=commits,
        spares_handed_out=len(spares_out),
        spares_handed_twice=len(twice),
        lost_updates=len(lost),
        successful_commits_missing=len(missing_commits),
        provisioner_missing_changes=len(provisioner_lost),
        seconds=int(seconds),
    )
    print("AWX concurrent replace jobs: " + ", ".join("%s %s" % (k.replace("_", " "), v) for k, v in figures.items()))
    print("succeeded: %s; not on the provisioner: %s" % (sorted(ok), provisioner_lost))
    report.add("AWX concurrent replace jobs", **figures)
    print("failed jobs: %s" % json.dumps(messages, indent=1))
    for name, job in failed.items():
        # nothing of it on the provisioner, its record as before
        assert not _touched_provisioner(job), _why(job)
        assert final[name] == old[name], (name, final[name])
    assert named == sorted(failed), {name: messages[name] for name in failed if name not in named}
    assert len(ok) + len(failed) == len(jobs) == 10
    assert all(name in ok for name in by_mac), {name: jobs[name].failed_messages() for name in by_mac}
    assert len(ok) == len(by_mac) + len(pool_before), sorted(ok)
    assert commits == len(ok), commits
    assert lost == [] and twice == [] and missing_commits == [], (lost, twice, missing_commits)
    assert len(spares_out) == len(pool_before) and not (set(pool_before) & set(pool_after))
    assert provisioner_lost == [], ("changes pushed but not on the provisioner", provisioner_lost)
    for job in failed.values():
        _done(job)
