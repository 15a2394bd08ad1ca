#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end: tenderd takes its updates from a TUF repository whose keys are Ed25519 keys made
# and used by python3-securesystemslib (tests/interop/sslib/tuf_sslib.py publish), not by
# tender-publish: the repository python-tuf and tuf-js users have. tender-publish only makes the
# releases (OCI image, manifest, blobs). The device is provisioned with that repository's root;
# it installs v1, refuses v2 while the new targets metadata carries a bad Ed25519 signature (the
# app keeps running), and installs v2 once it is signed properly.
# Real parts only, as tests/e2e/update-loop.sh.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin

PEER=$TENDER_SOURCE_DIR/tests/interop/sslib/tuf_sslib.py
"$SCN_PYTHON" -c 'import securesystemslib, nacl' 2>/dev/null ||
  { echo "skip: $SCN_PYTHON lacks securesystemslib or nacl (scripts/install-deps)"; exit 77; }

scn_init
scn_build_images 1 2 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
# release N: hello N.0.0 (counter N) in the server's repository; no tender-publish TUF at all.
release() {
  "$TENDER_BIN/tender-publish" release --layout "$SCN_WORK/oci" --ref "v$1" --app hello \
    --version "$1.0.0" --counter "$1" --repo "$SCN_WORK/repo" --health-window 1 \
    --volume data:/data --stop-timeout 5 >>"$SCN_WORK/logs/publish.log" ||
    scn_die "publish $1.0.0 failed: $(tail -n 3 "$SCN_WORK/logs/publish.log")"
}
# sslib ARGS...: the peer publishes the listed manifests as the repository's targets.
sslib() {
  "$SCN_PYTHON" "$PEER" publish "$SCN_WORK/repo" "$SCN_WORK/sslib-keys.json" "$@" \
    >>"$SCN_WORK/logs/tuf.log" 2>&1 || scn_die "tuf_sslib.py publish failed: $(tail -n 3 "$SCN_WORK/logs/tuf.log")"
}
release 1
release 2
sslib apps/hello/1.0.0.json
cp "$SCN_WORK/repo/tuf/metadata/1.root.json" "$SCN_WORK/tuf-root.json"
scn_start_server
scn_write_config
scn_start_agent

# The key types of the device's trusted root, sorted and unique.
trusted_key_types() {
  jq -r '[.signed.keys[] | .keytype + "/" + .scheme] | unique | join(",")' "$SCN_WORK/store/tuf/root.json"
}

check "the provisioned root lists Ed25519 keys only" \
  eq "$(jq -r '[.signed.keys[] | .keytype] | unique | join(",")' "$SCN_WORK/tuf-root.json")" ed25519

# 1. v1, signed by securesystemslib's Ed25519 keys, installs.
id=$(scn_deploy 1.0.0)
check "v1: deployment succeeds" eq "$(scn_wait_action "$id")" success
check "v1: is current" eq "$(scn_current_version)" 1.0.0
check "v1: the device trusts the Ed25519 root" eq "$(trusted_key_types)" ed25519/ed25519
check "v1: the manifest kept is the signed target" \
  cmp -s "$SCN_WORK/store/apps/hello/releases/1.0.0/manifest.json" "$SCN_WORK/repo/apps/hello/1.0.0.json"
v1pid=$(scn_app_pid 1.0.0)
check "v1: running" test -n "$v1pid"

# 2. v2 listed by new targets metadata whose Ed25519 signature is bad: refused, v1 untouched.
sslib --spoil targets apps/hello/1.0.0.json apps/hello/2.0.0.json
id=$(scn_deploy 2.0.0)
check "bad signature: deployment fails" eq "$(scn_wait_action "$id")" failure
details=$(scn_action_details "$id")
check "bad signature: names the role" contains "$details" "targets: signature threshold not met"
check "bad signature: says it is a bad Ed25519 signature" contains "$details" "bad ed25519/ed25519 signature"
check "bad signature: v1 untouched (same pid)" eq "$(scn_app_pid 1.0.0)" "$v1pid"
check "bad signature: current is 1.0.0" eq "$(scn_current_version)" 1.0.0

# 3. The same release signed properly (a newer version of every role): installed.
sslib apps/hello/1.0.0.json apps/hello/2.0.0.json
id=$(scn_deploy 2.0.0)
check "v2: deployment succeeds" eq "$(scn_wait_action "$id")" success
check "v2: is current" eq "$(scn_current_version)" 2.0.0
check "v2: the device trusts targets version 3" \
  eq "$(jq -r .signed.version "$SCN_WORK/store/tuf/targets.json")" 3

scn_stop_agent
scn_test_end
