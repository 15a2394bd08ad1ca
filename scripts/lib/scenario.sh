# shellcheck shell=bash
# The local update scenario shared by scripts/demo and tests/e2e: a sample app built from
# busybox-static into an OCI image layout with umoci, published as releases signed as TUF targets,
# served by tender-server-mock on 127.0.0.1 and installed by tenderd into a store under a temporary
# directory. Source this file, set TENDER_BIN (the build's bin dir) and call the functions.
#
# Everything it starts or mounts is recorded under $SCN_WORK and undone by scn_cleanup.

SCN_WORK=${SCN_WORK:-}
SCN_SERVER_PID=
SCN_AGENT_PID=
SCN_URL=
SCN_TARGET=device-1
# The OCI runtime tenderd drives (runtime.path): tender-runtime unless a test sets crun or runc.
SCN_RUNTIME=${SCN_RUNTIME:-}
# agent.json's "policy" object (docs/configuration.md); empty: the built-in one.
SCN_POLICY=${SCN_POLICY:-}
# Debian's python3 (install-deps installs it and its modules), not a version manager's shim that
# may come first on PATH: a pyenv shim starts several shells per call, seconds on a busy machine.
SCN_PYTHON=${SCN_PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}

scn_log() { if [[ -t 1 ]]; then printf '\033[1m==>\033[0m %s\n' "$*"; else printf '==> %s\n' "$*"; fi; }
scn_die() { printf 'scenario: %s\n' "$*" >&2; exit 1; }

scn_init() {
  SCN_WORK=$(mktemp -d /tmp/tender-scenario.XXXXXX)
  # Searchable by the apps' roots (host ids of their user namespaces) on the way to their bundles.
  chmod 0711 "$SCN_WORK"
  mkdir -p "$SCN_WORK"/{store,runtime,logs}
  # Own cgroup parent: scenarios running side by side must not share /tender/hello-1_0_0.
  export TENDER_CGROUP_PARENT=/tender/${SCN_WORK##*/}
  for b in tenderd tenderctl tender-runtime tender-publish tender-server-mock; do
    [[ -x "$TENDER_BIN/$b" ]] || scn_die "$TENDER_BIN/$b is missing: build first"
  done
}

# Writes the app's start script for version $2 into rootfs $1. v3 simulates a broken release:
# it exits with status 1 after one second, so it cannot pass the health window. The others stop
# at once on SIGTERM (a "sleep 1" in the foreground would hold every swap up to a second).
# (SCN_APP_FAST_STOP, which asked for that, is the default now.)
scn_write_app() {
  local rootfs=$1 version=$2
  mkdir -p "$rootfs/app"
  if [[ $version == 3 ]]; then
    cat >"$rootfs/app/run" <<'APP'
#!/bin/sh
echo "hello v3: starting, then failing on purpose"
sleep 1
echo "hello v3: fatal: cannot open /dev/sensor0" >&2
exit 1
APP
  else
    cat >"$rootfs/app/run" <<APP
#!/bin/sh
trap 'echo "hello v$version: stopping"; kill \$s 2>/dev/null; exit 0' TERM INT
echo "hello v$version: started as pid \$\$ on \$(hostname)"
echo "v$version \$(date +%s)" >>/data/history
sleep 2147483647 &
s=\$!
wait \$s
APP
  fi
  chmod 0755 "$rootfs/app/run"
}

# scn_build_images N...: builds the OCI image layout $SCN_WORK/oci with tag v1 (busybox + app)
# and v2..vN, each one more layer holding a new /app/run.
scn_build_images() {
  local oci=$SCN_WORK/oci b=$SCN_WORK/bundle
  umoci init --layout "$oci"
  umoci new --image "$oci:base"
  umoci unpack --image "$oci:base" "$b"
  mkdir -p "$b/rootfs/bin" "$b/rootfs/data" "$b/rootfs/tmp" "$b/rootfs/proc" "$b/rootfs/dev" "$b/rootfs/sys"
  cp /bin/busybox "$b/rootfs/bin/busybox"
  for applet in sh echo sleep cat date hostname ls ps id mount; do
    ln -sf busybox "$b/rootfs/bin/$applet"
  done
  scn_write_app "$b/rootfs" 1
  umoci repack --image "$oci:v1" "$b"
  umoci config --image "$oci:v1" --config.entrypoint /app/run --config.env PATH=/bin \
    --config.workingdir /
  rm -rf "$b"
  local prev=1
  for v in "${@:2}"; do
    umoci unpack --image "$oci:v$prev" "$b"
    scn_write_app "$b/rootfs" "$v"
    umoci repack --image "$oci:v$v" "$b"
    rm -rf "$b"
    prev=$v
  done
}

# scn_publish N...: publishes hello N.0.0 with release counter N into $SCN_WORK/repo and adds
# each one as a target of the repository's TUF repository (made on first use, scn_tuf_init).
scn_publish() {
  local v
  for v in "$@"; do
    "$TENDER_BIN/tender-publish" release --layout "$SCN_WORK/oci" --ref "v$v" --app hello \
      --version "$v.0.0" --counter "$v" --repo "$SCN_WORK/repo" \
      --health-window "${SCN_HEALTH_WINDOW:-3}" --memory 67108864 --pids 64 --volume data:/data \
      --stop-timeout 5 >"$SCN_WORK/logs/publish-$v.log"
  done
  local versions=("${@/%/.0.0}")
  scn_tuf_add "${versions[@]}"
}

# scn_tuf_init: the TUF repository beneath $SCN_WORK/repo/tuf (served by server-mock under
# /repo/tuf), its private keys in $SCN_WORK/tuf-keys, outside the served tree. Its first root
# is what the device is provisioned with (tuf.root).
scn_tuf_init() {
  [[ -f $SCN_WORK/repo/tuf/metadata/1.root.json ]] && return 0
  "$TENDER_BIN/tender-publish" tuf-init --repo "$SCN_WORK/repo" --keys "$SCN_WORK/tuf-keys" \
    >>"$SCN_WORK/logs/tuf.log" 2>&1 || { cat "$SCN_WORK/logs/tuf.log" >&2; return 1; }
  cp "$SCN_WORK/repo/tuf/metadata/1.root.json" "$SCN_WORK/tuf-root.json"
}

# scn_tuf_add VERSION...: signs hello VERSION (published by `tender-publish release`) as a TUF
# target.
scn_tuf_add() {
  scn_tuf_init || return 1
  local v
  for v in "$@"; do
    "$TENDER_BIN/tender-publish" tuf-add --repo "$SCN_WORK/repo" --keys "$SCN_WORK/tuf-keys" \
      --app hello --version "$v" >>"$SCN_WORK/logs/tuf.log" 2>&1 ||
      { tail -n 5 "$SCN_WORK/logs/tuf.log" >&2; return 1; }
  done
}

# scn_tuf CMD ARGS...: another tender-publish tuf-CMD on the scenario's TUF repository.
scn_tuf() {
  local cmd=$1
  shift
  "$TENDER_BIN/tender-publish" "tuf-$cmd" --repo "$SCN_WORK/repo" --keys "$SCN_WORK/tuf-keys" "$@" \
    >>"$SCN_WORK/logs/tuf.log" 2>&1 || { tail -n 5 "$SCN_WORK/logs/tuf.log" >&2; return 1; }
}

scn_start_server() {
  # The file exists before the server starts: the shell opens it in the child, and reading it
  # before that would fail the assignment below (and, under set -e, the whole scenario).
  : >"$SCN_WORK/logs/server.out"
  "$TENDER_BIN/tender-server-mock" --listen 127.0.0.1:0 --repo "$SCN_WORK/repo" \
    --poll-sleep 00:00:01 ${SCN_SERVER_ARGS:-} >"$SCN_WORK/logs/server.out" 2>"$SCN_WORK/logs/server.log" &
  SCN_SERVER_PID=$!
  local i
  for i in $(seq 100); do
    SCN_URL=$(sed -n 's/^listening on \(http:[^ ]*\).*/\1/p' "$SCN_WORK/logs/server.out")
    [[ -n $SCN_URL ]] && break
    kill -0 "$SCN_SERVER_PID" 2>/dev/null || scn_die "server-mock did not start: $(cat "$SCN_WORK/logs/server.log")"
    sleep 0.1
  done
  [[ -n $SCN_URL ]] || scn_die "server-mock did not say where it listens"
}

scn_write_config() {
  local policy=
  [[ -z $SCN_POLICY ]] || policy="\"policy\": $SCN_POLICY,"
  cat >"$SCN_WORK/agent.json" <<JSON
{
  "server": { "url": "$SCN_URL", "tenant": "DEFAULT", "controllerId": "$SCN_TARGET",
              "pollIntervalSeconds": 1 },
  "store": { "root": "$SCN_WORK/store", "allowUnencrypted": true },
  "tuf": { "root": "$SCN_WORK/tuf-root.json" },
  "runtime": { "path": "${SCN_RUNTIME:-$TENDER_BIN/tender-runtime}", "root": "$SCN_WORK/runtime" },
  "control": { "socket": "$SCN_WORK/control.sock" },
  $policy
  "log": { "level": "info" }
}
JSON
}

scn_start_agent() {
  "$TENDER_BIN/tenderd" --config "$SCN_WORK/agent.json" >>"$SCN_WORK/logs/tenderd.log" 2>&1 &
  SCN_AGENT_PID=$!
}

scn_stop_agent() {
  [[ -n $SCN_AGENT_PID ]] || return 0
  kill -TERM "$SCN_AGENT_PID" 2>/dev/null || true
  wait "$SCN_AGENT_PID" 2>/dev/null || true
  SCN_AGENT_PID=
}

# scn_deploy VERSION: assigns hello VERSION to the device; prints the action id.
scn_deploy() {
  curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"target\":\"$SCN_TARGET\",\"app\":\"hello\",\"version\":\"$1\"}" \
    "$SCN_URL/mock/deployments" | jq -r .actionId
}

# scn_action_field ID EXPR: a field of the action as the server recorded it (python expression on `a`).
scn_action_field() {
  curl -fsS "$SCN_URL/mock/actions/$1" | "$SCN_PYTHON" -c "import json,sys; a=json.load(sys.stdin); print($2)"
}

# scn_wait_action ID [TIMEOUT]: waits until the device closed the action; prints its result.
# Polled often with jq, not python: the wait is on every deployment's path, and a python start
# costs a loaded 2-core machine far more than the 0.1 s step.
scn_wait_action() {
  local id=$1 timeout=${2:-90} i a
  for ((i = 0; i < timeout * 10; i++)); do
    a=$(curl -fsS "$SCN_URL/mock/actions/$id" | jq -r '.status + " " + (.result // "")')
    if [[ $a == "closed "* ]]; then
      echo "${a#closed }"
      return 0
    fi
    sleep 0.1
  done
  echo timeout
}

# The closing feedback's details, one line.
scn_action_details() {
  curl -fsS "$SCN_URL/mock/actions/$1" |
    jq -r 'if (.feedback | length) > 0 then (.feedback[-1].status.details // []) | join(" / ") else "" end'
}

scn_runtime() { "${SCN_RUNTIME:-$TENDER_BIN/tender-runtime}" --root "$SCN_WORK/runtime" "$@"; }

# scn_app_pid VERSION: the host pid of hello VERSION's container while it runs, else empty.
scn_app_pid() {
  scn_runtime state "hello-${1//./_}" 2>/dev/null |
    jq -r 'if .status == "running" then .pid else "" end' 2>/dev/null || true
}

# Prints the ids of containers the runtime knows with their status, "id status" per line.
scn_containers() {
  local d id
  for d in "$SCN_WORK"/runtime/*/; do
    [[ -d $d ]] || continue
    id=$(basename "$d")
    printf '%s %s\n' "$id" "$(scn_runtime state "$id" 2>/dev/null |
      jq -r .status 2>/dev/null || echo unknown)"
  done
}

scn_current_version() {
  local link
  link=$(readlink "$SCN_WORK/store/apps/hello/current" 2>/dev/null) || { echo none; return; }
  basename "$link"
}

# Stops everything the scenario started and removes what it made: agent, server, containers,
# mounts beneath the work dir, the work dir itself.
scn_cleanup() {
  [[ -n $SCN_WORK && -d $SCN_WORK ]] || return 0
  scn_stop_agent
  if [[ -n $SCN_SERVER_PID ]]; then
    kill -TERM "$SCN_SERVER_PID" 2>/dev/null || true
    wait "$SCN_SERVER_PID" 2>/dev/null || true
    SCN_SERVER_PID=
  fi
  local d
  for d in "$SCN_WORK"/runtime/*/; do
    [[ -d $d ]] && scn_runtime delete --force "$(basename "$d")" >/dev/null 2>&1 || true
  done
  # Unmount deepest first.
  awk -v w="$SCN_WORK" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf "$SCN_WORK"
  SCN_WORK=
}

# What the scenario may leave behind by mistake, printed one item a line (empty = clean).
scn_leftovers() {
  local work=$1
  [[ -e $work ]] && echo "work dir $work"
  awk -v w="$work" 'index($5, w) == 1 { print "mount " $5 }' /proc/self/mountinfo
  pgrep -af "$work" | sed 's/^/process /' || true
  # The scenario's own cgroup parent, in every hierarchy (v2, or each v1 controller). The shared
  # /tender above it may hold other scenarios' containers; the runtime removes it once empty.
  find /sys/fs/cgroup -maxdepth 4 -type d -path "*/tender/${work##*/}" 2>/dev/null |
    sed 's/^/cgroup /'
  return 0
}
