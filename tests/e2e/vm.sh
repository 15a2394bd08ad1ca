#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The device test tier's quick run (scripts/vm-test --quick, docs/testing.md "Device tier"): a
# Debian 12 guest under QEMU (TCG) with systemd, cgroup v2 and the store on LUKS2, tender from
# its .deb. It runs in the suite's normal pass only: the guest runs the package build
# (build-vm-deb), not this build's binaries, so the sanitizer pass would repeat the same run.
# Exits 77 when QEMU or the image's tools are missing, or in a sanitizer build.
set -euo pipefail
: "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}" "${TENDER_BUILD_DIR:?TENDER_BUILD_DIR must be set}"
if grep -q '^TENDER_SANITIZE:BOOL=ON' "$TENDER_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
  echo "skip: the guest runs the .deb (build-vm-deb), the same in both passes: the normal pass ran it"
  exit 77
fi
exec "$TENDER_SOURCE_DIR/scripts/vm-test" --quick
