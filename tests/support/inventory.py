# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load the inventory plugin in-process, through Ansible's own plugin loader."""

import os
import sys

from support.ansible_cli import COLLECTIONS


def _install_finder():
    """Ansible's collection finder, installed once (tests/conftest.py does it first)."""
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    if not any(isinstance(f, _AnsibleCollectionFinder) for f in sys.meta_path):
        _AnsibleCollectionFinder(paths=[COLLECTIONS])._install()


def write_config(directory, name="fleet.baremetal.yml", **options):
    """Write an inventory config file for the plugin; returns its path."""
    import yaml

    config = {"plugin": "baremetal.provision.records"}
    config.update(options)
    path = os.path.join(str(directory), name)
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(config, handle, sort_keys=False)
    return path


def plugin_parse(config_path):
    """Run the plugin's parse() on a bare InventoryData (errors raise); returns the data."""
    _install_finder()
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import inventory_loader

    plugin = inventory_loader.get("baremetal.provision.records")
    assert plugin is not None, "the inventory plugin is not found through the collection loader"
    data = InventoryData()
    plugin.parse(data, DataLoader(), config_path, cache=True)
    try:
        plugin.update_cache_if_changed()  # as InventoryManager does after parse()
    except AttributeError:
        pass  # no cache configured
    data.reconcile_inventory()
    return data


def manager(config_path):
    """An InventoryManager over the config, as ansible-playbook builds it."""
    _install_finder()
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader

    return InventoryManager(loader=DataLoader(), sources=[config_path])


def group_hosts(data, group):
    """Sorted names of the hosts directly in a group of an InventoryData."""
    return sorted(host.name for host in data.groups[group].hosts)


def host_vars(data, host):
    """A host's own variables, without the inventory_file/inventory_dir Ansible adds."""
    return {k: v for k, v in data.hosts[host].vars.items() if k not in ("inventory_file", "inventory_dir")}
