# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

The one pass that turns a provisioner's view (``_views.provisioner``, built on the controller)
into files. ``sync`` runs on the provisioner (the view is the module's argument): it reads the
netboot state there, renders every file of one component in memory and writes only the files
whose content changed.

Components and what they own:

    dhcp   the dhcpd.conf or kea-dhcp4.conf (checked by the daemon before it replaces the live one)
    tftp   per-MAC pxelinux, GRUB and iPXE configs and the fallbacks, in the TFTP root
    web    install configs in the web root, the nginx access map, and the netboot index the
           callback service reads
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import subprocess
import sys
import tempfile

from . import family as FAM
from . import kea as K
from . import netboot as N
from . import render_boot as B
from . import render_dhcp as D
from . import render_install as I
from . import render_memo as M
from . import scope as S
from . import tree_sync as T

COMPONENTS = ("dhcp", "tftp", "web")  # the order a run renders them in
DEFAULT_STATE_DIR = "/var/lib/baremetal-provision"


class SyncFailed(Exception):
    """A refusal of the sync: nothing was replaced."""


def artifacts(view):
    """Kernels and initrds the TFTP tree needs: [{distro, dest, path | url + checksum}]."""
    out = []
    for name in sorted(view.get("distros") or {}):
        distro = view["distros"][name]
        for key, fname in (("kernel", "vmlinuz"), ("initrd", "initrd")):
            value = distro[key]
            if isinstance(value, str):
                value = {"url": value} if "://" in value else {"path": value}
            item = {"distro": name, "kind": key, "dest": "%s/%s/%s" % (B.IMAGES_DIR, name, fname)}
            item.update(value)
            out.append(item)
    return out


# ------------------------------------------------------------------ provisioner side
def _family(segment, iface=None):
    """The address family an interface of segment boots over (its segment's first without one)."""
    return FAM.boot_family(segment, iface or {}) or (FAM.families(segment) or [FAM.IPV4])[0]


def _base_url(segment, iface=None):
    """http://<the provisioner's address on segment, in the family iface boots over>, or None."""
    part = _family(segment, iface).part(segment) or {}
    return "http://%s" % FAM.url_host(part["next_server"]) if part.get("next_server") else None


def _served_macs(view, system):
    """(mac, base_url) of the system's interfaces in the served segments."""
    out = []
    for iface in system["interfaces"]:
        segment = view["segments"].get(iface["segment"])
        if segment is not None:
            out.append((iface["mac"], _base_url(segment, iface) or ""))
    return out


def _install_iface(view, system):
    """The interface the system installs through on this provisioner: the primary one if its
    segment is served here, else the first served one with an address."""
    ifaces = [i for i in system["interfaces"] if i["segment"] in view["segments"]]
    addressed = [i for i in ifaces if _address(view, i)]
    primary = [i for i in addressed if i.get("primary")]
    return (primary or addressed or ifaces or [None])[0]


def _address(view, iface):
    """The interface's address in the family it boots over (None without one)."""
    return iface.get(_family(view["segments"][iface["segment"]], iface).address_field)


def _served_ip(view, system):
    """The address the system installs from on this provisioner (the install config's owner)."""
    iface = _install_iface(view, system)
    return _address(view, iface) if iface else None


def _install_base(view, system):
    """The web server the installer talks to: the provisioner's address on the segment of the
    interface it installs through, in that interface's family."""
    iface = _install_iface(view, system)
    return _base_url(view["segments"][iface["segment"]], iface) or ""


def _armed_map(view, state_dir):
    """{system: whether its boot configs start the installer}, from this provisioner's state."""
    completed = N.read_completed(state_dir)
    return {s["name"]: N.is_armed(s["build_generation"], completed.get(s["name"])) for s in view["systems"]}


# Each sync_* takes the view and its component's options (the module's dhcp, tftp or web dict).
def local_addresses(version=4):
    """[(interface, address with prefix)] of this host in one family (4 or 6), from iproute2."""
    try:
        proc = subprocess.run(
            ["ip", "-json", "-%d" % version, "address", "show"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            check=False,
        )
    except OSError as exc:
        raise SyncFailed("dhcp.interfaces: cannot list this host's addresses (%s): set dhcp_interfaces" % exc) from exc
    if proc.returncode != 0:
        raise SyncFailed(
            "dhcp.interfaces: ip -json address failed: %s: set dhcp_interfaces"
            % proc.stderr.decode("utf-8", "replace").strip()
        )
    out = []
    for link in json.loads(proc.stdout.decode("utf-8") or "[]"):
        for info in link.get("addr_info", []):
            if info.get("family") == ("inet" if version == 4 else "inet6"):
                out.append((link["ifname"], "%s/%s" % (info["local"], info["prefixlen"])))
    return out


def served_interfaces(view, addresses):
    """The interfaces DHCP listens on when none are set: those with an address inside a segment
    this provisioner serves on its own link (a relayed segment's requests come in through one of
    them). Raises SyncFailed, naming the segments and the variable to set, when there is none."""
    segments = D.ipv4_segments(view)
    direct = {name: ipaddress.ip_network(seg["network"]) for name, seg in segments.items() if not seg.get("relay")}
    if not segments:
        return []  # an IPv6-only provisioner: its DHCPv4 server has nothing to serve
    found = []
    for ifname, address in addresses:
        ip = ipaddress.ip_interface(address).ip
        if any(ip in network for network in direct.values()) and ifname not in found:
            found.append(ifname)
    if not found:
        wanted = ", ".join("%s (%s)" % (name, net) for name, net in direct.items()) or "none on this host's own link"
        have = ", ".join("%s %s" % pair for pair in addresses) or "none"
        raise SyncFailed(
            "dhcp.interfaces: no interface of provisioner %s has an address in the segments it serves: %s; "
            "its addresses: %s. Set dhcp_interfaces to the interfaces DHCP must listen on"
            % (view["provisioner"], wanted, have)
        )
    return found


def ipv6_interfaces(view, options, addresses=None):
    """{segment: interface} of every IPv6 segment this provisioner serves. A segment on this
    host's own link: the interface Kea picks its clients' subnet by and radvd advertises on. A
    relayed one: the interface whose address (the segment's ipv6.next_server) the relay sends to.
    Each is dhcp.ipv6.interfaces' when it names the segment, else the host's interface with the
    address (in the /64; the next_server itself), else a direct segment's that holds the
    next_server, else the one interface dhcp.interfaces gives. Raises SyncFailed naming the segment."""
    given = (options.get("ipv6") or {}).get("interfaces") or {}
    segments = D.ipv6_segments(view)
    unknown = sorted(set(given) - set(segments))
    if unknown:
        raise SyncFailed(
            "dhcp.ipv6.interfaces.%s: provisioner %s serves no IPv6 segment %s (served: %s)"
            % (unknown[0], view["provisioner"], unknown[0], ", ".join(sorted(segments)) or "none")
        )
    explicit = [i for i in options.get("interfaces") or () if i != "*"]
    direct = sorted(name for name, seg in segments.items() if not seg["ipv6"].get("relay"))
    relayed = sorted(name for name, seg in segments.items() if seg["ipv6"].get("relay"))
    out = {}
    for name in direct + relayed:  # a relayed segment may take the interface of a direct one
        part = segments[name]["ipv6"]
        if name in given:
            out[name] = given[name]
            continue
        if addresses is None:
            addresses = local_addresses(6)
        if part.get("relay"):
            wanted = ipaddress.IPv6Address(part["next_server"])
            found = [i for i, address in addresses if ipaddress.ip_interface(address).ip == wanted]
            found += [out[d] for d in direct if wanted in ipaddress.IPv6Network(segments[d]["ipv6"]["network"])]
            where = "the address %s (segment %s, ipv6.next_server, which its relay sends to)" % (wanted, name)
        else:
            network = ipaddress.IPv6Network(part["network"])
            found = [i for i, address in addresses if ipaddress.ip_interface(address).ip in network]
            where = "an address in %s (segment %s, ipv6.network)" % (network, name)
        if found:
            out[name] = found[0]
        elif len(explicit) == 1 and not options.get("derive_interfaces"):
            out[name] = explicit[0]
        else:
            raise SyncFailed(
                "dhcp.ipv6.interfaces: no interface of provisioner %s has %s; its IPv6 addresses: %s. "
                "Give the interface in dhcp_ipv6_interfaces ({%s: <interface>})"
                % (view["provisioner"], where, ", ".join("%s %s" % pair for pair in addresses) or "none", name)
            )
    return out


def dhcp_interfaces(view, options):
    """The interfaces of the DHCP config: the ones given, or derived from this host's addresses."""
    if options.get("derive_interfaces"):
        return served_interfaces(view, local_addresses())
    return options.get("interfaces") or ["*"]


def remove_stale_configs(options, check_mode):
    """The config files of the DHCP server this host no longer runs, when this collection wrote
    them (their first lines carry its header); returns the paths removed."""
    config = os.path.abspath(options["config"])
    paths = [p for p in options.get("stale_configs") or () if os.path.abspath(p) != config]
    return _remove_marked(paths, _MARKER, check_mode)


# The first words of the header of every DHCP and radvd config this collection writes.
_MARKER = D.HEADER.split(" for ", maxsplit=1)[0]


def _remove_marked(paths, marker, check_mode):
    """The files of paths whose first 4 KB hold marker (this collection wrote them), removed; the
    others (the operator's own, a package's sample) are left alone. Returns the paths removed."""
    removed = []
    for path in paths:
        try:
            with open(path, "r", encoding="utf-8", errors="replace") as handle:
                head = handle.read(4096)
        except FileNotFoundError:
            continue
        if marker not in head:
            continue
        if not check_mode:
            os.unlink(path)
        removed.append(path)
    return removed


def render_dhcp(view, options):
    if options.get("server", "isc") == "kea":
        return D.render_kea(
            view,
            interfaces=options.get("interfaces") or ["*"],
            lease_file=options.get("kea_lease_file") or "/var/lib/kea/kea-leases4.csv",
            control_socket=options.get("kea_control_socket"),
            extra=_extra(options, dict),
            hooks=options.get("kea_hooks") or (),
        )
    return D.render_isc(view, extra=_extra(options, str))


def _extra(options, kind):
    extra = options.get("extra")
    if extra in (None, "", {}):
        return None
    if not isinstance(extra, kind):
        raise SyncFailed(
            "dhcp.extra: must be %s for server=%s"
            % (
                "a mapping of Dhcp4 keys" if kind is dict else "a string of dhcpd.conf statements",
                options.get("server", "isc"),
            )
        )
    return extra


def check_dhcp_config(text, options):
    """Run the daemon's own checker on a candidate config; raise SyncFailed with its message."""
    command = options.get("check_command")
    if command is None:
        command = ["kea-dhcp4", "-t"] if options.get("server", "isc") == "kea" else ["dhcpd", "-t", "-q", "-cf"]
    check_config(text, options["config"], command)


def check_config(text, path, command):
    """Run a daemon's checker (command, the candidate's path appended) on text, beside path."""
    if not command:
        return
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".bm-check-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        proc = subprocess.run([*list(command), tmp], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    finally:
        os.unlink(tmp)
    if proc.returncode != 0:
        output = proc.stdout.decode("utf-8", "replace").replace(tmp, path).strip()
        raise SyncFailed(
            "%s rejected the new config; the live one was left as it was:\n%s" % (" ".join(command), output[-4000:])
        )


DHCP6_DEFAULTS = {
    "config": "/etc/kea/kea-dhcp6.conf",
    "lease_file": "/var/lib/kea/kea-leases6.csv",
    "check_command": ["kea-dhcp6", "-t"],
    "radvd_config": "/etc/radvd.conf",
    "radvd_check_command": ["radvd", "--configtest", "--config"],
}


def _read_text(path):
    try:
        with open(path, "r", encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _ipv6_files(view, options, interfaces6):
    """[(what, path, text or None, checker)] of the DHCPv6 side: Kea's DHCPv6 config and radvd's.
    None: the provisioner serves no IPv6 segment (or none radvd advertises on), and a file this
    collection wrote there goes."""
    if "ipv6" not in options and not D.ipv6_segments(view):
        return []  # a caller that knows nothing of IPv6 (the module always passes its options)
    six = dict(DHCP6_DEFAULTS, **{k: v for k, v in (options.get("ipv6") or {}).items() if v is not None})
    kea6 = None
    if D.ipv6_segments(view):
        kea6 = D.render_kea6(
            view,
            interfaces6,
            lease_file=six["lease_file"],
            control_socket=six.get("control_socket"),
            extra=six.get("extra"),
            hooks=six.get("hooks") or options.get("kea_hooks") or (),
            mac_sources=six.get("mac_sources") or D.MAC_SOURCES6,
        )
    return [
        ("dhcp6", six["config"], kea6, six["check_command"]),
        ("radvd", six["radvd_config"], D.render_radvd(view, interfaces6), six["radvd_check_command"]),
    ]


def sync_dhcp(view, options, check_mode):
    path = options["config"]
    # refusals come before any write: no served interface, an IPv6 segment without one, a
    # candidate config a daemon rejects
    interfaces = dhcp_interfaces(view, options)
    interfaces6 = ipv6_interfaces(view, options) if D.ipv6_segments(view) else {}
    text = render_dhcp(view, dict(options, interfaces=interfaces))
    root, name = os.path.split(path)
    before = _read_text(path)
    six = [
        (what, file, after, _read_text(file), command)
        for what, file, after, command in _ipv6_files(view, options, interfaces6)
    ]
    if before != text:
        check_dhcp_config(text, options)
    for _what, file, after, previous, command in six:
        if after is not None and after != previous:
            check_config(after, file, command)
    stale = remove_stale_configs(options, check_mode)
    result = {"written": [], "removed": stale, "before": before, "after": text, "interfaces": interfaces}
    result["families"] = [f.version for f in FAM.FAMILIES if any(f.part(seg) for seg in view["segments"].values())]
    result["ipv6"] = _sync_ipv6(six, options, interfaces6, check_mode)
    if before == text:
        return result
    result["written"] = [name]
    if options.get("server") == "kea":
        result["released"] = K.released(before, text)
    if not check_mode:
        T.write_file(root, name, text.encode("utf-8"), 0o644)
        socket_path = options.get("kea_control_socket")
        if options.get("server") == "kea" and K.is_live(socket_path):
            # Kea reloads in place; the dead boxes' leases on reserved IPs go with the old config.
            try:
                result["deleted_leases"] = K.reload_and_release(socket_path, result["released"])
            except K.KeaError as exc:
                raise SyncFailed("the new config is written but Kea did not take it: %s" % exc) from exc
            result["reloaded"] = True
    return result


def _sync_ipv6(files, options, interfaces6, check_mode):
    """Write (or remove) the checked DHCPv6 and radvd configs; reload a running kea-dhcp6 through
    its control socket and delete the leases of reserved addresses whose MAC went away."""
    result = {"interfaces": interfaces6, "written": [], "removed": [], "dhcp6_changed": False, "radvd_changed": False}
    result["diffs"] = []  # (path, before, after) of each file changed: the module's diff, not its result
    for what, path, after, before, _command in files:
        result[what] = after is not None  # whether the daemon has anything to serve
        if after == before:
            continue
        if after is None:
            # only a file this collection wrote goes (an operator's own radvd.conf stays)
            removed = _remove_marked([path], _MARKER, check_mode)
            result["removed"] += removed
            result[what + "_changed"] = bool(removed)
        else:
            result["written"].append(path)
            result[what + "_changed"] = True
            if what == "dhcp6":
                result["released"] = K.released(before, after)
            if not check_mode:
                T.write_file(os.path.dirname(path) or ".", os.path.basename(path), after.encode("utf-8"), 0o644)
        if result[what + "_changed"]:
            result["diffs"].append((path, before, after))
    socket_path = (options.get("ipv6") or {}).get("control_socket")
    if "released" in result and not check_mode and K.is_live(socket_path):
        try:
            result["deleted_leases"] = K.reload_and_release(socket_path, result["released"], version=6)
        except K.KeaError as exc:
            raise SyncFailed("the new DHCPv6 config is written but Kea did not take it: %s" % exc) from exc
        result["reloaded"] = True
    return result


def _read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def _inside(root, relpath, label):
    """relpath, when it names a path inside root; else SyncFailed naming the option (label)."""
    if not relpath or relpath.startswith("/") or ".." in relpath.split("/") or "\x00" in relpath:
        raise SyncFailed("%s: %r is not a path inside %s" % (label, relpath, root))
    return relpath


def place_files(root, wanted, check_mode, label):
    """Put files that are not generated from the records into a folder: wanted is {relpath:
    (bytes, mode)}; a file is written only when its content differs. They are not in the tree's
    manifest, so a sync never removes them. Returns the relpaths written."""
    written = []
    for relpath in sorted(wanted):
        _inside(root, relpath, label)
        data, mode = wanted[relpath]
        if _read_bytes(os.path.join(root, relpath)) == data:
            continue
        written.append(relpath)
        if not check_mode:
            T.write_file(root, relpath, data, mode)
    return written


def _remove_obsolete(options, check_mode):
    """The callback service's files of an earlier version (web.callback_obsolete) that are still in
    callback_dir and carry the collection's name: removed. Returns their names."""
    names = options.get("callback_obsolete") or ()
    if not names:  # callers of sync() itself may give no callback_dir at all
        return []
    root = options["callback_dir"]
    paths = [os.path.join(root, _inside(root, name, "web.callback_obsolete")) for name in names]
    removed = _remove_marked(paths, "baremetal.provision", check_mode)
    return [os.path.relpath(path, root) for path in removed]


def _tftp_copies(view, options):
    """{relpath: (bytes, mode)} of the boot loaders and the kernels and initrds given by path,
    every source read before anything is written (a missing one fails the sync first)."""
    sources = dict(options.get("copies") or {})
    if options.get("copy_artifacts"):
        sources.update({a["dest"]: a["path"] for a in artifacts(view) if "path" in a})
    wanted = {}
    for relpath, source in sorted(sources.items()):
        data = _read_bytes(source)
        if data is None:
            raise SyncFailed("tftp: %s: %s does not exist on the provisioner (or is not a file)" % (relpath, source))
        wanted[relpath] = (data, 0o644)
    return wanted


def _memo(state_dir, component):
    """The component's render memo (see render_memo); it is empty when the source of the code that
    renders (this module's included) or jinja2's version is not the one that wrote it."""
    code = M.code_digest((B, I, M, N, sys.modules[__name__]), I.JINJA2_VERSION)
    return M.Memo(M.memo_path(state_dir, component), code)


class _Rendered(object):
    """The files of a sync's systems: rendered now when their inputs changed, else remembered.

    render(system) gives {relpath: text} and inputs(system) the JSON data it depends on besides
    the code. files: the rendered files; known: the remembered ones {relpath: sha1}, rendered
    again by fetch(relpath) only when the tree does not hold them as remembered.
    """

    def __init__(self, memo, systems, render, inputs, changed=None):
        self.memo = memo
        self.render = render
        self.files = {}
        self.known = {}
        self.owner = {}
        self.fetched = {}
        self.gone = None  # a sync of every system: whatever else the tree's manifest lists
        if changed is not None:
            memo.carry(changed)
        for system in systems:
            digest = M.key(inputs(system))
            remembered = memo.lookup(system["name"], digest)
            if remembered is not None:
                self.known.update(remembered)
                self.owner.update(dict.fromkeys(remembered, (system, digest)))
            else:
                self.files.update(self._render(system, digest))
        if changed is not None:  # the files the changed systems had and have no more
            had = set().union(*(memo.files_of(name) for name in changed))
            self.gone = sorted(had.difference(self.files, self.known))

    def _render(self, system, digest):
        files = self.render(system)
        self.memo.record(system["name"], digest, {relpath: T.digest(data) for relpath, data in files.items()})
        return files

    def fetch(self, relpath):
        """A remembered file the tree does not hold as remembered: its system rendered again."""
        system, digest = self.owner[relpath]
        files = self.fetched.get(system["name"])
        if files is None:
            files = self.fetched[system["name"]] = self._render(system, digest)
        if relpath not in files:  # only a memo edited by hand can say so
            raise SyncFailed(
                "%s: remembers %s for %s, which its render does not give; remove the file and re-run"
                % (self.memo.path, relpath, system["name"])
            )
        return files[relpath]


def tftp_files(view, armed):
    """{relpath: text} of the TFTP tree, every system rendered."""
    return _tftp_rendered(view, armed, M.Memo()).files


def _tftp_rendered(view, armed, memo, changed=None):
    """The TFTP tree's files: the fallbacks, and each system's on its served MACs; with changed
    (a set of names), only those systems' (the fallbacks depend on the segments alone)."""

    def render(system):
        return B.system_files(system, armed[system["name"]], _served_macs(view, system))

    def inputs(system):
        return [system, armed[system["name"]], _served_macs(view, system)]

    rendered = _Rendered(memo, _systems(view, changed), render, inputs, changed)
    if changed is None:
        rendered.files.update(B.default_files())
        for seg_name, segment in D.ipv6_segments(view).items():  # iPXE's first script over IPv6
            base = "http://%s" % FAM.url_host(segment["ipv6"]["next_server"])
            rendered.files[D.ipxe6_script(seg_name)] = B.ipxe_segment_script(base)
    return rendered


def _systems(view, changed):
    """The view's systems, or those named in changed."""
    if changed is None:
        return view["systems"]
    return [system for system in view["systems"] if system["name"] in changed]


def _scope(view, options, component, memo, *more, index=None):
    """The systems this component's sync looks at (see scope.py), decided under the state lock.
    index: the netboot index the web step patches, which must hold the memo's systems."""
    render_options = {key: options.get(key) for key in S.RENDER_OPTIONS[component]}
    digest = S.options_digest(render_options, memo.code, *more) if memo.code else None
    size = len(memo.old) if memo.loaded and (index is None or index.keys() == memo.old.keys()) else None
    return S.Scope(view, options.get("state_dir") or DEFAULT_STATE_DIR, component, options.get("scope"), digest, size)


def sync_tftp(view, options, check_mode):
    state_dir = options.get("state_dir") or DEFAULT_STATE_DIR
    copies = _tftp_copies(view, options)
    with contextlib.nullcontext() if check_mode else N.state_lock(state_dir):
        # under the lock: a completion the callback records meanwhile must not be armed again
        armed = _armed_map(view, state_dir)
        memo = _memo(state_dir, "tftp")
        scope = _scope(view, options, "tftp", memo)
        scope.begin(check_mode)
        files = _tftp_rendered(view, armed, memo, scope.names)
        result = T.sync_tree(
            options["root"], files.files, check_mode=check_mode, known=files.known, fetch=files.fetch, gone=files.gone
        )
        result["written"] += ["copy:" + p for p in place_files(options["root"], copies, check_mode, "tftp.copies")]
        if not check_mode:  # the folders the URL downloads go into
            for item in artifacts(view):
                os.makedirs(os.path.dirname(os.path.join(options["root"], item["dest"])), mode=0o755, exist_ok=True)
            files.memo.save()
        scope.done(check_mode, len(files.memo.new))
    scope.report(result)
    result["armed"] = sum(1 for is_armed in armed.values() if is_armed)
    result["artifacts"] = artifacts(view)
    result["rendered"] = len(files.memo.rendered)
    return result


def web_files(view, secret, secrets, callback_base=None):
    """({relpath: text} of the web tree, every system rendered; the ACL map's owners; the index)."""
    rendered, index = _web_rendered(view, secret, secrets, callback_base, M.Memo())
    return rendered.files, _owners(index), index


def _owners(index):
    """The ACL map's owners ({system: the one address its install config is served to}), from the
    netboot index."""
    return {name: entry["ip"] for name, entry in index.items() if entry.get("ip")}


def _web_rendered(view, secret, secrets, callback_base, memo, changed=None):
    """The web tree's install configs (rendered or remembered) and the netboot index's entries,
    of every system or of those named in changed."""
    renderer = I.Renderer(view["templates"])
    templates = {name: M.key(text) for name, text in view["templates"].items()}
    context = M.key([hashlib.sha256(secret).hexdigest(), secrets, callback_base])

    def render(system):
        base = _install_base(view, system)
        token = N.make_token(secret, system["name"], system["build_generation"])
        callback_url = "%s%s%s" % (callback_base or base, I.CALLBACK_PATH, token)
        return renderer.render(system, base, callback_url, secrets)

    def inputs(system):
        return [system, _install_base(view, system), templates.get(system["template"]), context]

    systems = _systems(view, changed)
    rendered = _Rendered(memo, systems, render, inputs, changed)
    index = {}
    for system in systems:
        index[system["name"]] = {
            "generation": system["build_generation"],
            "macs": [mac for mac, _base in _served_macs(view, system)],
            "ip": _served_ip(view, system),
        }
    return rendered, index


def sync_web(view, options, check_mode):
    state_dir = options.get("state_dir") or DEFAULT_STATE_DIR
    if check_mode and not os.path.exists(os.path.join(state_dir, N.SECRET)):
        secret = b""  # a first run in check mode: the real secret does not exist yet
    else:
        secret = N.load_secret(state_dir)
    index_path = os.path.join(state_dir, N.INDEX)
    with contextlib.nullcontext() if check_mode else N.state_lock(state_dir):
        armed = _armed_map(view, state_dir)
        memo = _memo(state_dir, "web")
        old_index = N.read_json(index_path, {})
        scope = _scope(view, options, "web", memo, hashlib.sha256(secret).hexdigest(), index=old_index)
        scope.begin(check_mode)
        secrets, callback_base = options.get("secrets"), options.get("callback_base")
        files, index = _web_rendered(view, secret, secrets, callback_base, memo, scope.names)
        if scope.names is not None:  # the index of the last sync, the changed systems' entries replaced
            index = dict({k: v for k, v in old_index.items() if k not in scope.names}, **index)
        result = T.sync_tree(
            options["root"], files.files, check_mode=check_mode, known=files.known, fetch=files.fetch, gone=files.gone
        )
        conf = T.sync_tree(options["conf_dir"], {I.ACL_MAP: I.acl_map(_owners(index))}, check_mode=check_mode)
        index_changed = old_index != index
        if index_changed and not check_mode:
            N.write_json(index_path, index)
        if not check_mode:
            files.memo.save()
        scope.done(check_mode, len(files.memo.new))
    scope.report(result)
    result["written"] += ["conf:" + p for p in conf["written"]]
    result["removed"] += ["conf:" + p for p in conf["removed"]]
    callback = {
        name: (text.encode("utf-8"), 0o755 if name.endswith("callback.py") else 0o644)
        for name, text in (options.get("callback_files") or {}).items()
    }
    if callback:
        result["written"] += [
            "callback:" + p for p in place_files(options["callback_dir"], callback, check_mode, "web.callback_files")
        ]
    result["removed"] += ["callback:" + p for p in _remove_obsolete(options, check_mode)]
    result["conf_changed"] = bool(conf["written"] or conf["removed"])
    if index_changed:
        result["written"].append("state:" + N.INDEX)
    result["armed"] = sum(1 for is_armed in armed.values() if is_armed)
    result["rendered"] = len(files.memo.rendered)
    return result


SYNC = {"dhcp": sync_dhcp, "tftp": sync_tftp, "web": sync_web}


def sync(component, view, options, check_mode=False):
    """Render and write one component; returns a result dict with changed, written, removed."""
    result = SYNC[component](view, options, check_mode)
    result["changed"] = bool(result["written"] or result["removed"])
    if component == "dhcp":  # the IPv4 server's own change (its restart follows it), and both
        result["dhcp4_changed"] = result["changed"]
        result["changed"] = result["changed"] or bool(result["ipv6"]["written"] or result["ipv6"]["removed"])
    return result
