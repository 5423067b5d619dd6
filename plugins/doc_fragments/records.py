# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  records_dir:
    description:
      - The record store directory (one YAML file per record, C(<records_dir>/<kind>/<name>.yml)).
      - Defaults to the E(BAREMETAL_RECORDS) environment variable. Set it once for all record
        modules with C(module_defaults) and the C(group/baremetal.provision.records) action group.
      - >-
        The modules edit files on the host they run on; run them on the controller with
        C(delegate_to: localhost) or C(connection: local).
    type: path
  lock_timeout:
    description:
      - Seconds to wait for another run (another playbook, another AWX job) to release the
        store's lock before failing without changing anything.
    type: float
    default: 120
notes:
  - Changes are serialised by a lock on C(<records_dir>/.baremetal.lock) and written atomically;
    a change that touches several files goes through C(<records_dir>/.baremetal.journal) so that
    it is applied whole even if the run is killed. Add both names to the store's C(.gitignore).
  - A change is refused, and nothing is written, if the store after it would break a rule it did
    not break before (for example a MAC address used twice). The error names every file and field.
  - Problems the store already had before the change are reported as warnings.
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: Computes the change and its diff without writing.
  diff_mode:
    support: full
    description: Shows the YAML of every record file before and after.
  platform:
    support: full
    platforms: posix
    description: Runs where the record store is, normally the controller.
"""

    INFO = r"""
options:
  records_dir:
    description:
      - The record store directory. Defaults to the E(BAREMETAL_RECORDS) environment variable.
    type: path
  lock_timeout:
    description:
      - Seconds to wait for a writer to finish before reading.
    type: float
    default: 120
attributes:
  check_mode:
    support: full
    description: Reads only; the same in check mode.
  diff_mode:
    support: none
    description: Reads only.
  platform:
    support: full
    platforms: posix
    description: Runs where the record store is, normally the controller.
"""

    # every module that edits records: the change recorded in git before the module returns
    GIT = r"""
options:
  git:
    description:
      - Record the change in git before the module returns, while the store's lock is held. The
        files this run wrote are committed (only those, whatever else is staged or changed in
        the work tree) and, where the branch has an upstream, pushed. The playbooks that follow
        touch a provisioner or a machine only after that.
      - A commit or push that fails puts every written file back, undoes the local commit, and
        fails naming the reason; the store is as it was.
      - A push rejected because the remote moved on (another run, another AWX job, pushed first)
        fetches the new head, moves onto it and applies this module's change again on it, checked
        against every rule again, up to O(git.retries) times. A change that no longer fits (the
        spare it took is now another system's) fails, naming what the other run did.
      - Omitted, nothing is committed.
    type: dict
    suboptions:
      commit:
        description:
          - V(always) commits and fails (changing nothing) when the store is not in a git work
            tree; V(auto) commits when it is and otherwise only says so in the result
            (C(git.skipped)); V(never) is the same as leaving O(git) out.
        type: str
        choices: [auto, always, never]
        default: always
      push:
        description:
          - V(auto) pushes when the current branch has an upstream (C(git branch -u)),
            V(always) fails without one, V(never) only commits.
          - Credentials come from the environment, as for any git command (for example
            E(GIT_SSH_COMMAND) or a credential helper set by E(GIT_CONFIG_COUNT)); see the AWX
            credential type in C(awx/).
        type: str
        choices: [auto, always, never]
        default: auto
      body:
        description:
          - >-
            Text for the commit message's body (for example which job made the change); the
            subject says what was changed, such as C(replace web03: <old MAC> -> <new MAC>).
        type: str
      author_name:
        description: Author and committer name of the commit; the machine's git configuration is never used.
        type: str
        default: baremetal.provision
      author_email:
        description: Author and committer e-mail of the commit.
        type: str
        default: baremetal-provision@localhost
      retries:
        description:
          - How many times a push that lost to another run's (the remote moved on, or held the
            branch's lock) is tried again on the new head, after a short random pause.
        type: int
        default: 10
"""

    # segment, tier, profile and system: the same field at every layer, with the same meaning
    INSTALLED_KERNEL_OPTIONS = r"""
options:
  installed_kernel_options:
    description:
      - Kernel options for the installed system (a mapping or a string), kept apart from the installer's.
      - Debian's and Ubuntu's installers get them after C(---) on the kernel line; kickstart templates as
        C(installed_kernel_options) (C(bootloader --append)).
    type: raw
"""

    # the record modules' action plugins (plugin_utils/_inprocess); listed by each record module
    ACTION = r"""
attributes:
  action:
    support: full
    description:
      - When the task runs on the controller itself (connection local, no become, no task
        environment, not async), an action plugin runs the module's code in Ansible's own worker
        process, which saves starting a new Python. Elsewhere the module runs as usual.
"""
