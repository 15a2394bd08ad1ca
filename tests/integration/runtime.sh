#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tender-runtime against a busybox bundle: lifecycle, isolation, output log, cgroup limits, exit
# status, clean delete, and refusal of bad bundles without leaving anything behind.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
        echo "skip: needs root (namespaces, mounts, cgroups)"
        exit 77
fi
BUSYBOX=/bin/busybox
# The rootfs holds no libc: busybox must be static (ldd fails on a static executable).
if [ ! -x "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
        echo "skip: needs a static busybox (package busybox-static)"
        exit 77
fi
BIN="${TENDER_BUILD_DIR:?}/bin/tender-runtime"
[ -x "$BIN" ] || { echo "FAIL: $BIN not built"; exit 1; }

TMP=$(mktemp -d /tmp/tender-runtime-test.XXXXXX)
# The container root (host uid 100000) must be able to reach the bundle.
chmod 755 "$TMP"
ROOT="$TMP/state"
BUNDLE="$TMP/bundle"
IDS=(rt-main rt-exit rt-bad rt-norootfs rt-noexec rt-force rt-half rt-hooks rt-hooktimeout rt-journal)
MEM_LIMIT=67108864
PIDS_LIMIT=64

cleanup() {
        for id in "${IDS[@]}"; do
                "$BIN" --root "$ROOT" delete --force "$id" >/dev/null 2>&1 || true
        done
        rm -rf "$TMP"
}
trap cleanup EXIT

rt() { "$BIN" --root "$ROOT" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
check() { echo "ok: $*"; }

# state_field ID FIELD: one field of `state` output (numbers and strings).
state_field() {
        rt state "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p"
}

# Bounded wait for a line in a file (the container writes asynchronously).
wait_for_line() {
        for _ in $(seq 1 500); do
                grep -qx "$2" "$1" 2>/dev/null && return 0
                sleep 0.02
        done
        return 1
}

wait_for_status() {
        for _ in $(seq 1 500); do
                [ "$(state_field "$1" status)" = "$2" ] && return 0
                sleep 0.02
        done
        return 1
}

cgroup_dirs() {
        local id=$1
        if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
                echo "/sys/fs/cgroup/tender/$id"
        else
                for c in memory pids unified; do
                        [ -d "/sys/fs/cgroup/$c" ] && echo "/sys/fs/cgroup/$c/tender/$id"
                done
        fi
        return 0
}

# --- bundle ---------------------------------------------------------------------------------
mkdir -p "$BUNDLE/rootfs/bin"
cp "$BUSYBOX" "$BUNDLE/rootfs/bin/busybox"
for applet in $("$BUSYBOX" --list); do
        [ "$applet" = busybox ] || ln -s busybox "$BUNDLE/rootfs/bin/$applet"
done
(cd "$BUNDLE" && rt spec)
[ -f "$BUNDLE/config.json" ] || fail "spec wrote no config.json"
cp "$BUNDLE/config.json" "$TMP/default.json"

# edit_config PYTHON_STATEMENTS: the default spec as `c`, changed by the statements.
edit_config() {
        python3 -c "import json, sys
c = json.load(open(sys.argv[1]))
$1
json.dump(c, open(sys.argv[2], 'w'), indent=1)" "$TMP/default.json" "$BUNDLE/config.json"
}

# make_config ARGS_JSON: the default spec with other args, our limits and an annotation.
make_config() {
        edit_config "c['process']['args'] = json.loads('$1')
c['linux']['resources'] = {'memory': {'limit': $MEM_LIMIT}, 'pids': {'limit': $PIDS_LIMIT}}
c['hostname'] = 'boxy'
c['annotations'] = {'org.example.app': 'demo'}"
}

# The container's view, reported on its stdout (and one line on stderr) into output.log.
cat >"$BUNDLE/rootfs/probe.sh" <<'PROBE'
echo pid=$$
echo host=$(hostname)
for i in $(tail -n +3 /proc/net/dev | cut -d: -f1); do echo if=$i; done
if touch /probe 2>/dev/null; then echo rootfs=rw; else echo rootfs=ro; fi
if [ -r /proc/self/status ]; then echo proc=yes; fi
echo to-stderr >&2
trap "exit 143" TERM
echo ready
while :; do sleep 0.05; done
PROBE
# The default spec maps container root to host uid 100000: the rootfs must be its to use.
chown -R 100000:100000 "$BUNDLE/rootfs"
make_config '["sh", "/probe.sh"]'

# --- lifecycle ------------------------------------------------------------------------------
rt create --output-log --bundle "$BUNDLE" --pid-file "$TMP/pid" rt-main
[ "$(state_field rt-main status)" = created ] || fail "status after create: $(rt state rt-main)"
check "create -> created"
PID=$(cat "$TMP/pid")
[ "$(state_field rt-main pid)" = "$PID" ] || fail "pid file $PID != state pid"
kill -0 "$PID" || fail "init $PID not alive"
state=$(rt state rt-main) || fail "state failed"
[[ $state == *'"org.example.app":"demo"'* ]] || fail "annotations missing from state"
[[ $state == *"\"bundle\":\"$BUNDLE\""* ]] || fail "bundle missing from state"
[ ! -s "$ROOT/rt-main/output.log" ] || fail "container ran before start"

for dir in $(cgroup_dirs rt-main); do
        [ -d "$dir" ] || fail "cgroup $dir missing"
done
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        [ "$(cat /sys/fs/cgroup/tender/rt-main/memory.max)" = $MEM_LIMIT ] || fail "memory.max"
        [ "$(cat /sys/fs/cgroup/tender/rt-main/pids.max)" = $PIDS_LIMIT ] || fail "pids.max"
        grep -qx "$PID" /sys/fs/cgroup/tender/rt-main/cgroup.procs || fail "init not in cgroup"
else
        [ "$(cat /sys/fs/cgroup/memory/tender/rt-main/memory.limit_in_bytes)" = $MEM_LIMIT ] ||
                fail "memory.limit_in_bytes"
        [ "$(cat /sys/fs/cgroup/pids/tender/rt-main/pids.max)" = $PIDS_LIMIT ] || fail "pids.max"
        grep -qx "$PID" /sys/fs/cgroup/memory/tender/rt-main/cgroup.procs ||
                fail "init not in memory cgroup"
fi
check "cgroup limits memory=$MEM_LIMIT pids=$PIDS_LIMIT"

rt start rt-main
wait_for_status rt-main running || fail "not running after start: $(rt state rt-main)"
check "start -> running"
if rt start rt-main 2>"$TMP/err"; then fail "second start succeeded"; fi
grep -q "not created" "$TMP/err" || fail "second start: $(cat "$TMP/err")"

LOG="$ROOT/rt-main/output.log"
wait_for_line "$LOG" ready || fail "container never got ready: $(cat "$LOG")"
grep -qx 'pid=1' "$LOG" || fail "not pid 1: $(cat "$LOG")"
grep -qx 'host=boxy' "$LOG" || fail "hostname: $(cat "$LOG")"
[ "$(grep '^if=' "$LOG")" = "if=lo" ] || fail "interfaces: $(grep '^if=' "$LOG")"
grep -qx 'rootfs=ro' "$LOG" || fail "rootfs writable: $(cat "$LOG")"
[ ! -e "$BUNDLE/rootfs/probe" ] || fail "write reached the rootfs"
grep -qx 'proc=yes' "$LOG" || fail "/proc not mounted"
grep -qx 'to-stderr' "$LOG" || fail "stderr not in output.log"
check "pid 1, own hostname, only lo, read-only rootfs, /proc, output.log"

# --- list and exec ---------------------------------------------------------------------------
out=$(rt list) || fail "list failed"
grep -q "^rt-main  *$PID  *running " <<<"$out" || fail "list: $out"
[ "$(rt list -q)" = rt-main ] || fail "list -q: $(rt list -q)"
rt list --format json | python3 -c '
import json, sys
assert [(c["id"], c["status"]) for c in json.load(sys.stdin)] == [("rt-main", "running")]' ||
        fail "list --format json: $(rt list --format json)"
check "list: table, quiet, json"

OUT=$(rt exec rt-main -- sh -c 'echo "$(hostname) $(id -u) $(cat /proc/self/uid_map)"' | tr -s " ")
[ "$OUT" = "boxy 0 0 100000 65536" ] || fail "exec view: $OUT"
rt exec rt-main -- grep -q probe.sh /proc/1/cmdline || fail "exec does not see the init as pid 1"
[ "$(rt exec rt-main -- grep CapEff /proc/self/status)" = "$(grep CapEff "/proc/$PID/status")" ] ||
        fail "exec capabilities differ from the init's"
[ "$(rt exec --cwd /tmp --env X=y rt-main -- sh -c 'echo $PWD $X')" = "/tmp y" ] ||
        fail "exec --cwd --env"
set +e
rt exec rt-main -- sh -c 'exit 5'
rc=$?
set -e
[ $rc = 5 ] || fail "exec exit code $rc, expected 5"
if rt exec rt-main -- /nope 2>"$TMP/err"; then fail "exec of a missing program succeeded"; fi
grep -q "exec /nope" "$TMP/err" || fail "exec error: $(cat "$TMP/err")"
rt exec --detach --pid-file "$TMP/exec.pid" rt-main -- sleep 300
EXEC_PID=$(cat "$TMP/exec.pid")
grep -q "/tender/rt-main" "/proc/$EXEC_PID/cgroup" || fail "exec not in the cgroup: $(cat "/proc/$EXEC_PID/cgroup")"
[ "$(readlink "/proc/$EXEC_PID/ns/pid")" = "$(readlink "/proc/$PID/ns/pid")" ] || fail "exec pid ns"
[ "$(readlink "/proc/$EXEC_PID/ns/user")" = "$(readlink "/proc/$PID/ns/user")" ] || fail "exec user ns"
check "exec: namespaces, cgroup, capabilities, --cwd/--env, exit code, errors, --detach"

if rt delete rt-main 2>"$TMP/err"; then fail "deleted a running container"; fi
grep -q running "$TMP/err" || fail "delete refusal: $(cat "$TMP/err")"

rt kill rt-main TERM
wait_for_status rt-main stopped || fail "not stopped after TERM"
[ "$(state_field rt-main exitStatus)" = 143 ] || fail "exit status: $(rt state rt-main)"
grep -qx 'exited 143' "$ROOT/rt-main/exit" || fail "exit file: $(cat "$ROOT/rt-main/exit")"
if rt kill rt-main TERM 2>/dev/null; then fail "kill of a stopped container succeeded"; fi
check "kill TERM -> stopped, exitStatus 143"

rt delete rt-main
[ ! -e "$ROOT/rt-main" ] || fail "state dir left"
for dir in $(cgroup_dirs rt-main); do
        [ ! -e "$dir" ] || fail "cgroup $dir left"
done
! grep -q "$BUNDLE" /proc/self/mountinfo || fail "mounts of the bundle left on the host"
! kill -0 "$PID" 2>/dev/null || fail "init $PID still alive"
! kill -0 "$EXEC_PID" 2>/dev/null || fail "exec'd process $EXEC_PID still alive"
! pgrep -f -- "--root $ROOT" >/dev/null || fail "runtime processes left: $(pgrep -af -- "--root $ROOT")"
if rt state rt-main 2>/dev/null; then fail "state of a deleted container"; fi
check "delete removes state, cgroups, mounts, processes"

# --- run returns the exit code ----------------------------------------------------------------
make_config '["sh", "-c", "echo bye; exit 7"]'
set +e
rt run --bundle "$BUNDLE" rt-exit
rc=$?
set -e
[ $rc = 7 ] || fail "run returned $rc, expected 7"
[ ! -e "$ROOT/rt-exit" ] || fail "run left its state dir"
check "run returns the container's exit code and deletes it"

# --- delete --force, and killed-by-signal status -----------------------------------------------
make_config '["sleep", "1000"]'
rt run --detach --bundle "$BUNDLE" rt-force
wait_for_status rt-force running || fail "rt-force not running"
rt kill rt-force 9
wait_for_status rt-force stopped || fail "rt-force not stopped by signal 9"
[ "$(state_field rt-force exitSignal)" = SIGKILL ] || fail "exitSignal: $(rt state rt-force)"
rt delete rt-force
rt run --detach --bundle "$BUNDLE" rt-force
wait_for_status rt-force running || fail "rt-force not running"
rt delete --force rt-force
[ ! -e "$ROOT/rt-force" ] || fail "delete --force left state"
check "exitSignal SIGKILL, delete --force"

# --- hooks -----------------------------------------------------------------------------------
hook() { # KIND FILE [TIMEOUT] [COMMAND]: a hook that saves its stdin
        echo "{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"${4:-cat >$TMP/$2}\"], \"timeout\": ${3:-10}}"
}
edit_config "c['process']['args'] = ['sleep', '1000']
c['hooks'] = {'prestart': [json.loads('$(hook prestart prestart.json)')],
              'createRuntime': [json.loads('$(hook createRuntime create-runtime.json)')],
              'poststart': [json.loads('$(hook poststart poststart.json)')],
              'poststop': [json.loads('$(hook poststop poststop.json)')]}"
rt create --bundle "$BUNDLE" --pid-file "$TMP/hooks.pid" rt-hooks
grep -q '"status":"creating"' "$TMP/prestart.json" || fail "prestart state: $(cat "$TMP/prestart.json")"
grep -q "\"pid\":$(cat "$TMP/hooks.pid")," "$TMP/prestart.json" || fail "prestart pid"
grep -q '"id":"rt-hooks"' "$TMP/create-runtime.json" || fail "createRuntime state"
[ ! -e "$TMP/poststart.json" ] || fail "poststart ran before start"
rt start rt-hooks
grep -q '"status":"running"' "$TMP/poststart.json" || fail "poststart: $(cat "$TMP/poststart.json")"
rt delete --force rt-hooks
grep -q '"status":"stopped"' "$TMP/poststop.json" || fail "poststop: $(cat "$TMP/poststop.json")"
check "hooks prestart, createRuntime, poststart, poststop get the state on stdin"

edit_config "c['hooks'] = {'prestart': [json.loads('$(hook prestart x 1 'sleep 30')')]}"
if rt create --bundle "$BUNDLE" rt-hooktimeout 2>"$TMP/err"; then fail "hook timeout: create succeeded"; fi
grep -q "hooks.prestart\[0\]: .* timed out after 1 s" "$TMP/err" || fail "hook timeout: $(cat "$TMP/err")"
[ ! -e "$ROOT/rt-hooktimeout" ] || fail "hook timeout: state left"
! pgrep -f -- "--root $ROOT" >/dev/null || fail "hook timeout: processes left"
check "a prestart hook past its timeout fails create, leaving nothing"

# --- journald ---------------------------------------------------------------------------------
# A stand-in journal in a private mount namespace: /run/systemd/journal/socket exists and
# /run/systemd/journal/stdout takes the streams the monitor opens.
make_config '["sh", "-c", "echo to-journal; echo err-to-journal >&2"]'
cat >"$TMP/journal.py" <<'PY'
import os, socket, sys, threading
os.makedirs("/run/systemd/journal", exist_ok=True)
open("/run/systemd/journal/socket", "w").close()
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("/run/systemd/journal/stdout")
s.listen(8)
open(sys.argv[1] + ".ready", "w").close()
def serve(c, n):
    with open("%s.%d" % (sys.argv[1], n), "wb") as f:
        while True:
            b = c.recv(4096)
            if not b:
                break
            f.write(b)
            f.flush()
n = 0
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c, n), daemon=True).start()
    n += 1
PY
unshare -m bash -c '
        set -e
        mount --make-rprivate /
        mount -t tmpfs tmpfs /run
        python3 "$1/journal.py" "$1/journal" &
        JOURNAL=$!
        trap "kill $JOURNAL" EXIT
        for _ in $(seq 1 250); do [ -e "$1/journal.ready" ] && break; sleep 0.02; done
        "$2" --root "$3" run --output-log --bundle "$4" rt-journal
        for _ in $(seq 1 250); do cat "$1"/journal.[0-9] 2>/dev/null | grep -q err-to-journal && break; sleep 0.02; done
' journal "$TMP" "$BIN" "$ROOT" "$BUNDLE"
cat "$TMP"/journal.[0-9] >"$TMP/journal.all" 2>/dev/null || true
grep -qx "rt-journal" "$TMP/journal.all" || fail "journal identifier: $(cat "$TMP/journal.all")"
grep -qx "to-journal" "$TMP/journal.all" || fail "stdout not in the journal"
grep -qx "err-to-journal" "$TMP/journal.all" || fail "stderr not in the journal"
grep -qx "3" "$TMP/journal.all" || fail "stderr stream without priority 3 (err)"
check "with journald, output goes to journal streams identified by the container id"

# --- refusals leave nothing behind ------------------------------------------------------------
expect_refusal() { # ID WANTED_TEXT
        if rt create --bundle "$BUNDLE" "$1" 2>"$TMP/err"; then fail "$1: create succeeded"; fi
        grep -q "^tender-runtime: .*$2" "$TMP/err" || fail "$1: message: $(cat "$TMP/err")"
        [ "$(wc -l <"$TMP/err")" = 1 ] || fail "$1: more than one line: $(cat "$TMP/err")"
        [ ! -e "$ROOT/$1" ] || fail "$1: state dir left"
        for dir in $(cgroup_dirs "$1"); do
                [ ! -e "$dir" ] || fail "$1: cgroup $dir left"
        done
        ! pgrep -f -- "--root $ROOT" >/dev/null || fail "$1: processes left"
}

edit_config "c['process']['args'] = 5"
expect_refusal rt-bad "process.args"
check "bad process.args refused, naming it"

edit_config "c['root']['path'] = 'missing-rootfs'"
expect_refusal rt-norootfs "root.path"
check "missing rootfs refused"

make_config '["/bin/app"]'
expect_refusal rt-noexec "exec /bin/app: No such file or directory"
check "missing executable refused at create"

if rt create --bundle "$BUNDLE" 'bad/id' 2>/dev/null; then fail "bad id accepted"; fi
check "invalid id refused"

# A state directory without state.json (create killed early) can still be deleted.
mkdir -p "$ROOT/rt-half"
rt delete rt-half
[ ! -e "$ROOT/rt-half" ] || fail "half-created container not deleted"
check "half-created container deleted"

# --log gets the same one-line error.
if rt --log "$TMP/runtime.log" start no-such-container 2>/dev/null; then fail "start of nothing"; fi
grep -q "container no-such-container does not exist" "$TMP/runtime.log" || fail "--log file"
(cd "$BUNDLE" && ! rt spec 2>/dev/null) || fail "spec overwrote config.json"
check "--log, spec refuses to overwrite"

echo "all runtime checks passed"
