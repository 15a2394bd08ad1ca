#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# `cmake --install` of the build (prefix /usr/local unless configured otherwise): the six binaries
# in <prefix>/bin, the units in <prefix>/lib/systemd/system naming those binaries and the
# installed docs, /etc/tender and /var/lib/tender (0700), the example configuration; then the
# host's `systemd-analyze verify` accepts the units as they will be found, seen through a private
# mount namespace in which the install tree is bind-mounted over the prefix. (The packages, with
# the prefix /usr, are integration/deb-package's.)
set -euo pipefail

if [[ ${TENDER_LAYOUT_TEST_NS:-} != 1 && $(id -u) -eq 0 ]] && command -v unshare >/dev/null; then
  TENDER_LAYOUT_TEST_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_need_root "the bind mount over the prefix needs root"
st_need systemd-analyze unshare
st_begin install-layout tenderd tenderctl tender-runtime tender-publish tender-server-mock tender-tuf

prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$TENDER_BUILD_DIR/CMakeCache.txt")
[[ -n $prefix && $prefix != /usr && -d $prefix ]] ||
  skip "the build's prefix ($prefix) cannot be shadowed here (it must exist and not be /usr)"
D=$WORK/root
DESTDIR=$D cmake --install "$TENDER_BUILD_DIR" >"$WORK/install.log" 2>&1 ||
  { cat "$WORK/install.log" >&2; fail "cmake --install failed"; }

for b in tenderd tenderctl tender-runtime tender-publish tender-server-mock tender-tuf; do
  check "$prefix/bin/$b is installed" test -x "$D$prefix/bin/$b"
done
units=("$prefix/lib/systemd/system/tenderd.service" "$prefix/lib/systemd/system/tender-store-unlock.service")
for u in "${units[@]}"; do check "$u is installed" test -f "$D$u"; done
check "tenderd.service runs $prefix/bin/tenderd" \
  grep -qx "ExecStart=$prefix/bin/tenderd --config /etc/tender/agent.json" "$D${units[0]}"
check "tender-store-unlock.service runs $prefix/bin/tenderctl" \
  grep -q "^ExecStart=$prefix/bin/tenderctl store unlock" "$D${units[1]}"
check "the units name the installed docs" \
  grep -q "^Documentation=file://$prefix/share/doc/tender/agent.md" "$D${units[0]}"
check "/etc/tender is installed" test -d "$D/etc/tender"
check "/var/lib/tender is root's alone" eq "$(stat -c %a "$D/var/lib/tender" 2>&1)" 700
check "the example configuration is installed" test -f "$D$prefix/share/doc/tender/examples/agent.json"

mount --bind "$D$prefix" "$prefix"
verify=$(systemd-analyze verify "${units[@]}" 2>&1) || true
check "systemd-analyze verify accepts the installed units" eq "$verify" ""
st_end
