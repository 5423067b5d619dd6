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

# What every selection keeps: the inventory check, each role's argument check, its OS-family check
# and its part of the one install and render (facts, on the controller), and discovery's checks of
# its collector (which run only where discovery is on). site imports each role's "install" entry
# point, then installs every package in one task and renders every part in one, then imports each
# role's "serve" entry point (the rest of its main, the arguments not checked again).
ALWAYS = {
    ("site", "Fail when there is no provisioner to configure"),
    (
        "dhcp",
        "Validating arguments against arg spec 'install' - The dhcp role's part of a one-pass install and render, "
        "and its handlers",
    ),
    ("dhcp", "Check the provisioner's OS family is one the role knows"),
    ("dhcp", "Add the DHCP server's packages and render options to the one-pass install and render"),
    (
        "tftp",
        "Validating arguments against arg spec 'install' - The tftp role's part of a one-pass install and render, "
        "and its handlers",
    ),
    ("tftp", "Check the provisioner's OS family is one the role knows"),
    ("tftp", "Add the TFTP server's packages and render options to the one-pass install and render"),
    (
        "kickstart",
        "Validating arguments against arg spec 'install' - The kickstart role's part of a one-pass install and "
        "render, and its handlers",
    ),
    ("kickstart", "Check the provisioner's OS family is one the role knows"),
    ("kickstart", "Add nginx's packages and the install configs' render options to the one-pass install and render"),
    (
        "discovery",
        "Validating arguments against arg spec 'install' - The discovery role's part of a one-pass install, and its "
        "handlers",
    ),
    ("discovery", "Check the provisioner's OS family is one the role knows"),
    ("discovery", "Check the collector's kernel and initrd are on the controller"),
    ("discovery", "Check the collector's kernel options hold nothing iPXE would read as a command"),
    ("discovery", "Add the discovery service's packages to the one-pass install"),
}
# one install of every role's packages, one render of every role's files
PACKAGES = {("site", "Install every package the provisioner needs")}
CONFIG = {
    ("site", "Render DHCP, TFTP and install configs from the records in one pass"),
    ("dhcp", "Serve IPv4 only, on the provisioning interfaces (ISC dhcpd on Debian)"),
    ("tftp", "Fetch kernels and initrds given by URL (once; verified by checksum)"),
    ("tftp", "Configure tftpd-hpa"),
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
# The roles alone (their main): the same tasks, but each role checks its own arguments and installs
# and renders its own part, and adds nothing to the one-pass facts.
MAIN_ALWAYS = {
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
MAIN_PACKAGES = {
    ("dhcp", "Install the DHCP server (Kea DHCPv6 and radvd too where the provisioner serves IPv6)"),
    ("tftp", "Install the TFTP server and the boot loaders"),
    ("kickstart", "Install nginx and the Python libraries the render needs"),
    ("discovery", "Install Python for the discovery service"),
}
MAIN_RENDER = {
    ("dhcp", "Render the DHCP config of every served segment, checked by the daemon before it goes live"),
    ("tftp", "Render the per-MAC boot configs (installer while a build is armed, else local boot), copy the loaders"),
    ("kickstart", "Render install configs, the access map and the netboot index, install the callback service"),
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
    """The (role, task name) pairs of ansible-playbook --list-tasks; ("site", name) for a play's own task."""
    tasks = set()
    for line in stdout.splitlines():
        text = line.strip()
        if "\tTAGS: " not in text or text.startswith("play #"):
            continue
        name = text.split("\tTAGS: ")[0]
        role, sep, task = name.partition(" : ")
        tasks.add((role.rpartition(".")[2], task) if sep else ("site", name))
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


def _roles_alone(lab, *args):
    """The roles as a user's play lists them (each role's main), on prov-dmz."""
    play = lab["tmp"] / "roles-alone.yml"
    play.write_text(
        "- name: The roles alone\n  hosts: prov-dmz\n  roles:\n"
        + "".join("    - baremetal.provision.%s\n" % role for role in ("dhcp", "tftp", "kickstart", "discovery"))
    )
    return run("ansible-playbook", ["-i", lab["inventory"], str(play), *args], env=lab["env"])


# the roles' own tasks of CONFIG (site's one render is each role's own render in main)
ROLE_CONFIG = {task for task in CONFIG if task[0] != "site"}


@pytest.mark.parametrize(
    "args, expected",
    [
        ([], MAIN_ALWAYS | MAIN_PACKAGES | MAIN_RENDER | ROLE_CONFIG | FLUSH | SERVICE),
        (["--tags", "packages"], MAIN_ALWAYS | MAIN_PACKAGES),
        (["--tags", "config"], MAIN_ALWAYS | MAIN_RENDER | ROLE_CONFIG | FLUSH),
        (["--tags", "service"], MAIN_ALWAYS | SERVICE | FLUSH),
    ],
)
def test_the_roles_alone_run_the_same_tasks_from_their_main(lab, args, expected):
    proc = _roles_alone(lab, "--list-tasks", *args)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _listed(proc.stdout) == expected


@pytest.mark.parametrize("play", [_site, _roles_alone])
def test_every_task_has_one_of_the_tags(lab, play):
    """A task added without a tag would run under none of --tags packages, config or service."""
    proc = play(lab, "--list-tasks")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tasks = [line.strip() for line in proc.stdout.splitlines() if "\tTAGS: " in line and "play #" not in line]
    assert len(tasks) > 20, proc.stdout
    assert [task for task in tasks if task.endswith("TAGS: []")] == []


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
