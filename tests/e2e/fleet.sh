#!/usr/bin/env bash
# A fleet of 20 real tenderd instances (each its own store, runtime root, control socket, cgroup
# parent and controller id) against one tender-server-mock with a state file, driven by
# rollouts through `tender-server-mock rollout` (issue 15):
# 1. hello 1.0.0 rolled out with a 10 % canary over two groups (one by name, one by the
#    configData attribute the agents report); the server is killed (SIGKILL) in the middle and
#    restarted on the same state file: the rollout goes on where it was, no action twice;
# 2. hello 3.0.0, which fails its health check, stops on the canary: the other 18 devices never
#    get it, the two canaries roll back;
# 3. hello 2.0.0 reaches all 20, and each device's current version is the one the server
#    recorded as installed for it.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin

N=20
declare -a AGENT_PIDS=()
scn_test_cleanup() {
  local pid d id
  for pid in "${AGENT_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${AGENT_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for d in "$SCN_WORK"/dev/*/runtime/*/; do
    [[ -d $d ]] || continue
    id=$(basename "$d")
    "$TENDER_BIN/tender-runtime" --root "${d%/*/}" delete --force "$id" >/dev/null 2>&1 || true
  done
  # The devices' cgroup parents, beneath the scenario's own (deepest first).
  find /sys/fs/cgroup -depth -mindepth 2 -type d -path "*/tender/${SCN_WORK##*/}/*" \
    -exec rmdir {} \; 2>/dev/null || true
  find /sys/fs/cgroup -depth -type d -path "*/tender/${SCN_WORK##*/}" -exec rmdir {} \; \
    2>/dev/null || true
}

scn_init
TOKEN=fleet-$RANDOM$RANDOM
export TENDER_MOCK_TOKEN=$TOKEN
scn_build_images 1 2 3 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
SCN_HEALTH_WINDOW=2 scn_publish 1 2 3 || exit 1
STATE=$SCN_WORK/server-state.json
SCN_SERVER_ARGS="--state $STATE --mgmt-token $TOKEN" scn_start_server
export TENDER_MOCK_URL=$SCN_URL
PORT=${SCN_URL##*:}

dev_id() { printf 'd%02d\n' "$1"; }
start_agent() { # start_agent I
  local id dir
  id=$(dev_id "$1")
  dir=$SCN_WORK/dev/$id
  mkdir -p "$dir"/{store,runtime}
  cat >"$dir/agent.json" <<JSON
{
  "server": { "url": "$SCN_URL", "tenant": "DEFAULT", "controllerId": "$id",
              "pollIntervalSeconds": 1 },
  "store": { "root": "$dir/store", "allowUnencrypted": true },
  "tuf": { "root": "$SCN_WORK/tuf-root.json" },
  "runtime": { "path": "$TENDER_BIN/tender-runtime", "root": "$dir/runtime" },
  "control": { "socket": "$dir/control.sock" },
  "log": { "level": "info" }
}
JSON
  TENDER_CGROUP_PARENT=/tender/${SCN_WORK##*/}/$id \
    "$TENDER_BIN/tenderd" --config "$dir/agent.json" >>"$SCN_WORK/logs/tenderd-$id.log" 2>&1 &
  AGENT_PIDS+=($!)
}
current_of() { # the device's current hello version, or none
  local link
  link=$(readlink "$SCN_WORK/dev/$(dev_id "$1")/store/apps/hello/current" 2>/dev/null) || { echo none; return; }
  basename "$link"
}
cli() { "$TENDER_BIN/tender-server-mock" rollout "$@"; }
quiet() { "$@" >/dev/null; }
mgmt() { curl -fsS -H "Authorization: Bearer $TOKEN" "$SCN_URL/mock/$1"; }
# wait_rollout NAME JQ-CONDITION [TIMEOUT]: until the rollout's JSON satisfies the condition.
wait_rollout() {
  local i
  for ((i = 0; i < ${3:-90} * 5; i++)); do
    [[ $(cli status "$1" 2>/dev/null | jq -r "$2") == true ]] && return 0
    sleep 0.2
  done
  echo "     rollout $1 never got to $2: $(cli status "$1" | jq -c '{state, phase, history: [.history[].event]}')" >&2
  return 1
}

for ((i = 1; i <= N; i++)); do start_agent "$i"; done
arch=$(uname -m)
# Every device registered and reported its configData (the attribute group needs it).
for ((t = 0; t < 600; t++)); do
  n=$(mgmt targets | jq --arg a "$arch" '[.[] | select(.configData.arch == $a)] | length')
  ((n == N)) && break
  sleep 0.2
done
check "all $N devices reported their configData" eq "$n" "$N"

ring1=$(for ((i = 1; i <= 10; i++)); do dev_id "$i"; done | paste -sd,)
check "group by name" quiet cli group ring1 --targets "$ring1" >/dev/null
check "group by attribute" quiet cli group rest --attribute "arch=$arch" >/dev/null
check "the attribute group holds every device" \
  eq "$(cli groups | jq '.[] | select(.name == "rest") | .members | length')" "$N"

# 1. hello 1.0.0, the server killed and restarted in the middle.
out=$(cli create first --app hello --version 1.0.0 --group ring1 --group rest --canary 10)
check "rollout created with a canary of 2, then ring1's 8 and the other 10" \
  eq "$(jq -c '[.phases[] | .devices]' <<<"$out")" "[2,8,10]"
check "the canary phase runs first" eq "$(jq -c '[.devices[] | select(.actionId) | .target]' <<<"$out")" '["d01","d02"]'
wait_rollout first '.phase >= 1' || fail "the first rollout did not pass its canary"
kill -KILL "$SCN_SERVER_PID"
wait "$SCN_SERVER_PID" 2>/dev/null
before=$(jq -c '[.fleet.rollouts[0].phase, (.state.actions | length)]' "$STATE")
SCN_SERVER_ARGS="--state $STATE --mgmt-token $TOKEN --listen 127.0.0.1:$PORT" scn_start_server
check "restarted on the same address" eq "$SCN_URL" "$TENDER_MOCK_URL"
after=$(cli status first | jq -c '[.phase, ([.devices[] | select(.actionId)] | length)]')
check "after the restart the rollout is where it was" eq "$after" "$before"
check "the canary's actions survived with their feedback" \
  eq "$(cli status first | jq -r '[.devices[0:2][] | .status] | join(",")')" "success,success"
wait_rollout first '.state == "finished"' || fail "rollout 1.0.0 did not finish"
check "rollout 1.0.0 finished" eq "$(cli status first | jq -r .state)" finished
check "no device got a second action for 1.0.0" \
  eq "$(mgmt actions | jq '[.[] | select(.version == "1.0.0")] | length')" "$N"
v=$(for ((i = 1; i <= N; i++)); do current_of "$i"; done | sort | uniq -c | xargs)
check "all $N devices run 1.0.0" eq "$v" "$N 1.0.0"

# 2. hello 3.0.0 fails its health check on the canary: the rollout stops there.
out=$(cli create bad --app hello --version 3.0.0 --group ring1 --group rest --canary 10)
wait_rollout bad '.state != "running"' || fail "rollout 3.0.0 did not stop"
# The second canary's action goes on after the stop; the rollout waits for nobody.
wait_rollout bad '[.devices[0:2][] | .status == "running"] | any | not' || true
st=$(cli status bad)
check "rollout 3.0.0 stopped" eq "$(jq -r .state <<<"$st")" stopped
check "it stopped in the canary phase" eq "$(jq -r .phase <<<"$st")" 0
check "its history says the error threshold stopped it" \
  contains "$(jq -r '.history[].event' <<<"$st")" "over the error threshold of 0%"
check "the two canaries failed" eq "$(jq -r '[.devices[0:2][] | .status] | join(",")' <<<"$st")" "failure,failure"
check "no other device got 3.0.0" eq "$(mgmt actions | jq '[.[] | select(.version == "3.0.0")] | length')" 2
check "cli: resuming a stopped rollout is refused" fails_with "is stopped" cli resume bad
v=$(for ((i = 1; i <= N; i++)); do current_of "$i"; done | sort | uniq -c | xargs)
check "all $N devices still run 1.0.0 (the canaries rolled back)" eq "$v" "$N 1.0.0"

# 3. hello 2.0.0 reaches all 20.
cli create good --app hello --version 2.0.0 --group ring1 --group rest --canary 10 >/dev/null
wait_rollout good '.state == "finished"' || fail "rollout 2.0.0 did not finish"
check "rollout 2.0.0 finished" eq "$(cli status good | jq -r .state)" finished
v=$(for ((i = 1; i <= N; i++)); do current_of "$i"; done | sort | uniq -c | xargs)
check "all $N devices run 2.0.0" eq "$v" "$N 2.0.0"
mismatch=()
for ((i = 1; i <= N; i++)); do
  id=$(dev_id "$i")
  server=$(cli device "$id" | jq -r '[.actions[] | select(.status == "closed" and .result == "success" and (.canceled | not))][-1].version')
  [[ $server == "$(current_of "$i")" ]] || mismatch+=("$id: server $server, device $(current_of "$i")")
done
check "every device's version is the server's record" eq "${mismatch[*]}" ""
check "the management API refuses a wrong token" \
  eq "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' "$SCN_URL/mock/rollouts")" 401

scn_test_end
