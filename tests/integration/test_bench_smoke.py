# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every benchmark runs in its smoke size (tiny fleet, one attempt) and prints its figures, so a
benchmark cannot rot unnoticed (bench_replace_ssh.py's in make soak only: see SOAK_ONLY); and a
speed mechanism the benchmark harness turns off is off.

Nothing here is timed: the figures are only checked to be there.
"""

import os
import re
import subprocess
import sys

import pytest
from support.ansible_cli import REPO, ansible_env
from support.fleet import write_fleet

BENCHMARKS = os.path.join(REPO, "benchmarks")
FIGURE = re.compile(r"\d+\.\d\d \(1 run\)")  # a figure of a one-attempt run, as _harness prints it

# script: lines its output must hold (row labels, table titles)
EXPECTED = {
    "bench_render.py": [r"^\s*full\s", r"^\s*unchanged\s", r"^\s*one-mac\s", r"^\s*floor\s", r"x floor"],
    "bench_replace.py": [r"^\s*20\s+1\s+20\s", r"^\s*20\s+5\s+4\s", r"replace x baseline"],
    "bench_replace_ssh.py": [
        r"^replace over SSH beside the local path",
        r"^\s*20\s+1\s+20\s+\d+\.\d\d\s",
        r"^the no-op site over SSH",
        r"^\s*20\s+1\s+\d+\s+\d+\s",
    ],
    "bench_inventory.py": [r"^ansible-inventory --list", r"^ansible-playbook, one task", r"^\s*20\s"],
    "bench_edit.py": [
        r"^the record work of one replace",
        r"^\s*20\s+all on\s.*patched$",
        r"^\s*20\s+store_index off\s",
        r"^\s*20\s+view_patch off\s.*built$",  # the switch does turn the patches off
    ],
    "bench_bulk.py": [r"replaced in one run against one replace", r"^\s*200\s+1\s"],
    "bench_scale.py": [r"^\s*20\s+export full\s", r"^\s*20\s+export lean\s", r"^\s*20\s+validate\s", r"ceiling"],
    "bench_storm.py": [
        r"^\s*isc\s+rendered\s",
        r"^\s*kea\s+plain\s",
        r"^correctness of the rendered",
        r"installer for installed",
    ],
    "mechanisms.py": [
        r"^\s*\(all on\)\s",
        *(
            r"^\s*%s\s+\d+\s" % name
            for name in (
                "parse_cache",
                "parse_cache_index",
                "parse_cache_checks",
                "inventory_view",
                "provisioner_view",
                "render_memo",
                "store_index",
                "view_patch",
                "view_delta",
                "view_left",
                "bulk_hosts",
                "gc_pause",
                "template_warm",
                "in_process",
            )
        ),
    ],
}


def test_every_benchmark_has_a_smoke_run():
    found = sorted(n for n in os.listdir(BENCHMARKS) if n.endswith(".py") and not n.startswith("_"))
    assert found == sorted(EXPECTED)


# bench_replace_ssh.py boots the lab's container provisioner and runs site, a second site and
# replace over SSH: the same work as test_real_provisioner.py in make test, which asserts more of
# it. Its smoke run is make soak's (and make bench runs it in full).
SOAK_ONLY = {
    # four daemons under a DHCP, TFTP and HTTP load for about 20 s, as root: make bench runs it whole
    "bench_storm.py": pytest.mark.soak(
        reason="tests/integration/test_provisioner.py and test_real_provisioner.py check the same rendered "
        "DHCP, TFTP and install configs with the real daemons, per system; the storm adds only load"
    ),
    "bench_replace_ssh.py": pytest.mark.soak(
        reason="tests/integration/test_real_provisioner.py runs site, a no-op site and replace over SSH on the "
        "same container provisioner; bench_replace.py's smoke run keeps the replace benchmark's harness in make test"
    ),
}


@pytest.mark.parametrize(
    "script", [pytest.param(s, marks=SOAK_ONLY[s]) if s in SOAK_ONLY else s for s in sorted(EXPECTED)]
)
def test_benchmark_smoke(script, tmp_path):
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, os.path.join(BENCHMARKS, script), "--smoke"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    for pattern in EXPECTED[script]:
        assert re.search(pattern, proc.stdout, re.MULTILINE), "%s: no line matching %r in:\n%s" % (
            script,
            pattern,
            proc.stdout,
        )
    assert FIGURE.search(proc.stdout), proc.stdout


def _inventory(tmp_path, off, cache):
    """The plugin's account of where its view came from, in an ansible-inventory run with BENCH_OFF=off."""
    config = tmp_path / "fleet.baremetal.yml"
    if not config.exists():
        write_fleet(tmp_path / "records", 20, segments=1, supernet="192.0.2.0/24")
        config.write_text("plugin: baremetal.provision.records\nrecords_dir: records\n")
    env = ansible_env({"BAREMETAL_CACHE_DIR": str(cache), "BENCH_OFF": off}, tmp=tmp_path)
    proc = subprocess.run(
        [
            sys.executable,
            os.path.join(BENCHMARKS, "_switches.py"),
            "ansible-inventory",
            "-vvv",
            "-i",
            str(config),
            "--graph",
            "provisioners",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    how = [line for line in (proc.stdout + proc.stderr).splitlines() if "hosts of the record store" in line]
    assert len(how) == 1, proc.stdout + proc.stderr
    return re.sub(r" \(host_vars=\w+\)$", "", how[0])  # where the view came from, without its form


def test_inventory_view_switch(tmp_path):
    cache = tmp_path / "cache"
    assert _inventory(tmp_path, "inventory_view", cache).endswith(", built")
    assert _inventory(tmp_path, "inventory_view", cache).endswith(", built")  # not read
    assert _inventory(tmp_path, "", cache).endswith(", built")  # nor written
    assert "from the cache folder" in _inventory(tmp_path, "", cache)


def test_parse_cache_switch(tmp_path):
    cache = tmp_path / "cache"
    _inventory(tmp_path, "parse_cache", cache)
    names = os.listdir(cache)
    assert any(n.startswith("inventory-") for n in names), names  # the other caches are still written
    assert not any(n.startswith("records-") for n in names), names
    (cache / next(n for n in names if n.startswith("inventory-"))).unlink()
    _inventory(tmp_path, "", cache)
    assert any(n.startswith("records-") for n in os.listdir(cache))


def test_unknown_switch_stops_the_run(tmp_path):
    proc = subprocess.run(
        [sys.executable, os.path.join(BENCHMARKS, "_switches.py"), "ansible-inventory", "--version"],
        env=dict(os.environ, BENCH_OFF="no_such_cache"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode != 0
    assert "no_such_cache" in proc.stderr
