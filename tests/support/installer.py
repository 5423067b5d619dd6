# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real Debian installer on the embedded lab (make e2e-installer).

The provisioner of the story (Kea, tftpd-hpa, nginx and the callback service on the files the
roles rendered, in a network namespace) serves one system whose profile is the example preseed
and whose distro is Debian's own netboot installer (package debian-installer-12-netboot-amd64:
its ``linux`` and ``initrd.gz``, downloaded with ``apt-get download`` and cached under
.build/installer). The distro's install_tree is a local mirror served by the provisioner's nginx
from the role's ``kickstart_mirror_root``: the suite's genuine signed ``InRelease`` and the
``main/binary-amd64`` ``Packages`` that ``apt-get update`` left in /var/lib/apt/lists (checked
here against the archive keyring and the InRelease's SHA256 sums), the component's
``debian-installer/binary-amd64/Packages`` (the udebs' index, which those lists lack: fetched
once by ``apt-get update`` itself, into a private state folder, and checked the same way), and
``main/binary-amd64/Release`` (rebuilt from the InRelease's fields, and refused unless its SHA256 is the one the
signed InRelease lists); the suite's ``Release`` and ``Release.gpg`` that choose-mirror and
net-retriever read are the text the InRelease signs and its signatures detached, checked by gpgv.

The installer's syslog reaches a UDP receiver in the lab (``log_host=`` on its kernel line); its
serial console is a file. Tests follow both and stop on the installer's own messages.

With ``ipv6=True`` the segment is IPv6-only (2001:db8:10::/64, no IPv4 address anywhere in the
lab): the machine is UEFI with PXE over IPv4 off (OVMF's PXEv6 -> shim -> GRUB -> d-i over
TFTPv6), its MAC universally administered (00:00:5e:00:53:71, as a real NIC's) and its SMBIOS
UUID fixed; Kea DHCPv6 and radvd run in the namespace on the files the dhcp role rendered, and the
preseed, the mirror and the syslog receiver are on the provisioner's IPv6 address.
"""

import csv
import glob
import hashlib
import ipaddress
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

from support import lab as L
from support.inventory import local_provisioner_vars, tree_vars
from support.netns import Lab, read_log, sh, wait_for
from support.services import start_boot_services
from support.store import write_store
from support.story import Story

REPO = L.REPO
CACHE = os.path.join(REPO, ".build", "installer")
PACKAGE = "debian-installer-12-netboot-amd64"
IMAGES = "usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64"
APT_LISTS = "/var/lib/apt/lists"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
SUITE = "bookworm"
MAC = "52:54:00:0f:00:01"
IP = "192.0.2.70"
NAME = "inst01"
DOMAIN = "lab.example.test"
PROVISIONER_IP = "192.0.2.1"
SYSLOG_PORT = 514
INSTALLED_OPTIONS = "console=ttyS0,115200n8"
# the IPv6-only variant (documentation MAC, RFC 7042: universally administered, so that Kea finds
# it in the installer's DUID-LLT)
MAC6 = "00:00:5e:00:53:71"
IP6 = "2001:db8:10::70"
PROVISIONER_IP6 = "2001:db8:10::1"
NETWORK6 = "2001:db8:10::/64"
RANGE6 = ("2001:db8:10::1000", "2001:db8:10::1fff")
UUID6 = "6e6f6465-0000-4000-8000-000000000071"
ROUTER_IP6 = "2001:db8:10::fe"
ROUTER_RADVD = """interface eth0 {
    AdvSendAdvert on;
    MinRtrAdvInterval 3;
    MaxRtrAdvInterval 10;
    AdvDefaultLifetime 1800;
    AdvManagedFlag on;
    AdvOtherConfigFlag on;
    prefix %s {
        AdvOnLink on;
        AdvAutonomous off;
    };
};
"""


def link_local(mac):
    """The EUI-64 link-local address of a MAC (the universal/local bit flipped, ff:fe inserted)."""
    octets = [int(part, 16) for part in mac.split(":")]
    octets[0] ^= 0x02
    words = [octets[0] << 8 | octets[1], octets[2] << 8 | 0xFF, 0xFE00 | octets[3], octets[4] << 8 | octets[5]]
    return str(ipaddress.IPv6Address("fe80::%x:%x:%x:%x" % tuple(words)))


# The example preseed's netcfg answers with the record's IPv6 address instead of its IPv4 one (a
# lab template: the example renders "None" for an IPv6-only system's address, netmask and gateway).
PRESEED6_NETCFG = """\
d-i netcfg/get_ipaddress string {{ ipv6 }}/{{ network.ipv6.prefix }}
d-i netcfg/get_gateway string {{ vars.gateway6 | default('') }}
d-i netcfg/get_nameservers string {{ network.ipv6.dns | join(' ') }}
"""


def ipv6_preseed():
    """The collection's example preseed with PRESEED6_NETCFG for its IPv4 netcfg answers."""
    with open(os.path.join(REPO, "examples", "templates", "debian12.preseed.j2"), encoding="utf-8") as handle:
        text = handle.read()
    ipv4 = re.compile(
        r"^d-i netcfg/get_ipaddress .*\n^d-i netcfg/get_netmask .*\n^d-i netcfg/get_gateway .*\n"
        r"^d-i netcfg/get_nameservers .*\n",
        re.M,
    )
    if not ipv4.search(text):
        raise RuntimeError("the example preseed no longer has the four netcfg lines this lab replaces")
    return ipv4.sub(PRESEED6_NETCFG, text)


def netboot_images(cache=CACHE):
    """(linux, initrd.gz) of Debian's netboot installer, downloaded once and cached."""
    linux, initrd = os.path.join(cache, "linux"), os.path.join(cache, "initrd.gz")
    if os.path.exists(linux) and os.path.exists(initrd):
        return linux, initrd
    work = os.path.join(cache, "work")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    subprocess.run(["apt-get", "download", PACKAGE], cwd=work, check=True, capture_output=True)
    deb = glob.glob(os.path.join(work, "*.deb"))[0]
    tree = os.path.join(work, "tree")
    subprocess.run(["dpkg-deb", "-x", deb, tree], check=True)
    shutil.copy(os.path.join(tree, IMAGES, "linux"), linux + ".tmp")
    shutil.copy(os.path.join(tree, IMAGES, "initrd.gz"), initrd + ".tmp")
    os.replace(linux + ".tmp", linux)
    os.replace(initrd + ".tmp", initrd)
    shutil.rmtree(work, ignore_errors=True)
    return linux, initrd


def _list_file(suffix):
    """The file apt keeps for a dists/ path (possibly compressed: Acquire::GzipIndexes)."""
    found = sorted(glob.glob(os.path.join(APT_LISTS, "*_debian_dists_" + suffix + "*")))
    if not found:
        raise RuntimeError("no %s in %s: run apt-get update with a bookworm source first" % (suffix, APT_LISTS))
    return found[0]


def _decompressed(path):
    tools = {".lz4": ["lz4", "-dc"], ".gz": ["gzip", "-dc"], ".xz": ["xz", "-dc"], ".zst": ["zstd", "-dc"]}
    for ext, tool in tools.items():
        if path.endswith(ext):
            return subprocess.run([*tool, path], check=True, capture_output=True).stdout
    with open(path, "rb") as handle:
        return handle.read()


def _release_fields(inrelease):
    body = inrelease.split("\n\n", 1)[1]
    return dict(re.findall(r"^([A-Za-z-]+): (.*)$", body.split("\nMD5Sum:", 1)[0], re.M))


def _sha256_of(inrelease, path):
    match = re.search(r"^ ([0-9a-f]{64}) +(\d+) %s$" % re.escape(path), inrelease.split("\nSHA256:", 1)[1], re.M)
    if not match:
        raise RuntimeError("the InRelease lists no %s" % path)
    return match.group(1), int(match.group(2))


DI_TARGET = """\
Acquire::IndexTargets::deb::DebianInstallerPackages {
  MetaKey "$(COMPONENT)/debian-installer/binary-$(ARCHITECTURE)/Packages";
  ShortDescription "Packages";
  Description "$(RELEASE)/$(COMPONENT) $(ARCHITECTURE) debian-installer Packages";
};
"""


def installer_index(suite=SUITE, component="main", arch="amd64", cache=CACHE):
    """The suite's debian-installer Packages index (the udebs' index, which apt's own lists do not
    hold), fetched once by apt-get update itself into a private state folder; None if that fails."""
    state = os.path.join(cache, "apt")
    found = glob.glob(
        os.path.join(state, "lists", "*_dists_%s_%s_debian-installer_binary-%s_Packages*" % (suite, component, arch))
    )
    if not found:
        for sub in ("lists/partial", "cache/archives/partial"):
            os.makedirs(os.path.join(state, sub), exist_ok=True)
        with open(os.path.join(state, "apt.conf"), "w", encoding="ascii") as handle:
            handle.write(DI_TARGET)
        with open(os.path.join(state, "sources.list"), "w", encoding="ascii") as handle:
            handle.write("deb [signed-by=%s] http://deb.debian.org/debian %s %s\n" % (KEYRING, suite, component))
        subprocess.run(
            [
                "apt-get",
                "update",
                "-q",
                "-o",
                "Dir::State::Lists=%s/lists" % state,
                "-o",
                "Dir::Cache=%s/cache" % state,
                "-o",
                "Dir::Etc::SourceList=%s/sources.list" % state,
                "-o",
                "Dir::Etc::SourceParts=/nonexistent",
                "-o",
                "Acquire::IndexTargets::deb::Packages::DefaultEnabled=false",
                "-o",
                "Acquire::IndexTargets::deb::Translations::DefaultEnabled=false",
                "-o",
                "APT::Sandbox::User=root",
            ],
            env=dict(os.environ, APT_CONFIG=os.path.join(state, "apt.conf")),
            capture_output=True,
            check=False,
        )
        found = glob.glob(
            os.path.join(
                state, "lists", "*_dists_%s_%s_debian-installer_binary-%s_Packages*" % (suite, component, arch)
            )
        )
    return _decompressed(found[0]) if found else None


def local_mirror(root, suite=SUITE, component="main", arch="amd64"):
    """A local mirror of genuine signed indices under root/debian; returns the mirror's root."""
    dists = os.path.join(root, "debian", "dists", suite)
    os.makedirs(dists, exist_ok=True)
    source = _list_file(suite + "_InRelease")
    check = subprocess.run(["gpgv", "--keyring", KEYRING, source], capture_output=True, text=True, check=False)
    if check.returncode != 0:
        raise RuntimeError("%s does not verify against %s:\n%s" % (source, KEYRING, check.stderr))
    with open(source, encoding="utf-8") as handle:
        inrelease = handle.read()
    shutil.copy(source, os.path.join(dists, "InRelease"))
    # choose-mirror and net-retriever read Release and its detached Release.gpg, not InRelease:
    # Release is exactly the text the InRelease signs (without the line end before the signature
    # block), and the InRelease's own signatures, detached, are Release.gpg; gpgv must accept them.
    signed = subprocess.run(
        ["gpgv", "--keyring", KEYRING, "--output", "-", source], check=True, capture_output=True
    ).stdout
    with open(os.path.join(dists, "Release"), "wb") as handle:
        handle.write(signed[:-1] if signed.endswith(b"\n") else signed)
    signature = re.search(r"^-----BEGIN PGP SIGNATURE-----$.*?^-----END PGP SIGNATURE-----$", inrelease, re.M | re.S)
    with open(os.path.join(dists, "Release.gpg"), "w", encoding="ascii") as handle:
        handle.write(signature.group(0) + "\n")
    check = subprocess.run(
        ["gpgv", "--keyring", KEYRING, os.path.join(dists, "Release.gpg"), os.path.join(dists, "Release")],
        capture_output=True,
        text=True,
        check=False,
    )
    if check.returncode != 0:
        raise RuntimeError("Release.gpg made from %s does not verify its Release:\n%s" % (source, check.stderr))
    packages = _decompressed(_list_file("%s_%s_binary-%s_Packages" % (suite, component, arch)))
    fields = _release_fields(inrelease)
    release = "".join(
        "%s: %s\n" % item
        for item in (
            ("Archive", fields["Suite"]),
            ("Origin", fields["Origin"]),
            ("Label", fields["Label"]),
            ("Version", fields["Version"]),
            ("Acquire-By-Hash", fields.get("Acquire-By-Hash")),
            ("Component", component),
            ("Architecture", arch),
        )
        if item[1]
    ).encode("utf-8")
    files = [("binary-%s/Packages" % arch, packages), ("binary-%s/Release" % arch, release)]
    udebs = installer_index(suite, component, arch)
    if udebs is not None:
        files.append(("debian-installer/binary-%s/Packages" % arch, udebs))
    for name, data in files:
        want, size = _sha256_of(inrelease, "%s/%s" % (component, name))
        got = hashlib.sha256(data).hexdigest()
        if (got, len(data)) != (want, size):
            raise RuntimeError(
                "%s/%s: sha256 %s (%d bytes), the signed InRelease says %s (%d bytes)"
                % (component, name, got, len(data), want, size)
            )
        path = os.path.join(dists, component, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
    return root


def syslog_receiver(address, port, path):
    """Append every syslog datagram to path, one line each (run inside the lab namespace)."""
    sock = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, int(port)))
    with open(path, "ab", buffering=0) as out:
        while True:
            data, _peer = sock.recvfrom(65535)
            out.write(data.rstrip(b"\n") + b"\n")


PRESEED_PROFILE = """\
distro: debian12
template: debian12.preseed.j2
boot_loader: %(boot_loader)s
kernel_options: {console: ttyS0, log_host: %(provisioner)s, DEBCONF_DEBUG: "5"}
installed_kernel_options: "%(installed)s"
vars: {suite: %(suite)s}
"""


class PXE6Machine(L.Machine):
    """lab.Machine (UEFI) with OVMF's PXE over IPv4 off, so that it boots by PXEv6 at once, and a
    fixed SMBIOS UUID (the firmware's DUID-UUID comes from it)."""

    def command(self):
        return [*super().command(), "-uuid", UUID6, "-fw_cfg", "name=opt/org.tianocore/IPv4PXESupport,string=n"]


class InstallerLab(Story):
    """The story's provisioner with one system installing the real Debian installer; over IPv6
    only with ipv6=True (UEFI)."""

    def __init__(
        self, workdir, narrate=None, uefi=False, ipv6=False, router=False, link_local_preseed=False, preseed=None
    ):
        """router (IPv6): the segment also has a router (its own namespace on br0) whose radvd
        advertises a default route; link_local_preseed (IPv6): a lab addition (not the
        collection's) serves the install config to the machine's EUI-64 link-local address too;
        preseed: the profile's template text (default: the collection's example preseed)."""
        super().__init__(workdir, narrate)
        self.router, self.link_local_preseed, self.preseed = router, link_local_preseed, preseed
        self.uefi = uefi or ipv6
        self.ipv6 = ipv6
        self.mac = MAC6 if ipv6 else MAC
        self.address = PROVISIONER_IP6 if ipv6 else PROVISIONER_IP
        self.paths["mirror"] = os.path.join(self.work, "mirror")
        self.syslog = os.path.join(self.paths["run"], "installer-syslog.log")

    def setup(self):
        with self.step("Build the lab: Debian's netboot installer, a local mirror, a 1 GiB machine with an 8 GiB disk"):
            self.linux, self.initrd = netboot_images()
            local_mirror(self.paths["mirror"])
            self.lab = Lab("bmi6" if self.ipv6 else "bmi")
            self.ns = self.lab.namespace("prov")
            if self.ipv6:
                # the lab's addresses are unique: the bridge and the taps made later skip duplicate
                # address detection (a tentative address cannot be bound by Kea or nginx)
                for key in ("all", "default"):
                    sh("sysctl", "-q", "-w", "net.ipv6.conf.%s.accept_dad=0" % key, ns=self.ns)
                self.lab.bridge(self.ns, "br0", PROVISIONER_IP6 + "/64")
            else:
                self.lab.bridge(self.ns, "br0", PROVISIONER_IP + "/24")
            self.machine = (PXE6Machine if self.ipv6 else L.Machine)(
                self.lab,
                self.ns,
                "br0",
                "installer",
                self.mac,
                self.paths["vm"],
                uefi=self.uefi,
                memory_mib=1024,
                disk_mib=8192,
            )
            self.machines["installer"] = self.machine
            env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(L.__file__)))
            if self.router:
                self.segment_router()
            if not self.ipv6:  # over IPv6, radvd of the dhcp role's render advertises (start_daemons)
                self.lab.start(
                    self.ns,
                    [sys.executable, L.__file__, "ra", "br0"],
                    os.path.join(self.paths["run"], "ra.log"),
                    env=env,
                )
            self.lab.start(
                self.ns,
                [sys.executable, __file__, "syslog", self.address, SYSLOG_PORT, self.syslog],
                os.path.join(self.paths["run"], "syslog-receiver.log"),
                env=env,
            )
            self.write_records()
            self.write_inventory()

    def write_records(self):
        preseed = self.preseed
        if preseed is None:
            with open(os.path.join(REPO, "examples", "templates", "debian12.preseed.j2"), encoding="utf-8") as handle:
                preseed = handle.read()
        if self.ipv6:
            files = self.records6(preseed)
            write_store(self.paths["records"], files=files)
            return
        files = {
            "segments/lab.yml": "network: 192.0.2.0/24\ngateway: %s\ndns: [%s]\ndomain: %s\nprovisioner: prov-lab\n"
            "next_server: %s\n" % (PROVISIONER_IP, PROVISIONER_IP, DOMAIN, PROVISIONER_IP),
            "distros/debian12.yml": "family: debian\narch: x86_64\nkernel: %s\ninitrd: %s\ninstall_tree: http://%s/mirror/debian\n"
            % (self.linux, self.initrd, PROVISIONER_IP),
            "profiles/debian12.yml": PRESEED_PROFILE
            % {
                "boot_loader": "grub" if self.uefi else "pxelinux",
                "provisioner": PROVISIONER_IP,
                "suite": SUITE,
                "installed": INSTALLED_OPTIONS,
            },
            "tiers/lab.yml": "segment: lab\nprofile: debian12\n",
            "templates/debian12.preseed.j2": preseed,
            "systems/%s.yml" % NAME: 'tier: lab\ninterfaces:\n  - {name: eth0, mac: "%s", ip: %s, primary: true}\n'
            % (MAC, IP),
        }
        write_store(self.paths["records"], files=files)

    def segment_router(self):
        """The segment's router (a namespace on br0, 2001:db8:10::fe): its radvd advertises itself
        as the default router (the provisioner's own advertisements say router lifetime 0), with
        the managed and other-config flags and the /64 on-link without SLAAC, as the role's do."""
        rtr = self.lab.client(self.ns, "br0", "02:00:00:00:60:fe", name="rtr")
        sh("ip", "-n", rtr, "-6", "addr", "add", ROUTER_IP6 + "/64", "dev", "eth0", "nodad")
        sh("sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1", ns=rtr)
        conf = os.path.join(self.paths["run"], "radvd-router.conf")
        with open(conf, "w", encoding="ascii") as handle:
            handle.write(ROUTER_RADVD % NETWORK6)
        pidfile = os.path.join(self.paths["run"], "radvd-router.pid")
        log = os.path.join(self.paths["run"], "radvd-router.log")
        self.lab.start(rtr, ["radvd", "-n", "-C", conf, "-p", pidfile, "-m", "stderr"], log)

    def records6(self, preseed):
        """The records of the IPv6-only variant: the segment has only ipv6, the system's interface
        only an ipv6 address; the install tree and the syslog host are the provisioner's IPv6
        address (log_host bare: d-i's S10syslog hands busybox syslogd ``-R HOST``, which takes an
        unbracketed IPv6 literal without a port as the host)."""
        return {
            "segments/lab.yml": "domain: %s\nprovisioner: prov-lab\nipv6:\n  network: %s\n  next_server: %s\n"
            "  dns: [%s]\n  dynamic_range: [%s, %s]\n" % (DOMAIN, NETWORK6, PROVISIONER_IP6, PROVISIONER_IP6, *RANGE6),
            "distros/debian12.yml": "family: debian\narch: x86_64\nkernel: %s\ninitrd: %s\n"
            "install_tree: http://[%s]/mirror/debian\n" % (self.linux, self.initrd, PROVISIONER_IP6),
            "profiles/debian12.yml": PRESEED_PROFILE
            % {
                "boot_loader": "grub",
                "provisioner": '"%s"' % PROVISIONER_IP6,
                "suite": SUITE + (', gateway6: "%s"' % ROUTER_IP6 if self.router else ""),
                "installed": INSTALLED_OPTIONS,
            },
            "tiers/lab.yml": "segment: lab\nprofile: debian12\n",
            "templates/debian12.preseed.j2": preseed,
            "systems/%s.yml" % NAME: 'tier: lab\ninterfaces:\n  - {name: eth0, mac: "%s", ipv6: "%s", primary: true}\n'
            % (MAC6, IP6),
        }

    # The installer lab's provisioner is the controller itself, its daemons started here in the lab
    # namespace (service manager "none"): d-i's minutes under TCG leave no room for the systemd
    # server the story boots (tests/support/provisioner.py).
    def write_inventory(self):
        inv = self.paths["inventory"]
        with open(os.path.join(inv, "lab.baremetal.yml"), "w", encoding="utf-8") as handle:
            handle.write("plugin: baremetal.provision.records\nrecords_dir: %s\n" % self.paths["records"])
        os.makedirs(os.path.join(inv, "host_vars"), exist_ok=True)
        host_vars = {
            **local_provisioner_vars(),
            "dhcp_server": "kea",
            "dhcp_config": os.path.join(self.paths["run"], "kea-dhcp4.conf"),
            "dhcp_interfaces": ["br0"],
            # the daemon runs in the lab namespace, so its checker must see br0 there too
            "dhcp_check_command": ["ip", "netns", "exec", self.ns, "kea-dhcp4", "-t"],
            "dhcp_kea_lease_file": os.path.join(self.paths["run"], "kea-leases4.csv"),
            "dhcp_kea_control_socket": os.path.join(self.paths["run"], "kea4.sock"),
            **tree_vars(self.paths),
            "kickstart_mirror_root": self.paths["mirror"],
            # the lab namespace's address: the controller's own (its facts) are not in the namespace
            "kickstart_listen_addresses": [self.address],
            "kickstart_secrets": {"root_password_hash": "$6$labsalt$" + "x" * 86},
        }
        if self.link_local_preseed:
            # the kickstart role includes the *.conf of this folder in its server block; an exact
            # location wins over the role's regular expression one for /ks/
            include = os.path.join(self.paths["run"], "nginx.d")
            os.makedirs(include, exist_ok=True)
            with open(os.path.join(include, "link-local-preseed.conf"), "w", encoding="ascii") as handle:
                handle.write(
                    "# the installer lab's diagnostic addition, not the collection's\n"
                    "location = /ks/%s.cfg {\n    allow %s;\n    allow %s;\n    deny all;\n"
                    "    default_type text/plain;\n}\n" % (NAME, link_local(self.mac), IP6)
                )
            host_vars["kickstart_nginx_include_dir"] = include
        if self.ipv6:
            run = self.paths["run"]
            host_vars.update(
                {
                    "dhcp_ipv6_config": os.path.join(run, "kea-dhcp6.conf"),
                    "dhcp_ipv6_lease_file": os.path.join(run, "kea-leases6.csv"),
                    "dhcp_ipv6_control_socket": os.path.join(run, "kea6.sock"),
                    "dhcp_ipv6_check_command": ["ip", "netns", "exec", self.ns, "kea-dhcp6", "-t"],
                    "dhcp_radvd_config": os.path.join(run, "radvd.conf"),
                    "dhcp_radvd_check_command": ["ip", "netns", "exec", self.ns, "radvd", "--configtest", "-C"],
                    "dhcp_ipv6_interfaces": {"lab": "br0"},
                    # Kea keeps its server DUID in /var/lib/kea, which the kea-dhcp6-server package
                    # makes and this controller lacks: a DUID of this run only
                    "dhcp_ipv6_extra": {"server-id": {"type": "LLT", "persist": False}},
                }
            )
        with open(os.path.join(inv, "host_vars", "prov-lab.yml"), "w", encoding="utf-8") as handle:
            json.dump(host_vars, handle, indent=1)

    def start_daemons(self):
        run_dir = self.paths["run"]
        env = dict(os.environ, KEA_PIDFILE_DIR=run_dir, KEA_LOCKFILE_DIR=run_dir)
        if self.ipv6:
            log = os.path.join(run_dir, "kea6.log")
            self.lab.start(self.ns, ["kea-dhcp6", "-c", os.path.join(run_dir, "kea-dhcp6.conf")], log, env=env)
            wait_for(lambda: "DHCP6_STARTED" in read_log(log), what="kea-dhcp6")
            self.radvd_log = os.path.join(run_dir, "radvd.log")
            radvd = ["radvd", "-n", "-C", os.path.join(run_dir, "radvd.conf"), "-p", os.path.join(run_dir, "radvd.pid")]
            self.lab.start(self.ns, [*radvd, "-m", "stderr"], self.radvd_log)
            start_boot_services(self.lab, self.ns, self.paths, run_dir, "[%s]" % PROVISIONER_IP6)
            return
        log = os.path.join(run_dir, "kea.log")
        self.lab.start(self.ns, ["kea-dhcp4", "-c", os.path.join(run_dir, "kea-dhcp4.conf")], log, env=env)
        wait_for(lambda: "DHCP4_STARTED" in read_log(log), what="kea-dhcp4")
        start_boot_services(self.lab, self.ns, self.paths, run_dir, PROVISIONER_IP)

    # ------------------------------------------------------------------ following the installer
    def logs(self):
        return read_log(self.syslog), self.machine.console()

    def follow(self, until, fatal=(), deadline_s=2400):
        """Wait until ``until(syslog, serial)`` is true; fail at once on a fatal pattern in either, or
        when the machine stops. The deadline only bounds a hung run: progress is the installer's
        messages, never a fixed sleep."""
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            syslog, serial = self.logs()
            if until(syslog, serial):
                return time.monotonic() - self.machine.started
            for pattern in ("Kernel panic", "No bootable device", *fatal):
                if pattern in serial or pattern in syslog:
                    raise AssertionError(
                        "installer: %r\n--- syslog ---\n%s\n--- serial ---\n%s"
                        % (pattern, syslog[-6000:], _printable(serial)[-3000:])
                    )
            if not self.machine.is_on():
                raise AssertionError(
                    "the machine stopped\n--- syslog ---\n%s\n--- serial ---\n%s"
                    % (syslog[-6000:], _printable(serial)[-3000:])
                )
            time.sleep(1)
        raise AssertionError(
            "no progress within %d s\n--- syslog ---\n%s" % (deadline_s, read_log(self.syslog)[-6000:])
        )

    def access_log(self):
        return read_log(os.path.join(self.paths["run"], "access.log"))

    def leases6(self):
        """Kea DHCPv6's leases, one dict per line of its memfile (address, duid, hwaddr, ...)."""
        with open(os.path.join(self.paths["run"], "kea-leases6.csv"), encoding="utf-8", errors="replace") as handle:
            return list(csv.DictReader(handle))


def _printable(text):
    """The serial console without its terminal escapes (d-i draws with newt)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|[\x00-\x08\x0e-\x1f]", "", text)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "syslog":
        syslog_receiver(*sys.argv[2:])
    raise SystemExit("usage: installer.py syslog ADDRESS PORT FILE")
