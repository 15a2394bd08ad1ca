#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tender's OCI registry blob source against a real docker-registry (Debian's docker/distribution)
# on 127.0.0.1: an image built with umoci is pushed with skopeo, then test_registry's
# real_registry case fetches every blob of its manifest (layers and config) through
# tender_registry_fetch_blob and re-hashes them. The registry runs without auth; the Bearer
# token flow is tested against the test peer in tests/unit/test_registry.c.
set -euo pipefail

skip() { echo "SKIP: $*"; exit 77; }
[[ $EUID == 0 ]] || skip "needs root (umoci unpack)"
for tool in docker-registry skopeo umoci jq curl python3; do
  command -v "$tool" >/dev/null || skip "$tool is missing"
done
: "${TENDER_BUILD_DIR:?}"
TEST_BIN=$TENDER_BUILD_DIR/tests/test_registry
[[ -x $TEST_BIN ]] || { echo "$TEST_BIN is missing: build first" >&2; exit 1; }

WORK=$(mktemp -d /tmp/tender-registry.XXXXXX)
REG_PID=
cleanup() {
  if [[ -n $REG_PID ]]; then
    kill "$REG_PID" 2>/dev/null || true
    wait "$REG_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# A free loopback port (the registry needs a fixed one in its config).
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/config.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $WORK/storage
http:
  addr: 127.0.0.1:$PORT
EOF
docker-registry serve "$WORK/config.yml" >"$WORK/registry.log" 2>&1 &
REG_PID=$!
URL=http://127.0.0.1:$PORT
for _ in $(seq 100); do
  curl -sf "$URL/v2/" >/dev/null && break
  kill -0 "$REG_PID" 2>/dev/null || { cat "$WORK/registry.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf "$URL/v2/" >/dev/null || { echo "registry did not come up" >&2; exit 1; }

# An image of two layers: a small text file, then 1 MiB of random bytes.
OCI=$WORK/oci
umoci init --layout "$OCI"
umoci new --image "$OCI:base"
umoci unpack --image "$OCI:base" "$WORK/b1"
echo "hello from tender's registry test" >"$WORK/b1/rootfs/hello.txt"
umoci repack --image "$OCI:v1" "$WORK/b1"
umoci unpack --image "$OCI:v1" "$WORK/b2"
head -c 1048576 /dev/urandom >"$WORK/b2/rootfs/random.bin"
umoci repack --image "$OCI:v1" "$WORK/b2"

skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$OCI:v1" \
  "docker://127.0.0.1:$PORT/tender/hello:v1"
skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$PORT/tender/hello:v1" >"$WORK/manifest.json"
BLOBS=$(jq -r '([.config] + .layers)[] | "\(.digest):\(.size)"' "$WORK/manifest.json" | tr '\n' ' ')
NLAYERS=$(jq '.layers | length' "$WORK/manifest.json")
[[ $NLAYERS == 2 ]] || { echo "expected 2 layers, manifest has $NLAYERS" >&2; exit 1; }
echo "blobs: $BLOBS"

OUT=$WORK/test.out
TENDER_TEST_DATA=${TENDER_SOURCE_DIR:-}/tests/data TENDER_REGISTRY_URL=$URL TENDER_REGISTRY_REPO=tender/hello TENDER_REGISTRY_BLOBS=$BLOBS \
  "$TEST_BIN" >"$OUT" 2>&1 || { cat "$OUT"; exit 1; }
cat "$OUT"
grep -q '^ok   real_registry' "$OUT" || { echo "real_registry did not run" >&2; exit 1; }
grep -q 'fetched 3 blobs' "$OUT" || { echo "expected 3 blobs fetched" >&2; exit 1; }
echo "registry: OK"
