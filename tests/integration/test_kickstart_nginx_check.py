# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The kickstart role's nginx server block: checked by the real nginx -t before it goes live, and
served with tftpd-hpa to IPv4 and IPv6 clients alike.

The role runs alone with service_manager none on this controller, its nginx check run in a lab
namespace (nginx -t binds the listen addresses, which only the namespace holds). A config nginx
refuses fails the task with nginx's own message and leaves the live file byte for byte as it was.
Then nginx on the file the role wrote and in.tftpd on the tftp role's default address serve a
dual-stack client over both families.
"""

import json
import os
import sys

import pytest
from support.ansible_cli import REPO, ansible_env, playbook_recap, run
from support.inventory import local_provisioner_vars, tree_vars
from support.netns import Lab, have_root, http_answers, sh, wait_for
from support.services import nginx_conf
from support.store import served_by_lab_provisioner, write_store

pytestmark = pytest.mark.skipif(not have_root(), reason="network namespaces need root")

PROV_IP = "192.0.2.1"
PROV_IP6 = "2001:db8:0:1::1"
PLAY = """\
- name: Kickstart only
  hosts: prov-lab
  gather_facts: false
  roles:
    - role: baremetal.provision.kickstart
"""


class KickstartOnly(object):
    """The kickstart role alone against this controller, its files under tmp, its nginx check in ns."""

    def __init__(self, tmp, ns):
        self.tmp = str(tmp)
        self.paths = {k: os.path.join(self.tmp, k) for k in ("tftp", "www", "nginx", "state", "cb", "run")}
        for path in self.paths.values():
            os.makedirs(path, exist_ok=True)
        records = write_store(os.path.join(self.tmp, "records"), served_by_lab_provisioner(PROV_IP))
        self.inventory = os.path.join(self.tmp, "hosts.json")
        with open(self.inventory, "w", encoding="utf-8") as handle:
            json.dump({"all": {"hosts": {"prov-lab": {"ansible_python_interpreter": sys.executable}}}}, handle)
        self.playbook = os.path.join(self.tmp, "kickstart.yml")
        with open(self.playbook, "w", encoding="utf-8") as handle:
            handle.write(PLAY)
        self.vars = {
            **local_provisioner_vars(),
            **tree_vars(self.paths),
            "kickstart_records_dir": records,
            "kickstart_listen_addresses": [PROV_IP, PROV_IP6],
            "kickstart_nginx_check_command": ["ip", "netns", "exec", ns, "nginx"],
        }
        self.conf = os.path.join(self.paths["nginx"], "baremetal-provision.conf")

    def apply(self, **extra):
        varfile = os.path.join(self.tmp, "vars.json")
        with open(varfile, "w", encoding="utf-8") as handle:
            json.dump(dict(self.vars, **extra), handle)
        return run(
            "ansible-playbook",
            ["-i", self.inventory, self.playbook, "-e", "@" + varfile],
            env=ansible_env(tmp=self.tmp),
        )

    def live(self):
        with open(self.conf, "rb") as handle:
            return handle.read(), os.stat(self.conf).st_mtime_ns


@pytest.fixture
def lab():
    lab = Lab("bmk")
    try:
        yield lab
    finally:
        lab.close()


def _lab_ns(lab):
    ns = lab.namespace("prov")
    lab.bridge(ns, "br0", PROV_IP + "/24")
    # nodad: a tentative address cannot be bound yet, and nginx -t binds it
    sh("ip", "-n", ns, "addr", "add", PROV_IP6 + "/64", "dev", "br0", "nodad")
    return ns


def test_a_config_nginx_refuses_fails_the_task_and_leaves_the_live_one(tmp_path, lab):
    ns = _lab_ns(lab)
    prov = KickstartOnly(tmp_path, ns)
    first = prov.apply()
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Install the nginx server block" in first.stdout
    live, mtime = prov.live()
    assert b"listen 192.0.2.1:80;" in live and b"listen [2001:db8:0:1::1]:80;" in live, live
    files = sorted(os.listdir(prov.paths["nginx"]))

    for extra, nginx_says in (
        # a listen parameter nginx does not know
        ({"kickstart_listen": "80 bogus_parameter"}, 'invalid parameter "bogus_parameter"'),
        # an address the host where nginx runs does not have: nginx -t binds it
        (
            {"kickstart_listen_addresses": [PROV_IP, "2001:db8:0:1::99"]},
            "bind() to [2001:db8:0:1::99]:80 failed (99: Cannot assign requested address)",
        ),
        # a mirror path that ends the alias directive: nginx reads the rest as a directive
        ({"kickstart_mirror_root": os.path.join(str(tmp_path), "mirror; bogus_directive")}, "bogus_directive"),
    ):
        proc = prov.apply(**extra)
        assert proc.returncode != 0, (extra, proc.stdout)
        task = proc.stdout.partition("TASK [baremetal.provision.kickstart : Install the nginx server block]")[2]
        failed = task.split("TASK [")[0].split("PLAY RECAP")[0]
        fatal = [line for line in failed.splitlines() if line.startswith("fatal: [prov-lab]: FAILED! => ")]
        assert fatal, (extra, proc.stdout)
        result = json.loads(fatal[0].partition(" => ")[2])
        assert result["msg"] == "failed to validate", result
        assert "[emerg]" in result["stderr"] and nginx_says in result["stderr"], (extra, result["stderr"])
        assert prov.live() == (live, mtime), extra
        recap = playbook_recap(proc.stdout)["prov-lab"]
        assert recap["failed"] == 1 and recap["changed"] == 0, (extra, recap)
    assert sorted(os.listdir(prov.paths["nginx"])) == files  # no candidate left beside the live file

    # a good config after the refusals: the run goes through and nothing changes
    again = prov.apply()
    assert again.returncode == 0, again.stdout + again.stderr
    assert playbook_recap(again.stdout)["prov-lab"]["changed"] == 0
    assert prov.live() == (live, mtime)


# A stand-in for the callback service (named as such): it answers with the X-Real-IP nginx passed.
ECHO_REAL_IP = """\
import http.server, sys
class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (self.headers.get("X-Real-IP") or "none").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
"""


def _tftp_default_address():
    import yaml

    with open(os.path.join(REPO, "roles", "tftp", "defaults", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["tftp_address"]


def test_nginx_and_tftpd_serve_ipv4_and_ipv6_clients(tmp_path, lab):
    ns = _lab_ns(lab)
    prov = KickstartOnly(tmp_path, ns)
    proc = prov.apply(kickstart_callback_port=8097)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    os.makedirs(os.path.join(prov.paths["tftp"], "images"))
    with open(os.path.join(prov.paths["tftp"], "images", "vmlinuz"), "w", encoding="ascii") as handle:
        handle.write("stand-in vmlinuz\n")
    client = lab.client(ns, "br0", "52:54:00:12:34:56")
    sh("ip", "addr", "add", "192.0.2.50/24", "dev", "eth0", ns=client)
    sh("ip", "addr", "add", "2001:db8:0:1::50/64", "dev", "eth0", "nodad", ns=client)

    # tftpd-hpa on the tftp role's default address
    address = _tftp_default_address()
    lab.start(
        ns,
        ["in.tftpd", "-L", "-u", "root", "--address", address, "-s", prov.paths["tftp"]],
        os.path.join(prov.paths["run"], "tftpd.log"),
    )
    # nginx on the server block the role wrote, the stand-in callback behind it
    lab.start(ns, [sys.executable, "-c", ECHO_REAL_IP, "8097"], os.path.join(prov.paths["run"], "echo.log"))
    conf = nginx_conf(prov.paths)
    lab.start(ns, ["nginx", "-c", conf], os.path.join(prov.paths["run"], "nginx.log"))
    wait_for(lambda: http_answers(ns, "http://127.0.0.1:8097/"), what="the stand-in callback")
    wait_for(lambda: http_answers(client, "http://%s/" % PROV_IP), what="nginx")

    def get(url):
        return sh("curl", "-s", "-g", "-m", "20", "-w", "\n%{http_code}", url, ns=client, check=False).stdout

    for server, me in ((PROV_IP, "192.0.2.50"), ("[%s]" % PROV_IP6, "2001:db8:0:1::50")):
        assert get("http://%s/images/vmlinuz" % server) == "stand-in vmlinuz\n\n200", server
        # the callback service learns the client's address, IPv6 as nginx got it
        assert get("http://%s/bm/callback/web01/1/token" % server) == me + "\n200", server
        tftp = sh("curl", "-s", "-g", "-m", "20", "tftp://%s/images/vmlinuz" % server, ns=client, check=False)
        assert tftp.returncode == 0 and tftp.stdout == "stand-in vmlinuz\n", (server, address, tftp)
