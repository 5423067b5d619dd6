# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lean inventory view (host_vars=lean): what each host keeps, and that the full view is as it was."""

import copy

import pytest
from support.store import write_store

from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
from ansible_collections.baremetal.provision.plugins.module_utils._views import inventory as V


@pytest.fixture
def store(tmp_path):
    return RecordStore.load(write_store(tmp_path / "records"))


def test_full_view_holds_the_merged_record_and_no_form_marker(store):
    view = V.build_view(store)
    assert V.build_view(store, "full") == view
    assert "host_vars" not in view and V.view_host_vars(view) == "full"
    merged = store.resolve_system("web01")
    web = view["hosts"]["web01"]
    # every SYSTEM_VARS key of the merged record, the state and the address: nothing else
    assert set(web) == {"bm_" + key for key in V.SYSTEM_VARS} | {"bm_state", "ansible_host"}
    assert all(web["bm_" + key] == merged[key] for key in V.SYSTEM_VARS)
    assert web["ansible_host"] == merged["ip"] and web["bm_state"] == "active"


def test_lean_system_keeps_connection_identity_and_place(store):
    full = V.build_view(store)
    lean = V.build_view(store, "lean")
    web = lean["hosts"]["web01"]
    assert web == {
        "ansible_host": full["hosts"]["web01"]["ansible_host"],
        "bm_name": "web01",
        "bm_state": "active",
        "bm_tier": "web",
        "bm_segment": "dmz",
        "bm_provisioner": "prov-dmz",
    }
    assert V.view_host_vars(lean) == "lean"


def test_lean_keeps_every_host_group_and_warning_and_only_lean_variables(store):
    full = V.build_view(store)
    lean = V.lean_view(full)
    assert list(lean["hosts"]) == list(full["hosts"])  # the same hosts, in the same order
    assert lean["groups"] == full["groups"] and lean["warnings"] == full["warnings"]
    assert lean["version"] == full["version"]
    for name, hostvars in lean["hosts"].items():
        whole = full["hosts"][name]
        keep = V.LEAN_SPARE_VARS if whole.get("bm_state") == "spare" else V.LEAN_VARS
        assert hostvars == {key: value for key, value in whole.items() if key in keep}, name


def test_lean_spares_and_provisioners_keep_what_the_playbooks_read(store):
    lean = V.build_view(store, "lean")
    spare = lean["hosts"]["spare-52-54-00-00-00-01"]
    assert spare == {"bm_mac": "52:54:00:00:00:01", "bm_segment": "dmz", "bm_pool": "spares-dmz", "bm_state": "spare"}
    # site, enlist and the discovery and dhcp roles read these from the provisioners' host variables
    assert lean["hosts"]["prov-dmz"]["bm_provisioner_segments"] == ["dmz"]
    full = V.build_view(store)
    for prov in full["groups"][V.PROVISIONERS_GROUP]["hosts"]:
        for key in ("bm_provisioner_segments", "bm_discovery_segments", "bm_ipv6_segments"):
            assert lean["hosts"][prov].get(key) == full["hosts"][prov].get(key)


def test_lean_view_leaves_the_full_view_as_it_was(store):
    full = V.build_view(store)
    before = copy.deepcopy(full)
    V.lean_view(full)
    assert full == before and "host_vars" not in full


def test_lean_drops_the_rest_of_the_merged_record(store):
    lean = V.build_view(store, "lean")["hosts"]["web01"]
    for dropped in ("bm_mac", "bm_ip", "bm_interfaces", "bm_network", "bm_vars", "bm_kernel_options", "bm_bmc"):
        assert dropped not in lean
