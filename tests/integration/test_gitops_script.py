# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""examples/gitops/baremetal-ci, the step a CI pipeline calls: validate on a pull request, apply
on merge. Its exit codes are the pipeline's verdict, so each one is checked with real runs of
ansible-playbook, under dash (a plain POSIX shell, as on a minimal CI image)."""

import os
import shutil
import subprocess

import pytest
from support.ansible_cli import REPO, ansible_env
from support.inventory import local_provisioner_lab, write_config
from support.store import FILES, tree_digest, write_store

SCRIPT = os.path.join(REPO, "examples", "gitops", "baremetal-ci")
SHELL = shutil.which("dash") or "/bin/sh"


def _ci(*args, cwd, env=None):
    return subprocess.run(
        [SHELL, SCRIPT, *args],
        cwd=str(cwd),
        env=env or ansible_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _invalid_files():
    files = dict(FILES)
    files["systems/web02.yml"] = files["systems/web01.yml"].replace("52:54:00:12:34:56", "52:54:00:12:34:5g")
    return files


def test_validate_passes_a_valid_store(tmp_path):
    write_store(tmp_path / "records")
    proc = _ci("validate", cwd=tmp_path)  # the default folder, records
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "baremetal-ci: records is valid" in proc.stdout


def test_validate_fails_an_invalid_store_naming_file_and_field(tmp_path):
    write_store(tmp_path / "store", _invalid_files())
    before = tree_digest(tmp_path / "store")
    proc = _ci("validate", "store", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "systems/web02.yml: interfaces[0].mac:" in proc.stdout, proc.stdout
    assert "52:54:00:12:34:5g" in proc.stdout
    assert "store is not valid" in proc.stderr
    assert tree_digest(tmp_path / "store") == before


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "usage: baremetal-ci validate"),
        (["deploy"], "usage: baremetal-ci validate"),
        (["validate", "a", "b"], "usage: baremetal-ci validate"),
        (["validate", "nowhere"], "nowhere: no such folder"),
        (["apply", "nowhere"], "nowhere: no such inventory"),
        (["apply", "inventory", "--limit", "x"], "usage:"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    (tmp_path / "inventory").mkdir()
    proc = _ci(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr


def test_a_missing_collection_is_a_setup_error_not_an_invalid_store(tmp_path):
    write_store(tmp_path / "records")
    env = ansible_env({"ANSIBLE_COLLECTIONS_PATH": str(tmp_path / "no-collections")}, tmp=tmp_path)
    proc = _ci("validate", cwd=tmp_path, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "the collection baremetal.provision is not installed" in proc.stderr


def test_apply_fails_when_the_inventory_did_not_load(tmp_path):
    records = write_store(tmp_path / "records", _invalid_files())
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    write_config(inventory, records_dir=records)
    proc = _ci("apply", cwd=tmp_path)  # the default inventory folder
    assert proc.returncode != 0, proc.stdout + proc.stderr
    output = proc.stdout + proc.stderr
    assert "systems/web02.yml: interfaces[0].mac:" in output
    assert "PLAY [Configure the provisioners" not in output
    assert "baremetal-ci: site failed" in proc.stderr


def test_apply_configures_the_provisioner_of_a_valid_store(tmp_path):
    lab = local_provisioner_lab(tmp_path)
    proc = _ci("apply", lab["inventory"], "--", "--limit", "prov-dmz", cwd=tmp_path, env=lab["env"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(os.path.join(lab["out"], "dhcpd.conf"), encoding="utf-8") as handle:
        assert "52:54:00:12:34:56" in handle.read()
    assert os.path.exists(os.path.join(lab["out"], "tftp", "pxelinux.cfg", "01-52-54-00-12-34-56"))
