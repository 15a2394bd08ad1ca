#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tender-publish against a real OCI image layout that umoci builds from busybox-static:
# keygen, release, verify, the manifest's fields, and the refusals (tampered layout blobs,
# inconsistent diff_ids, a reused version with other content, a counter that does not grow,
# a foreign key, tampered repository files).
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_need_root "umoci unpack needs root"
st_need umoci python3 /bin/busybox
st_begin publish-test tender-publish
W=$WORK PUB=$B/tender-publish

# blob_of LAYOUT REF WHAT: digest of the tag's manifest, config, or first layer.
blob_of() {
  python3 - "$@" <<'PY'
import json, sys
layout, ref, what = sys.argv[1:]
def blob(d):
    return json.load(open(f"{layout}/blobs/sha256/{d.split(':')[1]}"))
idx = json.load(open(f"{layout}/index.json"))
m = [e for e in idx["manifests"] if e.get("annotations", {}).get("org.opencontainers.image.ref.name") == ref][0]
man = blob(m["digest"])
print({"manifest": m["digest"], "config": man["config"]["digest"], "layer": man["layers"][0]["digest"]}[what])
PY
}

# flip_byte FILE: changes one byte in the middle of FILE (in place, after breaking hardlinks).
flip_byte() {
  python3 - "$1" <<'PY'
import sys
p = sys.argv[1]
data = bytearray(open(p, "rb").read())
data[len(data) // 2] ^= 0x01
open(p + ".new", "wb").write(data)
PY
  mv "$1.new" "$1"
}

echo "== building an OCI layout with umoci"
L=$W/oci
umoci init --layout "$L"
umoci new --image "$L:v1"
umoci unpack --image "$L:v1" "$W/b"
mkdir -p "$W/b/rootfs/bin" "$W/b/rootfs/srv"
cp /bin/busybox "$W/b/rootfs/bin/busybox"
for applet in sh echo ls cat sleep; do
  ln -s busybox "$W/b/rootfs/bin/$applet"
done
umoci repack --image "$L:v1" "$W/b"
umoci config --image "$L:v1" --config.entrypoint /bin/sh --config.cmd -c --config.cmd "echo hi" \
  --config.env PATH=/bin --config.env GREETING=hello --config.workingdir /srv \
  --config.user 1000:1000
rm -rf "$W/b"
# v2: one more layer on top of v1
umoci unpack --image "$L:v1" "$W/b"
echo "version 2" >"$W/b/rootfs/srv/VERSION"
umoci repack --image "$L:v2" "$W/b"
rm -rf "$W/b"

echo "== keygen"
out=$("$PUB" keygen --private "$W/key.pem" --public "$W/key.pub.pem") || fail "keygen failed"
grep -q '^keyid: [0-9a-f]\{64\}$' <<<"$out" || fail "keygen did not print a key id"
[[ $(stat -c %a "$W/key.pem") == 600 ]] || fail "private key is not mode 0600"
must_fail "File exists" "$PUB" keygen --private "$W/key.pem" --public "$W/other.pub.pem"
"$PUB" keygen --private "$W/other.pem" --public "$W/other.pub.pem" >/dev/null

echo "== release 1.0.0"
R=$W/repo
release() { # release REF VERSION COUNTER [extra options...]
  local ref=$1 version=$2 counter=$3
  shift 3
  "$PUB" release --layout "$L" --ref "$ref" --app hello --version "$version" --counter "$counter" \
    --key "$W/key.pem" --repo "$R" "$@"
}
release v1 1.0.0 1 --health-window 7 --memory 67108864 --pids 64 --volume data:/data \
  --volume cache:/var/cache --env MODE=test --network host --writable-rootfs --stop-timeout 4 \
  --arg /bin/sh --arg -c --arg "echo deployed" >"$W/out"
cat "$W/out"
grep -qx "manifest: $R/apps/hello/1.0.0.json" "$W/out" || fail "release did not print the path"
digest=$(sed -n 's/^digest: //p' "$W/out")
[[ $digest == "sha256:$(sha256sum "$R/apps/hello/1.0.0.json" | cut -d' ' -f1)" ]] ||
  fail "printed digest $digest is not the manifest's"
"$PUB" verify --repo "$R" --app hello --version 1.0.0 --public "$W/key.pub.pem"

echo "== manifest fields"
python3 - "$R/apps/hello/1.0.0.json" "$L" "$(blob_of "$L" v1 manifest)" \
  "$(blob_of "$L" v1 config)" "$R" <<'PY'
import hashlib, json, sys
path, layout, manifest_digest, config_digest, repo = sys.argv[1:]
m = json.load(open(path))
cfg = json.load(open(f"{layout}/blobs/sha256/{config_digest.split(':')[1]}"))
def eq(a, b, what):
    if a != b:
        sys.exit(f"FAIL: {what}: {a!r} != {b!r}")
eq(m["schemaVersion"], 1, "schemaVersion")
eq(m["app"], "hello", "app")
eq(m["version"], "1.0.0", "version")
eq(m["releaseCounter"], 1, "releaseCounter")
img = m["image"]
eq(img["manifestDigest"], manifest_digest, "manifestDigest")
eq(img["config"]["entrypoint"], ["/bin/sh"], "entrypoint")
eq(img["config"]["cmd"], ["-c", "echo hi"], "cmd")
eq(img["config"]["env"], cfg["config"]["Env"], "env")
if "GREETING=hello" not in img["config"]["env"]:
    sys.exit("FAIL: env lacks GREETING=hello")
eq(img["config"]["user"], "1000:1000", "user")
eq(img["config"]["workingDir"], "/srv", "workingDir")
eq(len(img["layers"]), 1, "layer count")
eq([l["diffId"] for l in img["layers"]], cfg["rootfs"]["diff_ids"], "diffIds")
for l in img["layers"]:
    eq(l["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip", "mediaType")
    blob = open(f"{repo}/blobs/sha256/{l['digest'].split(':')[1]}", "rb").read()
    eq("sha256:" + hashlib.sha256(blob).hexdigest(), l["digest"], "copied blob digest")
    eq(len(blob), l["size"], "blob size")
    if l["uncompressedSize"] <= l["size"]:
        sys.exit("FAIL: uncompressedSize is not larger than the gzip blob")
d = m["deployment"]
eq(d["args"], ["/bin/sh", "-c", "echo deployed"], "args")
eq(d["env"], ["MODE=test"], "deployment env")
eq(d["network"], "host", "network")
eq(d["readonlyRootfs"], False, "readonlyRootfs")
eq(d["resources"], {"memoryBytes": 67108864, "pids": 64}, "resources")
eq(d["volumes"], [{"name": "data", "path": "/data"}, {"name": "cache", "path": "/var/cache"}],
   "volumes")
eq(d["stopTimeoutSeconds"], 4, "stopTimeoutSeconds")
eq(d["strategy"], "stop-start", "strategy")
eq(m["health"], {"windowSeconds": 7}, "health")
sig = json.load(open(path + ".sig"))
eq(sorted(sig), ["keyid", "method", "sig"], "signature document keys")
eq(sig["method"], "ecdsa-sha2-nistp256", "signature method")
print("manifest fields ok")
PY

echo "== the same release again is a no-op"
cp "$R/apps/hello/1.0.0.json.sig" "$W/sig.before"
release v1 1.0.0 1 --health-window 7 --memory 67108864 --pids 64 --volume data:/data \
  --volume cache:/var/cache --env MODE=test --network host --writable-rootfs --stop-timeout 4 \
  --arg /bin/sh --arg -c --arg "echo deployed" >/dev/null
cmp -s "$W/sig.before" "$R/apps/hello/1.0.0.json.sig" || fail "identical release re-signed"

echo "== version reuse and counters"
must_fail "already published with a different manifest" release v1 1.0.0 1
must_fail "already published with a different manifest" release v2 1.0.0 2
must_fail "release counter 1 is not higher than 1 of hello 1.0.0" release v2 2.0.0 1
must_fail "--counter" release v2 2.0.0 x
release v2 2.0.0 2 --volume data:/data >/dev/null
must_fail "release counter 2 is not higher than 2 of hello 2.0.0" release v1 1.5.0 2
[[ ! -e $R/apps/hello/1.5.0.json ]] || fail "refused release left a manifest behind"
out=$("$PUB" verify --repo "$R" --app hello --version 2.0.0 --public "$W/key.pub.pem") ||
  fail "2.0.0 does not verify"
grep -q "2 layers" <<<"$out" || fail "2.0.0 does not verify with two layers"
must_fail "hello 2.0.0" "$PUB" release --layout "$L" --ref v2 --app hello --version 2.0.0 \
  --counter 3 --key "$W/key.pem" --repo "$R" --volume data:/data
must_fail "deployment.volumes[0].path" release v2 3.0.0 3 --volume data:relative
must_fail "no manifest is tagged \"v9\"" release v9 9.0.0 9
must_fail 'invalid name "../x"' release v1 ../x 9 --volume data:/data

echo "== foreign key and tampered repository"
must_fail "not by the release key" "$PUB" verify --repo "$R" --app hello --version 2.0.0 \
  --public "$W/other.pub.pem"
cp -a "$R" "$W/repo2"
flip_byte "$W/repo2/apps/hello/2.0.0.json"
must_fail "does not verify" "$PUB" verify --repo "$W/repo2" --app hello --version 2.0.0 \
  --public "$W/key.pub.pem"
rm -rf "$W/repo2"
cp -a "$R" "$W/repo2"
layer=$(blob_of "$L" v1 layer)
flip_byte "$W/repo2/blobs/sha256/${layer#sha256:}"
must_fail "$layer" "$PUB" verify --repo "$W/repo2" --app hello --version 1.0.0 \
  --public "$W/key.pub.pem"
rm -rf "$W/repo2"

echo "== tampered layout blobs"
for what in layer config manifest; do
  cp -a "$L" "$W/oci2"
  d=$(blob_of "$W/oci2" v1 "$what")
  flip_byte "$W/oci2/blobs/sha256/${d#sha256:}"
  must_fail "$d" "$PUB" release --layout "$W/oci2" --ref v1 --app hello --version 5.0.0 \
    --counter 5 --key "$W/key.pem" --repo "$R"
  rm -rf "$W/oci2"
done
[[ ! -e $R/apps/hello/5.0.0.json ]] || fail "a tampered layout was published"

echo "== config whose diff_ids do not match the layers"
cp -a "$L" "$W/oci2"
python3 - "$W/oci2" <<'PY'
import hashlib, json, sys
layout = sys.argv[1]
def read(d):
    return open(f"{layout}/blobs/sha256/{d.split(':')[1]}", "rb").read()
def write(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{layout}/blobs/sha256/{d}", "wb").write(data)
    return "sha256:" + d, len(data)
idx = json.load(open(f"{layout}/index.json"))
entry = [e for e in idx["manifests"] if e["annotations"]["org.opencontainers.image.ref.name"] == "v1"][0]
man = json.loads(read(entry["digest"]))
cfg = json.loads(read(man["config"]["digest"]))
cfg["rootfs"]["diff_ids"][0] = "sha256:" + "0" * 64
man["config"]["digest"], man["config"]["size"] = write(json.dumps(cfg).encode())
entry["digest"], entry["size"] = write(json.dumps(man).encode())
json.dump(idx, open(f"{layout}/index.json", "w"))
PY
must_fail "Layer 0 ($(blob_of "$L" v1 layer)) decompresses to diff_id" \
  "$PUB" release --layout "$W/oci2" --ref v1 --app hello --version 5.0.0 --counter 5 \
  --key "$W/key.pem" --repo "$R"
[[ $STDERR == *"rootfs.diff_ids[0] is sha256:$(printf '0%.0s' {1..64})"* ]] ||
  fail "diff_id error does not name the config's diff_id"
rm -rf "$W/oci2"

echo "PASS"
