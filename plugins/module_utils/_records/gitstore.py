# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Git is the commit point of a record change. A module's edit is written, committed and (where the
branch has an upstream) pushed while the store's lock is held, before the playbook goes on to any
provisioner or machine. What is committed is exactly the files the edit wrote, through a private
index, so that other changes in the work tree (staged or not) are neither committed nor disturbed.

The push is the lock between runs that do not share a disk (AWX jobs, each in its own clone). A
push rejected because the remote moved on is undone locally, the new head is fetched and checked
out, and the caller applies its change again, through the record module, on the new head
(``RecordChange`` drives that loop); any other failure undoes the local commit and the written
files, so a run that cannot record its change leaves the store as it found it.

Author and committer come from the options, never from the machine's git configuration.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import tempfile
import time

from ansible_collections.baremetal.provision.plugins.module_utils._records.errors import Problem, StoreError

DEFAULT_AUTHOR_NAME = "baremetal.provision"
DEFAULT_AUTHOR_EMAIL = "baremetal-provision@localhost"
COMMIT_CHOICES = ("auto", "always", "never")
PUSH_CHOICES = ("auto", "always", "never")
GIT_TIMEOUT = 300
# A push that lost to another: the remote moved on (non-fast-forward, fetch first), or another push
# held the branch's ref lock at that moment (failed to update ref, cannot lock ref, incorrect old
# value). Each is tried again on the remote's new head; anything else is a failure.
_RACED = re.compile(
    r"\[rejected\].*\((?:non-fast-forward|fetch first)\)"
    r"|\[remote (?:rejected|failure)\].*\((?:failed to update ref|cannot lock ref[^)]*|incorrect old value[^)]*)\)"
)


class GitError(StoreError):
    """The change could not be recorded in git; nothing was changed."""

    def __init__(self, root, message):
        super(GitError, self).__init__(
            Problem(root, "git", message), summary="not recorded in git, nothing was changed"
        )


class PushRejected(Exception):
    """The remote has moved on since our base: fetch, re-apply, retry."""


def git_argument_spec():
    """The ``git`` option of every module that edits records."""
    return dict(
        git=dict(
            type="dict",
            options=dict(
                commit=dict(type="str", default="always", choices=list(COMMIT_CHOICES)),
                push=dict(type="str", default="auto", choices=list(PUSH_CHOICES)),
                body=dict(type="str"),
                author_name=dict(type="str", default=DEFAULT_AUTHOR_NAME),
                author_email=dict(type="str", default=DEFAULT_AUTHOR_EMAIL),
                retries=dict(type="int", default=10),
            ),
        )
    )


class RecordsRepo(object):
    """The git work tree that holds a record store, driven with explicit identities."""

    def __init__(self, root, author_name=DEFAULT_AUTHOR_NAME, author_email=DEFAULT_AUTHOR_EMAIL):
        self.root = os.path.abspath(root)
        self.env = dict(
            os.environ,
            LC_ALL="C",
            GIT_TERMINAL_PROMPT="0",
            GIT_AUTHOR_NAME=author_name,
            GIT_AUTHOR_EMAIL=author_email,
            GIT_COMMITTER_NAME=author_name,
            GIT_COMMITTER_EMAIL=author_email,
        )
        self.env.pop("GIT_INDEX_FILE", None)
        proc = self._run("rev-parse", "--show-toplevel", "--show-prefix", check=False)
        if proc.returncode != 0:
            raise GitError(
                self.root,
                "the record store is not in a git work tree (%s); an AWX job's project copy has no .git: "
                "give the playbook records_repo (and records_branch) to work in a fresh clone, or set "
                "git_commit=false to change the records without recording it" % _last_line(proc.stderr),
            )
        top, prefix = [*proc.stdout.splitlines(), "", ""][:2]
        self.top = top
        self.prefix = prefix  # the store's folder inside the repository, with a trailing slash, or ""

    # ------------------------------------------------------------------ plumbing
    def _run(self, *args, check=True, env=None, input_text=None):
        try:
            proc = subprocess.run(
                ["git", "-C", self.root, *args],
                env=env or self.env,
                input=input_text,
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT,
                check=False,
            )
        except FileNotFoundError:
            raise GitError(self.root, "git is not installed on the controller (or not on PATH)") from None
        except subprocess.TimeoutExpired:
            raise GitError(self.root, "git %s did not finish in %d s" % (args[0], GIT_TIMEOUT)) from None
        if check and proc.returncode != 0:
            raise GitError(self.root, "git %s failed: %s" % (args[0], _last_line(proc.stderr or proc.stdout)))
        return proc

    def head(self):
        proc = self._run("rev-parse", "--verify", "--quiet", "HEAD", check=False)
        return proc.stdout.strip() or None

    def upstream(self):
        """(remote, branch) the current branch pushes to, or None without one."""
        branch = self._run("symbolic-ref", "--quiet", "--short", "HEAD", check=False).stdout.strip()
        if not branch:
            return None
        remote = self._run("config", "--get", "branch.%s.remote" % branch, check=False).stdout.strip()
        merge = self._run("config", "--get", "branch.%s.merge" % branch, check=False).stdout.strip()
        if not remote or remote == "." or not merge.startswith("refs/heads/"):
            return None
        return remote, merge[len("refs/heads/") :]

    def branch(self):
        branch = self._run("symbolic-ref", "--quiet", "HEAD", check=False).stdout.strip()
        if not branch:
            raise GitError(self.root, "the records' work tree is on a detached HEAD: check out a branch to commit on")
        return branch

    # ------------------------------------------------------------------ the change
    def commit(self, relpaths, message, new_branch=None):
        """Commit exactly these store files (relative to the store) as they are in the work tree.

        Built in a private index from HEAD, so nothing else staged or changed is committed; the
        real index then agrees with the new HEAD for these paths. Returns the new commit's id.
        new_branch: the commit goes on that new branch (which must not exist yet), on top of
        HEAD; the current branch and the index are left as they are."""
        ref = self.branch() if new_branch is None else "refs/heads/" + new_branch
        parent = self.head()
        paths = [self.prefix + p for p in relpaths]
        fd, index = tempfile.mkstemp(prefix=".bm-index-", dir=self._git_dir())
        os.close(fd)
        os.unlink(index)  # git refuses an empty file as an index; a missing one is an empty index
        env = dict(self.env, GIT_INDEX_FILE=index)
        try:
            if parent:
                self._run("read-tree", parent, env=env)
            self._run(
                "-C", self.top, "update-index", "--add", "--remove", "-z", "--stdin", env=env,
                input_text="".join(p + "\0" for p in paths),
            )  # fmt: skip
            tree = self._run("write-tree", env=env).stdout.strip()
            args = ["commit-tree", tree, "-F", "-"] + (["-p", parent] if parent else [])
            sha = self._run(*args, env=env, input_text=message).stdout.strip()
            # a new branch must not exist yet (the empty old value); the current one must still be at parent
            old = "" if new_branch is not None else (parent or "")
            self._run("update-ref", "-m", "baremetal.provision: " + message.splitlines()[0], ref, sha, old)
        finally:
            if os.path.exists(index):
                os.unlink(index)
        if new_branch is None:
            self._run("-C", self.top, "reset", "-q", sha, "--", *paths, check=False)
        return sha

    def check_new_branch(self, name):
        """Refuse a branch name git would not take, or one that exists here already."""
        if self._run("check-ref-format", "refs/heads/" + name, check=False).returncode != 0:
            raise GitError(self.root, "%r is not a valid git branch name" % (name,))
        if self._run("rev-parse", "--verify", "--quiet", "refs/heads/" + name, check=False).returncode == 0:
            raise GitError(self.root, "branch %s exists already: give another branch name" % name)

    def delete_branch(self, name):
        self._run("update-ref", "-d", "refs/heads/" + name, check=False)

    def push(self, remote, branch, source="HEAD", new=False):
        """Push HEAD (or source) to the remote branch; PushRejected when the remote has moved on.
        new: the remote branch must not exist yet (a branch for a pull request)."""
        proc = self._run("push", "--porcelain", remote, "%s:refs/heads/%s" % (source, branch), check=False)
        if proc.returncode == 0:
            return
        text = proc.stdout + proc.stderr
        if new and _RACED.search(text):
            raise GitError(self.root, "branch %s exists already on %s: give another branch name" % (branch, remote))
        if _RACED.search(text):
            raise PushRejected(text)
        raise GitError(
            self.root,
            "git push to %s %s failed: %s. The job needs a credential that may push (docs/awx.md), "
            "or git_push=never to commit without pushing" % (remote, branch, _push_reason(text)),
        )

    def undo(self, base):
        """Put the branch back on base, the files of our commit with it (local changes kept)."""
        self._reset_keep(base)

    def _reset_keep(self, rev):
        # the store rewrites files atomically (new inodes): refresh the index's stat data first, or
        # reset --keep takes a file with the same content for a local change
        self._run("update-index", "-q", "--refresh", check=False)
        self._run("reset", "-q", "--keep", rev)

    def _fetch(self, remote, branch, check=True):
        tracking = "refs/remotes/%s/%s" % (remote, branch)
        self._run("fetch", "--quiet", remote, "+refs/heads/%s:%s" % (branch, tracking), check=check)
        return tracking

    def catch_up(self, remote, branch, base):
        """Fetch the remote branch and move onto it; refuse where that would drop local commits."""
        tracking = self._fetch(remote, branch)
        if base and self._run("merge-base", "--is-ancestor", base, tracking, check=False).returncode != 0:
            raise GitError(
                self.root,
                "the records branch has commits that %s/%s does not have: pull or rebase them first" % (remote, branch),
            )
        self._reset_keep(tracking)
        return self.head()

    def history(self, commit, limit=100):
        """The commit and the ones before it that this clone has (a job's shallow clone has few)."""
        return self._run("rev-list", "--max-count=%d" % limit, commit, check=False).stdout.split() or [commit]

    def descends_from(self, newer, older):
        """Whether newer has older in its history, once the upstream's new commits are fetched."""
        upstream = self.upstream()
        if upstream:
            self._fetch(*upstream, check=False)
        if self._run("cat-file", "-e", newer + "^{commit}", check=False).returncode != 0:
            return False
        return self._run("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0

    def _git_dir(self):
        return self._run("rev-parse", "--absolute-git-dir").stdout.strip()


def _last_line(text):
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _push_reason(text):
    for line in text.splitlines():
        if line.startswith("!") or "error:" in line or "fatal:" in line or "remote rejected" in line:
            return line.lstrip("!\t ").replace("\t", " ")
    return _last_line(text)


class RecordChange(object):
    """One record edit recorded in git, with the retries a moving remote calls for::

        change = RecordChange(root, options)
        for attempt in change.attempts():
            with Transaction(root, before_load=attempt.before_load) as txn:
                ...edit, write...
                attempt.record(txn, files, message)   # PushRejected -> next attempt

    ``options`` is the module's ``git`` option (None: no git at all).
    """

    def __init__(self, root, options, branch=None):
        self.root = root
        self.options = options
        self.new_branch = branch  # commit on this new branch, for a pull request, not on the current one
        self.enabled = bool(options) and options.get("commit") != "never"
        self.repo = None
        self.remote = None
        self.base = None
        self.retries = max(0, int((options or {}).get("retries") or 0))
        self.rejections = 0
        self.skipped = None  # why commit=auto did not commit

    def attempts(self):
        """Yield an attempt per try; the caller stops iterating when one succeeds. Between tries,
        outside the store's lock, a short random pause, so that runs that lost together do not all
        push together again."""
        for number in range(1, self.retries + 2):
            if number > 1:
                time.sleep(random.uniform(0.05, 0.25) * min(number, 6))
            yield _Attempt(self, number)
        raise GitError(
            self.root,
            "the push was rejected %d times: the remote kept moving; try the run again" % self.rejections,
        )

    def prepare(self):
        """Under the lock, before the store is loaded: find the repository and where to push."""
        if not self.enabled or self.repo is not None:
            return
        try:
            self.repo = RecordsRepo(self.root, self.options["author_name"], self.options["author_email"])
        except GitError:
            if self.options["commit"] != "auto" or self.new_branch:
                raise
            self.enabled = False  # commit=auto: a store outside git is edited without a commit
            self.skipped = "the record store is not in a git work tree: the change was not committed"
            return
        if self.new_branch:
            self.repo.check_new_branch(self.new_branch)
        push = self.options["push"]
        if push != "never":
            self.remote = self.repo.upstream()
            if self.remote is not None and self.new_branch:
                self.remote = (self.remote[0], self.new_branch)
            if self.remote is None and push == "always":
                raise GitError(
                    self.root,
                    "git push=always but the records branch has no upstream (git branch --set-upstream-to)",
                )

    def check_only(self):
        """Check mode: the same preconditions as a real run, without writing."""
        if self.enabled:
            self.prepare()
        return {"commit": None, "would_commit": self.enabled, "push": bool(self.remote)}


class _Attempt(object):
    def __init__(self, change, number):
        self.change = change
        self.number = number

    def before_load(self):
        """Under the store's lock, before the store is loaded: a retry moves onto the new head."""
        change = self.change
        change.prepare()
        if not change.enabled:
            return
        if self.number > 1:
            change.base = change.repo.catch_up(change.remote[0], change.remote[1], change.base)
        else:
            change.base = change.repo.head()

    def record(self, txn, relpaths, message):
        """Commit and push the files this attempt wrote; undo them on any failure."""
        change = self.change
        if not change.enabled or not relpaths:
            return {"commit": None, "pushed": False, "skipped": change.skipped} if change.skipped else None
        repo = change.repo
        base = change.base
        branch = change.new_branch
        try:
            sha = repo.commit(relpaths, message, new_branch=branch)
            if change.remote is not None:
                if branch:
                    repo.push(change.remote[0], branch, source="refs/heads/" + branch, new=True)
                else:
                    repo.push(*change.remote)
        except (GitError, PushRejected) as exc:
            if isinstance(exc, PushRejected):
                change.rejections += 1
            if branch:
                repo.delete_branch(branch)
            elif repo.head() != base and base is not None:
                repo.undo(base)
            txn.rollback()
            raise
        if branch:
            # the change lives on its branch until it is merged: the work tree stays as it was
            txn.rollback()
            return {
                "commit": sha,
                "branch": branch,
                "pushed": change.remote is not None,
                "remote": "%s/%s" % change.remote if change.remote else None,
                "attempts": self.number,
            }
        return {
            "commit": sha,
            "pushed": change.remote is not None,
            "remote": "%s/%s" % change.remote if change.remote else None,
            "attempts": self.number,
        }
