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

from ansible_collections.baremetal.provision.plugins.module_utils import _provisioner as P
from ansible_collections.baremetal.provision.plugins.module_utils._store import RecordStore

EXAMPLES = os.path.join(REPO, "examples", "templates")
SECRETS = {"root_password_hash": "$6$rounds=4096$salt$" + "A" * 86, "ssh_authorized_keys": "ssh-ed25519 AAAAC3Nza test@example"}


def _render(tmp_path, template, family, fmt):
    with open(os.path.join(EXAMPLES, template), encoding="utf-8") as handle:
        text = handle.read()
    files = dict(FILES)
    files["distros/rocky9.yml"] = FILES["distros/rocky9.yml"].replace("family: redhat", "family: %s" % family)
    files["profiles/rocky9-web.yml"] = "distro: rocky9\ntemplate: %s\nformat: %s\nvars: {timezone: Europe/Paris}\n" % (template, fmt)
    files["templates/" + template] = text
    view = P.build_view(RecordStore.load(write_store(tmp_path / "records", files)), "prov-app")
    files_out, _owners, _index = P.web_files(view, b"s" * 32, SECRETS)
    return files_out


def test_kickstart_example_passes_pykickstart(tmp_path):
    out = _render(tmp_path, "rocky9.ks.j2", "redhat", "kickstart")
    text = out["ks/app01.cfg"]
    parser = KickstartParser(makeVersion(RHEL9))
    try:
        parser.readKickstartFromString(text)
    except KickstartError as exc:
        raise AssertionError("%s\n%s" % (exc, text)) from exc
    # both interfaces, the primary one with the gateway, the callback in %post
    assert parser.handler.network.network[0].ip == "198.51.100.50"
    assert parser.handler.network.network[0].gateway == "198.51.100.1"
    assert parser.handler.network.network[1].ip == "192.0.2.60" and parser.handler.network.network[1].nodefroute
    assert "/bm/callback/app01.3." in parser.handler.scripts[-1].script
    assert parser.handler.timezone.timezone == "Europe/Paris"


def test_preseed_example_is_well_formed(tmp_path):
    text = _render(tmp_path, "debian12.preseed.j2", "debian", "preseed")["ks/app01.cfg"]
    for line in text.splitlines():
        if line and not line.startswith("#"):
            owner, question, kind = line.split()[:3]
            assert owner in ("d-i", "tasksel") and "/" in question and kind in ("string", "boolean", "select", "password", "note", "multiselect"), line
    assert "d-i netcfg/get_ipaddress string 198.51.100.50" in text
    assert "/bm/callback/app01.3." in text


def test_autoinstall_example_is_valid_yaml_with_the_network(tmp_path):
    out = _render(tmp_path, "ubuntu24.autoinstall.j2", "ubuntu", "autoinstall")
    assert sorted(out) == ["ks/app01/meta-data", "ks/app01/user-data"]
    data = yaml.safe_load(out["ks/app01/user-data"])["autoinstall"]
    assert data["identity"]["hostname"] == "app01"
    assert data["network"]["ethernets"]["eth0"]["addresses"] == ["198.51.100.50/24"]
    assert data["network"]["ethernets"]["eth1"]["match"]["macaddress"] == "52:54:00:12:34:61"
    assert "/bm/callback/app01.3." in data["late-commands"][0]
    assert yaml.safe_load(out["ks/app01/meta-data"]) == {"instance-id": "app01-3", "local-hostname": "app01"}
