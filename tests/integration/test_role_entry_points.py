# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' vars entry point (tasks_from: vars) checks the role's variables, as main does."""

import json
import sys

import pytest
from support.ansible_cli import ansible_env, run

PLAY = """\
- name: The role's variables only
  hosts: prov
  gather_facts: false
  tasks:
    - name: Variables of the role
      ansible.builtin.import_role:
        name: baremetal.provision.%(role)s
        tasks_from: vars
    - name: Show the render options
      ansible.builtin.debug:
        msg: "%(key)s={{ %(options)s.%(key)s }}"
"""
OPTIONS = {"dhcp": "_dhcp_sync_options", "tftp": "_tftp_sync_options", "kickstart": "_kickstart_sync_options"}


def _play(tmp_path, role, variables):
    playbook = tmp_path / "vars.yml"
    playbook.write_text(PLAY % {"role": role, "options": OPTIONS[role], "key": "server" if role == "dhcp" else "root"})
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("prov ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    args = ["-i", str(inventory), str(playbook), "-e", json.dumps(variables)]
    return run("ansible-playbook", args, env=ansible_env(tmp=tmp_path))


@pytest.mark.parametrize(
    "role, variables, option",
    [
        ("dhcp", {"dhcp_server": "isc"}, "server=isc"),
        ("tftp", {"tftp_root": "/srv/boot"}, "root=/srv/boot"),
        ("kickstart", {"kickstart_web_root": "/srv/www"}, "root=/srv/www"),
    ],
)
def test_vars_entry_point_sets_the_render_options(tmp_path, role, variables, option):
    proc = _play(tmp_path, role, variables)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validating arguments against arg spec 'vars'" in proc.stdout
    assert option in proc.stdout, proc.stdout


@pytest.mark.parametrize(
    "role, variables, message",
    [
        ("dhcp", {"dhcp_server": "dhcpd"}, "value of dhcp_server must be one of: isc, kea, got: dhcpd"),
        ("dhcp", {"dhcp_interfaces": {"eth0": True}}, "dhcp_interfaces"),
        ("tftp", {"tftp_service_manager": "runit"}, "value of tftp_service_manager must be one of: systemd, none"),
        ("kickstart", {"kickstart_callback_port": "http"}, "kickstart_callback_port"),
    ],
)
def test_vars_entry_point_refuses_bad_variables_before_any_task(tmp_path, role, variables, message):
    proc = _play(tmp_path, role, variables)
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Validating arguments against arg spec 'vars'" in proc.stdout
    assert message in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    assert "TASK [Show the render options]" not in proc.stdout


RENDER = """\
- name: Each role's part of a one-pass render
  hosts: prov
  gather_facts: false
  tasks:
    - name: DHCP's part
      ansible.builtin.import_role: {name: baremetal.provision.dhcp, tasks_from: render}
    - name: TFTP's part
      ansible.builtin.import_role: {name: baremetal.provision.tftp, tasks_from: render}
    - name: Install configs' part
      ansible.builtin.import_role: {name: baremetal.provision.kickstart, tasks_from: render}
    - name: Show the parts
      ansible.builtin.debug:
        msg: "parts={{ provisioner_render.keys() | sort | join(',') }} server={{ provisioner_render.dhcp.server }}
          tftp={{ provisioner_render.tftp.root }} web={{ provisioner_render.web.root }}"
    - name: A component the render does not know is refused by name
      baremetal.provision.provisioner_sync:
        records_dir: /nonexistent
        components: "{{ provisioner_render | combine({'radius': {}}) }}"
      register: unknown
      ignore_errors: true
    - name: Show the refusal
      ansible.builtin.debug:
        msg: "refused={{ unknown.msg }}"
"""


def test_render_entry_points_give_one_render_every_part(tmp_path):
    playbook = tmp_path / "render.yml"
    playbook.write_text(RENDER)
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("prov ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    variables = {"dhcp_server": "kea", "tftp_root": "/srv/boot", "kickstart_web_root": "/srv/www"}
    args = ["-i", str(inventory), str(playbook), "-e", json.dumps(variables)]
    proc = run("ansible-playbook", args, env=ansible_env(tmp=tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validating arguments against arg spec 'render'" in proc.stdout
    assert "parts=dhcp,tftp,web server=kea tftp=/srv/boot web=/srv/www" in proc.stdout, proc.stdout
    assert "refused=components: radius: not a component provisioner_sync renders (dhcp, tftp, web)" in proc.stdout
