# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render the documentation of every plugin and role with ansible-doc, from the installed collection.

Run by `make docs` with ANSIBLE_COLLECTIONS_PATH pointing at a collection installed from the built
artifact, so a file missing from the build or a doc that does not render fails here. Any warning
or error printed by ansible-doc counts as a failure.
"""

import glob
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
NS = "baremetal.provision"

PLUGIN_DIRS = {
    "module": "modules",
    "inventory": "inventory",
    "lookup": "lookup",
    "filter": "filter",
    "callback": "callback",
}


def targets():
    for doc_type, folder in PLUGIN_DIRS.items():
        for path in sorted(glob.glob(os.path.join(REPO, "plugins", folder, "*.py"))):
            name = os.path.splitext(os.path.basename(path))[0]
            if not name.startswith("_"):
                yield doc_type, "%s.%s" % (NS, name)
    for path in sorted(glob.glob(os.path.join(REPO, "roles", "*", "meta", "argument_specs.yml"))):
        yield "role", "%s.%s" % (NS, path.split(os.sep)[-3])


def main():
    failures = 0
    count = 0
    for doc_type, name in targets():
        count += 1
        proc = subprocess.run(
            [os.path.join(BIN, "ansible-doc"), "-t", doc_type, name], capture_output=True, text=True, check=False
        )
        noise = [line for line in proc.stderr.splitlines() if line.strip()]
        if proc.returncode != 0 or noise or len(proc.stdout.splitlines()) < 5:
            failures += 1
            print(
                "FAIL ansible-doc -t %s %s (rc %d)\n%s" % (doc_type, name, proc.returncode, proc.stderr.strip()),
                file=sys.stderr,
            )
        else:
            print("ok   ansible-doc -t %-9s %s (%d lines)" % (doc_type, name, len(proc.stdout.splitlines())))
    if count == 0:
        print("no plugins found under %s" % REPO, file=sys.stderr)
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
