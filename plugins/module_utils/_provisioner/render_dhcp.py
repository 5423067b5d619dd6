# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

DHCP configs for one provisioner, ISC dhcpd and Kea, from the same data (the provisioner view
of sync.py). Both hand out the same leases and the same boot files:

- every interface of every system in a served segment gets a reservation (fixed address,
  host name); an unknown MAC gets an address only from the segment's ``dynamic_range``, if it
  has one, and its boot file then leads to the fallback configs, which boot the local disk;
- the boot file follows the client: iPXE (user class "iPXE") -> ``ipxe/boot.ipxe`` over HTTP
  from the segment's ``next_server`` (over TFTP without one), UEFI x86-64 HTTP boot (option 93 =
  16 and vendor class ``HTTPClient``) -> the URL of iPXE's EFI loader (``ipxe/snponly.efi``, on
  the firmware's own network driver) with option 60 ``HTTPClient`` back (the firmware takes an
  offer for an HTTP boot only then), UEFI x86-64 PXE (option 93 = 7 or 9) ->
  ``grub/grubx64.efi``, anything else (BIOS) -> ``pxelinux.0``. HTTP boot chains to iPXE, not
  GRUB: Debian's signed GRUB finds no network configuration when the firmware loaded it over
  HTTP (it reads only a PXE client's DHCP answer), so it stops at its prompt;
- a segment served through a relay (``relay``) is selected by the relay's giaddr like any other
  subnet: both servers need only its subnet; its ``next_server`` is the provisioner's address
  the machines reach through the relay (the store requires it);
- a system whose boot loader is fixed (``boot_loader: pxelinux|grub``) gets that file whatever
  its firmware says, and a Secure Boot profile gets the shim (``grub/shimx64.efi``);
- discovery (a segment with ``discovery: true``; the store then requires its ``dynamic_range`` and
  ``next_server``): an unknown client of that segment, i.e. one leasing from its dynamic range,
  is sent to the collector instead of the local-boot fallbacks. iPXE -> the collector's script
  ``http://<next_server>/discovery/discover.ipxe``; UEFI x86-64 PXE -> ``ipxe/snponly.efi`` (iPXE,
  which then asks again as an iPXE client) instead of GRUB; BIOS -> ``undionly.kpxe`` (likewise)
  instead of pxelinux; UEFI HTTP boot -> as without discovery (iPXE's snponly.efi URL, which asks
  again as iPXE). Known clients (reservations), and every client of a segment without discovery,
  get what they get without it: a store with no discovery renders the same configs byte for byte.
  iPXE is not signed: an unknown machine with Secure Boot on cannot run it, and its firmware goes
  on to its next boot device (its disk), as an unknown machine does without discovery.

How each server tells an unknown client of a discovery segment apart:

- ISC dhcpd: the statements go in the segment's ``pool { ... allow unknown-clients; }``. Only an
  unknown client leases from that pool (a reservation's fixed address is in no pool), and dhcpd
  runs a lease's pool scope after its subnet scope, so a ``filename`` set there replaces the
  subnet's; a reservation's host scope runs last of all. The pool's ``if``/``elsif`` chain sets
  no filename for UEFI HTTP boot, which keeps the subnet's.
- Kea (2.2, Debian 12): the file field comes from the subnet, then from the FIRST of the packet's
  classes that sets ``boot-file-name``, then from the reservation (``Dhcpv4Srv::setFixedFields``;
  ARM "Setting Fixed Fields in Classification"). Classes join the packet in this order: global
  classes, then ``KNOWN``/``UNKNOWN``, then the required (``only-if-required``) classes in the
  order the shared network, the subnet and the pool list them (``Dhcpv4Srv::requiredClassify``).
  A global class therefore always wins over a subnet's or a pool's. So, on a provisioner that
  serves a discovery segment: the UEFI class (``bm-uefi``) is required by every subnet, last,
  instead of being global; a discovery segment's subnet requires first its discovery classes,
  which test ``member('UNKNOWN')`` (a client with no reservation in the subnet: exactly the ones
  that lease from its pool), then the segment's usual classes. The first class of that list that
  matches gives the file; a known client matches none of the discovery classes. A provisioner
  with no discovery segment keeps ``bm-uefi`` global, as before.

Values come from the validated store: no quote, brace, semicolon or newline can reach here.
"""

from __future__ import annotations

import ipaddress
import json

from .family import IPV4, IPV6, url_host

PXELINUX = "pxelinux.0"
GRUB = "grub/grubx64.efi"
SHIM = "grub/shimx64.efi"
IPXE_SCRIPT = "ipxe/boot.ipxe"
IPXE_HTTP_LOADER = "ipxe/snponly.efi"
UEFI_ARCHES = (7, 9)
HTTP_ARCH = 16  # x86-64 UEFI HTTP boot (RFC 4578 registry, IANA "Processor Architecture Types")
HTTP_CLIENT = "HTTPClient"
IPXE_TEST = "option[77].hex == 'iPXE'"
# discovery: what an unknown client of a segment with discovery on boots (see the discovery role)
DISCOVERY_SCRIPT = "discovery/discover.ipxe"
DISCOVERY_UEFI = IPXE_HTTP_LOADER  # iPXE on the firmware's network driver, in the TFTP tree
DISCOVERY_BIOS = "undionly.kpxe"  # iPXE on the PXE ROM's UNDI driver, in the TFTP root
UNKNOWN_TEST = "member('UNKNOWN')"

HEADER = "generated by baremetal.provision for provisioner %s from the record store: do not edit by hand"


def fixed_boot_file(system):
    """The boot file a reservation names itself, or None to follow the client's type."""
    if system.get("secure_boot"):
        return SHIM
    loader = system.get("boot_loader") or "auto"
    if loader == "pxelinux":
        return PXELINUX
    if loader == "grub":
        return GRUB
    return None


def http_boot_url(segment):
    """The boot URL an HTTP-boot client of the segment gets (None without a next_server)."""
    if not segment.get("next_server"):
        return None
    return "http://%s/%s" % (segment["next_server"], IPXE_HTTP_LOADER)


def ipxe_script(segment):
    """iPXE's first script: over HTTP from the next_server (relative per-MAC scripts follow it)."""
    if not segment.get("next_server"):
        return IPXE_SCRIPT
    return "http://%s/%s" % (segment["next_server"], IPXE_SCRIPT)


def discovery(segment):
    """Whether the segment sends its unknown clients to the collector."""
    return bool(segment.get("discovery"))


def discovery_script(segment):
    """The collector's iPXE script, over HTTP from the next_server (the store requires one)."""
    if not segment.get("next_server"):
        raise ValueError("a segment with discovery on needs next_server: the collector's script is at its web server")
    return "http://%s/%s" % (segment["next_server"], DISCOVERY_SCRIPT)


def _http_test_isc():
    return 'option arch = 00:%02x and substring(option vendor-class-identifier, 0, %d) = "%s"' % (
        HTTP_ARCH,
        len(HTTP_CLIENT),
        HTTP_CLIENT,
    )


def _uefi_test_isc():
    return " or ".join("option arch = 00:%02x" % a for a in UEFI_ARCHES)


def _host_id(system, iface, index):
    name = iface["name"]
    if all(c.isalnum() or c in "-_" for c in name):
        return "%s-%s" % (system["name"], name)
    return "%s-if%d" % (system["name"], index)


def ipv4_segments(view):
    """{name: segment} of the served segments with IPv4 (the DHCPv4 server's subnets)."""
    return {name: seg for name, seg in sorted(view["segments"].items()) if IPV4.part(seg)}


def reservations(view, segment_name, family=IPV4):
    """(host id, system, interface) for every interface with an address of family in one
    segment, sorted by system."""
    out = []
    for system in view["systems"]:
        for index, iface in enumerate(system["interfaces"]):
            if iface["segment"] == segment_name and iface.get(family.address_field):
                out.append((_host_id(system, iface, index), system, iface))
    return out


# ------------------------------------------------------------------ ISC dhcpd
def render_isc(view, lease_time=3600, extra=None):
    lines = [
        "# " + HEADER % view["provisioner"],
        "authoritative;",
        "ddns-update-style none;",
        "default-lease-time %d;" % lease_time,
        "max-lease-time %d;" % (lease_time * 2),
        "option arch code 93 = unsigned integer 16;",
        "option space ipxe;",
        "option ipxe-encap-opts code 175 = encapsulate ipxe;",
        "option ipxe.no-pxedhcp code 176 = unsigned integer 8;",
        "",
    ]
    for seg_name, segment in ipv4_segments(view).items():
        net = ipaddress.IPv4Network(segment["network"])
        lines.append(
            "# segment %s%s" % (seg_name, " (through the relay %s)" % segment["relay"] if segment.get("relay") else "")
        )
        lines.append("subnet %s netmask %s {" % (net.network_address, net.netmask))
        if segment.get("gateway"):
            lines.append("  option routers %s;" % segment["gateway"])
        if segment.get("dns"):
            lines.append("  option domain-name-servers %s;" % ", ".join(segment["dns"]))
        if segment.get("domain"):
            lines.append('  option domain-name "%s";' % segment["domain"])
        next_server = segment.get("next_server")
        if next_server:
            lines.append("  next-server %s;" % next_server)
        lines.append('  if exists user-class and option user-class = "iPXE" {')
        lines.append('    filename "%s";' % ipxe_script(segment))
        url = http_boot_url(segment)
        if url:
            lines.append("  } elsif %s {" % _http_test_isc())
            lines.append('    option vendor-class-identifier "%s";' % HTTP_CLIENT)
            lines.append('    filename "%s";' % url)
        lines.append("  } elsif %s {" % _uefi_test_isc())
        lines.append('    filename "%s";' % GRUB)
        lines.append("  } else {")
        lines.append('    filename "%s";' % PXELINUX)
        lines.append("  }")
        if segment.get("dynamic_range"):
            low, high = segment["dynamic_range"]
            lines.append("  pool {")
            lines.append("    range %s %s;" % (low, high))
            lines.append("    allow unknown-clients;")
            if discovery(segment):
                lines.extend(_isc_discovery(segment))
            lines.append("  }")
        lines.append("}")
        for host_id, system, iface in reservations(view, seg_name):
            lines.append("host %s {" % host_id)
            lines.append("  hardware ethernet %s;" % iface["mac"])
            lines.append("  fixed-address %s;" % iface["ip"])
            lines.append('  option host-name "%s";' % system["name"])
            lines.append("  option ipxe.no-pxedhcp 1;")
            boot = fixed_boot_file(system)
            if boot:
                lines.append('  filename "%s";' % boot)
            lines.append("}")
        lines.append("")
    if extra:
        lines.append("# dhcp_extra: added by the operator, checked by dhcpd like the rest")
        lines.append(extra.rstrip("\n"))
        lines.append("")
    return "\n".join(lines)


def _isc_discovery(segment):
    """The pool scope's boot files: only unknown clients lease from the pool, and its statements
    run after the subnet's (a filename here replaces the subnet's)."""
    return [
        "    # discovery: unknown machines boot the collector (UEFI HTTP boot keeps the subnet's file)",
        '    if exists user-class and option user-class = "iPXE" {',
        '      filename "%s";' % discovery_script(segment),
        "    } elsif %s {" % _http_test_isc(),
        "    } elsif %s {" % _uefi_test_isc(),
        '      filename "%s";' % DISCOVERY_UEFI,
        "    } else {",
        '      filename "%s";' % DISCOVERY_BIOS,
        "    }",
    ]


# ------------------------------------------------------------------ Kea
_UEFI_TEST = " or ".join("option[93].hex == 0x%04x" % a for a in UEFI_ARCHES)
_HTTP_TEST = "option[93].hex == 0x%04x and substring(option[60].hex, 0, %d) == '%s'" % (
    HTTP_ARCH,
    len(HTTP_CLIENT),
    HTTP_CLIENT,
)
UEFI_CLASS = {
    "name": "bm-uefi",
    # iPXE's EFI build sends a UEFI architecture too: its segment's class answers it
    "test": "(%s) and not (%s)" % (_UEFI_TEST, IPXE_TEST),
    "boot-file-name": GRUB,
}
# An unknown client of a discovery segment: the subnet requires these before its usual classes.
# iPXE asks for the collector with the segment's own class (bm-discover-ipxe-<segment>).
DISCOVERY_CLASSES = (
    {
        "name": "bm-discover-uefi",
        "only-if-required": True,
        "test": "%s and (%s) and not (%s)" % (UNKNOWN_TEST, _UEFI_TEST, IPXE_TEST),
        "boot-file-name": DISCOVERY_UEFI,
    },
    {
        # the rest but UEFI HTTP boot (the segment's HTTP class, as without discovery): BIOS
        "name": "bm-discover-bios",
        "only-if-required": True,
        "test": "%s and not (%s) and not (%s) and not (%s)" % (UNKNOWN_TEST, IPXE_TEST, _UEFI_TEST, _HTTP_TEST),
        "boot-file-name": DISCOVERY_BIOS,
    },
)


def render_kea(
    view,
    interfaces=("*",),
    lease_file="/var/lib/kea/kea-leases4.csv",
    lease_time=3600,
    control_socket=None,
    extra=None,
    hooks=(),
):
    subnets, segment_classes = [], []
    # with discovery somewhere, the UEFI class is evaluated per subnet, after the discovery classes
    uefi_required = any(discovery(segment) for segment in view["segments"].values())
    for number, (seg_name, segment) in enumerate(ipv4_segments(view).items(), start=1):
        options = []
        if segment.get("gateway"):
            options.append({"name": "routers", "data": segment["gateway"]})
        if segment.get("dns"):
            options.append({"name": "domain-name-servers", "data": ", ".join(segment["dns"])})
        if segment.get("domain"):
            options.append({"name": "domain-name", "data": segment["domain"]})
        subnet = {
            "id": segment.get("kea_subnet_id") or number,
            "subnet": segment["network"],
            "user-context": {"segment": seg_name},
            "option-data": options,
            "boot-file-name": PXELINUX,
            "pools": [],
            "reservations": [],
        }
        if segment.get("next_server"):
            subnet["next-server"] = segment["next_server"]
        if segment.get("relay"):
            subnet["relay"] = {"ip-addresses": [segment["relay"]]}
        # The iPXE script's and the HTTP boot's URLs name the segment's next_server: classes of the
        # segment's own, evaluated only in its subnet (Kea 2.2 has no class-dependent subnet options).
        required = [
            {
                "name": "bm-ipxe-%s" % seg_name,
                "only-if-required": True,
                "test": IPXE_TEST,
                "boot-file-name": ipxe_script(segment),
            }
        ]
        url = http_boot_url(segment)
        if url:
            required.append(
                {
                    "name": "bm-http-%s" % seg_name,
                    "only-if-required": True,
                    "test": _HTTP_TEST,
                    "boot-file-name": url,
                    "option-data": [{"name": "vendor-class-identifier", "data": HTTP_CLIENT, "always-send": True}],
                }
            )
        if discovery(segment):
            required.insert(
                0,
                {
                    "name": "bm-discover-ipxe-%s" % seg_name,
                    "only-if-required": True,
                    "test": "%s and %s" % (UNKNOWN_TEST, IPXE_TEST),
                    "boot-file-name": discovery_script(segment),
                },
            )
        segment_classes.extend(required)
        subnet["require-client-classes"] = [c["name"] for c in required]
        if discovery(segment):  # the shared discovery classes, before the segment's usual ones
            subnet["require-client-classes"][1:1] = [c["name"] for c in DISCOVERY_CLASSES]
        if uefi_required:
            subnet["require-client-classes"].append(UEFI_CLASS["name"])
        if segment.get("dynamic_range"):
            subnet["pools"].append({"pool": "%s - %s" % tuple(segment["dynamic_range"])})
        for _host_id, system, iface in reservations(view, seg_name):
            reservation = {"hw-address": iface["mac"], "ip-address": iface["ip"], "hostname": system["name"]}
            boot = fixed_boot_file(system)
            if boot:
                reservation["boot-file-name"] = boot
            subnet["reservations"].append(reservation)
        subnets.append(subnet)
    dhcp4 = {
        "comment": HEADER % view["provisioner"],
        "interfaces-config": _kea_interfaces(interfaces),
        "lease-database": _kea_leases(lease_file),
        "valid-lifetime": lease_time,
        "authoritative": True,
        "host-reservation-identifiers": ["hw-address"],
        "reservations-out-of-pool": True,
        "client-classes": [
            dict(UEFI_CLASS, **({"only-if-required": True} if uefi_required else {})),
            *(DISCOVERY_CLASSES if uefi_required else ()),
            *segment_classes,
        ],
        "subnet4": subnets,
        "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": "stdout"}], "severity": "INFO"}],
    }
    # dhcp_extra: the operator's own top-level Dhcp4 keys (checked by kea-dhcp4 like the rest).
    return _kea_text("Dhcp4", dhcp4, control_socket, hooks, extra)


def _kea_interfaces(interfaces):
    """interfaces-config: a just-added address is tentative (DAD) for a moment, Kea retries the bind."""
    return {
        "interfaces": list(interfaces),
        "service-sockets-max-retries": 600,
        "service-sockets-retry-wait-time": 100,
    }


def _kea_leases(lease_file):
    return {"type": "memfile", "persist": True, "name": lease_file, "lfc-interval": 3600}


def _kea_text(top, config, control_socket, hooks, extra):
    """The config's text: its control socket and hooks, then the operator's own top-level keys."""
    if control_socket:
        config["control-socket"] = {"socket-type": "unix", "socket-name": control_socket}
    if hooks:
        config["hooks-libraries"] = [{"library": library} for library in hooks]
    config.update(extra or {})
    return json.dumps({top: config}, indent=1, sort_keys=False) + "\n"


# ------------------------------------------------------------------ DHCPv6 (Kea only) and RAs
# UEFI only: BIOS has no IPv6 netboot. The boot file is option 59 (bootfile-url, RFC 5970), a
# whole URL; the client's architecture is option 61, iPXE names itself in the user class (15).
#
# - UEFI PXE (61 = 7) on a segment the provisioner is on -> tftp://[next]/grub/shimx64.efi: shim
#   (signed for Secure Boot, and harmless without it) loads Debian's GRUB beside it, which takes
#   its network from the firmware's DHCPv6 answer and reads the per-MAC configs. Always shim:
#   the firmware's request cannot be tied to a MAC (below), so a Secure Boot profile could not
#   get it by reservation as over IPv4;
# - UEFI PXE through a relay -> tftp://[next]/ipxe/snponly.efi: GRUB takes no route from the
#   router advertisement and cannot reach a TFTP server off its link; iPXE can (no Secure Boot
#   there: the store refuses that combination);
# - UEFI HTTP boot (61 = 16) -> http://[next]/ipxe/snponly.efi, with option 16 (vendor class,
#   enterprise 343) "HTTPClient" back: edk2 takes an offer for an HTTP boot only then. Never
#   "PXEClient": edk2 then waits for a boot server on port 4011 (research/ipv6.md). Debian's
#   GRUB, shim's included, finds no network after an HTTP boot: iPXE, unsigned, it is;
# - iPXE (user class "iPXE") -> the segment's first script, ipxe/boot-<segment>.ipxe, which
#   chains to the per-MAC script with the segment's address in it (iPXE's ${next-server} is
#   IPv4's: over IPv6 it is empty).
#
# Reservations are by MAC (``hw-address``), and the MAC is taken from the client's DUID only
# (``mac-sources: [duid]``, the default): the installer's and the installed system's DHCPv6
# clients (ISC dhclient, Debian's installer) send a DUID-LL or DUID-LLT, which holds it, and get
# the reserved address, which the install config is served to. Firmware and iPXE send a
# DUID-UUID with no MAC in it and lease from the dynamic range: tied to the MAC through their
# link-local address instead (mac-source ipv6-link-local), iPXE would take the reserved address
# and never release it, and the installer would get another one. Hence the dynamic range.
PXE6_ARCH = 7
HTTP6_VENDOR = "343, %04x%s" % (len(HTTP_CLIENT), HTTP_CLIENT.encode("ascii").hex())
IPXE6_TEST = "substring(option[15].hex,2,4) == 'iPXE'"
MAC_SOURCES6 = ("duid",)


def ipxe6_script(seg_name):
    """The first script of an iPXE client of an IPv6 segment (in the TFTP tree, served by nginx)."""
    return "ipxe/boot-%s.ipxe" % seg_name


def ipv6_segments(view):
    """{name: segment} of the served segments with IPv6."""
    return {name: seg for name, seg in sorted(view["segments"].items()) if IPV6.part(seg)}


def _v6_url(scheme, segment, path):
    return "%s://%s/%s" % (scheme, url_host(segment["ipv6"]["next_server"]), path)


def render_kea6(
    view,
    interfaces,
    lease_file="/var/lib/kea/kea-leases6.csv",
    lease_time=3600,
    control_socket=None,
    extra=None,
    hooks=(),
    mac_sources=MAC_SOURCES6,
):
    """Kea's DHCPv6 config for the served IPv6 segments. interfaces: {segment: interface}. Kea
    picks a direct client's subnet by the interface its request came in on, a relayed one's by
    the relay's address; a relay sends to the provisioner's global address (the segment's
    next_server), which Kea listens on only when the interface is given as "<interface>/<address>"."""
    subnets, classes, unicast = [], [], {}
    for number, (seg_name, segment) in enumerate(ipv6_segments(view).items(), start=1):
        part = segment["ipv6"]
        subnet = {
            "id": number,
            "subnet": part["network"],
            "user-context": {"segment": seg_name},
            "option-data": [],
            "pools": [],
            "reservations": [],
        }
        if part.get("relay"):
            subnet["relay"] = {"ip-addresses": [part["relay"]]}
            unicast.setdefault(interfaces[seg_name], part["next_server"])
        else:
            subnet["interface"] = interfaces[seg_name]
        if part.get("dns"):
            subnet["option-data"].append({"name": "dns-servers", "data": ", ".join(part["dns"])})
        if segment.get("domain"):
            subnet["option-data"].append({"name": "domain-search", "data": segment["domain"]})
        not_ipxe = "not (%s)" % IPXE6_TEST
        required = [
            {
                "name": "bm6-ipxe-%s" % seg_name,
                "test": IPXE6_TEST,
                "option-data": [
                    {
                        "name": "bootfile-url",
                        "data": _v6_url("http", segment, ipxe6_script(seg_name)),
                        "always-send": True,
                    }
                ],
            },
            {
                "name": "bm6-http-%s" % seg_name,
                "test": "option[61].hex == 0x%04x and %s" % (HTTP_ARCH, not_ipxe),
                "option-data": [
                    {"name": "bootfile-url", "data": _v6_url("http", segment, IPXE_HTTP_LOADER), "always-send": True},
                    {"name": "vendor-class", "data": HTTP6_VENDOR, "always-send": True},
                ],
            },
            {
                "name": "bm6-pxe-%s" % seg_name,
                "test": "option[61].hex == 0x%04x and %s" % (PXE6_ARCH, not_ipxe),
                "option-data": [
                    {
                        "name": "bootfile-url",
                        "data": _v6_url("tftp", segment, IPXE_HTTP_LOADER if part.get("relay") else SHIM),
                        "always-send": True,
                    }
                ],
            },
        ]
        for klass in required:
            klass["only-if-required"] = True
        classes.extend(required)
        subnet["require-client-classes"] = [c["name"] for c in required]
        if part.get("dynamic_range"):
            subnet["pools"].append({"pool": "%s - %s" % tuple(part["dynamic_range"])})
        for _host_id, system, iface in reservations(view, seg_name, IPV6):
            reservation = {"hw-address": iface["mac"], "ip-addresses": [iface["ipv6"]], "hostname": system["name"]}
            subnet["reservations"].append(reservation)
        subnets.append(subnet)
    listen = sorted({"%s/%s" % (i, unicast[i]) if i in unicast else i for i in interfaces.values()})
    dhcp6 = {
        "comment": HEADER % view["provisioner"],
        "interfaces-config": _kea_interfaces(listen),
        "lease-database": _kea_leases(lease_file),
        "preferred-lifetime": lease_time,
        "valid-lifetime": lease_time * 2,
        "host-reservation-identifiers": ["hw-address"],
        "mac-sources": list(mac_sources),
        "reservations-out-of-pool": True,
        "client-classes": classes,
        "subnet6": subnets,
        "loggers": [{"name": "kea-dhcp6", "output_options": [{"output": "stdout"}], "severity": "INFO"}],
    }
    return _kea_text("Dhcp6", dhcp6, control_socket, hooks, extra)


def render_radvd(view, interfaces):
    """radvd's config: router advertisements on the IPv6 segments the provisioner is on (not the
    relayed ones, whose router sends them; not those with advertise: false). M and O on (ask
    DHCPv6 for the address and the rest: firmware, iPXE and the installers do only then), the /64
    on-link without SLAAC (an address from both makes iPXE switch in mid-transfer), router
    lifetime 0 (the provisioner is no one's default router). None when no segment needs it."""
    blocks = []
    for seg_name, segment in ipv6_segments(view).items():
        part = segment["ipv6"]
        if part.get("relay") or not part.get("advertise", True):
            continue  # a relayed segment's router advertises there
        lines = [
            "# segment %s" % seg_name,
            "interface %s {" % interfaces[seg_name],
            "    AdvSendAdvert on;",
            "    AdvManagedFlag on;",
            "    AdvOtherConfigFlag on;",
            "    MinRtrAdvInterval 3;",
            "    MaxRtrAdvInterval 10;",
            "    AdvDefaultLifetime 0;",
            "    prefix %s {" % part["network"],
            "        AdvOnLink on;",
            "        AdvAutonomous off;",
            "    };",
        ]
        if part.get("dns"):
            lines.append("    RDNSS %s {" % " ".join(part["dns"]))
            lines.append("    };")
        if segment.get("domain"):
            lines.append("    DNSSL %s {" % segment["domain"])
            lines.append("    };")
        lines.append("};")
        blocks.append("\n".join(lines))
    if not blocks:
        return None
    return "# %s\n\n%s\n" % (HEADER % view["provisioner"], "\n\n".join(blocks))
