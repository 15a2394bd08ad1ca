#!/usr/bin/env python3
"""A DDI server on 127.0.0.1 that offers one deployment whose chunk name or version is hostile,
and a stand-in for systemd's notify socket. Usage: hostile_ddi.py WORKDIR MODE

- listens on 127.0.0.1:0 and writes "http://127.0.0.1:PORT" to WORKDIR/url;
- serves the controller base (a deploymentBase link) and the deploymentBase for MODE: "name"
  or "version" (see CHUNKS); feedback bodies go to WORKDIR/feedback.jsonl as latin-1 text;
- binds the datagram socket WORKDIR/notify.sock and writes each datagram it receives to
  WORKDIR/notify.jsonl, one JSON string (latin-1) per line.
"""
import http.server
import json
import os
import socket
import sys
import threading

work, mode = sys.argv[1], sys.argv[2]

# What a compromised server would try: a newline to add sd_notify assignments and journal
# lines, terminal escapes, invalid UTF-8 (an overlong "/", a lone surrogate).
INJECT = "\\nWATCHDOG=trigger\\nREADY=1\\nMAINPID=1"
CHUNKS = {
    "name": b'{"part":"os","name":"hello\xc0\xaf' + INJECT.encode() + b'","version":"1.0.0"}',
    "version": b'{"part":"os","name":"hello","version":"1.0.0\\u001b]0;owned\\u0007\\u001b[2J'
    + INJECT.encode() + b'\xed\xa0\x80"}',
}


def record(name, data):
    with open(os.path.join(work, name), "a", encoding="utf-8") as f:
        f.write(json.dumps(data.decode("latin-1")) + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/hal+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        base = "http://127.0.0.1:%d/DEFAULT/controller/v1/dev" % self.server.server_port
        if self.path == "/DEFAULT/controller/v1/dev":
            self.reply(json.dumps({
                "config": {"polling": {"sleep": "00:00:05"}},
                "_links": {"deploymentBase": {"href": base + "/deploymentBase/7?c=1"}},
            }).encode())
        elif self.path.startswith("/DEFAULT/controller/v1/dev/deploymentBase/7"):
            self.reply(b'{"id":"7","deployment":{"download":"forced","update":"forced",'
                       b'"chunks":[' + CHUNKS[mode] + b']}}')
        else:
            self.send_error(404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path.endswith("/feedback"):
            record("feedback.jsonl", body)
        self.reply(b"{}")


def notify_loop(sock):
    while True:
        record("notify.jsonl", sock.recv(65536))


notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(os.path.join(work, "notify.sock"))
threading.Thread(target=notify_loop, args=(notify,), daemon=True).start()
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(os.path.join(work, "url.tmp"), "w") as f:
    f.write("http://127.0.0.1:%d" % server.server_port)
os.rename(os.path.join(work, "url.tmp"), os.path.join(work, "url"))
server.serve_forever()
