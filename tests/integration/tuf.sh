#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# TUF end to end over loopback: tender-publish's TUF repository (init with a 2-of-2 root,
# releases as targets, key rotations, removal, expiry refresh) served by tender-server-mock
# under /repo/tuf, read by tender-tuf (the conformance-client CLI). Attacks: freeze (expired
# timestamp), tampered target, lower release counter, keys inside the published tree, an
# endless metadata body without Content-Length. tender-tuf's target dir is an artifact cache:
# matching files are not fetched again, anything else there is never trusted.
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_need curl python3
st_begin tuf-test tender-publish tender-tuf tender-server-mock
PUBLISH=$B/tender-publish TUF=$B/tender-tuf

same_files() { cmp -s "$1" "$2"; }

REPO=$WORK/repo KEYS=$WORK/keys CLIENT=$WORK/client OUT=$WORK/out
mkdir -p "$REPO/apps/hello" "$REPO/blobs/sha256" "$OUT"
manifest() { # VERSION COUNTER
  python3 - "$REPO/apps/hello/$1.json" "$1" "$2" <<'PY'
import hashlib, json, sys
path, version, counter = sys.argv[1], sys.argv[2], int(sys.argv[3])
h = lambda s: "sha256:" + hashlib.sha256(s.encode()).hexdigest()
json.dump({"schemaVersion": 1, "app": "hello", "version": version, "releaseCounter": counter,
           "image": {"manifestDigest": h(version),
                     "config": {"entrypoint": ["/bin/app"], "cmd": [], "env": [], "user": "0:0",
                                "workingDir": "/"},
                     "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                 "digest": h("l" + version), "size": 10, "diffId": h("d" + version),
                                 "uncompressedSize": 20}]},
           "deployment": {"network": "none"}, "health": {"windowSeconds": 3}},
          open(path, "w"), indent=2)
PY
}

check "keys inside the published tree are refused" \
  fails_with "inside the published tree" "$PUBLISH" tuf-init --repo "$REPO" --keys "$REPO/keys"
check "tuf-init with a 2-of-2 root" \
  "$PUBLISH" tuf-init --repo "$REPO" --keys "$KEYS" --root-keys 2 --root-threshold 2
check "private keys are 0600 and outside the repo" \
  bash -c "[[ \$(stat -c %a $KEYS/*.pem | sort -u) == 600 ]] && [[ \$(ls $KEYS/*.pem | wc -l) == 5 ]] && ! grep -rq PRIVATE '$REPO'"
manifest 1.0.0 1
manifest 2.0.0 2
manifest 0.9.0 1
check "tuf-add 1.0.0" "$PUBLISH" tuf-add --repo "$REPO" --keys "$KEYS" --app hello --version 1.0.0
check "tuf-add is idempotent for the same manifest" \
  "$PUBLISH" tuf-add --repo "$REPO" --keys "$KEYS" --app hello --version 1.0.0

st_start_mock mock --repo "$REPO" --listen 127.0.0.1:0
META=$URL/repo/tuf/metadata TARGETS=$URL/repo/tuf/targets

tuf() { "$TUF" --metadata-dir "$CLIENT" --metadata-url "$META" "$@"; }
download() { tuf --target-name "apps/hello/$1.json" --target-base-url "$TARGETS" --target-dir "$OUT" download; }

check "tender-tuf init" "$TUF" --metadata-dir "$CLIENT" init "$REPO/tuf/metadata/1.root.json"
check "tender-tuf refresh" tuf refresh
check "trusted metadata is kept as <role>.json" \
  bash -c "cd '$CLIENT' && ls root.json timestamp.json snapshot.json targets.json >/dev/null"
check "download 1.0.0" download 1.0.0
check "downloaded bytes are the manifest" same_files "$OUT/apps%2Fhello%2F1.0.0.json" "$REPO/apps/hello/1.0.0.json"

# The target dir is the artifact cache: a file there that matches the signed length and hashes
# is not fetched again. The second download goes to a base URL with nothing behind it (404), so
# it can only succeed from the cache.
NOWHERE=$URL/repo/nowhere
from_cache() { tuf --target-name "apps/hello/$1.json" --target-base-url "$NOWHERE" --target-dir "$OUT" download; }
C1=$OUT/apps%2Fhello%2F1.0.0.json
check "a cached target that matches is not downloaded again" from_cache 1.0.0
check "... and stays as it was" same_files "$C1" "$REPO/apps/hello/1.0.0.json"
# A cached copy with one byte changed (same length) is never trusted: with no server it fails
# and is removed; with the server it is downloaded again.
sed -i 's/"hello"/"hellO"/' "$C1"
check "a tampered cached target is not used" fails_with "target \"apps/hello/1.0.0.json\": GET" from_cache 1.0.0
check "... and is removed" test ! -e "$C1"
sed 's/"hello"/"hellO"/' "$REPO/apps/hello/1.0.0.json" >"$C1"
check "a tampered cached target is downloaded again" download 1.0.0
check "... and replaced by the signed bytes" same_files "$C1" "$REPO/apps/hello/1.0.0.json"
# Longer (the signed bytes and one more) and a symlink to the right bytes: downloaded again.
cp "$REPO/apps/hello/1.0.0.json" "$C1" && echo >>"$C1"
check "a cached target longer than signed is downloaded again" download 1.0.0
check "... and replaced by the signed bytes" same_files "$C1" "$REPO/apps/hello/1.0.0.json"
rm "$C1" && ln -s "$REPO/apps/hello/1.0.0.json" "$C1"
check "a symlink in the cache is not followed" fails_with "GET" from_cache 1.0.0
check "a symlink in the cache is replaced by a download" download 1.0.0
check "... by a regular file" bash -c "[[ -f '$C1' && ! -L '$C1' ]]"
check "a target not listed is refused" fails_with "no trusted role lists it" download 2.0.0

check "tuf-add 2.0.0" "$PUBLISH" tuf-add --repo "$REPO" --keys "$KEYS" --app hello --version 2.0.0
check "a lower release counter is refused by the publisher" \
  fails_with "release counter 1 is not higher than" \
  "$PUBLISH" tuf-add --repo "$REPO" --keys "$KEYS" --app hello --version 0.9.0
check "download 2.0.0" download 2.0.0

check "rotate the timestamp key" "$PUBLISH" tuf-rotate --repo "$REPO" --keys "$KEYS" --role timestamp
check "refresh after a timestamp key rotation" tuf refresh
check "rotate root to one key" \
  "$PUBLISH" tuf-rotate --repo "$REPO" --keys "$KEYS" --role root --count 1 --threshold 1
check "rotate the targets key" "$PUBLISH" tuf-rotate --repo "$REPO" --keys "$KEYS" --role targets
check "download after root and targets rotations" download 2.0.0
check "the client trusts root version 4" \
  python3 -c "import json,sys; sys.exit(json.load(open('$CLIENT/root.json'))['signed']['version'] != 4)"
# tender-publish makes Ed25519 keys on request (PKCS#8 PEM, which openssl reads too).
check "rotate snapshot and targets to Ed25519 keys" bash -c "
  '$PUBLISH' tuf-rotate --repo '$REPO' --keys '$KEYS' --role snapshot --key-type ed25519 &&
  '$PUBLISH' tuf-rotate --repo '$REPO' --keys '$KEYS' --role targets --key-type ed25519"
rm -f "$OUT/apps%2Fhello%2F2.0.0.json"
check "download through Ed25519 snapshot and targets keys" download 2.0.0
role_keytypes() { # ROLE: the key types the client's root gives it
  python3 -c "import json,sys; s=json.load(open('$CLIENT/root.json'))['signed']
print(','.join(sorted({s['keys'][k]['keytype'] for k in s['roles'][sys.argv[1]]['keyids']})))" "$1"
}
check "the client trusts an Ed25519 snapshot key" eq "$(role_keytypes snapshot)" ed25519
check "... and an Ed25519 targets key" eq "$(role_keytypes targets)" ed25519
check "... and ECDSA keys for root" eq "$(role_keytypes root)" ecdsa
check "openssl reads tender-publish's Ed25519 key files" bash -c "
  n=0; for f in '$KEYS'/*.pem; do
    if grep -q 'BEGIN PRIVATE KEY' \"\$f\"; then openssl pkey -in \"\$f\" -noout -text | grep -q ED25519 || exit 1; n=\$((n+1)); fi
  done; [[ \$n == 2 ]]"
check "a bad --key-type is a usage error (2)" bash -c "
  '$PUBLISH' tuf-rotate --repo '$REPO' --keys '$KEYS' --role targets --key-type rsa 2>&1 |
    grep -q -- '--key-type takes ecdsa or ed25519'; [[ \${PIPESTATUS[0]} == 2 ]]"

# A tampered target (same length) is refused by its hash.
T2=$(ls "$REPO"/tuf/targets/apps/hello/*.2.0.0.json)
cp "$T2" "$WORK/t2.saved"
sed -i 's/"hello"/"hellO"/' "$T2"
rm -f "$OUT/apps%2Fhello%2F2.0.0.json" # else the cached copy is used
check "a tampered target is refused" fails_with "hash mismatch" download 2.0.0
check "nothing is left in the cache for it" test ! -e "$OUT/apps%2Fhello%2F2.0.0.json"
cp "$WORK/t2.saved" "$T2"

check "tuf-remove 1.0.0" "$PUBLISH" tuf-remove --repo "$REPO" --keys "$KEYS" --app hello --version 1.0.0
check "a removed target is no longer offered" fails_with "no trusted role lists it" download 1.0.0

# Freeze: the repository's timestamp expired. The client refuses it and keeps its trusted copy.
cp "$CLIENT/timestamp.json" "$WORK/ts.saved"
"$PUBLISH" tuf-refresh --repo "$REPO" --keys "$KEYS" --expires timestamp=0
check "an expired timestamp is refused as such" fails_with "timestamp: version" tuf refresh
check "the message says expired" contains "$STDERR" "expired"
check "the trusted timestamp is unchanged" same_files "$CLIENT/timestamp.json" "$WORK/ts.saved"
check "tuf-refresh renews expiry" "$PUBLISH" tuf-refresh --repo "$REPO" --keys "$KEYS"
check "refresh after renewal" tuf refresh

# An endless body without Content-Length stops at the timestamp's cap.
python3 - "$WORK/endless.port" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    def do_GET(self):
        if self.path.endswith(".root.json"):
            self.send_error(404)
            return
        self.send_response(200)
        self.end_headers()
        try:
            for _ in range(64 * 1024):  # 64 MiB at most, then give up
                self.wfile.write(b" " * 1024)
        except (BrokenPipeError, ConnectionResetError):
            pass
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.timeout = 30
s.handle_request()
s.handle_request()
PY
PIDS+=($!)
for _ in $(seq 100); do [[ -s $WORK/endless.port ]] && break; sleep 0.1; done
ENDLESS=http://127.0.0.1:$(cat "$WORK/endless.port")
check "an endless timestamp body is cut at its cap" \
  fails_with "timestamp: GET" "$TUF" --metadata-dir "$CLIENT" --metadata-url "$ENDLESS" refresh
check "the reason is the size" contains "$STDERR" "exceeds the limit of 16384 bytes"

check "bad usage exits 1" fails_with "Usage" "$TUF" --metadata-dir "$CLIENT" bogus

st_end
