# -*- coding: utf-8 -*-
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to baremetal.provision: not a public API, may change without notice.

Netboot once. A system carries a requested build generation (raised by the record modules on
``replace`` and ``reinstall``); each provisioner remembers, per system, the last generation
that completed. The installer is served only while requested > completed. The installer's
last step calls back with a token bound to (system, generation): an HMAC-SHA256 with the
provisioner's secret. The callback records completion and switches the system's MACs to local
boot at once.

Standard library only: the provisioner's callback service imports it (see the package).

State directory layout (``state_dir``, default /var/lib/baremetal-provision)::

    secret           the per-provisioner HMAC key (32 random bytes, hex), mode 0600
    index.json       {system: {"generation": n, "macs": [...], "ip": "..."}}  written by the sync
    completed.json   {system: generation}                                    written by the callback
    render-*.json    what each system's render gave, per component              (see render_memo)
    .lock            serialises the sync and the callback
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import os
import re

from .atomic import locked, write_atomic

SECRET = "secret"
INDEX = "index.json"
COMPLETED = "completed.json"
LOCK = ".lock"
DEFAULT_STATE_DIR = "/var/lib/baremetal-provision"

_TOKEN = re.compile(r"([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.([1-9][0-9]{0,9})\.([0-9a-f]{64})")


def _digest(secret, system, generation):
    message = ("baremetal.provision/v1:%s:%d" % (system, generation)).encode("ascii")
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def make_token(secret, system, generation):
    """The callback token of one install: ``<system>.<generation>.<hmac>``."""
    return "%s.%d.%s" % (system, generation, _digest(secret, system, generation))


def parse_token(token):
    """(system, generation, digest) of a well-formed token, else None."""
    match = _TOKEN.fullmatch(token or "")
    if not match:
        return None
    return match.group(1), int(match.group(2)), match.group(3)


def check_token(secret, token, index, completed):
    """Decide a callback: (True, system, generation) or (False, reason, None).

    A token is accepted only when it is well formed, its HMAC is right, the generation is the
    one currently requested for that system, and that generation has not completed yet.
    """
    parsed = parse_token(token)
    if parsed is None:
        return False, "malformed token", None
    system, generation, digest = parsed
    if not hmac.compare_digest(digest, _digest(secret, system, generation)):
        return (
            False,
            "bad signature for %s generation %d (forged, or signed by another provisioner)" % (system, generation),
            None,
        )
    entry = index.get(system)
    if entry is None:
        return False, "%s is not served by this provisioner" % system, None
    if generation != entry.get("generation"):
        return (
            False,
            "stale token: %s generation %d, requested is %s" % (system, generation, entry.get("generation")),
            None,
        )
    if completed.get(system, 0) >= generation:
        return False, "replayed token: %s generation %d already completed" % (system, generation), None
    return True, system, generation


def is_armed(requested, completed):
    """Whether a system's boot configs start its installer."""
    return requested > (completed or 0)


# ------------------------------------------------------------------ state files
def read_json(path, default):
    try:
        with open(path, "r", encoding="utf-8") as handle:
            value = json.load(handle)
    except (OSError, ValueError):
        return default
    return value if isinstance(value, type(default)) else default


def write_json(path, value, mode=0o644):
    write_atomic(path, (json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8"), mode)


def load_secret(state_dir, create=True):
    """The provisioner's HMAC key (bytes); created with mode 0600 on first use."""
    path = os.path.join(state_dir, SECRET)
    try:
        with open(path, "r", encoding="ascii") as handle:
            return binascii.unhexlify(handle.read().strip())
    except FileNotFoundError:
        if not create:
            raise
    os.makedirs(state_dir, mode=0o755, exist_ok=True)
    secret = os.urandom(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_secret(state_dir, create=False)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(binascii.hexlify(secret).decode("ascii") + "\n")
    return secret


def state_lock(state_dir, name=LOCK):
    """An exclusive lock over the state directory (sync and callback take turns), or over another
    part of it by its own lock file."""
    return locked(state_dir, name)


def read_completed(state_dir):
    completed = read_json(os.path.join(state_dir, COMPLETED), {})
    return {k: v for k, v in completed.items() if isinstance(k, str) and isinstance(v, int)}
