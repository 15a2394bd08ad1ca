#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Differential test: the same bundle (tender-runtime's hardened default spec, with an env and a
# cwd of its own) under tender-runtime, crun and runc must report the same hostname, uid/gid
# maps, capability sets, seccomp mode, no_new_privs, mount list (normalised), env and cwd.
# crun 1.8 refuses this machine's hybrid cgroup layout, so all three run in a private mount
# namespace without /sys/fs/cgroup/unified.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
        echo "skip: needs root"
        exit 77
fi
for peer in crun runc; do
        if ! command -v $peer >/dev/null; then
                echo "skip: $peer not installed (apt-get install crun runc)"
                exit 77
        fi
done
BUSYBOX=/bin/busybox
if [ ! -x "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1 || ! command -v python3 >/dev/null; then
        echo "skip: needs a static busybox (busybox-static) and python3"
        exit 77
fi
BIN="${TENDER_BUILD_DIR:?}/bin/tender-runtime"
[ -x "$BIN" ] || { echo "FAIL: $BIN not built"; exit 1; }

if [ -z "${RUNTIME_DIFF_INNER:-}" ]; then
        TMP=$(mktemp -d /tmp/tender-diff-test.XXXXXX)
        chmod 755 "$TMP"
        cleanup() {
                for rt in "$BIN" crun runc; do
                        "$rt" --root "$TMP/root-$(basename "$rt")" delete --force diff \
                                >/dev/null 2>&1 || true
                done
                rm -rf "$TMP"
        }
        trap cleanup EXIT
        RUNTIME_DIFF_INNER=1 TMP="$TMP" unshare -m "$0"
        exit $?
fi

fail() { echo "FAIL: $*"; exit 1; }
check() { echo "ok: $*"; }

mount --make-rprivate /
if mountpoint -q /sys/fs/cgroup/unified; then
        umount /sys/fs/cgroup/unified
fi

BUNDLE="$TMP/bundle"
mkdir -p "$BUNDLE/rootfs/bin" "$BUNDLE/rootfs/srv/work"
cp "$BUSYBOX" "$BUNDLE/rootfs/bin/busybox"
for applet in $("$BUSYBOX" --list); do
        [ "$applet" = busybox ] || ln -s busybox "$BUNDLE/rootfs/bin/$applet"
done
# Mount list: mount point, type and ro/rw, sorted. Left out: ids, super-block options (tmpfs
# sizes, devpts uid=), and the other per-mount flags, where crun 1.8 differs from runc (and
# tender-runtime, which matches runc exactly): it adds nosuid,noexec to the device nodes and
# read-only to masked files, and its read-only paths carry no nosuid/nodev/noexec. Device
# nodes and masked files (devtmpfs binds) are compared without ro/rw.
cat >"$BUNDLE/rootfs/report.sh" <<'SCRIPT'
echo "hostname $(hostname)"
echo "uid_map $(tr -s ' ' </proc/self/uid_map)"
echo "gid_map $(tr -s ' ' </proc/self/gid_map)"
grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|Seccomp|NoNewPrivs):' /proc/self/status | tr -s '\t ' ' '
echo "cwd $(pwd)"
env | grep -v '^PWD=\|^SHLVL=\|^_=' | sort | sed 's/^/env /'
awk '{ for (i = 7; $i != "-"; i++); fs = $(i + 1); split($6, o, ",")
       print "mount", $5, fs, (fs == "devtmpfs" ? "" : o[1]) }' /proc/self/mountinfo | sort
echo end
SCRIPT
(cd "$BUNDLE" && "$BIN" spec)
python3 - "$BUNDLE/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["sh", "/report.sh"]
c["process"]["cwd"] = "/srv/work"
c["process"]["env"] += ["HOME=/root", "DIFF_TEST=one two"]
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
chown -R 100000:100000 "$BUNDLE/rootfs"

for rt in "$BIN" crun runc; do
        name=$(basename "$rt")
        if ! "$rt" --root "$TMP/root-$name" run --bundle "$BUNDLE" diff >"$TMP/$name.out" 2>"$TMP/$name.err"; then
                fail "$name run failed: $(cat "$TMP/$name.err")"
        fi
done
for name in tender-runtime crun runc; do
        grep -qx end "$TMP/$name.out" || fail "$name: no report: $(cat "$TMP/$name.out" "$TMP/$name.err")"
done
grep -q "^Seccomp: 2" "$TMP/crun.out" || fail "crun ran without seccomp: $(cat "$TMP/crun.out")"

status=0
for peer in crun runc; do
        if diff -u "$TMP/$peer.out" "$TMP/tender-runtime.out" >"$TMP/$peer.diff"; then
                check "tender-runtime reports the same as $peer ($(grep -c . "$TMP/$peer.out") lines)"
        else
                echo "FAIL: tender-runtime differs from $peer:"
                cat "$TMP/$peer.diff"
                status=1
        fi
done
[ $status = 0 ] || exit 1
for what in hostname uid_map gid_map CapBnd CapEff Seccomp NoNewPrivs cwd env mount; do
        grep -q "^$what" "$TMP/tender-runtime.out" || fail "no $what line in the report"
done
head -12 "$TMP/tender-runtime.out"
check "hostname, uid/gid map, capabilities, seccomp, no_new_privs, mounts, env, cwd agree"
