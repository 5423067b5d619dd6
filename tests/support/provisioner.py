# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real provisioning server for tests: Debian 12 with systemd as PID 1, reached over SSH.

The root is built once with mmdebstrap (systemd, dbus, sshd, python3, iproute2 and nothing of
the roles) and cached under .build/provisioner/<key>, the key a digest of everything that goes
in it. The .debs of every package the roles install on Debian (read from the roles' own vars
files) are downloaded into its apt cache at build time, so that the roles' package tasks really
run inside the container, which has no network but the lab's.

``booted(lab, ns, bridge, address)`` boots it with systemd-nspawn inside the lab's namespace
(--volatile=overlay: every boot starts from the same clean server), a static address via
systemd-networkd and a root SSH key made for this run, waits until ``systemctl
is-system-running`` says ``running`` and ends the container by the PID of its nspawn.

    python tests/support/provisioner.py      # build (or find) the root; prints its path
"""

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.join(REPO, ".build", "provisioner")
SUITE = "bookworm"
MIRRORS = (
    "deb http://deb.debian.org/debian bookworm main",
    "deb http://deb.debian.org/debian bookworm-updates main",
    "deb http://deb.debian.org/debian-security bookworm-security main",
)
# The server itself: what a minimal Debian server with SSH has, and nothing the roles install.
BASE = ("systemd-sysv", "dbus", "openssh-server", "python3", "iproute2", "ca-certificates")
# Ansible's apt module installs python3-apt itself when it is missing; its .deb must be there.
ANSIBLE_NEEDS = ("python3-apt",)
BUILD_VERSION = "3"  # raise when the build steps below change


def role_packages():
    """Every package the roles install on the Debian family (both DHCP servers, DHCPv6 and radvd)."""
    names = []
    for role, key in (("dhcp", "_dhcp_by_family"), ("tftp", "_tftp_by_family"), ("kickstart", "_kickstart_by_family")):
        with open(os.path.join(REPO, "roles", role, "vars", "main.yml"), encoding="utf-8") as handle:
            family = yaml.safe_load(handle)[key]["Debian"]
        packages = family["packages"]
        if isinstance(packages, dict):
            packages = [name for server in sorted(packages) for name in packages[server]]
        packages = packages + (family.get("ipv6") or {}).get("packages", [])
        names.extend(name for name in packages if name not in names)
    return names


def cache_key():
    spec = {
        "suite": SUITE,
        "mirrors": MIRRORS,
        "base": BASE,
        "download": sorted(role_packages()) + list(ANSIBLE_NEEDS),
        "version": BUILD_VERSION,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def root_path():
    return os.path.join(CACHE, cache_key(), "root")


def build(log=sys.stderr):
    """Build the root unless the cached one for the same inputs exists; return its path."""
    root = root_path()
    if os.path.exists(os.path.join(root, ".bm-complete")):
        return root
    for tool in ("mmdebstrap", "systemd-nspawn"):
        if shutil.which(tool) is None:
            raise RuntimeError("%s is missing: apt-get install systemd-container mmdebstrap" % tool)
    work = root + ".partial"
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.dirname(root), exist_ok=True)
    download = " ".join(role_packages() + list(ANSIBLE_NEEDS))
    hooks = [
        # the packages the roles will install, with their recommends as apt installs them on a
        # stock server: downloaded only, nothing of them is installed
        'chroot "$1" env -u APT_CONFIG apt-get install --download-only -y -o APT::Install-Recommends=true %s'
        % download,
        'mkdir -p -m 0700 "$1/root/.ssh"',
        'chroot "$1" systemctl enable systemd-networkd.service ssh.service',
        # a stock server: no policy-rc.d, so package installs start their services as on real hosts
        'rm -f "$1/usr/sbin/policy-rc.d"',
        'echo prov > "$1/etc/hostname"',
    ]
    cmd = [
        "mmdebstrap",
        "--variant=apt",
        "--mode=root",
        "--include=" + ",".join(BASE),
        "--skip=cleanup/apt/lists",
        "--skip=cleanup/apt/cache",
    ]
    cmd += ["--customize-hook=" + hook for hook in hooks]
    cmd += [SUITE, work, *MIRRORS]
    started = time.monotonic()
    proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        shutil.rmtree(work, ignore_errors=True)
        raise RuntimeError("mmdebstrap failed (%d): %s" % (proc.returncode, " ".join(cmd)))
    with open(os.path.join(work, ".bm-complete"), "w", encoding="utf-8") as handle:
        json.dump({"seconds": round(time.monotonic() - started, 1), "packages": download.split()}, handle)
    os.rename(work, root)
    return root


class Server(object):
    """A booted provisioner: where to reach it and how."""

    def __init__(self, name, ns, address, key, tmp):
        self.name = name
        self.ns = ns
        self.host = address
        self.port = 22
        self.user = "root"
        self.key = key
        self.known_hosts = os.path.join(tmp, "known_hosts")
        # Ansible's SSH masters are keyed by user, address and port: two labs at 192.0.2.10 at
        # once (concurrent test runs) would share one and run each other's tasks. A folder of its
        # own per server, short enough for a socket path.
        self.control_dir = tempfile.mkdtemp(prefix="bmcp-", dir="/tmp")
        self.proc = None

    @property
    def ssh_options(self):
        return [
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=" + self.known_hosts,
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-i",
            self.key,
        ]

    def ssh(self, command, check=True, timeout=120):
        """Run a shell command on the server (from the lab namespace); CompletedProcess."""
        cmd = [
            "ip",
            "netns",
            "exec",
            self.ns,
            "ssh",
            *self.ssh_options,
            "-p",
            str(self.port),
            "%s@%s" % (self.user, self.host),
            command,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise RuntimeError(
                "on %s: %s failed (%d): %s%s" % (self.name, command, proc.returncode, proc.stdout, proc.stderr)
            )
        return proc

    def inventory_vars(self, proxy=False):
        """What an Ansible inventory needs to reach the server over SSH: from inside the lab
        namespace, or (proxy) from the host, SSH's connection carried by busybox nc run in the
        namespace (then plays on localhost still reach what listens on the host's loopback)."""
        common = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=%s" % self.known_hosts
        if proxy:
            common += " -o 'ProxyCommand=ip netns exec %s busybox nc %%h %%p'" % self.ns
        return {
            "ansible_host": self.host,
            "ansible_port": self.port,
            "ansible_user": self.user,
            "ansible_ssh_private_key_file": self.key,
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_common_args": common,
            "ansible_control_path_dir": self.control_dir,
        }


def _wait(predicate, timeout, what, proc, log):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                "the container exited (%s) before %s; its console:\n%s" % (proc.returncode, what, _tail(log))
            )
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise RuntimeError("timed out after %d s waiting for %s; its console:\n%s" % (timeout, what, _tail(log)))


def _tail(path, lines=40):
    with open(path, encoding="utf-8", errors="replace") as handle:
        return "".join(handle.readlines()[-lines:])


@contextlib.contextmanager
def booted(lab, ns, bridge, address, tmp, name=None, binds=(), timeout=120, more_addresses=(), routes=()):
    """Boot the provisioner in namespace ns, plugged into bridge, at address (CIDR); yield a Server.
    binds: (host folder, path in the container) pairs, bound read-only. more_addresses: further
    addresses (CIDR) of its interface, IPv6 ones without duplicate address detection (the lab's
    addresses are unique, and a tentative address cannot be bound by Kea, nginx or tftpd).
    routes: (destination, gateway) pairs, to segments behind a lab router."""
    root = build()
    tmp = str(tmp)
    name = name or "%s-prov" % lab.prefix
    key = os.path.join(tmp, "id_ed25519")
    if not os.path.exists(key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key], check=True)
    network = os.path.join(tmp, "10-host0.network")
    ipv6 = any(":" in a for a in (address, *more_addresses))
    with open(network, "w", encoding="utf-8") as handle:
        # radvd and kea-dhcp6 speak from the link-local address: the interface needs one for IPv6
        handle.write(
            "[Match]\nName=host0\n\n[Network]\nAddress=%s\nLinkLocalAddressing=%s\nIPv6AcceptRA=no\n"
            % (address, "ipv6" if ipv6 else "no")
        )
        for extra in more_addresses:
            handle.write("\n[Address]\nAddress=%s\nDuplicateAddressDetection=none\n" % extra)
        for destination, gateway in routes:
            handle.write("\n[Route]\nDestination=%s\nGateway=%s\n" % (destination, gateway))
    server = Server(name, ns, address.split("/")[0], key, tmp)
    log = os.path.join(tmp, "%s-console.log" % name)
    cmd = [
        "nsenter",
        "--net=/run/netns/%s" % ns,
        "systemd-nspawn",
        "-b",
        "-D",
        root,
        "-M",
        name,
        "--register=no",
        "--keep-unit",
        "--network-bridge=%s" % bridge,
        "--console=read-only",
        "--resolv-conf=off",
        "--timezone=off",
        "--volatile=overlay",
        "--bind-ro=%s:/root/.ssh/authorized_keys" % (key + ".pub"),
        "--bind-ro=%s:/etc/systemd/network/10-host0.network" % network,
    ]
    cmd += ["--bind-ro=%s:%s" % (source, target) for source, target in binds]
    server.proc = lab.start(None, cmd, log)
    try:
        _wait(
            lambda: server.ssh("true", check=False, timeout=30).returncode == 0,
            timeout,
            "SSH on %s" % server.host,
            server.proc,
            log,
        )
        state = server.ssh("systemctl is-system-running --wait", check=False, timeout=timeout).stdout.strip()
        if state != "running":
            failed = server.ssh("systemctl --failed --no-legend --plain", check=False).stdout
            raise RuntimeError("the provisioner is %r, not running; failed units:\n%s" % (state, failed))
        yield server
    finally:
        lab.stop(server.proc, timeout=30)
        shutil.rmtree(server.control_dir, ignore_errors=True)
        # nspawn leaves its propagation folder behind (see LAB.md)
        shutil.rmtree("/run/systemd/nspawn/propagate/%s" % name, ignore_errors=True)


if __name__ == "__main__":
    print(build())
