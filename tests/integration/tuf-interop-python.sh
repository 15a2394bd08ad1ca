#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# TUF interoperability with Debian's python3-securesystemslib, both ways, over loopback with
# tender-server-mock serving the files (tests/interop/sslib/tuf_sslib.py is the peer):
#  1. tender-tuf is the client of repositories that securesystemslib's keys, canonical JSON
#     and signers made (ECDSA P-256 and RSA-PSS, a root rotation to 2-of-2, consistent
#     snapshots, a terminating delegated role); one variant per spoiled signature or target
#     must be refused, naming the role, and must leave the trusted metadata as it was; then
#     the same with Ed25519 keys only;
#  2. securesystemslib checks a repository tender-publish made (key ids, signatures over its
#     canonical bytes, thresholds, root chain, hashes; ECDSA and, after rotations, Ed25519
#     keys), and refuses it once a signature is spoiled.
# Skips (77) when no python3 on the machine can import securesystemslib; fails when it cannot
# make Ed25519 keys (python3-nacl missing: scripts/install-deps installs it).
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
# Debian's module lives in the system interpreter; a python3 earlier on PATH (pyenv, venv)
# may not see it.
PY=
for candidate in python3 /usr/bin/python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import securesystemslib' 2>/dev/null; then
    PY=$(command -v "$candidate")
    break
  fi
done
[[ -n $PY ]] || skip "no python3 with securesystemslib (apt-get install python3-securesystemslib)"
st_begin tuf-sslib tender-publish tender-tuf tender-server-mock
# securesystemslib makes and signs Ed25519 keys only through PyNaCl, which it only recommends.
"$PY" -c 'import nacl.signing' 2>/dev/null ||
  fail "python3-nacl is missing: securesystemslib cannot make Ed25519 keys (scripts/install-deps)"
PUBLISH=$B/tender-publish TUF=$B/tender-tuf PEER=$SRC/tests/interop/sslib/tuf_sslib.py
echo "peer: securesystemslib $("$PY" -c 'import securesystemslib; print(securesystemslib.__version__)') on $PY"

# --- 1. tender-tuf reads repositories securesystemslib signed ---------------------------------
SERVED=$WORK/served
"$PY" "$PEER" make "$SERVED"
st_start_mock mock --repo "$SERVED" --listen 127.0.0.1:0

# client VARIANT DIR: a fresh client trusting VARIANT's 1.root.json, downloading both targets.
client() {
  local variant=$1 dir=$2
  rm -rf "$dir" "$dir.out"
  mkdir -p "$dir.out"
  "$TUF" --metadata-dir "$dir" init "$SERVED/$variant/metadata/1.root.json" &&
    download "$variant" "$dir"
}
download() {
  "$TUF" --metadata-dir "$2" --metadata-url "$URL/repo/$1/metadata" \
    --target-name apps/hello/1.0.0.json --target-name apps/index.txt \
    --target-base-url "$URL/repo/$1/targets" --target-dir "$2.out" download
}
trusts_root_2() {
  "$PY" -c "import json,sys; sys.exit(json.load(open('$1/root.json'))['signed']['version'] != 2)"
}

C=$WORK/client
check "tender-tuf downloads through securesystemslib's repository" client good "$C"
check "the delegated target's bytes" \
  cmp -s "$C.out/apps%2Fhello%2F1.0.0.json" "$SERVED/good/targets/apps/hello/1.0.0.json"
check "the top-level target's bytes" \
  cmp -s "$C.out/apps%2Findex.txt" "$SERVED/good/targets/apps/index.txt"
check "the client trusts root version 2" trusts_root_2 "$C"
check "the client trusts the delegated role" test -f "$C/hello.json"

# Each variant differs from "good" by one spoiled signature (or target byte) only.
N=$WORK/neg
check "2.root.json with a bad signature by the old root key (ECDSA) is refused" \
  fails_with "root: 2.root.json (by the trusted root version 1): root: signature threshold not met" \
  client root-old "$N"
check "2.root.json with a bad signature by a new root key (RSA-PSS) is refused" \
  fails_with "root: 2.root.json (by its own keys): root: signature threshold not met: 1 of 2" \
  client root-new "$N"
check "timestamp with a bad RSA-PSS signature is refused" \
  fails_with "timestamp: signature threshold not met" client timestamp "$N"
check "snapshot with a bad ECDSA signature is refused" \
  fails_with "snapshot: signature threshold not met" client snapshot "$N"
check "targets with a bad ECDSA signature is refused" \
  fails_with "targets: signature threshold not met" client targets "$N"
check "delegated role with a bad RSA-PSS signature is refused" \
  fails_with 'delegated role "hello": signature threshold not met' client hello "$N"
check "a target with one bit changed is refused" \
  fails_with 'target "apps/hello/1.0.0.json": hash mismatch' client target "$N"
check "nothing was written for the refused target" bash -c "[[ ! -e '$N.out/apps%2Fhello%2F1.0.0.json' ]]"

# The client that trusts "good" is served the same keys' spoiled timestamp: refused, and its
# trusted metadata stays byte for byte.
cp -a "$C" "$WORK/before"
check "a trusting client refuses the spoiled timestamp" \
  fails_with "timestamp: signature threshold not met" \
  "$TUF" --metadata-dir "$C" --metadata-url "$URL/repo/timestamp/metadata" refresh
check "its trusted metadata is unchanged" diff -r "$WORK/before" "$C"

# --- 1b. the same with Ed25519 keys only (securesystemslib signs through python3-nacl) ------
E=$WORK/ed25519
only_ed25519() { # DIR: every key the client trusts (root and delegations) is Ed25519
  "$PY" - "$1" <<'PY'
import json, sys
d = sys.argv[1]
keys = list(json.load(open(f"{d}/root.json"))["signed"]["keys"].values())
keys += json.load(open(f"{d}/targets.json"))["signed"]["delegations"]["keys"].values()
sys.exit(not keys or any(k["keytype"] != "ed25519" or k["scheme"] != "ed25519" for k in keys))
PY
}
check "tender-tuf downloads through securesystemslib's Ed25519 repository" client ed25519-good "$E"
check "Ed25519: the delegated target's bytes" \
  cmp -s "$E.out/apps%2Fhello%2F1.0.0.json" "$SERVED/ed25519-good/targets/apps/hello/1.0.0.json"
check "Ed25519: the top-level target's bytes" \
  cmp -s "$E.out/apps%2Findex.txt" "$SERVED/ed25519-good/targets/apps/index.txt"
check "Ed25519: the client trusts root version 2 (2-of-2)" trusts_root_2 "$E"
check "Ed25519: every key it trusts is an Ed25519 key" only_ed25519 "$E"
ed_refused() { # VARIANT MESSAGE
  check "Ed25519: $1 with a bad signature is refused" fails_with "$2" client "ed25519-$1" "$N"
  check "Ed25519: ... as a bad Ed25519 signature" contains "$STDERR" "bad ed25519/ed25519 signature"
}
ed_refused root-old "root: 2.root.json (by the trusted root version 1): root: signature threshold not met"
ed_refused root-new "root: 2.root.json (by its own keys): root: signature threshold not met: 1 of 2"
ed_refused timestamp "timestamp: signature threshold not met"
ed_refused snapshot "snapshot: signature threshold not met"
ed_refused targets "targets: signature threshold not met"
ed_refused hello 'delegated role "hello": signature threshold not met'
cp -a "$E" "$WORK/ed-before"
check "Ed25519: a trusting client refuses the spoiled timestamp" \
  fails_with "timestamp: signature threshold not met" \
  "$TUF" --metadata-dir "$E" --metadata-url "$URL/repo/ed25519-timestamp/metadata" refresh
check "Ed25519: its trusted metadata is unchanged" diff -r "$WORK/ed-before" "$E"

# --- 2. securesystemslib checks tender-publish's repository -----------------------------------
REPO=$WORK/repo KEYS=$WORK/keys
st_fake_tuf_repo "$REPO" "$KEYS"
check "securesystemslib verifies tender-publish's new repository" "$PY" "$PEER" verify "$REPO/tuf"
"$PUBLISH" tuf-add --repo "$REPO" --keys "$KEYS" --app hello --version 2.0.0
"$PUBLISH" tuf-rotate --repo "$REPO" --keys "$KEYS" --role root --count 3 --threshold 2
"$PUBLISH" tuf-rotate --repo "$REPO" --keys "$KEYS" --role snapshot
"$PUBLISH" tuf-rotate --repo "$REPO" --keys "$KEYS" --role targets
"$PUBLISH" tuf-rotate --repo "$REPO" --keys "$KEYS" --role timestamp --key-type ed25519
"$PUBLISH" tuf-rotate --repo "$REPO" --keys "$KEYS" --role targets --key-type ed25519
verify_into() { "$PY" "$PEER" verify "$REPO/tuf" >"$1" 2>&1 || { cat "$1" >&2; return 1; }; }
check "securesystemslib verifies it after root, snapshot, targets and Ed25519 rotations" \
  verify_into "$WORK/verify.out"
check "... through six root versions and both targets" \
  grep -qF "verified 6 root version(s), timestamp, snapshot, targets and 2 target file(s)" "$WORK/verify.out"
check "... with tender-publish's Ed25519 keys for timestamp and targets" "$PY" -c "
import json, sys
s = json.load(open('$REPO/tuf/metadata/root.json'))['signed']
types = {r: {s['keys'][k]['keytype'] for k in s['roles'][r]['keyids']} for r in ('timestamp', 'targets')}
sys.exit(types != {'timestamp': {'ed25519'}, 'targets': {'ed25519'}})"
# Spoiled by securesystemslib's side: one of 1.root.json's two signatures (2-of-2), and the
# timestamp's only one.
cp -a "$REPO/tuf" "$WORK/spoiled-root"
"$PY" "$PEER" tamper "$WORK/spoiled-root/metadata/1.root.json"
check "securesystemslib refuses tender-publish's root with a spoiled signature" \
  fails_with "1.root.json: signature by " "$PY" "$PEER" verify "$WORK/spoiled-root"
cp -a "$REPO/tuf" "$WORK/spoiled-ts"
"$PY" "$PEER" tamper "$WORK/spoiled-ts/metadata/timestamp.json"
check "securesystemslib refuses tender-publish's timestamp with a spoiled signature" \
  fails_with "timestamp.json: signature by " "$PY" "$PEER" verify "$WORK/spoiled-ts"

st_end
