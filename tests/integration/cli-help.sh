#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# What the command lines and the docs promise is what works (issue 16's stale promises):
# `tenderctl store --help` prints its usage (not an error about /etc/tender/agent.json); a
# configuration error names the file once; tender-publish offers --key only as the optional
# detached signature; docs/server-mock.md documents every option of tender-server-mock --help and
# its cancel handshake; docs/store.md does not say tenderd exits on an unencrypted store;
# tenderctl --help's commands are in its man page. (lock, logs and remove work end to end:
# tests/e2e/tenderctl-apps.sh.)
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_begin cli-help tenderd tenderctl tender-publish tender-server-mock

rc=0
out=$("$B/tenderctl" store --help 2>"$WORK/err") || rc=$?
check "tenderctl store --help exits 0" eq "$rc" 0
check "tenderctl store --help prints the store's usage" contains "$out" "Usage: tenderctl store"
check "tenderctl store --help prints no error" eq "$(cat "$WORK/err")" ""

# count TEXT NEEDLE: how often NEEDLE occurs in TEXT.
count() { grep -o -F -- "$2" <<<"$1" | wc -l; }
cfg=$WORK/agent-with-a-typo.json
echo '{"server": {"url": "http://127.0.0.1:1", "controllerId": "d", "tennant": "x"}}' >"$cfg"
check "tenderd's configuration error says what is wrong" fails_with "server.tennant" "$B/tenderd" --config "$cfg" --once
check "tenderd names the configuration once" eq "$(count "$STDERR" "$cfg")" 1
rc=0
"$B/tenderctl" store status --config "$cfg" >/dev/null 2>"$WORK/err" || rc=$?
check "tenderctl store refuses the configuration" eq "$rc" 2
check "tenderctl store's configuration error says what is wrong" contains "$(cat "$WORK/err")" "server.tennant"
check "tenderctl store names the configuration once" eq "$(count "$(cat "$WORK/err")" "$cfg")" 1
"$B/tenderctl" --config "$cfg" status >/dev/null 2>"$WORK/err" || true
check "tenderctl's configuration error says what is wrong" contains "$(cat "$WORK/err")" "server.tennant"
check "tenderctl names the configuration once" eq "$(count "$(cat "$WORK/err")" "$cfg")" 1

# Every command tenderctl --help lists is documented in its man page, and the per-app commands
# that were missing (remove) or incomplete (logs of an app's output) are offered.
ctl_help=$("$B/tenderctl" --help)
undocumented=()
for cmd in $(awk '/^  [a-z]/ {print $1}' <<<"$ctl_help"); do
  grep -q -F -- "*$cmd*" "$SRC/man/tenderctl.8.scd" || undocumented+=("$cmd")
done
check "tenderctl --help's commands are in tenderctl.8" eq "${undocumented[*]}" ""
check "tenderctl --help offers remove" contains "$ctl_help" "remove APP [--delete-volumes]"
check "tenderctl --help: logs shows an app's output" contains "$ctl_help" "output (stdout and stderr)"

pub=$("$B/tender-publish" --help)
check "tender-publish --help offers --key as optional" contains "$pub" "[--key PRIVATE.pem]"
check "tender-publish --help does not call releases signed by --key" lacks "$pub" "publish a signed release"

doc=$SRC/docs/server-mock.md
missing=()
for opt in $("$B/tender-server-mock" --help | grep -o -- '--[a-z][a-z-]*' | sort -u); do
  grep -q -- "$opt" "$doc" || missing+=("$opt")
done
check "docs/server-mock.md documents every option of --help" eq "${missing[*]}" ""
check "docs/server-mock.md does not deny the cancel handshake" lacks "$(cat "$doc")" "no cancel handshake"
check "docs/store.md does not say tenderd exits on an unencrypted store" \
  lacks "$(cat "$SRC/docs/store.md")" "Log err.message, exit."
st_end
