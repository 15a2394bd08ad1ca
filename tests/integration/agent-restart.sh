#!/usr/bin/env bash
# tenderd's restart policy against real containers (docs/agent.md, "Running apps"):
# - always (the default): a killed app runs again;
# - on-failure: an app that exits 3 is started again with a growing backoff (1, 2, 4 s: the
#   logged delays, in order) and, past maxRestarts, logged as crash-looping; once it exits 0 it
#   stays stopped, which `tenderctl status --json` and the log report;
# - no: a killed app stays stopped.
# The app of release 2 reads its exit code from a file in its volume, which the test writes.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin
SCN_TEST_LEFTOVERS_OK='^cgroup /sys/fs/cgroup/[^ ]*/tender$'

scn_init
scn_build_images 1 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }

n=0
release() { # release SCRIPT [publish options...]: hello <n>.0.0 running `sh -c SCRIPT`
  local script=$1; shift
  n=$((n + 1))
  "$TENDER_BIN/tender-publish" release --layout "$SCN_WORK/oci" --ref v1 --app hello \
    --version "$n.0.0" --counter "$n" --repo "$SCN_WORK/repo" --health-window 1 \
    --stop-timeout 2 --arg /bin/sh --arg -c --arg "$script" "$@" >>"$SCN_WORK/logs/publish.log" ||
    scn_die "publish failed: $(tail -n 3 "$SCN_WORK/logs/publish.log")"
  scn_tuf_add "$n.0.0" || scn_die "tuf-add $n.0.0 failed"
}
# Idles as a shell that ends at once on SIGTERM (pid 1 ignores it otherwise: each swap would
# wait out the stop timeout).
idle="trap 'exit 0' TERM; sleep 1000 & wait"
release "$idle"                                                                    # 1: always
release 'while [ ! -e /data/exit ]; do sleep 0.2; done; exit "$(cat /data/exit)"' \
  --volume data:/data --restart on-failure --restart-max 2                         # 2: on-failure
release "$idle" --restart no                                                       # 3: no

mkdir -p "$SCN_WORK/repo"
scn_start_server
scn_write_config
scn_start_agent
log=$SCN_WORK/logs/tenderd.log

deploy() { # deploy VERSION
  local id
  id=$(scn_deploy "$1")
  check "$1: deployed" eq "$(scn_wait_action "$id" 60)" success
}
pid_of() { scn_runtime state "$1" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(s["pid"] if s["status"] == "running" else "")' 2>/dev/null; }
status_of() { scn_runtime state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null; }
# wait_for COMMAND...: up to 60 s for COMMAND to succeed.
wait_for() {
  local i
  for ((i = 0; i < 600; i++)); do "$@" && return 0; sleep 0.1; done
  return 1
}
count() { local c; c=$(grep -c -- "$1" "$log"); echo "${c:-0}"; }

# always
deploy 1.0.0
old=$(pid_of hello-1_0_0)
scn_runtime kill hello-1_0_0 KILL
runs_again() { new=$(pid_of hello-1_0_0); [[ -n $new && $new != "$old" ]]; }
check "always: a killed app runs again" wait_for runs_again

# on-failure
deploy 2.0.0
vol=$SCN_WORK/store/apps/hello/volumes/data
echo 3 >"$vol/exit"
three_restarts() { (($(count 'hello-2_0_0 is not running (exited with status 3)') >= 3)); }
check "on-failure: exit 3 is restarted, three times" wait_for three_restarts
delays=$(sed -n 's/.*hello-2_0_0 is not running (exited with status 3), starting it (backoff \([0-9]*\) s).*/\1/p' "$log" | head -n 3 | tr '\n' ' ')
check "on-failure: the backoff doubles" eq "$delays" "1 2 4 "
check "on-failure: crash-looping logged past maxRestarts" contains "$(cat "$log")" "hello 2.0.0 is crash-looping: 3 restarts within 600 s"
rm -f "$vol/exit"
running() { [[ -n $(pid_of hello-2_0_0) ]]; }
check "on-failure: runs again once it no longer fails" wait_for running
echo 0 >"$vol/exit"
stays() { (($(count 'hello-2_0_0 exited with status 0; restart policy on-failure: it stays stopped') == 1)); }
check "on-failure: exit 0 is logged as staying stopped" wait_for stays
starts=$(count 'hello-2_0_0 is not running')
status=$("$TENDER_BIN/tenderctl" --config "$SCN_WORK/agent.json" status --json 2>&1)
app_field() { python3 -c '
import json, sys
apps = [a for a in json.loads(sys.argv[2])["apps"] if a["name"] == "hello"]
print(apps[0].get(sys.argv[1]) if apps else "")' "$1" "$status" 2>&1; }
check "on-failure: status says stopped" eq "$(app_field status)" stopped
check "on-failure: status gives the exit status" eq "$(app_field exitStatus)" 0
# A negative check: later supervision rounds (1 s polls) must leave it stopped.
sleep 3
check "on-failure: exit 0 stays stopped" eq "$(status_of hello-2_0_0)" stopped
check "on-failure: not started again" eq "$(count 'hello-2_0_0 is not running')" "$starts"

# no
deploy 3.0.0
scn_runtime kill hello-3_0_0 KILL
stays_no() { (($(count 'restart policy no: it stays stopped') >= 1)); }
check "no: a killed app is logged as staying stopped" wait_for stays_no
sleep 3
check "no: it stays stopped" eq "$(status_of hello-3_0_0)" stopped
check "no: never restarted" eq "$(count 'hello-3_0_0 is not running')" 0

scn_stop_agent
scn_test_end
