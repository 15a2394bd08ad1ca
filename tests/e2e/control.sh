#!/usr/bin/env bash
# End to end: tenderctl over tenderd's control socket, and update locks.
#   status idle and during an update, check (the server's polling.sleep is 10 minutes, so only
#   `tenderctl check` makes tenderd poll), socket mode and group (a non-member is refused),
#   an operator lock that survives a restart and defers the swap but not the download, its
#   TTL, an app lock whose holder dies, an app lock held past control.appLockTtlSeconds,
#   rollback, logs, and systemd's READY=1 and WATCHDOG=1 on a notify socket.
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
check "v2: swap deferred by the operator lock" wait_table "Swap deferred: operator lock"
check "v2: status shows the update in flight" contains "$(ctl status 2>&1)" "Update: hello 2.0.0, staging"
check "v2: downloaded and staged while deferred" test -f "$SCN_WORK/store/apps/hello/releases/2.0.0/bundle/config.json"
check "v2: v1 still current" eq "$(scn_current_version)" 1.0.0
check "v2: v1 still running" eq "$(row 5)" running
check "v2: action still open" action_open "$id"
# The lease renewed short: it ends by itself.
ctl lock hello --ttl 2s --reason "short" >/dev/null
check "v2: swapped once the lock expired" eq "$(scn_wait_action "$id")" success
check "v2: current" eq "$(scn_current_version)" 2.0.0
check "v2: no lock left" eq "$(row 6)" -

# 4. App lock whose holder dies (flock on the file mounted into the container).
python3 -c 'import fcntl,sys,time; f=open(sys.argv[1]); fcntl.flock(f, fcntl.LOCK_EX); print("held", flush=True); time.sleep(3600)' \
  "$SCN_WORK/store/locks/app/hello" >"$SCN_WORK/logs/holder.log" &
HOLDER_PID=$!
check "app lock: status shows it" wait_table " app"
id=$(deploy 4.0.0)
check "v4: deferred by the app lock" wait_table "Swap deferred: app lock"
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
id=$(deploy 5.0.0)
check "v5: swapped although the app lock is still held" eq "$(scn_wait_action "$id")" success
check "v5: tenderd says it ignored the lock past its TTL" grep -q "was held for .* swapping anyway" "$SCN_WORK/logs/tenderd.log"
stop_pid "$HOLDER_PID"; HOLDER_PID=
for ((i = 0; i < 50; i++)); do grep -q WATCHDOG=1 "$SCN_WORK/logs/notify.log" && break; sleep 0.2; done
notify=$(cat "$SCN_WORK/logs/notify.log")
check "systemd: READY=1" contains "$notify" "READY=1"
check "systemd: WATCHDOG=1" contains "$notify" "WATCHDOG=1"
check "systemd: STATUS= names the state" contains "$notify" "STATUS=hello 5.0.0: testing"

# 6. Rollback to the kept previous release.
out=$(ctl rollback hello 2>&1)
check "rollback: succeeds" contains "$out" "rolled back to 4.0.0"
check "rollback: 4.0.0 current" eq "$(scn_current_version)" 4.0.0
check "rollback: 4.0.0 running" eq "$(row 5)" running
check "rollback: no 5.0.0 container left running" eq "$(scn_containers | grep -c '^hello-5_0_0 running')" 0
out=$(ctl rollback nosuchapp 2>&1)
check "rollback of an unknown app: refused" contains "$out" "nosuchapp"

# 7. logs: entries from the journal, or a clear message without one.
out=$(ctl logs hello 2>&1)
if [[ -S /run/systemd/journal/socket ]]; then
  check "logs: answered" test -n "$out"
else
  check "logs: says there is no journal" contains "$out" "no systemd journal"
fi

scn_test_end
