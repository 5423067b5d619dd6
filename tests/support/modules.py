# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one of the collection's modules as Ansible runs it: its file, JSON arguments on stdin."""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def module_command(name):
    """(argv, env) of a module process."""
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, ".build", "collections"))
    return [sys.executable, os.path.join(REPO, "plugins", "modules", name + ".py")], env


def module_input(args):
    return json.dumps({"ANSIBLE_MODULE_ARGS": args})


def run_module(name, args, timeout=600):
    """One real module invocation; returns its JSON result."""
    argv, env = module_command(name)
    proc = subprocess.run(
        argv, input=module_input(args), capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(
            "module %s (rc %d) printed no JSON result:\n%s\nstderr:\n%s"
            % (name, proc.returncode, proc.stdout, proc.stderr)
        ) from None
