# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The code shipped to a provisioner runs on every Python the docs claim for provisioners.

docs/provisioner.md claims Python 3.7 and later (RHEL 8's platform Python 3.6 is refused early
by the provisioner_sync action). Every interpreter from 3.7 on that this machine has (pyenv)
compiles the shipped files and renders the DHCP config and the TFTP tree of a store, which must
be byte for byte what the controller's Python renders. Missing interpreters are skipped, by name.
"""

import glob
import json
import os
import subprocess
import sys

import pytest
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import build_view
from ansible_collections.baremetal.provision.plugins.plugin_utils._python_floor import (
    PROVISIONER_PYTHON,
    python_refusal,
)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COLLECTIONS = os.path.join(REPO, ".build", "collections")
# what Ansible ships to the provisioner for provisioner_sync, and the callback service
SHIPPED = [
    os.path.join(REPO, "plugins", "modules", "provisioner_sync.py"),
    os.path.join(REPO, "roles", "kickstart", "files", "bm_callback.py"),
]
SHIPPED += sorted(glob.glob(os.path.join(REPO, "plugins", "module_utils", "_provisioner", "*.py")))
SHIPPED += [
    os.path.join(REPO, "plugins", "module_utils", "_runner", name + ".py")
    for name in ("__init__", "collector", "provisioner")
]

RENDER = r"""
import hashlib, json, os, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import sync as P
view = json.load(open(sys.argv[2]))
out = sys.argv[3]
state = os.path.join(out, "state")
os.makedirs(state)
dhcp = P.sync("dhcp", view, {"config": os.path.join(out, "dhcpd.conf"), "check_command": []})
tftp = P.sync("tftp", view, {"root": os.path.join(out, "tftp"), "state_dir": state})
tree = {}
for folder, _dirs, files in os.walk(os.path.join(out, "tftp")):
    for name in files:
        path = os.path.join(folder, name)
        tree[os.path.relpath(path, out)] = hashlib.sha256(open(path, "rb").read()).hexdigest()
print(json.dumps({"dhcp": dhcp["after"], "tftp": sorted(tftp["written"]), "tree": tree}, sort_keys=True))
"""


def _pyenv_pythons():
    """{"3.7": path, ...}: one interpreter per minor version from the floor on, as pyenv has them."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = {}
    for minor in range(PROVISIONER_PYTHON[1], 14):
        version = "3.%d" % minor
        paths = sorted(glob.glob(os.path.join(root, "versions", version + ".*", "bin", "python" + version)))
        if paths:
            found[version] = paths[-1]
    return found


PYTHONS = _pyenv_pythons()
WANTED = ["3.%d" % minor for minor in range(PROVISIONER_PYTHON[1], 14)]


@pytest.fixture(scope="module")
def view_file(tmp_path_factory):
    base = tmp_path_factory.mktemp("floor")
    store = RecordStore.load(
        write_store(base / "records", extra={"templates/rocky9.ks.j2": FILES["templates/rocky9.ks.j2"]})
    )
    path = base / "view.json"
    path.write_text(json.dumps(build_view(store, "prov-dmz")))
    return str(path)


def _render(python, view_file, out):
    proc = subprocess.run(
        [python, "-c", RENDER, COLLECTIONS, view_file, str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("version", WANTED)
def test_shipped_code_runs_on_the_provisioner_python(version, view_file, tmp_path):
    python = PYTHONS.get(version)
    if python is None:
        pytest.skip("SKIPPED: no Python %s on this machine (pyenv) to test the provisioner code on" % version)
    for path in SHIPPED:
        proc = subprocess.run(
            [python, "-c", "import sys; compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')", path],
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, "%s does not compile on Python %s: %s" % (path, version, proc.stderr)
    theirs = _render(python, view_file, tmp_path / "theirs")
    ours = _render(sys.executable, view_file, tmp_path / "ours")
    assert theirs == ours
    assert "host web01" in theirs["dhcp"] and any(name.startswith("pxelinux.cfg/01-") for name in theirs["tftp"])


def test_an_older_provisioner_python_is_refused_by_name():
    assert python_refusal(
        {"python": {"version_info": [3, 6, 8, "final", 0], "executable": "/usr/libexec/platform-python"}}
    ) == (
        "the provisioner's Python /usr/libexec/platform-python is 3.6.8; provisioner_sync needs Python 3.7 or later there "
        "(set ansible_python_interpreter to a newer one, e.g. /usr/bin/python3.9 on RHEL 8)"
    )
    assert python_refusal({"python": {"version_info": [3, 7, 0, "final", 0]}}) is None
    assert python_refusal({}) is None  # facts not gathered: the module runs, and a SyntaxError says the rest
