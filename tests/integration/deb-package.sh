#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages (scripts/package, docs/packaging.md) on a Debian 12 made by debootstrap:
# they install with dpkg (their Depends met by what they declare), every binary runs there and
# prints the CMake project's version, tenderd starts and polls tender-server-mock (both from the
# packages), the binaries are stripped, the man pages are installed, each library a binary needs
# comes from a package its Depends name, tenderd.service is enabled and `systemd-analyze verify`
# accepts the installed units; then purge removes every file, the units' enablement, and the
# empty /etc/tender and /var/lib/tender, while a store with content stays.
#
# The Debian base (minbase, systemd and the packages' Depends) is made once and kept in
# /var/cache/tender-test/debootstrap/, keyed by the suite, the mirror and that package list; each
# run installs into an overlay over it, in a mount namespace of its own, so the base stays
# pristine and nothing is left mounted. The first run downloads ~60 MB (a few minutes); later
# runs take about as long as the package build.
set -euo pipefail

# A mount namespace of our own: the overlay and /proc of the chroot vanish with the test.
if [[ ${TENDER_DEB_TEST_NS:-} != 1 && $(id -u) -eq 0 ]] && command -v unshare >/dev/null; then
  TENDER_DEB_TEST_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_need_root "debootstrap, chroot and overlay mounts need root"
st_need debootstrap dpkg-deb dpkg-shlibdeps readelf strings unshare curl jq
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
  skip "the kernel has no overlayfs"
st_begin deb-package

SUITE=bookworm
MIRROR=${TENDER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
version=$(sed -n 's/^project(tender VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt")
[[ -n $version ]] || fail "no project version in CMakeLists.txt"

# The packages, from the source tree's build-deb (what `make deb` uses), not one per test build:
# the package build takes no sanitizer options, so the suite's second pass rebuilds nothing.
debdir=$SRC/build-deb
"$SRC/scripts/package" "$debdir" >"$WORK/package.log" 2>&1 ||
  { cat "$WORK/package.log" >&2; fail "scripts/package failed"; }
debs=("$debdir"/packages/tender_"$version"-*.deb "$debdir"/packages/tender-tools_"$version"-*.deb)
for d in "${debs[@]}"; do [[ -f $d ]] || fail "scripts/package made no $d"; done

# depends_of DEB: the package names of its Depends, one a line.
depends_of() {
  dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/^ *//; s/[ (].*//; /^$/d' | sort -u
}
deps=$(for d in "${debs[@]}"; do depends_of "$d"; done | sort -u | paste -sd, -)
key=$(printf '%s\n' "$SUITE" "$MIRROR" minbase systemd "$deps" | sha256sum | cut -c1-16)
cache=/var/cache/tender-test/debootstrap
base=$cache/$SUITE-$key
mkdir -p "$cache"
(
  flock 9
  if [[ ! -f $base/.complete ]]; then
    echo "making the Debian base $base (once)"
    # Bases of older package lists are stale: one base is kept.
    find "$cache" -mindepth 1 -maxdepth 1 -name "$SUITE-*" ! -name "$SUITE-$key*" -exec rm -rf {} +
    rm -rf "$base.tmp"
    if ! debootstrap --variant=minbase --include="systemd,$deps" "$SUITE" "$base.tmp" "$MIRROR" \
      >"$cache/$SUITE-$key.log" 2>&1; then
      tail -n 5 "$cache/$SUITE-$key.log" >&2
      rm -rf "$base.tmp"
      exit 3
    fi
    # Caches the chroot does not need between runs.
    rm -rf "$base.tmp"/var/cache/apt/archives/*.deb "$base.tmp"/var/lib/apt/lists/*
    touch "$base.tmp/.complete"
    mv "$base.tmp" "$base"
  fi
) 9>"$cache/.lock" || {
  rc=$?
  [[ $rc == 3 ]] && skip "debootstrap of $SUITE from $MIRROR failed (offline?): $cache/$SUITE-$key.log"
  fail "cannot make the Debian base in $base"
}

R=$WORK/root
st_cleanup() { umount -R "$R" 2>/dev/null || true; }
mkdir -p "$WORK/upper" "$WORK/ovl" "$R"
mount -t overlay overlay -o "lowerdir=$base,upperdir=$WORK/upper,workdir=$WORK/ovl" "$R"
mount -t proc proc "$R/proc"
cp "${debs[@]}" "$R/tmp/"
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

check "the packages install with dpkg" \
  in_root dpkg -i "/tmp/$(basename "${debs[0]}")" "/tmp/$(basename "${debs[1]}")"
check "dpkg finds nothing half-installed" eq "$(in_root dpkg --audit 2>&1)" ""

bins_tender=(tenderd tenderctl tender-runtime)
bins_tools=(tender-publish tender-server-mock tender-tuf)
for bin in "${bins_tender[@]}" "${bins_tools[@]}"; do
  check "$bin --version runs in the chroot: $bin $version" \
    eq "$(in_root "/usr/bin/$bin" --version 2>&1)" "$bin $version"
  check "/usr/bin/$bin is stripped" \
    eq "$(readelf -S --wide "$R/usr/bin/$bin" | grep -c '\.symtab' || true)" 0
done

# needed_from_depends DEB BIN...: every library a BIN links directly belongs to a package that
# DEB's Depends name (dpkg-shlibdeps' work), and so do the ones tenderd loads with dlopen() when
# MQTT or the monitor is configured (their SONAMEs are strings in it; cmake/Packaging.cmake).
needed_from_depends() {
  local deb=$1 bin lib path pkg ok=0
  shift
  local depends
  depends=$(depends_of "$deb")
  for bin in "$@"; do
    for lib in $(readelf -d "$R/usr/bin/$bin" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p') \
      $(strings "$R/usr/bin/$bin" | grep -xE 'lib(mosquitto|microhttpd)\.so\.[0-9]+'); do
      path=$(in_root ldconfig -p | awk -v l="$lib" '$1 == l {print $NF; exit}')
      [[ -n $path ]] || { echo "     $bin: $lib not found in the chroot" >&2; ok=1; continue; }
      pkg=$(in_root dpkg -S "$(in_root realpath "$path")" 2>/dev/null | head -n1 | sed 's/:.*//')
      [[ -z $pkg ]] && pkg=$(in_root dpkg -S "$path" 2>/dev/null | head -n1 | sed 's/:.*//')
      grep -qx "$pkg" <<<"$depends" ||
        { echo "     $bin needs $lib from ${pkg:-no package}, not in Depends" >&2; ok=1; }
    done
  done
  return $ok
}
check "tenderd names the two libraries it loads when configured" \
  eq "$(strings "$R/usr/bin/tenderd" | grep -cxE 'lib(mosquitto|microhttpd)\.so\.[0-9]+')" 2
check "tender's Depends cover its binaries' libraries" needed_from_depends "${debs[0]}" "${bins_tender[@]}"
check "tender-tools' Depends cover its binaries' libraries" \
  needed_from_depends "${debs[1]}" "${bins_tools[@]}"

units=(/lib/systemd/system/tenderd.service /lib/systemd/system/tender-store-unlock.service)
for u in "${units[@]}"; do check "$u is installed" test -f "$R$u"; done
check "tenderd.service is enabled" \
  test -L "$R/etc/systemd/system/multi-user.target.wants/tenderd.service"
verify=$(in_root systemd-analyze verify "${units[@]}" 2>&1) || true
check "systemd-analyze verify accepts the installed units" eq "$verify" ""
for page in man8/tenderd.8 man8/tenderctl.8 man8/tender-runtime.8 man5/agent.json.5 \
  man1/tender-publish.1 man1/tender-server-mock.1; do
  check "the man page $page is installed" test -s "$R/usr/share/man/$page.gz"
done
check "/etc/tender and /var/lib/tender exist" test -d "$R/etc/tender" -a -d "$R/var/lib/tender"
check "the store directory is root's alone" eq "$(stat -c %a "$R/var/lib/tender")" 700

# tenderd starts there: a TUF repository made by the installed tender-publish, served by the
# installed tender-server-mock, and one poll with --once (nothing to deploy: exit 0).
in_root tender-publish tuf-init --repo /tmp/repo --keys /tmp/tuf-keys >"$WORK/tuf.log" 2>&1 ||
  { cat "$WORK/tuf.log" >&2; fail "tender-publish tuf-init failed in the chroot"; }
mkdir -p "$R/tmp/repo/apps" "$R/tmp/repo/blobs"
: >"$WORK/mock.out"
# Not through in_root: a function in the background is a subshell, and $! would not be the server.
chroot "$R" env -i PATH=/usr/bin:/bin tender-server-mock --listen 127.0.0.1:0 --repo /tmp/repo \
  >"$WORK/mock.out" 2>"$WORK/mock.log" &
PIDS+=($!)
url=
for _ in $(seq 100); do
  url=$(sed -n '1s/^listening on \(http:[^ ]*\)$/\1/p' "$WORK/mock.out")
  [[ -n $url ]] && break
  sleep 0.1
done
[[ -n $url ]] || { cat "$WORK/mock.log" >&2; fail "tender-server-mock did not start in the chroot"; }
cat >"$R/tmp/agent.json" <<JSON
{
  "server": { "url": "$url", "controllerId": "deb-test" },
  "store": { "root": "/tmp/store", "allowUnencrypted": true },
  "tuf": { "root": "/tmp/repo/tuf/metadata/1.root.json" },
  "runtime": { "root": "/tmp/runtime" },
  "control": { "socket": "/tmp/control.sock" }
}
JSON
check "tenderd starts and polls the server in the chroot (--once)" \
  in_root tenderd --config /tmp/agent.json --once --log-level info
polled=$(curl -fsS "$url/mock/targets" | jq -r '.[] | select(.controllerId == "deb-test") | .lastPoll')
check "the server saw tenderd's poll" test -n "$polled" -a "$polled" != null
kill "${PIDS[-1]}" 2>/dev/null || true
wait "${PIDS[-1]}" 2>/dev/null || true

# Purge with a store holding data: the data stays, everything of the package goes.
check "the packages purge" in_root dpkg --purge tender-tools tender
check "dpkg lists neither package" \
  eq "$(in_root dpkg-query -W -f='${db:Status-Abbrev}\n' tender tender-tools 2>/dev/null | grep -c '^ii' || true)" 0
left=$(cd "$R" && find usr/bin lib/systemd etc/systemd usr/share/doc usr/share/man -name 'tender*' -o -name 'agent.json*' 2>/dev/null || true)
check "no file of the packages is left" eq "$left" ""
check "the empty /etc/tender and /var/lib/tender are gone" \
  test ! -e "$R/etc/tender" -a ! -e "$R/var/lib/tender"

# Again, with a store and a configuration the admin made: purge keeps them.
in_root dpkg -i "/tmp/$(basename "${debs[0]}")" >/dev/null
echo '{}' >"$R/etc/tender/agent.json"
mkdir -p "$R/var/lib/tender/volumes/app" && echo data >"$R/var/lib/tender/volumes/app/file"
check "tender purges again" in_root dpkg --purge tender
check "purge keeps the admin's agent.json" test -f "$R/etc/tender/agent.json"
check "purge keeps the store's data" eq "$(cat "$R/var/lib/tender/volumes/app/file")" data
st_end
