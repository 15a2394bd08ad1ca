#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fault-injecting HTTP(S) test peer for tender's download tests (tests/unit/test_http_*.c,
tests/unit/test_registry.c). Listens on 127.0.0.1 only, on an ephemeral port written to
--port-file once it accepts connections. Every response closes its connection.

It serves the bytes of --blob (and --blob2, the "changed" content) under paths that each
misbehave one way, counts requests and body bytes sent per path (GET /_count/<path> answers
"<requests> <bytes>"), and emulates the token flow of an OCI registry (/v2/..., /token).

Paths (query strings are ignored unless noted):
  /blob            Range and If-Range (ETag "v1") honoured
  /nolength        the blob without Content-Length
  /truncate        announces the blob, sends half, closes
  /reset           sends half, then a TCP reset
  /stall           headers and 1000 bytes, then nothing (until the client leaves)
  /silent          accepts, never answers
  /trickle         headers, then one byte every 0.2 s
  /500             always 500
  /503-then-ok?n=N[&after=S]  503 (with Retry-After: S) for the first N requests, then /blob
  /404, /403       those statuses
  /redirect-http   302 to http://<self>/blob
  /redirect-loop   302 to itself
  /changing        first request: blob, ETag "v1", truncated at half; later: blob2, ETag "v2",
                   Range honoured only with a matching If-Range
  /changing-noetag the same without any validator: later requests splice blob2 into a range
  /half-stall      without Range: half the blob, then nothing until the client is killed;
                   with Range: the rest
  /v2/<repo>/blobs/<digest>   needs "Authorization: Bearer <token from /token>", else 401
                   with a Bearer challenge; serves the blob with Range support. With
                   --registry-redirect, answers 307 to http://localhost:<port>/storage/<digest>
                   once authorised (/_count/storage-with-auth counts requests that came
                   there with an Authorization header).
  /token?service=&scope=      issues a token when service is "peer.test" and scope is
                   "repository:<repo>:pull" (and, with --basic, the Basic credentials match)
  /json            a small JSON body (POST too: its body is read and dropped)
  /redirect?to=URL 302 to URL
The Authorization header of every request is recorded per path: GET /_auth/<path> answers the
values seen, one a line ("-" for a request without one).
"""
import argparse
import base64
import os
import socket
import ssl
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
BLOB = b""
BLOB2 = b""
COUNTS = {}
AUTH = {}
LOCK = threading.Lock()
TOKENS = set()
CHANGING_SEEN = {"/changing": 0, "/changing-noetag": 0}
MAX_WAIT_SEC = 60  # a stalling handler gives up after this, so the peer always ends


def count(path, nbytes=0, request=False):
    with LOCK:
        c = COUNTS.setdefault(path, [0, 0])
        if request:
            c[0] += 1
        c[1] += nbytes


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if ARGS.verbose:
            sys.stderr.write("peer: " + (fmt % args) + "\n")

    def head(self, status, headers=(), length=None):
        self.send_response(status)
        self.send_header("Connection", "close")
        for k, v in headers:
            self.send_header(k, v)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def body(self, data):
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            return False
        finally:
            count(self.key, len(data))
        return True

    def simple(self, status, text=b""):
        self.head(status, length=len(text))
        self.body(text)

    def serve_range(self, data, etag=None, honour_if_range=True):
        """200 or 206 of data, following Range (and If-Range when etag is given)."""
        rng = self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        start = 0
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
        if if_range is not None and honour_if_range and if_range != etag:
            start = 0  # changed content: the whole new representation
        extra = [("ETag", etag)] if etag else []
        if start >= len(data):
            self.head(416, [("Content-Range", "bytes */%d" % len(data))], 0)
            return
        if start > 0:
            extra.append(("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data))))
            self.head(206, extra, len(data) - start)
        else:
            self.head(200, extra, len(data))
        self.body(data[start:])

    def wait_for_client_to_leave(self):
        self.connection.settimeout(0.2)
        deadline = time.monotonic() + MAX_WAIT_SEC
        while time.monotonic() < deadline:
            try:
                if self.connection.recv(1) == b"":
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = urllib.parse.parse_qs(url.query)
        self.key = path
        if path.startswith("/_count/"):
            with LOCK:
                c = COUNTS.get(path[len("/_count"):], [0, 0])
            self.key = "/_count"
            self.simple(200, ("%d %d" % (c[0], c[1])).encode())
            return
        if path.startswith("/v2/"):
            self.key = "/v2"
        elif path.startswith("/storage/"):
            self.key = "/storage"
        if path.startswith("/_auth/"):
            with LOCK:
                seen = AUTH.get(path[len("/_auth"):], [])
            self.key = "/_auth"
            self.simple(200, "".join(v + "\n" for v in seen).encode())
            return
        with LOCK:
            AUTH.setdefault(path, []).append(self.headers.get("Authorization", "-"))
        count(self.key, request=True)
        half = len(BLOB) // 2

        if path == "/blob":
            self.serve_range(BLOB, '"v1"')
        elif path == "/nolength":
            self.head(200)
            self.body(BLOB)
        elif path == "/truncate":
            self.head(200, length=len(BLOB))
            self.body(BLOB[:half])
        elif path == "/reset":
            self.head(200, length=len(BLOB))
            self.body(BLOB[:half])
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
        elif path == "/stall":
            self.head(200, length=len(BLOB))
            self.body(BLOB[:1000])
            self.wait_for_client_to_leave()
        elif path == "/silent":
            self.wait_for_client_to_leave()
        elif path == "/trickle":
            self.head(200, length=len(BLOB))
            deadline = time.monotonic() + MAX_WAIT_SEC
            for i in range(len(BLOB)):
                if time.monotonic() > deadline or not self.body(BLOB[i:i + 1]):
                    break
                time.sleep(0.2)
        elif path == "/500":
            self.simple(500, b"storm")
        elif path == "/503-then-ok":
            n = int(query.get("n", ["1"])[0])
            with LOCK:
                seen = COUNTS[path][0]
            if seen <= n:
                after = query.get("after", [None])[0]
                if after:
                    self.head(503, [("Retry-After", after)], 4)
                    self.body(b"busy")
                else:
                    self.simple(503, b"busy")
            else:
                self.serve_range(BLOB, '"v1"')
        elif path == "/404":
            self.simple(404, b"not here")
        elif path == "/403":
            self.simple(403, b"no")
        elif path == "/redirect-http":
            self.head(302, [("Location", "http://127.0.0.1:%d/blob" % self.server.server_port)], 0)
        elif path == "/redirect-loop":
            self.head(302, [("Location", "/redirect-loop")], 0)
        elif path in ("/changing", "/changing-noetag"):
            self.changing(path, half)
        elif path == "/half-stall":
            if self.headers.get("Range"):
                self.serve_range(BLOB, '"v1"')
            else:
                self.head(200, [("ETag", '"v1"')], len(BLOB))
                self.body(BLOB[:half])
                self.wait_for_client_to_leave()
        elif path.startswith("/v2/"):
            self.registry_blob(path)
        elif path.startswith("/storage/"):
            if self.headers.get("Authorization"):
                count("/storage-with-auth", request=True)
            self.serve_range(BLOB, '"v1"')
        elif path == "/token":
            self.token(query)
        elif path == "/json":
            self.simple(200, b'{"ok": true}')
        elif path == "/redirect":
            self.head(302, [("Location", query.get("to", [""])[0])], 0)
        else:
            self.simple(404, b"unknown path")

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        self.key = path
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with LOCK:
            AUTH.setdefault(path, []).append(self.headers.get("Authorization", "-"))
        count(path, request=True)
        self.simple(200 if path == "/json" else 404, b"{}")

    def changing(self, path, half):
        with_etag = path == "/changing"
        with LOCK:
            CHANGING_SEEN[path] += 1
            first = CHANGING_SEEN[path] == 1
        if first:
            self.head(200, [("ETag", '"v1"')] if with_etag else [], len(BLOB))
            self.body(BLOB[:half])
            return
        if with_etag:
            self.serve_range(BLOB2, '"v2"')
        else:
            self.serve_range(BLOB2, None, honour_if_range=False)

    def registry_blob(self, path):
        parts = path.split("/blobs/")
        repo = parts[0][len("/v2/"):]
        auth = self.headers.get("Authorization", "")
        if not (auth.startswith("Bearer ") and auth[7:] in TOKENS):
            realm = "http://127.0.0.1:%d/token" % self.server.server_port
            challenge = 'Bearer realm="%s",service="peer.test",scope="repository:%s:pull"' % (
                realm, repo)
            self.head(401, [("WWW-Authenticate", challenge)], 0)
            return
        if ARGS.registry_redirect:
            # Another host name for the same peer: credentials must not follow there.
            loc = "http://localhost:%d/storage/%s" % (self.server.server_port, parts[1])
            self.head(307, [("Location", loc)], 0)
            return
        self.serve_range(BLOB, '"v1"')

    def token(self, query):
        service = query.get("service", [""])[0]
        scope = query.get("scope", [""])[0]
        if ARGS.basic:
            want = "Basic " + base64.b64encode(ARGS.basic.encode()).decode()
            if self.headers.get("Authorization") != want:
                self.simple(401, b"bad credentials")
                return
        if service != "peer.test" or not scope.startswith("repository:") or \
                not scope.endswith(":pull"):
            self.simple(400, b"bad token request")
            return
        with LOCK:
            tok = "tok-%d" % (len(TOKENS) + 1)
            TOKENS.add(tok)
        body = ('{"token": "%s", "expires_in": 300}' % tok).encode()
        self.head(200, [("Content-Type", "application/json")], len(body))
        self.body(body)


def main():
    global ARGS, BLOB, BLOB2
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--blob", required=True)
    p.add_argument("--blob2")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--client-ca", help="require a client certificate issued by this CA")
    p.add_argument("--basic", help="user:password the token endpoint requires")
    p.add_argument("--registry-redirect", action="store_true")
    p.add_argument("--verbose", action="store_true")
    ARGS = p.parse_args()
    with open(ARGS.blob, "rb") as f:
        BLOB = f.read()
    BLOB2 = BLOB
    if ARGS.blob2:
        with open(ARGS.blob2, "rb") as f:
            BLOB2 = f.read()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if ARGS.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.cert, ARGS.key)
        if ARGS.client_ca:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(ARGS.client_ca)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_port)
    os.rename(tmp, ARGS.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
