# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the compatibility subset of the tests on every ansible-core line besides the pinned one.

    python tests/support/compat.py [LINE ...]        (make compat; LINE like 2.16 or 2.16.19)

Each line gets its own virtual environment under .build/compat (made once, kept while its
requirements are the same), on the Python that line runs on: pyenv's interpreter of that
version, else one on PATH. A line whose Python this machine does not have is skipped and said so
loudly; a line whose tests fail fails the run. The table at the end is the matrix.
"""

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, ".build", "compat")
REQUIREMENTS = os.path.join(REPO, "tests", "compat-requirements.txt")

# (ansible-core release, the Python it is tested on). The pinned line (requirements-dev.txt) runs
# the whole suite in .venv; these run the subset below.
LINES = [
    ("2.16.19", "3.11"),
    ("2.17.14", "3.11"),
    ("2.18.19", "3.11"),
    ("2.20.10", "3.12"),
    ("2.21.5", "3.13"),
]

# What does not need one line's internals: the unit tests, the record modules, the inventory
# (and its export as AWX syncs it), the in-process comparison, record values as data, and
# playbook runs that render DHCP, TFTP and web (the replace, retire and provision playbooks).
SUBSET = [
    "tests/unit",
    "tests/integration/test_record_modules.py",
    "tests/integration/test_inventory.py",
    "tests/integration/test_inventory_export.py",
    "tests/integration/test_inprocess.py",
    "tests/integration/test_values_are_data.py",
    "tests/integration/test_playbooks.py",
]


def find_python(version):
    """A working python<version>: pyenv's newest of that version, else one on PATH (a pyenv shim
    for a version not selected fails when run, so each is asked its version); None when none is."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = sorted(
        glob.glob(os.path.join(root, "versions", version + ".*", "bin", "python" + version)), reverse=True
    )
    candidates.append(shutil.which("python" + version))
    for python in filter(None, candidates):
        try:
            proc = subprocess.run(
                [python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except OSError:
            continue
        if proc.returncode == 0 and proc.stdout.strip() == version:
            return python
    return None


def venv_for(release, python):
    """The virtual environment of one line, made (or remade) when its inputs changed."""
    with open(REQUIREMENTS, "rb") as handle:
        key = hashlib.sha256(handle.read() + release.encode() + python.encode()).hexdigest()[:16]
    venv = os.path.join(BUILD, "ansible-core-" + release)
    stamp = os.path.join(venv, ".stamp")
    if os.path.exists(stamp):
        with open(stamp, encoding="utf-8") as handle:
            if handle.read() == key:
                return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([python, "-m", "venv", venv], check=True)
    pip = subprocess.run(
        [
            os.path.join(venv, "bin", "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "ansible-core==" + release,
            "-r",
            REQUIREMENTS,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if pip.returncode != 0:
        raise SystemExit("pip could not install ansible-core %s on %s:\n%s" % (release, python, pip.stdout))
    with open(stamp, "w", encoding="utf-8") as handle:
        handle.write(key)
    return venv


def run_line(release, python, extra):
    venv = venv_for(release, python)
    started = time.monotonic()
    env = dict(os.environ, ANSIBLE_PYTHON_INTERPRETER=os.path.join(venv, "bin", "python"))
    env["PATH"] = os.path.join(venv, "bin") + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(
        [os.path.join(venv, "bin", "pytest"), "-q", "-p", "no:cacheprovider", *SUBSET, *extra],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    summary = [line for line in proc.stdout.splitlines() if line.strip()][-1:] or ["(no output)"]
    return proc.returncode, summary[0].strip("= "), time.monotonic() - started, proc.stdout


def main(argv):
    wanted = [arg for arg in argv if not arg.startswith("-")]
    extra = [arg for arg in argv if arg.startswith("-")]
    rows, failed, skipped = [], [], []
    for release, version in LINES:
        if wanted and not any(release == w or release.startswith(w + ".") for w in wanted):
            continue
        python = find_python(version)
        if python is None:
            print(
                "!" * 78
                + "\nSKIPPED ansible-core %s: no Python %s on this machine (PATH or pyenv)\n" % (release, version)
                + "!" * 78,
                flush=True,
            )
            skipped.append(release)
            rows.append((release, version, "SKIPPED: no Python %s" % version, 0.0))
            continue
        print("== ansible-core %s on Python %s (%s)" % (release, version, python), flush=True)
        code, summary, took, output = run_line(release, python, extra)
        if code != 0:
            print(output)
            failed.append(release)
        rows.append((release, version, summary, took))
        print("   %s in %.0f s" % (summary, took), flush=True)
    print("\nansible-core compatibility matrix (the pinned line runs the whole suite in .venv):")
    print("%-10s %-7s %-8s %s" % ("line", "python", "time", "result"))
    for release, version, summary, took in rows:
        print("%-10s %-7s %6.0f s  %s" % (release, version, took, summary))
    if skipped:
        print("SKIPPED LINES (no interpreter here): %s" % ", ".join(skipped))
    if failed:
        print("FAILED LINES: %s" % ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
