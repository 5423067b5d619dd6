# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run an Ansible command-line tool with some of the collection's speed mechanisms turned off.

    BENCH_OFF=parse_cache,bulk_hosts python benchmarks/_switches.py ansible-playbook ARGS...

Each mechanism is turned off from here, by replacing what the collection's code calls, once
Ansible's collection loader is in place and before any plugin is loaded (Ansible's workers are
forks of this process and inherit it). The plugin code has no switch of its own. A name a switch
replaces that is gone from the code stops the run: a switch never silently measures nothing.
Modules that run as AnsiballZ payloads (in_process off) run the collection's code unchanged.
"""

import contextlib
import gc
import importlib
import os
import sys
import types

PACKAGE = "ansible_collections.baremetal.provision.plugins."


def _module(name):
    return importlib.import_module(PACKAGE + name)


def _replace(module, name, value):
    if not hasattr(module, name):
        raise SystemExit("benchmarks/_switches.py: %s.%s is gone; update the switch" % (module.__name__, name))
    setattr(module, name, value)


def parse_cache():
    """The record parse cache (parsed and checked records, the file index): never read nor written."""
    cache = _module("module_utils._records.parse_cache")
    original = cache.ParseCache.__init__

    def init(self, root, parse):
        enabled = cache.enabled
        cache.enabled = lambda: False  # what BAREMETAL_CACHE=off does, for this cache alone
        try:
            original(self, root, parse)
        finally:
            cache.enabled = enabled

    _replace(cache.ParseCache, "__init__", init)


def parse_cache_index():
    """Part of parse_cache: the index of each record file's size, times and inode is never
    trusted, so every record file is read and hashed (its parse and checks still come from the cache)."""
    cache = _module("module_utils._records.parse_cache")
    _replace(cache.ParseCache, "known_key", lambda self, relpath, stat: None)


def parse_cache_checks():
    """Part of parse_cache: no record's checked data is reused, so every record is checked
    again by its own rules (its parse still comes from the cache)."""
    cache = _module("module_utils._records.parse_cache")
    _replace(cache.ParseCache, "checked", lambda self, key, label: None)


def _view_files_off(path_of):
    """Cache files named like path_of's: never read nor written."""
    cache = _module("module_utils._records.cache_files")
    views = _module("module_utils._views.cache")
    inventory = _module("inventory.records")
    kind = os.path.basename(path_of()).split("-", 1)[0] + "-"

    def skip(path):
        return os.path.basename(path).startswith(kind)

    def read_cached(path, fingerprint, _read=cache.read_cached):
        return None if skip(path) else _read(path, fingerprint)

    def write_cached(path, fingerprint, value, _write=cache.write_cached):
        return None if skip(path) else _write(path, fingerprint, value)

    _replace(views, "read_cached", read_cached)
    _replace(views, "write_cached", write_cached)
    _replace(inventory, "write_cached", write_cached)


def inventory_view():
    """The inventory plugin's view file (every host and group): never read nor written."""
    _view_files_off(lambda: _module("module_utils._views.cache").inventory_path("/"))


def provisioner_view():
    """Each provisioner's view file (what its render takes): never read nor written."""
    _view_files_off(lambda: _module("module_utils._views.cache").provisioner_path("/", "p"))


def render_memo():
    """The provisioner's render memo: every sync renders every system of its view."""
    sync = _module("module_utils._provisioner.sync")
    memo = _module("module_utils._provisioner.render_memo")
    _replace(sync, "_memo", lambda state_dir, component: memo.Memo())


def sync_scope():
    """A sync asked for the changed systems only (scope=changed, as replace asks) looks at every
    system of the view, as site's does."""
    sync = _module("module_utils._provisioner.sync")
    original = sync._scope

    def every_system(view, options, component, memo, *more, **keywords):
        return original(view, dict(options, scope="all"), component, memo, *more, **keywords)

    _replace(sync, "_scope", every_system)


def store_index():
    """The store's index of problems and an edit's checks of what it touches: every edit checks
    every rule on the whole store, before the change and after it."""
    transaction = _module("module_utils._records.transaction")
    _replace(transaction, "remembered_problems", lambda root, scan: None)
    _replace(transaction.Transaction, "_incremental", lambda self: False)


def view_patch():
    """The views cached before an edit are never patched: a record module builds them from the store."""
    cache = _module("module_utils._views.cache")
    _replace(cache, "patch_inventory_view", lambda view, store, touched: None)
    _replace(cache, "patch_provisioner_view", lambda view, store, systems: None)


def view_delta():
    """The views an edit leaves behind (the inventory's, the provisioners') are written whole every
    time, never as a delta of the hosts or systems it changed over the last whole view (and a
    refresh or a render reads them whole)."""
    _replace(_module("module_utils._views.cache"), "DELTA_KEPT", 0)


def view_left():
    """The render never takes the view the record change left by its fingerprint (provisioner_sync's
    view): it scans the store for the fingerprint of its current view, as without the option."""
    action = _module("action.provisioner_sync")
    original = action.view_for_render
    _replace(action, "view_for_render", lambda root, provisioner, load, left=None: original(root, provisioner, load))


def bulk_hosts():
    """The inventory's hosts built in bulk: every host through InventoryData.add_host."""
    _replace(_module("plugin_utils._populate"), "bulk_ready", lambda data: False)


def gc_pause():
    """The garbage collector paused around bulk steps and the inventory frozen: gc as it comes."""
    bulk = _module("module_utils._runner.collector")
    names = (
        "module_utils._runner.records",
        "module_utils._runner.provisioner",
        "inventory.records",
        "action.provisioner_sync",
    )
    for name in ("module_utils._runner.collector", *names):
        _replace(_module(name), "gc_paused", contextlib.nullcontext)
    _replace(bulk, "settle_long_lived", lambda: None)
    _replace(_module("inventory.records"), "settle_long_lived", lambda: None)
    # run_in_process pauses and freezes around a module's work: the same calls, doing nothing
    _replace(
        _module("plugin_utils._inprocess"),
        "gc",
        types.SimpleNamespace(isenabled=gc.isenabled, enable=gc.enable, disable=lambda: None, freeze=lambda: None),
    )


def template_warm():
    """The filter and test plugins are not loaded ahead in the main process: each task's worker
    loads those it uses."""
    _replace(_module("inventory.records"), "warm_templating", lambda loader, display=None: None)


def in_process():
    """Record modules and provisioner_sync run in Ansible's worker: they run as AnsiballZ payloads."""
    _replace(_module("plugin_utils._inprocess"), "runs_here", lambda action: False)
    # the action plugin took its own reference when it was imported (above, by gc_pause, or now)
    _replace(_module("action.provisioner_sync"), "runs_here", lambda action: False)


SWITCHES = {
    f.__name__: f
    for f in (
        parse_cache,
        parse_cache_index,
        parse_cache_checks,
        inventory_view,
        provisioner_view,
        render_memo,
        sync_scope,
        store_index,
        view_patch,
        view_delta,
        view_left,
        bulk_hosts,
        gc_pause,
        template_warm,
        in_process,
    )
}
CLI = {"ansible-playbook": "ansible.cli.playbook", "ansible-inventory": "ansible.cli.inventory"}


def command(tool):
    """The command that runs tool (ansible-playbook, ansible-inventory) with BENCH_OFF's switches."""
    return [sys.executable, os.path.abspath(__file__), tool]


def switched_off():
    """The mechanisms BENCH_OFF names (an unknown name stops the run)."""
    off = [name for name in os.environ.get("BENCH_OFF", "").split(",") if name]
    unknown = sorted(set(off) - set(SWITCHES))
    if unknown:
        raise SystemExit("BENCH_OFF: unknown mechanism(s) %s; known: %s" % (", ".join(unknown), ", ".join(SWITCHES)))
    return off


def main():
    tool, args = sys.argv[1], sys.argv[2:]
    off = switched_off()
    import ansible.cli

    load_plugins = ansible.cli.init_plugin_loader

    def init_plugin_loader(*a, **kw):
        load_plugins(*a, **kw)
        for name in off:
            SWITCHES[name]()

    ansible.cli.init_plugin_loader = init_plugin_loader
    sys.argv = [tool, *args]
    return importlib.import_module(CLI[tool]).main()


if __name__ == "__main__":
    sys.exit(main())
