#!/usr/bin/env bash
# Apps that tenderd installs run in their own user namespace (docs/security.md, "User
# namespaces"), with real containers started by tenderd:
# - inside each app /proc/self/uid_map maps container 0 to a non-zero host range, a different one
#   per app, recorded in state/idmap; the shared layers stay owned by 0 on disk and show as the
#   app's root inside (idmapped mount); volumes belong to the app's range;
# - an escape from one app (a process with its host ids) can neither read nor write the other's
#   volume or rootfs, while it can its own;
# - tenderctl status names the mode;
# - the same apps start with runtime.path set to crun and to runc (when installed).
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin setpriv
SCN_TEST_LEFTOVERS_OK='^cgroup /sys/fs/cgroup/[^ ]*/tender$'
RUNTIMES=()
for rt in crun runc; do command -v "$rt" >/dev/null && RUNTIMES+=("$rt"); done

scn_init
scn_build_images 1 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
scn_publish 1
"$TENDER_BIN/tender-publish" release --layout "$SCN_WORK/oci" --ref v1 --app peer \
  --version 1.0.0 --counter 1 --repo "$SCN_WORK/repo" --health-window 1 --stop-timeout 2 \
  --volume data:/data >>"$SCN_WORK/logs/publish.log" || scn_die "publish peer failed"
scn_tuf add --app peer --version 1.0.0 || scn_die "tuf-add peer failed"
scn_start_server
scn_write_config
scn_start_agent
store=$SCN_WORK/store

deploy() { # deploy APP VERSION
  local id
  id=$(curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"target\":\"$SCN_TARGET\",\"app\":\"$1\",\"version\":\"$2\"}" \
    "$SCN_URL/mock/deployments" | jq -r .actionId)
  check "$1 $2: deployed" eq "$(scn_wait_action "$id" 90)" success
}
deploy hello 1.0.0
deploy peer 1.0.0

# The host id container 0 maps to, as the app sees it.
uid_map() { scn_runtime exec "$1" -- cat /proc/self/uid_map | awk '{print $1, $2, $3}'; }
hmap=$(uid_map hello-1_0_0)
pmap=$(uid_map peer-1_0_0)
hbase=${hmap#0 }; hbase=${hbase% *}
pbase=${pmap#0 }; pbase=${pbase% *}
check "hello: uid_map maps 0 to a host range" eq "$hmap" "0 $hbase 65536"
check "hello: the host range is not root's" ge "$hbase" 65536
check "peer: uid_map maps 0 to a host range" eq "$pmap" "0 $pbase 65536"
check "the two apps have different ranges" test "$hbase" != "$pbase"
check "gid_map too" eq "$(scn_runtime exec hello-1_0_0 -- cat /proc/self/gid_map | awk '{print $1, $2, $3}')" "0 $hbase 65536"
check "state/idmap records hello's range" eq "$(jq -r .apps.hello.base "$store/state/idmap")" "$hbase"
check "state/idmap records peer's range" eq "$(jq -r .apps.peer.base "$store/state/idmap")" "$pbase"
check "the app's root is root inside" eq "$(scn_runtime exec hello-1_0_0 -- id -u)" 0

# Layers: shared, owned by 0 on disk, the app's root inside.
layer_run=$(ls -d "$store"/layers/sha256/*/app/run | head -n 1)
check "the layer's file is owned by 0 on disk" eq "$(stat -c %u "$layer_run")" 0
check "inside, the layer's file belongs to the app's root" \
  eq "$(scn_runtime exec hello-1_0_0 -- ls -ln /app/run | awk '{print $3}')" 0
check "volume owned by the app's root" eq "$(stat -c %u:%g "$store/apps/hello/volumes/data")" "$hbase:$hbase"
wait_history() { local i; for ((i = 0; i < 100; i++)); do [[ -s $1 ]] && return 0; sleep 0.1; done; return 1; }
wait_history "$store/apps/peer/volumes/data/history"
check "the app wrote its volume as its root" eq "$(stat -c %u "$store/apps/hello/volumes/data/history")" "$hbase"
check "status names the mode" contains "$("$TENDER_BIN/tenderctl" --socket "$SCN_WORK/control.sock" status)" "User namespaces: idmapped"

# An escape from hello: a process with hello's host ids. Its own files are reachable...
as_hello() { setpriv --reuid="$hbase" --regid="$hbase" --clear-groups "$@"; }
rootfs() { echo "$store/apps/$1/releases/1.0.0/bundle/rootfs"; }
check "hello's ids read hello's volume" as_hello cat "$store/apps/hello/volumes/data/history"
check "hello's ids write hello's volume" as_hello sh -c "echo x >>'$store/apps/hello/volumes/data/escape'"
check "hello's ids read hello's rootfs" as_hello cat "$(rootfs hello)/app/run"
# ... the other app's are not.
check "hello's ids cannot read peer's volume" must_fail "Permission denied" as_hello cat "$store/apps/peer/volumes/data/history"
check "hello's ids cannot write peer's volume" must_fail "Permission denied" as_hello sh -c "echo x >>'$store/apps/peer/volumes/data/history'"
check "hello's ids cannot list peer's volume" must_fail "Permission denied" as_hello ls "$store/apps/peer/volumes/data"
check "hello's ids cannot read peer's rootfs" must_fail "Permission denied" as_hello cat "$(rootfs peer)/app/run"
check "hello's ids cannot write peer's rootfs" must_fail "Permission denied" as_hello touch "$(rootfs peer)/tmp/escape"
check "hello's ids cannot read peer's layers" must_fail "Permission denied" as_hello ls "$store/layers/sha256"

# Other runtimes: the same store, started by tenderd with runtime.path set to each.
prev_rt=
for rt in "${RUNTIMES[@]}"; do
  scn_stop_agent
  for id in hello-1_0_0 peer-1_0_0; do
    if [[ $prev_rt ]]; then "$prev_rt" --root "$SCN_WORK/runtime-$prev_rt" delete --force "$id"; else
      scn_runtime delete --force "$id"; fi >/dev/null 2>&1
  done
  prev_rt=$rt
  jq --arg p "$(command -v "$rt")" --arg r "$SCN_WORK/runtime-$rt" '.runtime = {path: $p, root: $r}' \
    "$SCN_WORK/agent.json" >"$SCN_WORK/agent.json.new" && mv "$SCN_WORK/agent.json.new" "$SCN_WORK/agent.json"
  if [[ $rt == crun && -n $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]]; then
    # crun 1.8 refuses this machine's hybrid layout (as in runtime-diff.sh and e2e/hardened.sh):
    # tenderd and the crun it runs get a mount namespace without /sys/fs/cgroup/unified.
    unshare -m --propagation private sh -c \
      'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" --config "$1"' \
      "$TENDER_BIN/tenderd" "$SCN_WORK/agent.json" >>"$SCN_WORK/logs/tenderd.log" 2>&1 &
    SCN_AGENT_PID=$!
  else
    scn_start_agent
  fi
  running() { [[ $("$rt" --root "$SCN_WORK/runtime-$rt" state hello-1_0_0 2>/dev/null | jq -r .status) == running ]]; }
  for ((i = 0; i < 300; i++)); do running && break; sleep 0.1; done
  check "$rt: hello runs" running
  map=$("$rt" --root "$SCN_WORK/runtime-$rt" exec hello-1_0_0 cat /proc/self/uid_map | awk '{print $1, $2, $3}')
  check "$rt: hello's uid_map is its range" eq "$map" "0 $hbase 65536"
  check "$rt: hello writes its volume" "$rt" --root "$SCN_WORK/runtime-$rt" exec hello-1_0_0 sh -c 'echo ok >/data/rt'
  check "$rt: as its root" eq "$(stat -c %u "$store/apps/hello/volumes/data/rt")" "$hbase"
done
scn_test_cleanup() {
  scn_stop_agent
  local id
  if [[ -n ${prev_rt:-} ]]; then
    for id in hello-1_0_0 peer-1_0_0; do
      "$prev_rt" --root "$SCN_WORK/runtime-$prev_rt" delete --force "$id" >/dev/null 2>&1
    done
  fi
  # crun and runc leave the (now empty) cgroup parent of the scenario behind.
  find /sys/fs/cgroup -maxdepth 5 -depth -type d -path "*/tender/${SCN_WORK##*/}*" \
    -exec rmdir {} + 2>/dev/null
  return 0
}
scn_test_end
