#!/usr/bin/env bash
# tenderd's health signals and swap strategies against real containers, outcomes checked on
# server-mock: exec probes (pass, fail, hang), READY=1 on the notify socket (sent, never sent),
# an app that dies after 5 s, a crash loop, a flapping probe, the image's Healthcheck, the
# start-stop hand-over (the old release serves until the new one is healthy; rollback and
# crashes mid-swap keep or bring back the old one) and a previous release that is broken too
# (critical state, restarted per the restart policy).
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin cc
SCN_TEST_LEFTOVERS_OK='^cgroup /sys/fs/cgroup/[^ ]*/tender$'

scn_init
scn_build_images 1 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
# v2: v1 plus a static sd_notify sender; hc: v2 with a Docker Healthcheck in its config.
cc -static -O2 -o "$SCN_WORK/notify-send" "$TENDER_SOURCE_DIR/tests/integration/helpers/notify-send.c" ||
  scn_die "cannot build the notify helper"
umoci unpack --image "$SCN_WORK/oci:v1" "$SCN_WORK/b" >/dev/null &&
  cp "$SCN_WORK/notify-send" "$SCN_WORK/b/rootfs/bin/notify-send" &&
  umoci repack --image "$SCN_WORK/oci:v2" "$SCN_WORK/b" >/dev/null && rm -rf "$SCN_WORK/b" ||
  scn_die "cannot build image v2"
python3 - "$SCN_WORK/oci" <<'PY' || scn_die "cannot add a Healthcheck"
import hashlib, json, os, sys
oci = sys.argv[1]
def blob(d): return os.path.join(oci, "blobs", "sha256", d.split(":")[1])
def put(obj):
    data = json.dumps(obj).encode()
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    open(blob(d), "wb").write(data)
    return d, len(data)
index = json.load(open(os.path.join(oci, "index.json")))
desc = next(m for m in index["manifests"]
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "v2")
manifest = json.load(open(blob(desc["digest"])))
config = json.load(open(blob(manifest["config"]["digest"])))
config["config"]["Healthcheck"] = {"Test": ["CMD-SHELL", "test -e /tmp/up"],
                                   "Interval": 1000000000, "Timeout": 10000000000,
                                   "Retries": 2}
manifest["config"]["digest"], manifest["config"]["size"] = put(config)
d, n = put(manifest)
index["manifests"].append({"mediaType": desc["mediaType"], "digest": d, "size": n,
                           "annotations": {"org.opencontainers.image.ref.name": "hc"}})
json.dump(index, open(os.path.join(oci, "index.json"), "w"))
PY
n=0
# release REF SCRIPT [publish options...]: hello <n>.0.0 from image REF running `sh -c SCRIPT`.
release() {
  local ref=$1 script=$2; shift 2
  n=$((n + 1))
  "$TENDER_BIN/tender-publish" release --layout "$SCN_WORK/oci" --ref "$ref" --app hello \
    --version "$n.0.0" --counter "$n" --repo "$SCN_WORK/repo" --deltas 0 \
    --stop-timeout 2 --volume data:/data --arg /bin/sh --arg -c --arg "$script" "$@" \
    >>"$SCN_WORK/logs/publish.log" 2>&1 ||
    scn_die "publish failed: $(tail -n 3 "$SCN_WORK/logs/publish.log")"
  scn_tuf_add "$n.0.0" || scn_die "tuf-add $n.0.0 failed"
}
up='echo up >/tmp/up'
# The apps idle as a shell that ends at once on SIGTERM: a plain `exec sleep` is the container's
# pid 1, which ignores SIGTERM, so every swap would wait out the stop timeout first.
idle="trap 'exit 0' TERM; sleep 1000 & wait"
isup=(--health-exec /bin/sh --health-exec -c --health-exec 'test -e /tmp/up')
# Exec probes go through the runtime: a generous timeout, so that a slow machine (or a
# sanitizer build) does not turn a passing probe into a timeout.
fast=(--health-window 2 --health-interval 1 --health-timeout 10 --health-retries 2)
# A hand-over app: logs to the volume when it starts and when SIGTERM stops it.
handover() { echo "echo $1 started >>/data/events; trap 'echo $1 stopped >>/data/events; exit 0' TERM; $up; sleep 1000 & wait"; }

release v1 "$up; $idle" "${fast[@]}" "${isup[@]}"                                     # 1
release v1 "$idle" "${fast[@]}" "${isup[@]}"                                           # 2 exec fails
release v1 "$idle" "${fast[@]}" --health-timeout 2 --health-exec /bin/sleep --health-exec 100 # 3 hangs
release v2 "exec /bin/notify-send STATUS=loading -- /bin/sh -c \"$idle\"" "${fast[@]}" --health-notify # 4
release v2 "exec /bin/notify-send STATUS=serving READY=1 -- /bin/sh -c \"$idle\"" "${fast[@]}" --health-notify # 5
# 6 dies at 5 s. The windows of the failing cases are bounds, not waits: the gate ends at the
# failure, and a long window keeps a loaded machine (slow exec probes) from passing them.
release v1 'sleep 5; exit 4' --health-window 20                                        # 6 dies at 5 s
release v1 'exit 2' --health-window 3                                                  # 7 crash loop
# 8: the probe fails every other time: never twice in a row, but 4 failures in all.
release v1 "$up; $idle" --health-window 90 --health-interval 1 --health-retries 2 \
  --health-timeout 10 \
  --health-exec /bin/sh --health-exec -c \
  --health-exec 'c=$(cat /tmp/n 2>/dev/null || echo 0); echo $((c + 1)) >/tmp/n; [ $((c % 2)) = 1 ]'
release hc "$idle" --health-window 2                                                   # 9 Healthcheck fails
release hc "$up; $idle" --health-window 2                                              # 10 Healthcheck passes
release v1 "$(handover v11)" "${fast[@]}" "${isup[@]}" --strategy start-stop           # 11
# 12: hand-over; its probe records that v11 still runs while v12 is tested.
release v1 "$(handover v12)" "${fast[@]}" --strategy start-stop --health-exec /bin/sh \
  --health-exec -c --health-exec 'test -e /tmp/up && echo v12 probed >>/data/events'
release v1 'exit 1' "${fast[@]}" --strategy start-stop                                 # 13 hand-over fails
release v1 "$(handover v14)" "${fast[@]}" "${isup[@]}" --strategy start-stop           # 14 crash at testing
# 15: crash at committed; it ignores SIGTERM, so 16's swap must SIGKILL it after 2 s.
release v1 "trap '' TERM; $up; while :; do sleep 1; done" "${fast[@]}" "${isup[@]}" --strategy start-stop
# 16: healthy unless /data/broken exists; 17 broken: the rollback to 16 fails too.
release v1 "[ -e /data/broken ] && exit 5; $up; $idle" "${fast[@]}" "${isup[@]}"
release v1 'exit 1' "${fast[@]}"

mkdir -p "$SCN_WORK/repo"
scn_start_server
scn_write_config
scn_start_agent

details=
deploy() { # deploy VERSION EXPECT
  local id
  id=$(scn_deploy "$1")
  check "$1: $2" eq "$(scn_wait_action "$id" 90)" "$2"
  details=$(scn_action_details "$id")
}
pid_of() { scn_runtime state "$1" 2>/dev/null | jq -r 'if .status == "running" then .pid else "" end' 2>/dev/null; }
events() { cat "$SCN_WORK/store/apps/hello/volumes/data/events" 2>/dev/null; }

deploy 1.0.0 success
check "exec probe passes: 1.0.0 current" eq "$(scn_current_version)" 1.0.0

deploy 2.0.0 failure
check "exec probe fails: exit status reported" contains "$details" "exec probe /bin/sh: exit status 1"
check "exec probe fails: rolled back" contains "$details" "rolled back to 1.0.0"

deploy 3.0.0 failure
check "hanging exec probe: timeout reported" contains "$details" "exec probe /bin/sleep: no end within 2000 ms"
check "hanging exec probe: rolled back" contains "$details" "rolled back to 1.0.0"

deploy 4.0.0 failure
check "never ready: no READY=1 reported" contains "$details" "no READY=1 on the notify socket"
check "never ready: its last STATUS= reported" contains "$details" "STATUS=loading"
check "never ready: rolled back" contains "$details" "rolled back to 1.0.0"

deploy 5.0.0 success
check "READY=1: 5.0.0 current" eq "$(scn_current_version)" 5.0.0

deploy 6.0.0 failure
check "dies after 5 s: exit status reported" contains "$details" "exited with status 4 after "
# Not before its 5 s (a loaded machine may see the exit later).
after=$(sed -n 's/.*exited with status 4 after \([0-9]*\)\..*/\1/p' <<<"$details")
check "dies after 5 s: not before" ge "${after:-0}" 5
check "dies after 5 s: rolled back to 5.0.0 (READY=1 again)" contains "$details" "rolled back to 5.0.0"

deploy 7.0.0 failure
check "crash loop: exit reported" contains "$details" "exited with status 2"
check "crash loop: not restarted" eq "$(pid_of hello-7_0_0)" ""
deploy 7.0.0 failure
check "crash loop: not retried" contains "$details" "failed its health check before; not retried"

deploy 8.0.0 failure
check "flapping probe: reported" contains "$details" "probe flapping: failed 4 times"

manifest9=$(cat "$SCN_WORK/repo/apps/hello/9.0.0.json")
check "Healthcheck: copied into the manifest" contains "$manifest9" '"test -e /tmp/up"'
deploy 9.0.0 failure
check "Healthcheck: its failure reported" contains "$details" "exec probe /bin/sh: exit status 1"
deploy 10.0.0 success
check "Healthcheck: passes when the app is up" eq "$(scn_current_version)" 10.0.0

deploy 11.0.0 success
deploy 12.0.0 success
ev=$(events | tr '\n' ,)
check "hand-over: v11 stops after v12 started and proved healthy" \
  python3 -c 'import sys; e=sys.argv[1].split(","); i=e.index; sys.exit(not (i("v12 started") < i("v12 probed") < i("v11 stopped")))' "$ev"
check "hand-over: only v12 runs" eq "$(scn_containers | grep ' running$')" "hello-12_0_0 running"

old=$(pid_of hello-12_0_0)
deploy 13.0.0 failure
check "failed hand-over: rolled back" contains "$details" "rolled back to 12.0.0"
check "failed hand-over: 12.0.0 kept running, never restarted" eq "$(pid_of hello-12_0_0)" "$old"

# tenderd killed mid-swap: while testing (both run), then right after the commit.
scn_stop_agent
TENDER_TEST_CRASH_AT=testing scn_start_agent
id=$(scn_deploy 14.0.0)
wait "$SCN_AGENT_PID" 2>/dev/null; SCN_AGENT_PID=
check "crash at testing: 12.0.0 still runs" eq "$(pid_of hello-12_0_0)" "$old"
scn_start_agent
check "crash at testing: failure reported" eq "$(scn_wait_action "$id" 90)" failure
check "crash at testing: rolled back" contains "$(scn_action_details "$id")" "stopped while testing; rolled back to 12.0.0"
check "crash at testing: 12.0.0 kept, not restarted" eq "$(pid_of hello-12_0_0)" "$old"
check "crash at testing: only 12.0.0 runs" eq "$(scn_containers | grep ' running$')" "hello-12_0_0 running"
scn_stop_agent
TENDER_TEST_CRASH_AT=committed scn_start_agent
id=$(scn_deploy 15.0.0)
wait "$SCN_AGENT_PID" 2>/dev/null; SCN_AGENT_PID=
scn_start_agent
check "crash at committed: success reported" eq "$(scn_wait_action "$id" 90)" success
check "crash at committed: only 15.0.0 runs" eq "$(scn_containers | grep ' running$')" "hello-15_0_0 running"

deploy 16.0.0 success
: >"$SCN_WORK/store/apps/hello/volumes/data/broken"
deploy 17.0.0 failure
log=$(cat "$SCN_WORK/logs/tenderd.log")
check "stop timeout: SIGTERM ignored, SIGKILL after 2 s" contains "$log" "Container hello-15_0_0 did not stop within 2 s, killing it"
check "stop timeout: 15.0.0 gone" eq "$(pid_of hello-15_0_0)" ""
check "previous broken too: critical state reported" contains "$details" "critical: no healthy release of hello runs"
check "previous broken too: its failure reported" contains "$details" "rollback to 16.0.0 failed: exited with status 5"
check "previous broken too: 16.0.0 stays current" eq "$(scn_current_version)" 16.0.0
for ((i = 0; i < 300; i++)); do
  restarts=$(grep -c 'Container hello-16_0_0 is not running' "$SCN_WORK/logs/tenderd.log")
  ((restarts >= 2)) && break
  sleep 0.1
done
check "previous broken too: restarted per the restart policy" test "$restarts" -ge 2
rm -f "$SCN_WORK/store/apps/hello/volumes/data/broken"

scn_stop_agent
scn_test_end
