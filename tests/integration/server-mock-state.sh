#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tender-server-mock's state file and management token, as a user runs the binary (issue 15):
# a deployment and its feedback survive SIGKILL and a restart on the same --state; the file is
# written with mode 0600 and no temp file is left; a corrupt file stops the server with exit 1
# and a message naming the file and the member, and the file is left as it was (never reset);
# an unwritable place fails at start; --mgmt-token guards /mock/ (not DDI) and the rollout CLI
# sends it. The rollouts themselves: tests/unit/test_rollout.c and tests/e2e/fleet.sh.
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_need curl jq
st_begin server-mock-state tender-server-mock
BIN=$B/tender-server-mock
REPO=$WORK/repo
STATE=$WORK/state/fleet.json
mkdir -p "$REPO/apps/hello" "$WORK/state"
echo '{}' >"$REPO/apps/hello/1.0.0.json" # the management API only checks that it exists
TOKEN=tok-$RANDOM
auth=(-H "Authorization: Bearer $TOKEN")
quiet_ok() { "$@" >/dev/null; }
code() { curl -sS -o "$WORK/body" -w '%{http_code}' "$@"; }
FB='{"status":{"execution":"closed","result":{"finished":"success"},"details":["installed"]}}'

st_start_mock one --repo "$REPO" --listen 127.0.0.1:0 --state "$STATE" --mgmt-token "$TOKEN"
check "the state file is made at start" test -f "$STATE"
check "the state file is 0600" eq "$(stat -c %a "$STATE")" 600
check "/mock/ without the token is 401" eq "$(code "$URL/mock/actions")" 401
check "/mock/ with a wrong token is 401" eq "$(code -H 'Authorization: Bearer x' "$URL/mock/actions")" 401
check "DDI needs no management token" eq "$(code "$URL/DEFAULT/controller/v1/dev1")" 200
check "a deployment with the token is 201" eq "$(code "${auth[@]}" -X POST \
  -d '{"target":"dev1","app":"hello","version":"1.0.0"}' "$URL/mock/deployments")" 201
check "the device's feedback is 200" eq "$(code -X POST -d "$FB" \
  "$URL/DEFAULT/controller/v1/dev1/deploymentBase/1/feedback")" 200
check "the CLI sends --token" quiet_ok "$BIN" rollout --url "$URL" --token "$TOKEN" device dev1
check "the CLI without the token fails with the server's message" \
  fails_with "management API needs" env -u TENDER_MOCK_TOKEN "$BIN" rollout --url "$URL" device dev1
kill -KILL "$PID"
wait "$PID" 2>/dev/null || true
check "no temp file is left beside the state file" eq "$(ls "$WORK/state")" fleet.json

st_start_mock two --repo "$REPO" --listen 127.0.0.1:0 --state "$STATE" --mgmt-token "$TOKEN"
code "${auth[@]}" "$URL/mock/actions/1" >/dev/null
check "after SIGKILL and a restart the action is there" eq "$(jq -r '.status + " " + .result' "$WORK/body")" "closed success"
check "with its feedback" eq "$(jq -r '.feedback[0].status.details[0]' "$WORK/body")" installed
check "the next action id follows" eq "$(code "${auth[@]}" -X POST \
  -d '{"target":"dev2","app":"hello","version":"1.0.0"}' "$URL/mock/deployments")" 201
check "  as 2" eq "$(jq .actionId "$WORK/body")" 2
kill -TERM "$PID"
rc=0
wait "$PID" || rc=$?
check "SIGTERM exits 0" eq "$rc" 0

# A corrupt file: refused, named, left alone.
sed -i 's/"id":2,/"id":9,/' "$STATE"
cp "$STATE" "$WORK/corrupt.json"
check "a corrupt state file stops the server" \
  fails_with "State file $STATE is corrupt, in state: actions[1].id" "$BIN" --repo "$REPO" --listen 127.0.0.1:0 --state "$STATE"
check "the corrupt file is left as it was" cmp -s "$STATE" "$WORK/corrupt.json"
printf '{"format":"tender-server-mock-state","version":1,"state":{' >"$STATE"
check "a truncated state file stops the server" \
  fails_with "State file $STATE is corrupt" "$BIN" --repo "$REPO" --listen 127.0.0.1:0 --state "$STATE"
check "an unwritable place fails at start" \
  fails_with "cannot write it" "$BIN" --repo "$REPO" --listen 127.0.0.1:0 --state "$WORK/none/state.json"
st_end
