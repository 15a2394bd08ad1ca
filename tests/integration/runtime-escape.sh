#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Escape suite: a busybox container under `tender-runtime spec`'s hardened default tries to break
# out in every way the issue lists; each attempt must fail. A small static C probe makes the
# syscalls busybox cannot (finit_module, ptrace, keyctl, raw sockets, clone3, io_uring, ...).
# From the host: the container's root is uid 100000 outside, and delete leaves nothing.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
        echo "skip: needs root (namespaces, mounts, cgroups)"
        exit 77
fi
BUSYBOX=/bin/busybox
if [ ! -x "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
        echo "skip: needs a static busybox (package busybox-static)"
        exit 77
fi
if ! command -v gcc >/dev/null || ! command -v python3 >/dev/null; then
        echo "skip: needs gcc (with a static libc, libc6-dev) and python3"
        exit 77
fi
if [ ! -e /proc/self/ns/user ]; then
        echo "skip: kernel without user namespaces"
        exit 77
fi
BIN="${TENDER_BUILD_DIR:?}/bin/tender-runtime"
[ -x "$BIN" ] || { echo "FAIL: $BIN not built"; exit 1; }

# shellcheck source=../lib/escape.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/escape.sh"

TMP=$(mktemp -d /tmp/tender-escape-test.XXXXXX)
chmod 755 "$TMP" # the container's root (host uid 100000) must reach the bundle
ROOT="$TMP/state"
BUNDLE="$TMP/bundle"
ID=escape
MEM_LIMIT=67108864
PIDS_LIMIT=48

cleanup() {
        "$BIN" --root "$ROOT" delete --force "$ID" >/dev/null 2>&1 || true
        escape_stop_listener
        rm -rf "$TMP"
}
trap cleanup EXIT

rt() { "$BIN" --root "$ROOT" "$@"; }
fail() { echo "FAIL: $*"; exit 1; }
check() { echo "ok: $*"; }

state_field() {
        rt state "$1" | sed -n "s/.*\"$2\":\"\{0,1\}\([^\",}]*\).*/\1/p"
}

wait_for_line() {
        for _ in $(seq 1 1500); do
                grep -qx "$2" "$1" 2>/dev/null && return 0
                sleep 0.02
        done
        return 1
}

# --- the probe --------------------------------------------------------------------------------
mkdir -p "$BUNDLE/rootfs/bin"
if ! escape_build_probe "$BUNDLE/rootfs/bin/probe" 2>"$TMP/gcc.err"; then
        echo "skip: cannot build a static probe: $(cat "$TMP/gcc.err")"
        exit 77
fi
# A listener on the host's loopback: the container must not reach it.
escape_start_listener "$BUNDLE/rootfs/bin/probe" || fail "listener"
PORT=$ESCAPE_PORT
check "probe built; host listener on 127.0.0.1:$PORT reachable from the host"

# --- the bundle -------------------------------------------------------------------------------
cp "$BUSYBOX" "$BUNDLE/rootfs/bin/busybox"
for applet in $("$BUSYBOX" --list); do
        [ "$applet" = busybox ] || ln -s busybox "$BUNDLE/rootfs/bin/$applet"
done
cat >"$BUNDLE/rootfs/escape.sh" <<SCRIPT
echo "uid=\$(id -u)"
export PORT=$PORT
$(escape_script)
echo "procs=\$(ls -d /proc/[0-9]* | wc -l)"
echo "host_pid_visible=\$([ -d /proc/$$ ] && grep -q escape-test /proc/$$/cmdline 2>/dev/null && echo yes || echo no)"
echo "ifaces=\$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')"
echo "routes=\$(ip route 2>&1 | wc -l) \$(ip -6 route 2>&1 | grep -vc '^$')"
# Fork past the pids limit: a subshell must fail to fork (and exit) before 100 sleepers.
# With every pid taken, only shell builtins work until the sleepers are gone.
(i=0; while [ \$i -lt 100 ]; do sleep 60 & echo \$! >>/tmp/sleepers; i=\$((i + 1)); echo \$i >/tmp/forked; done) 2>/tmp/fork.err
read forked </tmp/forked
while read p; do kill \$p; done </tmp/sleepers
wait
sleep 0.5
echo "sleepers=\$forked"
echo "fork_errors=\$(grep -c . /tmp/fork.err)"
# Exceed the memory limit: the hog (tail buffering 150 MiB) is OOM-killed, the shell lives on.
head -c 200m /dev/zero | tail -c 150m >/dev/null
echo "hog=\$?"
echo alive
echo done
exec sleep 1000
SCRIPT

(cd "$BUNDLE" && rt spec)
python3 - "$BUNDLE/config.json" <<PY
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["sh", "/escape.sh"]
c["linux"]["resources"] = {"memory": {"limit": $MEM_LIMIT}, "pids": {"limit": $PIDS_LIMIT}}
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
chown -R 100000:100000 "$BUNDLE/rootfs"

# --- run it -----------------------------------------------------------------------------------
rt create --output-log --bundle "$BUNDLE" --pid-file "$TMP/pid" "$ID"
PID=$(cat "$TMP/pid")
rt start "$ID"
LOG="$ROOT/$ID/output.log"
wait_for_line "$LOG" done || fail "escape script did not finish: $(cat "$LOG")"
echo "--- container output"
cat "$LOG"
echo "---"

# From the host: the container's root is an unprivileged uid outside.
HOST_UID=$(awk '/^Uid:/ {print $2}' "/proc/$PID/status")
[ "$HOST_UID" -ge 100000 ] || fail "container root is host uid $HOST_UID"
grep -qx "uid=0" "$LOG" || fail "not root inside: $(grep uid= "$LOG")"
grep -q "^ *0 *100000 *65536$" "/proc/$PID/uid_map" || fail "uid_map: $(cat "/proc/$PID/uid_map")"
check "container root (uid 0 inside) is host uid $HOST_UID"

NOT_DENIED=$(escape_not_denied "$LOG")
[ -z "$NOT_DENIED" ] || fail "not denied: $NOT_DENIED"
check "every attempt denied: $(echo $ESCAPE_ATTEMPTS $ESCAPE_SHELL_ATTEMPTS)"

PROCS=$(sed -n 's/^procs=//p' "$LOG")
[ "$PROCS" -lt 10 ] || fail "container sees $PROCS processes"
grep -qx "host_pid_visible=no" "$LOG" || fail "host pid $$ visible in the container"
check "sees only its own $PROCS processes, not the host's"

grep -qx "ifaces=lo " "$LOG" || fail "interfaces: $(grep ifaces= "$LOG")"
grep -qx "routes=0 0" "$LOG" || fail "routes: $(grep routes= "$LOG")"
check "network: only lo, no route out, host loopback unreachable"

SLEEPERS=$(sed -n 's/^sleepers=//p' "$LOG")
[ "$SLEEPERS" -lt "$PIDS_LIMIT" ] || fail "$SLEEPERS sleepers with a pids limit of $PIDS_LIMIT"
[ "$(sed -n 's/^fork_errors=//p' "$LOG")" -gt 0 ] || fail "no fork failed"
check "fork stops at the pids limit ($SLEEPERS sleepers)"

grep -qx "hog=137" "$LOG" || fail "memory hog: $(grep hog= "$LOG")"
grep -qx "alive" "$LOG" || fail "shell died with the hog"
kill -0 "$PID" || fail "container init died"
check "memory hog OOM-killed (137), the container's shell and the host are fine"

# --- delete leaves nothing --------------------------------------------------------------------
rt delete --force "$ID"
[ ! -e "$ROOT/$ID" ] || fail "state dir left"
for c in memory pids unified; do
        [ ! -e "/sys/fs/cgroup/$c/tender/$ID" ] || fail "cgroup $c left"
done
[ ! -e "/sys/fs/cgroup/tender/$ID" ] || fail "cgroup left"
! grep -q "$BUNDLE" /proc/self/mountinfo || fail "mounts left"
! kill -0 "$PID" 2>/dev/null || fail "init $PID still alive"
! pgrep -f -- "--root $ROOT" >/dev/null || fail "runtime processes left"
! pgrep -u 100000 >/dev/null || fail "processes of uid 100000 left: $(pgrep -au 100000)"
check "delete leaves no state, cgroup, mount or process"
echo "all escape attempts failed"
