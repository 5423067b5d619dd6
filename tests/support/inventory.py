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


def local_provisioner_vars():
    """The host variables of a provisioner that is this controller, its daemons run (or not) by the
    test itself: connection local, this Python, no service manager."""
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "dhcp_service_manager": "none",
        "tftp_service_manager": "none",
        "kickstart_service_manager": "none",
    }


def tree_vars(paths):
    """The host variables that put a provisioner's TFTP tree, web tree, nginx config, callback
    service and state under a test's folders (paths: tftp, state, www, nginx, cb)."""
    return {
        "tftp_root": str(paths["tftp"]),
        "tftp_state_dir": str(paths["state"]),
        "kickstart_web_root": str(paths["www"]),
        "kickstart_nginx_conf_dir": str(paths["nginx"]),
        "kickstart_state_dir": str(paths["state"]),
        "kickstart_callback_dir": str(paths["cb"]),
        "kickstart_tftp_root": str(paths["tftp"]),
    }


def out_paths(out):
    """The folders of tree_vars, all under one folder out: tftp, state, www, nginx and cb."""
    return {name: os.path.join(out, name) for name in ("tftp", "state", "www", "nginx", "cb")}


def local_provisioner_lab(tmp):
    """A record store and an inventory whose provisioner prov-dmz is this controller
    (service_manager none, its files under tmp/prov, its DHCP config checked by the real dhcpd -t),
    with stand-in kernels: {"records", "inventory", "out", "env", "tmp"}. No play has run yet."""
    import json

    from support.ansible_cli import ansible_env
    from support.store import FILES, write_store

    images = tmp / "images"
    images.mkdir()
    for name in ("vmlinuz", "initrd.img"):
        (images / name).write_bytes(b"stand-in\n")
    files = dict(FILES)
    files["distros/rocky9.yml"] = "family: redhat\nkernel: %s/vmlinuz\ninitrd: %s/initrd.img\n" % (images, images)
    files["templates/rocky9.ks.j2"] = (
        "# {{ name }} generation {{ build_generation }}\n%post\ncurl {{ callback_url }}\n%end\n"
    )
    records = write_store(tmp / "records", files)
    inventory = tmp / "inventory"
    (inventory / "host_vars").mkdir(parents=True)
    write_config(inventory, records_dir=records)
    out = tmp / "prov"
    host_vars = {
        **local_provisioner_vars(),
        **tree_vars(out_paths(out)),
        "dhcp_config": str(out / "dhcpd.conf"),
        "tftp_boot_loaders": {"pxelinux.0": "/usr/lib/PXELINUX/pxelinux.0"},
    }
    (inventory / "host_vars" / "prov-dmz.yml").write_text(json.dumps(host_vars))
    env = ansible_env({"ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS": "ignore"}, tmp=tmp)
    return {"records": records, "inventory": str(inventory), "out": str(out), "env": env, "tmp": tmp}
