#!/bin/bash
# Runs inside the device tier's guest (pure cgroup v2, systemd as PID 1), copied there by
# scripts/vm-test: tender-runtime (from the installed package) enforces a container's memory,
# pids and CPU limits through cgroup v2. Each container is a busybox shell that exceeds its
# limit; the cgroup's own counters (memory.events, pids.events, cpu.stat) show the kernel held
# it to the limit tender-runtime wrote. Prints ok/FAIL lines; exits with the number of failures.
set -euo pipefail
RT=(tender-runtime --root /run/tender-vm-runtime)
W=$(mktemp -d /tmp/tender-vm-limits.XXXXXX)
# Searchable by the containers' root (host uid 100000 of the default spec's user namespace).
chmod 0711 "$W"
PARENT=/tender-vm-limits-$$
failures=0
cleanup() {
  local id
  for id in mem pids cpu; do "${RT[@]}" delete --force "vm-$id-$$" >/dev/null 2>&1 || true; done
  rmdir "/sys/fs/cgroup$PARENT" 2>/dev/null || true
  [[ -n ${VM_GUEST_KEEP:-} ]] || rm -rf "$W"
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
  mkdir -p "$b/rootfs/bin" "$b/rootfs/proc" "$b/rootfs/sys" "$b/rootfs/dev" "$b/rootfs/tmp"
  cp /bin/busybox "$b/rootfs/bin/"
  for a in sh dd sleep cat echo seq true ls grep kill; do ln -s busybox "$b/rootfs/bin/$a"; done
  (cd "$b" && "${RT[@]}" spec)
  jq --arg s "$2" --arg cg "$PARENT/$1" \
    ".process.args = [\"/bin/sh\", \"-c\", \$s] | .process.terminal = false |
     .linux.cgroupsPath = \$cg | .linux.resources = ($3) |
     .mounts += [{\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\",
                  \"options\": [\"nosuid\", \"noexec\", \"nodev\", \"ro\"]}]" \
    "$b/config.json" >"$b/c.json"
  mv "$b/c.json" "$b/config.json"
}

# run NAME: runs the container to its end (foreground). With --output-log its output goes to
# the journal with the container id as SYSLOG_IDENTIFIER (docs/runtime.md, "Output"); out NAME
# prints it.
run() { "${RT[@]}" run --output-log --bundle "$W/$1" "vm-$1-$$" </dev/null || true; }
out() {
  journalctl --sync
  journalctl -o cat "SYSLOG_IDENTIFIER=vm-$1-$$"
}
le() { (($1 <= $2)) || { echo "     $1 > $2" >&2; return 1; }; }

cg=/sys/fs/cgroup
check "the guest runs pure cgroup v2" eq "$(stat -fc %T $cg)" cgroup2fs

# Memory: 32 MiB, no swap; dd's 64 MiB buffer is touched by the read from /dev/zero: the OOM
# killer ends dd (137), the shell goes on and prints the cgroup's files as the container sees them
# (its cgroup namespace: /sys/fs/cgroup is its own cgroup).
bundle mem 'dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo "dd-exit=$?"; cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.events' \
  '{"memory": {"limit": 33554432, "swap": 33554432}}'
run mem
check "memory: dd over the limit was killed (SIGKILL, 137)" grep -qx 'dd-exit=137' <(out mem)
check "memory: memory.max was 32 MiB" grep -qx 33554432 <(out mem)
check "memory: memory.events counted an OOM kill" \
  ge "$(out mem | awk '$1 == "oom_kill" {print $2}' | tail -n1 | grep . || echo 0)" 1

# Pids: 8; the shell starts 20 sleeps, the forks beyond the limit fail; pids.events' max counts
# the refusals.
# The flood runs in a child shell (busybox sh gives up at the first failed fork); the files are
# printed with builtins, as the sleeps still hold the pids.
bundle pids 'sh -c "for i in \$(seq 20); do sleep 30 & done"; for f in pids.max pids.events; do while read -r l; do echo "$l"; done </sys/fs/cgroup/$f; done' \
  '{"pids": {"limit": 8}}'
run pids
check "pids: pids.max was 8" grep -qx 8 <(out pids)
check "pids: pids.events counted refused forks (20 asked)" \
  ge "$(out pids | awk '$1 == "max" {print $2}' | tail -n1 | grep . || echo 0)" 1

# CPU: 20 ms per 100 ms; a busy loop is throttled (cpu.stat nr_throttled).
bundle cpu 'i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/cpu.stat' \
  '{"cpu": {"quota": 20000, "period": 100000}}'
run cpu
check "cpu: cpu.max was 20000 100000" grep -qx '20000 100000' <(out cpu)
check "cpu: the busy loop was throttled" \
  ge "$(out cpu | awk '$1 == "nr_throttled" {print $2}' | tail -n1 | grep . || echo 0)" 1
exit "$failures"
