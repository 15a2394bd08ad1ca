#!/bin/bash
# Runs inside the device tier's guest (pure cgroup v2, systemd as PID 1), copied there by
# scripts/vm-test: tender-runtime (from the installed package) enforces a container's memory,
# pids and CPU limits through cgroup v2. Each container is a busybox shell that exceeds its
# limit; the cgroup's own counters (memory.events, pids.events, cpu.stat) show the kernel held
# it to the limit tender-runtime wrote. Prints ok/FAIL lines; exits with the number of failures.
set -euo pipefail
RT=(tender-runtime --root /run/tender-vm-runtime)
W=$(mktemp -d /tmp/tender-vm-limits.XXXXXX)
PARENT=/tender-vm-limits-$$
failures=0
cleanup() {
  local id
  for id in mem pids cpu; do "${RT[@]}" delete --force "vm-$id-$$" >/dev/null 2>&1 || true; done
  rmdir "/sys/fs/cgroup$PARENT" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
ge() { (($1 >= $2)) || { echo "     $1 < $2" >&2; return 1; }; }
eq() { [[ $1 == "$2" ]] || { echo "     got '$1', expected '$2'" >&2; return 1; }; }

# bundle NAME SCRIPT JQ: a bundle whose process runs SCRIPT under busybox sh, resources by JQ.
bundle() {
  local b=$W/$1
  mkdir -p "$b/rootfs/bin"
  cp /bin/busybox "$b/rootfs/bin/"
  for a in sh dd sleep cat echo seq true; do ln -s busybox "$b/rootfs/bin/$a"; done
  (cd "$b" && "${RT[@]}" spec)
  jq --arg s "$2" --arg cg "$PARENT/$1" \
    ".process.args = [\"/bin/sh\", \"-c\", \$s] | .process.terminal = false |
     .linux.cgroupsPath = \$cg | .linux.resources = ($3)" "$b/config.json" >"$b/c.json"
  mv "$b/c.json" "$b/config.json"
}

# run NAME: runs the container to its end (foreground); prints its exit status.
run() {
  local rc=0
  "${RT[@]}" run --bundle "$W/$1" "vm-$1-$$" >"$W/$1.out" 2>&1 </dev/null || rc=$?
  echo "$rc"
}

cg=/sys/fs/cgroup
check "the guest runs pure cgroup v2" eq "$(stat -fc %T $cg)" cgroup2fs

# Memory: 32 MiB; dd's 64 MiB buffer is touched by the read from /dev/zero: the OOM killer.
# The events are read from a watcher inside the container's cgroup before it goes away.
bundle mem 'dd if=/dev/zero of=/dev/null bs=64M count=1; echo survived' \
  '{"memory": {"limit": 33554432, "swap": 33554432}}'
(
  for _ in $(seq 600); do
    [[ -f $cg$PARENT/mem/memory.events ]] && break
    sleep 0.05
  done
  while [[ -f $cg$PARENT/mem/memory.events ]]; do
    cat "$cg$PARENT/mem/memory.max" "$cg$PARENT/mem/memory.events" >"$W/mem.events.tmp" 2>/dev/null &&
      mv "$W/mem.events.tmp" "$W/mem.events"
    sleep 0.05
  done
) &
watch=$!
rc=$(run mem)
wait "$watch" || true
check "memory: the container over its limit did not survive (exit $rc)" test "$rc" != 0
check "memory: the container's output lacks 'survived'" bash -c "! grep -q survived '$W/mem.out'"
check "memory: memory.max was 32 MiB" eq "$(head -n1 "$W/mem.events" 2>/dev/null)" 33554432
check "memory: memory.events counted an OOM kill" \
  ge "$(awk '$1 == "oom_kill" {print $2}' "$W/mem.events" 2>/dev/null || echo 0)" 1

# Pids: 8; the shell starts 20 sleeps, forks fail; pids.events' max counts the refusals.
bundle pids 'n=0; for i in $(seq 20); do sleep 30 & n=$((n+1)); done 2>/dev/null; cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids.events 2>/dev/null; echo started; kill $(jobs -p) 2>/dev/null; true' \
  '{"pids": {"limit": 8}}'
"${RT[@]}" run --bundle "$W/pids" "vm-pids-$$" >"$W/pids.out" 2>&1 </dev/null || true
# The container sees its own cgroup at /sys/fs/cgroup when it has a cgroup namespace; read the
# host's view too while it runs: the refusals are what counts.
check "pids: the container ran" grep -q started "$W/pids.out"
maxev=$(awk '$1 == "max" {print $2}' "$W/pids.out" | tail -n1)
check "pids: pids.events counted refused forks (limit 8, 20 asked)" ge "${maxev:-0}" 1

# CPU: 20 ms per 100 ms; a busy loop for a while is throttled (cpu.stat nr_throttled).
bundle cpu 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.stat' \
  '{"cpu": {"quota": 20000, "period": 100000}}'
"${RT[@]}" run --bundle "$W/cpu" "vm-cpu-$$" >"$W/cpu.out" 2>&1 </dev/null || true
check "cpu: cpu.max was 20000 100000" grep -qx '20000 100000' "$W/cpu.out"
thr=$(awk '$1 == "nr_throttled" {print $2}' "$W/cpu.out")
check "cpu: the busy loop was throttled (nr_throttled $thr)" ge "${thr:-0}" 1
exit "$failures"
