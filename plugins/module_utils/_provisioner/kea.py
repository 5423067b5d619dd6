# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Kea's control channel (JSON over its unix socket): reload the config the sync wrote, and drop
the leases of reserved addresses whose MAC went away. Without that, Kea keeps the dead box's
lease on the reserved IP and hands the replacement a dynamic address until it expires.
"""

from __future__ import annotations

import json
import os
import socket


class KeaError(Exception):
    pass


def command(socket_path, name, arguments=None, timeout=30.0):
    """Send one command; returns Kea's answer (a dict with result and text)."""
    request = {"command": name}
    if arguments is not None:
        request["arguments"] = arguments
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(socket_path)
        sock.sendall(json.dumps(request).encode("utf-8"))
        received = b""
        answer = None
        while answer is None:  # Kea sends one JSON document; read until it parses or the socket closes
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
            try:
                answer = json.loads(received.decode("utf-8"))
            except ValueError:
                answer = None
    except OSError as exc:
        raise KeaError("Kea's control socket %s: %s" % (socket_path, exc)) from exc
    finally:
        sock.close()
    if answer is None:
        raise KeaError("Kea's control socket %s gave no JSON answer to %s" % (socket_path, name))
    return answer[0] if isinstance(answer, list) and answer else answer


def is_live(socket_path):
    return bool(socket_path) and os.path.exists(socket_path)


def reservations(config_text):
    """{ip: mac} of every reservation in a Kea config text, DHCPv4 or DHCPv6 (empty if it is
    not one)."""
    try:
        config = json.loads(config_text or "")
    except ValueError:
        return {}
    out = {}
    for top, subnets in (("Dhcp4", "subnet4"), ("Dhcp6", "subnet6")):
        for subnet in (config.get(top) or {}).get(subnets) or []:
            for res in subnet.get("reservations") or []:
                if not res.get("hw-address"):
                    continue
                addresses = res.get("ip-addresses") or ([res["ip-address"]] if res.get("ip-address") else [])
                out.update(dict.fromkeys(addresses, res["hw-address"].lower()))
    return out


def released(before_text, after_text):
    """Reserved IPs whose MAC changed or whose reservation went away: [{ip, mac}]."""
    before, after = reservations(before_text), reservations(after_text)
    return [{"ip": ip, "mac": mac} for ip, mac in sorted(before.items()) if after.get(ip) != mac]


def reload_and_release(socket_path, released_leases, version=4):
    """config-reload, then lease4-del (lease6-del) of each released address. Returns what was deleted."""
    answer = command(socket_path, "config-reload")
    if answer.get("result") != 0:
        raise KeaError("Kea refused config-reload: %s" % answer.get("text"))
    deleted = []
    for lease in released_leases:
        answer = command(socket_path, "lease%d-del" % version, {"ip-address": lease["ip"]})
        if answer.get("result") == 0:
            deleted.append(lease["ip"])
        elif answer.get("result") == 2:  # unsupported: the lease_cmds hook is not loaded
            raise KeaError("Kea cannot delete leases (load libdhcp_lease_cmds.so): %s" % answer.get("text"))
        # result 3: no such lease, nothing to do
    return deleted
