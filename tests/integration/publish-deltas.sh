#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tender-publish release --deltas: deltas from the app's last K releases to each new layer,
# stored as repository blobs and listed in image.deltas; the threshold; K = 0 and 1; a retried
# release keeping its deltas; every listed delta rebuilding its layer exactly.
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_need_root "umoci unpack needs root"
st_need umoci python3 tar /bin/busybox
st_begin publish-deltas tender-publish
W=$WORK PUB=$B/tender-publish

# rootfs DIR SEED [bare]: busybox (unless bare) and 16 files of 64 KiB that do not compress,
# from a seeded generator.
rootfs() {
  mkdir -p "$1/bin" "$1/data"
  if [[ -z ${3:-} ]]; then
    cp /bin/busybox "$1/bin/busybox"
    ln -s busybox "$1/bin/sh"
  fi
  python3 - "$1/data" "$2" <<'PY'
import random, sys
d, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
for i in range(16):
    open(f"{d}/file{i:02d}.bin", "wb").write(rng.randbytes(64 * 1024))
PY
}

# patch_file FILE: overwrites 100 bytes in the middle and appends a line (a small change).
patch_file() {
  python3 - "$1" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[len(b) // 2:len(b) // 2 + 100] = b"x" * 100
open(p, "wb").write(bytes(b) + b"patched\n")
PY
}

# image TAG DIR: a one-layer image of the root file system DIR.
image() {
  umoci new --image "$L:$1"
  umoci unpack --image "$L:$1" "$W/b"
  cp -a "$2"/. "$W/b/rootfs/"
  umoci repack --image "$L:$1" "$W/b"
  umoci config --image "$L:$1" --config.entrypoint /bin/sh
  rm -rf "$W/b"
}

echo "== one-layer images: v2 and v3 change a few files of v1; v4 has other files only"
L=$W/oci
umoci init --layout "$L"
rootfs "$W/fs" 1
image v1 "$W/fs"
patch_file "$W/fs/data/file03.bin"
patch_file "$W/fs/data/file12.bin"
image v2 "$W/fs"
patch_file "$W/fs/data/file09.bin"
image v3 "$W/fs"
rm -rf "$W/fs"
rootfs "$W/fs" 2 bare
image v4 "$W/fs"

"$PUB" keygen --private "$W/key.pem" --public "$W/key.pub.pem" >/dev/null
R=$W/repo
release() { # release REPO REF VERSION COUNTER [extra options...]
  local repo=$1 ref=$2 version=$3 counter=$4
  shift 4
  "$PUB" release --layout "$L" --ref "$ref" --app hello --version "$version" --counter "$counter" \
    --key "$W/key.pem" --repo "$repo" "$@"
}

# check_deltas REPO VERSION FROM-VERSION...: image.deltas of VERSION are exactly one delta to
# its layer from the layer of each FROM-VERSION, in that order; each blob is in the repository
# with the listed digest and size, smaller than the layer blob.
check_deltas() {
  python3 - "$@" <<'PY'
import hashlib, json, sys
repo, version, froms = sys.argv[1], sys.argv[2], sys.argv[3:]
def man(v):
    return json.load(open(f"{repo}/apps/hello/{v}.json"))
m = man(version)
layer = m["image"]["layers"][0]
deltas = m["image"].get("deltas", [])
want = [man(f)["image"]["layers"][0]["diffId"] for f in froms]
got = [d["from"] for d in deltas]
if got != want:
    sys.exit(f"FAIL: {version}: deltas from {got}, expected {want} ({froms})")
for d in deltas:
    if d["to"] != layer["diffId"] or d["algorithm"] != "tender-delta-v4":
        sys.exit(f"FAIL: {version}: delta {d}")
    blob = open(f"{repo}/blobs/sha256/{d['digest'].split(':')[1]}", "rb").read()
    if "sha256:" + hashlib.sha256(blob).hexdigest() != d["digest"] or len(blob) != d["size"]:
        sys.exit(f"FAIL: {version}: delta blob {d['digest']} does not match its entry")
    if d["size"] * 100 > layer["size"] * 80:
        sys.exit(f"FAIL: {version}: delta of {d['size']} bytes over 80% of {layer['size']}")
    print(f"{version}: delta from {d['from'][:19]}: {d['size']} bytes, layer {layer['size']}")
PY
}

# rebuilds REPO VERSION: every delta of VERSION, applied to its source layer extracted from the
# source's blob, rebuilds a tar whose sha256 is the layer's diffId.
rebuilds() {
  local repo=$1 version=$2 from to digest blob
  while read -r from to digest blob; do
    rm -rf "$W/old" && mkdir "$W/old"
    tar -xzf "$repo/blobs/sha256/${blob#sha256:}" -C "$W/old"
    "$PUB" delta apply --delta "$repo/blobs/sha256/${digest#sha256:}" --old "$W/old" \
      --out "$W/rebuilt.tar"
    [[ "sha256:$(sha256sum "$W/rebuilt.tar" | cut -d' ' -f1)" == "$to" ]] ||
      fail "$version: delta $digest does not rebuild $to"
  done < <(python3 - "$repo" "$version" <<'PY'
import json, sys, glob
repo, version = sys.argv[1:]
blobs = {}
for p in glob.glob(f"{repo}/apps/hello/*.json"):
    for l in json.load(open(p))["image"]["layers"]:
        blobs[l["diffId"]] = l["digest"]
for d in json.load(open(f"{repo}/apps/hello/{version}.json"))["image"].get("deltas", []):
    print(d["from"], d["to"], d["digest"], blobs[d["from"]])
PY
  )
  rm -rf "$W/old" "$W/rebuilt.tar"
}

echo "== option checks"
must_fail "--deltas: at most 16" release "$R" v1 1.0.0 1 --deltas 17
must_fail "--delta-threshold: a percentage" release "$R" v1 1.0.0 1 --delta-threshold 101
must_fail "--deltas" release "$R" v1 1.0.0 1 --deltas x

echo "== releases with the default K (2)"
release "$R" v1 1.0.0 1 >/dev/null
check_deltas "$R" 1.0.0
release "$R" v2 2.0.0 2 >/dev/null 2>"$W/err2"
check_deltas "$R" 2.0.0 1.0.0
rebuilds "$R" 2.0.0
cp -a "$R" "$W/repo-k1"
cp -a "$R" "$W/repo-k0"
cp -a "$R" "$W/repo-t0"
release "$R" v3 3.0.0 3 >/dev/null
check_deltas "$R" 3.0.0 2.0.0 1.0.0
rebuilds "$R" 3.0.0
"$PUB" verify --repo "$R" --app hello --version 3.0.0 --public "$W/key.pub.pem" >"$W/out"
grep -qF "1 layers, 2 deltas" "$W/out" || fail "verify: $(cat "$W/out")"
cp -a "$R" "$W/repo-bad"
bad=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["deltas"][1]["digest"])' \
  "$R/apps/hello/3.0.0.json")
printf 'x' | dd of="$W/repo-bad/blobs/sha256/${bad#sha256:}" bs=1 seek=100 conv=notrunc status=none
must_fail "Delta blob $bad" "$PUB" verify --repo "$W/repo-bad" --app hello --version 3.0.0 \
  --public "$W/key.pub.pem"
rm -rf "$W/repo-bad"

echo "== K = 1, K = 0 and a zero threshold"
release "$W/repo-k1" v3 3.0.0 3 --deltas 1 >/dev/null
check_deltas "$W/repo-k1" 3.0.0 2.0.0
release "$W/repo-k0" v3 3.0.0 3 --deltas 0 >/dev/null
check_deltas "$W/repo-k0" 3.0.0
release "$W/repo-t0" v3 3.0.0 3 --delta-threshold 0 >/dev/null 2>"$W/err"
check_deltas "$W/repo-t0" 3.0.0
grep -qF "the full layer is sent" "$W/err" || fail "threshold 0: no note: $(cat "$W/err")"

echo "== a retried release keeps its manifest and its deltas"
cp "$R/apps/hello/3.0.0.json" "$W/before.json"
cp "$R/apps/hello/3.0.0.json.sig" "$W/before.sig"
release "$R" v3 3.0.0 3 >/dev/null 2>"$W/err"
grep -qF "already published with this manifest" "$W/err" || fail "retry: $(cat "$W/err")"
cmp -s "$W/before.json" "$R/apps/hello/3.0.0.json" || fail "retry changed the manifest"
cmp -s "$W/before.sig" "$R/apps/hello/3.0.0.json.sig" || fail "retry re-signed"
release "$R" v3 3.0.0 3 --deltas 0 >/dev/null 2>&1 || fail "retry with --deltas 0 was refused"

echo "== a layer replaced wholesale gets no delta"
release "$R" v4 4.0.0 4 >/dev/null 2>"$W/err"
check_deltas "$R" 4.0.0
grep -qF "the full layer is sent" "$W/err" || fail "v4: no note: $(cat "$W/err")"

echo "== a missing source blob is skipped, the release still goes out"
cp -a "$R" "$W/repo-gone"
gone=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["image"]["layers"][0]["digest"])' \
  "$R/apps/hello/4.0.0.json")
rm "$W/repo-gone/blobs/sha256/${gone#sha256:}"
"$PUB" release --layout "$L" --ref v2 --app hello --version 5.0.0 --counter 5 --key "$W/key.pem" \
  --repo "$W/repo-gone" >/dev/null 2>"$W/err"
grep -qF "its blob is not in the repository" "$W/err" || fail "missing source: $(cat "$W/err")"
check_deltas "$W/repo-gone" 5.0.0 3.0.0

leftover=$(find "$W"/repo* -name '.*.tmp')
[[ -z $leftover ]] || fail "temporary files left: $leftover"
echo "PASS"
