#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# TUF interoperability both ways, over loopback with tender-server-mock serving the files:
#  1. tuf-js (npm) is the client of a repository made by tender-publish (2-of-2 root, key
#     rotations, consistent snapshots, custom fields);
#  2. tender-tuf is the client of a repository signed by @tufjs/models with Node's crypto
#     (ECDSA P-256, RSA-PSS and Ed25519 keys, a root rotation, a delegated role).
# The npm peers come from tests/interop/tuf-js/node_modules, which scripts/install-deps fills
# with `npm ci` (tuf-js 3, the release that runs on Debian 12's Node.js 18); without it, `npm ci`
# into a temp dir. Skips (77) only without node/npm or when the npm registry cannot be reached.
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_need node npm python3
st_begin tuf-interop tender-publish tender-tuf tender-server-mock
PUBLISH=$B/tender-publish TUF=$B/tender-tuf

PEERS=$SRC/tests/interop/tuf-js
if ! cmp -s "$PEERS/package-lock.json" "$PEERS/node_modules/.tender-lock"; then # not installed
  mkdir "$WORK/peers"
  cp "$PEERS"/package.json "$PEERS"/package-lock.json "$PEERS"/*.mjs "$WORK/peers/"
  # install-deps already tried with retries; once is enough here.
  if ! (cd "$WORK/peers" && npm ci --no-audit --no-fund --fetch-retries=0 >"$WORK/npm.log" 2>&1); then
    tail -n 5 "$WORK/npm.log"
    # The registry out of reach (no network, a TLS proxy this root does not trust) is a missing
    # prerequisite; any other npm failure is the test's.
    if grep -q 'npm ERR! request to https://' "$WORK/npm.log"; then
      skip "the npm registry cannot be reached, so the tuf-js peers cannot be installed"
    fi
    fail "npm ci of the tuf-js peers failed"
  fi
  PEERS=$WORK/peers
fi

# serve NAME DIR: starts server-mock on DIR, sets URL.
serve() { st_start_mock "$1" --repo "$2" --listen 127.0.0.1:0; }

# --- 1. tuf-js reads tender-publish's repository ---------------------------------------------
REPO=$WORK/repo KEYS=$WORK/keys
st_fake_tuf_repo "$REPO" "$KEYS"
serve tender "$REPO"
JS=$WORK/js-client
mkdir -p "$JS/meta" "$JS/targets"
cp "$REPO/tuf/metadata/1.root.json" "$JS/meta/root.json"
js_client() {
  node "$PEERS/client.mjs" "$JS/meta" "$URL/repo/tuf/metadata" "$URL/repo/tuf/targets" "$JS/targets" "$@" \
    >"$WORK/js.out" 2>"$WORK/js.err" || { cat "$WORK/js.err" >&2; return 1; }
}
check "tuf-js downloads a tender-publish target" js_client apps/hello/1.0.0.json
check "tuf-js sees the custom fields" \
  grep -qF '"custom":{"app":"hello","version":"1.0.0","releaseCounter":1}' "$WORK/js.out"
check "tuf-js wrote the manifest's bytes" cmp -s "$JS/targets/apps%2Fhello%2F1.0.0.json" "$REPO/apps/hello/1.0.0.json"
"$PUBLISH" tuf-add --repo "$REPO" --keys "$KEYS" --app hello --version 2.0.0
"$PUBLISH" tuf-rotate --repo "$REPO" --keys "$KEYS" --role root --count 3 --threshold 2
"$PUBLISH" tuf-rotate --repo "$REPO" --keys "$KEYS" --role timestamp
"$PUBLISH" tuf-rotate --repo "$REPO" --keys "$KEYS" --role targets
check "tuf-js follows tender-publish's key rotations" js_client apps/hello/2.0.0.json
check "tuf-js trusts root version 4" \
  python3 -c "import json,sys; sys.exit(json.load(open('$JS/meta/root.json'))['signed']['version'] != 4)"
# A tampered signature must stop tuf-js as well.
python3 - "$REPO/tuf/metadata/timestamp.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["signed"]["version"] += 1
json.dump(d, open(p, "w"))
PY
check "tuf-js refuses a timestamp whose signature does not match" bash -c "! node '$PEERS/client.mjs' '$JS/meta' '$URL/repo/tuf/metadata' '$URL/repo/tuf/targets' '$JS/targets' apps/hello/2.0.0.json 2>/dev/null"

# --- 2. tender-tuf reads a repository signed by @tufjs/models -------------------------------
FOREIGN=$WORK/foreign
node "$PEERS/sign.mjs" "$FOREIGN" >/dev/null
serve foreign "$FOREIGN"
C=$WORK/tender-client
tt() { "$TUF" --metadata-dir "$C" --metadata-url "$URL/repo/metadata" "$@"; }
check "tender-tuf init with a @tufjs/models root" "$TUF" --metadata-dir "$C" init "$FOREIGN/metadata/1.root.json"
check "tender-tuf downloads through the foreign repository (RSA-PSS, ECDSA, Ed25519, rotation, delegation)" \
  tt --target-name apps/hello/1.0.0.json --target-base-url "$URL/repo/targets" --target-dir "$WORK" download
check "the target's bytes" cmp -s "$WORK/apps%2Fhello%2F1.0.0.json" "$FOREIGN/targets/apps/hello/1.0.0.json"
check "root rotated to version 2 and the delegated role is trusted" \
  bash -c "python3 -c \"import json,sys; sys.exit(json.load(open('$C/root.json'))['signed']['version'] != 2)\" && [[ -f '$C/hello.json' ]]"
# Flip one signature byte of the foreign timestamp: refused, naming the role.
python3 - "$FOREIGN/metadata/timestamp.json" <<'PY'
import json, sys
p = sys.argv[1]
d = json.load(open(p))
d["signed"]["version"] = 2
json.dump(d, open(p, "w"))
PY
check "a foreign timestamp with a bad signature is refused" \
  bash -c "! '$TUF' --metadata-dir '$C' --metadata-url '$URL/repo/metadata' refresh 2>'$WORK/err' && grep -q 'timestamp: signature threshold not met' '$WORK/err'"

st_end
