#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tests/test.h and tests/fixture.h themselves: a file with more tests than TEST_MAX fails
# without running any; a file that mixes passes and skips passes but names the skips (and fails
# under TENDER_TEST_NO_SKIP=1); only an all-skip file exits 77; a fixture dir is removed when
# its test fails. usage: check.sh DIR [EMULATOR] (DIR: where frame_overflow and frame_mixed are
# built; EMULATOR: what runs them in a cross build, e.g. qemu-arm-static)
set -uo pipefail
bin=$1 failures=0 out="" rc=0
emu=()
[[ -n ${2:-} ]] && emu=("$2")
work=$(mktemp -d /tmp/tender-frame-check.XXXXXX)
trap 'rm -rf "$work"' EXIT
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
run() { rc=0; out=$("$@" 2>&1) || rc=$?; }
eq() { [[ $1 == "$2" ]] || { echo "     got '$1', expected '$2'" >&2; return 1; }; }
has() { [[ $1 == *"$2"* ]] || { echo "     '$1' lacks '$2'" >&2; return 1; }; }

run "${emu[@]}" "$bin/frame_overflow"
check "more tests than TEST_MAX: exit 1" eq "$rc" 1
check "... saying so" has "$out" "1 tests past TEST_MAX (512)"
check "... and running none" eq "$(grep -c '^ok' <<<"$out")" 0

run "${emu[@]}" "$bin/frame_mixed" passes
check "a pass alone: exit 0" eq "$rc" 0
run "${emu[@]}" "$bin/frame_mixed" skips
check "a skip alone: exit 77" eq "$rc" 77
run env -u TENDER_TEST_NO_SKIP "${emu[@]}" "$bin/frame_mixed"
check "passes and a skip: exit 0 (what could run, passed)" eq "$rc" 0
check "... the skipped test named on the last line" eq "$(tail -n 1 <<<"$out")" "2 passed, 0 failed, 1 skipped: skips"
run env TENDER_TEST_NO_SKIP=1 "${emu[@]}" "$bin/frame_mixed"
check "... under TENDER_TEST_NO_SKIP=1 a skip is a failure" eq "$rc" 1
run env -u TENDER_TEST_NO_SKIP FRAME_DIR_FILE="$work/dir" "${emu[@]}" "$bin/frame_mixed"
check "a failure among passes and a skip: exit 1" eq "$rc" 1
check "the failed test's fixture dir was made" test -s "$work/dir"
check "... and is removed although its test failed" test ! -e "$(cat "$work/dir" 2>/dev/null)"
check "... without following the symlink to / in it" test -d /etc
exit $((failures > 0))
