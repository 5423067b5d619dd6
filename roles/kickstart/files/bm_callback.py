#!/usr/bin/env python
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The netboot-once callback service of a baremetal.provision provisioner.

An installer's last step requests ``/bm/callback/<token>`` (through nginx, which adds the client
address as X-Real-IP). A valid token (HMAC of system and generation with this provisioner's
secret, for the generation currently requested, not yet completed, from the system's own IP)
records the completion and switches every MAC of the system to local boot at once. Anything
else is answered 403 or 400, logged, and changes nothing.

It also finishes a render of the TFTP tree that was killed half-way (see tree_sync.py): at
start, every --recover-interval seconds, and before every switch to local boot.

Standard library only; the collection's provisioner-side modules it imports are installed next to
this file as the package bm_provisioner (atomic, netboot, render_boot, tree_sync).

    bm_callback.py --state-dir DIR --tftp-root DIR [--listen 127.0.0.1] [--port 8087] [--recover-interval 2]
"""

import argparse
import ipaddress
import http.server
import json
import logging
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bm_provisioner import netboot as N
from bm_provisioner import render_boot as B
from bm_provisioner import tree_sync as T

MAX_PATH = 512
LOG = logging.getLogger("bm-callback")


def same_address(left, right):
    """Whether two address texts name the same address (an IPv6 one has many spellings)."""
    try:
        return ipaddress.ip_address(left) == ipaddress.ip_address(right)
    except ValueError:
        return left == right


class Callback(object):
    def __init__(self, state_dir, tftp_root, check_ip=True):
        self.state_dir = state_dir
        self.tftp_root = tftp_root
        self.check_ip = check_ip
        self.secret = N.load_secret(state_dir, create=False)
        self.mutex = threading.Lock()

    def recover(self):
        """Finish (or discard) a render of the TFTP tree that was killed half-way."""
        with self.mutex, N.state_lock(self.state_dir):
            return self._recover()

    def _recover(self):
        try:
            if T.recover(self.tftp_root):
                LOG.warning("finished an interrupted render of %s", self.tftp_root)
                return True
        except (OSError, T.SyncError) as exc:
            LOG.error("cannot finish an interrupted render of %s: %s", self.tftp_root, exc)
        return False

    def handle(self, token, client_ip):
        """(status, message); changes state only for a valid token."""
        with self.mutex, N.state_lock(self.state_dir):
            index = N.read_json(os.path.join(self.state_dir, N.INDEX), {})
            completed = N.read_completed(self.state_dir)
            ok, what, generation = N.check_token(self.secret, token, index, completed)
            if not ok:
                return 403, what
            system = what
            entry = index[system]
            if self.check_ip and entry.get("ip") and not same_address(client_ip, entry["ip"]):
                return 403, "%s must call back from its own IP %s, not %s" % (system, entry["ip"], client_ip)
            # a pending roll-forward must come first, or it would undo the switch below
            self._recover()
            completed[system] = generation
            N.write_json(os.path.join(self.state_dir, N.COMPLETED), completed)
            for mac in entry.get("macs") or []:
                for relpath, text in B.local_files(mac).items():
                    path = os.path.join(self.tftp_root, relpath)
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    N.write_atomic(path, text.encode("utf-8"))
            return 200, "%s generation %d completed; %d MAC(s) switched to local boot" % (
                system,
                generation,
                len(entry.get("macs") or []),
            )


def make_handler(callback):
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "bm-callback"
        sys_version = ""

        def _answer(self, status, message):
            body = (json.dumps({"status": status, "message": message}) + "\n").encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _serve(self):
            client = self.headers.get("X-Real-IP") or self.client_address[0]
            path = self.path.split("?", 1)[0]
            if len(path) > MAX_PATH or not path.startswith("/bm/callback/"):
                LOG.warning("refused %s %r from %s: not a callback path", self.command, path[:80], client)
                return self._answer(400, "not a callback path")
            token = path[len("/bm/callback/") :]
            try:
                status, message = callback.handle(token, client)
            except Exception as exc:  # never crash the service on one request
                LOG.exception("callback from %s failed", client)
                return self._answer(500, "internal error: %s" % type(exc).__name__)
            (LOG.info if status == 200 else LOG.warning)(
                "%s from %s: %s", "accepted" if status == 200 else "refused", client, message
            )
            return self._answer(status, message)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, fmt, *args):
            LOG.debug("%s " + fmt, self.client_address[0], *args)

    return Handler


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state-dir", default=N.DEFAULT_STATE_DIR)
    parser.add_argument("--tftp-root", required=True)
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8087)
    parser.add_argument("--no-ip-check", action="store_true", help="accept a valid token from any address")
    parser.add_argument(
        "--recover-interval",
        type=float,
        default=2.0,
        help="seconds between checks for a killed render of the TFTP tree (0: only at start and per callback)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bm-callback %(levelname)s %(message)s")
    callback = Callback(args.state_dir, args.tftp_root, check_ip=not args.no_ip_check)
    callback.recover()
    if args.recover_interval > 0:

        def recover_forever():
            while True:
                time.sleep(args.recover_interval)
                callback.recover()

        threading.Thread(target=recover_forever, name="recover", daemon=True).start()
    server = http.server.ThreadingHTTPServer((args.listen, args.port), make_handler(callback))
    server.request_queue_size = 64
    LOG.info("listening on %s:%d, state %s, tftp %s", args.listen, args.port, args.state_dir, args.tftp_root)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
