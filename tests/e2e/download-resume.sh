#!/usr/bin/env bash
# Kill-and-resume for real: tenderd is SIGKILLed while it downloads a large blob from a
# throttled server-mock, restarted, and must resume the blob's .part with a Range request and
# finish the update; server-mock's byte counters (GET /mock/stats) prove that the blob was
# served at most 1.05 times in total. Then the same with the blob's content changed on the
# server between the attempts (new ETag): If-Range no longer matches, the download restarts
# from zero and the update still succeeds with the right bytes. While blobs stream, tenderd
# sends DDI progress feedback (bytes of the blob) over its other HTTP client.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin
BIG_BYTES=$((6 * 1024 * 1024)) # random, so the gzip layer is as large
THROTTLE=$((1024 * 1024))      # bytes/s: the big blob takes about 6 s (slack for a loaded box)

scn_init
# add_big_layer FROM TO: image TO is FROM plus one layer holding BIG_BYTES of random data.
add_big_layer() {
  local b=$SCN_WORK/bundle-big
  umoci unpack --image "$SCN_WORK/oci:$1" "$b"
  head -c "$BIG_BYTES" /dev/urandom >"$b/rootfs/big-$2"
  umoci repack --image "$SCN_WORK/oci:$2" "$b"
  rm -rf "$b"
}
{
  scn_build_images 1
  add_big_layer v1 v2
  add_big_layer v2 v3
} >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }

blobs=$SCN_WORK/repo/blobs/sha256
mkdir -p "$blobs"
# publish V: hello V.0.0 from image vV; prints the hex of the one blob it added to the repo.
publish() {
  local before after
  before=$(ls "$blobs")
  scn_publish "$1" || scn_die "publish $1 failed"
  after=$(ls "$blobs")
  comm -13 <(echo "$before") <(echo "$after") | while read -r h; do
    [[ $(stat -c %s "$blobs/$h") -ge $BIG_BYTES ]] && echo "$h"
  done
}
scn_publish 1 || exit 1
big2=$(publish 2)
big3=$(publish 3)
[[ -n $big2 && -n $big3 ]] || scn_die "could not find the big blobs in the repository"
size2=$(stat -c %s "$blobs/$big2")
size3=$(stat -c %s "$blobs/$big3")

SCN_SERVER_ARGS="--throttle $THROTTLE" scn_start_server
scn_write_config
store=$SCN_WORK/store

# blob_stat HEX FIELD: requests or bytes the server counted for that blob.
blob_stat() {
  curl -fsS "$SCN_URL/mock/stats" |
    python3 -c "import json,sys; f=json.load(sys.stdin)['files'].get('blobs/sha256/$1', {}); print(f.get('$2', 0))"
}
part_size() { stat -c %s "$store/blobs/sha256/$1.part" 2>/dev/null || echo 0; }
# kill_mid_download HEX SIZE: waits until the blob's .part holds 40 % of it, then SIGKILLs
# tenderd, then any child it ran. SIGKILL at once (no SIGSTOP first): a stopped client lets the
# server fill the socket buffers with bytes that the count would include but the .part never
# gets. Prints the .part's size after the kill.
kill_mid_download() {
  local hex=$1 size=$2 i
  for ((i = 0; i < 1200; i++)); do
    (($(part_size "$hex") * 10 >= size * 4)) && break
    kill -0 "$SCN_AGENT_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$SCN_AGENT_PID" 2>/dev/null
  pkill -KILL -P "$SCN_AGENT_PID" 2>/dev/null
  wait "$SCN_AGENT_PID" 2>/dev/null
  SCN_AGENT_PID=
  part_size "$hex"
}

# 1. v1 installed normally (its busybox layer is not what this test is about).
scn_start_agent
id=$(scn_deploy 1.0.0)
check "v1 installed" eq "$(scn_wait_action "$id")" success

# 2. v2: killed at 40 % of its big blob, restarted, resumed.
curl -fsS -X DELETE "$SCN_URL/mock/stats" >/dev/null
id=$(scn_deploy 2.0.0)
have=$(kill_mid_download "$big2" "$size2")
echo "     v2: tenderd killed with $have of $size2 bytes in the .part"
check "v2: killed mid-download (.part between 40 % and 100 %)" \
  eval "(( have * 10 >= size2 * 4 && have < size2 ))"
check "v2: the update is still open on the server" eq "$(scn_action_field "$id" 'a["status"]')" open
scn_start_agent
check "v2: update succeeds after the restart" eq "$(scn_wait_action "$id")" success
check "v2: is current" eq "$(scn_current_version)" 2.0.0
served=$(blob_stat "$big2" bytes)
echo "     v2: server sent $served bytes of the $size2-byte blob in $(blob_stat "$big2" requests) requests"
check "v2: resumed: at least two requests for the blob" ge "$(blob_stat "$big2" requests)" 2
check "v2: total bytes served <= 1.05 x blob size" le "$served" $((size2 * 105 / 100))
# Progress feedback while the blob streamed (DDI proceeding, cnt/of in bytes of the blob).
progress=$(scn_action_field "$id" "' '.join('%d/%d' % (f['status']['result']['progress']['cnt'], f['status']['result']['progress']['of']) for f in a['feedback'] if any('downloading sha256:$big2' in d for d in f['status'].get('details', [])))")
echo "     v2: progress feedback (bytes done/total): $progress"
check "v2: progress feedback for the blob, in bytes of it" contains "$progress" "/$size2"
check "v2: blob in the store, no .part left" \
  eval "[[ -f $store/blobs/sha256/$big2 && ! -e $store/blobs/sha256/$big2.part ]]"

# 3. v3: killed at 40 %; the blob gets a new ETag on the server before the restart (same bytes,
# new mtime, as after a re-upload): the resume must not splice, the blob comes again whole.
curl -fsS -X DELETE "$SCN_URL/mock/stats" >/dev/null
scn_stop_agent
scn_start_agent
id=$(scn_deploy 3.0.0)
have=$(kill_mid_download "$big3" "$size3")
echo "     v3: tenderd killed with $have of $size3 bytes in the .part"
check "v3: killed mid-download" eval "(( have * 10 >= size3 * 4 && have < size3 ))"
touch -d '+1 minute' "$blobs/$big3"
scn_start_agent
check "v3: update succeeds after the content changed" eq "$(scn_wait_action "$id")" success
check "v3: is current" eq "$(scn_current_version)" 3.0.0
served=$(blob_stat "$big3" bytes)
echo "     v3: server sent $served bytes of the $size3-byte blob in $(blob_stat "$big3" requests) requests"
check "v3: restarted from zero: the whole blob sent after the .part" ge "$served" $((size3 + have))
check "v3: the stored blob has the signed digest" \
  eq "$(sha256sum <"$store/blobs/sha256/$big3" | cut -d' ' -f1)" "$big3"

scn_stop_agent
scn_test_end
