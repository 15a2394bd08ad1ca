# shellcheck shell=bash
# The frame of the script tests that drive tender's binaries directly, without a tenderd
# scenario (tests/lib/scenario-test.sh is the scenario tests' frame). After `set -euo pipefail`,
# a test sources this file, states what it needs with st_need_root REASON and st_need TOOL...
# (a TOOL given as a path must be an executable file there), each of which skips (exit 77)
# naming what is missing, then calls `st_begin NAME BIN...`, which
# - sets B, the build's bin dir, and SRC, the source tree, and fails when a BIN is not built;
# - makes WORK, a temp dir named after NAME, and installs an exit trap that stops the processes
#   the test put in PIDS (st_start_mock does), runs the test's own st_cleanup when it defines
#   one, and removes WORK.
# The assertions are tests/lib/checks.sh's; st_end gives the exit status of the checks.

# shellcheck source=checks.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/checks.sh"

st_need_root() { [[ $(id -u) -eq 0 ]] || skip "$1"; }

st_need() {
  local tool
  for tool in "$@"; do
    if [[ $tool == /* ]]; then
      [[ -x $tool ]] || skip "$tool is missing (scripts/install-deps)"
    else
      command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/install-deps)"
    fi
  done
}

st_begin() {
  local name=$1 bin
  shift
  B=${TENDER_BUILD_DIR:?TENDER_BUILD_DIR must be set}/bin
  SRC=${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}
  for bin in "$@"; do
    [[ -x $B/$bin ]] || fail "$B/$bin is not built"
  done
  WORK=$(mktemp -d "/tmp/tender-$name.XXXXXX")
  PIDS=()
  failures=0
  trap st_on_exit EXIT
}

st_on_exit() {
  local p
  for p in "${PIDS[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if declare -F st_cleanup >/dev/null; then st_cleanup || true; fi
  rm -rf "$WORK"
}

# st_start_mock NAME ARGS...: starts tender-server-mock with ARGS (logs in $WORK/NAME.{out,log}),
# adds it to PIDS and sets PID and URL (its first stdout line); fails when it does not listen.
st_start_mock() {
  local name=$1
  shift
  : >"$WORK/$name.out" # read below maybe before the child opens it
  "$B/tender-server-mock" "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" &
  PID=$!
  PIDS+=("$PID")
  URL=
  for _ in $(seq 100); do
    URL=$(sed -n '1s/^listening on \(http:[^ ]*\)$/\1/p' "$WORK/$name.out")
    [[ -n $URL ]] && return 0
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "FAIL: server-mock $name did not start:" >&2
  cat "$WORK/$name.log" >&2
  exit 1
}

# st_fake_tuf_repo REPO KEYS: a repository tender-publish made with a 2-of-2 root, holding
# release manifests of app hello 1.0.0 (a TUF target) and 2.0.0 (not added yet) with made-up
# digests (docs/release-manifest.md): enough for TUF tests. Its python is $PY when the test set it.
st_fake_tuf_repo() {
  local repo=$1 keys=$2 v
  mkdir -p "$repo/apps/hello"
  for v in 1.0.0:1 2.0.0:2; do
    "${PY:-python3}" - "$repo/apps/hello/${v%:*}.json" "${v%:*}" "${v#*:}" <<'PY'
import hashlib, json, sys
path, version, counter = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = lambda s: "sha256:" + hashlib.sha256(s.encode()).hexdigest()
json.dump({"schemaVersion": 1, "app": "hello", "version": version, "releaseCounter": counter,
           "image": {"manifestDigest": h(version), "config": {"entrypoint": ["/bin/app"]},
                     "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                 "digest": h("l" + version), "size": 10, "diffId": h("d" + version),
                                 "uncompressedSize": 20}]}}, open(path, "w"), indent=2)
PY
  done
  "$B/tender-publish" tuf-init --repo "$repo" --keys "$keys" --root-keys 2 --root-threshold 2 >/dev/null
  "$B/tender-publish" tuf-add --repo "$repo" --keys "$keys" --app hello --version 1.0.0
}

# st_random_key FILE...: 64 random bytes each, readable by root only (store key files).
st_random_key() {
  local f
  for f in "$@"; do
    head -c 64 /dev/urandom >"$f"
    chmod 600 "$f"
  done
}

st_end() {
  if ((failures)); then
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}
