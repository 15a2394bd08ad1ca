#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# scripts/cross armhf: every binary cross-builds for 32-bit ARM against Debian's armhf libraries
# (multiarch), and the unit tests pass under qemu-arm-static. It catches code that only builds
# or works on amd64: 32-bit off_t and size_t, unaligned reads, char signedness, kernels or
# emulators without openat2. Skips only when the cross packages cannot be installed.
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_begin cross-armhf

# The source tree's build-armhf (what `make cross ARCH=armhf` uses), not one per test build: the
# cross build takes no sanitizer options, so the suite's second pass only rebuilds what changed.
dir=$SRC/build-armhf
rc=0
"$SRC/scripts/cross" armhf --dir "$dir" >"$WORK/cross.log" 2>&1 || rc=$?
if [[ $rc == 3 ]]; then
  skip "the armhf cross packages cannot be installed: $(tail -n 2 "$WORK/cross.log" | tr '\n' ' ')"
fi
[[ $rc == 0 ]] || { tail -n 40 "$WORK/cross.log" >&2; }
check "scripts/cross armhf builds and the unit tests pass under qemu" eq "$rc" 0
for bin in tenderd tenderctl tender-runtime tender-publish tender-server-mock tender-tuf; do
  check "$bin is a 32-bit ARM executable" contains "$(file -b "$dir/bin/$bin" 2>&1)" "ELF 32-bit LSB"
  check "$bin --version runs under qemu-arm-static" \
    eq "$(qemu-arm-static "$dir/bin/$bin" --version 2>&1)" "$bin $(sed -n 's/^project(tender VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")"
done
units=$(grep -c '^ *Start .*unit/' "$WORK/cross.log" || true)
check "the unit tests ran ($units)" ge "$units" 20
st_end
