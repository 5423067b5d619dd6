# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Network namespaces, bridges and processes for tests, all removed afterwards.

Only addresses from 192.0.2.0/24, 198.51.100.0/24 and 203.0.113.0/24 are used. Processes are
started by this helper and ended by their own PID; namespaces carry a per-run prefix, so
nothing that belongs to anybody else is touched.
"""

import contextlib
import os
import signal
import subprocess
import tempfile
import time


def have_root():
    return os.geteuid() == 0


def sh(*args, check=True, ns=None, timeout=60, **kwargs):
    cmd = [str(a) for a in args]
    if ns:
        cmd = ["ip", "netns", "exec", ns, *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    if check and proc.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(cmd), proc.returncode, proc.stdout, proc.stderr))
    return proc


def read_log(path):
    """The text of a log or state file a lab process writes; "" while it does not exist yet."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


class Lab(object):
    """A set of namespaces: ``bridge_ns`` holds bridges (one per segment); clients hang off them."""

    def __init__(self, tag="bm"):
        self.prefix = "%s%d" % (tag, os.getpid() % 100000)
        self.namespaces = []
        self.processes = []
        self.counter = 0
        self.bridges = 0

    def namespace(self, name):
        ns = "%s-%s" % (self.prefix, name)
        sh("ip", "netns", "add", ns)
        self.namespaces.append(ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        return ns

    def bridge(self, ns, name, cidr):
        self.bridges += 1
        # A fixed address: a Linux bridge otherwise takes the lowest MAC of its ports, so plugging in
        # a new client could change it under the clients' ARP caches and stall their connections.
        sh("ip", "-n", ns, "link", "add", name, "address", "02:00:00:00:%02x:01" % self.bridges, "type", "bridge")
        sh("ip", "-n", ns, "addr", "add", cidr, "dev", name)
        sh("ip", "-n", ns, "link", "set", name, "up")
        return name

    def client(self, bridge_ns, bridge, mac, name=None):
        """A new namespace with one interface (eth0, the given MAC) plugged into the bridge."""
        self.counter += 1
        ns = self.namespace(name or "c%d" % self.counter)
        outer = "v%s%d" % (self.prefix[-4:], self.counter)
        sh("ip", "link", "add", outer, "type", "veth", "peer", "name", "eth0", "netns", ns)
        sh("ip", "link", "set", outer, "netns", bridge_ns)
        sh("ip", "-n", bridge_ns, "link", "set", outer, "master", bridge)
        sh("ip", "-n", bridge_ns, "link", "set", outer, "up")
        sh("ip", "-n", ns, "link", "set", "eth0", "address", mac)
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
        return ns

    def start(self, ns, args, log, env=None, cwd=None):
        """Start a process in a namespace; it is ended by its PID when the lab closes."""
        prefix = ["ip", "netns", "exec", ns] if ns else []  # ns=None: on the host, loopback only
        with open(log, "ab") as handle:
            proc = subprocess.Popen(
                [*prefix, *[str(a) for a in args]],
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=cwd,
                start_new_session=True,
            )
        self.processes.append(proc)
        return proc

    def stop(self, proc, timeout=10):
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=timeout)
        if proc in self.processes:
            self.processes.remove(proc)

    def close(self):
        for proc in list(self.processes):
            self.stop(proc)
        for ns in reversed(self.namespaces):
            sh("ip", "netns", "del", ns, check=False)
        self.namespaces = []


def wait_for(predicate, timeout=20.0, interval=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))


def http_answers(ns, url):
    """Whether an HTTP server answers url from namespace ns (any status; each try at most 20 s)."""
    return sh("curl", "-s", "-m", "20", "-o", "/dev/null", url, ns=ns, check=False).returncode == 0


def udhcpc(ns, iface="eth0", options=(), timeout=30, vendor=None):
    """A real DHCP exchange with busybox udhcpc; returns the lease as a dict (empty: no lease).
    vendor: the vendor class (option 60) to send instead of udhcpc's own; the answer's is "vendor"."""
    script = (
        "#!/bin/sh\n"
        'if [ "$1" = bound ] || [ "$1" = renew ]; then\n'
        '  echo "ip=$ip"; echo "siaddr=$siaddr"; echo "boot_file=$boot_file"; echo "router=$router"\n'
        '  echo "dns=$dns"; echo "domain=$domain"; echo "hostname=$hostname"; echo "subnet=$subnet"; echo "vendor=$vendor"\n'
        "fi\n"
    )
    fd, path = tempfile.mkstemp(prefix="bm-udhcpc-", suffix=".sh")
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(script)
        os.chmod(path, 0o755)
        args = ["busybox", "udhcpc", "-i", iface, "-f", "-q", "-n", "-t", "4", "-T", "1", "-s", path]
        for opt in options:
            args += ["-x", opt]
        if vendor:
            args += ["-V", vendor]
        proc = sh(*args, ns=ns, check=False, timeout=timeout)
    finally:
        os.unlink(path)
    lease = {}
    for line in proc.stdout.splitlines():
        key, sep, value = line.partition("=")
        if (
            sep
            and key in ("ip", "siaddr", "boot_file", "router", "dns", "domain", "hostname", "subnet", "vendor")
            and (value or key != "vendor")
        ):
            lease[key] = value
    return lease
