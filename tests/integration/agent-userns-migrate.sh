#!/usr/bin/env bash
# Migration to user namespaces and the fallback (docs/security.md, "User namespaces"):
# - a store made the way tender did before user namespaces (apps.userNamespaces false: the app
#   runs as host root, its volume belongs to host uid 0; no state/idmap) holds a volume with
#   files of several owners, a setuid file, a symlink, a hard link and an owner outside the range;
# - tenderd with user namespaces is killed inside the migration (after journaling it, after the
#   3rd file, after the last one), restarted each time; then it finishes: the volume's contents
#   are unchanged, every owner moved into the app's range (the setuid bit kept, the owner outside
#   the range left), state/idmap records it done, the app runs in its namespace and writes;
# - the fallback (TENDER_TEST_NO_IDMAP: no idmapped mounts), killed once in its layer shift: one
#   device-wide range, said by tenderctl status and the log; the layers and the app's files move
#   to it, the app still runs in a user namespace, and a new release's layer is extracted at it;
# - no user namespaces at all (TENDER_TEST_NO_USERNS): a critical log line, status says so, and
#   the app is not started (never silently as host root).
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin
SCN_TEST_LEFTOVERS_OK='^cgroup /sys/fs/cgroup/[^ ]*/tender$'

scn_init
scn_build_images 1 2 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
scn_publish 1 2
scn_start_server
scn_write_config
store=$SCN_WORK/store
vol=$store/apps/hello/volumes/data
log=$SCN_WORK/logs/tenderd.log
POOL_BASE=1000000
set_userns() { # set_userns true|false
  jq --argjson v "$1" '.apps = {userNamespaces: $v}' "$SCN_WORK/agent.json" >"$SCN_WORK/agent.json.new" &&
    mv "$SCN_WORK/agent.json.new" "$SCN_WORK/agent.json"
}
deploy() {
  local id
  id=$(scn_deploy "$1")
  check "$1: deployed" eq "$(scn_wait_action "$id" 90)" success
}
# Contents of the volume without owners: names, types, modes, sizes, link targets, data; not
# history, which each start of the app appends to.
contents() {
  (cd "$vol" && find . -printf '%p %y %m %s %l\n' | sort &&
    find . -type f -exec sha256sum {} + | sort) | grep -v '\./history'
}
owners() { (cd "$vol" && find . -printf '%p %U:%G %m\n' | sort); }
uid_map() { scn_runtime exec hello-1_0_0 -- cat /proc/self/uid_map | awk '{print $1, $2, $3}'; }
running() { [[ $(scn_runtime state hello-1_0_0 2>/dev/null | jq -r .status) == running ]]; }
not_running() { ! running; }
wait_for() { local i; for ((i = 0; i < 300; i++)); do "$@" && return 0; sleep 0.1; done; return 1; }
maps_to() { [[ $(uid_map 2>/dev/null) == "0 $1 65536" ]]; }
# crash_start POINT: tenderd with the kill point set; waits for it to kill itself (a tenderd
# that never reaches the point is stopped after 60 s: exit 124, not 137).
crash_start() {
  TENDER_TEST_CRASH_AT=$1 timeout 60 "$TENDER_BIN/tenderd" --config "$SCN_WORK/agent.json" >>"$log" 2>&1
  check "killed at $1" eq "$?" 137
}

# 1. The old layout: no user namespace.
set_userns false
scn_start_agent
deploy 1.0.0
check "old layout: no state/idmap" test ! -e "$store/state/idmap"
check "old layout: the app runs as host root" eq "$(uid_map)" "0 0 4294967295"
check "old layout: volume owned by host root" eq "$(stat -c %u "$vol")" 0
mkdir -p "$vol/private/deep"
echo secret >"$vol/private/deep/file"
chown -R 1000:1000 "$vol/private"
chmod 0700 "$vol/private"
cp /bin/true "$vol/setuid" && chmod 4755 "$vol/setuid"
ln -s history "$vol/link"
ln "$vol/private/deep/file" "$vol/hardlink"
echo far >"$vol/far" && chown 70000:70000 "$vol/far"
before=$(contents)
history=$(cat "$vol/history")
scn_stop_agent

# 2. User namespaces on, killed three times inside the migration.
set_userns true
crash_start migrate-begin
check "the old container was stopped for the shift" not_running
check "the shift is journaled" test "$(jq -r .apps.hello.shiftTo "$store/state/idmap")" -gt 0
base=$(jq -r .apps.hello.base "$store/state/idmap")
check "nothing shifted yet" eq "$(stat -c %u "$vol/history")" 0
crash_start migrate-file:3
check "killed in the middle: some files shifted" test "$(owners | grep -c " $base:$base \| $((base + 1000)):$((base + 1000)) ")" -ge 3
check "killed in the middle: not all" test "$(owners | grep -c " 0:0 ")" -gt 0
check "still journaled" eq "$(jq -r .apps.hello.shiftTo "$store/state/idmap")" "$base"
crash_start migrate-end
check "still journaled after the last file" eq "$(jq -r .apps.hello.shiftTo "$store/state/idmap")" "$base"
scn_start_agent
check "migrated: the app runs in its user namespace" wait_for maps_to "$base"
check "migrated: recorded done" eq "$(jq -c .apps.hello "$store/state/idmap")" "{\"base\":$base,\"owner\":$base}"
check "migrated: volume contents intact" eq "$(contents)" "$before"
check "migrated: history kept, appended to" eq "$(head -n "$(wc -l <<<"$history")" "$vol/history")" "$history"
check "migrated: the app's range is its own" test "$base" -gt "$POOL_BASE"
check "migrated: volume owned by the app's root" eq "$(stat -c %u:%g "$vol")" "$base:$base"
check "migrated: host root's files to the app's root" eq "$(stat -c %u:%g "$vol/history")" "$base:$base"
check "migrated: uid 1000 to the app's 1000" eq "$(stat -c %u:%g "$vol/private/deep/file")" "$((base + 1000)):$((base + 1000))"
check "migrated: the symlink too" eq "$(stat -c %u "$vol/link")" "$base"
check "migrated: setuid kept" eq "$(stat -c %a "$vol/setuid")" 4755
check "migrated: an owner outside the range stays" eq "$(stat -c %u "$vol/far")" 70000
check "migrated: the app writes its volume" scn_runtime exec hello-1_0_0 -- sh -c 'echo new >>/data/history'
check "migrated: ... and reads its private dir" scn_runtime exec hello-1_0_0 -- cat /data/private/deep/file
check "migrated: the shift was logged" contains "$(cat "$log")" "Shifted the owners of the files of hello"
scn_stop_agent

# 3. The fallback: one device-wide range, layers shifted to it (killed once in that shift).
export TENDER_TEST_NO_IDMAP=1
crash_start migrate-end
check "fallback: the layer shift is journaled" eq "$(jq -r .layers.shiftTo "$store/state/idmap")" "$POOL_BASE"
scn_start_agent
check "fallback: the app still runs in a user namespace" wait_for maps_to "$POOL_BASE"
status=$("$TENDER_BIN/tenderctl" --socket "$SCN_WORK/control.sock" status)
check "fallback: status says so" contains "$status" "User namespaces: shared (fallback: one device-wide range): TENDER_TEST_NO_IDMAP is set"
check "fallback: the log says so" contains "$(cat "$log")" "User namespaces: fallback to one device-wide range"
layer_run=$(ls -d "$store"/layers/sha256/*/app/run | head -n 1)
check "fallback: layers owned by the device-wide range" eq "$(stat -c %u "$layer_run")" "$POOL_BASE"
check "fallback: volume owned by it" eq "$(stat -c %u:%g "$vol/history")" "$POOL_BASE:$POOL_BASE"
check "fallback: uid 1000 too" eq "$(stat -c %u "$vol/private/deep/file")" "$((POOL_BASE + 1000))"
check "fallback: volume contents intact" eq "$(contents)" "$before"
check "fallback: the layer shift is recorded done" eq "$(jq -c .layers "$store/state/idmap")" "{\"owner\":$POOL_BASE}"
deploy 2.0.0
check "fallback: 2.0.0 runs" eq "$(scn_current_version)" 2.0.0
check "fallback: 2.0.0 has two layers" eq "$(ls "$store/layers/sha256" | wc -l)" 2
check "fallback: 2.0.0's new layer extracted at the range" eq \
  "$(find "$store"/layers/sha256 -mindepth 2 -maxdepth 3 -printf '%U:%G\n' | sort -u)" "$POOL_BASE:$POOL_BASE"

# 4. No user namespaces at all (TENDER_TEST_NO_USERNS): said loudly, and no app starts as host
#    root. The container is gone first, as after a reboot.
scn_stop_agent
unset TENDER_TEST_NO_IDMAP
scn_runtime delete --force hello-2_0_0 >/dev/null 2>&1
TENDER_TEST_NO_USERNS=1 scn_start_agent
not_started() { grep -q "hello-2_0_0: hello: not started: user namespaces unavailable" "$log"; }
check "unavailable: the app is not started" wait_for not_started
check "unavailable: critical in the log" contains "$(cat "$log")" "tenderd critical: User namespaces unavailable: the kernel gives no user namespace"
check "unavailable: no container" eq "$(scn_runtime state hello-2_0_0 2>/dev/null | jq -r .status)" ""
check "unavailable: status says so" contains "$("$TENDER_BIN/tenderctl" --socket "$SCN_WORK/control.sock" status)" "User namespaces: unavailable"
scn_test_end
