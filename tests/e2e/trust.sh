#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end: tenderd trusts only what the TUF repository signs (docs/agent.md "Trust").
# The server offers a release TUF does not list (refused as not signed), a listed release with a
# lower release counter (refused by anti-rollback), releases after root and targets key
# rotations (the device follows the new root) and a release while the repository's timestamp
# has expired (a freeze, reported as such; the app keeps running), then one once it is fresh.
# Real parts only, as tests/e2e/update-loop.sh.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin

scn_init
scn_build_images 1 2 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
SCN_HEALTH_WINDOW=1 scn_publish 1 2 || exit 1
# release N REF: hello N.0.0 (counter N) in the server's repository only, not yet a TUF target.
release() {
  "$TENDER_BIN/tender-publish" release --layout "$SCN_WORK/oci" --ref "$2" --app hello \
    --version "$1.0.0" --counter "$1" --repo "$SCN_WORK/repo" --health-window 1 \
    --volume data:/data --stop-timeout 5 >>"$SCN_WORK/logs/publish.log" ||
    scn_die "publish $1.0.0 failed: $(tail -n 3 "$SCN_WORK/logs/publish.log")"
}
release 3 v1
release 4 v1
release 5 v2
scn_start_server
scn_write_config
scn_start_agent

# The root version a metadata file holds.
root_version() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["signed"]["version"])' "$1" 2>/dev/null
}

# 1. A listed release installs; the device's trusted metadata is the repository's.
id=$(scn_deploy 2.0.0)
check "v2: deployment succeeds" eq "$(scn_wait_action "$id")" success
check "v2: is current" eq "$(scn_current_version)" 2.0.0
check "v2: trusted metadata kept in the store" test -s "$SCN_WORK/store/tuf/timestamp.json"
check "v2: no detached signature stored" test ! -e "$SCN_WORK/store/apps/hello/releases/2.0.0/manifest.json.sig"
v2pid=$(scn_app_pid 2.0.0)

# 2. Offered by the server, present in its repository, but not a TUF target.
id=$(scn_deploy 3.0.0)
check "unlisted: deployment fails" eq "$(scn_wait_action "$id")" failure
details=$(scn_action_details "$id")
check "unlisted: reported as not a signed release" contains "$details" "not a signed release"
check "unlisted: names the target" contains "$details" "apps/hello/3.0.0.json"
check "unlisted: v2 untouched (same pid)" eq "$(scn_app_pid 2.0.0)" "$v2pid"

# 3. Listed and signed, but below the committed counter (v1 never ran here: no way back to it).
id=$(scn_deploy 1.0.0)
check "lower counter: deployment fails" eq "$(scn_wait_action "$id")" failure
check "lower counter: reported as such" \
  contains "$(scn_action_details "$id")" "release counter 1 is lower than the committed 2"
check "lower counter: v2 untouched (same pid)" eq "$(scn_app_pid 2.0.0)" "$v2pid"

# 4. Root and targets keys rotated between two updates: the device follows the new root.
scn_tuf rotate --role root || exit 1
scn_tuf rotate --role targets || exit 1
scn_tuf_add 4.0.0 || exit 1
latest=$(root_version "$SCN_WORK/repo/tuf/metadata/root.json")
check "rotation: the repository has a new root" test "$latest" -gt 1
id=$(scn_deploy 4.0.0)
check "rotation: v4 deployment succeeds" eq "$(scn_wait_action "$id")" success
check "rotation: v4 is current" eq "$(scn_current_version)" 4.0.0
check "rotation: the device trusts the newest root" \
  eq "$(root_version "$SCN_WORK/store/tuf/root.json")" "$latest"
v4pid=$(scn_app_pid 4.0.0)

# 5. Freeze: the repository's timestamp has expired (0 days). Reported as a freeze, not as a
# bad signature; the app keeps running.
scn_tuf_add 5.0.0 || exit 1
scn_tuf refresh --expires timestamp=0 || exit 1
id=$(scn_deploy 5.0.0)
check "freeze: deployment fails" eq "$(scn_wait_action "$id")" failure
details=$(scn_action_details "$id")
check "freeze: reported as a freeze" contains "$details" "freeze:"
check "freeze: names the expired role" contains "$details" "timestamp"
check "freeze: not reported as a failed verification" lacks "$details" "TUF verification failed"
log=$(cat "$SCN_WORK/logs/tenderd.log")
check "freeze: logged as a freeze" contains "$log" "hello 5.0.0: freeze:"
check "freeze: v4 untouched (same pid)" eq "$(scn_app_pid 4.0.0)" "$v4pid"
check "freeze: current is 4.0.0" eq "$(scn_current_version)" 4.0.0

# 6. Fresh metadata again: the same release goes through.
scn_tuf refresh || exit 1
id=$(scn_deploy 5.0.0)
check "after the freeze: v5 deployment succeeds" eq "$(scn_wait_action "$id")" success
check "after the freeze: v5 is current" eq "$(scn_current_version)" 5.0.0

scn_stop_agent
scn_test_end
