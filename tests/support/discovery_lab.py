# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The discovery role run on this machine (connection local, service manager "none") with every
path in a temporary folder, and a stand-in collector: two small files named vmlinuz and
initrd.img that are no kernel (the real ones come from `make collector`)."""

import json
import os
import sys

from support.ansible_cli import ansible_env, playbook_recap, run

PLAY = """\
- name: Discovery on a provisioner
  hosts: prov
  gather_facts: false
  roles:
    - role: baremetal.provision.discovery
"""


def paths(root):
    """Where the role writes, all under root."""
    root = str(root)
    return {
        "tftp": os.path.join(root, "tftp"),
        "code": os.path.join(root, "lib", "discovery"),
        "spool": os.path.join(root, "state", "discovered"),
        "include": os.path.join(root, "nginx", "baremetal-provision.d"),
        "collector": os.path.join(root, "collector"),
    }


def stand_in_collector(folder):
    """A stand-in collector: files with the names make collector gives, not a kernel."""
    os.makedirs(folder, exist_ok=True)
    for name in ("vmlinuz", "initrd.img"):
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(b"stand-in collector %s\n" % name.encode())


def role_vars(where, **extra):
    variables = {
        "bm_discovery_segments": ["dmz"],
        "discovery_service_manager": "none",
        "discovery_tftp_root": where["tftp"],
        "discovery_dir": where["code"],
        "discovery_spool_dir": where["spool"],
        "discovery_nginx_include_dir": where["include"],
        "discovery_collector_dir": where["collector"],
    }
    variables.update(extra)
    return variables


def run_role(tmp, variables, *args):
    """ansible-playbook with the role against this machine; (process, recap of the host)."""
    tmp = str(tmp)
    playbook = os.path.join(tmp, "discovery.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        handle.write(PLAY)
    inventory = os.path.join(tmp, "hosts.ini")
    with open(inventory, "w", encoding="utf-8") as handle:
        handle.write("prov ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    extra = os.path.join(tmp, "vars.json")
    with open(extra, "w", encoding="utf-8") as handle:
        json.dump(variables, handle)
    proc = run("ansible-playbook", ["-i", inventory, playbook, "-e", "@" + extra, *args], env=ansible_env(tmp=tmp))
    return proc, playbook_recap(proc.stdout).get("prov", {})
