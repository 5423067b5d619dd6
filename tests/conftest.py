# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test set-up shared by unit and integration tests.

The collection is imported as ``ansible_collections.baremetal.provision`` through a symlink
tree under .build/collections (created here if missing), the same path the Ansible CLI uses
through ANSIBLE_COLLECTIONS_PATH in the integration tests.
"""

import os
import shutil
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(REPO, ".build", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "baremetal", "provision")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(os.path.relpath(REPO, os.path.dirname(LINK)), LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)
# Ansible's own collection finder owns the ansible_collections namespace, as in ansible-test
# units: it must be in place before anything imports the collection, or the plugin loader
# cannot find the collection's metadata.
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

_AnsibleCollectionFinder(paths=[COLLECTIONS])._install()
sys.path.insert(0, os.path.join(REPO, "tests"))

# Keep the record parse cache of the stores that tests create out of the user's ~/.cache, in a
# folder of this run's own that goes when the run ends (pytest_unconfigure).
_OWN_CACHE = None
if "BAREMETAL_CACHE_DIR" not in os.environ:
    _OWN_CACHE = os.environ["BAREMETAL_CACHE_DIR"] = tempfile.mkdtemp(prefix="bm-parse-cache-")


# `make soak` sets BAREMETAL_SOAK=1. A test marked soak repeats heavy work that another test of
# `make test` already covers (the mark's reason says which); it is deselected unless
# BAREMETAL_SOAK is set. Tests that only scale with BAREMETAL_SOAK read it themselves.
SOAK = bool(os.environ.get("BAREMETAL_SOAK"))


def pytest_configure(config):
    # no pytest.ini or pyproject.toml in the collection root (it would ship in the artifact):
    # the marker is registered here
    config.addinivalue_line(
        "markers",
        "soak(reason): heavy work another test of make test covers (the reason names it); "
        "runs only with BAREMETAL_SOAK=1 (make soak)",
    )


def pytest_collection_modifyitems(config, items):
    soak = [item for item in items if item.get_closest_marker("soak") is not None]
    for item in soak:
        if not item.get_closest_marker("soak").kwargs.get("reason"):
            raise pytest.UsageError("%s: @pytest.mark.soak needs reason= naming what covers it" % item.nodeid)
    if soak and not SOAK:
        config.hook.pytest_deselected(items=soak)
        items[:] = [item for item in items if item.get_closest_marker("soak") is None]


def pytest_unconfigure(config):
    if _OWN_CACHE is not None:
        shutil.rmtree(_OWN_CACHE, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    from support import report

    if report.COUNTS:
        terminalreporter.section("hardening figures")
        for line in report.table():
            terminalreporter.write_line(line)
        terminalreporter.write_line("(saved to %s)" % report.save())
