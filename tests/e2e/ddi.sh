#!/usr/bin/env bash
# End to end, hawkBit DDI behaviour against server-mock over HTTP on 127.0.0.1: GatewayToken
# auth; update "skip" (download and stage, no swap) then "forced"; the server's maintenance
# window unavailable then available; a swap outside maintenance.windows deferred for an
# "attempt" update, then done inside one; cancel before the swap (carried out); cancel after
# the swap (rejected, the update finishes); a staging failure (reported, the running release
# untouched); a swap whose start fails (rolled back, reported); a commit that fails (rolled
# back, reported, not marked bad). Every outcome is checked on the server's side. Locks, the other reasons of the swap gate, are in tests/e2e/control.sh.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin

GW_TOKEN=gw-$RANDOM$RANDOM
export SCN_APP_FAST_STOP=1 # swaps without the app's "sleep 1" before it sees SIGTERM
scn_init
scn_build_images 1 2 3 4 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
SCN_HEALTH_WINDOW=2 scn_publish 1 2 4 || exit 1
SCN_SERVER_ARGS="--gateway-token $GW_TOKEN" scn_start_server
scn_write_config

# write_config [WINDOW...]: the scenario's config with the gateway token and these
# maintenance.windows.
write_config() {
  python3 - "$SCN_WORK/agent.json" "$GW_TOKEN" "$@" <<'PY'
import json, sys
path, token, windows = sys.argv[1], sys.argv[2], sys.argv[3:]
c = json.load(open(path))
c["server"]["gatewayToken"] = token
c.pop("maintenance", None)
if windows:
    c["maintenance"] = {"windows": windows}
json.dump(c, open(path, "w"), indent=1)
PY
}
write_config
scn_start_agent

# deploy VERSION JSON-MEMBERS: assigns hello VERSION with extra members; prints the action id.
deploy() {
  curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"target\":\"$SCN_TARGET\",\"app\":\"hello\",\"version\":\"$1\"${2:+,$2}}" \
    "$SCN_URL/mock/deployments" | python3 -c 'import json,sys; print(json.load(sys.stdin)["actionId"])'
}
patch_action() { curl -fsS -o /dev/null -X PATCH -H 'Content-Type: application/json' -d "$2" "$SCN_URL/mock/actions/$1"; }
cancel_action() { curl -fsS -o /dev/null -X POST "$SCN_URL/mock/actions/$1/cancel"; }
# wait_detail ID TEXT: waits until a feedback detail of the action holds TEXT; prints yes/no.
wait_detail() {
  local i d
  for ((i = 0; i < 450; i++)); do
    d=$(scn_action_field "$1" '"\n".join(x for f in a["feedback"] for x in f["status"].get("details", []))')
    if [[ $d == *"$2"* ]]; then echo yes; return 0; fi
    sleep 0.2
  done
  echo no
}
pin() { head -n 1 "$SCN_WORK/store/state/pins/hello" 2>/dev/null || echo none; }
journal_count() { find "$SCN_WORK/store/journal" -name '*.json' 2>/dev/null | wc -l; }

# 1. GatewayToken: the device authenticates with the tenant's gateway token; others are refused.
code=$(curl -s -o /dev/null -w '%{http_code}' "$SCN_URL/DEFAULT/controller/v1/$SCN_TARGET")
check "auth: a poll without a token is refused" eq "$code" 401
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: GatewayToken wrong" \
  "$SCN_URL/DEFAULT/controller/v1/$SCN_TARGET")
check "auth: a wrong gateway token is refused" eq "$code" 401
id=$(deploy 1.0.0)
check "auth: v1 installs through GatewayToken" eq "$(scn_wait_action "$id")" success
check "auth: v1 is current" eq "$(scn_current_version)" 1.0.0

# 2. update "skip": downloaded and staged, not swapped; then "forced" swaps it.
id=$(deploy 2.0.0 '"update":"skip"')
check "skip: the device says it waits" eq "$(wait_detail "$id" "skip the update")" yes
check "skip: action still open" eq "$(scn_action_field "$id" 'a["status"]')" open
check "skip: v1 still current" eq "$(scn_current_version)" 1.0.0
check "skip: v2 pinned (staged)" eq "$(pin)" 2.0.0
check "skip: no closing feedback" eq "$(scn_action_field "$id" 'len([f for f in a["feedback"] if f["status"]["execution"]!="proceeding"])')" 0
patch_action "$id" '{"update":"forced"}'
check "skip then forced: succeeds" eq "$(scn_wait_action "$id")" success
check "skip then forced: v2 current" eq "$(scn_current_version)" 2.0.0

# 3. The server's maintenance window: unavailable defers the swap, available lets it go.
id=$(deploy 1.0.0 '"maintenanceWindow":"unavailable"')
check "DDI window closed: waiting reported" eq "$(wait_detail "$id" "waiting for maintenance window")" yes
check "DDI window closed: v2 still current" eq "$(scn_current_version)" 2.0.0
check "DDI window closed: action open" eq "$(scn_action_field "$id" 'a["status"]')" open
patch_action "$id" '{"maintenanceWindow":"available"}'
check "DDI window open: succeeds" eq "$(scn_wait_action "$id")" success
check "DDI window open: v1 current" eq "$(scn_current_version)" 1.0.0
check "DDI window: one 'waiting' feedback for all the polls it waited" eq "$(scn_action_field "$id" 'sum(1 for f in a["feedback"] if any("waiting for maintenance window" in d for d in f["status"].get("details", [])))')" 1

# 4. maintenance.windows: an "attempt" update outside every window waits; inside one it goes.
outside=$(python3 -c 'import time
t = time.localtime(); s = (t.tm_hour * 60 + t.tm_min + 120) % 1440; e = (s + 60) % 1440
f = lambda m: "%02d:%02d" % (m // 60, m % 60) if m else "24:00"
print("%s-%s" % (f(s) if s else "00:00", f(e)))')
scn_stop_agent
write_config "Mon-Sun $outside"
scn_start_agent
id=$(deploy 2.0.0 '"update":"attempt"')
check "config window ($outside): waiting reported" eq "$(wait_detail "$id" "outside maintenance.windows")" yes
check "config window: v1 still current" eq "$(scn_current_version)" 1.0.0
check "config window: action open" eq "$(scn_action_field "$id" 'a["status"]')" open
scn_stop_agent
write_config "$outside" "* 00:00-24:00"
scn_start_agent
check "config window open: succeeds" eq "$(scn_wait_action "$id")" success
check "config window open: v2 current" eq "$(scn_current_version)" 2.0.0

# 5. Cancel before the swap: the staged update is dropped, the device keeps v2.
v2pid=$(scn_runtime state hello-2_0_0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
id=$(deploy 1.0.0 '"maintenanceWindow":"unavailable"')
check "cancel before swap: staged and waiting" eq "$(wait_detail "$id" "waiting for maintenance window")" yes
cancel_action "$id"
scn_wait_action "$id" >/dev/null
check "cancel before swap: server says canceled" eq "$(scn_action_field "$id" 'a["cancel"]+"/"+a["actionStatus"]')" confirmed/CANCELED
check "cancel before swap: device answered canceled" eq "$(scn_action_field "$id" 'a["cancelFeedback"][-1]["status"]["execution"]')" canceled
check "cancel before swap: detail names the release" contains "$(scn_action_field "$id" 'a["cancelFeedback"][-1]["status"]["details"][0]')" "hello 1.0.0"
check "cancel before swap: v2 current, same process" eq "$(scn_current_version) $(scn_runtime state hello-2_0_0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')" "2.0.0 $v2pid"
check "cancel before swap: pin dropped" eq "$(pin)" none
check "cancel before swap: journal empty" eq "$(journal_count)" 0

# 6. Cancel after the swap: tenderd dies right after journaling "committed"; the cancel comes
# while it is down; at restart it finishes the commit, rejects the cancel and reports success.
scn_stop_agent
TENDER_TEST_CRASH_AT=committed scn_start_agent
id=$(deploy 1.0.0)
wait "$SCN_AGENT_PID" 2>/dev/null
SCN_AGENT_PID=
check "cancel after swap: action still open after the crash" eq "$(scn_action_field "$id" 'a["status"]')" open
cancel_action "$id"
scn_start_agent
check "cancel after swap: update finishes with success" eq "$(scn_wait_action "$id")" success
check "cancel after swap: server says rejected" eq "$(scn_action_field "$id" 'a["cancel"]+"/"+a["actionStatus"]')" rejected/FINISHED
check "cancel after swap: device answered rejected" eq "$(scn_action_field "$id" 'a["cancelFeedback"][-1]["status"]["execution"]')" rejected
check "cancel after swap: v1 current" eq "$(scn_current_version)" 1.0.0

# 7. Staging fails (the app's lock file cannot be made: a directory in its place): reported,
# nothing swapped, v1 keeps its process.
v1pid=$(scn_runtime state hello-1_0_0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
lockfile=$SCN_WORK/store/locks/app/hello
mv "$lockfile" "$lockfile.saved" && mkdir "$lockfile"
id=$(deploy 2.0.0)
check "staging fails: failure reported" eq "$(scn_wait_action "$id")" failure
check "staging fails: the reason names the lock file" contains "$(scn_action_details "$id")" "create the lock file of hello"
check "staging fails: staging was reached" eq "$(wait_detail "$id" staging)" yes
check "staging fails: v1 current, same process" eq "$(scn_current_version) $(scn_runtime state hello-1_0_0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')" "1.0.0 $v1pid"
check "staging fails: 2.0.0 not marked bad" test ! -e "$SCN_WORK/store/apps/hello/bad/2.0.0"
rmdir "$lockfile" && mv "$lockfile.saved" "$lockfile"

# 8. The swap fails (the runtime refuses to create 2.0.0's container): rolled back to v1,
# reported with the runtime's reason, 2.0.0 marked bad.
scn_stop_agent
cat >"$SCN_WORK/runtime-wrapper" <<SH
#!/bin/sh
for a; do last=\$a; done
case " \$* " in *" create "*) [ "\$last" = hello-2_0_0 ] && { echo "create refused by the test" >&2; exit 1; } ;; esac
exec "$TENDER_BIN/tender-runtime" "\$@"
SH
chmod 0755 "$SCN_WORK/runtime-wrapper"
python3 - "$SCN_WORK/agent.json" "$SCN_WORK/runtime-wrapper" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["runtime"]["path"] = sys.argv[2]; json.dump(c, open(sys.argv[1], "w"))
PY
scn_start_agent
id=$(deploy 2.0.0)
check "swap fails: failure reported" eq "$(scn_wait_action "$id")" failure
details=$(scn_action_details "$id")
check "swap fails: the reason says it failed to start" contains "$details" "hello 2.0.0 failed to start"
check "swap fails: rolled back to 1.0.0" contains "$details" "rolled back to 1.0.0"
check "swap fails: v1 current and running" eq "$(scn_current_version) $(scn_runtime state hello-1_0_0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" "1.0.0 running"
check "swap fails: 2.0.0 marked bad" test -e "$SCN_WORK/store/apps/hello/bad/2.0.0"

# 9. The commit fails (the store's app directory turns immutable once 4.0.0 started, so the
# `current` link cannot change): rolled back to v1, so that what runs is what the store says;
# reported; 4.0.0 not marked bad, and deployed again once the store is writable it installs.
# tenderd is killed right after journaling that rollback and finishes it at restart: the
# replay must not mark 4.0.0 bad either.
appdir=$SCN_WORK/store/apps/hello
scn_test_cleanup() { chattr -i "$appdir" 2>/dev/null || true; }
mkdir "$SCN_WORK/immutable-probe"
if ! chattr +i "$SCN_WORK/immutable-probe" 2>/dev/null; then
  echo "skip commit failure: no immutable attribute (chattr +i) on this file system"
else
  chattr -i "$SCN_WORK/immutable-probe"
  cat >"$SCN_WORK/runtime-wrapper" <<SH
#!/bin/sh
for a; do last=\$a; done
"$TENDER_BIN/tender-runtime" "\$@"; rc=\$?
case " \$* " in *" start "*) [ "\$last" = hello-4_0_0 ] && chattr +i "$appdir" ;; esac
exit \$rc
SH
  scn_stop_agent
  TENDER_TEST_CRASH_AT=rolling-back scn_start_agent
  id=$(deploy 4.0.0)
  wait "$SCN_AGENT_PID" 2>/dev/null
  SCN_AGENT_PID=
  check "commit fails: the rollback is journaled as not 4.0.0's fault" eq \
    "$(jq -r '.state + " " + (.commitFailed | tostring)' "$SCN_WORK"/store/journal/*.json)" "rolling-back true"
  scn_start_agent
  result=$(scn_wait_action "$id")
  chattr -i "$appdir"
  check "commit fails: failure reported" eq "$result" failure
  details=$(scn_action_details "$id")
  check "commit fails: the reason says the commit failed" contains "$details" "hello 4.0.0: commit failed"
  check "commit fails: rolled back to 1.0.0" contains "$details" "rolled back to 1.0.0"
  check "commit fails: v1 current and running" eq "$(scn_current_version) $(scn_runtime state hello-1_0_0 | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')" "1.0.0 running"
  check "commit fails: 4.0.0's container gone" lacks "$(scn_containers)" hello-4_0_0
  check "commit fails: 4.0.0 not marked bad, the rollback replayed after the crash" test ! -e "$appdir/bad/4.0.0"
  printf '#!/bin/sh\nexec "%s/tender-runtime" "$@"\n' "$TENDER_BIN" >"$SCN_WORK/runtime-wrapper"
  id=$(deploy 4.0.0)
  check "commit fails: 4.0.0 deployed again installs" eq "$(scn_wait_action "$id")" success
  check "commit fails: then 4.0.0 current" eq "$(scn_current_version)" 4.0.0
fi
rmdir "$SCN_WORK/immutable-probe"

scn_stop_agent
scn_test_end
