# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Git as the commit point: the record modules, run as Ansible runs them, against real git
repositories and a bare remote (a file path, as a job's clone of the records has)."""

import concurrent.futures
import os
import subprocess

import pytest
from support.modules import run_module
from support.store import write_store

SPARES = """\
segment: dmz
machines:
  - {mac: "52:54:00:00:00:01", hardware_model: r650, serial: SN001}
  - {mac: "52:54:00:00:00:03", hardware_model: r650, serial: SN003}
"""
WEB02 = """\
tier: web
hardware_model: r650
interfaces:
  - {name: eth0, mac: "52:54:00:12:34:57", ip: 192.0.2.51, primary: true}
build: {generation: 1}
"""
GIT_OPTS = {"author_name": "Job 42", "author_email": "job42@example.test"}


@pytest.fixture()
def isolated_git(tmp_path, monkeypatch):
    """A machine whose own git identity must not be used: HOME has a config naming 'machine'."""
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text("[user]\n\tname = machine\n\temail = machine@example.test\n")
    monkeypatch.setenv("HOME", str(home))
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    return home


def git(repo, *args, check=True):
    proc = subprocess.run(
        ["git", "-C", str(repo), "-c", "user.name=setup", "-c", "user.email=setup@example.test", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if check and proc.returncode != 0:
        raise AssertionError("git %s: %s" % (" ".join(args), proc.stderr))
    return proc.stdout.rstrip("\n")


@pytest.fixture()
def remote(tmp_path, isolated_git):
    """A bare remote holding a project whose store is its records/ folder."""
    seed = tmp_path / "seed"
    write_store(seed / "records", extra={"pools/spares-dmz.yml": SPARES, "systems/web02.yml": WEB02})
    (seed / "README").write_text("fleet\n")
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-qm", "records")
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(bare)], check=True)
    return bare


def clone(remote, path):
    subprocess.run(["git", "clone", "-q", str(remote), str(path)], check=True)
    return str(path / "records")


def replace(records, system, **args):
    args.setdefault("git", dict(GIT_OPTS))
    return run_module("system", dict(records_dir=records, name=system, **args))


def remote_file(remote, path):
    return git(remote, "show", "main:records/" + path)


def test_commit_holds_only_the_edited_files_and_the_given_identity(tmp_path, remote):
    records = clone(remote, tmp_path / "job")
    work = tmp_path / "job"
    (work / "README").write_text("an unrelated local edit\n")
    (work / "notes.txt").write_text("staged, not ours\n")
    git(work, "add", "notes.txt")

    result = replace(records, "web01", mac="52:54:00:aa:bb:01")

    assert result["changed"] and not result.get("failed"), result
    assert result["git"]["pushed"] is True and result["git"]["remote"] == "origin/main"
    assert result["git"]["attempts"] == 1
    head = git(work, "rev-parse", "HEAD")
    assert result["git"]["commit"] == head == git(remote, "rev-parse", "main")
    assert git(work, "show", "--name-only", "--format=", "HEAD").splitlines() == ["records/systems/web01.yml"]
    subject = git(work, "log", "-1", "--format=%s")
    assert subject == "replace web01: 52:54:00:12:34:56 -> 52:54:00:aa:bb:01"
    assert git(work, "log", "-1", "--format=%an <%ae>|%cn <%ce>") == (
        "Job 42 <job42@example.test>|Job 42 <job42@example.test>"
    )
    assert "52:54:00:aa:bb:01" in remote_file(remote, "systems/web01.yml")
    # what the job had staged or changed besides is still there, uncommitted, as it was
    status = git(work, "status", "--porcelain")
    assert "A  notes.txt" in status and " M README" in status
    assert "records/" not in status.replace("?? records/.baremetal.lock", "")


def test_a_push_the_remote_refuses_puts_everything_back(tmp_path, remote):
    records = clone(remote, tmp_path / "job")
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'records are frozen for the audit' >&2\nexit 1\n")
    hook.chmod(0o755)
    before_remote = git(remote, "rev-parse", "main")
    before_head = git(tmp_path / "job", "rev-parse", "HEAD")
    before_file = (tmp_path / "job" / "records" / "pools" / "spares-dmz.yml").read_bytes()

    result = replace(records, "web01", from_pool="spares-dmz")

    assert result.get("failed"), result
    assert "not recorded in git, nothing was changed" in result["msg"]
    assert "git push to origin main failed" in result["msg"] and "pre-receive hook declined" in result["msg"]
    assert result["problems"][0]["field"] == "git"
    assert git(remote, "rev-parse", "main") == before_remote
    assert git(tmp_path / "job", "rev-parse", "HEAD") == before_head
    assert (tmp_path / "job" / "records" / "pools" / "spares-dmz.yml").read_bytes() == before_file
    assert "52:54:00:12:34:56" in (tmp_path / "job" / "records" / "systems" / "web01.yml").read_text()
    assert git(tmp_path / "job", "status", "--porcelain", "--untracked-files=no") == ""


def test_a_job_behind_the_remote_applies_its_change_again_on_the_new_head(tmp_path, remote):
    first = clone(remote, tmp_path / "first")
    second = clone(remote, tmp_path / "second")  # cloned at the same commit: it will be behind

    won = replace(first, "web01", from_pool="spares-dmz")
    late = replace(second, "web02", from_pool="spares-dmz")

    assert won["pool_spare"]["serial"] == "SN001" and won["git"]["attempts"] == 1, won
    assert not late.get("failed"), late
    assert late["git"]["attempts"] == 2
    # applied again through the module on the new head: the next spare, not SN001 twice
    assert late["pool_spare"]["serial"] == "SN003"
    log = git(remote, "log", "--format=%s", "main").splitlines()
    assert log[:2] == [
        "replace web02: 52:54:00:12:34:57 -> 52:54:00:00:00:03 (spare SN003 from pool spares-dmz)",
        "replace web01: 52:54:00:12:34:56 -> 52:54:00:00:00:01 (spare SN001 from pool spares-dmz)",
    ]
    assert "machines: []" in remote_file(remote, "pools/spares-dmz.yml")
    assert "52:54:00:00:00:01" in remote_file(remote, "systems/web01.yml")
    assert "52:54:00:00:00:03" in remote_file(remote, "systems/web02.yml")


def test_two_jobs_that_take_the_last_spare_one_wins_the_other_names_it(tmp_path, remote):
    seed = tmp_path / "one-spare"
    clone(remote, seed)
    (seed / "records" / "pools" / "spares-dmz.yml").write_text(SPARES.rsplit("  - ", 1)[0])
    git(seed, "commit", "-qam", "one spare left")
    git(seed, "push", "-q")
    first = clone(remote, tmp_path / "first")
    second = clone(remote, tmp_path / "second")

    won = replace(first, "web01", from_pool="spares-dmz")
    lost = replace(second, "web02", from_pool="spares-dmz")

    assert won["changed"] and won["pool_spare"]["serial"] == "SN001"
    assert lost.get("failed"), lost
    assert "another run changed the records first" in lost["msg"]
    assert "spare 52:54:00:00:00:01 (serial SN001) of pool spares-dmz was taken by systems/web01.yml" in lost["msg"]
    assert "no spare of hardware model 'r650' left for web02" in lost["msg"]
    assert "52:54:00:12:34:57" in remote_file(remote, "systems/web02.yml")
    assert git(remote, "log", "-1", "--format=%s", "main").startswith("replace web01:")
    assert git(tmp_path / "second", "status", "--porcelain", "--untracked-files=no") == ""


def test_a_store_outside_git_is_refused_before_anything_is_written(tmp_path, isolated_git):
    records = write_store(tmp_path / "copy" / "records")  # an AWX project copy: no .git
    before = (tmp_path / "copy" / "records" / "systems" / "web01.yml").read_bytes()

    result = replace(records, "web01", mac="52:54:00:aa:bb:01")

    assert result.get("failed") and "is not in a git work tree" in result["msg"], result
    assert "records_repo" in result["msg"]
    assert (tmp_path / "copy" / "records" / "systems" / "web01.yml").read_bytes() == before


def test_push_always_needs_an_upstream_and_never_only_commits(tmp_path, isolated_git):
    records = write_store(tmp_path / "repo" / "records")
    git(tmp_path / "repo", "init", "-q", "-b", "main")
    git(tmp_path / "repo", "add", "-A")
    git(tmp_path / "repo", "commit", "-qm", "records")

    refused = replace(records, "web01", mac="52:54:00:aa:bb:01", git=dict(GIT_OPTS, push="always"))
    assert refused.get("failed") and "has no upstream" in refused["msg"], refused
    assert git(tmp_path / "repo", "rev-list", "--count", "HEAD") == "1"

    local = replace(records, "web01", mac="52:54:00:aa:bb:01", git=dict(GIT_OPTS, push="never"))
    assert local["git"]["pushed"] is False and local["git"]["commit"], local
    assert git(tmp_path / "repo", "rev-list", "--count", "HEAD") == "2"


def test_check_mode_commits_nothing_and_says_what_would_happen(tmp_path, remote):
    records = clone(remote, tmp_path / "job")
    head = git(tmp_path / "job", "rev-parse", "HEAD")

    result = run_module(
        "system",
        dict(records_dir=records, name="web01", mac="52:54:00:aa:bb:01", git=GIT_OPTS, _ansible_check_mode=True),
    )

    assert result["changed"] and result["git"] == {"commit": None, "would_commit": True, "push": True}, result
    assert git(tmp_path / "job", "rev-parse", "HEAD") == head == git(remote, "rev-parse", "main")


def test_local_commits_the_remote_lacks_are_not_dropped(tmp_path, remote):
    first = clone(remote, tmp_path / "first")
    second = clone(remote, tmp_path / "second")
    replace(first, "web01", mac="52:54:00:aa:bb:01")
    (tmp_path / "second" / "README").write_text("a local commit, never pushed\n")
    git(tmp_path / "second", "commit", "-qam", "local work")
    local_head = git(tmp_path / "second", "rev-parse", "HEAD")

    result = replace(second, "web02", mac="52:54:00:aa:bb:02")

    assert result.get("failed") and "has commits that origin/main does not have" in result["msg"], result
    assert git(tmp_path / "second", "rev-parse", "HEAD") == local_head
    assert "52:54:00:12:34:57" in (tmp_path / "second" / "records" / "systems" / "web02.yml").read_text()


def test_a_new_and_a_removed_record_are_committed(tmp_path, remote):
    records = clone(remote, tmp_path / "job")
    work = tmp_path / "job"

    retired = run_module(
        "system", dict(records_dir=records, name="web02", state="absent", to_pool="spares-dmz", git=GIT_OPTS)
    )
    added = run_module(
        "system",
        dict(records_dir=records, name="web09", tier="web", mac="52:54:00:aa:bb:09", ip="192.0.2.59", git=GIT_OPTS),
    )

    assert retired["git"]["commit"] and added["git"]["commit"], (retired, added)
    assert git(work, "log", "-2", "--format=%s").splitlines() == [
        "provision web09 (new system)",
        "retire web02 (machine back to pool spares-dmz)",
    ]
    assert sorted(git(work, "show", "--name-status", "--format=", "HEAD~1").splitlines()) == [
        "D\trecords/systems/web02.yml",
        "M\trecords/pools/spares-dmz.yml",
    ]
    assert os.path.exists(os.path.join(records, "systems", "web09.yml"))
    assert git(remote, "rev-parse", "main") == git(work, "rev-parse", "HEAD")


def test_concurrent_jobs_lose_no_update_and_hand_no_spare_twice(tmp_path, isolated_git):
    """Ten jobs at once against one remote, each in its own clone: six by MAC, four from a pool of
    two spares. Pushes race (a rejected push, or the remote's ref lock held by another push)."""
    systems = {
        "systems/web%02d.yml" % n: WEB02.replace("52:54:00:12:34:57", "52:54:00:12:34:%02x" % (0x70 + n)).replace(
            "192.0.2.51", "192.0.2.%d" % (70 + n)
        )
        for n in range(1, 11)
    }
    seed = tmp_path / "seed"
    write_store(seed / "records", extra={"pools/spares-dmz.yml": SPARES, **systems})
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-qm", "records")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(seed), str(remote)], check=True)
    jobs = {"web%02d" % n: {"mac": "52:54:00:aa:00:%02x" % n} for n in range(1, 7)}
    jobs.update({"web%02d" % n: {"from_pool": "spares-dmz"} for n in range(7, 11)})
    clones = {name: clone(remote, tmp_path / name) for name in jobs}

    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        futures = {name: pool.submit(replace, clones[name], name, **args) for name, args in jobs.items()}
        results = {name: future.result() for name, future in futures.items()}

    won = sorted(n for n, r in results.items() if not r.get("failed"))
    lost = {n: r["msg"] for n, r in results.items() if r.get("failed")}
    assert won == ["web%02d" % n for n in range(1, 7)] + sorted(n for n in won if n >= "web07"), lost
    assert len(won) == 8 and len(lost) == 2, lost
    for msg in lost.values():
        assert "of pool spares-dmz was taken by systems/web" in msg and "no spare of hardware model" in msg, msg
    log = git(remote, "log", "--format=%H %s", "main").splitlines()
    assert len(log) == 1 + len(won)
    commits = {line.split(" ", 1)[0] for line in log}
    assert all(results[name]["git"]["commit"] in commits for name in won)
    # 0 lost updates: every winner's new MAC is in the remote's final records; losers unchanged
    for name in jobs:
        record = remote_file(remote, "systems/%s.yml" % name)
        if name in lost:
            assert systems["systems/%s.yml" % name].rstrip("\n") == record
        elif "mac" in jobs[name]:
            assert jobs[name]["mac"] in record
    # 0 spares handed twice: each spare MAC is in exactly one system and no longer in the pool
    final = "\n".join(remote_file(remote, "systems/%s.yml" % name) for name in jobs)
    for spare in ("52:54:00:00:00:01", "52:54:00:00:00:03"):
        assert final.count(spare) == 1
        assert spare not in remote_file(remote, "pools/spares-dmz.yml")
