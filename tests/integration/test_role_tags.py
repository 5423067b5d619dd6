# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' tags from the site playbook: packages, config, service, and what always runs.

The provisioner prov-dmz runs here with service_manager=none; its files go to a temporary folder
and its DHCP config is checked by the real dhcpd -t.
"""

import json
import os

import pytest
from support.ansible_cli import playbook_recap, run
from support.inventory import local_provisioner_lab

# What every selection keeps: the inventory check, each role's argument check and its OS-family check
# (and discovery's checks of its collector, which run only where discovery is on).
ALWAYS = {
    ("localhost", "Fail when there is no provisioner to configure"),
    ("dhcp", "Validating arguments against arg spec 'main' - DHCP for the segments a provisioner serves"),
    ("dhcp", "Check the provisioner's OS family is one the role knows"),
    ("tftp", "Validating arguments against arg spec 'main' - The TFTP boot tree of a provisioner"),
    ("tftp", "Check the provisioner's OS family is one the role knows"),
    (
        "kickstart",
        "Validating arguments against arg spec 'main' - Install configs over HTTP and the netboot-once callback",
    ),
    ("kickstart", "Check the provisioner's OS family is one the role knows"),
    ("discovery", "Validating arguments against arg spec 'main' - Discovery of unknown machines on a provisioner"),
    ("discovery", "Check the provisioner's OS family is one the role knows"),
    ("discovery", "Check the collector's kernel and initrd are on the controller"),
    ("discovery", "Check the collector's kernel options hold nothing iPXE would read as a command"),
}
PACKAGES = {
    ("dhcp", "Install the DHCP server"),
    ("dhcp", "Install Kea DHCPv6 and radvd (the provisioner serves segments with IPv6)"),
    ("tftp", "Install the TFTP server and the boot loaders"),
    ("kickstart", "Install nginx and the Python libraries the render needs"),
    ("discovery", "Install Python for the discovery service"),
}
CONFIG = {
    ("dhcp", "Render the DHCP config of every served segment, checked by the daemon before it goes live"),
    ("dhcp", "Serve IPv4 only, on the provisioning interfaces (ISC dhcpd on Debian)"),
    ("tftp", "Render the per-MAC boot configs (installer while a build is armed, else local boot), copy the loaders"),
    ("tftp", "Fetch kernels and initrds given by URL (once; verified by checksum)"),
    ("tftp", "Configure tftpd-hpa"),
    ("kickstart", "Render install configs, the access map and the netboot index, install the callback service"),
    ("kickstart", "Install the nginx server block"),
    ("kickstart", "Install the callback unit"),
    ("discovery", "Make the user the discovery service runs as"),
    ("discovery", "Make the folders of the collector, the service and nginx's include"),
    ("discovery", "Make the spool, writable by the service only"),
    ("discovery", "Copy the collector's kernel and initrd"),
    ("discovery", "Write the iPXE script an unknown machine boots"),
    ("discovery", "Install the discovery service's files"),
    ("discovery", "Install the discovery unit"),
    ("discovery", "Install the nginx locations of discovery"),
}
SERVICE = {
    ("dhcp", "Make a folder for the DHCP server's unit drop-in"),
    ("dhcp", "Let the DHCP server restart as often as record changes come"),
    ("dhcp", "Stop and disable the DHCP server this host no longer uses"),
    ("dhcp", "Keep the DHCP server running"),
    ("dhcp", "Keep Kea DHCPv6 and radvd running"),
    ("dhcp", "Stop Kea DHCPv6 and radvd where no segment needs them any more"),
    ("tftp", "Keep the TFTP server running"),
    ("kickstart", "Keep nginx and the callback service running"),
    ("discovery", "Look for the discovery unit"),
    ("discovery", "Stop and disable the discovery service"),
    ("discovery", "Keep the discovery service running"),
}
# flushes the restart that config tasks and the service switch notify: both select it
FLUSH = {("dhcp", "Apply the DHCP config")}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = local_provisioner_lab(tmp_path_factory.mktemp("role_tags"))
    return lab


def _site(lab, *args):
    return run(
        "ansible-playbook",
        ["-i", lab["inventory"], "baremetal.provision.site", "--limit", "prov-dmz", *args],
        env=lab["env"],
    )


def _listed(stdout):
    """The (role or play host, task name) pairs of ansible-playbook --list-tasks."""
    tasks = set()
    for line in stdout.splitlines():
        text = line.strip()
        if "\tTAGS: " not in text or text.startswith("play #"):
            continue
        name = text.split("\tTAGS: ")[0]
        role, sep, task = name.partition(" : ")
        tasks.add((role.rpartition(".")[2], task) if sep else ("localhost", name))
    return tasks


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _dirs, names in os.walk(root) for f in names)


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], ALWAYS | PACKAGES | CONFIG | FLUSH | SERVICE),
        (["--tags", "packages"], ALWAYS | PACKAGES),
        (["--tags", "config"], ALWAYS | CONFIG | FLUSH),
        (["--tags", "service"], ALWAYS | SERVICE | FLUSH),
        (["--skip-tags", "packages"], ALWAYS | CONFIG | FLUSH | SERVICE),
        (["--tags", "config,service"], ALWAYS | CONFIG | FLUSH | SERVICE),
    ],
)
def test_each_tag_selects_its_tasks_and_the_checks(lab, args, expected):
    proc = _site(lab, "--list-tasks", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _listed(proc.stdout) == expected


def test_every_role_task_has_one_of_the_tags(lab):
    """A task added without a tag would run under none of --tags packages, config or service."""
    proc = _site(lab, "--list-tasks")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    untagged = [
        line.strip() for line in proc.stdout.splitlines() if " : " in line and line.rstrip().endswith("TAGS: []")
    ]
    assert untagged == []


def test_service_writes_nothing_config_renders_everything(lab):
    proc = _site(lab, "--tags", "service")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not os.path.exists(lab["out"]) or _files(lab["out"]) == []
    proc = _site(lab, "--tags", "config")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    written = _files(lab["out"])
    for path in (
        "dhcpd.conf",
        "tftp/pxelinux.0",
        "tftp/pxelinux.cfg/01-52-54-00-12-34-56",
        "www/ks/web01.cfg",
        "nginx/baremetal-provision.conf",
    ):
        assert path in written, written
    # --tags config left nothing for a full run to do (packages and services are off here)
    proc = _site(lab)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert playbook_recap(proc.stdout)["prov-dmz"]["changed"] == 0, proc.stdout
    assert _files(lab["out"]) == written


@pytest.mark.parametrize("tags", ["config", "service", "packages"])
def test_an_unknown_os_family_fails_first_whatever_the_tags(lab, tags):
    play = lab["tmp"] / "plan9.yml"
    play.write_text(
        "- name: Provisioner of an unknown family\n  hosts: prov-dmz\n  gather_facts: false\n"
        "  roles: [baremetal.provision.dhcp, baremetal.provision.tftp, baremetal.provision.kickstart]\n"
    )
    before = _files(lab["out"]) if os.path.exists(lab["out"]) else []
    proc = run(
        "ansible-playbook",
        [
            "-i",
            lab["inventory"],
            str(play),
            "--tags",
            tags,
            "-e",
            json.dumps({"ansible_facts": {"os_family": "Plan9"}}),
        ],
        env=lab["env"],
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert "OS family Plan9 is not one the dhcp role knows (Debian, RedHat); nothing was changed." in proc.stdout, (
        proc.stdout
    )
    assert playbook_recap(proc.stdout)["prov-dmz"]["changed"] == 0
    assert (_files(lab["out"]) if os.path.exists(lab["out"]) else []) == before
