# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory plugin through the real ansible-inventory and ansible-playbook commands."""

import json
import os

from support.ansible_cli import ansible_env, inventory_list, playbook_recap, run
from support.fleet import write_fleet
from support.inventory import write_config

PLAY = """\
- name: Every web server of the fleet
  hosts: tier_web
  connection: local
  gather_facts: false
  tasks:
    - name: Write what the inventory says of each web server
      ansible.builtin.copy:
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        content: "{{ {'mac': bm_mac, 'ip': ansible_host, 'segment': bm_segment, 'gen': bm_build_generation} | to_json }}"
        mode: "0644"
      delegate_to: localhost

- name: The spares of the DMZ
  hosts: pool_spares-dmz
  connection: local
  gather_facts: false
  tasks:
    - name: Write each spare's MAC and model
      ansible.builtin.copy:
        dest: "{{ out }}/{{ inventory_hostname }}.json"
        content: "{{ {'mac': bm_mac, 'model': bm_hardware_model, 'state': bm_state} | to_json }}"
        mode: "0644"
      delegate_to: localhost
"""


def _fleet(tmp_path):
    write_fleet(tmp_path / "records", 60, segments=4, supernet="192.0.2.0/24")
    return write_config(tmp_path, records_dir="records")


def test_graph_shows_tiers_segments_and_the_spares_of_each_pool(tmp_path):
    config = _fleet(tmp_path)
    proc = run("ansible-inventory", ["-i", config, "--graph"], env=ansible_env(tmp=tmp_path), check=True)
    graph = proc.stdout
    for group in ("@tier_web:", "@segment_dmz:", "@provisioners:", "@spares:", "@pool_spares-dmz:", "@model_r650:"):
        assert group in graph
    assert "spare-52-54-01-00-00-00" in graph
    listing = inventory_list(config, env=ansible_env(tmp=tmp_path))
    assert len(listing["systems"]["hosts"]) == 60
    assert sorted(listing["provisioners"]["hosts"]) == ["prov-app", "prov-data", "prov-dmz", "prov-mgmt"]
    assert listing["_meta"]["hostvars"]["web00000"]["bm_segment"] == "dmz"


def test_playbook_targets_a_tier_and_a_pool(tmp_path):
    config = _fleet(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAY)
    proc = run("ansible-playbook", ["-i", config, str(playbook), "-e", "out=%s" % out], env=ansible_env(tmp=tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = {name[:-5]: json.loads((out / name).read_text()) for name in os.listdir(str(out))}
    web = {k: v for k, v in written.items() if k.startswith("web")}
    spares = {k: v for k, v in written.items() if k.startswith("spare-")}
    listing = inventory_list(config, env=ansible_env(tmp=tmp_path))
    assert sorted(web) == sorted(listing["tier_web"]["hosts"]) and web
    assert all(v["segment"] == "dmz" and v["ip"].startswith("192.0.2.") for v in web.values())
    assert sorted(spares) == sorted(listing["pool_spares-dmz"]["hosts"]) and spares
    assert all(v["state"] == "spare" for v in spares.values())
    assert {v["mac"] for v in spares.values()} == {k[len("spare-") :].replace("-", ":") for k in spares}
    recap = playbook_recap(proc.stdout)
    assert set(recap) == set(web) | set(spares)
    assert all(counts["failed"] == 0 for counts in recap.values())


def test_invalid_store_fails_the_command_with_every_problem(tmp_path):
    config = _fleet(tmp_path)
    records = tmp_path / "records" / "systems"
    first = sorted(os.listdir(str(records)))[0]
    text = (records / first).read_text().replace("primary: true", "primary: maybe")
    (records / first).write_text(text)
    env = ansible_env({"ANSIBLE_INVENTORY_UNPARSED_FAILED": "1"}, tmp=tmp_path)
    proc = run("ansible-inventory", ["-i", config, "--list"], env=env)
    assert proc.returncode != 0
    assert "systems/%s: interfaces[0].primary" % first in proc.stderr


LEAN_PLAY = """\
- name: The web servers of a lean inventory, their merged records from system_info
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Read the merged records of the web tier
      baremetal.provision.system_info:
        tier: web
        records_dir: "{{ bm_records_dir }}"
      register: info

    - name: Write what the lean inventory and system_info say of each web server
      ansible.builtin.copy:
        dest: "{{ out }}/web.json"
        content: >-
          {{ {'hosts': dict(groups['tier_web'] | zip(groups['tier_web'] | map('extract', hostvars, 'ansible_host'))),
              'segments': dict(groups['tier_web'] | zip(groups['tier_web'] | map('extract', hostvars, 'bm_segment'))),
              'merged': info.systems} | to_json }}
        mode: "0644"
"""


def test_lean_inventory_reaches_the_same_hosts_and_system_info_gives_the_full_record(tmp_path):
    from ansible_collections.baremetal.provision.plugins.module_utils._views.inventory import SYSTEM_VARS

    full_config = _fleet(tmp_path)
    lean_config = write_config(tmp_path, name="lean.baremetal.yml", records_dir="records", host_vars="lean")
    out = tmp_path / "out"
    out.mkdir()
    playbook = tmp_path / "lean.yml"
    playbook.write_text(LEAN_PLAY)
    env = ansible_env(tmp=tmp_path)
    proc = run("ansible-playbook", ["-i", lean_config, str(playbook), "-e", "out=%s" % out], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    seen = json.loads((out / "web.json").read_text())
    full = inventory_list(full_config, env=env)
    web = sorted(full["tier_web"]["hosts"])
    assert web and sorted(seen["hosts"]) == web and sorted(m["name"] for m in seen["merged"]) == web
    hostvars = full["_meta"]["hostvars"]
    for host in web:
        assert seen["hosts"][host] == hostvars[host]["ansible_host"]
        assert seen["segments"][host] == hostvars[host]["bm_segment"]
    for merged in seen["merged"]:
        # what host_vars=full puts in bm_* is system_info's merged record, key for key
        full_vars = hostvars[merged["name"]]
        assert {key: merged[key] for key in SYSTEM_VARS} == {key: full_vars["bm_" + key] for key in SYSTEM_VARS}
    assert "bm_vars" in hostvars[web[0]]  # and the lean export leaves it out (test_inventory_export.py)


def test_site_and_replace_run_on_a_lean_inventory(tmp_path):
    from support.inventory import local_provisioner_lab

    lab = local_provisioner_lab(tmp_path)
    write_config(lab["inventory"], records_dir=lab["records"], host_vars="lean")  # replaces the full config
    inventory = ["-i", lab["inventory"]]
    site = run("ansible-playbook", [*inventory, "baremetal.provision.site", "--limit", "prov-dmz"], env=lab["env"])
    assert site.returncode == 0, site.stdout + site.stderr
    args = ["baremetal.provision.replace", "-e", "system=web01", "-e", "mac=52:54:00:12:34:99", "-vvv"]
    proc = run("ansible-playbook", [*inventory, *args], env=lab["env"])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "(host_vars=lean)" in proc.stdout and "(host_vars=full)" not in proc.stdout
    tftp = os.path.join(lab["out"], "tftp", "pxelinux.cfg")
    assert os.path.exists(os.path.join(tftp, "01-52-54-00-12-34-99"))
    assert not os.path.exists(os.path.join(tftp, "01-52-54-00-12-34-56"))
    with open(os.path.join(lab["out"], "dhcpd.conf"), encoding="utf-8") as handle:
        dhcp = handle.read()
    assert "52:54:00:12:34:99" in dhcp and "52:54:00:12:34:56" not in dhcp
