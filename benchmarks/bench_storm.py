# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: a power-on storm, every machine of one segment asking the provisioner at once.

    python benchmarks/bench_storm.py [--systems 10000] [--repeat 3] [--rate 2000] [--concurrency 200]
                                     [--armed 0.2] [--sample 500] [--json FILE] [--smoke]

Needs root (network namespaces), ISC dhcpd, kea-dhcp4, perfdhcp (Debian's kea-admin), in.tftpd
(tftpd-hpa) and nginx. Not part of `make test`: it measures, it does not assert timings.

Setup: one segment of N systems from the fleet generator the other benchmarks use
(tests/support/fleet.py), a fraction --armed of them with an armed build (their requested
generation not completed on this provisioner), the others installed (completed.json says so).
The provisioner's files are rendered in-process by provisioner_sync's own code (sync.sync, as
bench_render.py does): dhcpd.conf and kea-dhcp4.conf with N reservations (each checked by the
daemon, as the roles do), the TFTP tree (per-MAC boot configs) and the install configs with
nginx's access map; nginx's server block is the kickstart role's template, rendered here.

Addresses: the segment's network is 127.64.0.0/18 (loopback addresses: the documentation
ranges hold 254 hosts each, a segment of 10,000 needs a /18). They live only on the veth pair
between two namespaces this script creates ("srv", the provisioner at 127.64.0.2, and "cli",
the machines), with route_localnet on and the namespaces' own local route shrunk to
127.0.0.0/16 so that 127.64/18 goes over the veth. The host's network is not touched.

Each attempt (--repeat, default 3) runs, in turn:
  dhcp       for ISC dhcpd and then Kea: the rendered config (N reservations) and a plain config
             of the same subnet with no reservations (a pool over the subnet, rendered by the same
             code from the view without systems). Each from an empty lease file, driven from the
             cli namespace by perfdhcp as a relay (giaddr 127.64.0.1): DORA exchanges with MACs
             drawn at random from the N reserved MACs (-M), at --rate exchanges/s, N exchanges
             (-n N, so about N / rate seconds). Reported: exchanges/s completed, drops of each
             phase, perfdhcp's round-trip times. Then the correctness check: every lease Kea's
             lease file records against its reservation (ISC dhcpd records no lease of a fixed
             address), and --sample MACs (half as BIOS, half as UEFI PXE: option 93 = 7) sent a
             DHCPDISCOVER by this script's own client (a UDP socket on port 67, as a relay sends
             it): yiaddr, siaddr and the boot file (file field, or option 67) against the record.
  boot       tftpd-hpa (in.tftpd --secure) over the TFTP tree and nginx over the install configs:
             every one of the N machines, at most --concurrency at once, fetches its pxelinux
             config over TFTP and, when armed, its install config over HTTP from its own reserved
             address (all N are added to the cli side's interface). Reported: completion time,
             errors, machines handed an installer though installed (must be 0), armed machines
             handed local boot (must be 0), and a foreign address refused its neighbour's config.
"""

import argparse
import concurrent.futures
import hashlib
import ipaddress
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import time

import _harness as H

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.path.insert(0, os.path.join(REPO, ".build", "collections"))

from support.netns import Lab, sh

SUPERNET = "127.64.0.0/16"  # the fleet's one segment is its first /18: 127.64.0.0/18
SERVER = "127.64.0.2"  # the segment's next_server (fleet.py: network + 2)
CLIENT = "127.64.0.1"  # the relay perfdhcp and the sample client act as (the segment's gateway)
PROVISIONER = "prov-dmz"
SERVERS = ("isc", "kea")
# rendered: the roles' config, N reservations; plain: the same subnet, a pool and no reservation;
# plain-noping: ISC's plain one with ping-check off (through the render's own dhcp_extra), since
# dhcpd pings a pool address for a second before it offers it and Kea 2.2 does not
CONFIGS = {"isc": ("rendered", "plain", "plain-noping"), "kea": ("rendered", "plain")}
NO_PING = "ping-check false;"
# perfdhcp's -d: an exchange unanswered this long is a drop (a PXE ROM sends its DISCOVER again
# after 4 s, the first of its timeouts: 4, 8, 16, 32 s in the PXE specification)
DROP_TIME = 4.0
EXIT_WAIT = 1.0  # perfdhcp's -W: seconds it waits for late answers once the exchanges are sent


# ------------------------------------------------------------------ setup: records and files
def render(tmp, systems, armed_fraction, room):
    """Write the fleet, mark who is installed, render every file; returns what the run needs."""
    from support.fleet import write_fleet

    from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import netboot as N
    from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_dhcp as D
    from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import sync as P
    from ansible_collections.baremetal.provision.plugins.module_utils._records.store import RecordStore
    from ansible_collections.baremetal.provision.plugins.module_utils._views.provisioner import build_view

    records = write_fleet(os.path.join(tmp, "records"), systems, segments=1, spares_per_segment=0, supernet=SUPERNET)
    view = build_view(RecordStore.load(records), PROVISIONER)
    segment = view["segments"][sorted(view["segments"])[0]]
    if segment["next_server"] != SERVER:
        raise SystemExit("the fleet's next_server is %s, expected %s" % (segment["next_server"], SERVER))
    room.open(segment["network"])  # the daemons' checks want the interface with the segment's address
    ns = room.srv
    state = os.path.join(tmp, "state")
    os.makedirs(state, mode=0o755)
    # every k-th system armed; the others installed: their requested generation completed here
    step = max(1, round(1 / armed_fraction)) if armed_fraction > 0 else 0
    armed = {s["name"] for i, s in enumerate(view["systems"]) if step and i % step == 0}
    N.write_json(
        os.path.join(state, N.COMPLETED),
        {s["name"]: s["build_generation"] for s in view["systems"] if s["name"] not in armed},
    )
    files = {"state": state}
    for server in SERVERS:
        for config in CONFIGS[server]:
            folder = os.path.join(tmp, "dhcp-%s-%s" % (server, config))
            name = "kea-dhcp4.conf" if server == "kea" else "dhcpd.conf"
            options = {
                "config": os.path.join(folder, name),
                "server": server,
                "interfaces": ["srv0"],
                "kea_lease_file": os.path.join(folder, "kea-leases4.csv"),
                # the daemon's own check, as the roles run it, where the interface srv0 exists
                "check_command": ["ip", "netns", "exec", ns]
                + (["kea-dhcp4", "-t"] if server == "kea" else ["dhcpd", "-t", "-q", "-cf"]),
            }
            if config == "plain-noping":
                options["extra"] = NO_PING
            the_view = view if config == "rendered" else plain_view(view)
            P.sync("dhcp", the_view, options)
            files["%s-%s" % (server, config)] = options["config"]
    tftp = os.path.join(tmp, "tftp")
    P.sync("tftp", view, {"root": tftp, "state_dir": state})
    web = {
        "root": os.path.join(tmp, "www"),
        "conf_dir": os.path.join(tmp, "nginx"),
        "state_dir": state,
        "secrets": {"root_password_hash": "$6$bench"},
    }
    P.sync("web", view, web)
    machines = []
    for system in view["systems"]:
        iface = next(i for i in system["interfaces"] if i.get("ip"))
        machines.append(
            {
                "name": system["name"],
                "mac": iface["mac"],
                "ip": iface["ip"],
                "armed": system["name"] in armed,
                "boot_file": D.fixed_boot_file(system),  # None: follows the client (pxelinux / grub)
                "install": "/" + install_path(system),
            }
        )
    for machine in machines:  # what nginx must send each one: the bytes in the web tree
        with open(os.path.join(web["root"], machine["install"][1:]), "rb") as handle:
            machine["install_sha256"] = hashlib.sha256(handle.read()).hexdigest()
    files.update({"tftp": tftp, "www": web["root"], "nginx_conf_dir": web["conf_dir"], "machines": machines})
    files["network"] = segment["network"]
    return files


def install_path(system):
    from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_install as I

    return I.install_paths(system)[0]


def plain_view(view):
    """The same segment without systems, a pool over the whole subnet: the baseline config."""
    plain = dict(view, systems=[])
    segments = {}
    for name, segment in view["segments"].items():
        net = ipaddress.IPv4Network(segment["network"])
        segments[name] = dict(segment, dynamic_range=[str(net.network_address + 10), str(net.broadcast_address - 1)])
    plain["segments"] = segments
    return plain


def nginx_config(tmp, files):
    """nginx's main config (Debian's shape) including the kickstart role's server block, rendered
    from the role's own template with the values the role gives it here."""
    import jinja2

    env = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    env.filters["comment"] = lambda text: "# " + text
    with open(
        os.path.join(REPO, "roles", "kickstart", "templates", "baremetal-provision.conf.j2"), encoding="utf-8"
    ) as f:
        template = env.from_string(f.read())
    include = os.path.join(tmp, "nginx-include")
    os.makedirs(include, exist_ok=True)
    server_block = template.render(
        ansible_managed="managed by bench_storm.py",
        _kickstart_conf_dir=files["nginx_conf_dir"],
        _kickstart_listens=["%s:80" % SERVER],
        kickstart_web_root=files["www"],
        kickstart_access_log=os.path.join(tmp, "nginx-access.log"),
        _kickstart_tftp_path=files["tftp"],
        kickstart_mirror_root="",
        kickstart_callback_listen="127.0.0.1",
        kickstart_callback_port=8087,
        kickstart_nginx_include_dir=include,
    )
    site = os.path.join(tmp, "baremetal-provision.conf")
    with open(site, "w", encoding="utf-8") as handle:
        handle.write(server_block)
    main = os.path.join(tmp, "nginx.conf")
    with open(main, "w", encoding="utf-8") as handle:
        handle.write(
            "worker_processes auto;\npid %(tmp)s/nginx.pid;\nerror_log %(tmp)s/nginx-error.log;\n"
            "events { worker_connections 768; }\n"
            "http {\n  sendfile on;\n  tcp_nopush on;\n  types_hash_max_size 2048;\n"
            "  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n"
            "  access_log off;\n"
            "  client_body_temp_path %(tmp)s/nginx-body;\n  proxy_temp_path %(tmp)s/nginx-proxy;\n"
            "  fastcgi_temp_path %(tmp)s/nginx-fcgi;\n  uwsgi_temp_path %(tmp)s/nginx-uwsgi;\n"
            "  scgi_temp_path %(tmp)s/nginx-scgi;\n"
            "  include %(site)s;\n}\n" % {"tmp": tmp, "site": site}
        )
    return main


# ------------------------------------------------------------------ the namespaces
class Room(Lab):
    """Two namespaces joined by a veth pair (the lab's namespaces, the processes started in them
    ended by PID, as in the tests)."""

    def __init__(self):
        super().__init__("bmst")
        self.srv, self.cli = self.prefix + "-srv", self.prefix + "-cli"

    def open(self, network):
        prefix = ipaddress.IPv4Network(network).prefixlen
        for name in ("srv", "cli"):
            ns = self.namespace(name)
            # 127.64/18 over the veth: the local route keeps 127.0.0.0/16 only, martians allowed
            sh("ip", "-n", ns, "route", "del", "local", "127.0.0.0/8", "dev", "lo", "table", "local")
            sh("ip", "-n", ns, "route", "add", "local", "127.0.0.0/16", "dev", "lo", "table", "local")
            sh("sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1", ns=ns)
            sh("sysctl", "-qw", "net.ipv4.conf.default.route_localnet=1", ns=ns)
            sh("sysctl", "-qw", "net.core.somaxconn=4096", ns=ns, check=False)
        sh("ip", "link", "add", "srv0", "netns", self.srv, "type", "veth", "peer", "name", "cli0", "netns", self.cli)
        for ns, ifname, address in ((self.srv, "srv0", SERVER), (self.cli, "cli0", CLIENT)):
            sh("sysctl", "-qw", "net.ipv4.conf.%s.route_localnet=1" % ifname, ns=ns)
            sh("ip", "-n", ns, "addr", "add", "%s/%d" % (address, prefix), "dev", ifname)
            sh("ip", "-n", ns, "link", "set", ifname, "up")

    def add_addresses(self, addresses, prefix):
        """Every machine's reserved address on the cli side (for its own fetches), and on the
        srv side a permanent neighbour entry for each: the kernel's neighbour table is shared by
        all namespaces and holds at most net.ipv4.neigh.default.gc_thresh3 (1024 by default, a
        host-wide setting this script leaves alone) learned entries; permanent ones do not count.
        A real provisioner answering 10,000 machines on one link needs that limit raised."""
        batch = "".join("address add %s/%d dev cli0\n" % (a, prefix) for a in addresses if a != CLIENT)
        sh("ip", "-n", self.cli, "-batch", "-", input=batch, timeout=600)
        mac = json.loads(sh("ip", "-n", self.cli, "-json", "link", "show", "cli0").stdout)[0]["address"]
        batch = "".join("neigh replace %s lladdr %s dev srv0 nud permanent\n" % (a, mac) for a in addresses)
        sh("ip", "-n", self.srv, "-batch", "-", input=batch, timeout=600)

    def drop_addresses(self, prefix):
        sh("ip", "-n", self.cli, "address", "flush", "dev", "cli0")
        sh("ip", "-n", self.cli, "address", "add", "%s/%d" % (CLIENT, prefix), "dev", "cli0")
        sh("ip", "-n", self.srv, "neigh", "flush", "dev", "srv0", "nud", "permanent")


def in_ns(room, ns, *args, timeout=1800):
    """Run this script in a namespace (a client phase); its JSON answer."""
    proc = sh(sys.executable, __file__, *args, ns=ns, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError("client phase %s failed (%d):\n%s%s" % (args[0], proc.returncode, proc.stdout, proc.stderr))
    return json.loads(proc.stdout)


# ------------------------------------------------------------------ DHCP
def start_dhcp(room, server, config, folder):
    log = os.path.join(folder, "daemon.log")
    if server == "isc":
        leases = os.path.join(folder, "dhcpd.leases")
        open(leases, "w", encoding="ascii").close()  # pylint: disable=consider-using-with
        args = [
            "dhcpd",
            "-f",
            "-d",
            "-4",
            "-cf",
            config,
            "-lf",
            leases,
            "-pf",
            os.path.join(folder, "dhcpd.pid"),
            "srv0",
        ]
        return room.start(room.srv, args, log)
    leases = os.path.join(folder, "kea-leases4.csv")
    for stale in os.listdir(folder):
        if stale.startswith("kea-leases4.csv"):
            os.unlink(os.path.join(folder, stale))
    env = dict(os.environ, KEA_PIDFILE_DIR=folder, KEA_LOCKFILE_DIR=folder)
    return room.start(room.srv, ["kea-dhcp4", "-c", config], log, env=env)


def parse_perfdhcp(text):
    """perfdhcp's final report: per phase (DO, RA) sent, received, drops, rtt; the exchange rate."""
    out = {}
    phase = None
    for line in text.splitlines():
        line = line.strip()
        match = re.match(r"\*+\s*Statistics for: ([A-Z-]+)", line)
        if match:
            phase = {"DISCOVER-OFFER": "do", "REQUEST-ACK": "ra"}.get(match.group(1), match.group(1).lower())
            continue
        for key in ("sent packets", "received packets", "drops", "orphans", "rejected leases"):
            if phase and line.startswith(key + ":"):
                out["%s_%s" % (phase, key.split()[0])] = int(line.split(":")[1].split()[0])
        match = re.match(r"(min|avg|max) delay: ([\d.]+) ms", line)
        if phase and match:
            out["%s_%s_ms" % (phase, match.group(1))] = float(match.group(2))
        match = re.match(r"Rate: ([\d.]+)", line)
        if match:
            out["rate"] = float(match.group(1))
    return out


def perfdhcp(room, folder, macs_file, rate, exchanges):
    args = [
        "perfdhcp", "-4", "-l", CLIENT, "-M", macs_file, "-r", rate, "-n", exchanges,
        "-d", "%g" % DROP_TIME, "-W", "%d" % (EXIT_WAIT * 1e6), "-g", "single", SERVER,
    ]  # fmt: skip
    started = time.perf_counter()
    proc = sh(*args, ns=room.cli, check=False, timeout=max(120, exchanges // max(rate // 4, 1) + 60))
    seconds = time.perf_counter() - started
    with open(os.path.join(folder, "perfdhcp.log"), "a", encoding="utf-8") as handle:
        handle.write(proc.stdout + proc.stderr)
    figures = parse_perfdhcp(proc.stdout)
    if "ra_received" not in figures:
        raise RuntimeError("perfdhcp gave no report (%d): %s%s" % (proc.returncode, proc.stdout, proc.stderr))
    figures["seconds"] = seconds - EXIT_WAIT  # the wait for late answers after the last exchange
    figures["answered"] = figures["ra_received"] / figures["seconds"]
    return figures


def kea_lease_mismatches(folder, by_mac):
    """Leases in Kea's lease file whose address is not the MAC's reservation: (checked, wrong)."""
    checked = wrong = 0
    latest = {}
    for name in sorted(os.listdir(folder)):
        if not name.startswith("kea-leases4.csv"):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            for line in handle:
                parts = line.strip().split(",")
                if len(parts) < 5 or parts[0] == "address":
                    continue
                latest[parts[1].lower()] = parts[0]  # the last line of a MAC is its lease
    for mac, address in latest.items():
        checked += 1
        if by_mac.get(mac, {}).get("ip") != address:
            wrong += 1
    return checked, wrong


def dhcp_round(room, tmp, files, server, config, args, macs_file):
    folder = os.path.dirname(files["%s-%s" % (server, config)])
    proc = start_dhcp(room, server, files["%s-%s" % (server, config)], folder)
    try:
        in_ns(room, room.cli, "--client-ready", files["machines"][-1]["mac"], timeout=120)
        if proc.poll() is not None:
            raise RuntimeError("%s exited: see %s" % (server, os.path.join(folder, "daemon.log")))
        figures = perfdhcp(room, folder, macs_file, args.rate, args.exchanges)
        if config == "rendered":
            if server == "kea":
                figures["leases_checked"], figures["lease_mismatches"] = kea_lease_mismatches(
                    folder, {m["mac"]: m for m in files["machines"]}
                )
            sample = in_ns(room, room.cli, "--client-dhcp", os.path.join(tmp, "machines.json"), str(args.sample))
            figures.update(sample)
    finally:
        room.stop(proc)
    return figures


# ------------------------------------------------------------------ client side (in the cli namespace)
def dhcp_packet(xid, mac, arch=None):
    chaddr = bytes(int(part, 16) for part in mac.split(":"))
    head = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        1, 1, 6, 1, xid, 0, 0,
        b"\0" * 4, b"\0" * 4, b"\0" * 4, socket.inet_aton(CLIENT),
        chaddr.ljust(16, b"\0"), b"\0" * 64, b"\0" * 128,
    )  # fmt: skip
    options = b"\x63\x82\x53\x63" + b"\x35\x01\x01"  # DHCPDISCOVER
    if arch is not None:
        options += b"\x5d\x02" + struct.pack("!H", arch)  # client system architecture
    options += b"\x37\x05\x01\x03\x06\x42\x43" + b"\xff"  # ask for 1 3 6 66 67
    return head + options


def parse_reply(data):
    """(xid, yiaddr, siaddr, file field, option 67, message type) of a BOOTREPLY."""
    xid = struct.unpack("!I", data[4:8])[0]
    yiaddr, siaddr = socket.inet_ntoa(data[16:20]), socket.inet_ntoa(data[20:24])
    file_field = data[108:236].split(b"\0", 1)[0].decode("ascii", "replace")
    options, i, opt67, kind = data[240:], 0, None, None
    while i < len(options) and options[i] != 255:
        if options[i] == 0:
            i += 1
            continue
        code, length = options[i], options[i + 1]
        value = options[i + 2 : i + 2 + length]
        if code == 67:
            opt67 = value.split(b"\0", 1)[0].decode("ascii", "replace")
        elif code == 53:
            kind = value[0]
        i += 2 + length
    return xid, yiaddr, siaddr, file_field, opt67, kind


def discover_all(jobs, window=64, timeout=2.0, tries=3):
    """Send a DISCOVER for each (mac, arch) as a relay would; {index: reply or None}."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((CLIENT, 67))
    sock.settimeout(0.2)
    base = random.randrange(1 << 30)
    replies, pending, tried = {}, {}, {}
    todo = list(range(len(jobs)))
    try:
        while todo or pending:
            while todo and len(pending) < window:
                index = todo.pop()
                tried[index] = tried.get(index, 0) + 1
                sock.sendto(dhcp_packet(base + index, *jobs[index]), (SERVER, 67))
                pending[index] = time.monotonic()
            try:
                data, _peer = sock.recvfrom(2048)
            except socket.timeout:
                data = None
            if data and len(data) >= 240:
                reply = parse_reply(data)
                index = reply[0] - base
                if index in pending and reply[5] == 2:  # DHCPOFFER
                    replies[index] = reply
                    del pending[index]
            now = time.monotonic()
            for index, sent in list(pending.items()):
                if now - sent > timeout:
                    del pending[index]
                    if tried[index] < tries:
                        todo.append(index)
                    else:
                        replies[index] = None
    finally:
        sock.close()
    return replies


def client_ready(mac):
    """Wait until the server answers a DISCOVER (of a reserved MAC)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if discover_all([(mac, None)], timeout=1.0, tries=1).get(0):
            return {"ready": True}
    raise SystemExit("the DHCP server did not answer within 60 s")


def client_dhcp(machines_file, sample):
    """DISCOVERs for a sample of machines, half BIOS and half UEFI PXE; count what is wrong."""
    from ansible_collections.baremetal.provision.plugins.module_utils._provisioner import render_dhcp as D

    with open(machines_file, encoding="utf-8") as handle:
        machines = json.load(handle)
    chosen = random.Random(1).sample(machines, min(sample, len(machines)))
    jobs = [(m["mac"], 7 if i % 2 else None) for i, m in enumerate(chosen)]
    replies = discover_all(jobs)
    unanswered = wrong_ip = wrong_file = wrong_server = 0
    examples = []
    for index, machine in enumerate(chosen):
        reply = replies.get(index)
        if reply is None:
            unanswered += 1
            continue
        _xid, yiaddr, siaddr, file_field, opt67, _kind = reply
        expected = machine["boot_file"] or (D.GRUB if jobs[index][1] == 7 else D.PXELINUX)
        given = file_field or opt67
        wrong_ip += yiaddr != machine["ip"]
        wrong_file += given != expected
        wrong_server += siaddr != SERVER
        if (yiaddr != machine["ip"] or given != expected) and len(examples) < 5:
            examples.append("%s: %s %s, expected %s %s" % (machine["mac"], yiaddr, given, machine["ip"], expected))
    return {
        "sampled": len(chosen),
        "unanswered": unanswered,
        "wrong_ip": wrong_ip,
        "wrong_file": wrong_file,
        "wrong_next_server": wrong_server,
        "examples": examples,
    }


def tftp_get(path, source, timeout=3.0, tries=4):
    """One file over TFTP (RFC 1350, octet) from the server, from source; its bytes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        request = b"\x00\x01" + path.encode("ascii") + b"\0octet\0"
        data, block, peer = b"", 1, None
        for _attempt in range(tries):
            sock.sendto(request, (SERVER, 69))
            try:
                packet, peer = sock.recvfrom(600)
                break
            except socket.timeout:
                continue
        else:
            raise OSError("no answer to the read request")
        while True:
            opcode = struct.unpack("!H", packet[:2])[0]
            if opcode == 5:
                raise OSError("TFTP error %s" % packet[4:].split(b"\0", 1)[0].decode("ascii", "replace"))
            number = struct.unpack("!H", packet[2:4])[0]
            if opcode == 3 and number == block:
                data += packet[4:]
                sock.sendto(b"\x00\x04" + struct.pack("!H", block), peer)
                if len(packet) - 4 < 512:
                    return data
                block += 1
            for _attempt in range(tries):
                try:
                    packet, peer = sock.recvfrom(600)
                    break
                except socket.timeout:
                    sock.sendto(b"\x00\x04" + struct.pack("!H", block - 1), peer)
            else:
                raise OSError("transfer stalled at block %d" % block)
    finally:
        sock.close()


def http_get(path, source):
    import http.client

    conn = http.client.HTTPConnection(SERVER, 80, timeout=20, source_address=(source, 0))
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def client_boot(machines_file, concurrency):
    """Every machine at once (at most concurrency in flight): its boot config, its install config."""
    with open(machines_file, encoding="utf-8") as handle:
        machines = json.load(handle)
    counts = dict.fromkeys(
        ("tftp_ok", "tftp_errors", "http_ok", "http_errors", "installer_for_installed", "local_for_armed"), 0
    )
    lock = threading.Lock()
    errors = []

    def boot(machine):
        got = {}
        try:
            text = tftp_get("pxelinux.cfg/01-" + machine["mac"].replace(":", "-"), machine["ip"]).decode()
            got["tftp_ok"] = 1
            installer = "DEFAULT install" in text and "KERNEL " in text
            local = "LOCALBOOT 0" in text and not installer
            if installer and not machine["armed"]:
                got["installer_for_installed"] = 1
            if machine["armed"] and not installer:
                got["local_for_armed"] = 1
            if not (installer or local):
                raise OSError("neither installer nor local boot: %r" % text[:80])
        except OSError as exc:
            got["tftp_errors"] = 1
            got["error"] = "tftp %s: %s" % (machine["name"], exc)
        if machine["armed"]:
            try:
                status, body = http_get(machine["install"], machine["ip"])
                if status != 200 or hashlib.sha256(body).hexdigest() != machine["install_sha256"]:
                    raise OSError("HTTP %d, %d bytes not the rendered file's" % (status, len(body)))
                got["http_ok"] = 1
            except OSError as exc:
                got["http_errors"] = 1
                got["error"] = "http %s: %s" % (machine["name"], exc)
        with lock:
            for key, value in got.items():
                if key == "error":
                    if sum(1 for e in errors if e.split()[0] == value.split()[0]) < 3:
                        errors.append(value)
                else:
                    counts[key] += value

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(boot, machines))
    seconds = time.perf_counter() - started
    # the access map: a machine's install config refused to its neighbour's address
    armed = [m for m in machines if m["armed"]][:20]
    leaks = 0
    for machine, neighbour in zip(armed, armed[1:] + armed[:1]):
        if machine is not neighbour and http_get(machine["install"], neighbour["ip"])[0] != 403:
            leaks += 1
    counts.update(
        {
            "seconds": seconds,
            "machines": len(machines),
            "armed": sum(1 for m in machines if m["armed"]),
            "acl_checked": len(armed) if len(armed) > 1 else 0,
            "acl_leaks": leaks,
            "errors_seen": errors,
        }
    )
    return counts


# ------------------------------------------------------------------ boot round
def boot_round(room, tmp, nginx_conf, args):
    tftp = room.start(
        room.srv, ["in.tftpd", "-L", "--secure", "-u", "root", "-a", "%s:69" % SERVER, os.path.join(tmp, "tftp")],
        os.path.join(tmp, "tftpd.log"),
    )  # fmt: skip
    nginx = room.start(room.srv, ["nginx", "-c", nginx_conf, "-g", "daemon off;"], os.path.join(tmp, "nginx.log"))
    try:
        deadline = time.monotonic() + 30
        while True:
            probe = sh("curl", "-s", "-m", "2", "-o", "/dev/null", "http://%s/" % SERVER, ns=room.cli, check=False)
            if probe.returncode == 0:
                break
            if time.monotonic() > deadline or nginx.poll() is not None or tftp.poll() is not None:
                raise RuntimeError("nginx or tftpd did not start: see %s" % tmp)
            time.sleep(0.2)
        return in_ns(room, room.cli, "--client-boot", os.path.join(tmp, "machines.json"), str(args.concurrency))
    finally:
        room.stop(nginx)
        room.stop(tftp)


# ------------------------------------------------------------------ report
def report(runs, args, setup):
    print(
        "\npower-on storm, one segment of %d systems (%d armed); median [min-max] of %d attempt%s"
        % (args.systems, setup["armed"], args.repeat, "" if args.repeat == 1 else "s")
    )
    if runs["isc-rendered"]:
        print(
            "perfdhcp: DORA, MACs drawn at random from the %d reserved (-M), -r %d, -n %d, drop after %g s"
            % (args.systems, args.rate, args.exchanges, DROP_TIME)
        )
        rows = []
        for server in SERVERS:
            plain = runs["%s-plain" % server]
            for config in CONFIGS[server]:
                got = runs["%s-%s" % (server, config)]
                rows.append(
                    [
                        server,
                        config,
                        H.spread(r["answered"] for r in got),
                        H.ratio([r["answered"] for r in got], [r["answered"] for r in plain]),
                        H.spread(r["rate"] for r in got),
                        "%d" % H.median([r["do_drops"] for r in got]),
                        "%d" % H.median([r["ra_drops"] for r in got]),
                        H.spread(r.get("do_avg_ms", 0.0) for r in got),
                        H.spread(r.get("ra_avg_ms", 0.0) for r in got),
                        "%.1f" % max(max(r.get("do_max_ms", 0.0), r.get("ra_max_ms", 0.0)) for r in got),
                    ]
                )
        H.table(
            [
                "server",
                "config",
                "ack/s",
                "x plain",
                "perfdhcp rate",
                "DO drops",
                "RA drops",
                "DO avg ms",
                "RA avg ms",
                "max ms",
            ],
            rows,
        )
        isc = [r["answered"] for r in runs["isc-rendered"]]
        print("isc rendered x plain-noping: %s" % H.ratio(isc, [r["answered"] for r in runs["isc-plain-noping"]]))
        print("ack/s: ACKs received per second of the perfdhcp run (its wall time less its 1 s wait for late answers)")
        print("perfdhcp rate: its own figure of completed 4-way exchanges per second; x plain: ack/s over plain's")
        print("DO/RA: DISCOVER-OFFER and REQUEST-ACK; drops: unanswered within the drop time; avg, max: round trips")
        print("\ncorrectness of the rendered configs (summed over the attempts; each must be 0)")
        rows = []
        for server in SERVERS:
            got = runs["%s-rendered" % server]
            rows.append(
                [
                    server,
                    "%d" % sum(r["sampled"] for r in got),
                    "%d" % sum(r["unanswered"] for r in got),
                    "%d" % sum(r["wrong_ip"] for r in got),
                    "%d" % sum(r["wrong_file"] for r in got),
                    "%d" % sum(r["wrong_next_server"] for r in got),
                    "%d / %d"
                    % (sum(r.get("lease_mismatches", 0) for r in got), sum(r.get("leases_checked", 0) for r in got))
                    if server == "kea"
                    else "n/a (no lease of a fixed address)",
                ]
            )
        H.table(
            [
                "server",
                "DISCOVERs",
                "unanswered",
                "wrong yiaddr",
                "wrong boot file",
                "wrong siaddr",
                "lease file wrong",
            ],
            rows,
        )
    if runs["boot"]:
        boot = runs["boot"]
        print(
            "\nboot fetches: %d machines, at most %d at once (TFTP: pxelinux config; HTTP: install config if armed)"
            % (args.systems, args.concurrency)
        )
        H.table(
            [
                "seconds",
                "TFTP ok",
                "TFTP errors",
                "HTTP ok",
                "HTTP errors",
                "installer for installed",
                "local for armed",
                "ACL leaks",
            ],
            [
                [
                    H.spread(r["seconds"] for r in boot),
                    "%d" % H.median([r["tftp_ok"] for r in boot]),
                    "%d" % sum(r["tftp_errors"] for r in boot),
                    "%d" % H.median([r["http_ok"] for r in boot]),
                    "%d" % sum(r["http_errors"] for r in boot),
                    "%d" % sum(r["installer_for_installed"] for r in boot),
                    "%d" % sum(r["local_for_armed"] for r in boot),
                    "%d / %d" % (sum(r["acl_leaks"] for r in boot), sum(r["acl_checked"] for r in boot)),
                ]
            ],
        )
        for r in boot:
            for error in r["errors_seen"]:
                print("  e.g. " + error)
        print("errors, wrong boots and leaks summed over the attempts; ok counts the median attempt's")
    print("load average (1, 5, 15 min) at the end: %.2f %.2f %.2f on %d CPUs" % (*os.getloadavg(), os.cpu_count()))


def failures(runs):
    """What must be 0 and is not."""
    bad = []
    for server in SERVERS:
        for r in runs["%s-rendered" % server]:
            for key in ("unanswered", "wrong_ip", "wrong_file", "wrong_next_server", "lease_mismatches"):
                if r.get(key):
                    bad.append("%s %s: %d %s" % (server, key, r[key], r["examples"][:2]))
    for r in runs["boot"]:
        for key in ("tftp_errors", "http_errors", "installer_for_installed", "local_for_armed", "acl_leaks"):
            if r[key]:
                bad.append("boot %s: %d" % (key, r[key]))
    return bad


def interrupted(_signum, _frame):
    raise KeyboardInterrupt()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3, help="attempts (default 3)")
    parser.add_argument("--rate", type=int, default=2000, help="perfdhcp's exchanges started per second (-r)")
    parser.add_argument("--exchanges", type=int, help="perfdhcp's exchanges per run (-n; default: the systems)")
    parser.add_argument("--concurrency", type=int, default=200, help="boot fetches in flight at most (default 200)")
    parser.add_argument("--armed", type=float, default=0.2, help="the fraction of systems with an armed build")
    parser.add_argument("--sample", type=int, default=500, help="MACs sent a checked DISCOVER per run")
    parser.add_argument("--parts", default="dhcp,boot", help="what to run: dhcp, boot or both (default)")
    parser.add_argument("--json", help="write every run's figures to this file")
    parser.add_argument("--smoke", action="store_true", help="200 systems, one attempt: checks the benchmark runs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, configs)")
    parser.add_argument("--client-ready", help=argparse.SUPPRESS)
    parser.add_argument("--client-dhcp", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--client-boot", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client_ready:
        print(json.dumps(client_ready(args.client_ready)))
        return 0
    if args.client_dhcp:
        print(json.dumps(client_dhcp(args.client_dhcp[0], int(args.client_dhcp[1]))))
        return 0
    if args.client_boot:
        print(json.dumps(client_boot(args.client_boot[0], int(args.client_boot[1]))))
        return 0
    if args.smoke:
        args.systems, args.repeat, args.rate, args.sample = 200, 1, 500, 100
    args.exchanges = args.exchanges or args.systems
    if os.geteuid() != 0:
        raise SystemExit("bench_storm.py needs root: it creates network namespaces")
    missing = [t for t in ("dhcpd", "kea-dhcp4", "perfdhcp", "in.tftpd", "nginx", "curl") if not shutil.which(t)]
    if missing:
        raise SystemExit(
            "missing: %s (apt-get install isc-dhcp-server kea-dhcp4-server kea-admin tftpd-hpa nginx curl)"
            % ", ".join(missing)
        )
    room = Room()
    # Ctrl-C or a TERM: end what was started, remove the namespaces (the finally below)
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # also when started in the background
    tmp = tempfile.mkdtemp(prefix="bm-bench-storm-")
    try:
        os.chmod(tmp, 0o755)  # tftpd and nginx's workers read the trees
        os.environ["BAREMETAL_CACHE_DIR"] = os.path.join(tmp, "parse-cache")
        started = time.perf_counter()
        print("... rendering %d systems" % args.systems, flush=True)
        files = render(tmp, args.systems, args.armed, room)
        print("... rendered and checked in %.1f s" % (time.perf_counter() - started), flush=True)
        machines = files["machines"]
        with open(os.path.join(tmp, "machines.json"), "w", encoding="utf-8") as handle:
            json.dump(machines, handle)
        macs_file = os.path.join(tmp, "macs.txt")
        with open(macs_file, "w", encoding="ascii") as handle:
            handle.write("".join(m["mac"] + "\n" for m in machines))
        nginx_conf = nginx_config(tmp, files)
        runs = {"%s-%s" % (s, c): [] for s in SERVERS for c in CONFIGS[s]}
        runs["boot"] = []
        prefix = ipaddress.IPv4Network(files["network"]).prefixlen
        for attempt in range(args.repeat):
            print("... attempt %d of %d" % (attempt + 1, args.repeat), flush=True)
            for server in SERVERS if "dhcp" in args.parts else ():
                for config in CONFIGS[server]:
                    got = dhcp_round(room, tmp, files, server, config, args, macs_file)
                    runs["%s-%s" % (server, config)].append(got)
                    print("    %s %s: %.0f ack/s" % (server, config, got["answered"]), flush=True)
            if "boot" not in args.parts:
                continue
            room.add_addresses([m["ip"] for m in machines], prefix)
            runs["boot"].append(boot_round(room, tmp, nginx_conf, args))
            print("    boot: %.1f s" % runs["boot"][-1]["seconds"], flush=True)
            room.drop_addresses(prefix)  # the next DHCP runs see no machine's address (dhcpd pings pool ones)
        setup = {"armed": sum(1 for m in machines if m["armed"])}
        report(runs, args, setup)
        if args.json:
            with open(args.json, "w", encoding="utf-8") as handle:
                json.dump({"args": vars(args), "setup": setup, "runs": runs, "load": os.getloadavg()}, handle, indent=1)
        bad = failures(runs)
        if bad:
            print("\nFAILED: " + "; ".join(bad))
            return 1
        return 0
    except KeyboardInterrupt:
        print("interrupted: cleaning up", file=sys.stderr)
        return 130
    finally:
        room.close()
        if args.keep:
            print("kept %s" % tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
