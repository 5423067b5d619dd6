# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Install a local stand-in for ansible-test's pip bootstrap script.

ansible-test sanity downloads get-pip-<version>.py from ci-files.testing.ansible.com, which this
machine cannot reach. The stand-in does what that script is used for: it bootstraps pip with the
standard library's ensurepip and installs the requested packages from the configured index.
An existing cached script (the real one, or ours) is left alone.
"""

import os
import re
import sys

STANDIN = '''\
"""Stand-in for get-pip.py written by baremetal.provision's Makefile (see tests/support/get_pip_standin.py)."""
import subprocess
import sys

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
if any(not a.startswith("-") for a in args):
    subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
'''


def pip_version():
    import ansible_test

    root = os.path.dirname(ansible_test.__file__)
    with open(os.path.join(root, "_internal", "python_requirements.py"), encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"\bpip='([0-9.]+)'", text)
    return match.group(1) if match else "24.2"


def main():
    version = pip_version()
    path = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_"))
    if os.path.exists(path):
        return 0
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(STANDIN)
    print("installed pip bootstrap stand-in: %s" % path, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
