# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's playbooks: refusals before any change, --check --diff, retire, provision.

The provisioner prov-dmz runs here with service_manager=none; its files go to a temporary folder
and its DHCP config is checked by the real dhcpd -t.
"""

import os
import re
import subprocess

import pytest
from support.ansible_cli import playbook_recap, run
from support.inventory import local_provisioner_lab, write_config
from support.modules import REPO, run_module
from support.store import FILES, tree_digest, write_store


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = local_provisioner_lab(tmp_path_factory.mktemp("playbooks"))
    site = run(
        "ansible-playbook", ["-i", lab["inventory"], "baremetal.provision.site", "--limit", "prov-dmz"], env=lab["env"]
    )
    assert site.returncode == 0, site.stdout + site.stderr
    return lab


def _play(lab, name, *args):
    return run("ansible-playbook", ["-i", lab["inventory"], "baremetal.provision." + name, *args], env=lab["env"])


def _state(lab):
    return tree_digest(lab["records"]), tree_digest(lab["out"])


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], "usage: -e system=NAME and exactly one of -e mac=MAC or -e from_pool=POOL"),
        (["-e", "system=web01"], "usage: -e system=NAME and exactly one of"),
        (["-e", "system=web01", "-e", "mac=52:54:00:12:34:99", "-e", "from_pool=spares-dmz"], "usage:"),
        (["-e", "system=web01", "-e", "mac=52:54:00:12:34"], "52:54:00:12:34"),
        (
            ["-e", "system=web01", "-e", "mac=52:54:00:12:34:60"],
            "MAC 52:54:00:12:34:60 is also used by systems/app01.yml",
        ),
        (["-e", "system=web01", "-e", "mac=52:54:00:00:00:02"], "pools/spares-dmz.yml"),
        (["-e", "system=web01", "-e", "from_pool=nowhere"], "pool 'nowhere' does not exist"),
        (["-e", "system=web99", "-e", "mac=52:54:00:12:34:99"], "systems/web99.yml: name: no system 'web99'"),
        (
            ["-e", "system=web01", "-e", "mac=52:54:00:aa:bb:01", "-e", "git_commit=maybe"],
            "git_commit and git_push take",
        ),
        (["-e", "system=web01", "-e", "mac=52:54:00:aa:bb:01", "-e", "git_commit=true"], "is not in a git work tree"),
    ],
)
def test_replace_refuses_bad_variables_before_changing_anything(lab, args, expected):
    before = _state(lab)
    proc = _play(lab, "replace", *args)
    assert proc.returncode != 0
    assert expected in proc.stdout + proc.stderr
    assert _state(lab) == before
    assert "prov-dmz" not in playbook_recap(proc.stdout), "the provisioner must not be reached"


def test_site_fails_when_the_inventory_did_not_load(lab, tmp_path):
    """An invalid store is only a parse warning to Ansible: site must not call that success."""
    files = dict(FILES)
    files["systems/web02.yml"] = files["systems/web01.yml"]  # the same MAC and IP twice
    records = write_store(tmp_path / "records", files)
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    write_config(inventory, records_dir=records)
    proc = run("ansible-playbook", ["-i", str(inventory), "baremetal.provision.site"], env=lab["env"])
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "The inventory has no host in the group provisioners" in proc.stdout, proc.stdout
    assert "is also used by systems/web01.yml" in proc.stdout + proc.stderr, "the store's problems are shown"
    assert "Configure the provisioners" not in proc.stdout


def test_replace_check_diff_shows_the_change_and_writes_nothing(lab):
    before = _state(lab)
    proc = _play(lab, "replace", "-e", "system=web01", "-e", "mac=52:54:00:12:34:99", "--check", "--diff")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '-  - {name: eth0, mac: "52:54:00:12:34:56"' in proc.stdout
    assert '+  - {name: eth0, mac: "52:54:00:12:34:99"' in proc.stdout
    assert _state(lab) == before


def test_retire_and_provision(lab):
    tftp = os.path.join(lab["out"], "tftp", "pxelinux.cfg")
    assert os.path.exists(os.path.join(tftp, "01-52-54-00-12-34-56"))
    proc = _play(lab, "retire", "-e", "system=web01", "-e", "to_pool=spares-dmz", "-vvv")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the plays after the removal see the store without web01: the inventory is read again after
    # it, from the view the record edit left in the cache folder (no record is read)
    removal = proc.stdout.index("TASK [Remove the record")
    assert re.search(r"\d+ hosts of the record store \S+, from the cache folder", proc.stdout[removal:])
    assert not os.path.exists(os.path.join(lab["records"], "systems", "web01.yml"))
    assert not os.path.exists(os.path.join(tftp, "01-52-54-00-12-34-56"))
    with open(os.path.join(lab["out"], "dhcpd.conf"), encoding="utf-8") as handle:
        assert "52:54:00:12:34:56" not in handle.read()
    with open(os.path.join(lab["records"], "pools", "spares-dmz.yml"), encoding="utf-8") as handle:
        assert "52:54:00:12:34:56" in handle.read()
    # bring it back as a new system on a spare of the pool
    proc = _play(
        lab,
        "provision",
        "-e",
        "system=web05",
        "-e",
        "tier=web",
        "-e",
        "hardware_model=r650",
        "-e",
        "mac=52:54:00:12:34:77",
        "-e",
        "ip=192.0.2.55",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(os.path.join(tftp, "01-52-54-00-12-34-77"), encoding="utf-8") as handle:
        assert "ks/web05.cfg" in handle.read()
    with open(os.path.join(lab["out"], "www", "ks", "web05.cfg"), encoding="utf-8") as handle:
        assert handle.read().startswith("# web05 generation 1")


# ---------------------------------------------------------------------- the record change in git
def _git(repo, *args):
    proc = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=setup", "-c", "user.email=setup@example.test", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


@pytest.fixture(scope="module")
def job_lab(tmp_path_factory):
    """As an AWX job sees it: the records in a project copy without .git, their repository a bare
    remote, the provisioner configured by site from the copy."""
    lab = local_provisioner_lab(tmp_path_factory.mktemp("job"))
    seed = lab["tmp"] / "seed"
    write_store(seed / "records", {p: _read(os.path.join(lab["records"], p)) for p in _store_files(lab)})
    _git(seed, "init", "-q", "-b", "main")
    _git(seed, "add", "-A")
    _git(seed, "commit", "-qm", "records")
    lab["remote"] = str(lab["tmp"] / "records.git")
    lab["jobtmp"] = str(lab["tmp"] / "jobtmp")
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), lab["remote"]], check=True)
    site = run(
        "ansible-playbook", ["-i", lab["inventory"], "baremetal.provision.site", "--limit", "prov-dmz"], env=lab["env"]
    )
    assert site.returncode == 0, site.stdout + site.stderr
    return lab


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _store_files(lab):
    root = lab["records"]
    return [
        os.path.relpath(os.path.join(d, f), root)
        for d, _dirs, files in os.walk(root)
        for f in files
        if not f.startswith(".")
    ]


def _job(lab, playbook, *args):
    """The playbook as an AWX job template runs it; its temporary files (the clone) under lab/jobtmp."""
    os.makedirs(lab["jobtmp"], exist_ok=True)
    return run(
        "ansible-playbook",
        [
            "-i",
            lab["inventory"],
            "baremetal.provision." + playbook,
            "-e",
            "records_repo=file://" + lab["remote"],
            "-e",
            "records_branch=main",
            "-e",
            "git_commit=true",
            "-e",
            '{"git_author_name": "Job 7", "git_author_email": "job7@example.test"}',
            *args,
        ],
        env=dict(lab["env"], TMPDIR=lab["jobtmp"]),
    )


def test_a_job_without_git_records_its_change_in_the_remote_before_the_provisioner(job_lab):
    copy_before = tree_digest(job_lab["records"])
    temporary = set(os.listdir(job_lab["jobtmp"])) if os.path.isdir(job_lab["jobtmp"]) else set()

    proc = _job(job_lab, "replace", "-e", "system=web01", "-e", "from_pool=spares-dmz")

    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    subject, author = _git(job_lab["remote"], "log", "-1", "--format=%s|%an <%ae>", "main").split("|")
    assert subject == "replace web01: 52:54:00:12:34:56 -> 52:54:00:00:00:01 (spare SN001 from pool spares-dmz)"
    assert author == "Job 7 <job7@example.test>"
    assert _git(job_lab["remote"], "show", "--name-only", "--format=", "main").splitlines() == [
        "records/pools/spares-dmz.yml",
        "records/systems/web01.yml",
    ]
    # the commit came first: the task that committed ran before the play on the provisioner
    assert proc.stdout.index("committed and pushed") < proc.stdout.index(
        "PLAY [Configure the provisioner of the changed system]"
    )
    dhcp = _read(os.path.join(job_lab["out"], "dhcpd.conf"))
    assert "52:54:00:00:00:01" in dhcp and "52:54:00:12:34:56" not in dhcp
    # the project copy is a throw-away: it was not edited, the clone was, and the clone is gone
    assert tree_digest(job_lab["records"]) == copy_before
    assert set(os.listdir(job_lab["jobtmp"])) == temporary


def test_a_job_whose_push_is_refused_changes_nothing_on_the_provisioner(job_lab):
    hook = os.path.join(job_lab["remote"], "hooks", "pre-receive")
    with open(hook, "w") as handle:
        handle.write("#!/bin/sh\necho 'frozen for the audit' >&2\nexit 1\n")
    os.chmod(hook, 0o755)
    remote_before = _git(job_lab["remote"], "rev-parse", "main")
    provisioner_before = tree_digest(job_lab["out"])
    try:
        proc = _job(job_lab, "provision", "-e", "system=web01", "-e", "reinstall=true")
    finally:
        os.unlink(hook)

    assert proc.returncode != 0
    assert "not recorded in git, nothing was changed" in proc.stdout
    assert "pre-receive hook declined" in proc.stdout
    assert _git(job_lab["remote"], "rev-parse", "main") == remote_before
    assert tree_digest(job_lab["out"]) == provisioner_before
    assert "prov-dmz" not in playbook_recap(proc.stdout), "the provisioner must not be reached"


def test_pool_playbook_adds_a_spare_as_a_commit(job_lab):
    proc = _job(job_lab, "pool", "-e", "pool=spares-dmz", "-e", "mac=52:54:00:aa:bb:10", "-e", "hardware_model=r650")

    assert proc.returncode == 0, proc.stdout[-3000:]
    assert _git(job_lab["remote"], "log", "-1", "--format=%s", "main") == "pool spares-dmz: add 52:54:00:aa:bb:10"
    assert "52:54:00:aa:bb:10" in _git(job_lab["remote"], "show", "main:records/pools/spares-dmz.yml")


def test_git_commit_true_without_git_or_a_repository_is_refused(job_lab):
    before = tree_digest(job_lab["records"]), tree_digest(job_lab["out"])

    proc = _play(job_lab, "replace", "-e", "system=web01", "-e", "mac=52:54:00:aa:bb:77", "-e", "git_commit=true")

    assert proc.returncode != 0
    assert "the record store is not in a git work tree" in proc.stdout and "records_repo" in proc.stdout
    assert (tree_digest(job_lab["records"]), tree_digest(job_lab["out"])) == before


STALE_APPLY = """\
- name: A job that pushed first but renders last, from its own clone
  hosts: localhost
  gather_facts: false
  tasks:
    - name: What the job's first play left
      ansible.builtin.set_fact:
        bm_records: "{{ stale_records }}"
        bm_change: {git: {commit: "{{ stale_commit }}"}}
        bm_system: {name: web01, provisioner: prov-dmz, bmc: null}
        bm_action: retire
- name: The job's render
  ansible.builtin.import_playbook: %s
"""


def test_a_render_from_older_records_never_lands_after_a_newer_one(job_lab, tmp_path):
    """Job A pushes first, job B pushes on top of it and renders; A's render comes last."""
    subprocess.run(["git", "clone", "-q", job_lab["remote"], str(tmp_path / "a")], check=True)
    pushed = run_module(
        "system",
        {
            "records_dir": str(tmp_path / "a" / "records"),
            "name": "web01",
            "mac": "52:54:00:aa:bb:21",
            "git": {"author_name": "Job A", "author_email": "a@example.test"},
        },
    )
    assert pushed["git"]["pushed"], pushed
    newer = _job(job_lab, "provision", "-e", "system=web01", "-e", "reinstall=true")
    assert newer.returncode == 0, newer.stdout[-3000:]
    rendered = tree_digest(job_lab["out"])
    playbook = tmp_path / "stale.yml"
    playbook.write_text(STALE_APPLY % os.path.join(REPO, "playbooks", "_apply.yml"))

    stale = run(
        "ansible-playbook",
        [
            "-i",
            job_lab["inventory"],
            str(playbook),
            "-e",
            "stale_records=%s" % (tmp_path / "a" / "records"),
            "-e",
            "stale_commit=%s" % pushed["git"]["commit"],
        ],
        env=job_lab["env"],
    )

    assert stale.returncode == 0, stale.stdout[-3000:]
    assert "not rendered: the provisioner has newer records" in stale.stdout
    assert tree_digest(job_lab["out"]) == rendered
    # a newer job still renders over it
    again = _job(job_lab, "provision", "-e", "system=web01", "-e", "reinstall=true")
    assert again.returncode == 0, again.stdout[-3000:]
    assert tree_digest(job_lab["out"]) != rendered
