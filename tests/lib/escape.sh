# shellcheck shell=bash
# The escape suite's attempts, shared by tests/integration/runtime-escape.sh (a container of
# `tender-runtime spec`'s default) and tests/e2e/hardened.sh (an app tenderd deployed): a static
# probe (tests/integration/helpers/escape-probe.c) that makes the syscalls busybox cannot, the
# attempts it makes, the shell-level ones, and a listener on the host's loopback that the
# container must not reach.

ESCAPE_ATTEMPTS="module ptrace keyctl add_key request_key raw_socket packet_socket af_alg af_vsock
mount unshare_user unshare_net clone_newuser clone3 userfaultfd io_uring kexec pivot_root swapon
setns kcore loopback"
ESCAPE_SHELL_ATTEMPTS="rootfs sysrq mknod"
ESCAPE_LISTENER_PID=
ESCAPE_PORT=

# escape_build_probe OUT: builds the static probe as OUT; 1 (the compiler's words on stderr)
# when that is impossible (no static libc).
escape_build_probe() {
  local src=${TENDER_SOURCE_DIR:?}/tests/integration/helpers/escape-probe.c
  gcc -static -O1 -o "$1" "$src" 2>"$1.err" || { head -3 "$1.err" >&2; rm -f "$1.err"; return 1; }
  rm -f "$1.err"
}

# escape_start_listener PROBE: a TCP listener on the host's 127.0.0.1 at a port the kernel picks
# (ESCAPE_PORT), pid in ESCAPE_LISTENER_PID; returns once PROBE, run on the host, reaches it
# (so a container's "denied" is the namespace's doing). escape_stop_listener ends it.
escape_start_listener() {
  local probe=$1 portfile i
  portfile=$(mktemp /tmp/tender-escape-port.XXXXXX)
  python3 -c "
import socket, sys
s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(16)
open(sys.argv[1], 'w').write(str(s.getsockname()[1]) + '\n')
while True: s.accept()[0].close()" "$portfile" &
  ESCAPE_LISTENER_PID=$!
  for i in $(seq 1 250); do
    ESCAPE_PORT=$(cat "$portfile" 2>/dev/null)
    if [[ -n $ESCAPE_PORT ]] &&
      [[ $(PORT=$ESCAPE_PORT "$probe" loopback || true) == "loopback: ALLOWED" ]]; then
      rm -f "$portfile"
      return 0
    fi
    sleep 0.02
  done
  rm -f "$portfile"
  echo "the probe cannot reach the host listener from the host" >&2
  return 1
}

escape_stop_listener() {
  [[ -z $ESCAPE_LISTENER_PID ]] || kill "$ESCAPE_LISTENER_PID" 2>/dev/null || true
  ESCAPE_LISTENER_PID=
}

# escape_script: the lines an sh in the container runs for every attempt (probe on PATH, $PORT
# the host listener's port): "<attempt>: denied ..." or "<attempt>: ALLOWED" each. mknod makes
# a node of the host's /dev/kmsg (CAP_MKNOD is in the default set; writing needs no capability)
# and writes a line to the host's kernel log through it.
escape_script() {
  cat <<SCRIPT
probe $(echo $ESCAPE_ATTEMPTS)
if touch /escape 2>/dev/null; then echo "rootfs: ALLOWED"; else echo "rootfs: denied"; fi
if { echo x >/proc/sysrq-trigger; } 2>/dev/null; then echo "sysrq: ALLOWED"; else echo "sysrq: denied"; fi
if mknod /dev/escape-kmsg c 1 11 2>/dev/null && { echo "tender escape test: mknod reached the host's kernel log" >/dev/escape-kmsg; } 2>/dev/null; then echo "mknod: ALLOWED"; else echo "mknod: denied"; fi
SCRIPT
}

# escape_not_denied LOG: each attempt whose line in LOG is not "denied", with that line (or "no
# result"); nothing when every attempt was denied.
escape_not_denied() {
  local a line
  for a in $ESCAPE_ATTEMPTS $ESCAPE_SHELL_ATTEMPTS; do
    line=$(grep "^$a: " "$1" | head -1)
    [[ $line == "$a: denied"* ]] || echo "${line:-$a: no result}"
  done
  grep "ALLOWED\|unknown attempt" "$1" || true
}
