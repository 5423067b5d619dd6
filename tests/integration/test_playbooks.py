# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's playbooks: refusals before any change, --check --diff, retire, provision.

The provisioner prov-dmz runs here with service_manager=none; its files go to a temporary folder
and its DHCP config is checked by the real dhcpd -t.
"""

import os
import re

import pytest
from support.ansible_cli import playbook_recap, run
from support.inventory import local_provisioner_lab, write_config
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
