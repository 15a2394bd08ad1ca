#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tender-server-mock end to end over loopback: DDI poll, deploymentBase (artifacts, hashes,
# links), feedback and closing, configData, installedBase, target-token auth, the management
# API (outage injection too), /repo files with ranges and MD5SUM, path checks, body limits,
# clean exit on signals.
# The release repository is written by hand (docs/release-manifest.md) with fake digests.
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_need curl python3
st_begin server-mock-test tender-server-mock
BIN=$B/tender-server-mock

# http ARGS...: prints the status code; the body lands in $WORK/body, headers in $WORK/headers.
http() { curl -sS -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}' "$@"; }
# py EXPR: evaluates a python expression on the JSON body `d` (and prints it).
py() { python3 -c "import json; d = json.load(open('$WORK/body')); v = ($1); print(v)"; }
header() { sed -n "s/^$1: *\\(.*\\)\\r\$/\\1/Ip" "$WORK/headers" | tail -n 1; }

# --- the repository --------------------------------------------------------------------------
REPO=$WORK/repo
mkdir -p "$REPO/apps/hello" "$REPO/apps/broken" "$REPO/blobs/sha256"
python3 - "$REPO" <<'PY'
import hashlib, json, os, random, sys
repo = sys.argv[1]
rnd = random.Random(7)
blobs = [bytes(rnd.getrandbits(8) for _ in range(200_000)), b"small layer\n" * 10]
digests = []
for b in blobs:
    h = hashlib.sha256(b).hexdigest()
    open(f"{repo}/blobs/sha256/{h}", "wb").write(b)
    digests.append(h)
def manifest(version, counter, layers):
    return {
        "schemaVersion": 1, "app": "hello", "version": version, "releaseCounter": counter,
        "image": {
            "manifestDigest": "sha256:" + hashlib.sha256(version.encode()).hexdigest(),
            "config": {"entrypoint": ["/bin/app"], "cmd": [], "env": ["PATH=/bin"],
                       "user": "0:0", "workingDir": "/"},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                        "digest": "sha256:" + d, "size": os.path.getsize(f"{repo}/blobs/sha256/{d}"),
                        "diffId": "sha256:" + hashlib.sha256(d.encode()).hexdigest(),
                        "uncompressedSize": 1000} for d in layers],
        },
        "deployment": {"network": "none", "readonlyRootfs": True, "strategy": "stop-start"},
        "health": {"windowSeconds": 3},
    }
sig = json.dumps({"keyid": "ab" * 32, "method": "ecdsa-sha2-nistp256", "sig": "3045" + "00" * 70})
# 2.0.0 repeats a layer: the mock offers each blob once.
for version, counter, layers in [("1.0.0", 1, digests[:1]), ("2.0.0", 2, digests + digests[:1])]:
    open(f"{repo}/apps/hello/{version}.json", "w").write(json.dumps(manifest(version, counter, layers), indent=2))
    open(f"{repo}/apps/hello/{version}.json.sig", "w").write(sig)
# 3.0.0 lists deltas: one blob in the repository (listed twice), one missing.
delta = b"tender delta\n" * 5
dh = hashlib.sha256(delta).hexdigest()
open(f"{repo}/blobs/sha256/{dh}", "wb").write(delta)
m3 = manifest("3.0.0", 3, digests[1:])
d0 = {"from": "sha256:" + hashlib.sha256(digests[0].encode()).hexdigest(),
      "to": m3["image"]["layers"][0]["diffId"], "digest": "sha256:" + dh, "size": len(delta),
      "algorithm": "tender-delta-v4"}
m3["image"]["deltas"] = [d0, dict(d0, digest="sha256:" + "0" * 64), d0]
open(f"{repo}/apps/hello/3.0.0.json", "w").write(json.dumps(m3, indent=2))
open(f"{repo}/apps/hello/3.0.0.json.sig", "w").write(sig)
open(f"{repo}/delta", "w").write(dh + "\n")
open(f"{repo}/apps/broken/1.0.0.json", "w").write('{"schemaVersion": 1, "app": ')
open(f"{repo}/apps/broken/1.0.0.json.sig", "w").write(sig)
open(f"{repo}/digests", "w").write(" ".join(digests) + "\n")
PY
read -r BLOB1 BLOB2 <"$REPO/digests"
read -r DELTA <"$REPO/delta"
ln -s /etc/passwd "$REPO/escape"
ln -s ../../.. "$REPO/blobs/up"

# start_server NAME ARGS...: starts a server on the repository, sets URL and PID.
start_server() {
  local name=$1
  shift
  st_start_mock "$name" --repo "$REPO" "$@"
}

start_server main --listen 127.0.0.1:0 --poll-sleep 00:00:02
MAIN_PID=$PID
DDI=$URL/DEFAULT/controller/v1
check "first stdout line names a loopback port" \
  python3 -c "import sys; u = sys.argv[1]; assert u.startswith('http://127.0.0.1:') and int(u.rsplit(':', 1)[1]) > 0" "$URL"

# --- poll without an action ------------------------------------------------------------------
check "poll answers 200" eq "$(http "$DDI/dev1")" 200
check "poll is application/json" eq "$(header Content-Type)" application/json
check "poll hands out polling.sleep" eq "$(py 'd["config"]["polling"]["sleep"]')" 00:00:02
check "poll without action has no deploymentBase" eq "$(py '"deploymentBase" in d["_links"]')" False
check "poll asks for configData" eq "$(py 'd["_links"]["configData"]["href"]')" "$DDI/dev1/configData"
check "tenant is case-insensitive" eq "$(http "$URL/default/controller/v1/dev1")" 200
check "unknown tenant is 404" eq "$(http "$URL/other/controller/v1/dev1")" 404
check "errors are hawkBit-shaped" eq "$(py 'sorted(d)')" "['errorCode', 'message']"
check "bad controller id is 404" eq "$(http "$DDI/dev%20one")" 404
check "DELETE on the poll resource is 405" eq "$(http -X DELETE "$DDI/dev1")" 405
check "poll registered the target" eq "$(http "$URL/mock/targets")" 200
check "target has a lastPoll time" \
  py '[t for t in d if t["controllerId"] == "dev1"][0]["lastPoll"] > 1700000000'
outage() { http -X POST -H 'Content-Type: application/json' -d "$1" "$URL/mock/outage"; }
check "outage with a bad body is 400" eq "$(outage '{"polls":-1}')" 400
check "outage of two polls is set" eq "$(outage '{"polls":2}')" 200
check "outage: first poll is 503" eq "$(http "$DDI/dev1")" 503
check "outage: the error says so" eq "$(py 'd["errorCode"]')" mock.outage
check "outage: /repo is still served" eq "$(http -o /dev/null "$URL/repo/apps/hello/1.0.0.json")" 200
check "outage: second poll is 503" eq "$(http "$DDI/dev1")" 503
check "outage: over after two polls" eq "$(http "$DDI/dev1")" 200
outage '{"polls":5}' >/dev/null
check "outage: polls 0 ends it" eq "$(outage '{"polls":0}')" 200
check "outage: ended" eq "$(http "$DDI/dev1")" 200

# --- fault injection (/mock/faults; tenderd's reactions: tests/e2e/faults.sh) -----------------
fault() { http -X POST -H 'Content-Type: application/json' -d "$1" "$URL/mock/faults"; }
check "fault: unknown kind is 400" eq "$(fault '{"kind":"meteor","path":"/*"}')" 400
check "fault: a parameter of another kind is 400" eq "$(fault '{"kind":"latency","path":"/*","ms":5,"bytes":1}')" 400
check "fault: retryAfter only on status" eq "$(fault '{"kind":"reset","path":"/*","retryAfter":1}')" 400
check "fault: status out of range is 400" eq "$(fault '{"kind":"status","path":"/*","status":200}')" 400
check "fault: a path must start with /" eq "$(fault '{"kind":"reset","path":"*"}')" 400
check "fault: a bad target is 400" eq "$(fault '{"kind":"reset","path":"/*","target":"a b"}')" 400
check "fault: replay of a pattern is 400" eq "$(fault '{"kind":"replay","path":"/repo/apps/*"}')" 400
check "fault: replay of a missing file is 400" eq "$(fault '{"kind":"replay","path":"/repo/none.json"}')" 400
check "fault: per-device status storm is set" \
  eq "$(fault '{"kind":"status","path":"/DEFAULT/controller/v1/*","target":"dev2","status":503,"retryAfter":30,"count":1}')" 201
STORM=$(py 'd["id"]')
check "fault: another device is not hit" eq "$(http "$DDI/dev1")" 200
check "fault: the device is hit" eq "$(http "$DDI/dev2")" 503
check "fault: with Retry-After" eq "$(header Retry-After)" 30
check "fault: as hawkBit's error shape" eq "$(py 'd["errorCode"]')" mock.fault
check "fault: count 1 is spent" eq "$(http "$DDI/dev2")" 200
check "fault: matched and applied are counted" \
  eq "$(http "$URL/mock/faults/$STORM" >/dev/null; py 'd["matched"], d["applied"]')" "(2, 1)"
check "fault: the management API is never faulted" eq "$(fault '{"kind":"reset","path":"/mock/*"}')" 201
check "fault: (still reachable)" eq "$(http "$URL/mock/faults")" 200
check "fault: DELETE one" eq "$(http -X DELETE "$URL/mock/faults/$STORM")" 200
check "fault: then it is gone" eq "$(http "$URL/mock/faults/$STORM")" 404
check "fault: replay serves the file as it was" \
  eq "$(cp "$REPO/apps/hello/1.0.0.json" "$WORK/m.json"; fault '{"kind":"replay","path":"/repo/apps/hello/1.0.0.json"}')" 201
echo '{}' >"$REPO/apps/hello/1.0.0.json"
check "fault: (the replayed copy)" eq "$(curl -fsS "$URL/repo/apps/hello/1.0.0.json" | cmp - "$WORK/m.json" && echo same)" same
cp "$WORK/m.json" "$REPO/apps/hello/1.0.0.json"
check "fault: DELETE all" eq "$(http -X DELETE "$URL/mock/faults" >/dev/null; py "len(d)")" 2
check "fault: none left" eq "$(http "$URL/mock/faults" >/dev/null; py 'd')" "[]"

# --- deployments -----------------------------------------------------------------------------
deploy() { http -X POST -H 'Content-Type: application/json' -d "$1" "$URL/mock/deployments"; }
check "deploying a missing release is 404" \
  eq "$(deploy '{"target":"dev1","app":"hello","version":"9.9.9"}')" 404
check "404 names the release" py '"9.9.9" in d["message"] or exit(1)'
check "deployment with a bad body is 400" eq "$(deploy '{"target":"dev1","app":"hello"}')" 400
check "deployment is created" eq "$(deploy '{"target":"dev1","app":"hello","version":"2.0.0"}')" 201
check "first action id is 1" eq "$(py 'd["actionId"]')" 1

http "$DDI/dev1" >/dev/null
HREF=$(py 'd["_links"]["deploymentBase"]["href"]')
check "poll links the open action" \
  python3 -c "import sys; assert sys.argv[1].startswith(sys.argv[2] + '/dev1/deploymentBase/1?c=')" "$HREF" "$DDI"

check "deploymentBase answers 200" eq "$(http "$HREF")" 200
cp "$WORK/body" "$WORK/deployment.json"
check "deploymentBase has the hawkBit shape and true hashes" python3 - "$WORK/deployment.json" "$REPO" "$URL" "$BLOB1" "$BLOB2" <<'PY'
import hashlib, json, os, sys
d = json.load(open(sys.argv[1])); repo, url, b1, b2 = sys.argv[2:]
assert d["id"] == "1", d["id"]
dep = d["deployment"]
assert dep["download"] == "forced" and dep["update"] == "forced"
assert len(dep["chunks"]) == 1
c = dep["chunks"][0]
assert (c["part"], c["name"], c["version"]) == ("bApp", "hello", "2.0.0"), c
names = [a["filename"] for a in c["artifacts"]]
assert names == ["release.json", "release.json.sig", "sha256:" + b1, "sha256:" + b2], names
paths = ["apps/hello/2.0.0.json", "apps/hello/2.0.0.json.sig", "blobs/sha256/" + b1, "blobs/sha256/" + b2]
for a, p in zip(c["artifacts"], paths):
    data = open(os.path.join(repo, p), "rb").read()
    assert a["size"] == len(data), (p, a["size"])
    assert a["hashes"] == {"sha1": hashlib.sha1(data).hexdigest(), "md5": hashlib.md5(data).hexdigest(),
                           "sha256": hashlib.sha256(data).hexdigest()}, p
    assert a["_links"]["download-http"]["href"] == f"{url}/repo/{p}", a["_links"]
    assert a["_links"]["md5sum-http"]["href"] == f"{url}/repo/{p}.MD5SUM", a["_links"]
assert "actionHistory" not in d, "actionHistory only when asked (?actionHistory=N), as hawkBit"
PY

# Every artifact downloads byte for byte; its MD5SUM matches.
python3 -c '
import json, sys
for a in json.load(open(sys.argv[1]))["deployment"]["chunks"][0]["artifacts"]:
    print(a["_links"]["download-http"]["href"], a["_links"]["md5sum-http"]["href"], a["hashes"]["md5"])
' "$WORK/deployment.json" >"$WORK/artifacts"
n=0
while read -r href md5href md5; do
  n=$((n + 1))
  file=$REPO/${href#"$URL"/repo/}
  check "artifact $n downloads (200)" eq "$(curl -sS -o "$WORK/dl" -w '%{http_code}' "$href")" 200
  check "artifact $n is byte-exact" cmp -s "$WORK/dl" "$file"
  check "artifact $n MD5SUM" eq "$(curl -fsS "$md5href")" "$md5  $(basename "$file")"
done <"$WORK/artifacts"
check "four artifacts were listed" eq "$n" 4

check "deploymentBase of another target is 404" eq "$(http "$DDI/dev2/deploymentBase/1")" 404
check "unknown action is 404" eq "$(http "$DDI/dev1/deploymentBase/999")" 404
check "non-numeric action is 404" eq "$(http "$DDI/dev1/deploymentBase/abc")" 404

# --- feedback --------------------------------------------------------------------------------
feedback() { http -X POST -H 'Content-Type: application/json' -d "$2" "$DDI/dev1/deploymentBase/$1/feedback"; }
FB1='{"id":"1","time":"20260101T000000","status":{"execution":"proceeding","result":{"finished":"none","progress":{"cnt":1,"of":4}},"details":["downloading"]}}'
FB2='{"id":1,"status":{"execution":"download","result":{"finished":"none"},"code":12}}'
check "proceeding feedback is accepted" eq "$(feedback 1 "$FB1")" 200
check "download feedback is accepted" eq "$(feedback 1 "$FB2")" 200
check "malformed JSON feedback is 400" eq "$(feedback 1 '{"status":')" 400
check "unknown execution is 400" \
  eq "$(feedback 1 '{"status":{"execution":"exploded","result":{"finished":"none"}}}')" 400
check "unknown finished is 400" \
  eq "$(feedback 1 '{"status":{"execution":"closed","result":{"finished":"maybe"}}}')" 400
check "missing result is 400" eq "$(feedback 1 '{"status":{"execution":"proceeding"}}')" 400
check "non-string details are 400" \
  eq "$(feedback 1 '{"status":{"execution":"proceeding","result":{"finished":"none"},"details":[1]}}')" 400
check "unknown field is 400" \
  eq "$(feedback 1 '{"status":{"execution":"proceeding","result":{"finished":"none"}},"bogus":1}')" 400
check "feedback body must be an object" eq "$(feedback 1 '[1]')" 400
check "feedback on another target's action is 404" \
  eq "$(http -X POST -d "$FB1" "$DDI/dev2/deploymentBase/1/feedback")" 404
check "GET on feedback is 405" eq "$(http "$DDI/dev1/deploymentBase/1/feedback")" 405

check "action is readable" eq "$(http "$URL/mock/actions/1")" 200
check "action records the valid feedback in order" \
  eq "$(py '[f["status"]["execution"] for f in d["feedback"]]')" "['proceeding', 'download']"
check "feedback is kept as received" \
  eq "$(py 'd["feedback"][0]["status"]["result"]["progress"]')" "{'cnt': 1, 'of': 4}"
check "action is still open" eq "$(py 'd["status"], d["result"]')" "('open', 'none')"

FB3='{"status":{"execution":"closed","result":{"finished":"success"},"details":["installed 2.0.0"]}}'
check "closing feedback is accepted" eq "$(feedback 1 "$FB3")" 200
check "closed action has status and result" \
  eq "$(http "$URL/mock/actions/1" >/dev/null; py 'd["status"], d["result"], len(d["feedback"])')" \
  "('closed', 'success', 3)"
check "feedback on a closed action is 410" eq "$(feedback 1 "$FB1")" 410
http "$DDI/dev1" >/dev/null
check "closed action leaves the poll" eq "$(py '"deploymentBase" in d["_links"]')" False
check "poll links the installed action" \
  eq "$(py 'd["_links"]["installedBase"]["href"]')" "$DDI/dev1/installedBase/1"
check "closed deploymentBase is still readable" eq "$(http "$HREF")" 200
check "no actionHistory unless asked" eq "$(py '"actionHistory" in d')" False
check "?actionHistory=0 leaves it out too" eq "$(http "$HREF&actionHistory=0" >/dev/null; py '"actionHistory" in d')" False
check "?actionHistory=-1: FINISHED with all the details" \
  eq "$(http "$HREF&actionHistory=-1" >/dev/null; py 'd["actionHistory"]["status"], d["actionHistory"]["messages"]')" \
  "('FINISHED', ['downloading', 'installed 2.0.0'])"
check "?actionHistory=1: the last message only" \
  eq "$(http "$HREF&actionHistory=1" >/dev/null; py 'd["actionHistory"]["messages"]')" "['installed 2.0.0']"
check "?actionHistory=x is 400" eq "$(http "$HREF&actionHistory=x")" 400
check "installedBase answers the action" eq "$(http "$DDI/dev1/installedBase/1")" 200
check "installedBase has the artifacts" eq "$(py 'd["id"], len(d["deployment"]["chunks"][0]["artifacts"])')" "('1', 4)"

# A newer deployment cancels the older open one.
deploy '{"target":"dev1","app":"hello","version":"1.0.0"}' >/dev/null
deploy '{"target":"dev1","app":"hello","version":"2.0.0"}' >/dev/null
check "newer deployment got id 3" eq "$(py 'd["actionId"]')" 3
check "older open action was canceled" \
  eq "$(http "$URL/mock/actions/2" >/dev/null; py 'd["status"], d["canceled"]')" "('closed', True)"
check "poll links the newest action" \
  eq "$(http "$DDI/dev1" >/dev/null; py 'd["_links"]["deploymentBase"]["href"].split("?")[0]')" \
  "$DDI/dev1/deploymentBase/3"
check "actions filter by target" eq "$(http "$URL/mock/actions?target=dev1" >/dev/null; py '[a["id"] for a in d]')" "[1, 2, 3]"
check "actions of an unknown target are empty" eq "$(http "$URL/mock/actions?target=nobody" >/dev/null; py 'd')" "[]"
check "missing action is 404" eq "$(http "$URL/mock/actions/77")" 404
check "a canceled feedback closes the action" \
  eq "$(feedback 3 '{"status":{"execution":"canceled","result":{"finished":"none"}}}')" 200
check "canceled action is closed" \
  eq "$(http "$URL/mock/actions/3" >/dev/null; py 'd["status"], d["actionStatus"]')" "('closed', 'CANCELED')"

# --- configData ------------------------------------------------------------------------------
cfg() { http -X PUT -H 'Content-Type: application/json' -d "$1" "$DDI/dev1/configData"; }
check "configData merge is accepted" eq "$(cfg '{"mode":"merge","data":{"hw":"rev2","serial":"42"}}')" 200
check "poll stops asking for configData" eq "$(http "$DDI/dev1" >/dev/null; py '"configData" in d["_links"]')" False
targets_cfg() { http "$URL/mock/targets" >/dev/null; py '[t for t in d if t["controllerId"] == "dev1"][0]["configData"]'; }
check "configData is recorded" eq "$(targets_cfg)" "{'hw': 'rev2', 'serial': '42'}"
check "configData without mode merges" eq "$(cfg '{"data":{"os":"debian"}}')" 200
check "configData remove" eq "$(cfg '{"mode":"remove","data":{"serial":""}}')" 200
check "configData after merge and remove" eq "$(targets_cfg)" "{'hw': 'rev2', 'os': 'debian'}"
check "configData replace" eq "$(cfg '{"mode":"replace","data":{"only":"this"}}')" 200
check "configData after replace" eq "$(targets_cfg)" "{'only': 'this'}"
check "configData with a number value is 400" eq "$(cfg '{"data":{"n":1}}')" 400
check "configData with an unknown mode is 400" eq "$(cfg '{"mode":"mix","data":{}}')" 400
check "configData without data is 400" eq "$(cfg '{"mode":"merge"}')" 400
check "POST on configData is 405" eq "$(http -X POST -d '{}' "$DDI/dev1/configData")" 405

# --- a release whose manifest does not parse -------------------------------------------------
check "broken release can be assigned" eq "$(deploy '{"target":"dev3","app":"broken","version":"1.0.0"}')" 201
BROKEN=$(py 'd["actionId"]')
check "its deploymentBase is 500" eq "$(http "$DDI/dev3/deploymentBase/$BROKEN")" 500
check "the 500 names the manifest" py '"apps/broken/1.0.0.json" in d["message"] or exit(1)'
check "the server logged it" grep -q "Cannot offer broken 1.0.0" "$WORK/main.log"
check "the server still answers" eq "$(http "$DDI/dev3")" 200

# --- delta blobs ------------------------------------------------------------------------------
check "a release with deltas is deployed" eq "$(deploy '{"target":"dev9","app":"hello","version":"3.0.0"}')" 201
http "$DDI/dev9" >/dev/null
HREF9=$(py 'd["_links"]["deploymentBase"]["href"]')
check "its deploymentBase answers 200" eq "$(http "$HREF9")" 200
check "delta blobs follow the layers, each once; a missing one is left out" \
  eq "$(py '" ".join(a["filename"] for a in d["deployment"]["chunks"][0]["artifacts"][2:])')" \
  "sha256:$BLOB2 sha256:$DELTA"

# --- files: ranges, ETag, HEAD ---------------------------------------------------------------
B1=$REPO/blobs/sha256/$BLOB1
SIZE=$(stat -c %s "$B1")
BURL=$URL/repo/blobs/sha256/$BLOB1
check "full GET is 200" eq "$(http "$BURL")" 200
check "full GET is byte-exact" cmp -s "$WORK/body" "$B1"
check "Accept-Ranges: bytes" eq "$(header Accept-Ranges)" bytes
check "Content-Length is the size" eq "$(header Content-Length)" "$SIZE"
ETAG=$(header ETag)
check "ETag is set" test -n "$ETAG"
range_ok() { # FIRST LAST: the body holds exactly those bytes of the blob
  python3 -c "import sys; d = open(sys.argv[1], 'rb').read(); b = open(sys.argv[2], 'rb').read(); sys.exit(b != d[int(sys.argv[3]):int(sys.argv[4]) + 1])" \
    "$B1" "$WORK/body" "$1" "$2"
}
check "bytes=100-199 is 206" eq "$(http -H 'Range: bytes=100-199' "$BURL")" 206
check "bytes=100-199 Content-Range" eq "$(header Content-Range)" "bytes 100-199/$SIZE"
check "bytes=100-199 content" range_ok 100 199
check "bytes=150000- is 206" eq "$(http -H 'Range: bytes=150000-' "$BURL")" 206
check "bytes=150000- content" range_ok 150000 $((SIZE - 1))
check "bytes=-10 is 206" eq "$(http -H 'Range: bytes=-10' "$BURL")" 206
check "bytes=-10 Content-Range" eq "$(header Content-Range)" "bytes $((SIZE - 10))-$((SIZE - 1))/$SIZE"
check "bytes=-10 content" range_ok $((SIZE - 10)) $((SIZE - 1))
check "a range past the end is cut" eq "$(http -H "Range: bytes=$((SIZE - 5))-$((SIZE + 100))" "$BURL")" 206
check "the cut range content" range_ok $((SIZE - 5)) $((SIZE - 1))
check "bytes=SIZE- is 416" eq "$(http -H "Range: bytes=$SIZE-" "$BURL")" 416
check "416 names the size" eq "$(header Content-Range)" "bytes */$SIZE"
check "bytes=-0 is 416" eq "$(http -H 'Range: bytes=-0' "$BURL")" 416
check "a multi-range is served whole" eq "$(http -H 'Range: bytes=0-1,5-6' "$BURL")" 200
check "a garbled range is served whole" eq "$(http -H 'Range: bytes=x-y' "$BURL")" 200
check "If-Range with the ETag applies the range" eq "$(http -H 'Range: bytes=0-9' -H "If-Range: $ETAG" "$BURL")" 206
check "If-Range with another ETag serves all" eq "$(http -H 'Range: bytes=0-9' -H 'If-Range: "other"' "$BURL")" 200
check "If-Range mismatch is byte-exact" cmp -s "$WORK/body" "$B1"
check "HEAD is 200" eq "$(curl -sS -I -o "$WORK/headers" -w '%{http_code}' "$BURL")" 200
check "HEAD has Content-Length" eq "$(header Content-Length)" "$SIZE"
check "resumed download via curl -C is byte-exact" bash -c \
  "head -c 12345 '$B1' >'$WORK/part' && curl -fsS -C - -o '$WORK/part' '$BURL' && cmp -s '$WORK/part' '$B1'"

# --- files: what must not be served ----------------------------------------------------------
not_served() { local c; c=$(http --path-as-is "$URL/repo/$1"); [[ $c == 403 || $c == 404 ]] || { echo "     $1 -> $c" >&2; return 1; }; }
check "missing file is 404" eq "$(http "$URL/repo/blobs/sha256/0000")" 404
check "../ is refused" eq "$(http --path-as-is "$URL/repo/../../etc/passwd")" 403
check "encoded ../ is refused" eq "$(http --path-as-is "$URL/repo/%2e%2e/%2e%2e/etc/passwd")" 403
check "./ is refused" not_served "./apps/hello/2.0.0.json"
check "an empty component is refused" not_served "apps//hello/2.0.0.json"
check "an absolute path is refused" not_served "/etc/passwd"
check "a symlink out of the repo is refused" not_served "escape"
check "a path through a symlinked dir out of the repo is refused" not_served "blobs/up/etc/passwd"
check "a directory is not served" not_served "apps"
check "MD5SUM of a missing file is 404" eq "$(http "$URL/repo/nothing.MD5SUM")" 404
check "POST on a file is 405" eq "$(http -X POST -d x "$BURL")" 405

# --- body limits -----------------------------------------------------------------------------
head -c 70000 /dev/zero | tr '\0' 'a' >"$WORK/big"
check "a 70000-byte body is 413" \
  eq "$(http -X POST -H 'Content-Type: application/json' --data-binary @"$WORK/big" "$DDI/dev1/deploymentBase/1/feedback")" 413
check "a chunked 70000-byte body is 413" \
  eq "$(http -X PUT -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big" "$DDI/dev1/configData")" 413
check "a large body to the management API is 413" \
  eq "$(http -X POST --data-binary @"$WORK/big" "$URL/mock/deployments")" 413
check "the server still answers after 413" eq "$(http "$DDI/dev1")" 200

# --- handling types, maintenance window, cancel ---------------------------------------------
check "a bad update type is 400" \
  eq "$(deploy '{"target":"dev4","app":"hello","version":"2.0.0","update":"later"}')" 400
check "a bad window is 400" \
  eq "$(deploy '{"target":"dev4","app":"hello","version":"2.0.0","maintenanceWindow":"soon"}')" 400
check "a refused deployment created no action" eq "$(http "$URL/mock/actions?target=dev4")" 200
check "  (none for dev4)" eq "$(py 'len(d)')" 0
check "deployment with handling and window is 201" \
  eq "$(deploy '{"target":"dev4","app":"hello","version":"2.0.0","update":"skip","download":"attempt","maintenanceWindow":"unavailable"}')" 201
CID=$(py 'd["actionId"]')
http "$DDI/dev4" >/dev/null
HREF3=$(py 'd["_links"]["deploymentBase"]["href"]')
http "$HREF3" >/dev/null
check "deploymentBase carries the handling types and the window" \
  eq "$(py 'd["deployment"]["download"] + " " + d["deployment"]["update"] + " " + d["deployment"]["maintenanceWindow"]')" "attempt skip unavailable"
check "PATCH of the window is 200" \
  eq "$(http -X PATCH -H 'Content-Type: application/json' -d '{"maintenanceWindow":"available","update":"forced"}' "$URL/mock/actions/$CID")" 200
http "$DDI/dev4" >/dev/null
check "the poll link changes with the window" test "$(py 'd["_links"]["deploymentBase"]["href"]')" != "$HREF3"
http "$DDI/dev4/deploymentBase/$CID" >/dev/null
check "deploymentBase shows the change" \
  eq "$(py 'd["deployment"]["update"] + " " + d["deployment"]["maintenanceWindow"]')" "forced available"
check "PATCH with an unknown key is 400" \
  eq "$(http -X PATCH -H 'Content-Type: application/json' -d '{"updates":"forced"}' "$URL/mock/actions/$CID")" 400
check "cancelAction before a cancel is 404" eq "$(http "$DDI/dev4/cancelAction/$CID")" 404
check "cancel request is 200" eq "$(http -X POST "$URL/mock/actions/$CID/cancel")" 200
http "$DDI/dev4" >/dev/null
check "the poll offers cancelAction" eq "$(py 'd["_links"]["cancelAction"]["href"]')" "$DDI/dev4/cancelAction/$CID"
check "  and no deploymentBase" eq "$(py '"deploymentBase" in d["_links"]')" False
check "cancelAction answers 200" eq "$(http "$DDI/dev4/cancelAction/$CID")" 200
check "cancelAction has hawkBit's shape" eq "$(py 'd["id"] + "/" + d["cancelAction"]["stopId"]')" "$CID/$CID"
cfeedback() { http -X POST -H 'Content-Type: application/json' -d "$1" "$DDI/dev4/cancelAction/$CID/feedback"; }
check "a malformed cancel feedback is 400" eq "$(cfeedback '{"status":{"execution":"closed"}}')" 400
check "a rejected cancel is 200" \
  eq "$(cfeedback '{"id":"'"$CID"'","status":{"execution":"rejected","result":{"finished":"none"}}}')" 200
http "$DDI/dev4" >/dev/null
check "after the rejection the deployment is offered again" py '"deploymentBase" in d["_links"] or exit(1)'
http "$URL/mock/actions/$CID" >/dev/null
check "the action records the rejection" eq "$(py 'd["cancel"] + " " + d["status"]')" "rejected open"
http -X POST "$URL/mock/actions/$CID/cancel" >/dev/null
check "a confirmed cancel is 200" \
  eq "$(cfeedback '{"id":"'"$CID"'","status":{"execution":"closed","result":{"finished":"success"}}}')" 200
http "$URL/mock/actions/$CID" >/dev/null
check "the action is canceled" eq "$(py 'd["cancel"] + " " + d["actionStatus"] + " " + str(len(d["cancelFeedback"]))')" "confirmed CANCELED 2"
check "cancel of a closed action is 409" eq "$(http -X POST "$URL/mock/actions/$CID/cancel")" 409
check "PATCH of a closed action is 409" \
  eq "$(http -X PATCH -H 'Content-Type: application/json' -d '{"update":"forced"}' "$URL/mock/actions/$CID")" 409
check "cancel feedback on a closed action is 410" \
  eq "$(cfeedback '{"status":{"execution":"closed","result":{"finished":"success"}}}')" 410

# --- gateway token ---------------------------------------------------------------------------
start_server gateway --listen 127.0.0.1:0 --target-token 's3cret' --gateway-token 'gw-s3cret'
GDDI=$URL/DEFAULT/controller/v1
check "gateway: the gateway token is 200" eq "$(http -H 'Authorization: GatewayToken gw-s3cret' "$GDDI/dev1")" 200
check "gateway: the target token still works" eq "$(http -H 'Authorization: TargetToken s3cret' "$GDDI/dev1")" 200
check "gateway: a wrong gateway token is 401" eq "$(http -H 'Authorization: GatewayToken gw-s3cre' "$GDDI/dev1")" 401
check "gateway: the target token as a gateway token is 401" \
  eq "$(http -H 'Authorization: GatewayToken s3cret' "$GDDI/dev1")" 401
kill -TERM "$PID"
wait "$PID" 2>/dev/null

# --- target token ----------------------------------------------------------------------------
start_server token --listen 127.0.0.1:0 --target-token 's3cret'
TOKEN_PID=$PID
TDDI=$URL/DEFAULT/controller/v1
check "no token is 401" eq "$(http "$TDDI/dev1")" 401
check "401 asks for a TargetToken" eq "$(header WWW-Authenticate)" TargetToken
check "wrong token is 401" eq "$(http -H 'Authorization: TargetToken nope' "$TDDI/dev1")" 401
check "a token prefix is 401" eq "$(http -H 'Authorization: TargetToken s3cre' "$TDDI/dev1")" 401
check "another scheme is 401" eq "$(http -H 'Authorization: Bearer s3cret' "$TDDI/dev1")" 401
check "the right token is 200" eq "$(http -H 'Authorization: TargetToken s3cret' "$TDDI/dev1")" 200
check "feedback without the token is 401" eq "$(http -X POST -d "$FB1" "$TDDI/dev1/deploymentBase/1/feedback")" 401
check "configData without the token is 401" eq "$(http -X PUT -d '{"data":{}}' "$TDDI/dev1/configData")" 401
check "/repo needs no token" eq "$(http "$URL/repo/apps/hello/2.0.0.json")" 200

# --- command line ----------------------------------------------------------------------------
check "a non-loopback listen address is refused" \
  bash -c "! '$BIN' --repo '$REPO' --listen 0.0.0.0:0 2>'$WORK/remote.log' && grep -q allow-remote '$WORK/remote.log'"
check "a bad --poll-sleep is refused" bash -c "! '$BIN' --repo '$REPO' --listen 127.0.0.1:0 --poll-sleep 5s 2>/dev/null"
check "a missing repository is refused" bash -c "! '$BIN' --repo '$WORK/none' --listen 127.0.0.1:0 2>/dev/null"

# --- signals ---------------------------------------------------------------------------------
kill -TERM "$MAIN_PID"
rc=0
wait "$MAIN_PID" || rc=$?
check "SIGTERM exits 0" eq "$rc" 0
kill -INT "$TOKEN_PID"
rc=0
wait "$TOKEN_PID" || rc=$?
check "SIGINT exits 0" eq "$rc" 0
PIDS=()

if ((failures > 0)); then
  echo "$failures check(s) failed; server log:"
  cat "$WORK/main.log"
  exit 1
fi
echo "all checks passed"
