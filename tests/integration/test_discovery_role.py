# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The discovery role renders its files (service manager "none", every path temporary): a second
run changes nothing, nginx accepts its locations, and bad variables fail before any change.
The systemd path (user, unit, service, nginx reload) is the real-provisioner test's."""

import os

import pytest
from support.discovery_lab import paths, role_vars, run_role, stand_in_collector
from support.netns import sh

IPXE = """\
#!ipxe
# baremetal.provision discovery: an unknown machine boots the collector, which reports and powers off
kernel http://${next-server}/discovery/vmlinuz initrd=initrd.img console=tty0 console=ttyS0,115200 \
bm.report=http://${next-server}/bm/discover bm.bootif=${netX/mac} bm.platform=${platform}
initrd --name initrd.img http://${next-server}/discovery/initrd.img
boot || poweroff
"""


def _tree(root):
    found = {}
    for folder, _dirs, files in os.walk(str(root)):
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, str(root))] = handle.read()
    return found


@pytest.fixture
def where(tmp_path):
    where = paths(tmp_path / "root")
    stand_in_collector(where["collector"])
    return where


def test_the_role_renders_its_files_and_a_second_run_changes_nothing(tmp_path, where):
    proc, recap = run_role(tmp_path, role_vars(where))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap["changed"] > 0 and recap["failed"] == 0
    tree = _tree(tmp_path / "root")
    assert tree["tftp/discovery/discover.ipxe"].decode() == IPXE
    assert tree["tftp/discovery/vmlinuz"] == b"stand-in collector vmlinuz\n"
    assert tree["tftp/discovery/initrd.img"] == b"stand-in collector initrd.img\n"
    for name in ("bm_discover.py", "bm_provisioner/__init__.py", "bm_provisioner/atomic.py"):
        assert "lib/discovery/" + name in tree
    with open(
        os.path.join(os.path.dirname(__file__), "../../plugins/module_utils/_provisioner/discovery.py"), "rb"
    ) as f:
        assert tree["lib/discovery/bm_provisioner/discovery.py"] == f.read()
    assert os.stat(os.path.join(where["code"], "bm_discover.py")).st_mode & 0o777 == 0o755
    assert os.stat(where["spool"]).st_mode & 0o777 == 0o750
    conf = tree["nginx/baremetal-provision.d/discovery.conf"].decode()
    assert "alias %s/discovery/;" % where["tftp"] in conf
    assert "proxy_pass http://127.0.0.1:8088;" in conf and "client_max_body_size 65536;" in conf
    assert "limit_except POST { deny all; }" in conf
    # nginx reads the locations inside a server block, as the kickstart role's includes them
    run_dir = tmp_path / "nginx-run"
    run_dir.mkdir()
    main = run_dir / "nginx.conf"
    main.write_text(
        "pid %(run)s/pid;\nerror_log %(run)s/error.log;\nevents {}\nhttp {\n  access_log off;\n"
        "  server {\n    listen 127.0.0.1:8;\n    include %(include)s/*.conf;\n    location / { return 404; }\n  }\n}\n"
        % {"run": run_dir, "include": where["include"]}
    )
    check = sh("nginx", "-t", "-c", str(main), check=False)
    assert check.returncode == 0, check.stderr
    # idempotent, in check mode and for real
    proc, recap = run_role(tmp_path, role_vars(where), "--check")
    assert proc.returncode == 0 and recap["changed"] == 0, proc.stdout
    proc, recap = run_role(tmp_path, role_vars(where))
    assert proc.returncode == 0 and recap["changed"] == 0, proc.stdout
    assert _tree(tmp_path / "root") == tree


def test_options_reach_the_script_and_the_locations(tmp_path, where):
    variables = role_vars(
        where, discovery_kernel_options="console=ttyS1,9600 quiet", discovery_port=9099, discovery_max_body=32768
    )
    proc, _recap = run_role(tmp_path, variables)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(os.path.join(where["tftp"], "discovery", "discover.ipxe"), encoding="utf-8") as handle:
        assert "initrd=initrd.img console=ttyS1,9600 quiet bm.report=" in handle.read()
    proc, _recap = run_role(tmp_path, dict(variables, discovery_kernel_options=""))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(os.path.join(where["tftp"], "discovery", "discover.ipxe"), encoding="utf-8") as handle:
        assert "initrd=initrd.img bm.report=" in handle.read()
    with open(os.path.join(where["include"], "discovery.conf"), encoding="utf-8") as handle:
        conf = handle.read()
    assert "proxy_pass http://127.0.0.1:9099;" in conf and "client_max_body_size 32768;" in conf


def test_discovery_off_writes_nothing(tmp_path, where):
    variables = role_vars(where)
    del variables["bm_discovery_segments"]
    proc, recap = run_role(tmp_path, variables)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert recap["changed"] == 0
    assert sorted(_tree(tmp_path / "root")) == ["collector/initrd.img", "collector/vmlinuz"]


@pytest.mark.parametrize(
    "change, words",
    [
        ({"discovery_collector_dir": ""}, "discovery_collector_dir (not set)"),
        ({"discovery_collector_dir": "/nonexistent/collector"}, "discovery_collector_dir (/nonexistent/collector)"),
        ({"discovery_kernel_options": "quiet\nshell"}, "discovery_kernel_options"),
        ({"discovery_kernel_options": "quiet ${root-path}"}, "discovery_kernel_options"),
        ({"discovery_port": "http"}, "discovery_port"),
        ({"discovery_service_manager": "runit"}, "value of discovery_service_manager must be one of: systemd, none"),
    ],
)
def test_bad_variables_fail_before_any_change(tmp_path, where, change, words):
    proc, _recap = run_role(tmp_path, role_vars(where, **change))
    assert proc.returncode != 0
    assert words in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    if "collector" in words:
        assert "make collector" in proc.stdout
    assert sorted(_tree(tmp_path / "root")) == ["collector/initrd.img", "collector/vmlinuz"]
