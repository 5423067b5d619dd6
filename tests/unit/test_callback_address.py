# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The callback service takes a machine's call from its own address, however nginx spells it."""

import importlib
import importlib.util
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROVISIONER = "ansible_collections.baremetal.provision.plugins.module_utils._provisioner"


def _callback_module(monkeypatch):
    """bm_callback.py, its package (bm_provisioner on a provisioner) taken from the collection."""
    monkeypatch.setitem(sys.modules, "bm_provisioner", importlib.import_module(PROVISIONER))
    for name in ("netboot", "render_boot"):
        monkeypatch.setitem(sys.modules, "bm_provisioner." + name, importlib.import_module(PROVISIONER + "." + name))
    path = os.path.join(REPO, "roles", "kickstart", "files", "bm_callback.py")
    spec = importlib.util.spec_from_file_location("bm_callback_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_same_address_compares_addresses_not_spellings(monkeypatch):
    same = _callback_module(monkeypatch).same_address
    assert same("2001:db8:10::50", "2001:DB8:10:0:0::50")
    assert same("192.0.2.50", "192.0.2.50")
    assert not same("2001:db8:10::50", "2001:db8:10::51")
    assert not same("192.0.2.50", "2001:db8:10::50")
    assert not same("unknown", "192.0.2.50")
