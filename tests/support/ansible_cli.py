# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the real Ansible command-line tools against this collection."""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, ".build", "collections")
BIN = os.path.dirname(sys.executable)


def ansible_env(extra=None, tmp=None):
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_LOCALHOST_WARNING": "0",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_STDOUT_CALLBACK": "default",
            "PATH": BIN + os.pathsep + env.get("PATH", ""),
        }
    )
    if tmp:
        env["ANSIBLE_LOCAL_TEMP"] = os.path.join(str(tmp), ".ansible-tmp")
        env["ANSIBLE_HOME"] = os.path.join(str(tmp), ".ansible-home")
    env.update(extra or {})
    return env


def run(tool, args, env=None, cwd=None, check=False, timeout=600):
    """Run an ansible tool from the venv; return CompletedProcess with text output."""
    cmd = [os.path.join(BIN, tool), *list(args)]
    proc = subprocess.run(
        cmd, env=env or ansible_env(), cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            "%s failed (%d)\nSTDOUT:\n%s\nSTDERR:\n%s" % (" ".join(cmd), proc.returncode, proc.stdout, proc.stderr)
        )
    return proc


def playbook_recap(stdout):
    """The PLAY RECAP counters of each host: {host: {ok: n, changed: n, ...}}."""
    recap = {}
    in_recap = False
    for line in stdout.splitlines():
        if line.startswith("PLAY RECAP"):
            in_recap = True
            continue
        if in_recap and ":" in line:
            host, _sep, rest = line.partition(":")
            counts = {}
            for item in rest.split():
                key, _sep, value = item.partition("=")
                if value.isdigit():
                    counts[key] = int(value)
            recap[host.strip()] = counts
    return recap


def plain(value):
    """ansible-inventory --list output without the {"__ansible_unsafe": ...} wrappers that
    ansible-core 2.19 puts around strings it does not trust as templates."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def inventory_list(inventory, env=None):
    proc = run("ansible-inventory", ["-i", inventory, "--list"], env=env, check=True)
    return plain(json.loads(proc.stdout))
