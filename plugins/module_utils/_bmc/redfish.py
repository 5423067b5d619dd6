# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

A small Redfish client: read a BMC's systems (ComputerSystem, EthernetInterfaces) into the
discovery report the in-band collector sends (schema 1), and the two actions the replace flow
needs (a one-time network boot, a reset).

Everything a BMC sends is hostile input: every string is stripped and refused when it holds a
control character or is longer than MAX_TEXT, every link must stay on the BMC (a path under
/redfish/), redirects are followed only to the same BMC, and bodies are read up to MAX_BODY. Each
problem is a RedfishError whose message names the BMC, the URL and, for a field, its JSON path.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import math
import socket
import ssl
import uuid
from urllib.error import HTTPError, URLError
from urllib.parse import quote, unquote, urlsplit

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
from ansible.module_utils.urls import open_url

# The limits of a schema-1 report are check_report's own: a report made here is one it takes.
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.discovery import (
    MAX_CPUS,
    MAX_MEMORY_MIB,
    MAX_NICS,
    MAX_SPEED_MBPS,
    MAX_TEXT,
    SCHEMA,
)
from ansible_collections.baremetal.provision.plugins.module_utils._provisioner.discovery import (
    MAX_NAME as MAX_NIC_NAME,
)
from ansible_collections.baremetal.provision.plugins.module_utils._records.fields import (
    _CONTROL,
    describe_char,
    normalize_mac,
)

COLLECTOR = "baremetal.provision-redfish/1"


def connection_argument_spec(**extra):
    """How a module reaches one BMC: its address, port, scheme, credentials and TLS check (the
    options redfish_power takes, and each entry of redfish_info's bmcs), plus the module's own."""
    spec = dict(
        address=dict(type="str", required=True),
        port=dict(type="int"),
        scheme=dict(type="str", choices=["https", "http"], default="https"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        validate_certs=dict(type="bool", default=True),
    )
    spec.update(extra)
    return spec


MAX_BODY = 4 * 1024 * 1024
MAX_MEMBERS = 1024
MAX_REDIRECTS = 3
SYSTEMS = "/redfish/v1/Systems"

# Redfish BootSourceOverrideMode -> the report's boot.mode.
_BOOT_MODES = {"UEFI": "uefi", "Legacy": "bios"}
# Redfish EthernetInterface LinkStatus -> the report's carrier.
_CARRIER = {"LinkUp": True, "LinkDown": False, "NoLink": False}


class RedfishError(Exception):
    """A BMC could not be read or did not do what was asked; the message says which and why.
    status is the HTTP status of a refused request, None for any other problem."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def _pointer(parts):
    """A JSON pointer (RFC 6901) of a field: ("Boot", "BootSourceOverrideMode") -> /Boot/Boot...."""
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class Document(object):
    """One JSON resource a BMC served, and where it came from (for messages)."""

    def __init__(self, bmc, url, data, etag=None):
        self.bmc = bmc
        self.url = url
        self.data = data
        self.etag = etag

    def where(self, parts):
        """ "BMC <address>: <URL>#<JSON pointer>" (the document alone when parts is empty)."""
        return "BMC %s: %s" % (self.bmc, self.url) + ("#" + _pointer(parts) if parts else "")

    def fail(self, parts, why):
        raise RedfishError("%s: %s" % (self.where(parts), why))

    def value(self, *parts):
        """The value at the path (dict keys, list indexes), or None where any step is missing."""
        node = self.data
        for part in parts:
            in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
            in_dict = isinstance(node, dict) and not isinstance(part, int) and part in node
            if not (in_list or in_dict):
                return None
            node = node[part]
        return node

    def text(self, *parts, required=False, limit=MAX_TEXT):
        """A string field: stripped; "" when absent; refused when not a string, when it holds a
        control character or when it is longer than limit."""
        value = self.value(*parts)
        if value is None:
            if required:
                self.fail(parts, "missing (the BMC did not send it)")
            return ""
        if not isinstance(value, str):
            self.fail(parts, "expected a string, got %s" % type(value).__name__)
        bad = _CONTROL.search(value)
        if bad:
            self.fail(parts, "refused: it contains the control character %s" % describe_char(bad.group()))
        value = value.strip()
        if len(value) > limit:
            self.fail(parts, "refused: %d characters, more than %d" % (len(value), limit))
        if required and not value:
            self.fail(parts, "empty")
        return value

    def number(self, *parts, high):
        """A finite number from 0 to high, or None when absent; refused otherwise."""
        value = self.value(*parts)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(parts, "expected a number, got %r" % (value,))
        if not 0 <= value <= high:
            self.fail(parts, "refused: %r is not from 0 to %d" % (value, high))
        return value

    def link(self, *parts, required=True):
        """The path of an {"@odata.id": ...} link; it must be a path on this BMC under /redfish/."""
        if self.value(*parts) is None:
            if required:
                self.fail(parts, "missing (the BMC did not send the link)")
            return None
        if not isinstance(self.value(*parts), dict):
            self.fail(parts, "expected a link object")
        path = self.text(*parts, "@odata.id", required=True)
        return _checked_path(path, lambda why: self.fail((*parts, "@odata.id"), why))

    def members(self):
        """The paths of a collection's Members."""
        members = self.value("Members")
        if not isinstance(members, list):
            self.fail(("Members",), "missing or not a list: this is not a Redfish collection")
        if len(members) > MAX_MEMBERS:
            self.fail(("Members",), "refused: %d members, more than %d" % (len(members), MAX_MEMBERS))
        return [self.link("Members", index) for index in range(len(members))]


def _checked_path(path, fail):
    """A link's path, refused unless it is an absolute path under /redfish/ (no scheme, no host,
    no query, no parent step): a BMC cannot send the client, and its credentials, elsewhere."""
    parts = urlsplit(path)
    if parts.scheme or parts.netloc or parts.query or parts.fragment or not parts.path.startswith("/redfish/"):
        fail("refused: %r is not a path under /redfish/ on this BMC" % (path,))
    if ".." in parts.path.split("/") or "\\" in path:
        fail("refused: %r steps out of /redfish/" % (path,))
    return parts.path.rstrip("/") or "/"


def _host(address):
    """The URL host of a BMC address (an IPv6 literal in brackets); refused when it is empty or
    holds characters a host name cannot have."""
    if not isinstance(address, str) or not address.strip():
        raise RedfishError("BMC address %r: empty or not a string" % (address,))
    text = address.strip()
    try:
        if ipaddress.ip_address(text).version == 6:
            return "[%s]" % text
    except ValueError:
        pass
    if _CONTROL.search(text) or any(c in text for c in " /?#@[]:\\"):
        raise RedfishError("BMC address %r: not a host name or IP address (give a port as port)" % (address,))
    return text


def bmc_ipv4(address):
    """The BMC address when it is an IPv4 literal (the report's bmc.ip), else ""."""
    try:
        return str(ipaddress.IPv4Address(address.strip()))
    except (ValueError, AttributeError):
        return ""


class RedfishClient(object):
    """Requests to one BMC with basic authentication, on ansible.module_utils.urls.open_url."""

    def __init__(
        self, address, port=None, scheme="https", username=None, password=None, validate_certs=True, timeout=30
    ):
        if scheme not in ("http", "https"):
            raise RedfishError("BMC %s: scheme %r is neither http nor https" % (address, scheme))
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536):
            raise RedfishError("BMC %s: port %r is not a TCP port (1-65535)" % (address, port))
        self.address = address
        self.origin = "%s://%s" % (scheme, _host(address)) + (":%d" % port if port else "")
        self.name = address + (":%d" % port if port else "")
        self.username = username or None
        self.password = password if password else None
        self.validate_certs = validate_certs
        self.timeout = timeout

    def url(self, path):
        return self.origin + quote(path, safe="/:@!$&'()*+,;=-._~%")

    def request(self, method, path, body=None, headers=None):
        """(status, headers, parsed JSON body or None) of one request; a same-BMC redirect of a GET
        is followed, any other 3xx, 4xx or 5xx answer is a RedfishError."""
        url = self.url(path)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        all_headers = {"Accept": "application/json", "OData-Version": "4.0"}
        if data is not None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        for _hop in range(MAX_REDIRECTS + 1):
            try:
                response = open_url(
                    url,
                    data=data,
                    headers=all_headers,
                    method=method,
                    timeout=self.timeout,
                    validate_certs=self.validate_certs,
                    url_username=self.username,
                    url_password=self.password,
                    force_basic_auth=self.username is not None,
                    follow_redirects="none",
                    use_netrc=False,
                )
                with response:  # a body cut off or too slow is a failure of the request too
                    status = response.status
                    raw = response.read(MAX_BODY + 1)
                    reply_headers = dict(response.headers.items())
            except HTTPError as exc:
                location = exc.headers.get("Location") if exc.headers else None
                if exc.code in (301, 302, 303, 307, 308) and location and method == "GET":
                    url = self._same_bmc(url, location)
                    continue
                raise RedfishError(self._http_message(method, url, exc), exc.code) from None
            except (
                URLError,
                UrlsConnectionError,
                http.client.HTTPException,
                ssl.SSLError,
                socket.timeout,
                OSError,
            ) as exc:
                raise RedfishError("BMC %s: %s %s: %s" % (self.name, method, url, _reason(exc))) from None
            return status, reply_headers, self._json(method, url, raw)
        raise RedfishError("BMC %s: %s %s: more than %d redirects" % (self.name, method, url, MAX_REDIRECTS))

    def _same_bmc(self, url, location):
        parts = urlsplit(location)
        if (parts.scheme or parts.netloc) and "%s://%s" % (parts.scheme, parts.netloc) != self.origin:
            raise RedfishError(
                "BMC %s: GET %s: refused a redirect to %r, which is not this BMC" % (self.name, url, location)
            )
        return self.url(_checked_path(parts.path, lambda why: self._refuse_redirect(url, why)))

    def _refuse_redirect(self, url, why):
        raise RedfishError("BMC %s: GET %s: redirect %s" % (self.name, url, why))

    def _json(self, method, url, raw):
        if len(raw) > MAX_BODY:
            raise RedfishError(
                "BMC %s: %s %s: refused an answer of more than %d bytes" % (self.name, method, url, MAX_BODY)
            )
        if not raw.strip():
            return None
        try:
            return json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise RedfishError(
                "BMC %s: %s %s: the answer is not JSON (is this a Redfish service?)" % (self.name, method, url)
            ) from None

    def _http_message(self, method, url, exc):
        why = "HTTP %d %s" % (exc.code, _clean(exc.reason))
        if exc.code == 401:
            why += ": the BMC refused the username and password"
        elif exc.code == 403:
            why += ": the account may not do this"
        elif exc.code == 404:
            why += ": no such resource (check system_id)"
        elif exc.code == 412:
            why += ": the resource changed since it was read (its ETag no longer matches)"
        elif exc.code == 428:
            why += ": the BMC wants If-Match with the resource's ETag, and gave none to send"
        try:
            detail = json.loads(exc.read(65536).decode("utf-8"))
            message = detail.get("error", {}).get("message") if isinstance(detail, dict) else None
        except (ValueError, UnicodeDecodeError, AttributeError, OSError, http.client.HTTPException):
            message = None
        if isinstance(message, str) and _clean(message):
            why += " (the BMC says: %s)" % _clean(message)
        return "BMC %s: %s %s: %s" % (self.name, method, url, why)

    def get(self, path):
        """The Document at a path; refused unless it is a JSON object."""
        _status, headers, data = self.request("GET", path)
        if not isinstance(data, dict):
            raise RedfishError("BMC %s: GET %s: the answer is not a JSON object" % (self.name, self.url(path)))
        etag = {k.lower(): v for k, v in headers.items()}.get("etag")
        return Document(self.name, self.url(path), data, etag)


def _no_constant(name):
    raise ValueError("%s is not JSON" % name)  # json.loads takes NaN and Infinity otherwise


def _clean(text, limit=200):
    """A BMC's own words for a message: control characters dropped, length capped."""
    text = _CONTROL.sub(" ", str(text or "")).strip()
    return text[:limit] + ("..." if len(text) > limit else "")


def _reason(exc):
    reason = getattr(exc, "reason", None) or exc
    if isinstance(reason, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(reason):
        return "TLS certificate not trusted (%s); set validate_certs false only for a lab BMC" % _clean(reason)
    if isinstance(reason, ssl.SSLError):
        return "TLS failed: %s (is the scheme right?)" % _clean(reason)
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "no answer (timed out)"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the BMC up, and the address and port right?)"
    return "cannot connect: %s" % _clean(reason)


# -- reading systems ----------------------------------------------------------------------------


def system_paths(client, system_id=None):
    """The paths of the systems to read: the one named, or every member of /redfish/v1/Systems."""
    if system_id:
        ident = system_id.strip()
        if not ident or _CONTROL.search(ident) or "/" in ident or ident in (".", ".."):
            raise RedfishError("BMC %s: system_id %r is not a Redfish resource id" % (client.name, system_id))
        return [SYSTEMS + "/" + ident]
    paths = client.get(SYSTEMS).members()
    if not paths:
        raise RedfishError("BMC %s: %s lists no systems" % (client.name, client.url(SYSTEMS)))
    return paths


def read_system(client, path):
    """(system Document, [EthernetInterface Documents]) of one system."""
    system = client.get(path)
    nics = []
    link = system.link("EthernetInterfaces", required=False)
    if link:
        nics = [client.get(member) for member in client.get(link).members()]
    return system, nics


def _nic(doc, warnings):
    """One NIC of the report, or None (with a warning) when it has no usable MAC. MACAddress is
    the one in use, PermanentMACAddress the burnt-in one; all zeros is how some BMCs say none."""
    name = doc.text("Id", required=True, limit=MAX_NIC_NAME)
    texts = {field: doc.text(field) for field in ("MACAddress", "PermanentMACAddress")}  # both checked
    carrier = _CARRIER.get(doc.text("LinkStatus"))
    speed = doc.number("SpeedMbps", high=MAX_SPEED_MBPS)
    for field, text in texts.items():
        if not text or text.replace("-", ":").lower() == "00:00:00:00:00:00":
            continue
        try:
            mac = normalize_mac(text)
        except ValueError as exc:
            doc.fail((field,), str(exc))
        return {"name": name, "mac": mac, "carrier": carrier, "speed_mbps": int(speed) if speed is not None else None}
    warnings.append("%s: neither MACAddress nor PermanentMACAddress; NIC %s left out" % (doc.where(()), name))
    return None


def system_nics(system, nic_docs):
    """(NICs sorted by Id, warnings) of one system; refused when two NICs share a MAC or when no
    NIC has one (nothing to enlist the system by)."""
    warnings = []
    nics = sorted((nic for nic in (_nic(doc, warnings) for doc in nic_docs) if nic), key=lambda nic: nic["name"])
    seen = {}
    for nic in nics:
        if nic["mac"] in seen:
            raise RedfishError(
                "%s: NICs %s and %s have the same MAC %s"
                % (system.where(()), seen[nic["mac"]], nic["name"], nic["mac"])
            )
        seen[nic["mac"]] = nic["name"]
    if not nics:
        raise RedfishError("%s: the system has no NIC with a MAC address, so it cannot be enlisted" % system.where(()))
    if len(nics) > MAX_NICS:
        raise RedfishError("%s: refused: %d NICs, more than %d" % (system.where(()), len(nics), MAX_NICS))
    return nics, warnings


def _pxe_mac(value):
    try:
        return normalize_mac(value)
    except ValueError as exc:
        raise RedfishError("pxe_mac: %s" % exc) from None


def system_report(address, system, nics, warnings, boot_mac=None):
    """The discovery report (schema 1) of one system. Without boot_mac, the first NIC by Id is
    taken for the network-boot NIC, and a warning says that this is a guess."""
    warnings = list(warnings)
    if boot_mac is None:
        boot_mac = nics[0]["mac"]
        warnings.append(
            "%s: Redfish does not say which NIC boots from the network; boot.mac %s (NIC %s, the first by Id) "
            "is a guess: give pxe_mac to name it" % (system.where(()), boot_mac, nics[0]["name"])
        )
    system_uuid = system.text("UUID")
    if system_uuid:
        try:
            system_uuid = str(uuid.UUID(system_uuid))
        except ValueError:
            system.fail(("UUID",), "%r is not a UUID" % system_uuid)
    for field in ("Manufacturer", "Model", "SerialNumber", "UUID"):
        if not system.text(field):
            warnings.append("%s: the BMC does not give %s" % (system.where(()), field))
    cpus = system.number("ProcessorSummary", "Count", high=MAX_CPUS)
    gib = system.number("MemorySummary", "TotalSystemMemoryGiB", high=MAX_MEMORY_MIB // 1024)
    report = {
        "schema": SCHEMA,
        "collector": COLLECTOR,
        "boot": {
            "mac": boot_mac,
            "source": "redfish",
            "mode": _BOOT_MODES.get(system.text("Boot", "BootSourceOverrideMode"), "unknown"),
        },
        "system": {
            "vendor": system.text("Manufacturer"),
            "product": system.text("Model"),
            "serial": system.text("SerialNumber"),
            "uuid": system_uuid.lower(),
        },
        "cpus": int(cpus) if cpus is not None else 0,
        "memory_mib": round(gib * 1024) if gib is not None else 0,
        "nics": nics,
        "disks": [],
        # schema 1 has an IPv4 address or no bmc at all: none for a BMC known by name or IPv6
        "bmc": {"ip": bmc_ipv4(address), "mac": ""} if bmc_ipv4(address) else None,
    }
    return report, warnings


def convert(address, system, nic_docs, pxe_mac=None):
    """(report, warnings) of one system from its Documents; pxe_mac, when given, must be one of
    its NICs."""
    nics, warnings = system_nics(system, nic_docs)
    boot_mac = _pxe_mac(pxe_mac) if pxe_mac else None
    if boot_mac and boot_mac not in {nic["mac"] for nic in nics}:
        raise RedfishError(
            "%s: pxe_mac %s is none of the system's NICs (%s)"
            % (system.where(()), boot_mac, ", ".join(nic["mac"] for nic in nics))
        )
    return system_report(address, system, nics, warnings, boot_mac)


def read_bmc(client, system_id=None, pxe_mac=None):
    """[{system_id, report, warnings}] of each system of one BMC (or of the one named). pxe_mac
    names the network-boot NIC of the system that has it; it must belong to one of them."""
    try:
        wanted = _pxe_mac(pxe_mac) if pxe_mac else None
    except RedfishError as exc:
        raise RedfishError("BMC %s: %s" % (client.name, exc)) from None
    read = []
    for path in system_paths(client, system_id):
        system, nic_docs = read_system(client, path)
        read.append((system, system_nics(system, nic_docs)))
    if wanted and not any(wanted == nic["mac"] for _s, (nics, _w) in read for nic in nics):
        raise RedfishError("BMC %s: pxe_mac %s is none of the NICs of its systems" % (client.name, wanted))
    results = []
    for system, (nics, warnings) in read:
        boot_mac = wanted if wanted in {nic["mac"] for nic in nics} else None
        report, warnings = system_report(client.address, system, nics, warnings, boot_mac)
        results.append({"system_id": system.text("Id", required=True), "report": report, "warnings": warnings})
    return results


# -- power and boot -----------------------------------------------------------------------------

RESET_ACTION = "#ComputerSystem.Reset"
# boot_once -> the Boot object PATCHed onto the system (None: the boot order is left alone).
BOOT_ONCE = {
    "pxe": {"BootSourceOverrideTarget": "Pxe", "BootSourceOverrideEnabled": "Once"},
    "none": None,
}
POWER = ("cycle", "on", "off")


def _last_step(path):
    """The Id a member path ends with: /redfish/v1/Systems/System.Embedded.1 -> System.Embedded.1."""
    return unquote(path.rsplit("/", 1)[-1])


def find_system(client, system_id=None):
    """(system_id, system Document) of the system to act on, found in /redfish/v1/Systems: the
    only member when system_id is not given, else the member whose path ends with system_id. Its
    path is the member's @odata.id as the collection lists it (a link on this BMC), never a guess."""
    wanted = None
    if system_id is not None and str(system_id).strip():
        wanted = str(system_id).strip()
        if _CONTROL.search(wanted) or "/" in wanted or wanted in (".", ".."):
            raise RedfishError("BMC %s: system_id %r is not a Redfish resource id" % (client.name, system_id))
    collection = client.get(SYSTEMS)
    paths = collection.members()
    ids = [_last_step(path) for path in paths]
    if not paths:
        raise RedfishError("BMC %s: %s lists no systems" % (client.name, client.url(SYSTEMS)))
    listed = ", ".join(ids)
    if wanted is None:
        if len(paths) > 1:
            raise RedfishError(
                "BMC %s: %s lists %d systems (%s): give system_id to say which one"
                % (client.name, client.url(SYSTEMS), len(paths), listed)
            )
        index = 0
    else:
        matches = [index for index, ident in enumerate(ids) if ident == wanted]
        if not matches:
            raise RedfishError(
                "BMC %s: system_id %r is not a member of %s, which lists: %s (give the Id as the BMC lists it)"
                % (client.name, wanted, client.url(SYSTEMS), listed)
            )
        if len(matches) > 1:
            raise RedfishError(
                "BMC %s: %s lists system_id %r %d times" % (client.name, client.url(SYSTEMS), wanted, len(matches))
            )
        index = matches[0]
    return ids[index], client.get(paths[index])


def _self_path(system, fallback):
    """The system's own @odata.id (a path on this BMC), or the path it was read from."""
    own = system.text("@odata.id")
    if not own:
        return fallback
    return _checked_path(own, lambda why: system.fail(("@odata.id",), why))


def etag(document):
    """The ETag of a resource: the ETag header, else the body's @odata.etag; None when neither."""
    return document.etag or document.text("@odata.etag") or None


def allowable(document, *parts):
    """The strings of an @Redfish.AllowableValues list at parts, or None when it is absent."""
    values = document.value(*parts)
    if values is None:
        return None
    if not isinstance(values, list) or len(values) > MAX_MEMBERS:
        document.fail(parts, "expected a list of values")
    return [document.text(*parts, index, required=True) for index in range(len(values))]


# What each power choice sends, by PowerState ("" when not given): the ResetTypes that do it, the
# first one the system allows; none when the system already is so. A cycle is forced: the spare
# being started runs no OS that would answer a graceful restart.
_RESETS = {
    "cycle": lambda state: ["On", "ForceOn"] if state == "Off" else ["ForceRestart", "PowerCycle"],
    "on": lambda state: [] if state in ("On", "PoweringOn") else ["On", "ForceOn"],
    "off": lambda state: [] if state in ("Off", "PoweringOff") else ["ForceOff"],
}


def reset_type_for(power, state, allowed=None):
    """The ResetType that does what power asks with a system in PowerState state, or None when it
    already is so: cycle restarts a system that is on (ForceRestart, else PowerCycle) and powers on
    one that is off (On: some BMCs refuse ForceRestart then); on and off act only when needed.
    allowed, the ResetTypes the system advertises (None when it does not say), must take it."""
    if power not in _RESETS:
        raise RedfishError("power %r is none of %s" % (power, ", ".join(POWER)))
    candidates = _RESETS[power](state or "")
    if not candidates:
        return None
    if allowed is None:
        return candidates[0]
    for kind in candidates:
        if kind in allowed:
            return kind
    raise RedfishError(
        "the system takes none of %s (power %s, PowerState %s); it allows: %s"
        % (", ".join(candidates), power, state or "not given", ", ".join(allowed) or "none")
    )


def _reset_allowed(client, system):
    """The ResetTypes the system's Reset action takes, from the action or from the ActionInfo it
    links to; None when it advertises neither."""
    parts = ("Actions", RESET_ACTION)
    values = allowable(system, *parts, "ResetType@Redfish.AllowableValues")
    if values is not None:
        return values
    info_path = system.text(*parts, "@Redfish.ActionInfo")
    if not info_path:
        return None
    info_path = _checked_path(info_path, lambda why: system.fail((*parts, "@Redfish.ActionInfo"), why))
    info = client.get(info_path)
    parameters = info.value("Parameters")
    if not isinstance(parameters, list):
        return None
    for index, parameter in enumerate(parameters[:MAX_MEMBERS]):
        if isinstance(parameter, dict) and parameter.get("Name") == "ResetType":
            return allowable(info, "Parameters", index, "AllowableValues")
    return None


def reset_target(system):
    """The path of the system's Reset action, as the system advertises it."""
    parts = ("Actions", RESET_ACTION, "target")
    if not isinstance(system.value("Actions", RESET_ACTION), dict):
        system.fail(parts[:2], "the system advertises no %s action: it cannot be reset over Redfish" % RESET_ACTION)
    return _checked_path(system.text(*parts, required=True), lambda why: system.fail(parts, why))


def plan_power(client, system_id=None, boot_once="pxe", power="cycle"):
    """What power_control would do, read from the BMC and checked, without acting: a dict with
    system_id, path, etag, power_state_before, boot (the Boot object to PATCH, or None),
    reset_type and reset_target (None when no reset is needed)."""
    if boot_once not in BOOT_ONCE:
        raise RedfishError("boot_once %r is none of %s" % (boot_once, ", ".join(BOOT_ONCE)))
    ident, system = find_system(client, system_id)
    path = _self_path(system, SYSTEMS + "/" + quote(ident, safe=""))
    boot = BOOT_ONCE[boot_once]
    if boot:
        targets = allowable(system, "Boot", "BootSourceOverrideTarget@Redfish.AllowableValues")
        if targets is not None and boot["BootSourceOverrideTarget"] not in targets:
            system.fail(
                ("Boot", "BootSourceOverrideTarget@Redfish.AllowableValues"),
                "the system cannot boot from %s once; it allows: %s"
                % (boot["BootSourceOverrideTarget"], ", ".join(targets) or "none"),
            )
    state = system.text("PowerState") or None
    kind = reset_type_for(power, state)
    target = None
    if kind:
        target = reset_target(system)
        try:
            kind = reset_type_for(power, state, _reset_allowed(client, system))
        except RedfishError as exc:
            system.fail(("Actions", RESET_ACTION), str(exc))
    return {
        "system_id": ident,
        "path": path,
        "etag": etag(system),
        "power_state_before": state,
        "boot": dict(boot) if boot else None,
        "reset_type": kind,
        "reset_target": target,
    }


def _accepted(client, method, path, status):
    if status not in (200, 202, 204):
        raise RedfishError("BMC %s: %s %s: unexpected HTTP %d" % (client.name, method, client.url(path), status))


def set_boot(client, path, boot, tag):
    """PATCH Boot onto the system at path, with If-Match tag when there is one. A 412 (the system
    changed since it was read) is tried once more with the ETag read again."""
    for attempt in (1, 2):
        headers = {"If-Match": tag} if tag else None
        try:
            status, _headers, _data = client.request("PATCH", path, {"Boot": boot}, headers)
        except RedfishError as exc:
            if exc.status != 412 or attempt == 2:
                raise
            tag = etag(client.get(path))
            continue
        _accepted(client, "PATCH", path, status)
        return


def power_control(client, plan):
    """Do what plan_power planned, the boot override first, then the reset; yields the name of
    each step when it is done (so that a caller knows what was done when a later step fails)."""
    if plan["boot"]:
        set_boot(client, plan["path"], plan["boot"], plan["etag"])
        yield "boot"
    if plan["reset_type"]:
        status, _headers, _data = client.request("POST", plan["reset_target"], {"ResetType": plan["reset_type"]})
        _accepted(client, "POST", plan["reset_target"], status)
        yield "reset"
