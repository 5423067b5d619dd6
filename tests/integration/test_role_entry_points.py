# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' entry points: vars and render check the role's variables, as main does; install and
serve make site's one install and one render, which a no-op site over SSH shows by the modules it
sends the provisioner."""

import collections
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from support import provisioner as P
from support.ansible_cli import ansible_env, playbook_recap, run
from support.netns import Lab, have_root
from support.store import FILES, served_by_lab_provisioner, write_store

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


INSTALL = """\
- name: Each role's parts of site's one-pass install and render
  hosts: prov
  gather_facts: false
  tasks:
    - name: DHCP's part
      ansible.builtin.import_role: {name: baremetal.provision.dhcp, tasks_from: install}
    - name: TFTP's part
      ansible.builtin.import_role: {name: baremetal.provision.tftp, tasks_from: install}
    - name: Install configs' part
      ansible.builtin.import_role: {name: baremetal.provision.kickstart, tasks_from: install}
    - name: Discovery's part
      ansible.builtin.import_role: {name: baremetal.provision.discovery, tasks_from: install}
    - name: Show the parts
      ansible.builtin.debug:
        msg: "packages={{ provisioner_packages | join(',') }} parts={{ provisioner_render.keys() | sort | join(',') }}
          loaders={{ provisioner_render.tftp.copies | list | sort | join(',') }}
          callback={{ provisioner_render.web.callback_files | list | sort | first }}"
"""


@pytest.mark.parametrize(
    "variables, packages",
    [
        # the DHCP server's, the TFTP server's and boot loaders', nginx's; python3 once
        (
            {"dhcp_server": "kea", "bm_discovery_segments": ["dmz"], "discovery_collector_dir": "/"},
            "kea-dhcp4-server,tftpd-hpa,pxelinux,syslinux-common,grub-efi-amd64-signed,shim-signed,ipxe,"
            "nginx-light,python3,python3-jinja2",
        ),
        # IPv6 segments add Kea DHCPv6 and radvd; a role told not to install adds none
        (
            {"bm_ipv6_segments": ["dmz"], "tftp_install_packages": False},
            "isc-dhcp-server,kea-dhcp6-server,radvd,nginx-light,python3,python3-jinja2",
        ),
    ],
)
def test_install_entry_points_give_one_install_and_one_render(tmp_path, variables, packages):
    (tmp_path / "vmlinuz").write_text("stand-in\n")
    (tmp_path / "initrd.img").write_text("stand-in\n")
    if "discovery_collector_dir" in variables:
        variables = dict(variables, discovery_collector_dir=str(tmp_path))
    playbook = tmp_path / "install.yml"
    playbook.write_text(INSTALL)
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("prov ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    args = ["-i", str(inventory), str(playbook), "-e", json.dumps(variables)]
    proc = run("ansible-playbook", args, env=ansible_env(tmp=tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validating arguments against arg spec 'install'" in proc.stdout
    # main's whole render: the boot loaders copied, the callback service's files written
    assert (
        "packages=%s parts=dhcp,tftp,web loaders=grub/grubx64.efi,grub/shimx64.efi,ipxe.efi,ipxe/snponly.efi,"
        "ldlinux.c32,libutil.c32,lpxelinux.0,menu.c32,pxelinux.0,undionly.kpxe callback=bm_callback.py" % packages
    ) in proc.stdout, proc.stdout


def test_install_entry_point_refuses_bad_variables_before_any_task(tmp_path):
    playbook = tmp_path / "install.yml"
    playbook.write_text(INSTALL)
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("prov ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    args = ["-i", str(inventory), str(playbook), "-e", json.dumps({"dhcp_server": "dhcpd"})]
    proc = run("ansible-playbook", args, env=ansible_env(tmp=tmp_path))
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "Validating arguments against arg spec 'install'" in proc.stdout
    assert "value of dhcp_server must be one of: isc, kea, got: dhcpd" in proc.stdout + proc.stderr
    assert "Check the provisioner's OS family" not in proc.stdout


PROV_IP = "192.0.2.10"
# the install template of the records asks for one (a stand-in hash)
SECRETS = {
    "root_password_hash": "$6$saltsalt$0123456789abcdefghijklmnopqrstuvwxyz"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ./0123456789abcdefghijklmn"
}
# -vvv of the ssh connection: "PUT <local file> TO <remote tmp>/AnsiballZ_<module>.py", one a module run
PAYLOAD = re.compile(r"\bTO \S*/AnsiballZ_(\w+)\.py\b")


@pytest.mark.skipif(
    not have_root() or shutil.which("mmdebstrap") is None or shutil.which("systemd-nspawn") is None,
    reason="needs root, mmdebstrap and systemd-nspawn (make deps)",
)
def test_a_no_op_site_sends_one_install_and_one_render_over_ssh(tmp_path):
    """Every module sent over SSH is a round trip and a payload: a no-op site sends the provisioner
    one apt and one provisioner_sync for all its roles, and a role alone (its main) its own one."""
    files = served_by_lab_provisioner(PROV_IP)
    files["systems/web01.yml"] = FILES["systems/web01.yml"]
    records = write_store(tmp_path / "records", files)
    images = tmp_path / "images"
    images.mkdir()
    for name in ("vmlinuz", "initrd.img"):
        (images / name).write_text("stand-in %s\n" % name)
    inventory = tmp_path / "inventory"
    inventory.mkdir()
    (inventory / "fleet.baremetal.yml").write_text("plugin: baremetal.provision.records\nrecords_dir: %s\n" % records)
    alone = tmp_path / "dhcp-alone.yml"
    alone.write_text(
        "- name: The dhcp role alone\n  hosts: provisioners\n  roles:\n"
        "    - {role: baremetal.provision.dhcp, dhcp_records_dir: %s}\n" % records
    )
    env = ansible_env({"ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore"}, tmp=tmp_path)
    lab = Lab("bme")
    try:
        ns = lab.namespace("lab")
        lab.bridge(ns, "br0", "192.0.2.1/24")
        with P.booted(lab, ns, "br0", PROV_IP + "/24", tmp_path, binds=[(str(images), "/srv/images")]) as server:
            host = dict(server.inventory_vars(), kickstart_secrets=SECRETS)
            (inventory / "hosts.yml").write_text(json.dumps({"all": {"hosts": {"prov-lab": host}}}))

            def play(*args):
                cmd = ["ip", "netns", "exec", ns, os.path.join(os.path.dirname(sys.executable), "ansible-playbook")]
                proc = subprocess.run(
                    [*cmd, "-i", str(inventory), *args], env=env, capture_output=True, text=True, check=False
                )
                assert proc.returncode == 0, proc.stdout[-8000:] + proc.stderr[-3000:]
                return playbook_recap(proc.stdout)["prov-lab"], collections.Counter(PAYLOAD.findall(proc.stdout))

            first, sent = play("baremetal.provision.site", "-vvv")
            assert first["changed"] > 0 and sent["apt"] == 1 and sent["provisioner_sync"] == 1, (first, sent)
            again, sent = play("baremetal.provision.site", "-vvv")
            assert again["changed"] == 0, again
            assert sent["apt"] == 1 and sent["provisioner_sync"] == 1, sent
            alone_recap, sent = play(str(alone), "-vvv")
            assert alone_recap["changed"] == 0, alone_recap
            assert sent["apt"] == 1 and sent["provisioner_sync"] == 1, sent
            assert server.ssh("systemctl --failed --no-legend --plain").stdout == ""
    finally:
        lab.close()
