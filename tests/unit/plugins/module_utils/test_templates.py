# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The example install templates (examples/templates) render for real records and are valid."""

import os

import yaml
from pykickstart.errors import KickstartError
from pykickstart.parser import KickstartParser
from pykickstart.version import RHEL9, makeVersion
from support.ansible_cli import REPO
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import sync as P
from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import build_view

EXAMPLES = os.path.join(REPO, "examples", "templates")
SECRETS = {
    "root_password_hash": "$6$rounds=4096$salt$" + "A" * 86,
    "ssh_authorized_keys": "ssh-ed25519 AAAAC3Nza test@example",
}


def _render(tmp_path, template, family, fmt, install_tree=True, profile_extra="", more_vars=""):
    with open(os.path.join(EXAMPLES, template), encoding="utf-8") as handle:
        text = handle.read()
    files = dict(FILES)
    files["distros/rocky9.yml"] = FILES["distros/rocky9.yml"].replace("family: redhat", "family: %s" % family)
    if not install_tree:
        files["distros/rocky9.yml"] = "".join(
            line for line in files["distros/rocky9.yml"].splitlines(True) if not line.startswith("install_tree:")
        )
    files["profiles/rocky9-web.yml"] = (
        "distro: rocky9\ntemplate: %s\nformat: %s\nvars: {timezone: Europe/Paris%s}\n%s"
        % (template, fmt, more_vars, profile_extra)
    )
    files["templates/" + template] = text
    view = build_view(RecordStore.load(write_store(tmp_path / "records", files)), "prov-app")
    files_out, _owners, _index = P.web_files(view, b"s" * 32, SECRETS)
    return files_out


def _kickstart(text):
    parser = KickstartParser(makeVersion(RHEL9))
    try:
        parser.readKickstartFromString(text)
    except KickstartError as exc:
        raise AssertionError("%s\n%s" % (exc, text)) from exc
    return parser.handler


def test_kickstart_example_passes_pykickstart(tmp_path):
    out = _render(
        tmp_path,
        "rocky9.ks.j2",
        "redhat",
        "kickstart",
        profile_extra="installed_kernel_options: {console: 'ttyS0,115200n8', nomodeset: null}\n",
    )
    handler = _kickstart(out["ks/app01.cfg"])
    # both interfaces, the primary one with the gateway, the callback in %post
    assert handler.network.network[0].ip == "198.51.100.50"
    assert handler.network.network[0].gateway == "198.51.100.1"
    assert handler.network.network[1].ip == "192.0.2.60" and handler.network.network[1].nodefroute
    assert "/bm/callback/app01.3." in handler.scripts[-1].script
    assert handler.timezone.timezone == "Europe/Paris"
    # the installed system's options from the record, the install tree of the distro
    assert handler.bootloader.appendLine == "console=ttyS0,115200n8 nomodeset"
    assert handler.url.url == "http://192.0.2.1/repo/rocky9" and not handler.url.proxy


def test_kickstart_example_without_installed_options_or_tree(tmp_path):
    out = _render(
        tmp_path,
        "rocky9.ks.j2",
        "redhat",
        "kickstart",
        install_tree=False,
        more_vars=", mirror_proxy: 'http://192.0.2.3:3128'",
    )
    handler = _kickstart(out["ks/app01.cfg"])
    assert handler.bootloader.appendLine in (None, "")
    assert not handler.url.url


def _preseed(text):
    """{question: (owner, type, value)} of a preseed file, each line checked for its shape."""
    answers = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            owner, question, kind, *value = line.split(" ", 3)
            assert owner in ("d-i", "tasksel") and "/" in question, line
            assert kind in ("string", "boolean", "select", "password", "note", "multiselect"), line
            assert question not in answers, "%s answered twice" % question
            answers[question] = (owner, kind, value[0] if value else "")
    return answers


def test_preseed_example_reruns_netcfg_for_the_static_address_and_uses_the_tree(tmp_path):
    answers = _preseed(_render(tmp_path, "debian12.preseed.j2", "debian", "preseed")["ks/app01.cfg"])
    # Fetched over the network, a preseed's netcfg answers come after netcfg has run (guide, B.4.2):
    # only an early_command that kills the DHCP client and re-runs netcfg makes them count; the
    # e2e-installer test shows the real installer then writing the static stanza.
    assert answers["preseed/early_command"] == ("d-i", "string", "kill-all-dhcp; netcfg")
    assert answers["netcfg/disable_autoconfig"][2] == "true"
    assert answers["netcfg/get_ipaddress"][2] == "198.51.100.50"
    assert answers["netcfg/get_netmask"][2] == "255.255.255.0"
    assert answers["netcfg/get_gateway"][2] == "198.51.100.1"
    assert answers["netcfg/get_hostname"][2] == "app01" and answers["netcfg/get_domain"][2] == "app.example.test"
    # the mirror is the distro's install_tree; nothing points at security.debian.org
    assert answers["mirror/http/hostname"][2] == "192.0.2.1"
    assert answers["mirror/http/directory"][2] == "/repo/rocky9"
    assert answers["mirror/http/proxy"] == ("d-i", "string", "")
    assert answers["apt-setup/services-select"] == ("d-i", "multiselect", "")
    assert answers["apt-setup/security_host"][2] == "192.0.2.1"
    assert "/bm/callback/app01.3." in answers["preseed/late_command"][2]


def test_preseed_example_without_a_tree_uses_the_public_mirror(tmp_path):
    answers = _preseed(
        _render(
            tmp_path,
            "debian12.preseed.j2",
            "debian",
            "preseed",
            install_tree=False,
            more_vars=", mirror_proxy: 'http://192.0.2.3:3128', suite: bookworm",
        )["ks/app01.cfg"]
    )
    assert answers["mirror/http/hostname"][2] == "deb.debian.org"
    assert answers["mirror/http/proxy"][2] == "http://192.0.2.3:3128"
    assert answers["mirror/suite"][2] == "bookworm"
    assert "apt-setup/services-select" not in answers


def test_autoinstall_example_is_valid_yaml_with_the_network(tmp_path):
    out = _render(tmp_path, "ubuntu24.autoinstall.j2", "ubuntu", "autoinstall")
    assert sorted(out) == ["ks/app01/meta-data", "ks/app01/user-data"]
    data = yaml.safe_load(out["ks/app01/user-data"])["autoinstall"]
    assert data["identity"]["hostname"] == "app01"
    assert data["network"]["ethernets"]["eth0"]["addresses"] == ["198.51.100.50/24"]
    assert data["network"]["ethernets"]["eth1"]["match"]["macaddress"] == "52:54:00:12:34:61"
    assert "/bm/callback/app01.3." in data["late-commands"][0]
    assert data["apt"]["primary"] == [{"arches": ["default"], "uri": "http://192.0.2.1/repo/rocky9"}]
    assert "proxy" not in data
    assert yaml.safe_load(out["ks/app01/meta-data"]) == {"instance-id": "app01-3", "local-hostname": "app01"}
