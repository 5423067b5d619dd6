#!/usr/bin/env python
# Copyright: baremetal.provision contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The discovery spool endpoint of a baremetal.provision provisioner.

An unknown machine in a segment with discovery on boots the collector, which POSTs one JSON
report (schema 1) to ``/bm/discover`` (through nginx, which adds the client address as
X-Real-IP) and powers off. A valid report is stored in the spool under its boot MAC (201 new,
200 updated); anything else is answered 400, 404, 405, 408, 411, 413, 429 or 507, logged on one
line, and changes nothing. The spool is the only thing this service ever writes: enlisting
what it holds into the records is a reviewable change made elsewhere.

Standard library only; the collection's provisioner-side modules it imports are installed next to
this file as the package bm_provisioner (atomic, discovery).

    bm_discover.py [--spool-dir DIR] [--listen 127.0.0.1] [--port 8088] [--max-body 65536]
                   [--max-entries 1024] [--min-interval 30] [--per-source 20] [--timeout 10]
"""

import argparse
import http.server
import ipaddress
import json
import logging
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bm_provisioner import discovery as D

PATH = "/bm/discover"
LOG = logging.getLogger("bm-discover")


class Discover(object):
    def __init__(self, spool, limits, max_body):
        self.spool = spool
        self.limits = limits
        self.max_body = max_body

    def handle(self, body, client):
        """(status, message, mac or None) of one report; the spool changes only on 200 or 201."""
        try:
            report = D.parse_report(body)
        except D.ReportError as exc:
            if exc.field == "report":
                return 400, "the report %s" % exc.message, None
            return 400, "report field %s" % exc, None
        mac = report["boot"]["mac"]
        status, message = D.write_report(self.spool, report, client, time.time(), self.limits)
        return status, message, mac


def make_handler(discover, timeout):
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "bm-discover"
        sys_version = ""

        def setup(self):
            # every read of the request (line, headers, body) times out: a slow client holds one
            # thread for at most this long
            self.timeout = timeout
            super().setup()

        def _answer(self, status, message, client="-", mac=None):
            accepted = status in (200, 201)
            (LOG.info if accepted else LOG.warning)(
                "%s %d client=%s mac=%s: %s",
                "accepted" if accepted else "refused",
                status,
                client,
                mac or "-",
                message,
            )
            body = (json.dumps({"status": status, "message": message}) + "\n").encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client went away: nothing to tell it
            self.close_connection = True

        def _client(self):
            """The client's address: nginx's X-Real-IP, else the socket's peer; None when the
            header is there but no address."""
            header = self.headers.get("X-Real-IP")
            if header is None:
                return self.client_address[0]
            try:
                return str(ipaddress.ip_address(header.strip()))
            except ValueError:
                return None

        def _path(self):
            return self.path.split("?", 1)[0]

        def _other(self):
            client = self._client() or D.show(self.headers.get("X-Real-IP"))
            if self._path() != PATH:
                return self._answer(404, "not found: %s %s" % (self.command, D.show(self.path)), client)
            return self._answer(405, "only POST to %s" % PATH, client)

        def do_POST(self):
            client = self._client()
            if client is None:
                return self._answer(400, "X-Real-IP is not an address: %s" % D.show(self.headers.get("X-Real-IP")))
            if self._path() != PATH:
                return self._answer(404, "not found: POST %s" % D.show(self.path), client)
            if self.headers.get("Transfer-Encoding") is not None:
                return self._answer(411, "a Content-Length is required (no Transfer-Encoding)", client)
            length = self.headers.get("Content-Length")
            if length is None:
                return self._answer(411, "a Content-Length is required", client)
            if not length.strip().isdigit() or not length.strip().isascii():
                return self._answer(400, "Content-Length is not a number: %s" % D.show(length), client)
            length = int(length)
            if length > discover.max_body:
                return self._answer(413, "the report is %d bytes, at most %d" % (length, discover.max_body), client)
            try:
                body = self.rfile.read(length)
            except (socket.timeout, OSError):
                return self._answer(408, "the body did not arrive within %d s" % timeout, client)
            if len(body) < length:
                return self._answer(400, "the body ended after %d of %d bytes" % (len(body), length), client)
            try:
                status, message, mac = discover.handle(body, client)
            except Exception as exc:  # never crash the service on one request
                LOG.exception("report from %s failed", client)
                status, message, mac = 500, "internal error: %s" % type(exc).__name__, None
            return self._answer(status, message, client, mac)

        do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _other

        def log_message(self, fmt, *args):
            LOG.debug("%s %s", self.client_address[0], D.show(fmt % args, 200))

        def log_error(self, fmt, *args):
            # the server's own refusals (a malformed request line, headers too long): escaped
            LOG.warning("refused client=%s: %s", self.client_address[0], D.show(fmt % args, 200))

    return Handler


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spool-dir", default=D.DEFAULT_SPOOL_DIR)
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--max-body", type=int, default=65536, help="largest report in bytes")
    parser.add_argument("--max-entries", type=int, default=1024, help="entries the spool holds at most")
    parser.add_argument("--min-interval", type=int, default=30, help="seconds between accepted reports of one MAC")
    parser.add_argument("--per-source", type=int, default=20, help="accepted reports per source address per minute")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a client may take to send its request")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s bm-discover %(levelname)s %(message)s")
    limits = D.Limits(max_entries=args.max_entries, min_interval=args.min_interval, per_source=args.per_source)
    discover = Discover(args.spool_dir, limits, args.max_body)
    server = Server((args.listen, args.port), make_handler(discover, args.timeout))
    LOG.info(
        "listening on %s:%d, spool %s (at most %d entries, %d bytes a report)",
        args.listen,
        args.port,
        args.spool_dir,
        args.max_entries,
        args.max_body,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
