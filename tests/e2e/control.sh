#!/usr/bin/env bash
# End to end: tenderctl over tenderd's control socket, and update locks.
#   status idle and during an update, check (the server's polling.sleep is 10 minutes, so only
#   `tenderctl check` makes tenderd poll), socket mode and group (a non-member is refused),
#   an operator lock that survives a restart and defers the swap but not the download, its
#   TTL, an app lock whose holder dies, an app lock held past control.appLockTtlSeconds,
#   rollback, logs, and systemd's READY=1, WATCHDOG=1 and STATUS= on a notify socket (a lock
#   reason's newlines escaped inside STATUS=).
#   The swap gate (agent/gate.c): while a lock defers a swap tenderd keeps serving its main
#   loop (a cancel is carried out while the app lock is held), the server hears one
#   "waiting for" feedback per reason, and the app lock's first sight (its TTL) survives a
#   restart. A manual rollback leaves the release rolled away from eligible: redeployed, it
#   installs. Stuck clients (connected, silent) do not hold up the socket; past
#   CONTROL_CLIENTS_MAX a client waits until silent ones are dropped.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin setpriv
getent group nogroup >/dev/null || { echo "skip: no group nogroup to test control.group with"; exit 77; }
HOLDER_PID= NOTIFY_PID=
stop_pid() { [[ -n $1 ]] && { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }; return 0; }
scn_test_cleanup() {
  stop_pid "$HOLDER_PID"
  stop_pid "$NOTIFY_PID"
}

scn_init
# The socket must be reachable by the unprivileged user of the group test.
chmod 0711 "$SCN_WORK"
mkdir -m 0755 "$SCN_WORK/ctl"
SOCK=$SCN_WORK/ctl/control.sock
scn_build_images 1 2 4 5 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
SCN_HEALTH_WINDOW=1 scn_publish 1 2 4 5 || exit 1
SCN_SERVER_ARGS="--poll-sleep 00:10:00" scn_start_server
scn_write_config

# write_config APP_LOCK_TTL: the scenario's config with this test's control section.
write_config() {
  python3 - "$SCN_WORK/agent.json" "$SOCK" "$1" <<'PY'
import json, sys
p, sock, ttl = sys.argv[1], sys.argv[2], int(sys.argv[3])
c = json.load(open(p))
c["control"] = {"socket": sock, "group": "nogroup", "lockRetrySeconds": 1, "appLockTtlSeconds": ttl}
json.dump(c, open(p, "w"))
PY
}

ctl() { "$TENDER_BIN/tenderctl" --socket "$SOCK" "$@"; }
# Most checks read the status table (python starts slowly on a loaded machine).
# row N: field N of hello's row (2 current, 3 previous, 5 status, 6... locks).
row() { ctl status 2>/dev/null | awk -v n="$1" '$1 == "hello" { print $n }'; }
wait_table() { # wait_table TEXT: polls the status table until it contains TEXT (up to 120 s)
  local i out
  for ((i = 0; i < 600; i++)); do
    out=$(ctl status 2>&1)
    [[ $out == *"$1"* ]] && return 0
    sleep 0.2
  done
  echo "     status lacks '$1': $out" >&2
  return 1
}
wait_for_count() { # wait_for_count FUNC N: until FUNC prints N or more (up to 60 s)
  local i
  for ((i = 0; i < 300; i++)); do
    (($("$1") >= $2)) && return 0
    sleep 0.2
  done
  return 1
}
wait_socket() {
  local i
  for ((i = 0; i < 300; i++)); do
    ctl status --json >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
deploy() { # deploy VERSION: assigns it and has tenderd poll now; prints the action id
  local id
  id=$(scn_deploy "$1")
  ctl check >/dev/null || echo "check failed" >&2
  echo "$id"
}
action_open() { [[ $(scn_action_field "$1" 'a["status"]') != closed ]]; }
# feedback_count ID TEXT: how many feedback messages of the action have a detail holding TEXT.
feedback_count() {
  scn_action_field "$1" "sum(1 for f in a['feedback'] if any('$2' in d for d in f['status'].get('details', [])))"
}
# journal_field ID KEY: a member of the action's journal record ("none" without one).
journal_field() {
  python3 -c 'import json,sys
try: print(json.load(open(sys.argv[1])).get(sys.argv[2], "none"))
except OSError: print("none")' "$SCN_WORK/store/journal/$1.json" "$2"
}

write_config 600
scn_start_agent
check "socket answers" wait_socket

# 1. Idle status, socket permissions.
json=$(ctl status --json 2>&1)
check "idle: JSON status, no apps, no update" eq "$(python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["ok"], s["apps"], s["update"], s["progress"])' <<<"$json")" "True [] None None"
check "idle: table says no update in flight" contains "$(ctl status 2>&1)" "Update: none in flight"
check "socket mode 0660, group nogroup" eq "$(stat -c '%a %G' "$SOCK")" "660 nogroup"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$TENDER_BIN/tenderctl" --socket "$SOCK" status --json 2>&1)
check "a control group member gets the status" contains "$out" '"apps"'
out=$(setpriv --reuid=65534 --regid=100 --clear-groups "$TENDER_BIN/tenderctl" --socket "$SOCK" status 2>&1)
rc=$?
check "a non-member is refused" test "$rc" -ne 0
check "a non-member is told why" contains "$out" "permission denied"

# 2. check: without it tenderd would poll again in 10 minutes.
id=$(deploy 1.0.0)
check "v1 via check: succeeds" eq "$(scn_wait_action "$id")" success
check "v1: status shows it current" eq "$(row 2)" 1.0.0
check "v1: running" eq "$(row 5)" running
check "v1: app lock file mounted into the container" \
  grep -q '"destination":[[:space:]]*"/run/tender/lock"' "$SCN_WORK/store/apps/hello/releases/1.0.0/bundle/config.json"

# 3. Operator lock: survives a restart, defers the swap but not the download, ends by its TTL.
out=$(ctl lock hello --ttl 1h --reason "field test" 2>&1)
check "lock: accepted" contains "$out" locked
check "unlock: accepted" ctl unlock hello
check "unlock: no lock left" eq "$(row 6)" -
check "unlock again: refused" eval '! ctl unlock hello 2>/dev/null'
ctl lock hello --ttl 1h --reason "field test" >/dev/null
scn_stop_agent
scn_start_agent
check "restart: socket answers" wait_socket
json=$(ctl status --json 2>&1)
check "lock: survives the restart" eq "$(python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["apps"][0]["lock"]["reason"])' <<<"$json")" "field test"
id=$(deploy 2.0.0)
check "v2: swap deferred by the operator lock" wait_table "Swap deferred: waiting for the operator lock"
check "v2: status shows the update in flight" contains "$(ctl status 2>&1)" "Update: hello 2.0.0, staging"
check "v2: downloaded and staged while deferred" test -f "$SCN_WORK/store/apps/hello/releases/2.0.0/bundle/config.json"
check "v2: v1 still current" eq "$(scn_current_version)" 1.0.0
check "v2: v1 still running" eq "$(row 5)" running
check "v2: action still open" action_open "$id"
# The lease renewed short: it ends by itself.
ctl lock hello --ttl 2s --reason "short" >/dev/null
check "v2: swapped once the lock expired" eq "$(scn_wait_action "$id")" success
check "v2: one 'waiting for the operator lock' feedback, not one per look" eq "$(feedback_count "$id" "waiting for the operator lock")" 1
check "v2: current" eq "$(scn_current_version)" 2.0.0
check "v2: no lock left" eq "$(row 6)" -

# 4. App lock whose holder dies (flock on the file mounted into the container).
python3 -c 'import fcntl,sys,time; f=open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); print("held", flush=True); time.sleep(3600)' \
  "$SCN_WORK/store/locks/app/hello" >"$SCN_WORK/logs/holder.log" &
HOLDER_PID=$!
check "app lock: status shows it" wait_table " app"
# While the app lock defers the swap, tenderd's main loop goes on: a cancel is carried out.
id=$(deploy 4.0.0)
check "v4: deferred by the app lock" wait_table "Swap deferred: waiting for the app lock"
curl -fsS -o /dev/null -X POST "$SCN_URL/mock/actions/$id/cancel"
ctl check >/dev/null
scn_wait_action "$id" >/dev/null
check "v4 canceled while the app lock is held: canceled" eq "$(scn_action_field "$id" 'a["cancel"]+"/"+a["actionStatus"]')" confirmed/CANCELED
check "v4 canceled: the holder still holds the lock" kill -0 "$HOLDER_PID"
check "v4 canceled: v2 still current" eq "$(scn_current_version)" 2.0.0
# Deployed again: the app lock's first sight is journaled and survives a restart of tenderd,
# so that control.appLockTtlSeconds cannot be restarted by restarting tenderd.
id=$(deploy 4.0.0)
check "v4: deferred by the app lock" wait_table "Swap deferred: waiting for the app lock"
since=$(journal_field "$id" appLockSince)
check "v4: the app lock's first sight is journaled" test "$since" != none
scn_stop_agent
scn_start_agent
check "restart while deferred: socket answers" wait_socket
ctl check >/dev/null
check "restart while deferred: deferred again" wait_table "Swap deferred: waiting for the app lock"
check "restart while deferred: first sight kept" eq "$(journal_field "$id" appLockSince)" "$since"
check "restart while deferred: no second feedback for the same reason" eq "$(feedback_count "$id" "waiting for the app lock")" 1
# The server goes down for two polls (asked for by check; polls are 10 minutes apart here):
# the swap still waits, and status still says why after each failed poll.
mock_outage() { curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -d "{\"polls\":$1}" "$SCN_URL/mock/outage"; }
failed_polls() { grep -c "Poll of .* failed" "$SCN_WORK/logs/tenderd.log" || true; }
mock_outage 2
fails=$(failed_polls)
ctl check >/dev/null
check "server down: a poll fails" wait_for_count failed_polls $((fails + 1))
ctl check >/dev/null
check "server down: a second poll fails" wait_for_count failed_polls $((fails + 2))
check "server down: status still shows the deferred swap" contains "$(ctl status 2>&1)" "Swap deferred: waiting for the app lock"
mock_outage 0
check "v4: v2 still current" eq "$(scn_current_version)" 2.0.0
stop_pid "$HOLDER_PID"; HOLDER_PID=
check "v4: swapped once the holder died" eq "$(scn_wait_action "$id")" success
check "v4: current" eq "$(scn_current_version)" 4.0.0

# 5. App lock held past control.appLockTtlSeconds (a POSIX lock this time), and the
# watchdog: tenderd restarted under a fake systemd notify socket.
scn_stop_agent
write_config 2
python3 - "$SCN_WORK/notify.sock" "$SCN_WORK/logs/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as log:
    while True:
        log.write(s.recv(4096).decode() + "\n"); log.flush()
PY
NOTIFY_PID=$!
for ((i = 0; i < 50; i++)); do [[ -S $SCN_WORK/notify.sock ]] && break; sleep 0.1; done
NOTIFY_SOCKET=$SCN_WORK/notify.sock WATCHDOG_USEC=1000000 \
  "$TENDER_BIN/tenderd" --config "$SCN_WORK/agent.json" >>"$SCN_WORK/logs/tenderd.log" 2>&1 &
SCN_AGENT_PID=$!
check "restart: socket answers" wait_socket
python3 -c 'import fcntl,sys,time; f=open(sys.argv[1], "r+"); fcntl.lockf(f, fcntl.LOCK_EX); time.sleep(3600)' \
  "$SCN_WORK/store/locks/app/hello" &
HOLDER_PID=$!
check "POSIX app lock: status shows it" wait_table " app"
# An operator lock whose reason tries to add sd_notify assignments (a member of control.group
# is not root): the swap waits for it first, and STATUS= quotes the reason escaped.
ctl lock hello --ttl 1h --reason $'field\nWATCHDOG=trigger\nREADY=1' >/dev/null
id=$(deploy 5.0.0)
for ((i = 0; i < 600; i++)); do
  grep -q "waiting for the operator lock" "$SCN_WORK/logs/notify.log" && break
  sleep 0.1
done
ctl unlock hello >/dev/null
check "v5: swapped although the app lock is still held" eq "$(scn_wait_action "$id")" success
check "v5: tenderd says it ignored the lock past its TTL" grep -q "was held for .* swapping anyway" "$SCN_WORK/logs/tenderd.log"
stop_pid "$HOLDER_PID"; HOLDER_PID=
for ((i = 0; i < 50; i++)); do grep -q WATCHDOG=1 "$SCN_WORK/logs/notify.log" && break; sleep 0.2; done
notify=$(cat "$SCN_WORK/logs/notify.log")
check "systemd: READY=1" contains "$notify" "READY=1"
check "systemd: WATCHDOG=1" contains "$notify" "WATCHDOG=1"
check "systemd: STATUS= names the state" contains "$notify" "STATUS=hello 5.0.0: testing"
check "systemd: the lock reason is escaped inside STATUS=" contains "$notify" \
  's more: field\x0aWATCHDOG=trigger\x0aREADY=1)'
check "systemd: the reason added no assignment" eq "$(grep -c '^WATCHDOG=trigger' <<<"$notify")" 0
check "systemd: READY=1 once" eq "$(grep -c '^READY=1$' <<<"$notify")" 1

# 6. Rollback to the kept previous release.
out=$(ctl rollback hello 2>&1)
check "rollback: succeeds" contains "$out" "rolled back to 4.0.0"
check "rollback: 4.0.0 current" eq "$(scn_current_version)" 4.0.0
check "rollback: 4.0.0 running" eq "$(row 5)" running
check "rollback: no 5.0.0 container left running" eq "$(scn_containers | grep -c '^hello-5_0_0 running')" 0
out=$(ctl rollback nosuchapp 2>&1)
check "rollback of an unknown app: refused" contains "$out" "nosuchapp"
check "rollback: 5.0.0 not marked bad" test ! -e "$SCN_WORK/store/apps/hello/bad/5.0.0"
check "rollback: logged as the operator's" grep -q "5.0.0 rolled back by the operator" "$SCN_WORK/logs/tenderd.log"
id=$(deploy 5.0.0)
check "rollback: 5.0.0 deployed again installs" eq "$(scn_wait_action "$id")" success
check "rollback: 5.0.0 current again" eq "$(scn_current_version)" 5.0.0

# 7. Stuck clients: connections that never send a byte do not hold up the others; past
# CONTROL_CLIENTS_MAX (16) a client waits until silent ones are dropped.
# stuck N: holds N silent connections, runs `tenderctl status` beside them, then prints
# "answered" (or "unanswered") and how many silent ones the server had not dropped yet when
# the status came back. A server serving one client at a time drops the silent ones first.
stuck() {
  python3 - "$1" "$SOCK" "$TENDER_BIN/tenderctl" <<'PY'
import select, socket, subprocess, sys
n, path, ctl = int(sys.argv[1]), sys.argv[2], sys.argv[3]
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    socks.append(s)
out = subprocess.run([ctl, "--socket", path, "status"], capture_output=True, text=True, timeout=300).stdout
dropped = len(select.select(socks, [], [], 0)[0])
print("answered" if "hello" in out else "unanswered", n - dropped)
PY
}
out=$(stuck 3)
check "status answered beside 3 silent clients, none dropped meanwhile" eq "$out" "answered 3"
out=$(stuck 16)
check "every slot taken: status answered once silent clients are dropped" contains "$out" "answered"
check "every slot taken: silent clients were dropped to make room" test "${out#answered }" -lt 16
out=$(ctl lock hello --ttl 1h 2>&1)
check "lock answered after the silent clients" contains "$out" locked
check "unlock answered" ctl unlock hello

# 8. logs: tenderd's entries from the journal, or a clear message without one; an app's output
# either way (tests/e2e/tenderctl-apps.sh tests it further).
out=$(ctl logs 2>&1)
if [[ -S /run/systemd/journal/socket ]]; then
  check "logs: answered" test -n "$out"
else
  check "logs: says there is no journal" contains "$out" "no systemd journal"
fi
check "logs hello: the app's output" contains "$(ctl logs hello 2>&1)" "hello v5: started as pid"

scn_test_end
