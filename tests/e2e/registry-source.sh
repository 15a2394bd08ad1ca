#!/usr/bin/env bash
# tenderd with download.registry: layers come from an OCI registry (Debian's docker-registry on
# 127.0.0.1, images pushed by skopeo from the scenario's OCI layout), release manifests and
# signatures from server-mock. server-mock's byte counters must show no blob served by it, the
# registry's access log the blob requests; a release whose image was never pushed fails with
# the registry's answer named (no fallback to the DDI artifacts).
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin docker-registry skopeo
REG_PID=
SCN_TEST_LOGS=registry.log
scn_test_cleanup() {
  if [[ -n $REG_PID ]]; then
    kill "$REG_PID" 2>/dev/null
    wait "$REG_PID" 2>/dev/null
  fi
}

scn_init
{ scn_build_images 1 2 3 && scn_publish 1 2 3; } >"$SCN_WORK/logs/images.log" 2>&1 ||
  { cat "$SCN_WORK/logs/images.log"; exit 1; }

# docker-registry on a free loopback port (its config needs a fixed one), as in
# tests/integration/registry.sh; info level for its access log.
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$SCN_WORK/registry.yml" <<YML
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $SCN_WORK/registry
http:
  addr: 127.0.0.1:$PORT
YML
docker-registry serve "$SCN_WORK/registry.yml" >"$SCN_WORK/logs/registry.log" 2>&1 &
REG_PID=$!
REG=http://127.0.0.1:$PORT
for _ in $(seq 100); do
  curl -sf "$REG/v2/" >/dev/null && break
  kill -0 "$REG_PID" 2>/dev/null || scn_die "registry did not start: $(cat "$SCN_WORK/logs/registry.log")"
  sleep 0.1
done
for v in 1 2; do # v3 is published but never pushed
  skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$SCN_WORK/oci:v$v" \
    "docker://127.0.0.1:$PORT/fleet/hello:v$v" || scn_die "skopeo copy v$v failed"
done

scn_start_server
scn_write_config
python3 - "$SCN_WORK/agent.json" "$REG" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["download"] = {"registry": {"url": sys.argv[2], "repository": "fleet/{app}"}, "retryAttempts": 2}
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY
scn_start_agent
mock_blob_bytes() {
  curl -fsS "$SCN_URL/mock/stats" | python3 -c '
import json, sys
f = json.load(sys.stdin)["files"]
print(sum(v["bytes"] for k, v in f.items() if k.startswith("blobs/")))'
}
registry_blob_gets() { grep -c 'GET /v2/fleet/hello/blobs/sha256:' "$SCN_WORK/logs/registry.log"; }

id=$(scn_deploy 1.0.0)
check "v1 from the registry: success" eq "$(scn_wait_action "$id")" success
check "v1 is current" eq "$(scn_current_version)" 1.0.0
n1=$(registry_blob_gets)
check "v1: the registry served blobs ($n1 requests)" test "$n1" -ge 1

id=$(scn_deploy 2.0.0)
check "v2 from the registry: success" eq "$(scn_wait_action "$id")" success
check "v2 is current" eq "$(scn_current_version)" 2.0.0
check "v2: more blob requests to the registry" test "$(registry_blob_gets)" -gt "$n1"
check "server-mock served no blob byte" eq "$(mock_blob_bytes)" 0

id=$(scn_deploy 3.0.0)
check "v3 (not in the registry): failure" eq "$(scn_wait_action "$id")" failure
details=$(scn_action_details "$id")
check "v3: the failure names the registry's blob" contains "$details" "/v2/fleet/hello/blobs/sha256:"
check "v3: still no blob from server-mock" eq "$(mock_blob_bytes)" 0
check "v2 still current" eq "$(scn_current_version)" 2.0.0

scn_stop_agent
scn_test_end
