#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The hostile update server of tests/e2e/hostile-server.sh, on 127.0.0.1 only.

Three listeners, each on an ephemeral port (written to --ports-file as "A B C" once they accept):
  A  https, the device's server.url: passes the DDI and repository requests through to
     server-mock (--mock), presenting it as an https hawkBit (its URLs and download-http links
     become https links to A), unless a case is active;
  B  plain http: the cleartext origin no credential may ever reach; also the control endpoint;
  C  https on another port: another origin, which gets no token either.
Every request is recorded with the listener and its Authorization header.

Control (on B): POST /_peer/case?name=N makes case N active (GET /_peer/cases lists them, one
"name<TAB>expected log text" a line); GET /_peer/verdict says whether the device is done with
the active case (it polled again after the hostile reply, and sent the feedback the case
expects) and lists what went wrong ("problems"); GET /_peer/trickling says how many trickled
replies are being sent now; GET /_peer/seen?prefix=P counts the case's requests to paths
starting with P.

A case is a hostile poll reply, or a poll reply linking to a hostile deploymentBase (hawkBit's
documented shape with one field wrong), artifact links to other schemes and origins, redirects,
trickle and stall. The first poll of a case gets the hostile reply, later ones an empty one.
"""
import argparse
import copy
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
PORTS = {}
LOCK = threading.Lock()
STATE = {"case": None, "gen": 0, "polls": 0, "records": [], "feedback": [], "trickling": 0}
CONTROLLER = "/DEFAULT/controller/v1/device-1"
MAX_TRICKLE_SEC = 3700
EMPTY_POLL = {"config": {"polling": {"sleep": "00:00:01"}}, "_links": {}}


def url(name, path):
    return "%s://127.0.0.1:%d%s" % ("http" if name == "B" else "https", PORTS[name], path)


# hawkBit's documented deploymentBase (DDI API), as the peer serves it with id `aid`.
def documented(aid):
    return {
        "id": str(aid),
        "deployment": {
            "download": "forced",
            "update": "forced",
            "maintenanceWindow": "available",
            "chunks": [{
                "part": "bApp",
                "version": "2.0.0",
                "name": "hello",
                "metadata": [{"key": "aMetadataKey", "value": "Metadata value as defined in software module"}],
                "artifacts": [{
                    "filename": "binary.tgz",
                    "hashes": {"sha1": "2d86c2a659e364e9abba49ea6ffcd53dd5559f05",
                               "md5": "0d1b08c34858921bc7c662b228acb7ba",
                               "sha256": "a03b221c6c6eae7122ca51695d456d5222e524889136394944b2f9763b483615"},
                    "size": 11,
                    "_links": {"download": {"href": url("A", "/art404/binary.tgz")},
                               "md5sum": {"href": url("A", "/art404/binary.tgz.MD5SUM")}},
                }],
            }],
        },
        "actionHistory": {"status": "RUNNING", "messages": ["Reboot", "Write firmware"]},
    }


def setp(doc, path, value):
    """Sets (or with value DELETE removes) doc[path...]."""
    for k in path[:-1]:
        doc = doc[k]
    if value is DELETE:
        del doc[path[-1]]
    else:
        doc[path[-1]] = value


DELETE = object()
CHUNK = ["deployment", "chunks", 0]
ART = CHUNK + ["artifacts", 0]

# (name, path to change, value, JSON path the feedback must name)
FIELD_CASES = [
    ("dep-no-deployment", ["deployment"], DELETE, "deployment"),
    ("dep-download-unknown", ["deployment", "download"], "now", "deployment.download"),
    ("dep-download-number", ["deployment", "download"], 5, "deployment.download"),
    ("dep-update-unknown", ["deployment", "update"], "later", "deployment.update"),
    ("dep-update-object", ["deployment", "update"], {}, "deployment.update"),
    ("dep-window-unknown", ["deployment", "maintenanceWindow"], "soon", "deployment.maintenanceWindow"),
    ("dep-chunks-object", ["deployment", "chunks"], {}, "deployment.chunks"),
    ("dep-chunks-empty", ["deployment", "chunks"], [], "deployment.chunks"),
    ("dep-chunks-missing", ["deployment", "chunks"], DELETE, "deployment.chunks"),
    ("dep-chunk-number", CHUNK, 5, "deployment.chunks[0]"),
    ("dep-chunk-part-number", CHUNK + ["part"], 7, "deployment.chunks[0].part"),
    ("dep-chunk-name-missing", CHUNK + ["name"], DELETE, "deployment.chunks[0].name"),
    ("dep-chunk-name-number", CHUNK + ["name"], 5, "deployment.chunks[0].name"),
    ("dep-chunk-version-missing", CHUNK + ["version"], DELETE, "deployment.chunks[0].version"),
    ("dep-chunk-version-array", CHUNK + ["version"], [], "deployment.chunks[0].version"),
    ("dep-chunk-encrypted-string", CHUNK + ["encrypted"], "yes", "deployment.chunks[0].encrypted"),
    ("dep-chunk-artifacts-string", CHUNK + ["artifacts"], "x", "deployment.chunks[0].artifacts"),
    ("dep-chunk-metadata-number", CHUNK + ["metadata"], [5], "deployment.chunks[0].metadata[0]"),
    ("dep-chunk-metadata-key", CHUNK + ["metadata", 0, "key"], 1, "deployment.chunks[0].metadata[0].key"),
    ("dep-chunk-metadata-many", CHUNK + ["metadata"], [{"key": "k%d" % i, "value": "v"} for i in range(65)],
     "deployment.chunks[0].metadata"),
    ("dep-artifact-number", ART, 3, "deployment.chunks[0].artifacts[0]"),
    ("dep-artifact-filename-empty", ART + ["filename"], "", "deployment.chunks[0].artifacts[0].filename"),
    ("dep-artifact-filename-missing", ART + ["filename"], DELETE, "deployment.chunks[0].artifacts[0].filename"),
    ("dep-artifact-filename-long", ART + ["filename"], "f" * 300, "deployment.chunks[0].artifacts[0].filename"),
    ("dep-artifact-size-negative", ART + ["size"], -1, "deployment.chunks[0].artifacts[0].size"),
    ("dep-artifact-size-string", ART + ["size"], "big", "deployment.chunks[0].artifacts[0].size"),
    ("dep-artifact-sha256-short", ART + ["hashes", "sha256"], "xyz", "deployment.chunks[0].artifacts[0].hashes.sha256"),
    ("dep-artifact-href-ftp", ART + ["_links", "download", "href"], "ftp://127.0.0.1/x",
     "deployment.chunks[0].artifacts[0]._links.download.href"),
    ("dep-artifact-href-number", ART + ["_links", "download", "href"], 5,
     "deployment.chunks[0].artifacts[0]._links.download"),
]

# Strings with control characters and invalid UTF-8, in every string a deploymentBase carries.
# What is checked does not depend on escaping: tenderd stays, the app too, the action is closed.
NASTY = ["he\nllo\r\x1b[2J", "\x07\x7f\x1b]0;owned\x07", b"\xff\xfe\xc3(".decode("latin-1")]


def nasty_cases():
    cases = []
    paths = [CHUNK + ["name"], CHUNK + ["version"], CHUNK + ["part"], ART + ["filename"],
             CHUNK + ["metadata", 0, "value"], ["actionHistory", "messages", 0]]
    for i, p in enumerate(paths):
        cases.append(("dep-nasty-%s-%d" % (p[-1], i), p, NASTY[i % len(NASTY)], None))
    return cases


def raw_body(s):
    return s.encode("latin-1") if isinstance(s, str) else s


class Case:
    def __init__(self, name, log, poll=None, dep=None, feedback=None, detail=None, forbid=(),
                 must_auth=None, trickle=None, stall=False, aid=None):
        self.name, self.log, self.poll, self.dep = name, log, poll, dep
        self.feedback, self.detail, self.forbid, self.must_auth = feedback, detail, forbid, must_auth
        self.trickle, self.stall, self.aid = trickle, stall, aid


CASES = {}
NEXT_ID = [9000]


def add(case):
    CASES[case.name] = case


def dep_link(aid, name="A"):
    return {"config": {"polling": {"sleep": "00:00:01"}},
            "_links": {"deploymentBase": {"href": url(name, "/DEFAULT/controller/v1/device-1/deploymentBase/%d?c=1" % aid)}}}


def dep_case(name, mutate, feedback="failure", detail=None, log=None, body=None):
    aid = NEXT_ID[0]
    NEXT_ID[0] += 1

    def make():
        if body is not None:
            return body(aid)
        doc = documented(aid)
        mutate(doc)
        return json.dumps(doc, ensure_ascii=False).encode("latin-1", "surrogatepass")
    add(Case(name, log or detail or "deploymentBase", poll=lambda: dep_link(aid), dep=make,
             feedback=feedback, detail=detail, aid=aid))


def build_cases(v2):
    for name, path, value, detail in FIELD_CASES + nasty_cases():
        # Whatever the device makes of a nasty string, it logs something about the action.
        dep_case(name, lambda d, p=path, v=value: setp(d, p, v), detail=detail,
                 log=detail or str(NEXT_ID[0]))
    # A NUL cannot be in a C string: the document is refused whole, its id unknown.
    dep_case("dep-nul-in-version", lambda d: setp(d, CHUNK + ["version"], "1\x00"), feedback=None,
             log="in a string")
    dep_case("dep-id-missing", lambda d: d.pop("id"), feedback=None, log="deploymentBase: id")
    dep_case("dep-id-object", lambda d: d.update(id={}), feedback=None, log="deploymentBase: id")
    dep_case("dep-id-control", lambda d: d.update(id="8\n9"), feedback=None, log="deploymentBase: id: missing, or not")
    dep_case("dep-not-json", None, feedback=None, log="deploymentBase",
             body=lambda aid: b"<html>502 Bad Gateway</html>")
    dep_case("dep-array", None, feedback=None, log="not a JSON object", body=lambda aid: b"[1,2]")
    dep_case("dep-deeply-nested", None, feedback=None, log="deploymentBase",
             body=lambda aid: ('{"id":"%d","deployment":' % aid + "[" * 5000 + "]" * 5000 + "}").encode())
    dep_case("dep-oversized", None, feedback=None, log="exceeds the limit",
             body=lambda aid: ('{"id":"%d","pad":"' % aid + "x" * (2 * 1024 * 1024) + '"}').encode())
    dep_case("dep-nested-ok-depth", None, detail="deployment.chunks[0]", log="deployment.chunks[0]",
             body=lambda aid: json.dumps({"id": str(aid), "deployment": {"chunks": [[[[[[[1]]]]]]]}}).encode())

    # Poll replies.
    def poll_case(name, poll, log, **kw):
        add(Case(name, log, poll=poll, **kw))
    poll_case("poll-not-json", lambda: b"\x00\xff<html>", "controller")
    poll_case("poll-array", lambda: b"[]", "not a JSON object")
    poll_case("poll-sleep-bad", lambda: {"config": {"polling": {"sleep": "99:99:99"}}}, "config.polling.sleep")
    poll_case("poll-sleep-control", lambda: {"config": {"polling": {"sleep": "00:00:01\nWATCHDOG=1"}}},
              "config.polling.sleep")
    poll_case("poll-links-number", lambda: {"_links": 5}, "_links")
    poll_case("poll-href-number", lambda: {"_links": {"deploymentBase": {"href": 5}}}, "_links.deploymentBase")
    poll_case("poll-href-javascript", lambda: {"_links": {"deploymentBase": {"href": "javascript:alert(1)"}}},
              "_links.deploymentBase.href")
    poll_case("poll-href-invalid-utf8", lambda: ('{"_links":{"deploymentBase":{"href":"https://127.0.0.1:%d/\xff\xfe"}}}'
                                                 % PORTS["A"]).encode("latin-1"), "Failed to fetch deployment")
    poll_case("poll-deeply-nested", lambda: b'{"config":' + b"[" * 5000 + b"]" * 5000 + b"}", "controller")
    poll_case("poll-oversized", lambda: b'{"pad":"' + b"y" * (3 * 1024 * 1024) + b'"}', "exceeds the limit")
    poll_case("poll-500", lambda: 500, "HTTP 500")
    poll_case("poll-stall", lambda: EMPTY_POLL, "timed out", stall=True)
    poll_case("poll-trickle", lambda: EMPTY_POLL, "timed out", trickle=True)
    # Links to other schemes and origins: nothing goes to http, no token to C.
    poll_case("poll-dep-link-http", lambda: dep_link(9500, "B"), "never goes down to http", forbid=("B",))
    poll_case("poll-config-link-http", lambda: {"_links": {"configData": {"href": url("B", "/configData")}}},
              "never goes down to http", forbid=("B",))
    poll_case("poll-cancel-link-http", lambda: {"_links": {"cancelAction": {"href": url("B", "/cancelAction/3")}}},
              "never goes down to http", forbid=("B",))
    poll_case("poll-redirect-to-http", lambda: ("redirect", url("B", CONTROLLER)), "redirect refused", forbid=("B",))
    poll_case("poll-redirect-to-other-origin", lambda: ("redirect", url("C", "/json")), "controller")
    dep_case("dep-trickle", None, feedback=None, log="timed out", body=lambda aid: ("trickle", documented(aid)))
    # On another origin: fetched and answered without the token.
    add(Case("dep-on-other-origin", "deployment.download", poll=lambda: dep_link(9600, "C"),
             feedback="failure", detail="deployment.download", aid=9600))

    # Artifact links of the real hello 2.0.0 (verified through TUF), each one hostile.
    def art_case(name, links, log, feedback="failure", **kw):
        aid = NEXT_ID[0]
        NEXT_ID[0] += 1

        def make():
            d = copy.deepcopy(v2())
            d["id"] = str(aid)
            for a in d["deployment"]["chunks"][0]["artifacts"]:
                a["_links"] = links(a["_path"])
                a.pop("_path")
            return json.dumps(d).encode()
        add(Case(name, log, poll=lambda: dep_link(aid), dep=make, feedback=feedback, aid=aid, **kw))
    art_case("art-download-http-only", lambda p: {"download-http": {"href": url("B", "/art/" + p)}},
             "no https link", detail="no https link", forbid=("B",))
    art_case("art-download-is-http", lambda p: {"download": {"href": url("B", "/art/" + p)}},
             "no https link", detail="no https link", forbid=("B",))
    art_case("art-mixed-http-https", lambda p: {"download": {"href": url("A", "/art404/" + p)},
                                                "download-http": {"href": url("B", "/art/" + p)}},
             "HTTP 404", detail="HTTP 404", forbid=("B",), must_auth="/art404/")
    art_case("art-other-origin", lambda p: {"download": {"href": url("C", "/art404/" + p)}},
             "HTTP 404", detail="HTTP 404")
    art_case("art-redirect-to-http", lambda p: {"download": {"href": url("A", "/redirect?to=" + urllib.parse.quote(url("B", "/art/" + p)))}},
             "redirect refused", detail="redirect refused", forbid=("B",))
    art_case("art-redirect-to-other-origin", lambda p: {"download": {"href": url("A", "/redirect?to=" + urllib.parse.quote(url("C", "/art404/" + p)))}},
             "HTTP 404", detail="HTTP 404")
    art_case("art-stall", lambda p: {"download": {"href": url("A", "/artstall/" + p)}},
             "timed out", detail="timed out")
    # For the test's last steps, not the catalogue loop.
    add(Case("final-poll-trickle-forever", "stopped", poll=lambda: EMPTY_POLL, trickle=True))
    art_case("final-art-trickle", lambda p: {"download": {"href": url("A", "/arttrickle/" + p)}},
             "resumes at the next start", feedback=None)
    dep_case("final-once-name-missing", lambda d: d["deployment"]["chunks"][0].pop("name"),
             detail="deployment.chunks[0].name")


def mock_get(path):
    with urllib.request.urlopen(ARGS.mock + path, timeout=30) as r:
        return json.load(r)


V2 = {}


def v2_deployment():
    """The deploymentBase server-mock offers for hello 2.0.0 (the test deploys it), each artifact
    with its repository path in "_path"."""
    with LOCK:
        if "doc" in V2:
            return V2["doc"]
    poll = mock_get(CONTROLLER)
    href = poll["_links"]["deploymentBase"]["href"]
    d = mock_get(href[len(ARGS.mock):])
    for a in d["deployment"]["chunks"][0]["artifacts"]:
        h = a["_links"]["download-http"]["href"]
        a["_path"] = h.split("/repo/", 1)[1]
    with LOCK:
        V2["doc"] = d
    return d


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if ARGS.verbose:
            sys.stderr.write("peer %s: %s\n" % (self.server.name, fmt % args))

    def reply(self, status, body=b"", ctype="application/json", headers=()):
        self.send_response(status)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass
        self.close_connection = True

    def body_of(self, obj):
        if isinstance(obj, (bytes, bytearray)):
            return bytes(obj)
        return json.dumps(obj).encode()

    def record(self, method, path):
        auth = self.headers.get("Authorization")
        with LOCK:
            STATE["records"].append({"server": self.server.name, "method": method, "path": path,
                                     "auth": auth})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def handle_any(self, method):
        u = urllib.parse.urlsplit(self.path)
        path = u.path
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n) if n else b""
        if self.server.name == "B" and path.startswith("/_peer/"):
            return self.control(path, urllib.parse.parse_qs(u.query))
        self.record(method, path)
        with LOCK:
            case = STATE["case"]
        if case is not None and path.endswith("/feedback") and method == "POST":
            with LOCK:
                STATE["feedback"].append({"path": path, "server": self.server.name,
                                          "body": data.decode("utf-8", "replace")})
            return self.reply(200, b"")
        if path == "/redirect":
            return self.reply(302, b"", headers=[("Location", urllib.parse.parse_qs(u.query)["to"][0])])
        if path.startswith("/art404/"):
            return self.reply(404, b"no such artifact")
        if path.startswith("/art/"):
            return self.reply(200, b"garbage", "application/octet-stream")
        if path.startswith("/artstall/"):
            return self.stall(b"")
        if path.startswith("/arttrickle/"):  # shorter than any blob: it would never verify
            return self.trickle(b"x" * 200)
        if case is not None and path == CONTROLLER and method == "GET":
            return self.case_poll(case)
        if case is not None and "/deploymentBase/" in path and method == "GET":
            return self.case_dep(case)
        if self.server.name != "A":
            return self.reply(404, b"{}")
        return self.proxy(method, self.path, data)

    def case_poll(self, case):
        with LOCK:
            STATE["polls"] += 1
            first = STATE["polls"] == 1
        if not first:
            return self.reply(200, self.body_of(EMPTY_POLL))
        out = case.poll()
        if isinstance(out, int):
            return self.reply(out, b'{"error":"storm"}')
        if isinstance(out, tuple) and out[0] == "redirect":
            return self.reply(302, b"", headers=[("Location", out[1])])
        body = self.body_of(out)
        if case.trickle:
            return self.trickle(body + b" " * 100000)
        if case.stall:
            return self.stall(body)
        return self.reply(200, body)

    def case_dep(self, case):
        body = case.dep() if case.dep else None
        if body is None:  # a deploymentBase of hawkBit's shape with download wrong, served by C
            d = documented(case.aid)
            d["deployment"]["download"] = "now"
            body = json.dumps(d).encode()
        if isinstance(body, tuple) and body[0] == "trickle":
            return self.trickle(json.dumps(body[1]).encode() + b" " * 100000)
        return self.reply(200, body)

    def trickle(self, body):
        """Two bytes a second, until the client leaves."""
        self.send_response(200)
        self.send_header("Connection", "close")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with LOCK:
            STATE["trickling"] += 1  # /_peer/trickling
        try:
            deadline = time.monotonic() + MAX_TRICKLE_SEC
            for i in range(0, len(body), 2):
                if time.monotonic() > deadline:
                    break
                self.wfile.write(body[i:i + 2])
                self.wfile.flush()
                time.sleep(1)
        except OSError:
            pass
        finally:
            with LOCK:
                STATE["trickling"] -= 1
        self.close_connection = True

    def stall(self, body):
        """Headers and a little, then nothing until the client leaves."""
        self.send_response(200)
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body) + 1000))
        self.end_headers()
        try:
            self.wfile.write(body[:10])
            self.wfile.flush()
            self.connection.settimeout(1)
            deadline = time.monotonic() + MAX_TRICKLE_SEC
            while time.monotonic() < deadline:
                try:
                    if self.connection.recv(1) == b"":
                        break
                except TimeoutError:
                    continue
        except OSError:
            pass
        self.close_connection = True

    def proxy(self, method, path, data):
        """server-mock behind an https front: its own URLs become A's, download-http becomes
        download (hawkBit's https link)."""
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("content-type", "range", "if-range")}
        req = urllib.request.Request(ARGS.mock + path, data=data if method != "GET" else None,
                                     method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                status, body, rh = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, body, rh = e.code, e.read(), e.headers
        if path.startswith("/DEFAULT/"):
            body = body.replace(ARGS.mock.encode(), url("A", "").encode())
            body = body.replace(b'"download-http"', b'"download"')
        extra = [(k, v) for k, v in rh.items() if k.lower() in ("content-range", "etag")]
        self.reply(status, body, rh.get("Content-Type", "application/octet-stream"), extra)

    def control(self, path, query):
        if path == "/_peer/cases":
            out = "".join("%s\t%s\n" % (c.name, c.log) for c in CASES.values())
            return self.reply(200, out.encode(), "text/plain")
        if path == "/_peer/case":
            name = query["name"][0]
            with LOCK:
                STATE.update(case=CASES[name], polls=0, records=[], feedback=[])
            return self.reply(200, CASES[name].log.encode(), "text/plain")
        if path == "/_peer/trickling":
            with LOCK:
                return self.reply(200, str(STATE["trickling"]).encode(), "text/plain")
        if path == "/_peer/seen":
            prefix = query["prefix"][0]
            with LOCK:
                n = sum(1 for r in STATE["records"] if r["path"].startswith(prefix))
            return self.reply(200, str(n).encode(), "text/plain")
        if path == "/_peer/verdict":
            return self.reply(200, json.dumps(verdict()).encode())
        return self.reply(404, b"{}")


def verdict():
    with LOCK:
        case, polls = STATE["case"], STATE["polls"]
        records, feedback = list(STATE["records"]), list(STATE["feedback"])
    problems = []
    for r in records:
        if r["auth"] and r["server"] != "A":
            problems.append("credential sent to %s %s %s" % (r["server"], r["method"], r["path"]))
        if r["server"] in case.forbid:
            problems.append("request to %s: %s %s" % (r["server"], r["method"], r["path"]))
    if case.must_auth and not any(r["server"] == "A" and r["path"].startswith(case.must_auth) and r["auth"]
                                  for r in records):
        problems.append("no request with the token to A %s" % case.must_auth)
    mine = [f for f in feedback if case.aid is not None and "/deploymentBase/%d/" % case.aid in f["path"]]
    closing = []
    for f in mine:
        try:
            st = json.loads(f["body"])["status"]
        except (ValueError, KeyError):
            problems.append("feedback not JSON: %r" % f["body"][:200])
            continue
        if st.get("execution") == "closed":
            closing.append(st)
    done = polls >= 2
    if case.feedback:
        done = done and bool(closing)
        if closing:
            st = closing[-1]
            if st.get("result", {}).get("finished") != case.feedback:
                problems.append("feedback finished %r, expected %r" % (st.get("result"), case.feedback))
            details = " / ".join(st.get("details", []))
            if case.detail and case.detail not in details:
                problems.append("feedback details lack %r: %r" % (case.detail, details[:400]))
    elif done and closing:
        problems.append("unexpected closing feedback: %r" % closing)
    return {"done": done, "problems": problems, "polls": polls, "closed": len(closing)}


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--ports-file", required=True)
    p.add_argument("--mock", required=True, help="server-mock's base URL")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--verbose", action="store_true")
    ARGS = p.parse_args()
    ARGS.mock = ARGS.mock.rstrip("/")
    servers = {}
    for name in ("A", "B", "C"):
        s = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        s.daemon_threads = True
        s.name = name
        if name != "B":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(ARGS.cert, ARGS.key)
            s.socket = ctx.wrap_socket(s.socket, server_side=True)
        PORTS[name] = s.server_port
        servers[name] = s
    build_cases(v2_deployment)
    for s in servers.values():
        threading.Thread(target=s.serve_forever, daemon=True).start()
    tmp = ARGS.ports_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d %d\n" % (PORTS["A"], PORTS["B"], PORTS["C"]))
    os.rename(tmp, ARGS.ports_file)
    threading.Event().wait()


if __name__ == "__main__":
    main()
