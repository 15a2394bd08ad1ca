#!/usr/bin/env bash
# What tenderd tells over HTTP (docs/mqtt.md, "DDI configData" and "Local HTTP"), without MQTT:
# 1. Each app's version and health reach server-mock as configData attributes, and change
#    after an update.
# 2. The app's container dies and stays down (restart policy "no"): its health attribute turns
#    unhealthy, /healthz answers 503 naming it, /metrics says so and promtool accepts it.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin promtool

scn_init
scn_build_images 1 2 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
for v in 1 2; do
  "$TENDER_BIN/tender-publish" release --layout "$SCN_WORK/oci" --ref "v$v" --app hello \
    --version "$v.0.0" --counter "$v" --repo "$SCN_WORK/repo" --health-window 1 \
    --stop-timeout 5 --restart no >>"$SCN_WORK/logs/publish.log" || scn_die "publish $v.0.0 failed"
done
scn_tuf_add 1.0.0 2.0.0 || scn_die "tuf-add failed"
scn_start_server
scn_write_config
jq '.monitor = {"port": 0}' "$SCN_WORK/agent.json" >"$SCN_WORK/agent.json.new" &&
  mv "$SCN_WORK/agent.json.new" "$SCN_WORK/agent.json"
scn_start_agent

wait_for() { # wait_for COMMAND...: up to 60 s
  local i
  for ((i = 0; i < 600; i++)); do "$@" && return 0; sleep 0.1; done
  return 1
}
attr() { # attr KEY: the target's configData attribute KEY as server-mock recorded it
  curl -fsS "$SCN_URL/mock/targets" |
    jq -r --arg id "$SCN_TARGET" --arg k "$1" '.[] | select(.controllerId == $id) | .configData[$k] // ""'
}
attr_is() { [[ $(attr "$1") == "$2" ]]; }
deploy() { # deploy VERSION RESULT
  local id
  id=$(scn_deploy "$1")
  check "$1: deployment ends in $2" eq "$(scn_wait_action "$id" 120)" "$2"
}

# 1. Versions and health as attributes.
deploy 1.0.0 success
check "configData: 1.0.0" wait_for attr_is app.hello.version 1.0.0
check "configData: healthy" attr_is app.hello.health healthy
check "configData: the agent's version" test -n "$(attr tender.version)"
mon=$(sed -n 's|.*Monitor: serving /healthz and /metrics on \(http://127.0.0.1:[0-9]*\)$|\1|p' \
  "$SCN_WORK/logs/tenderd.log" | tail -n 1)
check "monitor: listening" test -n "$mon"
check "/healthz: 200 while the app runs" eq "$(curl -s -o /dev/null -w '%{http_code}' "$mon/healthz")" 200
deploy 2.0.0 success
check "configData: the update changed the version" wait_for attr_is app.hello.version 2.0.0
check "configData: still healthy" attr_is app.hello.health healthy

# 2. The app dies and stays down.
pid=$(scn_app_pid 2.0.0)
check "2.0.0 runs" test -n "$pid"
kill -KILL "$pid"
check "configData: the health change" wait_for attr_is app.hello.health "unhealthy: stopped"
check "configData: the version stays" attr_is app.hello.version 2.0.0
code=$(curl -s -o "$SCN_WORK/healthz.txt" -w '%{http_code}' "$mon/healthz")
check "/healthz: 503 when an app is down" eq "$code" 503
check "/healthz: names the app" grep -q '^unhealthy: hello' "$SCN_WORK/healthz.txt"
curl -sS -o "$SCN_WORK/metrics.txt" "$mon/metrics"
check "/metrics: promtool accepts it" promtool check metrics <"$SCN_WORK/metrics.txt"
check "/metrics: the app unhealthy" grep -qx 'tender_app_healthy{app="hello"} 0' "$SCN_WORK/metrics.txt"
scn_test_end
