#!/usr/bin/env bash
# End to end: one device through v1 installed, v2 updated, v3 rolled back, then a release with a
# tampered blob, one whose manifest does not match its TUF target, one onto an unencrypted store
# without store.allowUnencrypted and one over the store budget, each refused while v2 keeps
# running untouched. (tests/e2e/trust.sh has the TUF attacks.)
# Real parts only: umoci-built images, tender-publish releases signed as TUF targets, server-mock
# over HTTP on 127.0.0.1, tenderd, tender-runtime with real namespaces and mounts.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin

scn_init
scn_build_images 1 2 3 4 5 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
SCN_HEALTH_WINDOW=2 scn_publish 1 2 3 4 5 || exit 1
scn_start_server
scn_write_config
scn_start_agent

count_running() { scn_containers | grep -c ' running$'; }

# 1. First install.
id=$(scn_deploy 1.0.0)
check "v1: deployment succeeds" eq "$(scn_wait_action "$id")" success
check "v1: is current" eq "$(scn_current_version)" 1.0.0
check "v1: container running" test -n "$(scn_app_pid 1.0.0)"
# tenderd has tender-runtime log the app's output (create --output-log): without journald it is
# in the runtime's output.log (the container would inherit tenderd's descriptors otherwise).
if [[ -z ${SCN_RUNTIME:-} && ! -e /run/systemd/journal/socket ]]; then
  check "v1: the app's output is in tender-runtime's output log" \
    contains "$(cat "$SCN_WORK/runtime/hello-1_0_0/output.log" 2>/dev/null)" "hello v1: started"
fi
check "v1: feedback went through proceeding states" \
  test "$(scn_action_field "$id" 'len([f for f in a["feedback"] if f["status"]["execution"]=="proceeding"])')" -ge 2

# 2. Update.
id=$(scn_deploy 2.0.0)
check "v2: deployment succeeds" eq "$(scn_wait_action "$id")" success
check "v2: is current" eq "$(scn_current_version)" 2.0.0
check "v2: previous is v1" eq "$(basename "$(readlink "$SCN_WORK/store/apps/hello/previous")")" 1.0.0
check "v2: v1 stopped and only one container runs" eq "$(count_running)" 1
check "v2: container running" test -n "$(scn_app_pid 2.0.0)"

# 3. Broken release: must roll back to v2.
id=$(scn_deploy 3.0.0)
check "v3: deployment fails" eq "$(scn_wait_action "$id")" failure
details=$(scn_action_details "$id")
check "v3: failure names the health check" contains "$details" "health"
check "v3: failure says it rolled back to 2.0.0" contains "$details" "2.0.0"
check "v3: current is still 2.0.0" eq "$(scn_current_version)" 2.0.0
v2pid=$(scn_app_pid 2.0.0)
check "v3: v2 running again after the rollback" test -n "$v2pid"
check "v3: only one container runs" eq "$(count_running)" 1

# 4. Tampered blob: flip one byte of v4's top layer in the repository.
layer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["layers"][-1]["digest"])' \
  "$SCN_WORK/repo/apps/hello/4.0.0.json")
blob=$SCN_WORK/repo/blobs/sha256/${layer#sha256:}
python3 - "$blob" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 0xff
open(p, 'wb').write(b)
PY
id=$(scn_deploy 4.0.0)
check "tampered blob: deployment fails" eq "$(scn_wait_action "$id")" failure
details=$(scn_action_details "$id")
check "tampered blob: error names the digest" contains "$details" "$layer"
check "tampered blob: v2 untouched (same pid)" eq "$(scn_app_pid 2.0.0)" "$v2pid"
check "tampered blob: current is 2.0.0" eq "$(scn_current_version)" 2.0.0

# 5. Tampered manifest: the TUF target's bytes changed after signing (one more second of health
# window, same length), in every copy the repository serves.
for f in "$SCN_WORK"/repo/tuf/targets/apps/hello/{,*.}5.0.0.json; do
  python3 - "$f" <<'PY'
import re, sys
p = sys.argv[1]
s = open(p).read()
t = re.sub(r'("windowSeconds"\s*:\s*)2', r'\g<1>3', s, count=1)
assert t != s, "no windowSeconds 2 in " + p
open(p, 'w').write(t)
PY
done
id=$(scn_deploy 5.0.0)
check "tampered manifest: deployment fails" eq "$(scn_wait_action "$id")" failure
details=$(scn_action_details "$id")
check "tampered manifest: error says TUF verification failed" contains "$details" "TUF verification failed"
check "tampered manifest: error names the target and the hash" \
  contains "$details" 'target "apps/hello/5.0.0.json": hash mismatch'
check "tampered manifest: v2 untouched (same pid)" eq "$(scn_app_pid 2.0.0)" "$v2pid"
check "tampered manifest: current is 2.0.0" eq "$(scn_current_version)" 2.0.0

# restart_with SED: restarts tenderd with the scenario's config edited by SED ("" restores it).
cp "$SCN_WORK/agent.json" "$SCN_WORK/agent-normal.json"
restart_with() {
  scn_stop_agent
  sed "$1" "$SCN_WORK/agent-normal.json" >"$SCN_WORK/agent.json"
  scn_start_agent
}

# 6. Unencrypted store without store.allowUnencrypted: tenderd keeps running and refuses to stage.
restart_with 's/, "allowUnencrypted": true//'
id=$(scn_deploy 1.0.0)
check "unencrypted store: deployment fails" eq "$(scn_wait_action "$id")" failure
check "unencrypted store: error says not encrypted" contains "$(scn_action_details "$id")" "not encrypted"
check "unencrypted store: v2 untouched (same pid)" eq "$(scn_app_pid 2.0.0)" "$v2pid"
check "unencrypted store: current is 2.0.0" eq "$(scn_current_version)" 2.0.0

# 7. A store budget too small for v4: refused in space planning, before any byte is fetched.
restart_with 's/"allowUnencrypted": true/&, "budgetBytes": 4096/'
id=$(scn_deploy 4.0.0)
check "budget: deployment fails" eq "$(scn_wait_action "$id")" failure
check "budget: error names the budget" contains "$(scn_action_details "$id")" "the budget is 4096"
check "budget: v2 untouched (same pid)" eq "$(scn_app_pid 2.0.0)" "$v2pid"
check "budget: no pin left" test ! -e "$SCN_WORK/store/state/pins/hello"
restart_with ""

# Data written by v1 and v2 into the volume survived every swap and the rollback.
history=$(cat "$SCN_WORK/store/apps/hello/volumes/data/history" 2>/dev/null)
check "volume keeps v1's data" contains "$history" "v1 "
check "volume keeps v2's data" contains "$history" "v2 "
check "tenderctl status shows 2.0.0" contains "$("$TENDER_BIN/tenderctl" --config "$SCN_WORK/agent.json" status 2>&1)" "2.0.0"

scn_stop_agent
scn_test_end
