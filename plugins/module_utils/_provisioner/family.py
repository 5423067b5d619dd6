# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The address families of the records, IPv4 and IPv6, described once each: where a segment keeps
a family's fields (IPv4's at its top level, IPv6's under ``ipv6``), which interface field holds a
host's address of it (``ip``, ``ipv6``), how its values parse, which addresses of a network no
host may take. The store's rules, the views and the DHCP renders loop over ``FAMILIES`` instead
of spelling a rule twice (the values themselves are parsed by ``_records.fields``).

A segment has IPv4 (``network``), IPv6 (``ipv6.network``) or both. A system installs over one
family: IPv4 when its interface has an ``ip`` in an IPv4 segment (firmware tries IPv4 first),
else IPv6 (``boot_family``).

Standard library only.
"""

from __future__ import annotations

import functools
import ipaddress
import socket


class Family(object):
    """One address family as the records hold it."""

    def __init__(self, version, label, address_field, prefix, reserved):
        self.version = version
        self.label = label  # IPv4, IPv6
        self.address_field = address_field  # an interface's address of this family
        self.prefix = prefix  # where a segment keeps this family's fields
        self.reserved = reserved  # segment fields whose address no host may take
        self._inet = socket.AF_INET if version == 4 else socket.AF_INET6

    def __repr__(self):
        return "<Family %s>" % self.label

    def part(self, segment):
        """The segment's fields of this family (a mapping with network), or None without them."""
        if not segment:
            return None
        part = segment if self.version == 4 else segment.get("ipv6")
        return part if part and part.get("network") else None

    def field(self, name):
        """The field path of one of this family's segment fields, for a problem's message."""
        return self.prefix + name

    def network(self, text):
        return _network(self.version, text)

    def to_int(self, text):
        """A validated address as an integer (much faster than ipaddress, 10,000s per edit)."""
        return int.from_bytes(socket.inet_pton(self._inet, text), "big")

    def host_problem(self, network, value):
        """Why the address value (an integer inside network) is no host's, or None.

        IPv4: the network and broadcast addresses. IPv6: the subnet-router anycast address (the
        network's first) and the 128 reserved anycast addresses at its top (RFC 2526)."""
        first, last = int(network.network_address), int(network.broadcast_address)
        if value == first:
            return "the %s address of %s" % ("network" if self.version == 4 else "subnet-router anycast", network)
        if self.version == 4 and value == last:
            return "the broadcast address of %s" % (network,)
        if self.version == 6 and value > last - 128:
            return "one of the reserved anycast addresses of %s (its last 128, RFC 2526)" % (network,)
        return None


@functools.lru_cache(maxsize=1024)
def _network(version, text):
    return ipaddress.IPv4Network(text) if version == 4 else ipaddress.IPv6Network(text)


IPV4 = Family(4, "IPv4", "ip", "", ("gateway", "next_server", "relay"))
IPV6 = Family(6, "IPv6", "ipv6", "ipv6.", ("next_server", "relay"))
FAMILIES = (IPV4, IPV6)


def families(segment):
    """The families a segment has, IPv4 first."""
    return [family for family in FAMILIES if family.part(segment) is not None]


def boot_family(segment, interface):
    """The family an interface of segment installs over: IPv4 when it has an IPv4 address there,
    else IPv6 when it has an IPv6 one; None when it has neither."""
    for family in FAMILIES:
        if family.part(segment) is not None and interface.get(family.address_field):
            return family
    return None


def url_host(address):
    """An address as the host of a URL: an IPv6 literal in brackets (RFC 3986)."""
    return "[%s]" % address if ":" in address else address
