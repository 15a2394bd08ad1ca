#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tender-runtime on cgroup v2 (issue 12, item 10): cgroup life cycle, device rules through the
# BPF device program, and the v2 limits (memory with an OOM kill, pids, cpu, hugetlb), read back
# from the cgroup files and seen from inside the container.
#
# Interface (self-contained: the QEMU tier runs it in a cgroup v2 guest, the suite on the host):
#   runtime-cgroup2.sh [TENDER_RUNTIME [BUSYBOX]]
#     TENDER_RUNTIME  tender-runtime to test; default $TENDER_BUILD_DIR/bin/tender-runtime,
#                     else tender-runtime on PATH
#     BUSYBOX         a static busybox for the rootfs the script builds; default /bin/busybox
#   Needs root, bash, coreutils, util-linux (unshare, mountpoint) and the kernel's cgroup2.
#   - /sys/fs/cgroup is cgroup2 (a pure v2 host): runs there.
#   - hybrid (/sys/fs/cgroup/unified is cgroup2): re-runs itself in a private mount namespace
#     with the unified hierarchy on /sys/fs/cgroup, so the runtime takes its pure v2 path. That
#     hierarchy usually has no controllers (they are bound to v1): the parts that need one print
#     "not run: PART: REASON" and the others run.
#   Everything it makes (a temp dir, cgroups /tender-cg2test-PID-RANDOM/...) is removed at exit.
#   Output: "ok   CHECK" or "FAIL CHECK" per check, "not run: ..." per part left out.
#   Exit status: 0 every check run passed, 1 a check failed, 77 nothing could run (the reason
#   on stdout: not root, no cgroup2, no busybox, no runtime).
set -euo pipefail

skip() { echo "skip: $*"; exit 77; }
[[ $(id -u) == 0 ]] || skip "needs root"
RT=${1:-${TENDER_BUILD_DIR:+$TENDER_BUILD_DIR/bin/tender-runtime}}
RT=${RT:-$(command -v tender-runtime || true)}
BUSYBOX=${2:-/bin/busybox}
[[ -n $RT && -x $RT ]] || skip "no tender-runtime (argument 1 or TENDER_BUILD_DIR)"
[[ -x $BUSYBOX ]] && ! ldd "$BUSYBOX" >/dev/null 2>&1 || skip "needs a static busybox at $BUSYBOX"
fstype() { stat -f -c %T "$1" 2>/dev/null || true; }
if [[ -n ${RUNTIME_CGROUP2_INNER:-} ]]; then
  mount --bind /sys/fs/cgroup/unified /sys/fs/cgroup
  echo "note: hybrid host: the unified hierarchy stands in for /sys/fs/cgroup"
elif [[ $(fstype /sys/fs/cgroup) != cgroup2fs ]]; then
  [[ $(fstype /sys/fs/cgroup/unified) == cgroup2fs ]] || skip "no cgroup2 hierarchy"
  RUNTIME_CGROUP2_INNER=1 exec unshare -m --propagation private bash "$0" "$RT" "$BUSYBOX"
fi
[[ $(fstype /sys/fs/cgroup) == cgroup2fs ]] || skip "/sys/fs/cgroup is not cgroup2 here"

CG=/sys/fs/cgroup
TOP="tender-cg2test-$$-$RANDOM"
WORK=$(mktemp -d /tmp/tender-cgroup2.XXXXXX)
failures=0
cleanup() {
  "$RT" --root "$WORK/root" delete --force c >/dev/null 2>&1 || true
  [[ -d $CG/$TOP ]] && find "$CG/$TOP" -depth -type d -exec rmdir {} + 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
eq() { [[ "$1" == "$2" ]] || { echo "     got '$1', expected '$2'"; return 1; }; }
contains() { [[ "$1" == *"$2"* ]] || { echo "     '$1' lacks '$2'"; return 1; }; }
not_run() { echo "not run: $*"; }
CONTROLLERS=$(cat "$CG/cgroup.controllers")
has_controller() { [[ " $CONTROLLERS " == *" $1 "* ]]; }
echo "note: $CG/cgroup.controllers: \"$CONTROLLERS\""

ROOTFS=$WORK/bundle/rootfs
mkdir -p "$ROOTFS"/{bin,proc,dev,tmp}
cp "$BUSYBOX" "$ROOTFS/bin/busybox"
for applet in $("$BUSYBOX" --list); do
  [[ $applet == busybox ]] || ln -s busybox "$ROOTFS/bin/$applet"
done

# config SCRIPT RESOURCES_JSON: the bundle runs `sh -c SCRIPT` (its report goes to /report in
# the rootfs) in cgroup /$TOP/c with these linux.resources.
config() {
  local script=${1//\\/\\\\}
  script=${script//\"/\\\"}
  script=${script//$'\n'/\\n}
  cat >"$WORK/bundle/config.json" <<EOF
{"ociVersion": "1.0.2",
 "process": {"args": ["sh", "-c", "$script"], "cwd": "/", "user": {"uid": 0, "gid": 0},
             "env": ["PATH=/bin"],
             "capabilities": {"bounding": ["CAP_MKNOD", "CAP_SYSLOG"],
                              "effective": ["CAP_MKNOD", "CAP_SYSLOG"],
                              "permitted": ["CAP_MKNOD", "CAP_SYSLOG"]}},
 "root": {"path": "rootfs"},
 "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "mode=755"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}],
 "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}],
           "cgroupsPath": "/$TOP/c", "resources": $2}}
EOF
  rm -f "$ROOTFS/report"
}
run() { "$RT" --root "$WORK/root" run --bundle "$WORK/bundle" c >"$WORK/run.out" 2>&1; }
report() { cat "$ROOTFS/report" 2>/dev/null || true; }
# create_start: the container in the background, running.
create_start() {
  "$RT" --root "$WORK/root" create --bundle "$WORK/bundle" c && "$RT" --root "$WORK/root" start c
}
state_pid() { "$RT" --root "$WORK/root" state c | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p'; }
wait_report() { # wait_report TEXT: until /report has TEXT (the container's script ran so far)
  local _
  for _ in $(seq 1 500); do
    grep -q "$1" "$ROOTFS/report" 2>/dev/null && return 0
    sleep 0.02
  done
  echo "     no '$1' from the container; its output: $(cat "$WORK/root/c/output.log" 2>/dev/null)"
  return 1
}
# started TEXT: create and start the container, wait until its script reported TEXT.
started() { create_start && wait_report "$1"; }
delete() { "$RT" --root "$WORK/root" delete --force c || true; }

# --- 1. life cycle: the cgroup, membership, delete kills every process and removes it.
config 'echo "cgroup $(cat /proc/self/cgroup)" >/report; sleep 300 & sleep 300 & echo forked >>/report; exec sleep 300' '{}'
check "the container started" started forked
pid=$(state_pid)
check "create made the cgroup $TOP/c" test -d "$CG/$TOP/c"
check "the init is in its cgroup.procs" grep -qx "$pid" "$CG/$TOP/c/cgroup.procs"
check "three processes in the cgroup (init and two forks)" eq "$(wc -l <"$CG/$TOP/c/cgroup.procs")" 3
# (the unified line is the only one on pure v2, the last of several on a hybrid host)
check "the container sees its v2 cgroup" contains "$(report)" "0::/$TOP/c"
procs=$(cat "$CG/$TOP/c/cgroup.procs")
delete
alive=""
for p in $procs; do [[ -d /proc/$p ]] && alive+=" $p"; done
check "delete --force killed every process of the cgroup" eq "$alive" ""
check "delete removed the cgroup and its emptied parent" test ! -e "$CG/$TOP"

# --- 2. device rules: a BPF program, default deny, the spec's rules and the default nodes.
DEVTEST='mknod /tmp/kmsg c 1 11 && echo "mknod kmsg ok" >>/report || echo "mknod kmsg denied" >>/report
head -c0 /tmp/kmsg 2>/dev/null && echo "read kmsg ok" >>/report || echo "read kmsg denied" >>/report
[ -c /tmp/kmsg ] && (: >/tmp/kmsg) 2>/dev/null && echo "write kmsg ok" >>/report || echo "write kmsg denied" >>/report
mknod /tmp/mem c 1 1 2>/dev/null && echo "mknod mem ok" >>/report || echo "mknod mem denied" >>/report
(: >/dev/null) 2>/dev/null && echo "write null ok" >>/report || echo "write null denied" >>/report
echo end >>/report'
config "$DEVTEST" '{"devices": [{"allow": false, "access": "rwm"},
  {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rm"}]}'
if run; then
  r=$(report)
  check "allowed (m): mknod c 1:11" contains "$r" "mknod kmsg ok"
  check "allowed (r): open c 1:11 to read" contains "$r" "read kmsg ok"
  check "denied (w not in the rule): open c 1:11 to write (nothing written)" contains "$r" "write kmsg denied"
  check "denied (default deny): mknod c 1:1" contains "$r" "mknod mem denied"
  check "the runtime's default nodes stay allowed: write /dev/null" contains "$r" "write null ok"
  check "delete removed the cgroup with the device program" test ! -e "$CG/$TOP"
  # The same bundle under crun and runc, where they run here (crun 1.8 cannot raise
  # RLIMIT_MEMLOCK for its program in some sandboxes): the same report, but for mknod of a node
  # no rule names, which runc and crun allow to everyone ("c *:* m", "b *:* m").
  for peer in crun runc; do
    command -v $peer >/dev/null || { echo "note: $peer not installed: not compared"; continue; }
    rm -f "$ROOTFS/report"
    if $peer --root "$WORK/root-$peer" run --bundle "$WORK/bundle" c </dev/null >"$WORK/$peer.out" 2>&1 &&
      grep -qx end "$ROOTFS/report" 2>/dev/null; then
      check "$peer reports the same device accesses" \
        eq "$(report | grep -v '^mknod mem')" "$(grep -v '^mknod mem' <<<"$r")"
    else
      echo "note: $peer could not run the bundle here, not compared: $(head -c 300 "$WORK/$peer.out")"
    fi
    $peer --root "$WORK/root-$peer" delete --force c >/dev/null 2>&1 || true
  done
  # Control: a rule allowing everything lifts the denials (they came from the rules).
  config "$DEVTEST" '{"devices": [{"allow": true, "access": "rwm"}]}'
  run || true
  check "allow-all rule: mknod c 1:1 works" contains "$(report)" "mknod mem ok"
  check "allow-all rule: c 1:11 opens to write" contains "$(report)" "write kmsg ok"
  # No device rules in the config: still default deny but the runtime's nodes, as with runc and
  # crun (who also allow mknod of any node; tender-runtime does not, see docs/runtime.md).
  config "$DEVTEST" '{}'
  run || true
  r=$(report)
  check "no device rules: mknod c 1:11 denied (default deny)" contains "$r" "mknod kmsg denied"
  check "no device rules: the runtime's default nodes stay allowed" contains "$r" "write null ok"
else
  check "run with device rules" false
  cat "$WORK/run.out"
fi

# --- 3. v1 knobs without a v2 equivalent, and network: refused naming the field.
refused() { # refused FIELD_TEXT RESOURCES
  config 'true' "$2"
  local out rc=0
  out=$("$RT" --root "$WORK/root" create --bundle "$WORK/bundle" c 2>&1) || rc=$?
  check "refused: $1" contains "rc=$rc $out" "$1"
  check "refused: exit 1" eq "$rc" 1
  check "no cgroup left after refusing $1" test ! -e "$CG/$TOP"
  "$RT" --root "$WORK/root" delete --force c >/dev/null 2>&1 || true
}
refused "linux.resources.memory.swappiness: cgroup v2 has no swappiness" '{"memory": {"swappiness": 10}}'
refused "linux.resources.memory.disableOOMKiller: cgroup v2" '{"memory": {"disableOOMKiller": true}}'
refused "linux.resources.network.classID: cgroup v2 has no net_cls controller" '{"network": {"classID": 7}}'

# --- 4. hugetlb: hugetlb.<size>.max.
if ! has_controller hugetlb; then
  not_run "hugetlb: no hugetlb in $CG/cgroup.controllers"
  refused "linux.resources.hugepageLimits: no hugetlb cgroup controller" \
    '{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}'
elif [[ ! -d /sys/kernel/mm/hugepages/hugepages-2048kB ]]; then
  not_run "hugetlb: the kernel has no 2MB huge pages"
else
  config 'echo up >/report; sleep 300' '{"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}'
  check "the container started" started up
  check "hugepageLimits -> hugetlb.2MB.max" eq "$(cat "$CG/$TOP/c/hugetlb.2MB.max")" 4194304
  delete
fi

# --- 5. memory: memory.max, memory.low, memory.swap.max = swap - limit; an OOM kill.
if ! has_controller memory; then
  not_run "memory (memory.max, memory.low, memory.swap.max, OOM kill): no memory in $CG/cgroup.controllers"
  refused "linux.resources.memory.limit: no memory cgroup controller" '{"memory": {"limit": 33554432}}'
else
  swap='"swap": 67108864, '
  # No swap controller without CONFIG_SWAP (no /proc/swaps) or with it turned off.
  [[ -e /proc/swaps ]] || swap=
  grep -qE '(^| )(swapaccount=0|cgroup_memory=noswap)' /proc/cmdline && swap=
  config 'echo up >/report; x=$(head -c 100000000 /dev/zero | tr "\0" a); echo survived >>/report' \
    "{\"memory\": {\"limit\": 33554432, ${swap}\"reservation\": 16777216}}"
  check "the container started" started up
  check "limit -> memory.max" eq "$(cat "$CG/$TOP/c/memory.max")" 33554432
  check "reservation -> memory.low" eq "$(cat "$CG/$TOP/c/memory.low")" 16777216
  if [[ -n $swap ]]; then
    check "swap -> memory.swap.max (swap - limit)" eq "$(cat "$CG/$TOP/c/memory.swap.max")" 33554432
  else
    not_run "memory.swap.max: no swap controller (swapaccount)"
  fi
  for _ in $(seq 1 1500); do
    grep -q '^oom_kill [1-9]' "$CG/$TOP/c/memory.events" && break
    sleep 0.02
  done
  check "the memory hog was OOM-killed (memory.events oom_kill)" grep -q '^oom_kill [1-9]' "$CG/$TOP/c/memory.events"
  check "it did not survive" eq "$(grep -c survived "$ROOTFS/report")" 0
  delete
fi

# --- 6. pids: pids.max holds the container's forks.
if ! has_controller pids; then
  not_run "pids (pids.max, fork refused): no pids in $CG/cgroup.controllers"
  refused "linux.resources.pids.limit: no pids cgroup controller" '{"pids": {"limit": 8}}'
else
  # The shell may die of a refused fork: the cgroup and its counters stay until delete.
  config 'echo up >/report; for i in $(seq 1 20); do sleep 300 & done 2>/dev/null; sleep 300' \
    '{"pids": {"limit": 8}}'
  check "the container started" started up
  for _ in $(seq 1 500); do
    grep -q '^max [1-9]' "$CG/$TOP/c/pids.events" 2>/dev/null && break
    sleep 0.02
  done
  check "pids.limit -> pids.max" eq "$(cat "$CG/$TOP/c/pids.max")" 8
  check "the forks stopped at the limit (pids.current <= 8)" test "$(cat "$CG/$TOP/c/pids.current")" -le 8
  check "forks were refused (pids.events max > 0)" grep -q '^max [1-9]' "$CG/$TOP/c/pids.events"
  delete
fi

# --- 7. cpu: cpu.max from quota/period, cpu.weight from shares (runc's mapping).
if ! has_controller cpu; then
  not_run "cpu (cpu.max, cpu.weight): no cpu in $CG/cgroup.controllers"
  refused "linux.resources.cpu: no cpu cgroup controller" '{"cpu": {"quota": 50000, "period": 100000}}'
else
  config 'echo up >/report; sleep 300' '{"cpu": {"shares": 1024, "quota": 50000, "period": 100000}}'
  check "the container started" started up
  check "quota/period -> cpu.max" eq "$(cat "$CG/$TOP/c/cpu.max")" "50000 100000"
  check "shares 1024 -> cpu.weight 39" eq "$(cat "$CG/$TOP/c/cpu.weight")" 39
  delete
fi

echo "$failures check(s) failed"
[[ $failures == 0 ]]
