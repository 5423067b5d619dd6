# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provisioner's boot-side daemons as a lab runs them itself (service manager "none"): the
real tftpd-hpa on the TFTP tree, the real nginx on the config the kickstart role wrote and the
collection's callback service on the state the sync keeps, all in one network namespace."""

import os
import sys

from support.netns import http_answers, read_log, sh, wait_for


def nginx_conf(paths):
    """An nginx main config that stays in the foreground (the lab ends it by its PID), keeps its
    files in paths["run"] and serves what the kickstart role wrote to paths["nginx"]; its path."""
    conf = os.path.join(paths["run"], "nginx.conf")
    with open(conf, "w", encoding="utf-8") as handle:
        handle.write(
            "daemon off;\nuser root;\npid %(run)s/nginx.pid;\nerror_log %(run)s/nginx-error.log info;\n"
            "events { worker_connections 64; }\n"
            "http {\n  access_log %(run)s/access.log;\n  client_body_temp_path %(run)s/body;\n"
            "  proxy_temp_path %(run)s/proxy;\n  fastcgi_temp_path %(run)s/fcgi;\n  uwsgi_temp_path %(run)s/uwsgi;\n"
            "  scgi_temp_path %(run)s/scgi;\n  include %(nginx)s/baremetal-provision.conf;\n}\n" % paths
        )
    return conf


def start_boot_services(lab, ns, paths, logs, address, callback_port=None):
    """Start in.tftpd, nginx and the callback service in ns (lab.start: each ended by its PID when
    the lab closes) and wait until nginx answers on address, and the callback service on
    127.0.0.1:callback_port when one is given (else it listens on its default port).
    logs: the folder for their logs. {"tftp": process, "nginx": process, "callback": process}."""
    procs = {
        "tftp": lab.start(
            ns,
            ["in.tftpd", "-L", "-v", "-v", "-u", "root", "-s", paths["tftp"]],
            os.path.join(logs, "tftpd.log"),
        )
    }
    conf = nginx_conf(paths)
    sh("nginx", "-t", "-c", conf, ns=ns)  # where it runs: the check binds its listen addresses
    procs["nginx"] = lab.start(ns, ["nginx", "-c", conf], os.path.join(logs, "nginx.log"))
    callback = [
        sys.executable,
        os.path.join(paths["cb"], "bm_callback.py"),
        "--state-dir",
        paths["state"],
        "--tftp-root",
        paths["tftp"],
    ]
    if callback_port is not None:
        callback += ["--port", str(callback_port)]
    procs["callback"] = lab.start(ns, callback, os.path.join(logs, "callback.log"))
    if callback_port is not None:
        wait_for(lambda: http_answers(ns, "http://127.0.0.1:%d/" % callback_port), what="the callback service")
    wait_for(lambda: http_answers(ns, "http://%s/" % address), what="nginx")
    return procs


def start_dhcp(lab, ns, server, config, run_dir, interfaces=("br0",)):
    """Start ISC dhcpd (server "isc") or Kea ("kea") in ns on config, its leases, pid file and log
    in run_dir, and wait until it serves; (process, log path). dhcpd listens on interfaces; Kea on
    those its config names."""
    log = os.path.join(run_dir, "dhcp.log")
    if server == "kea":
        env = dict(os.environ, KEA_PIDFILE_DIR=run_dir, KEA_LOCKFILE_DIR=run_dir)
        proc = lab.start(ns, ["kea-dhcp4", "-c", config], log, env=env)
        wait_for(lambda: "DHCP4_STARTED" in read_log(log), what="kea-dhcp4")
        return proc, log
    leases = os.path.join(run_dir, "dhcpd.leases")
    with open(leases, "a", encoding="utf-8"):
        pass
    pidfile = os.path.join(run_dir, "dhcpd.pid")
    if os.path.exists(pidfile):  # dhcpd refuses to start while its pid file names a live process
        os.unlink(pidfile)
    proc = lab.start(ns, ["dhcpd", "-f", "-d", "-4", "-cf", config, "-lf", leases, "-pf", pidfile, *interfaces], log)
    wait_for(lambda: "Sending on" in read_log(log), what="dhcpd")
    return proc, log
