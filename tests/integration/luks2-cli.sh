#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# tenderctl store ... --luks2 without a device: in the default build (TENDER_LUKS2=OFF) it must
# say that the build lacks LUKS2; in a build with it, the arguments are checked before any
# device is touched (missing options, mapping name, key file, a path that is no block device).
# Needs neither root nor a kernel feature; tests/integration/luks2.sh does the real device.
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_begin luks2-cli tenderctl
CTL=$B/tenderctl W=$WORK

# expect STATUS PATTERN CMD...: CMD exits with STATUS and its stderr contains PATTERN.
expect() {
  local status=$1 pattern=$2 out rc=0
  shift 2
  out=$("$@" 2>&1 >/dev/null) || rc=$?
  [[ $rc -eq $status ]] || fail "$*: exit $rc, expected $status ($out)"
  [[ $out == *"$pattern"* ]] || fail "$*: expected '$pattern' in: $out"
  echo "ok: $* -> $out"
}

st_random_key "$W/key"
: >"$W/file"
probe=$("$CTL" store provision --luks2 --device "$W/file" --key-file "$W/key" 2>&1 || true)
# --luks2 belongs to provision and unlock only, in every build
expect 2 "go with provision --luks2" "$CTL" store status --luks2
expect 2 "go with provision --luks2" "$CTL" store lock --root "$W" --device "$W/file"

if [[ $probe == *"built without LUKS2 support"* ]]; then
  for verb in provision unlock; do
    expect 1 "tenderctl: built without LUKS2 support (TENDER_LUKS2)" \
      "$CTL" store "$verb" --luks2 --device "$W/file" --key-file "$W/key"
  done
  echo "luks2-cli: built without TENDER_LUKS2: the refusal is clear"
  exit 0
fi

for verb in provision unlock; do
  expect 2 "needs --device and --key-file" "$CTL" store "$verb" --luks2 --key-file "$W/key"
  expect 2 "needs --device and --key-file" "$CTL" store "$verb" --luks2 --device "$W/file"
  expect 1 "invalid mapping name '../x'" \
    "$CTL" store "$verb" --luks2 --device "$W/file" --key-file "$W/key" --name ../x
  expect 1 "invalid mapping name '.hidden'" \
    "$CTL" store "$verb" --luks2 --device "$W/file" --key-file "$W/key" --name .hidden
  long=$(printf 'n%.0s' {1..65})
  expect 1 "invalid mapping name" \
    "$CTL" store "$verb" --luks2 --device "$W/file" --key-file "$W/key" --name "$long"
done
head -c 32 /dev/urandom >"$W/short" && chmod 600 "$W/short"
expect 1 "exactly 64 bytes" "$CTL" store provision --luks2 --device "$W/file" --key-file "$W/short"
expect 1 "$W/missing: No such file or directory" \
  "$CTL" store provision --luks2 --device "$W/missing" --key-file "$W/key"
expect 1 "$W/file is not a block device" \
  "$CTL" store provision --luks2 --device "$W/file" --key-file "$W/key"
expect 1 "$W/file holds no LUKS2 header" \
  "$CTL" store unlock --luks2 --device "$W/file" --key-file "$W/key"
echo "luks2-cli: all checks passed"
