#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Hardened by default (docs/security.md), with apps that tenderd itself installs:
# - under tender-runtime, crun and runc (runtime.path): the app runs with Docker's 14
#   capabilities (none inheritable or ambient), seccomp filter mode, no_new_privs, a read-only
#   root, only lo in its network, and the limits its release asks for, read back from its
#   cgroups (memory, reservation, swap, CPU quota and weight, cpuset, pids); the escape suite's
#   attempts (tests/lib/escape.sh) all fail inside it;
# - two apps reach neither each other's listening socket nor a service on the host's 127.0.0.1;
# - releases asking for more than agent.json's policy allows (a capability, a device, the host's
#   network, a writable root, seccomp unconfined, memory above the per-app cap or the sum over
#   apps) fail before the swap, the server gets the reason naming the policy key, the running
#   version keeps its pid; what the policy allows (CAP_NET_ADMIN) is granted;
# - an I/O weight the machine cannot apply fails the start with a reason, never silently.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin gcc crun runc
# shellcheck source=../lib/escape.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/escape.sh"

DEFAULT_CAPS=00000000a80425fb # Docker's 14 (CAP_CHOWN ... CAP_SETFCAP)
NET_ADMIN_BIT=$((1 << 12))
MIB=1048576
APP_PORT=$((20000 + RANDOM % 20000)) # inside hello's own network namespace
IMAGES=$(mktemp -d /tmp/tender-hardened-images.XXXXXX)
SCN_TEST_LOGS="publish.log"
POLICY='{"capabilities": ["CAP_NET_ADMIN"],
         "resources": {"appMax": {"memoryBytes": 167772160},
                       "total": {"memoryBytes": 209715200}}}'

scn_test_cleanup() {
  escape_stop_listener
  rm -rf "$IMAGES"
}

# The image: busybox, the escape probe and two app scripts. hello runs the escape attempts,
# listens on APP_PORT in its own network and checks that it can reach itself there; other
# tries hello's port and the host's listener.
build_image() {
  local b=$IMAGES/bundle oci=$IMAGES/oci
  umoci init --layout "$oci" && umoci new --image "$oci:base" && umoci unpack --image "$oci:base" "$b" ||
    return 1
  mkdir -p "$b/rootfs"/{bin,app,data,tmp,proc,dev,sys}
  cp /bin/busybox "$b/rootfs/bin/busybox"
  for applet in sh echo sleep cat touch nc mknod grep kill; do
    ln -sf busybox "$b/rootfs/bin/$applet"
  done
  escape_build_probe "$b/rootfs/bin/probe" || return 1
  cat >"$b/rootfs/app/hello" <<APP
#!/bin/sh
trap 'kill \$s \$l 2>/dev/null; exit 0' TERM INT
{
$(escape_script)
} >/data/escape.log 2>&1
(while :; do echo hi | nc -l -p \$APP_PORT >/dev/null 2>&1; done) &
l=\$!
sleep 0.3
PORT=\$APP_PORT probe loopback >/data/self.log 2>&1
sleep 2147483647 &
s=\$!
wait \$s
APP
  cat >"$b/rootfs/app/other" <<APP
#!/bin/sh
trap 'kill \$s 2>/dev/null; exit 0' TERM INT
{ PORT=\$APP_PORT probe loopback; probe loopback; } >/data/net.log 2>&1
sleep 2147483647 &
s=\$!
wait \$s
APP
  chmod 0755 "$b/rootfs/app/hello" "$b/rootfs/app/other"
  umoci repack --image "$oci:v1" "$b" &&
    umoci config --image "$oci:v1" --config.entrypoint /app/hello --config.env PATH=/bin \
      --config.workingdir / && rm -rf "$b"
}

# publish APP VERSION COUNTER OPTION...: a release of the image into the scenario's repo.
publish() {
  local app=$1 version=$2 counter=$3
  shift 3
  "$TENDER_BIN/tender-publish" release --layout "$IMAGES/oci" --ref v1 --app "$app" \
    --version "$version" --counter "$counter" --repo "$SCN_WORK/repo" --health-window 2 \
    --volume data:/data --stop-timeout 2 --env "PORT=$ESCAPE_PORT" --env "APP_PORT=$APP_PORT" \
    "$@" >>"$SCN_WORK/logs/publish.log" 2>&1 && scn_tuf add --app "$app" --version "$version"
}

# deploy APP VERSION: assigns it and waits; the action's id in ACTION, its result in RESULT.
deploy() {
  ACTION=$(curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"target\":\"$SCN_TARGET\",\"app\":\"$1\",\"version\":\"$2\"}" \
    "$SCN_URL/mock/deployments" | jq -r .actionId)
  RESULT=$(scn_wait_action "$ACTION" 120)
  [[ $RESULT == success ]] || echo "     $1 $2: $RESULT: $(scn_action_details "$ACTION")"
}

status_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
app_pid() { scn_runtime state "$1" 2>/dev/null | jq -r .pid; }
volume() { echo "$SCN_WORK/store/apps/$1/volumes/data/$2"; }

# cgroup_file PID CONTROLLER FILE: the file of the process's cgroup (v1 controller or v2).
cgroup_file() {
  local pid=$1 ctl=$2 file=$3 path
  if [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]]; then
    path=$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")
    cat "/sys/fs/cgroup$path/$file"
  else
    path=$(awk -F: -v c="$ctl" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' \
      "/proc/$pid/cgroup")
    cat "/sys/fs/cgroup/$ctl$path/$file"
  fi
}

# Limits the release asks for, read back from the cgroups of its process.
check_limits() {
  local pid=$1 v2=false
  [[ $(stat -fc %T /sys/fs/cgroup) == cgroup2fs ]] && v2=true
  if $v2; then
    check "$RT: memory.max" eq "$(cgroup_file "$pid" memory memory.max)" $((64 * MIB))
    check "$RT: memory.low" eq "$(cgroup_file "$pid" memory memory.low)" $((32 * MIB))
    check "$RT: memory.swap.max" eq "$(cgroup_file "$pid" memory memory.swap.max)" $((64 * MIB))
    check "$RT: cpu.max" eq "$(cgroup_file "$pid" cpu cpu.max)" "50000 100000"
    check "$RT: cpu.weight" eq "$(cgroup_file "$pid" cpu cpu.weight)" 200
  else
    check "$RT: memory limit" eq "$(cgroup_file "$pid" memory memory.limit_in_bytes)" $((64 * MIB))
    check "$RT: memory reservation" eq \
      "$(cgroup_file "$pid" memory memory.soft_limit_in_bytes)" $((32 * MIB))
    check "$RT: memory+swap" eq "$(cgroup_file "$pid" memory memory.memsw.limit_in_bytes)" \
      $((128 * MIB))
    check "$RT: cpu quota" eq "$(cgroup_file "$pid" cpu cpu.cfs_quota_us)" 50000
    check "$RT: cpu period" eq "$(cgroup_file "$pid" cpu cpu.cfs_period_us)" 100000
    # weight 200 as shares: the smallest value runtimes map back to 200 on cgroup v2
    check "$RT: cpu shares" eq "$(cgroup_file "$pid" cpu cpu.shares)" 5220
  fi
  check "$RT: cpuset" eq "$(cgroup_file "$pid" cpuset cpuset.cpus)" 0
  check "$RT: pids" eq "$(cgroup_file "$pid" pids pids.max)" 64
}

# The app hello 1.0.0 as the runtime RT runs it.
check_hardened() {
  local pid=$1 log
  check "$RT: CapEff is the default set" eq "$(status_field "$pid" CapEff)" $DEFAULT_CAPS
  check "$RT: CapBnd is the default set" eq "$(status_field "$pid" CapBnd)" $DEFAULT_CAPS
  check "$RT: CapPrm is the default set" eq "$(status_field "$pid" CapPrm)" $DEFAULT_CAPS
  check "$RT: no inheritable capability" eq "$(status_field "$pid" CapInh)" 0000000000000000
  check "$RT: no ambient capability" eq "$(status_field "$pid" CapAmb)" 0000000000000000
  check "$RT: seccomp filter mode" eq "$(status_field "$pid" Seccomp)" 2
  check "$RT: no_new_privs" eq "$(status_field "$pid" NoNewPrivs)" 1
  check "$RT: only lo in its network" eq \
    "$(tail -n +3 "/proc/$pid/net/dev" | cut -d: -f1 | tr -d ' ' | tr '\n' ' ')" "lo "
  check "$RT: own cgroup namespace" \
    test "$(readlink "/proc/$pid/ns/cgroup")" != "$(readlink /proc/self/ns/cgroup)"
  check_limits "$pid"
  log=$(volume hello escape.log)
  check "$RT: the escape attempts ran" test -s "$log"
  check "$RT: every escape attempt denied (read-only root among them)" \
    eq "$(escape_not_denied "$log" 2>&1)" ""
  check "$RT: hello reaches its own listener (the check below has teeth)" \
    contains "$(cat "$(volume hello self.log)" 2>/dev/null)" "loopback: ALLOWED"
}

# crun 1.8 refuses a hybrid layout whose cgroup2 hierarchy has controllers (this machine's has
# hugetlb): as in tests/integration/runtime-diff.sh, tenderd (and the crun it runs) then works
# in a mount namespace of its own without /sys/fs/cgroup/unified.
start_agent_without_unified() {
  unshare -m --propagation private sh -c \
    'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" --config "$1"' \
    "$TENDER_BIN/tenderd" "$SCN_WORK/agent.json" >>"$SCN_WORK/logs/tenderd.log" 2>&1 &
  SCN_AGENT_PID=$!
}

unified_has_controllers() { [[ -n $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null) ]]; }

# One scenario under runtime RT (a path): hello 1.0.0 installed by tenderd, checked.
run_under() {
  RT=$1
  SCN_RUNTIME=$2
  SCN_POLICY=$POLICY
  scn_init
  scn_tuf_init
  publish hello 1.0.0 1 --memory $((64 * MIB)) --memory-reservation $((32 * MIB)) \
    --memory-swap $((128 * MIB)) --cpus 0.5 --cpu-weight 200 --cpuset 0 --pids 64
  scn_start_server
  scn_write_config
  if [[ $RT == crun ]] && unified_has_controllers; then
    start_agent_without_unified
  else
    scn_start_agent
  fi
  deploy hello 1.0.0
  check "$RT: hello 1.0.0 installed" eq "$RESULT" success
  HELLO_PID=$(app_pid hello-1_0_0)
  check "$RT: hello runs" test -n "$HELLO_PID" -a -d "/proc/${HELLO_PID:-none}"
  check_hardened "$HELLO_PID"
}

build_image || fail "cannot build the test image"
escape_build_probe "$IMAGES/probe-host" && escape_start_listener "$IMAGES/probe-host" ||
  fail "cannot start the host listener"

for runtime in crun runc; do
  run_under "$runtime" "$(command -v "$runtime")"
  scn_cleanup
done
run_under tender-runtime "$TENDER_BIN/tender-runtime"

# --- two apps: no traffic between them, none to the host ---------------------------------------
publish other 1.0.0 1 --memory $((64 * MIB)) --pids 64 --arg /app/other
deploy other 1.0.0
check "other 1.0.0 installed next to hello" eq "$RESULT" success
for _ in $(seq 50); do [[ -s $(volume other net.log) ]] && break; sleep 0.1; done
NET=$(cat "$(volume other net.log)" 2>/dev/null)
check "other cannot reach hello's socket nor the host's 127.0.0.1" \
  eq "$(grep -c "loopback: denied" <<<"$NET")" 2

# --- the policy ---------------------------------------------------------------------------------
# refused VERSION COUNTER REASON OPTION...: the release fails before the swap, the server hears
# why (REASON: the policy key), hello 1.0.0 runs on with the same pid.
refused() {
  local version=$1 counter=$2 reason=$3 details
  shift 3
  publish hello "$version" "$counter" --memory $((64 * MIB)) --pids 64 "$@"
  deploy hello "$version" >/dev/null
  details=$(scn_action_details "$ACTION")
  check "$version ($*): refused" eq "$RESULT" failure
  check "$version: the reason names $reason" contains "$details" "$reason"
  check "$version: refused before the swap, 1.0.0 runs on (same pid)" \
    eq "$(scn_current_version) $(app_pid hello-1_0_0)" "1.0.0 $HELLO_PID"
  check "$version: nothing of it was started" eq "$(app_pid "hello-${version//./_}")" ""
}
refused 2.0.0 2 "policy.capabilities" --cap-add CAP_SYS_ADMIN
check "  ... and the capability" contains "$(scn_action_details "$ACTION")" CAP_SYS_ADMIN
refused 3.0.0 3 "policy.devices" --device /dev/vda
refused 4.0.0 4 "policy.hostNetwork" --network host
refused 5.0.0 5 "policy.writableRootfs" --writable-rootfs
refused 6.0.0 6 "policy.seccomp" --seccomp unconfined
refused 7.0.0 7 "policy.resources.appMax.memoryBytes" --memory $((180 * MIB))
refused 8.0.0 8 "policy.resources.total.memoryBytes" --memory $((150 * MIB))

publish hello 9.0.0 9 --memory $((64 * MIB)) --pids 64 --cap-add CAP_NET_ADMIN
deploy hello 9.0.0
check "9.0.0 with CAP_NET_ADMIN, which the policy allows: installed" eq "$RESULT" success
PID=$(app_pid hello-9_0_0)
check "9.0.0 has the default set plus CAP_NET_ADMIN" \
  eq "$(status_field "$PID" CapEff)" "$(printf '%016x' $((0xa80425fb | NET_ADMIN_BIT)))"

# --- a limit the machine cannot apply is an error, not a silent no-op ---------------------------
publish hello 10.0.0 10 --memory $((64 * MIB)) --pids 64 --io-weight 300
deploy hello 10.0.0 >/dev/null
if grep -qs . /sys/fs/cgroup/blkio/blkio.weight /sys/fs/cgroup/blkio/blkio.bfq.weight \
  /sys/fs/cgroup/io.weight /sys/fs/cgroup/io.bfq.weight 2>/dev/null; then
  check "10.0.0 with an I/O weight: installed" eq "$RESULT" success
else
  check "10.0.0 with an I/O weight this machine cannot apply: not installed" eq "$RESULT" failure
  check "  ... the reason names blockIO.weight" \
    contains "$(scn_action_details "$ACTION")" "blockIO.weight"
  check "  ... 9.0.0 runs on" eq "$(scn_current_version)" 9.0.0
fi

scn_test_end
