# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The enlist playbook: a provisioner's discovery spool to spares in pools, as one commit on a
branch for review (or on the current branch when told), --check --diff changing nothing, the
enlisted and the known machines leaving the spool, and the others reported and kept.

The provisioner prov-dmz is this controller (connection local); its spool is a temporary folder
filled by the spool's own writer, as the discovery service fills it."""

import json
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from support.ansible_cli import ansible_env, run
from support.inventory import local_provisioner_vars, write_config
from support.store import FILES, tree_digest, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import discovery as D

POOL = """\
segment: dmz
enlist:
  - {product: "Standard PC (Q35 + ICH9, 2009)", hardware_model: qemu-q35}
  - {product: "PowerEdge R650", vendor: "Dell Inc.", hardware_model: r650}
machines:
  - {mac: "52:54:00:00:00:01", hardware_model: r650, serial: SN001}
"""


def report(mac, serial, product="PowerEdge R650", vendor="Dell Inc.", nics=()):
    return {
        "schema": 1,
        "collector": "baremetal.provision-collector/1",
        "boot": {"mac": mac, "source": "bootif", "mode": "bios"},
        "system": {"vendor": vendor, "product": product, "serial": serial, "uuid": ""},
        "cpus": 2,
        "memory_mib": 2048,
        "nics": [{"name": "eth0", "mac": mac, "carrier": True, "speed_mbps": 1000}]
        + [{"name": "eth%d" % (i + 1), "mac": m, "carrier": False, "speed_mbps": None} for i, m in enumerate(nics)],
        "disks": [{"name": "vda", "size_bytes": 8589934592, "model": "", "serial": "", "wwn": "", "rotational": True}],
        "bmc": None,
    }


def git(cwd, *args):
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def lab(tmp_path):
    files = dict(FILES)
    files["segments/dmz.yml"] += "discovery: true\n"
    files["pools/spares-dmz.yml"] = POOL
    records = Path(write_store(tmp_path / "repo" / "records", files))
    repo = tmp_path / "repo"
    (repo / ".gitignore").write_text(".baremetal.lock\n.baremetal.journal\n")
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(remote))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qm", "records")
    git(repo, "remote", "add", "origin", str(remote))
    git(repo, "push", "-q", "-u", "origin", "main")
    spool = tmp_path / "spool"
    now = time.time()
    limits = D.Limits(min_interval=0, per_source=0)
    found = [
        (report("52:54:00:aa:00:01", "SN100", nics=["52:54:00:aa:00:11"]), "192.0.2.201"),  # new: r650
        (report("52:54:00:aa:00:02", "SN101", product="Standard PC (Q35 + ICH9, 2009)", vendor="QEMU"), "192.0.2.202"),
        (report("52:54:00:00:00:01", "SN001"), "192.0.2.203"),  # the spare already in the pool boots again
        (report("52:54:00:aa:00:04", "SN001"), "192.0.2.204"),  # SN001's NIC was swapped
        (report("52:54:00:aa:00:05", "SN102", product="ProLiant DL380", vendor="HPE"), "192.0.2.205"),  # no rule
    ]
    for rep, source in found:
        assert D.write_report(str(spool), rep, source, now, limits)[0] == 201
    inventory = tmp_path / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    write_config(inventory, records_dir=str(records))
    (inventory / "host_vars" / "prov-dmz.yml").write_text(
        json.dumps(dict(local_provisioner_vars(), discovery_spool_dir=str(spool)))
    )
    env = ansible_env({"ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore"}, tmp=tmp_path)
    return {"records": records, "repo": repo, "remote": remote, "spool": spool, "inventory": str(inventory), "env": env}


def enlist(lab, *args):
    return run(
        "ansible-playbook",
        ["-i", lab["inventory"], "baremetal.provision.enlist", "--limit", "prov-dmz,localhost", *args],
        env=lab["env"],
    )


def spool_macs(lab):
    return sorted(p.name for p in lab["spool"].glob("*.json"))


def test_check_diff_shows_the_spares_and_changes_nothing(lab):
    before = (tree_digest(lab["records"]), spool_macs(lab), git(lab["remote"], "for-each-ref"))
    proc = enlist(lab, "--check", "--diff")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert '+  - {mac: "52:54:00:aa:00:01", hardware_model: r650, serial: SN100' in out
    assert "hardware_model: qemu-q35" in out
    assert "2 added, 1 known, 1 with changed hardware, 1 unmatched" in out
    assert (tree_digest(lab["records"]), spool_macs(lab), git(lab["remote"], "for-each-ref")) == before


def test_enlist_commits_on_a_branch_for_review_and_empties_the_spool_of_what_it_settled(lab):
    main_before = git(lab["remote"], "rev-parse", "main")
    records_before = tree_digest(lab["records"])
    proc = enlist(lab, "-e", "enlist_branch=enlist/rack12", "-e", json.dumps({"git_author_name": "Ops Person"}))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "2 added, 1 known, 1 with changed hardware, 1 unmatched" in out
    assert "on branch enlist/rack12" in out
    # the remote: main untouched, the branch one commit on top of it with only the pool file
    assert git(lab["remote"], "rev-parse", "main") == main_before
    assert git(lab["remote"], "rev-parse", "enlist/rack12~1") == main_before
    assert git(lab["remote"], "log", "-1", "--format=%an|%s", "enlist/rack12") == (
        "Ops Person|enlist 2 machine(s): spares-dmz: SN100, SN101"
    )
    changed = git(lab["remote"], "diff", "--name-only", "main", "enlist/rack12").splitlines()
    assert changed == ["records/pools/spares-dmz.yml"]
    pool = yaml.safe_load(git(lab["remote"], "show", "enlist/rack12:records/pools/spares-dmz.yml"))
    added = {m["mac"]: m for m in pool["machines"]}
    assert added["52:54:00:aa:00:01"]["hardware_model"] == "r650"
    assert added["52:54:00:aa:00:01"]["other_macs"] == ["52:54:00:aa:00:11"]
    assert added["52:54:00:aa:00:02"]["hardware_model"] == "qemu-q35" and added["52:54:00:aa:00:02"]["vendor"] == "QEMU"
    assert "52:54:00:aa:00:04" not in added and "52:54:00:aa:00:05" not in added
    # the operator's work tree is as it was (the change waits on its branch)
    assert tree_digest(lab["records"]) == records_before
    assert git(lab["repo"], "status", "--porcelain") == ""
    # the enlisted and the known left the spool; changed hardware and unmatched stay for a person
    assert spool_macs(lab) == ["52-54-00-aa-00-04.json", "52-54-00-aa-00-05.json"]
    assert "serial SN001 is the spare 52:54:00:00:00:01" in out
    assert "no enlist rule of a pool of segment dmz matches vendor 'HPE' product 'ProLiant DL380'" in out


def test_enlist_direct_commits_on_the_current_branch_and_a_second_run_adds_nothing(lab):
    proc = enlist(lab, "-e", "enlist_direct=true")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert git(lab["remote"], "log", "-1", "--format=%s", "main") == "enlist 2 machine(s): spares-dmz: SN100, SN101"
    pool = yaml.safe_load((lab["records"] / "pools" / "spares-dmz.yml").read_text())
    assert [m["mac"] for m in pool["machines"]] == ["52:54:00:00:00:01", "52:54:00:aa:00:01", "52:54:00:aa:00:02"]
    # the enlisted machine boots again before anyone powers it off: known now, nothing added
    assert (
        D.write_report(
            str(lab["spool"]), report("52:54:00:aa:00:01", "SN100"), "192.0.2.201", time.time(), D.Limits(16, 0, 0)
        )[0]
        == 201
    )
    again = enlist(lab, "-e", "enlist_direct=true")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 added, 1 known" in again.stdout
    assert git(lab["remote"], "log", "-1", "--format=%s", "main") == "enlist 2 machine(s): spares-dmz: SN100, SN101"
    assert "52-54-00-aa-00-01.json" not in spool_macs(lab)


def test_redfish_bmcs_enlist_the_machine_behind_each_bmc_on_the_segment_given(lab, tmp_path):
    """Out of band: sushy-tools' sushy-static serves a DMTF-style mockup (Contoso 3500RX, serial
    437XR1138R2); a pool rule for that product makes it a spare, with the NIC given as pxe_mac."""
    from support.sushy import SushyStatic

    mockup = Path(__file__).parent.parent / "fixtures" / "redfish-mockup"
    records = lab["records"]
    (records / "pools" / "spares-dmz.yml").write_text(
        POOL.replace("enlist:\n", 'enlist:\n  - {product: "3500RX", vendor: Contoso, hardware_model: rx3500}\n')
    )
    git(lab["repo"], "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "-qam", "rule for the 3500RX")
    git(lab["repo"], "push", "-q")
    for path in lab["spool"].glob("*.json"):
        path.unlink()  # only the Redfish find this time
    with SushyStatic(tmp_path, mockup) as bmc:
        bmcs = {
            "redfish_segment": "dmz",
            "redfish_bmcs": [
                {"address": "127.0.0.1", "port": bmc.port, "scheme": "http", "pxe_mac": "12:44:6a:3b:04:12"}
            ],
        }
        proc = enlist(lab, "-e", "enlist_direct=true", "-e", json.dumps(bmcs))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "1 added, 0 known" in out, out
    pool = yaml.safe_load((records / "pools" / "spares-dmz.yml").read_text())
    spare = pool["machines"][-1]
    assert (spare["mac"], spare["hardware_model"], spare["serial"]) == ("12:44:6a:3b:04:12", "rx3500", "437XR1138R2")
    assert spare["uuid"] == "38947555-7742-3448-3784-823347823834" and "via redfish" in spare["enlisted"]
    assert git(lab["remote"], "log", "-1", "--format=%s", "main") == "enlist 1 machine(s): spares-dmz: 437XR1138R2"
