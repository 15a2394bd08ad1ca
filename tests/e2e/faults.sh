#!/usr/bin/env bash
# tenderd against server-mock's injected faults (POST /mock/faults, docs/server-mock.md), one
# real tenderd, each reaction proved by what the server counted rather than by timing:
#  1. a 503 storm on the poll with Retry-After: 3600: tenderd polls once and waits, no storm;
#  2. the first request for v1's big blob reset, the next truncated after 4 KiB: the download
#     resumes with a Range (the server sent the blob's bytes once in all) and v1 installs;
#  3. a 503 storm with Retry-After on v2's blob: exactly one request per 503, then success;
#  4. one corrupted byte in v4's blob: refused on its digest, v2 keeps running untouched;
#  5. TUF timestamp replayed (an older version): refused as a rollback; then a stale timestamp
#     (expired) replayed: refused as expired; the running app keeps running each time;
#  6. latency (3 s) on a poll beyond server.requestTimeoutSeconds (2 s): that poll times out;
#     a blob 503 with Retry-After beyond download.retryBudgetSeconds: one request, then the
#     update fails (no retry sooner than the server asked);
#     slow-loris (a byte every 100 ms) on v5's blob: each attempt ends at the transfer deadline
#     (server.requestTimeoutSeconds + size / download.minAverageBytesPerSecond), the update
#     fails after download.retryAttempts attempts, and the app keeps running.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin
scn_init
scn_build_images 1 2 4 5 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
blobs=$SCN_WORK/repo/blobs/sha256
mkdir -p "$blobs" "$SCN_WORK/repo/saved"
# publish V: hello V.0.0; prints the hex of the biggest blob it added to the repository.
publish() {
  local before after
  before=$(ls "$blobs")
  scn_publish "$1" || scn_die "publish $1 failed"
  after=$(ls "$blobs")
  comm -13 <(echo "$before") <(echo "$after") | while read -r h; do
    echo "$(stat -c %s "$blobs/$h") $h"
  done | sort -n | tail -n 1 | cut -d' ' -f2
}
blob1=$(publish 1)
blob2=$(publish 2)
[[ -n $blob1 && -n $blob2 ]] || scn_die "no new blobs in the repository"
size1=$(stat -c %s "$blobs/$blob1")

scn_start_server
scn_write_config
ctl() { "$TENDER_BIN/tenderctl" --socket "$SCN_WORK/control.sock" "$@"; }
# fault JSON: sets a fault, prints its id.
fault() { curl -fsS -X POST -H 'Content-Type: application/json' -d "$1" "$SCN_URL/mock/faults" | jq -r .id; }
# fault_field ID FIELD: matched or applied of fault ID.
fault_field() { curl -fsS "$SCN_URL/mock/faults/$1" | jq -r ".$2"; }
clear_faults() { curl -fsS -X DELETE "$SCN_URL/mock/faults" >/dev/null; }
blob_stat() { curl -fsS "$SCN_URL/mock/stats" | jq -r ".files[\"blobs/sha256/$1\"].$2 // 0"; }
# wait_for CMD...: up to 60 s until CMD succeeds.
wait_for() {
  local i
  for ((i = 0; i < 600; i++)); do "$@" && return 0; sleep 0.1; done
  return 1
}
log_has() { grep -q -- "$1" "$SCN_WORK/logs/tenderd.log"; }

# 1. Poll storm: 503 with Retry-After: 3600 on every poll of this device. The poll interval is
# 1 s, so without Retry-After honoured tenderd polls again every second.
poll=$(fault "{\"kind\":\"status\",\"path\":\"/DEFAULT/controller/v1/$SCN_TARGET\",\"target\":\"$SCN_TARGET\",\"status\":503,\"retryAfter\":3600}")
scn_start_agent
wait_for log_has "the server asks to retry after 3600 s"
check "poll storm: tenderd names the server's Retry-After" \
  grep -q "Poll of .* failed: .*503.*retry after 3600 s" "$SCN_WORK/logs/tenderd.log"
sleep 4 # four poll intervals: a poll that ignored Retry-After would have come again
check "poll storm: one poll, then tenderd waits as asked (no retry storm)" eq "$(fault_field "$poll" matched)" 1
clear_faults
ctl check >/dev/null # polls now, as an operator would once the server is back

# 2. Reset, then truncated after 4 KiB: the blob still comes once in all, resumed.
reset=$(fault "{\"kind\":\"reset\",\"path\":\"/repo/blobs/sha256/$blob1\",\"count\":1}")
trunc=$(fault "{\"kind\":\"truncate\",\"path\":\"/repo/blobs/sha256/$blob1\",\"bytes\":4096,\"count\":2}")
id=$(scn_deploy 1.0.0)
check "reset + truncate: v1 installed" eq "$(scn_wait_action "$id")" success
check "reset + truncate: the reset was served" eq "$(fault_field "$reset" applied)" 1
check "reset + truncate: the truncation was served after it" eq "$(fault_field "$trunc" applied)" 2
echo "     blob of $size1 bytes: $(blob_stat "$blob1" requests) requests with a body, $(blob_stat "$blob1" bytes) bytes"
check "reset + truncate: resumed (the blob's bytes sent once in all, not again from zero)" \
  le "$(blob_stat "$blob1" bytes)" "$size1"
check "reset + truncate: the stored blob has its digest" \
  eq "$(sha256sum <"$SCN_WORK/store/blobs/sha256/$blob1" | cut -d' ' -f1)" "$blob1"
clear_faults

# 3. Status storm on a blob: two 503 with Retry-After: 1, then served. One request per 503.
storm=$(fault "{\"kind\":\"status\",\"path\":\"/repo/blobs/sha256/$blob2\",\"status\":503,\"retryAfter\":1,\"count\":2}")
id=$(scn_deploy 2.0.0)
check "blob storm: v2 installed" eq "$(scn_wait_action "$id")" success
check "blob storm: one request per 503, then one that succeeded (no retry storm)" \
  eq "$(fault_field "$storm" matched)" 3
clear_faults
pid2=$(scn_app_pid 2.0.0)
check "v2 runs" test -n "$pid2"

# 4. A corrupted byte in v4's blob: refused, v2 keeps running.
cp "$SCN_WORK/repo/tuf/metadata/timestamp.json" "$SCN_WORK/repo/saved/timestamp-old.json"
blob4=$(publish 4)
corrupt=$(fault "{\"kind\":\"corrupt\",\"path\":\"/repo/blobs/sha256/$blob4\",\"offset\":100}")
id=$(scn_deploy 4.0.0)
check "corrupt byte: v4 refused" eq "$(scn_wait_action "$id")" failure
details=$(scn_action_details "$id")
echo "     $details"
check "corrupt byte: the feedback names the digest mismatch" contains "$details" "digest"
check "corrupt byte: the corruption was served" ge "$(fault_field "$corrupt" applied)" 1
check "corrupt byte: v2 is still current" eq "$(scn_current_version)" 2.0.0
check "corrupt byte: v2 still runs, same process" eq "$(scn_app_pid 2.0.0)" "$pid2"
check "corrupt byte: no corrupt blob in the store" test ! -e "$SCN_WORK/store/blobs/sha256/$blob4"
clear_faults

# 5. Replayed TUF metadata. The device trusts the timestamp that lists v4 (step 4 read it);
# the server now replays the one from before v4 was published: a rollback.
blob5=$(publish 5)
replay=$(fault '{"kind":"replay","path":"/repo/tuf/metadata/timestamp.json","file":"/repo/saved/timestamp-old.json"}')
id=$(scn_deploy 5.0.0)
check "replayed timestamp: v5 refused" eq "$(scn_wait_action "$id")" failure
details=$(scn_action_details "$id")
echo "     $details"
check "replayed timestamp: the error says rollback" contains "$details" "rollback"
check "replayed timestamp: the old timestamp was served" ge "$(fault_field "$replay" applied)" 1
check "replayed timestamp: v2 still runs, same process" eq "$(scn_app_pid 2.0.0)" "$pid2"
clear_faults
# A stale timestamp: a newer version, but expired (a freeze).
scn_tuf refresh --role timestamp --expires timestamp=0 || scn_die "tuf-refresh failed"
cp "$SCN_WORK/repo/tuf/metadata/timestamp.json" "$SCN_WORK/repo/saved/timestamp-stale.json"
scn_tuf refresh --role timestamp || scn_die "tuf-refresh failed"
stale=$(fault '{"kind":"replay","path":"/repo/tuf/metadata/timestamp.json","file":"/repo/saved/timestamp-stale.json"}')
sleep 1 # the stale copy expired at the second it was signed
id=$(scn_deploy 5.0.0)
check "stale timestamp: v5 refused" eq "$(scn_wait_action "$id")" failure
details=$(scn_action_details "$id")
echo "     $details"
check "stale timestamp: the error says expired" contains "$details" "expired"
check "stale timestamp: the stale copy was served" ge "$(fault_field "$stale" applied)" 1
check "stale timestamp: v2 still runs, same process" eq "$(scn_app_pid 2.0.0)" "$pid2"
clear_faults

# 6. Slow-loris on v5's blob: a byte every 100 ms. Deadline per attempt: 2 s + size / 1 MB/s.
scn_stop_agent
jq '.server.requestTimeoutSeconds = 2 | .download.minAverageBytesPerSecond = 1000000 |
    .download.retryAttempts = 2 | .download.retryBudgetSeconds = 10' "$SCN_WORK/agent.json" >"$SCN_WORK/agent.json.new" &&
  mv "$SCN_WORK/agent.json.new" "$SCN_WORK/agent.json"
# Latency beyond server.requestTimeoutSeconds on one poll: that poll times out, the next works.
slow=$(fault "{\"kind\":\"latency\",\"path\":\"/DEFAULT/controller/v1/$SCN_TARGET\",\"ms\":3000,\"count\":1}")
scn_start_agent
check "latency: the slow poll ends at server.requestTimeoutSeconds" \
  wait_for grep -q "Poll of .* failed: .*[Tt]imed out" "$SCN_WORK/logs/tenderd.log"
check "latency: applied once" eq "$(fault_field "$slow" applied)" 1
clear_faults
# A blob 503 whose Retry-After (30 s) is beyond download.retryBudgetSeconds (10 s): tenderd waits
# as told rather than retrying after its own 1 s backoff, so it gives up after one request.
late=$(fault "{\"kind\":\"status\",\"path\":\"/repo/blobs/sha256/$blob5\",\"status\":503,\"retryAfter\":30}")
id=$(scn_deploy 5.0.0)
check "Retry-After beyond the budget: v5 fails" eq "$(scn_wait_action "$id")" failure
details=$(scn_action_details "$id")
echo "     $details"
check "Retry-After beyond the budget: gave up after one attempt" contains "$details" "gave up after 1 attempt"
check "Retry-After beyond the budget: one request, no retry sooner than asked" eq "$(fault_field "$late" matched)" 1
clear_faults
loris=$(fault "{\"kind\":\"dribble\",\"path\":\"/repo/blobs/sha256/$blob5\",\"ms\":100}")
id=$(scn_deploy 5.0.0)
check "slow-loris: v5 fails" eq "$(scn_wait_action "$id")" failure
details=$(scn_action_details "$id")
echo "     $details"
check "slow-loris: the error names the timeout" contains "$details" "time"
check "slow-loris: one request per attempt (download.retryAttempts = 2)" \
  eq "$(fault_field "$loris" matched)" 2
check "slow-loris: v2 still runs, same process" eq "$(scn_app_pid 2.0.0)" "$pid2"
check "slow-loris: v2 is current" eq "$(scn_current_version)" 2.0.0
clear_faults

scn_stop_agent
scn_test_end
