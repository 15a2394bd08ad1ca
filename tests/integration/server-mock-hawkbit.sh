#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tender-server-mock's DDI documents against the shapes of hawkBit's DDI API documentation
# (eclipse.dev/hawkbit, "Direct Device Integration API" and its OpenAPI description): every
# member the mock sends must be one hawkBit documents, with the documented type and values,
# and the documented request bodies (configData, action feedback) must be accepted. The
# shapes below are written from that documentation:
#  - controller base: config.polling.sleep "HH:MM:SS", _links of deploymentBase, installedBase,
#    cancelAction, configData (and confirmationBase), each {"href"};
#  - deploymentBase / installedBase: id (string), deployment {download, update: attempt |
#    forced | skip, maintenanceWindow: available | unavailable (only with a window), chunks
#    [{part, version, name, encrypted?, metadata?, artifacts [{filename, size, hashes {sha1,
#    md5, sha256}, _links {download?, download-http?, md5sum?, md5sum-http?}}]}]}, and
#    actionHistory {status, messages} only when ?actionHistory=N asks for it (N > 0: the last N,
#    N < 0: all the server keeps, 0 or absent: none) and there are messages;
#  - cancelAction: {id, cancelAction {stopId}}, both strings;
#  - errors: {errorCode, message} (hawkBit adds exceptionClass and parameters).
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_need curl python3
st_begin server-mock-hawkbit tender-server-mock
mkdir -p "$WORK/repo/apps/fw"
head -c 5000 /dev/urandom >"$WORK/repo/apps/fw/1.0.0.swu"
st_start_mock main --listen 127.0.0.1:0 --repo "$WORK/repo" --poll-sleep 00:01:30
DDI=$URL/DEFAULT/controller/v1

# http ARGS...: prints the status code; the body lands in $WORK/body.
http() { curl -sS -o "$WORK/body" -w '%{http_code}' "$@"; }
# shape KIND [ARGS]: checks $WORK/body against the documented shape KIND.
shape() {
  python3 - "$WORK/body" "$@" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1])); kind = sys.argv[2]; args = sys.argv[3:]
HANDLING = {"attempt", "forced", "skip"}
STATUS = {"FINISHED", "ERROR", "WARNING", "RUNNING", "CANCELED", "CANCELING", "RETRIEVED",
          "DOWNLOAD", "SCHEDULED", "CANCEL_REJECTED", "DOWNLOADED", "WAIT_FOR_CONFIRMATION"}
def keys(o, allowed, required=(), where=""):
    assert isinstance(o, dict), f"{where}: not an object"
    extra = set(o) - set(allowed)
    assert not extra, f"{where}: members hawkBit does not document: {sorted(extra)}"
    missing = set(required) - set(o)
    assert not missing, f"{where}: documented members missing: {sorted(missing)}"
def string(v, where):
    assert isinstance(v, str), f"{where}: not a string"
def links(o, allowed, where):
    keys(o, allowed, (), where)
    for name, l in o.items():
        keys(l, {"href"}, {"href"}, f"{where}.{name}")
        assert re.match(r"^https?://", l["href"]), f"{where}.{name}.href: {l['href']}"
if kind == "base":
    keys(d, {"config", "_links"}, {"config", "_links"}, "controller base")
    keys(d["config"], {"polling"}, {"polling"}, "config")
    keys(d["config"]["polling"], {"sleep"}, {"sleep"}, "config.polling")
    assert re.fullmatch(r"\d{2,3}:\d{2}:\d{2}", d["config"]["polling"]["sleep"])
    links(d["_links"], {"deploymentBase", "installedBase", "cancelAction", "configData",
                        "confirmationBase"}, "_links")
    for want in args:
        assert want in d["_links"], f"_links: no {want}"
elif kind in ("deployment", "history"):
    keys(d, {"id", "deployment", "actionHistory"}, {"id", "deployment"}, kind)
    string(d["id"], "id")
    dep = d["deployment"]
    keys(dep, {"download", "update", "maintenanceWindow", "chunks"}, {"download", "update", "chunks"}, "deployment")
    assert dep["download"] in HANDLING and dep["update"] in HANDLING, dep
    assert dep.get("maintenanceWindow", "available") in {"available", "unavailable"}
    assert isinstance(dep["chunks"], list) and dep["chunks"], "chunks: a non-empty array"
    for i, c in enumerate(dep["chunks"]):
        keys(c, {"part", "version", "name", "encrypted", "artifacts", "metadata"},
             {"part", "version", "name", "artifacts"}, f"chunks[{i}]")
        for m in ("part", "version", "name"):
            string(c[m], f"chunks[{i}].{m}")
        for j, a in enumerate(c["artifacts"]):
            w = f"chunks[{i}].artifacts[{j}]"
            keys(a, {"filename", "hashes", "size", "_links"}, {"filename", "hashes", "size", "_links"}, w)
            string(a["filename"], w + ".filename")
            assert isinstance(a["size"], int) and a["size"] >= 0, w + ".size"
            keys(a["hashes"], {"sha1", "md5", "sha256"}, {"sha1", "md5", "sha256"}, w + ".hashes")
            for h, n in (("sha1", 40), ("md5", 32), ("sha256", 64)):
                assert re.fullmatch("[0-9a-f]{%d}" % n, a["hashes"][h]), f"{w}.hashes.{h}"
            links(a["_links"], {"download", "download-http", "md5sum", "md5sum-http"}, w + "._links")
    if kind == "deployment":
        assert "actionHistory" not in d, "actionHistory was not asked for"
    else:
        n = int(args[0])
        h = d["actionHistory"]
        keys(h, {"status", "messages"}, {"status", "messages"}, "actionHistory")
        assert h["status"] in STATUS, h["status"]
        assert all(isinstance(m, str) for m in h["messages"]), "messages: strings"
        assert n < 0 or len(h["messages"]) <= n, f"more than {n} messages"
        print(json.dumps(h["messages"]))
elif kind == "cancel":
    keys(d, {"id", "cancelAction"}, {"id", "cancelAction"}, "cancel")
    keys(d["cancelAction"], {"stopId"}, {"stopId"}, "cancelAction")
    string(d["id"], "id"); string(d["cancelAction"]["stopId"], "stopId")
elif kind == "error":
    keys(d, {"exceptionClass", "errorCode", "message", "parameters"}, {"errorCode", "message"}, "error")
else:
    raise SystemExit("unknown shape " + kind)
PY
}

check "first poll answers 200" eq "$(http "$DDI/dev1")" 200
check "controller base: documented shape, configData asked for" shape base configData
check "configData: the documented body is accepted" \
  eq "$(http -X PUT -H 'Content-Type: application/json' \
    -d '{"mode":"merge","data":{"VIN":"JH4TB2H26CC000000","hwRevision":"2"}}' "$DDI/dev1/configData")" 200
check "configData: replace and remove are accepted" \
  eq "$(http -X PUT -d '{"mode":"replace","data":{"a":"1"}}' "$DDI/dev1/configData") $(http -X PUT -d '{"mode":"remove","data":{"a":""}}' "$DDI/dev1/configData")" "200 200"

ID=$(curl -fsS -X POST -d '{"target":"dev1","app":"fw","version":"1.0.0","maintenanceWindow":"available"}' "$URL/mock/deployments" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["actionId"])')
http "$DDI/dev1" >/dev/null
check "controller base with a deployment: documented shape" shape base deploymentBase
HREF=$(python3 -c "import json; print(json.load(open('$WORK/body'))['_links']['deploymentBase']['href'])")
check "deploymentBase answers 200" eq "$(http "$HREF")" 200
check "deploymentBase: documented shape, no actionHistory unless asked" shape deployment
check "deploymentBase?actionHistory=0: none" eq "$(http "$HREF&actionHistory=0" >/dev/null; shape deployment && echo ok)" ok
check "deploymentBase?actionHistory=3 without messages yet: none (as hawkBit)" \
  eq "$(http "$HREF&actionHistory=3" >/dev/null; shape deployment && echo ok)" ok

# The documented feedback body (progress, details, code), three times.
for i in 1 2 3; do
  check "feedback $i: the documented body is accepted" \
    eq "$(http -X POST -H 'Content-Type: application/json' \
      -d "{\"id\":\"$ID\",\"timestamp\":1700000000000,\"status\":{\"execution\":\"proceeding\",\"result\":{\"finished\":\"none\",\"progress\":{\"cnt\":$i,\"of\":3}},\"code\":200,\"details\":[\"step $i\"]}}" \
      "$DDI/dev1/deploymentBase/$ID/feedback")" 200
done
http "$HREF&actionHistory=2" >/dev/null
check "deploymentBase?actionHistory=2: the last two messages" eq "$(shape history 2)" '["step 2", "step 3"]'
http "$HREF&actionHistory=-1" >/dev/null
check "deploymentBase?actionHistory=-1: all of them" eq "$(shape history -1)" '["step 1", "step 2", "step 3"]'

check "cancel requested" eq "$(http -X POST "$URL/mock/actions/$ID/cancel")" 200
http "$DDI/dev1" >/dev/null
check "controller base with a cancel: documented shape" shape base cancelAction
check "cancelAction answers 200" eq "$(http "$DDI/dev1/cancelAction/$ID")" 200
check "cancelAction: documented shape" shape cancel
check "cancel feedback: the documented body is accepted" \
  eq "$(http -X POST -d "{\"id\":\"$ID\",\"status\":{\"execution\":\"closed\",\"result\":{\"finished\":\"success\"}}}" \
    "$DDI/dev1/cancelAction/$ID/feedback")" 200
check "an unknown installedBase is 404" eq "$(http "$DDI/dev1/installedBase/999")" 404
check "errors: documented shape" shape error

st_end
