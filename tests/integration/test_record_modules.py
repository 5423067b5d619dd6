# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The record modules through real ansible-playbook runs, and many module runs at once."""

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest
from support.ansible_cli import REPO, ansible_env, playbook_recap, run
from support.modules import run_module
from support.store import tree_digest, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore

PLAY = """\
- name: Records for the DMZ
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/baremetal.provision.records:
      records_dir: {records}
  tasks:
    - name: Segment
      baremetal.provision.segment:
        name: dmz
        network: 192.0.2.0/24
        gateway: 192.0.2.1
        dns: [192.0.2.53]
        domain: dmz.example.test
        provisioner: prov-dmz
        next_server: 192.0.2.1
        dynamic_range: [192.0.2.200, 192.0.2.250]
    - name: Distro
      baremetal.provision.distro:
        name: rocky9
        family: redhat
        kernel: /srv/images/rocky9/vmlinuz
        initrd: /srv/images/rocky9/initrd.img
    - name: Profile and its template
      baremetal.provision.profile:
        name: rocky9-web
        distro: rocky9
        template_src: {template}
        kernel_options: {{console: ttyS0, inst.text: null}}
    - name: Tier
      baremetal.provision.tier:
        name: web
        segment: dmz
        profile: rocky9-web
    - name: System
      baremetal.provision.system:
        name: {system}
        tier: web
        hardware_model: r650
        mac: "{mac}"
        ip: {ip}
"""


@pytest.fixture
def lab(tmp_path):
    records = tmp_path / "records"
    template = tmp_path / "rocky9-web.ks.j2"
    template.write_text("text\nurl --url={{ install_tree }}\n")
    env = ansible_env(tmp=tmp_path)

    def play(system="web01", mac="52:54:00:12:34:56", ip="192.0.2.50", extra=()):
        path = tmp_path / "play.yml"
        path.write_text(PLAY.format(records=records, template=template, system=json.dumps(system), mac=mac, ip=ip))
        return run("ansible-playbook", ["-i", "localhost,", str(path), *list(extra)], env=env)

    return play, str(records)


def test_create_then_rerun_is_idempotent_and_check_diff_writes_nothing(lab):
    play, records = lab
    first = play()
    assert first.returncode == 0, first.stdout + first.stderr
    assert playbook_recap(first.stdout)["localhost"]["changed"] == 5
    store = RecordStore.load(records)
    assert store.problems() == []
    assert store.resolve_system("web01")["kernel_options"] == "console=ttyS0 inst.text"
    assert sorted(os.listdir(os.path.join(records, "templates"))) == ["rocky9-web.ks.j2"]

    second = play()
    assert second.returncode == 0
    assert playbook_recap(second.stdout)["localhost"]["changed"] == 0

    before = tree_digest(records)
    check = play(ip="192.0.2.51", extra=["--check", "--diff"])
    assert check.returncode == 0, check.stdout
    assert playbook_recap(check.stdout)["localhost"]["changed"] == 1
    assert "--- before: systems/web01.yml" in check.stdout
    assert '-  - {name: eth0, mac: "52:54:00:12:34:56", ip: 192.0.2.50, primary: true}' in check.stdout
    assert '+  - {name: eth0, mac: "52:54:00:12:34:56", ip: 192.0.2.51, primary: true}' in check.stdout
    assert tree_digest(records) == before


def test_duplicate_mac_and_hostile_hostname_are_refused_and_change_nothing(lab):
    play, records = lab
    assert play().returncode == 0
    before = tree_digest(records)

    dup = play(system="web02", mac="52-54-00-12-34-56", ip="192.0.2.51")
    assert dup.returncode != 0
    assert "systems/web02.yml: interfaces[0].mac: MAC 52:54:00:12:34:56 is also used by systems/web01.yml" in dup.stdout
    assert tree_digest(records) == before

    hostile = play(
        system="web02\nhost evil { hardware ethernet 52:54:00:00:00:66; }", mac="52:54:00:12:34:57", ip="192.0.2.51"
    )
    assert hostile.returncode != 0
    assert "is not an RFC 1123" in hostile.stdout
    assert tree_digest(records) == before


def test_many_module_runs_at_once_lose_nothing(tmp_path):
    records = write_store(tmp_path / "records")
    jobs = []
    for i in range(40):
        jobs.append(
            (
                "system",
                {
                    "records_dir": records,
                    "name": "web%03d" % (i + 10),
                    "tier": "web",
                    "hardware_model": "r650",
                    "mac": "52:54:00:20:00:%02x" % i,
                    "ip": "192.0.2.%d" % (100 + i),
                },
            )
        )
    for _i in range(12):
        jobs.append(("system", {"records_dir": records, "name": "web01", "reinstall": True}))
    for i in range(12):
        jobs.append(
            (
                "pool",
                {
                    "records_dir": records,
                    "name": "spares-dmz",
                    "add": [{"mac": "52:54:00:30:00:%02x" % i, "hardware_model": "r650", "serial": "X%d" % i}],
                },
            )
        )
    # interleave the kinds so that creates, updates of one record and pool edits race each other
    jobs = [jobs[i] for i in sorted(range(len(jobs)), key=lambda i: (i * 7919) % len(jobs))]
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda job: run_module(*job), jobs))
    assert [r for r in results if r.get("failed")] == []
    store = RecordStore.load(records)
    assert store.problems() == []
    assert len(store.names("systems")) == 2 + 40
    assert store.resolve_system("web01")["build_generation"] == 1 + 12  # no reinstall lost
    assert len(store.data("pools", "spares-dmz")["machines"]) == 3 + 12  # no spare lost
    assert not [f for f in os.listdir(records) if f.startswith(".baremetal.journal")]


def test_validate_playbook_passes_a_good_store_and_lists_every_problem_of_a_bad_one(tmp_path):
    env = ansible_env(tmp=tmp_path)
    playbook = os.path.join(REPO, "playbooks", "validate.yml")
    good = write_store(tmp_path / "good")
    ok = run("ansible-playbook", ["baremetal.provision.validate", "-e", "records_dir=%s" % good], env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "is valid: segments=2, tiers=2, distros=1, profiles=2, systems=2, pools=1, templates=1" in ok.stdout

    bad = write_store(
        tmp_path / "bad",
        extra={
            "systems/web02.yml": 'tier: web\ninterfaces:\n  - {name: eth0, mac: "52:54:00:12:34:56", ip: 192.0.2.250}\n',
            "tiers/db.yml": "segment: nowhere\n",
        },
    )
    before = tree_digest(bad)
    failed = run("ansible-playbook", [playbook, "-e", "records_dir=%s" % bad], env=env)
    assert failed.returncode != 0
    for text in (
        "systems/web02.yml: interfaces[0].mac: MAC 52:54:00:12:34:56 is also used by systems/web01.yml",
        "systems/web02.yml: interfaces[0].ip: 192.0.2.250 is inside the dynamic range",
        "tiers/db.yml: segment: segment 'nowhere' does not exist",
    ):
        assert text in failed.stdout, failed.stdout
    assert tree_digest(bad) == before


def test_an_ipv6_only_segment_and_system_through_the_modules(tmp_path):
    """segment's ipv6 and system's ipv6 write what the store checks; a bad one changes nothing."""
    records = write_store(str(tmp_path / "records"))
    segment = run_module(
        "segment",
        {
            "records_dir": records,
            "name": "dc2",
            "provisioner": "prov-dc2",
            "ipv6": {
                "network": "2001:db8:30::/64",
                "next_server": "2001:DB8:30::1",
                "dynamic_range": ["2001:db8:30::1000", "2001:db8:30::1fff"],
            },
        },
    )
    assert segment.get("changed") and not segment.get("failed"), segment
    assert segment["record"]["ipv6"] == {
        "network": "2001:db8:30::/64",
        "next_server": "2001:db8:30::1",
        "dynamic_range": ["2001:db8:30::1000", "2001:db8:30::1fff"],
    }, segment["record"]
    tier = run_module("tier", {"records_dir": records, "name": "dc2", "segment": "dc2", "profile": "rocky9-web"})
    assert not tier.get("failed"), tier
    system = run_module(
        "system",
        {"records_dir": records, "name": "v601", "tier": "dc2", "mac": "00:00:5e:00:53:01", "ipv6": "2001:db8:30::50"},
    )
    assert system.get("changed") and not system.get("failed"), system
    assert system["record"]["interfaces"] == [
        {"name": "eth0", "mac": "00:00:5e:00:53:01", "ipv6": "2001:db8:30::50", "primary": True}
    ], system["record"]
    before = tree_digest(records)
    taken = run_module(
        "system",
        {"records_dir": records, "name": "v602", "tier": "dc2", "mac": "00:00:5e:00:53:02", "ipv6": "2001:db8:30::1"},
    )
    assert taken.get("failed") and "interfaces[0].ipv6: 2001:db8:30::1 is the ipv6.next_server" in taken["msg"], taken
    assert tree_digest(records) == before
