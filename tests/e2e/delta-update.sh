#!/usr/bin/env bash
# End to end with layer deltas: one-layer images whose versions change a few files of a ~3 MiB
# layer, published with tender-publish's default --deltas. The device takes v2 through the
# delta (the server's request log shows the delta blob fetched and the layer blob never),
# with the right files; v4's delta blobs corrupted on the server and v5's source layers changed
# on the device each make tenderd fall back to the full layer, succeed, and say so in the
# deployment's feedback. (v3 is the scenario's broken app; not used here.) v2 also adds 2 MiB of
# random data, so its delta is large enough that, from a throttled server, tenderd sends DDI
# progress feedback for the delta blob as for a layer blob (agent/blob.c).
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin

# patch_file FILE: overwrites 100 bytes in the middle and appends a line.
patch_file() {
  python3 - "$1" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2:len(b) // 2 + 100] = b"x" * 100
open(p, "wb").write(bytes(b) + b"patched\n")
PY
}

# One-layer images v1, v2, v4, v5 of one root file system: busybox, the app and 48 files of
# 64 KiB that do not compress. Each version has its own /app/run and patches one more data file,
# payload/part<2v>.bin.
build_images() {
  local oci=$SCN_WORK/oci fs=$SCN_WORK/fs b=$SCN_WORK/bundle v applet
  mkdir -p "$fs/bin" "$fs/data" "$fs/tmp" "$fs/proc" "$fs/dev" "$fs/sys" "$fs/payload"
  cp /bin/busybox "$fs/bin/busybox"
  for applet in sh echo sleep cat date hostname; do ln -sf busybox "$fs/bin/$applet"; done
  python3 - "$fs/payload" <<'PY'
import random, sys
rng = random.Random(5)
for i in range(48):
    open(f"{sys.argv[1]}/part{i:02d}.bin", "wb").write(rng.randbytes(64 * 1024))
PY
  umoci init --layout "$oci"
  for v in 1 2 4 5; do
    scn_write_app "$fs" "$v"
    f=$fs/payload/part$(printf %02d $((v * 2))).bin
    ((v > 1)) && patch_file "$f"
    ((v == 2)) && python3 -c 'import random, sys; open(sys.argv[1], "wb").write(random.Random(9).randbytes(2 << 20))' "$fs/payload/extra.bin"
    sha256sum "$f" | cut -d' ' -f1 >"$SCN_WORK/want-v$v"
    umoci new --image "$oci:v$v"
    umoci unpack --image "$oci:v$v" "$b"
    cp -a "$fs"/. "$b/rootfs/"
    umoci repack --image "$oci:v$v" "$b"
    umoci config --image "$oci:v$v" --config.entrypoint /app/run --config.env PATH=/bin \
      --config.workingdir /
    rm -rf "$b"
  done
}

# Fields of the published manifests as shell variables (one python run): layer_V, diffid_V,
# size_V (the layer blob), deltas_V (the delta blobs' hex digests), delta_V and dsize_V (the
# first delta).
load_manifests() {
  eval "$(python3 - "$SCN_WORK/repo/apps/hello" <<'PY'
import json, sys
for v in (1, 2, 4, 5):
    m = json.load(open(f"{sys.argv[1]}/{v}.0.0.json"))
    l, ds = m["image"]["layers"][0], m["image"].get("deltas", [])
    print(f"layer_{v}={l['digest']} diffid_{v}={l['diffId']} size_{v}={l['size']}")
    print(f"deltas_{v}='{' '.join(d['digest'][7:] for d in ds)}'")
    print(f"delta_{v}={ds[0]['digest'] if ds else ''} dsize_{v}={ds[0]['size'] if ds else 0}")
PY
)"
}
all_details() {
  scn_action_field "$1" '" / ".join(d for f in a["feedback"] for d in f["status"].get("details", []))'
}
requested() { # requested DIGEST: how many times the server was asked for the blob
  grep -c "GET /repo/blobs/sha256/${1#sha256:} -> 20" "$SCN_WORK/logs/server.log"
}
layer_dir() { echo "$SCN_WORK/store/layers/sha256/${1#sha256:}"; }
file_sha() { sha256sum "$1" 2>/dev/null | cut -d' ' -f1; }

scn_init
build_images >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
SCN_HEALTH_WINDOW=2 scn_publish 1 2 4 5 || exit 1
load_manifests
check "v2 is published with a delta from v1" test -n "$delta_2"
check "v4 is published with deltas" test -n "$delta_4"
check "v5 is published with deltas" test -n "$delta_5"
# 1 MiB/s: the 2 MiB delta takes about 2 s, longer than the 1 s between progress messages.
SCN_SERVER_ARGS="--throttle $((1024 * 1024))" scn_start_server
scn_write_config
scn_start_agent

id=$(scn_deploy 1.0.0)
check "v1: deployment succeeds" eq "$(scn_wait_action "$id")" success

# v2 through the delta.
echo "     v2: layer blob $size_2 bytes, delta $dsize_2 bytes"
id=$(scn_deploy 2.0.0)
check "v2: deployment succeeds" eq "$(scn_wait_action "$id")" success
check "v2: is current" eq "$(scn_current_version)" 2.0.0
check "v2: the server sent the delta blob" eq "$(requested "$delta_2")" 1
check "v2: the server never sent the layer blob" eq "$(requested "$layer_2")" 0
check "v2: the rebuilt layer has the patched file" \
  eq "$(file_sha "$(layer_dir "$diffid_2")/payload/part04.bin")" "$(cat "$SCN_WORK/want-v2")"
check "v2: the rebuilt layer has v2's app" contains "$(cat "$(layer_dir "$diffid_2")/app/run")" "hello v2"
check "v2: no fallback reported" lacks "$(all_details "$id")" "falling back"
progress=$(scn_action_field "$id" "' '.join('%d/%d' % (f['status']['result']['progress']['cnt'], f['status']['result']['progress']['of']) for f in a['feedback'] if any('downloading $delta_2' in d for d in f['status'].get('details', [])))")
echo "     v2: progress feedback for the delta blob (bytes done/total): $progress"
check "v2: progress feedback for the delta blob, in bytes of it" contains "$progress" "/$dsize_2"
check "v2: the delta blob is not kept on the device" test ! -e "$(layer_dir "$delta_2" | sed 's,/layers/,/blobs/,')"
history=$(cat "$SCN_WORK/store/apps/hello/volumes/data/history" 2>/dev/null)
check "v2: the app ran" contains "$history" "v2 "

# v4: its deltas' blobs corrupted on the server: the download's digest check fails.
for d in $deltas_4; do
  printf 'garbage' | dd of="$SCN_WORK/repo/blobs/sha256/$d" bs=1 seek=200 conv=notrunc status=none
done
id=$(scn_deploy 4.0.0)
check "v4 (corrupted delta): deployment succeeds" eq "$(scn_wait_action "$id")" success
check "v4: is current" eq "$(scn_current_version)" 4.0.0
details=$(all_details "$id")
check "v4: feedback reports the fallback" contains "$details" "falling back to the full layer"
check "v4: feedback names the digest mismatch" contains "$details" "digest mismatch"
named=
for d in $deltas_4; do [[ $details == *"delta sha256:$d from layer"* ]] && named=$d; done
check "v4: feedback names the delta" test -n "$named"
check "v4: the full layer blob was fetched" eq "$(requested "$layer_4")" 1
check "v4: the layer has the right file" \
  eq "$(file_sha "$(layer_dir "$diffid_4")/payload/part08.bin")" "$(cat "$SCN_WORK/want-v4")"

# v5: a file its deltas copy from changed in the device's old layers: the rebuilt tar's digest
# does not match, the partial layer goes, the full layer comes.
for d in $diffid_2 $diffid_4; do
  printf 'changed' | dd of="$(layer_dir "$d")/payload/part30.bin" bs=1 seek=1000 conv=notrunc status=none
done
id=$(scn_deploy 5.0.0)
check "v5 (changed old file): deployment succeeds" eq "$(scn_wait_action "$id")" success
check "v5: is current" eq "$(scn_current_version)" 5.0.0
details=$(all_details "$id")
check "v5: feedback reports the fallback" contains "$details" "falling back to the full layer"
check "v5: feedback names the layer whose digest did not match" contains "$details" "$diffid_5: diff_id mismatch"
check "v5: the full layer blob was fetched" eq "$(requested "$layer_5")" 1
check "v5: the layer has the right file" \
  eq "$(file_sha "$(layer_dir "$diffid_5")/payload/part10.bin")" "$(cat "$SCN_WORK/want-v5")"
check "v5: no partial layer left in tmp/" eq "$(find "$SCN_WORK/store/tmp" -mindepth 1 -maxdepth 1 | wc -l)" 0

scn_stop_agent
scn_test_end
