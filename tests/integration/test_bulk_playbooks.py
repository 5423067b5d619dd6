# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bulk changes through the real playbooks: a list of replacements and a list of retirements, each
one commit, one render on the provisioner (prov-dmz, this controller with service_manager=none, its
DHCP config checked by the real dhcpd -t), and the power control of every machine that has a BMC
(stand-in Redfish BMCs on loopback, tests/support/bmc.py)."""

import json
import os
import re
import subprocess

import pytest
from support.ansible_cli import playbook_recap, run
from support.bmc import RESET, MachineStandIn, RedfishStandIn
from support.inventory import local_provisioner_lab
from support.store import commit_store, tree_digest

PASSWORD = "bulk-lab-password"
SYSTEM = """\
tier: web
hardware_model: r650
interfaces:
  - {name: eth0, mac: "%s", ip: %s, primary: true}
bmc: {type: redfish, address: 127.0.0.1, port: %d, username: admin, password_var: lab_bmc_password}
build: {generation: 1}
"""
OLD = {"web02": "52:54:00:12:35:02", "web03": "52:54:00:12:35:03"}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The sample store plus web02 and web03, each with a stand-in Redfish BMC, in git; site done."""
    bmcs = {name: RedfishStandIn(MachineStandIn(), password=PASSWORD) for name in OLD}
    try:
        lab = local_provisioner_lab(tmp_path_factory.mktemp("bulk"))
        for number, (name, mac) in enumerate(sorted(OLD.items())):
            path = os.path.join(lab["records"], "systems", name + ".yml")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(SYSTEM % (mac, "192.0.2.%d" % (70 + number), bmcs[name].port))
        commit_store(lab["records"])
        site = run(
            "ansible-playbook",
            ["-i", lab["inventory"], "baremetal.provision.site", "--limit", "prov-dmz"],
            env=lab["env"],
        )
        assert site.returncode == 0, site.stdout[-3000:] + site.stderr
        lab["bmcs"] = bmcs
        yield lab
    finally:
        for bmc in bmcs.values():
            bmc.close()


def _play(lab, name, *args):
    return run(
        "ansible-playbook",
        ["-i", lab["inventory"], "baremetal.provision." + name, "-e", "bmc_scheme=http", *args],
        env=dict(lab["env"], LAB_BMC_PASSWORD=PASSWORD),
    )


def _git(lab, *args):
    return subprocess.run(["git", "-C", lab["records"], *args], capture_output=True, text=True, check=True).stdout


def _dhcp(lab):
    with open(os.path.join(lab["out"], "dhcpd.conf"), encoding="utf-8") as handle:
        return handle.read()


def _results(stdout, task):
    """The result lines (host and status) the task printed."""
    section = stdout.split("TASK [%s" % task, 1)[1].split("\nTASK [", 1)[0].split("\nPLAY ", 1)[0]
    return re.findall(r"^(ok|changed|failed|fatal|skipping): \[([^\]]+)\]", section, re.M)


def _vault_vars(tmp_path):
    """The BMC password as the playbooks take it: a variable the record names (a vaulted one in use)."""
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"lab_bmc_password": PASSWORD}))
    return "@%s" % path


def test_a_bad_item_refuses_the_list_or_with_partial_the_run_fails_at_its_end(lab):
    before = tree_digest(lab["records"]), tree_digest(lab["out"])
    commits = int(_git(lab, "rev-list", "--count", "HEAD"))
    items = [{"name": "web01", "mac": "52:54:00:aa:bb:01"}, {"name": "web03", "mac": "52:54:00:12:34:60"}]

    proc = _play(lab, "replace", "-e", json.dumps({"replacements": items}))

    assert proc.returncode != 0
    assert "1 of 2 items have problems (web03)" in proc.stdout
    assert (
        "systems/web03.yml: interfaces[0].mac: MAC 52:54:00:12:34:60 is also used by systems/app01.yml" in proc.stdout
    )
    assert (tree_digest(lab["records"]), tree_digest(lab["out"])) == before
    assert "prov-dmz" not in playbook_recap(proc.stdout), "the provisioner must not be reached"

    proc = _play(lab, "replace", "-e", json.dumps({"replacements": items, "partial": True}))

    assert proc.returncode != 0, "a list not applied whole is not a success"
    assert int(_git(lab, "rev-list", "--count", "HEAD")) == commits + 1
    assert _git(lab, "log", "-1", "--format=%s").strip() == "replace 1 system: web01"
    assert "hardware ethernet 52:54:00:aa:bb:01;" in _dhcp(lab), "the valid item is rendered"
    assert "52:54:00:12:35:03" in _dhcp(lab), "the refused item keeps its MAC"
    failed = proc.stdout.split("TASK [Fail when items of the list were not applied", 1)[1]
    assert "1 of 2 items were not applied (web03); the other 1 were applied and committed" in failed
    assert "MAC 52:54:00:12:34:60 is also used by systems/app01.yml" in failed


def test_three_replacements_are_one_commit_one_render_and_every_power_cycle(lab, tmp_path):
    commits = int(_git(lab, "rev-list", "--count", "HEAD"))
    rack = tmp_path / "rack.yml"
    rack.write_text(
        "replacements:\n"
        "  - {name: web01, from_pool: spares-dmz}\n"
        "  - {name: web02, mac: '52:54:00:aa:bb:02'}\n"
        "  - {name: web03, mac: '52:54:00:aa:bb:03'}\n"
    )

    proc = _play(lab, "replace", "-e", "@%s" % rack, "-e", _vault_vars(tmp_path))

    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert int(_git(lab, "rev-list", "--count", "HEAD")) == commits + 1
    assert _git(lab, "log", "-1", "--format=%s").strip() == "replace 3 systems: web01, web02, web03"
    assert "replace web01: 52:54:00:aa:bb:01 -> 52:54:00:00:00:01 (spare SN001 from pool spares-dmz)" in _git(
        lab, "log", "-1", "--format=%b"
    )
    # one render of the whole change, on the one provisioner the three share
    assert _results(proc.stdout, "Render DHCP, TFTP and install configs") == [("changed", "prov-dmz")]
    dhcp = _dhcp(lab)
    for mac in ("52:54:00:00:00:01", "52:54:00:aa:bb:02", "52:54:00:aa:bb:03"):
        assert "hardware ethernet %s;" % mac in dhcp
    for mac in ("52:54:00:aa:bb:01", *OLD.values()):
        assert mac not in dhcp
    # each machine with a BMC: a network boot once, then power on (the stand-ins were off)
    for name, bmc in lab["bmcs"].items():
        assert ("POST", RESET, {"ResetType": "On"}) in bmc.calls, (name, bmc.calls)
        assert bmc.machine.switched == ["on"], name
    # web01's spare has no BMC: the operator is told, nothing is power-cycled
    assert "web01 has no bmc in its record: power on the machine with MAC 52:54:00:00:00:01" in proc.stdout


def test_a_list_of_retirements_is_one_commit_and_one_render(lab):
    commits = int(_git(lab, "rev-list", "--count", "HEAD"))
    calls = {name: len(bmc.calls) for name, bmc in lab["bmcs"].items()}
    items = [{"name": "web02"}, {"name": "web03", "to_pool": "spares-dmz"}]

    proc = _play(lab, "retire", "-e", json.dumps({"systems": items}))

    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert int(_git(lab, "rev-list", "--count", "HEAD")) == commits + 1
    assert _git(lab, "log", "-1", "--format=%s").strip() == "retire 2 systems: web02, web03"
    assert _results(proc.stdout, "Render DHCP, TFTP and install configs") == [("changed", "prov-dmz")]
    dhcp = _dhcp(lab)
    assert "52:54:00:aa:bb:02" not in dhcp and "52:54:00:aa:bb:03" not in dhcp
    assert not os.path.exists(os.path.join(lab["records"], "systems", "web02.yml"))
    with open(os.path.join(lab["records"], "pools", "spares-dmz.yml"), encoding="utf-8") as handle:
        assert "52:54:00:aa:bb:03" in handle.read()
    assert {name: len(bmc.calls) for name, bmc in lab["bmcs"].items()} == calls, "a retirement powers nothing"


def test_the_render_takes_the_view_the_record_change_left(lab):
    """The systems module's result names the fingerprint of the provisioner's view it cached; the
    render takes that view (the records as the change committed them) without scanning the store."""
    proc = _play(lab, "replace", "-e", "system=web01", "-e", "mac=52:54:00:aa:bb:11", "-vvv")

    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert re.search(r"prov-dmz: the view of \S+ left by the record change", proc.stdout), proc.stdout[-4000:]
    assert "hardware ethernet 52:54:00:aa:bb:11;" in _dhcp(lab)
