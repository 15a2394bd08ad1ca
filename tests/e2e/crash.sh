#!/usr/bin/env bash
# Crash safety: tenderd is killed at every journaled state transition (TENDER_TEST_CRASH_AT, a
# test-only hook that makes it SIGKILL itself right after writing the record) and with SIGKILL
# at random moments while a throttled blob download or its extraction runs (tenderd and the
# runtime processes it spawned). After each kill tenderd restarts and the device must converge:
# exactly one of the old or new version running, the store consistent (current has its
# manifest and every layer, tmp/ empty, the journal empty), the app's volume intact and the
# outcome reported to server-mock, with the result the kill point implies.
#
# Rounds of 10-12 kill points each run until the kill points reach a target: 100 in a normal
# build (issue 7 asks for at least 100 in CI), 30 more in the sanitizer build (ASAN_OPTIONS set,
# or TENDER_SANITIZE=ON in the build's CMakeCache), where a round costs 3-4 times as much. Rounds go on
# (up to 12) until every state was a kill point too: a random kill that lands after the swap
# takes the place of the round's final one (swapping, testing or committed, in turn).
# TENDER_CRASH_KILLS sets the target, TENDER_CRASH_ROUNDS a round count instead.
set -uo pipefail

[[ $(id -u) -eq 0 ]] || { echo "skip: needs root (namespaces, mounts, cgroups)"; exit 77; }
for tool in umoci curl jq python3; do
  command -v $tool >/dev/null || { echo "skip: $tool not installed (scripts/install-deps)"; exit 77; }
done
[[ -x /bin/busybox ]] || { echo "skip: busybox-static not installed"; exit 77; }

TENDER_BIN=${TENDER_BUILD_DIR:?}/bin
# shellcheck source=../../scripts/lib/scenario.sh
source "${TENDER_SOURCE_DIR:?}/scripts/lib/scenario.sh"

target=${TENDER_CRASH_KILLS:-100}
if [[ -n ${ASAN_OPTIONS:-} ]] || grep -q '^TENDER_SANITIZE:BOOL=ON' "$TENDER_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
  target=${TENDER_CRASH_KILLS:-30}
  echo "sanitizer build: $target kill points"
fi
rounds=${TENDER_CRASH_ROUNDS:-}
# The states every round kills in, but for the final ones (see above); staging and the random
# kinds depend on where the random kills land.
states=(queued verifying downloading swapping testing committed rolling-back rolled-back failed
  replay:rolling-back replay:rolled-back replay:committed)
missing_states() {
  local k
  for k in "${states[@]}"; do [[ -n ${kinds[$k]:-} ]] || echo "$k"; done
}
more_rounds() {
  [[ -n $rounds ]] && { ((round < rounds)); return; }
  ((round < 12)) && { ((kills < target)) || [[ -n $(missing_states) ]]; }
}

failures=0 kills=0 seq=0
declare -A kinds=()
fail() { echo "FAIL $*"; failures=$((failures + 1)); }

on_exit() {
  local rc=$? work=$SCN_WORK
  if ((failures)) || ((rc)); then
    echo "---- tenderd log"; tail -n 80 "$SCN_WORK/logs/tenderd.log" 2>/dev/null
    echo "---- server log"; tail -n 20 "$SCN_WORK/logs/server.log" 2>/dev/null
  fi
  [[ -n ${TENDER_CRASH_KEEP_LOGS:-} ]] && cp -r "$SCN_WORK/logs" "$TENDER_CRASH_KEEP_LOGS"
  scn_cleanup
  local left
  left=$(scn_leftovers "$work")
  [[ -z $left ]] || { echo "FAIL left behind:"; echo "$left"; exit 1; }
}
trap on_exit EXIT

scn_init
{
  scn_build_images 1 2 3
  # Three images with a distinct 1 MiB layer of many small random files each: a device that
  # runs two of them (current and previous) must download the third, which the throttled
  # server stretches to about a second; its extraction writes a few hundred files.
  for big in a b c; do
    umoci unpack --image "$SCN_WORK/oci:v1" "$SCN_WORK/bundle-$big"
    mkdir -p "$SCN_WORK/bundle-$big/rootfs/big"
    python3 - "$SCN_WORK/bundle-$big/rootfs/big" <<'PY'
import os, sys
for i in range(256):
    with open(os.path.join(sys.argv[1], "f%03d" % i), "wb") as f:
        f.write(os.urandom(4096))
PY
    umoci repack --image "$SCN_WORK/oci:$big" "$SCN_WORK/bundle-$big"
    rm -rf "$SCN_WORK/bundle-$big"
  done
} >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }

# publish REF WINDOW: hello <seq>.0.0 with release counter <seq> into $published, a TUF target.
# No deltas: every round must download a full blob through the throttle (and random layers would
# only cost delta attempts that are never worth it).
publish() {
  seq=$((seq + 1))
  published=$seq.0.0
  "$TENDER_BIN/tender-publish" release --layout "$SCN_WORK/oci" --ref "$1" --app hello \
    --version "$published" --counter "$seq" --repo "$SCN_WORK/repo" \
    --health-window "$2" --memory 67108864 --pids 64 --volume data:/data --stop-timeout 5 --deltas 0 \
    >>"$SCN_WORK/logs/publish.log" || scn_die "publish $published failed: $(tail -3 "$SCN_WORK/logs/publish.log")"
  scn_tuf_add "$published" || scn_die "tuf-add $published failed"
}

mkdir -p "$SCN_WORK/repo"
scn_tuf_init || scn_die "tuf-init failed"
SCN_SERVER_ARGS="--throttle 1048576" scn_start_server
scn_write_config

store=$SCN_WORK/store
start_agent() { # start_agent [CRASH_AT]
  TENDER_TEST_CRASH_AT=${1:-} "$TENDER_BIN/tenderd" --config "$SCN_WORK/agent.json" \
    >>"$SCN_WORK/logs/tenderd.log" 2>&1 &
  SCN_AGENT_PID=$!
}
# Waits for tenderd to kill itself at its crash point; 1 if it was still alive after 60 s.
wait_crashed() {
  local i
  for ((i = 0; i < 600; i++)); do
    kill -0 "$SCN_AGENT_PID" 2>/dev/null || { wait "$SCN_AGENT_PID" 2>/dev/null; SCN_AGENT_PID=; return 0; }
    sleep 0.1
  done
  kill_agent
  return 1
}
# SIGKILL to tenderd and the runtime commands it is running (its children), by pid.
kill_agent() {
  [[ -n $SCN_AGENT_PID ]] || return 0
  kill -STOP "$SCN_AGENT_PID" 2>/dev/null
  pkill -KILL -P "$SCN_AGENT_PID" 2>/dev/null
  kill -KILL "$SCN_AGENT_PID" 2>/dev/null
  wait "$SCN_AGENT_PID" 2>/dev/null
  SCN_AGENT_PID=
}
# Without python: this runs hundreds of times and a loaded CI box starts python slowly.
json_str() { sed -n "s/.*\"$1\":[[:space:]]*\"\([^\"]*\)\".*/\1/p" | head -n 1; }
journal_state() {
  local f
  for f in "$store"/journal/*.json; do
    [[ -e $f ]] && { tr -d '\n' <"$f" | json_str state; return; }
  done
  echo none
}
running_ids() {
  local d
  for d in "$SCN_WORK"/runtime/*/; do
    [[ -d $d ]] || continue
    [[ $(scn_runtime state "$(basename "$d")" 2>/dev/null | json_str status) == running ]] && basename "$d"
  done
}
cid() { echo "hello-${1//./_}"; }

# Store checks: current has its manifest and every layer, tmp/ is empty, no update is pinned.
store_consistent() {
  local cur m d ok=0
  cur=$(readlink "$store/apps/hello/current") || { echo "no current" >&2; return 1; }
  m=$store/apps/hello/$cur/manifest.json
  [[ -f $m ]] || { echo "no $m" >&2; return 1; }
  for d in $(grep -o '"diffId":[[:space:]]*"sha256:[0-9a-f]*"' "$m" | sed 's/.*sha256://; s/"//'); do
    [[ -d $store/layers/sha256/$d ]] || { echo "missing layer $d" >&2; ok=1; }
  done
  [[ -z $(ls -A "$store/tmp") ]] || { echo "tmp/ not empty" >&2; ok=1; }
  [[ -z $(ls -A "$store/state/pins" 2>/dev/null) ]] || { echo "pin left: $(ls "$store/state/pins")" >&2; ok=1; }
  return $ok
}
history_lines=0
# converge ACTION EXPECT_RESULT EXPECT_CURRENT WHAT
converge() {
  local id=$1 result=$2 version=$3 what=$4 got i
  got=$(wait_action "$id")
  [[ $got == "$result" ]] || { fail "$what: action $id ended '$got', expected '$result' ($(scn_action_details "$id"))"; return; }
  for ((i = 0; i < 50; i++)); do [[ $(journal_state) == none ]] && break; sleep 0.1; done
  [[ $(journal_state) == none ]] || fail "$what: journal not empty: $(journal_state)"
  [[ $(scn_current_version) == "$version" ]] || fail "$what: current is $(scn_current_version), expected $version"
  local ids
  ids=$(running_ids)
  [[ $ids == "$(cid "$version")" ]] || fail "$what: running containers '$ids', expected $(cid "$version")"
  store_consistent || fail "$what: store inconsistent"
  local n
  n=$(wc -l <"$store/apps/hello/volumes/data/history" 2>/dev/null || echo 0)
  if ((n < history_lines)) || ! grep -q "^v1 " "$store/apps/hello/volumes/data/history"; then
    fail "$what: volume history lost lines ($n < $history_lines) or v1's line"
  fi
  history_lines=$n
}
count_kill() { kills=$((kills + 1)); kinds[$1]=$((${kinds[$1]:-0} + 1)); }

# Old version keeps running untouched across a kill before the swap.
check_untouched() { # VERSION PID WHAT
  local ids
  ids=$(running_ids)
  [[ $ids == "$(cid "$1")" ]] || fail "$3: running '$ids', expected only $(cid "$1")"
  [[ $(pid_of "$1") == "$2" ]] ||
    fail "$3: $1 was restarted"
}
pid_of() { scn_runtime state "$(cid "$1")" 2>/dev/null | sed -n 's/.*"pid":[[:space:]]*\([0-9]*\).*/\1/p'; }
# wait_action ID: prints the result once the server recorded the closing feedback.
wait_action() {
  local i a
  for ((i = 0; i < 900; i++)); do
    a=$(curl -fsS "$SCN_URL/mock/actions/$1")
    [[ $(json_str status <<<"$a") == closed ]] && { json_str result <<<"$a"; return; }
    sleep 0.1
  done
  echo timeout
}

# Base install: v1 (image a), committed without kills.
publish a 1
current=$published
start_agent
converge "$(scn_deploy "$current")" success "$current" "initial install"
scn_stop_agent

images=(a b c)
cur_img=a prev_img=
finals=(swapping testing committed)
round=0
while more_rounds; do
  # A good release: killed at each state before the swap, at random points of its throttled
  # download and extraction, then at one state after it.
  # An image whose big layer the device does not hold: neither current's nor previous's.
  for img in "${images[@]}"; do [[ $img != "$cur_img" && $img != "$prev_img" ]] && break; done
  publish "$img" 1
  new=$published
  id=$(scn_deploy "$new")
  oldpid=$(pid_of "$current")
  for st in queued verifying downloading; do
    start_agent "$st:1"
    wait_crashed || fail "round $round: tenderd did not reach $st"
    [[ $(journal_state) == "$st" ]] || fail "round $round: journal says $(journal_state), expected $st"
    check_untouched "$current" "$oldpid" "round $round, killed at $st"
    count_kill "$st"
  done
  # Random kills: one at a random moment of the throttled download (about a second), one as
  # soon as the blob is complete, which lands in its extraction or just after.
  outcome=pre
  for r in download extract; do
    seen=$(grep -c "Update state: downloading" "$SCN_WORK/logs/tenderd.log")
    start_agent
    for ((i = 0; i < 1500; i++)); do
      (($(grep -c "Update state: downloading" "$SCN_WORK/logs/tenderd.log") > seen)) && break
      sleep 0.02
    done
    if [[ $r == download ]]; then
      sleep "0.$((RANDOM % 8))$((RANDOM % 10))"
    else
      for ((i = 0; i < 1500; i++)); do
        compgen -G "$store/blobs/sha256/*.part" >/dev/null || break
        sleep 0.01
      done
    fi
    # Frozen first, so that what the store says is where it was killed.
    kill -STOP "$SCN_AGENT_PID"
    pkill -STOP -P "$SCN_AGENT_PID"
    state=$(journal_state)
    phase=$state
    if [[ $state == downloading ]]; then
      if compgen -G "$store/blobs/sha256/*.part" >/dev/null; then phase=mid-download; else phase=mid-extraction; fi
    fi
    kill_agent
    count_kill "random:$phase"
    case $state in
      queued | verifying | downloading | staging) check_untouched "$current" "$oldpid" "round $round, random kill in $phase" ;;
      swapping | testing | rolling-back) outcome=rollback; break ;;
      committed) outcome=commit; break ;;
      none) outcome=finished; break ;;
    esac
  done
  if [[ $outcome == pre ]]; then
    start_agent staging:1
    wait_crashed || fail "round $round: tenderd did not reach staging"
    [[ $(journal_state) == staging ]] || fail "round $round: journal says $(journal_state), expected staging"
    check_untouched "$current" "$oldpid" "round $round, killed at staging"
    count_kill staging
  fi
  final=${finals[round % 3]}
  if [[ $outcome == pre ]]; then
    start_agent "$final:1"
    wait_crashed || fail "round $round: tenderd did not reach $final"
    count_kill "$final"
    [[ $final == committed ]] && outcome=commit || outcome=rollback
  fi
  # Killed again while replaying at start: the replay's own transitions are kill points too.
  replays=()
  case $outcome in
    rollback) replays=(rolling-back rolled-back) ;;
    commit) replays=(committed) ;;
  esac
  for st in "${replays[@]}"; do
    start_agent "$st:1"
    wait_crashed || fail "round $round: the replay did not reach $st"
    count_kill "replay:$st"
  done
  if [[ $outcome == rollback ]]; then
    check_untouched "$current" "$(pid_of "$current")" "round $round, killed once rolled back"
  fi
  start_agent
  case $outcome in
    rollback)
      converge "$id" failure "$current" "round $round ($final): rolled back"
      [[ -e $store/apps/hello/bad/$new ]] || fail "round $round: $new not marked bad"
      ;;
    *)
      converge "$id" success "$new" "round $round ($final): committed"
      current=$new
      prev_img=$cur_img
      cur_img=$img
      ;;
  esac
  scn_stop_agent

  # A release that fails its health check: killed while rolling back, then while replaying
  # that rollback at start, once it is rolled back.
  publish v3 2
  bad=$published
  id=$(scn_deploy "$bad")
  for st in rolling-back rolled-back; do
    start_agent "$st:1"
    wait_crashed || fail "round $round: tenderd did not reach $st"
    count_kill "$st"
  done
  start_agent
  converge "$id" failure "$current" "round $round (bad release)"
  details=$(curl -fsS "$SCN_URL/mock/actions/$id")
  [[ $details == *"rolled back to $current"* ]] || fail "round $round (bad release): details '$details'"
  [[ $details == *"failed its health check"* ]] || fail "round $round (bad release): reason lost: '$details'"
  scn_stop_agent

  # A release whose manifest does not match its TUF target (one byte longer than signed, in
  # every copy the repository serves): killed once it failed.
  publish v2 1
  sig=$published
  for f in "$SCN_WORK/repo/tuf/targets/apps/hello/$sig.json" \
    "$SCN_WORK"/repo/tuf/targets/apps/hello/*."$sig.json"; do printf ' ' >>"$f"; done
  id=$(scn_deploy "$sig")
  start_agent "failed:1"
  wait_crashed || fail "round $round: tenderd did not reach failed"
  count_kill failed
  start_agent
  converge "$id" failure "$current" "round $round (failed)"
  [[ $(curl -fsS "$SCN_URL/mock/actions/$id") == *"TUF verification failed: target"* ]] ||
    fail "round $round: failure does not name the TUF target"
  scn_stop_agent
  echo "round $round: $kills kill points so far, $failures failure(s)"
  round=$((round + 1))
done

for k in $(printf '%s\n' "${!kinds[@]}" | sort); do echo "  ${kinds[$k]} x $k"; done
echo "$kills kill points, each followed by a restart and a convergence check"
if [[ -z $rounds ]]; then
  ((kills >= target)) || fail "$kills kill points, fewer than $target"
  for k in $(missing_states); do fail "no kill point at $k"; done
fi
if ((failures)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
