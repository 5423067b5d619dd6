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

# Test files of the standard-library side (module_utils/_records, _provisioner) that load no module of
# ansible-core when run (measured: each file run alone adds no ansible.* module to sys.modules
# beyond the collection loader tests/conftest.py installs) and start no ansible CLI. What they
# check depends on the Python, not on the ansible-core line: a line on the pinned line's Python
# (make unit runs them there) leaves them out; a line on another Python runs them.
LINE_INDEPENDENT = [
    "tests/unit/plugins/module_utils/_provisioner/test_discovery.py",
    "tests/unit/plugins/module_utils/_provisioner/test_progress.py",
    "tests/unit/plugins/module_utils/_provisioner/test_render_dhcp_discovery.py",
    "tests/unit/plugins/module_utils/_provisioner/test_revision.py",
    "tests/unit/plugins/module_utils/_records/test_family.py",
    "tests/unit/plugins/module_utils/_records/test_fields.py",
    "tests/unit/plugins/module_utils/_records/test_gitstore.py",
    "tests/unit/plugins/module_utils/_records/test_schema.py",
    "tests/unit/plugins/module_utils/_records/test_store_discovery.py",
    "tests/unit/plugins/module_utils/test_bulk.py",
    "tests/unit/plugins/module_utils/test_enlist.py",
    "tests/unit/plugins/module_utils/test_netboot.py",
    "tests/unit/plugins/module_utils/test_properties.py",
    "tests/unit/plugins/module_utils/test_provisioner_host.py",
    "tests/unit/plugins/module_utils/test_render.py",
    "tests/unit/plugins/module_utils/test_render_memo.py",
    "tests/unit/plugins/module_utils/test_render_properties.py",
    "tests/unit/plugins/module_utils/test_spares.py",
    "tests/unit/plugins/module_utils/test_store.py",
    "tests/unit/plugins/module_utils/test_templates.py",
    "tests/unit/plugins/module_utils/test_transaction.py",
    "tests/unit/test_collector_json.py",
    "tests/unit/test_layout.py",
    "tests/unit/test_provisioner_python.py",
    # Two heavy integration tests whose subject is the standard-library side, not the line: the
    # record store's locking under 64 concurrent module runs (module runs on each line are in
    # test_record_modules.py's other tests), and the revision guard that keeps a stale render off
    # the provisioner (the provision and _apply.yml playbooks on each line are in the other tests
    # of test_playbooks.py).
    "tests/integration/test_record_modules.py::test_many_module_runs_at_once_lose_nothing",
    "tests/integration/test_playbooks.py::test_a_render_from_older_records_never_lands_after_a_newer_one",
]
PINNED_PYTHON = "%d.%d" % sys.version_info[:2]  # make compat runs this file with .venv's Python


def selection(version):
    """The pytest arguments of a line on Python <version>: SUBSET, less LINE_INDEPENDENT when
    that Python is the pinned line's."""
    if version != PINNED_PYTHON:
        return list(SUBSET)
    for path in LINE_INDEPENDENT:
        assert os.path.exists(os.path.join(REPO, path.split("::")[0])), (
            "compat.py: LINE_INDEPENDENT names %s, gone" % path
        )
    return [*SUBSET, *("--deselect=" + path for path in LINE_INDEPENDENT)]


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


def run_line(release, version, python, extra):
    venv = venv_for(release, python)
    started = time.monotonic()
    env = dict(os.environ, ANSIBLE_PYTHON_INTERPRETER=os.path.join(venv, "bin", "python"))
    env["PATH"] = os.path.join(venv, "bin") + os.pathsep + env.get("PATH", "")
    proc = subprocess.run(
        [os.path.join(venv, "bin", "pytest"), "-q", "-p", "no:cacheprovider", *selection(version), *extra],
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
        if version == PINNED_PYTHON:
            print(
                "   %d line-independent tests or files left out: make unit/integration run them on this Python"
                % len(LINE_INDEPENDENT)
            )
        code, summary, took, output = run_line(release, version, python, extra)
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
