#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end: tenderctl's per-app commands against a real tenderd and real containers
# (docs/agent.md, "tenderctl and the control socket"):
#   lock   an unknown app is refused, naming it (no lock file written); a lock says when it
#          expires, the same time as its lock file;
#   logs   shows what the app's container wrote (stdout and stderr; the rotated file's lines
#          first), escaped for the terminal; an unknown app is refused;
#   remove refused while an update of the app is in flight; otherwise stops the container,
#          unmounts its rootfs, deletes its releases and the layers nobody else uses, keeps the
#          volumes and the release counter (a restarted tenderd does not start it again; a new
#          deployment installs it with its volume's data); --delete-volumes deletes them too.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin

scn_init
scn_build_images 1 2 4 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
SCN_HEALTH_WINDOW=1 scn_publish 1 2 4 || exit 1
# A poll every 10 minutes: each deployment is picked up through `tenderctl check`.
SCN_SERVER_ARGS="--poll-sleep 00:10:00" scn_start_server
scn_write_config
python3 - "$SCN_WORK/agent.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["control"]["lockRetrySeconds"] = 1
json.dump(c, open(p, "w"))
PY

ctl() { "$TENDER_BIN/tenderctl" --socket "$SCN_WORK/control.sock" "$@"; }
row() { ctl status 2>/dev/null | awk -v n="$1" '$1 == "hello" { print $n }'; }
wait_socket() {
  local i
  for ((i = 0; i < 300; i++)); do
    ctl status --json >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
wait_table() { # wait_table TEXT: polls the status table until it contains TEXT (up to 120 s)
  local i
  for ((i = 0; i < 600; i++)); do
    [[ $(ctl status 2>&1) == *"$1"* ]] && return 0
    sleep 0.2
  done
  return 1
}
deploy() { # deploy VERSION: assigns it and has tenderd poll now; prints the action id
  local id
  id=$(scn_deploy "$1")
  ctl check >/dev/null || echo "check failed" >&2
  echo "$id"
}
mounts() { awk -v w="$SCN_WORK/store" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo; }
count() { find "$1" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

scn_start_agent
check "socket answers" wait_socket

# 1. lock: an unknown app is refused, naming it.
check "lock of an unknown app fails naming it" fails_with "nosuchapp: no such app" ctl lock nosuchapp
check "lock of an unknown app: no lock file" test ! -e "$SCN_WORK/store/locks/nosuchapp.json"
check "logs of an unknown app fails naming it" fails_with "nosuchapp: no such app" ctl logs nosuchapp

id=$(deploy 1.0.0)
check "v1 installed" eq "$(scn_wait_action "$id")" success
check "v1 running" eq "$(row 5)" running

# 2. lock: the reply says when the lock ends, the time its lock file holds.
out=$(ctl lock hello --ttl 1h 2>&1)
check "lock: accepted" contains "$out" "hello locked until "
printed=$(sed -n 's/.*locked until \([0-9-]* [0-9:]*\) UTC.*/\1/p' <<<"$out")
until=$(jq -r .until "$SCN_WORK/store/locks/hello.json" 2>/dev/null)
check "lock: the expiry printed is the lock file's" eq "$(date -u -d "$printed" +%s 2>/dev/null)" "$until"
check "lock: and says how long from now" eval '[[ $out =~ \(in\ 3[56][0-9][0-9]\ s\) ]]'
ctl unlock hello >/dev/null

# 3. logs: the container's own output, escaped. The app printed its start line; a terminal
# escape sequence in its output (appended as the app would write it) reaches the terminal
# escaped.
out=$(ctl logs hello 2>&1)
check "logs: the app's output" contains "$out" "hello v1: started as pid"
outfile=$SCN_WORK/runtime/hello-1_0_0/output.log
check "logs: the output file tenderd reads exists" test -f "$outfile"
printf 'evil \033]0;owned\007 title\n' >>"$outfile"
out=$(ctl logs hello --lines 1 2>&1)
check "logs --lines 1: only the last line" eq "$(wc -l <<<"$out")" 1
check "logs: no raw escape byte reaches the terminal" eval '! grep -q $'"'"'\x1b'"'"' <<<"$out"'
check "logs: the escape shows escaped" contains "$out" "evil \\x1b]0;owned\\x07 title"
# The megabyte before (the runtime's rotated output.log.1) comes first.
echo "an older line" >"$outfile.1"
out=$(ctl logs hello --lines 1000 2>&1)
check "logs: the rotated file's lines first" eq "$(head -n 1 <<<"$out")" "an older line"
check "logs: then the current file's" contains "$(sed -n 2p <<<"$out")" "hello v1: started as pid"
json=$(ctl logs hello --json 2>&1)
check "logs --json: output and its file" eq "$(jq -r '.outputFile' <<<"$json")" "$outfile"

# 4. remove, refused while an update of the app is in flight (a swap deferred by a lock).
ctl lock hello --ttl 1h >/dev/null
id=$(deploy 2.0.0)
check "v2: swap deferred by the operator lock" wait_table "Swap deferred: waiting for the operator lock"
check "remove while v2 is in flight: refused" fails_with "update of it is in flight (action $id" ctl remove hello
check "remove refused: v1 still running" eq "$(row 5)" running
ctl unlock hello >/dev/null
check "v2 swapped once unlocked" eq "$(scn_wait_action "$id")" success
check "v2: the volume holds both releases' lines" eq "$(grep -c '^v' "$SCN_WORK/store/apps/hello/volumes/data/history")" 2
ctl lock hello --ttl 1h >/dev/null

out=$(ctl remove hello 2>&1)
check "remove: done, volumes kept" contains "$out" "removed; its volumes are kept"
check "remove: no container left" eq "$(scn_containers)" ""
check "remove: no rootfs mounted" eq "$(mounts)" ""
check "remove: no current release" test ! -e "$SCN_WORK/store/apps/hello/current"
check "remove: no previous release" test ! -e "$SCN_WORK/store/apps/hello/previous"
check "remove: releases deleted" test ! -e "$SCN_WORK/store/apps/hello/releases"
check "remove: layers nobody uses deleted" eq "$(count "$SCN_WORK/store/layers/sha256")" 0
check "remove: blobs nobody uses deleted" eq "$(count "$SCN_WORK/store/blobs/sha256")" 0
check "remove: the operator lock is gone" test ! -e "$SCN_WORK/store/locks/hello.json"
check "remove: volume kept" test -s "$SCN_WORK/store/apps/hello/volumes/data/history"
check "remove: release counter kept" eq "$(cat "$SCN_WORK/store/apps/hello/counter")" 2
check "remove: status shows no current release" eq "$(row 2)" -
check "remove again: no such app" fails_with "hello: no such app" ctl remove hello
# A restarted tenderd starts every app's current release: hello has none now.
scn_stop_agent
scn_start_agent
check "restarted: socket answers" wait_socket
check "restarted: hello not started again" eq "$(scn_containers)" ""

# 5. A new deployment installs it again, with the kept volume's data.
id=$(deploy 4.0.0)
check "v4 installed after the remove" eq "$(scn_wait_action "$id")" success
check "v4: running" eq "$(row 5)" running
check "v4: the kept volume's lines are there" eq "$(grep -c '^v' "$SCN_WORK/store/apps/hello/volumes/data/history")" 3

# 6. remove --delete-volumes.
out=$(ctl remove hello --delete-volumes 2>&1)
check "remove --delete-volumes: done" contains "$out" "removed, with its volumes"
check "remove --delete-volumes: no container, no mount" eq "$(scn_containers)$(mounts)" ""
check "remove --delete-volumes: volumes deleted" test ! -e "$SCN_WORK/store/apps/hello/volumes"
check "tenderd still runs" kill -0 "$SCN_AGENT_PID"

scn_test_end
