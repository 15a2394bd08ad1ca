#!/usr/bin/env bash
# A hostile update server against tenderd's sinks (issue 13, item 2; docs/agent.md "Escaping"):
# a deploymentBase whose chunk name, then version, holds "\nWATCHDOG=trigger\nREADY=1\nMAINPID=1",
# terminal escape sequences and invalid UTF-8. tenderd runs once with NOTIFY_SOCKET naming a
# datagram socket the test reads (helpers/hostile_ddi.py, which also plays the server). Checked:
# no datagram carries an assignment the server injected (one READY=1, at start-up; no
# WATCHDOG=trigger, no MAINPID=) and each has at most one STATUS=; the deployment is refused
# saying which field is wrong and why (not "TUF verification failed", no "Failed to unpin"); the
# log shows the server's text escaped, one line, without an ESC byte; feedback, if any, is
# valid UTF-8.
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/script-test.sh"
st_need python3
st_begin agent-hostile-strings tenderd tender-publish
PY=$(command -v /usr/bin/python3 || command -v python3)

"$B/tender-publish" tuf-init --repo "$WORK/repo" --keys "$WORK/keys" >"$WORK/tuf.log" 2>&1 ||
  fail "tuf-init: $(cat "$WORK/tuf.log")"

# run_once MODE: a fresh server and store, tenderd --once; its log in $WORK/MODE/tenderd.log.
run_once() {
  local dir=$WORK/$1 i
  mkdir -p "$dir/store"
  "$PY" "$SRC/tests/integration/helpers/hostile_ddi.py" "$dir" "$1" 2>"$dir/server.log" &
  PIDS+=("$!")
  for ((i = 0; i < 100; i++)); do [[ -s $dir/url ]] && break; sleep 0.1; done
  [[ -s $dir/url ]] || fail "hostile server did not start: $(cat "$dir/server.log")"
  cat >"$dir/agent.json" <<JSON
{
  "server": { "url": "$(cat "$dir/url")", "tenant": "DEFAULT", "controllerId": "dev" },
  "store": { "root": "$dir/store", "allowUnencrypted": true },
  "tuf": { "root": "$WORK/repo/tuf/metadata/1.root.json" },
  "runtime": { "path": "$B/tender-runtime", "root": "$dir/runtime" },
  "control": { "socket": "$dir/control.sock" },
  "log": { "level": "info" }
}
JSON
  NOTIFY_SOCKET=$dir/notify.sock "$B/tenderd" --config "$dir/agent.json" --once \
    >"$dir/tenderd.log" 2>&1 || true
  # The datagrams were sent before tenderd exited; give the reader thread its turn.
  for ((i = 0; i < 50; i++)); do grep -q STOPPING "$dir/notify.jsonl" 2>/dev/null && break; sleep 0.1; done
}

# notify_verdict DIR: what the service manager was told, judged line by line.
notify_verdict() {
  "$PY" - "$1/notify.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
allowed = ("STATUS=", "READY=1", "STOPPING=1", "WATCHDOG=1")
bad, ready = [], 0
for d in lines:
    parts = d.split("\n")
    if sum(p.startswith("STATUS=") for p in parts) > 1:
        bad.append("two STATUS= in %r" % d)
    for p in parts:
        if p == "READY=1":
            ready += 1
        if not (p.startswith("STATUS=") or p in allowed):
            bad.append(repr(p))
if ready != 1:
    bad.append("READY=1 sent %d times" % ready)
if not any(d.startswith("READY=1\nSTATUS=polling") for d in lines):
    bad.append("no READY=1 with STATUS=polling")
print("; ".join(bad) if bad else "clean")
PY
}

# feedback_verdict DIR: every feedback body tenderd sent decodes as UTF-8 JSON.
feedback_verdict() {
  [[ -e $1/feedback.jsonl ]] || { echo clean; return; }
  "$PY" - "$1/feedback.jsonl" <<'PY'
import json, sys
bad = []
for l in open(sys.argv[1]):
    body = json.loads(l).encode("latin-1")
    try:
        json.loads(body.decode("utf-8"))
    except ValueError as e:
        bad.append(str(e))
print("; ".join(bad) if bad else "clean")
PY
}

for mode in name version; do
  run_once "$mode"
  dir=$WORK/$mode
  log=$(cat "$dir/tenderd.log")
  check "$mode: tenderd ran (it logged its start)" contains "$log" "tenderd"
  check "$mode: notify socket saw no injected assignment" eq "$(notify_verdict "$dir")" clean
  check "$mode: feedback is valid UTF-8 JSON" eq "$(feedback_verdict "$dir")" clean
  check "$mode: the log names the field and what is wrong" \
    contains "$log" "deployment.chunks[0].$mode: "
  check "$mode: ... in words" contains "$log" "is not a valid $([[ $mode == name ]] && echo "app name" || echo version)"
  check "$mode: not reported as a TUF failure" lacks "$log" "TUF verification failed"
  check "$mode: no spurious unpin failure" lacks "$log" "Failed to unpin"
  check "$mode: the log shows the newline escaped" contains "$log" '\x0aWATCHDOG=trigger\x0aREADY=1\x0aMAINPID=1'
  check "$mode: no log line starts with an injected assignment" \
    eq "$(grep -cE '^(WATCHDOG|READY|MAINPID)=' "$dir/tenderd.log" || true)" 0
  check "$mode: no ESC byte in the log" eq "$(grep -c $'\x1b' "$dir/tenderd.log" || true)" 0
done
log=$(cat "$WORK/name/tenderd.log")
check "name: invalid UTF-8 shown as bytes" contains "$log" 'hello\xc0\xaf\x0aWATCHDOG'
log=$(cat "$WORK/version/tenderd.log")
check "version: terminal escapes shown" contains "$log" '1.0.0\x1b]0;owned\x07\x1b[2J\x0aWATCHDOG'
check "version: the surrogate shown as bytes" contains "$log" 'MAINPID=1\xed\xa0\x80'

st_end
