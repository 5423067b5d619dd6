# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small, valid record store written by hand, in the public file format, for tests."""

import hashlib
import os
import subprocess

FILES = {
    "segments/dmz.yml": """\
network: 192.0.2.0/24
gateway: 192.0.2.1
dns: [192.0.2.53]
domain: dmz.example.test
provisioner: prov-dmz
next_server: 192.0.2.1
dynamic_range: [192.0.2.200, 192.0.2.250]
""",
    "segments/app.yml": """\
network: 198.51.100.0/24
gateway: 198.51.100.1
domain: app.example.test
provisioner: prov-app
next_server: 198.51.100.1
kernel_options: {console: tty0}
vars: {ntp: 198.51.100.123, site: lab}
""",
    "tiers/web.yml": """\
segment: dmz
profile: rocky9-web
profiles_by_model: {r640: rocky9-legacy}
vars: {site: dmz-lab}
""",
    "tiers/app.yml": """\
segment: app
profile: rocky9-web
""",
    "distros/rocky9.yml": """\
family: redhat
arch: x86_64
kernel: /srv/images/rocky9/vmlinuz
initrd: {url: "http://192.0.2.1/images/rocky9/initrd.img", checksum: "sha256:%s"}
install_tree: http://192.0.2.1/repo/rocky9
"""
    % ("ab" * 32),
    "profiles/rocky9-web.yml": """\
distro: rocky9
template: rocky9.ks.j2
kernel_options: {console: ttyS0, inst.text: null}
vars: {role: web}
""",
    "profiles/rocky9-legacy.yml": """\
distro: rocky9
template: rocky9.ks.j2
boot_loader: pxelinux
""",
    "templates/rocky9.ks.j2": "# kickstart for {{ name }}\n",
    "systems/web01.yml": """\
tier: web
hardware_model: r650
interfaces:
  - {name: eth0, mac: "52:54:00:12:34:56", ip: 192.0.2.50, primary: true}
build: {generation: 1}
""",
    "systems/app01.yml": """\
tier: app
hardware_model: r640
interfaces:
  - {name: eth0, mac: "52:54:00:12:34:60", ip: 198.51.100.50, primary: true}
  - {name: eth1, mac: "52:54:00:12:34:61", ip: 192.0.2.60, segment: dmz}
vars: {role: app}
kernel_options: "~console quiet"
build: {generation: 3}
""",
    "pools/spares-dmz.yml": """\
segment: dmz
machines:
  - {mac: "52:54:00:00:00:01", hardware_model: r650, serial: SN001}
  - {mac: "52:54:00:00:00:02", hardware_model: r640, serial: SN002}
  - {mac: "52:54:00:00:00:03", hardware_model: r650, serial: SN003}
""",
}


# A kickstart pykickstart accepts (RHEL9), whose %post performs the netboot-once callback.
KICKSTART = """\
#version=RHEL9
# {{ name }} generation {{ build_generation }}
text
url --url={{ install_tree }}
lang en_US.UTF-8
keyboard us
timezone UTC --utc
rootpw --iscrypted {{ secrets.root_password_hash }}
network --bootproto=static --device={{ mac }} --ip={{ ip }} --netmask={{ network.netmask }} --gateway={{ network.gateway }} --hostname={{ fqdn }}
zerombr
clearpart --all --initlabel
autopart
reboot
%packages
@core
%end
%post
curl -fsS {{ callback_url }}
%end
"""


def served_by_lab_provisioner(prov_ip, provisioner="prov-lab"):
    """The sample's dmz segment, web tier, profiles, distro and kickstart as a lab provisioner at
    prov_ip serves them (its images under /srv/images, its install tree over HTTP): the records a
    test adds its systems to."""
    files = {
        path: FILES[path]
        for path in ("segments/dmz.yml", "tiers/web.yml", "profiles/rocky9-web.yml", "profiles/rocky9-legacy.yml")
    }
    files["segments/dmz.yml"] = (
        FILES["segments/dmz.yml"]
        .replace("provisioner: prov-dmz", "provisioner: " + provisioner)
        .replace("next_server: 192.0.2.1", "next_server: " + prov_ip)
    )
    files["distros/rocky9.yml"] = (
        "family: redhat\narch: x86_64\nkernel: /srv/images/vmlinuz\ninitrd: /srv/images/initrd.img\n"
        "install_tree: http://%s/repo/rocky9\n" % prov_ip
    )
    files["templates/rocky9.ks.j2"] = KICKSTART
    return files


def write_store(root, files=None, extra=None):
    """Write the sample store (or the given files) under root; return root."""
    contents = dict(FILES if files is None else files)
    contents.update(extra or {})
    for relpath, text in contents.items():
        path = os.path.join(str(root), relpath)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(text)
    return str(root)


def load_store(tmp_path, changes=None, **kwargs):
    """The sample store with some files replaced (value None removes the file), loaded.

    Keyword form: systems__web01_yml=... stands for systems/web01.yml.
    """
    from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore

    files = dict(FILES)
    changes = dict(changes or {})
    changes.update((k.replace("__", "/").replace("_yml", ".yml"), v) for k, v in kwargs.items())
    for relpath, text in changes.items():
        if text is None:
            files.pop(relpath)
        else:
            files[relpath] = text
    return RecordStore.load(write_store(tmp_path, files))


def messages(store):
    """Every problem of a loaded store, as "path: field: message"."""
    return [str(p) for p in store.problems()]


def commit_store(root):
    """Make the store at root a git repository with its files committed (the record modules and
    the playbooks that change records commit there)."""
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    git = ["git", "-C", str(root), "-c", "user.name=lab", "-c", "user.email=lab@example.test"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "lab records"], check=True)
    return str(root)


def tree_digest(root):
    """{relative path: sha256} of every file under root (lock file excluded)."""
    digest = {}
    for dirpath, _dirnames, filenames in os.walk(str(root)):
        for fname in filenames:
            if fname == ".baremetal.lock":
                continue
            path = os.path.join(dirpath, fname)
            with open(path, "rb") as handle:
                digest[os.path.relpath(path, str(root))] = hashlib.sha256(handle.read()).hexdigest()
    return digest
