# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The layout of plugins/module_utils (CONTRIBUTING.md): which package may import which, and
what the provisioner side may import at all."""

import ast
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODULE_UTILS = os.path.join(REPO, "plugins", "module_utils")
PREFIX = "ansible_collections.baremetal.provision.plugins.module_utils."
# package -> the other packages it may import from
ALLOWED = {
    "_records": {"_provisioner"},
    "_views": {"_records"},
    "_provisioner": set(),
    "_runner": {"_records", "_views", "_provisioner"},
    "_bmc": {"_records", "_provisioner"},
}
# what the callback service installs as its bm_provisioner package (roles/kickstart/vars/main.yml)
CALLBACK = ("__init__", "atomic", "netboot", "render_boot", "tree_sync")


def _files():
    for package in sorted(ALLOWED):
        folder = os.path.join(MODULE_UTILS, package)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py"):
                yield package, os.path.join(folder, name)


def _imports(path):
    """(node, absolute module name or None for a relative import, level, in a function) of a file."""
    with open(path, encoding="utf-8") as handle:
        tree = ast.parse(handle.read(), path)
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                found.extend((child, alias.name, 0, inner) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                found.append((child, child.module, child.level, inner))
            visit(child, inner)

    visit(tree, False)
    return found


def test_every_file_of_module_utils_is_in_one_of_the_packages():
    loose = [name for name in os.listdir(MODULE_UTILS) if name.endswith(".py")]
    packages = sorted(
        name
        for name in os.listdir(MODULE_UTILS)
        if os.path.isdir(os.path.join(MODULE_UTILS, name)) and name != "__pycache__"
    )
    assert loose == [] and packages == sorted(ALLOWED)


@pytest.mark.parametrize(
    "package,path",
    list(_files()),
    ids=lambda value: os.path.relpath(value, MODULE_UTILS) if isinstance(value, str) and os.sep in value else value,
)
def test_imports_follow_the_layout(package, path):
    for node, module, level, in_function in _imports(path):
        where = "%s:%d" % (os.path.relpath(path, REPO), node.lineno)
        collection = level > 0 or (module or "").startswith(PREFIX)
        assert not (collection and in_function), "%s: an import of the collection inside a function" % where
        if level:
            assert package == "_provisioner", "%s: a relative import outside _provisioner" % where
            assert level == 1, "%s: a relative import out of the package" % where
            continue
        if collection:
            other = module[len(PREFIX) :].split(".")[0]
            assert other == package or other in ALLOWED[package], "%s: %s may not import %s" % (where, package, other)
        elif package == "_provisioner":
            top = module.split(".")[0]
            assert top in sys.stdlib_module_names or (top == "jinja2" and path.endswith("render_install.py")), (
                "%s: the provisioner side imports %s (standard library only)" % (where, module)
            )


def test_the_callback_package_needs_nothing_but_itself():
    for name in CALLBACK:
        path = os.path.join(MODULE_UTILS, "_provisioner", name + ".py")
        for node, module, level, _in_function in _imports(path):
            if level:
                assert module in CALLBACK, "%s:%d imports .%s, which the callback does not install" % (
                    path,
                    node.lineno,
                    module,
                )
            else:
                assert module.split(".")[0] in sys.stdlib_module_names, "%s:%d imports %s" % (path, node.lineno, module)
