# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""bm_discovery_segments: the segments with discovery on, on the provisioner that serves them,
through the inventory view and the real inventory plugin."""

from support import discovery as S
from support.inventory import host_vars, plugin_parse, write_config
from support.store import FILES, write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._views.inventory import build_view


def _provisioners(tmp_path, discovery=None, **more):
    view = build_view(RecordStore.load(write_store(tmp_path / "records", S.files(discovery, **more))))
    return {name: hostvars for name, hostvars in view["hosts"].items() if name.startswith("prov-")}


def test_a_provisioner_lists_its_discovery_segments_sorted(tmp_path):
    app = FILES["segments/app.yml"].replace("provisioner: prov-app", "provisioner: prov-dmz")
    app += "dynamic_range: [198.51.100.200, 198.51.100.250]\ndiscovery: true\n"
    hosts = _provisioners(tmp_path, {"edge": True, "dmz": False}, **{"segments/app.yml": app})
    assert hosts == {
        "prov-dmz": {
            "bm_provisioner_segments": ["app", "dmz", "edge"],
            "bm_discovery_segments": ["app", "edge"],
        }
    }


def test_without_discovery_the_provisioners_vars_are_as_before(tmp_path):
    assert _provisioners(tmp_path / "absent") == {
        "prov-app": {"bm_provisioner_segments": ["app"]},
        "prov-dmz": {"bm_provisioner_segments": ["dmz", "edge"]},
    }
    assert _provisioners(tmp_path / "off", {"dmz": False}) == _provisioners(tmp_path / "absent2")


def test_only_the_provisioner_of_a_discovery_segment_gets_the_variable(tmp_path):
    dmz = FILES["segments/dmz.yml"] + "discovery: true\n"
    write_store(tmp_path / "records", extra={"segments/dmz.yml": dmz})
    data = plugin_parse(write_config(tmp_path, records_dir="records"))
    assert host_vars(data, "prov-dmz") == {"bm_provisioner_segments": ["dmz"], "bm_discovery_segments": ["dmz"]}
    assert "bm_discovery_segments" not in host_vars(data, "prov-app")
    assert "bm_discovery_segments" not in host_vars(data, "web01")
