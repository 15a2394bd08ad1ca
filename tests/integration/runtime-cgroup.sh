#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# cgroup v1/hybrid limits of tender-runtime, read back from the host's cgroup files and compared
# with crun and runc running the same bundle (issue 12, items 3, 4 and 6):
# - memory: limit, reservation, swap (memory plus swap), swappiness, disableOOMKiller;
# - a nested cgroupsPath (…/a/b/c) with cpuset cpus/mems: every new cpuset directory on the way
#   gets its parent's cpus/mems, the leaf the spec's;
# - blkio throttling (the blkio controller is mounted here) applied;
# - limits of a controller this machine has not mounted (hugetlb, net_cls, net_prio) fail create
#   naming the field and the controller, and leave no cgroup behind.
# crun 1.8 refuses the hybrid layout, so everything runs in a private mount namespace without
# /sys/fs/cgroup/unified (as runtime-diff.sh does).
set -euo pipefail
source "${TENDER_SOURCE_DIR:?}/tests/lib/script-test.sh"

st_need_root "needs root (cgroups)"
st_need /bin/busybox python3
[[ -d /sys/fs/cgroup/memory && -d /sys/fs/cgroup/cpuset ]] ||
  skip "no v1 memory and cpuset hierarchies (cgroup v2 host: tests/integration/runtime-cgroup2.sh)"
if [[ -z ${RUNTIME_CGROUP_INNER:-} ]]; then
  RUNTIME_CGROUP_INNER=1 exec unshare -m --propagation private bash "$0"
fi
st_begin runtime-cgroup tender-runtime

RUNTIMES=("$B/tender-runtime")
for peer in crun runc; do
  if command -v $peer >/dev/null; then RUNTIMES+=("$(command -v $peer)"); else echo "note: $peer not installed: not compared"; fi
done
TOP="tender-cgtest-$$-$RANDOM"
st_cleanup() {
  local rt
  for rt in "${RUNTIMES[@]}"; do
    "$rt" --root "$WORK/root-$(basename "$rt")" delete --force cg >/dev/null 2>&1 || true
  done
  "$B/tender-runtime" --root "$WORK/root-hybrid" delete --force cg >/dev/null 2>&1 || true
  find /sys/fs/cgroup/*/"$TOP" -depth -type d -exec rmdir {} + 2>/dev/null || true
}

mkdir -p "$WORK/bundle/rootfs/bin" "$WORK/bundle/rootfs/proc" "$WORK/bundle/rootfs/dev"
cp /bin/busybox "$WORK/bundle/rootfs/bin/"
ln -s busybox "$WORK/bundle/rootfs/bin/sh"
ln -s busybox "$WORK/bundle/rootfs/bin/sleep"
DEV=$(awk '$2 == "/" { print $1 }' /proc/self/mounts | head -1)
MAJMIN=$(stat -L -c '%t %T' "$DEV" 2>/dev/null | while read -r a b; do echo "$((16#$a)):$((16#$b))"; done)
[[ -n $MAJMIN && $MAJMIN != 0:0 ]] || MAJMIN=$(cat /sys/block/*/dev | head -1)
CPUS=$(cat /sys/fs/cgroup/cpuset/cpuset.cpus)
MEMS=$(cat /sys/fs/cgroup/cpuset/cpuset.mems)
FIRST_CPU=${CPUS%%[-,]*}

# config NAME CGROUPS_PATH EXTRA_RESOURCES_JSON: writes the bundle's config.json.
config() {
  python3 - "$WORK/bundle/config.json" "$2" "$3" <<'PY'
import json, sys
path, cgpath, extra = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
c = {"ociVersion": "1.0.2",
     "process": {"args": ["sleep", "60"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                 "env": ["PATH=/bin"]},
     "root": {"path": "rootfs"},
     "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
     "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "ipc", "uts")],
               "cgroupsPath": cgpath, "resources": extra}}
json.dump(c, open(path, "w"), indent=1)
PY
}

MEMORY='{"limit": 67108864, "reservation": 33554432, "swap": 134217728, "swappiness": 17, "disableOOMKiller": true}'
RESOURCES="{\"memory\": $MEMORY, \"cpu\": {\"cpus\": \"$FIRST_CPU\"},
  \"blockIO\": {\"throttleReadBpsDevice\": [{\"major\": ${MAJMIN%:*}, \"minor\": ${MAJMIN#*:}, \"rate\": 1048576}],
                \"throttleWriteIOPSDevice\": [{\"major\": ${MAJMIN%:*}, \"minor\": ${MAJMIN#*:}, \"rate\": 300}]}}"

# readback NAME CG: the cgroup files the config set, one "file value" a line.
readback() {
  local cg=$2 m=/sys/fs/cgroup/memory/$2 c=/sys/fs/cgroup/cpuset
  echo "soft_limit $(cat "$m/memory.soft_limit_in_bytes")"
  echo "limit $(cat "$m/memory.limit_in_bytes")"
  echo "memsw $(cat "$m/memory.memsw.limit_in_bytes")"
  echo "swappiness $(cat "$m/memory.swappiness")"
  echo "oom $(grep oom_kill_disable "$m/memory.oom_control")"
  local d=${cg%/a/b/c}
  for sub in a a/b a/b/c; do
    echo "cpuset $sub $(cat "$c/$d/$sub/cpuset.cpus") $(cat "$c/$d/$sub/cpuset.mems")"
  done
  echo "read_bps $(cat "/sys/fs/cgroup/blkio/$cg/blkio.throttle.read_bps_device")"
  echo "write_iops $(cat "/sys/fs/cgroup/blkio/$cg/blkio.throttle.write_iops_device")"
}

# The hybrid layout as it is (tender-runtime only: crun 1.8 refuses it): the same v1 limits, and
# membership in the unified hierarchy too.
# A controller bound to the unified hierarchy rather than to v1 (hugetlb here) carries its
# limits there.
if mountpoint -q /sys/fs/cgroup/unified; then
  cg="/$TOP/hybrid/a/b/c"
  hybrid=$RESOURCES
  v2_hugetlb=
  if grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers && [[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ]]; then
    v2_hugetlb=1
    hybrid="${RESOURCES%\}}, \"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 4194304}]}"
  else
    echo "note: no hugetlb controller in the unified hierarchy: hugetlb there is not run"
  fi
  config tender-runtime "$cg" "$hybrid"
  "$B/tender-runtime" --root "$WORK/root-hybrid" create --bundle "$WORK/bundle" cg 2>"$WORK/hybrid.err" ||
    fail "hybrid create: $(cat "$WORK/hybrid.err")"
  readback tender-runtime "$cg" >"$WORK/hybrid.readback"
  if [[ -n $v2_hugetlb ]]; then
    check "hybrid: hugepageLimits -> the unified hierarchy's hugetlb.2MB.max" \
      eq "$(cat "/sys/fs/cgroup/unified$cg/hugetlb.2MB.max")" 4194304
  fi
  pid=$("$B/tender-runtime" --root "$WORK/root-hybrid" state cg | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
  check "hybrid: the init is in the unified cgroup too" \
    grep -qx "$pid" "/sys/fs/cgroup/unified$cg/cgroup.procs"
  "$B/tender-runtime" --root "$WORK/root-hybrid" delete --force cg
  check "hybrid: delete removed the unified cgroup" test ! -e "/sys/fs/cgroup/unified/$TOP"
  umount /sys/fs/cgroup/unified
else
  echo "note: no /sys/fs/cgroup/unified: the hybrid layout is not run"
fi

for rt in "${RUNTIMES[@]}"; do
  name=$(basename "$rt")
  cg="/$TOP/$name/a/b/c"
  config "$name" "$cg" "$RESOURCES"
  if ! "$rt" --root "$WORK/root-$name" create --bundle "$WORK/bundle" cg >"$WORK/$name.create" 2>&1; then
    fail "$name create: $(cat "$WORK/$name.create")"
  fi
  readback "$name" "$cg" >"$WORK/$name.readback"
  "$rt" --root "$WORK/root-$name" delete --force cg
done
cat "$WORK/tender-runtime.readback"
tr=$(cat "$WORK/tender-runtime.readback")
check "reservation -> memory.soft_limit_in_bytes" contains "$tr" "soft_limit 33554432"
check "swap -> memory.memsw.limit_in_bytes" contains "$tr" "memsw 134217728"
check "swappiness -> memory.swappiness" contains "$tr" "swappiness 17"
check "disableOOMKiller -> memory.oom_control" contains "$tr" "oom oom_kill_disable 1"
check "a, a/b got the parent's cpus/mems" contains "$tr" "cpuset a/b $CPUS $MEMS"
check "the leaf got the spec's cpus" contains "$tr" "cpuset a/b/c $FIRST_CPU $MEMS"
check "throttleReadBpsDevice applied" contains "$tr" "read_bps $MAJMIN 1048576"
check "throttleWriteIOPSDevice applied" contains "$tr" "write_iops $MAJMIN 300"
if [[ -e $WORK/hybrid.readback ]]; then
  check "hybrid: the same v1 cgroup files as v1 only" diff -u "$WORK/hybrid.readback" "$WORK/tender-runtime.readback"
fi
for rt in "${RUNTIMES[@]:1}"; do
  name=$(basename "$rt")
  check "the same cgroup files as $name" diff -u "$WORK/$name.readback" "$WORK/tender-runtime.readback"
done
check "delete removed the nested cgroups" eq "$(ls -d /sys/fs/cgroup/*/"$TOP"/tender-runtime 2>/dev/null)" ""

# Limits of controllers this machine has not mounted: refused, naming field and controller.
refused() { # refused CONTROLLER RESOURCES_JSON FIELD
  local controller=$1 resources=$2 field=$3
  if grep -qw "$controller" <(awk '$3 == "cgroup" { print $4 }' /proc/self/mounts | tr , ' '); then
    echo "note: $controller is mounted here: its refusal is not tested"
    return 0
  fi
  config tender-runtime "/$TOP/refused" "$resources"
  check "$field refused naming $controller" fails_with "$field: no $controller cgroup controller" \
    "$B/tender-runtime" --root "$WORK/root-tender-runtime" create --bundle "$WORK/bundle" refused
  check "no cgroup left after the refused $controller limit" \
    eq "$(ls -d /sys/fs/cgroup/*/"$TOP"/refused 2>/dev/null)" ""
  check "no state left after the refused $controller limit" \
    eq "$(ls "$WORK/root-tender-runtime")" ""
}
refused hugetlb '{"memory": {"limit": 67108864}, "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]}' \
  linux.resources.hugepageLimits
refused net_cls '{"network": {"classID": 1048577}}' linux.resources.network.classID
refused net_prio '{"network": {"priorities": [{"name": "lo", "priority": 5}]}}' \
  linux.resources.network.priorities
st_end
