#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# fscrypt for real: a loop-mounted ext4 image made with -O encrypt as the store's file system.
# tenderctl store provision sets the policy, a blob and a layer are staged, the key is removed
# and the file system unmounted; the raw image must hold none of the plaintext (contents and
# names), while a control file outside the store shows that the search would find it. Then
# remount: the store reports locked, a wrong key is rejected, the right one unlocks it.
# Last, tenderd on an fscrypt store: v1 installed and running, the store locked under it and
# tenderd restarted: it keeps running, refuses a deployment with the reason, leaves v1
# running, still refuses after a wrong key was tried, and installs v2 once the key is added.
set -euo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
[[ -e /sys/fs/ext4/features/encryption ]] || skip "the kernel's ext4 has no encryption support"
[[ -e /dev/loop-control ]] || skip "no loop device support"
scn_test_begin mkfs.ext4 losetup mount umount
scn_init
CTL=$TENDER_BIN/tenderctl

W=$(mktemp -d /tmp/tender-fscrypt-test.XXXXXX)
# Searchable by the apps' roots (their user namespaces' host ids) on the way to their bundles.
chmod 0711 "$W"
LOOP=
scn_test_cleanup() {
  scn_cleanup # tenderd and its containers first: they hold files on the image
  # mounts beneath the image (container root file systems), deepest first
  awk -v w="$W/mnt/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  mountpoint -q "$W/mnt" 2>/dev/null && umount "$W/mnt"
  mountpoint -q "$W/tmpfs" 2>/dev/null && umount "$W/tmpfs"
  [[ -n $LOOP ]] && losetup -d "$LOOP" 2>/dev/null
  rm -rf "$W"
}

mount_image() {
  LOOP=$(losetup -f --show "$W/ext4.img") || skip "no free loop device"
  mount -t ext4 "$LOOP" "$W/mnt"
}
umount_image() {
  umount "$W/mnt"
  losetup -d "$LOOP"
  LOOP=
}

mkdir -p "$W/mnt" "$W/tmpfs"
truncate -s 64M "$W/ext4.img"
mkfs.ext4 -q -O encrypt -b 4096 "$W/ext4.img"
mount_image
STORE=$W/mnt/store
head -c 64 /dev/urandom >"$W/key"
head -c 64 /dev/urandom >"$W/wrong"
chmod 600 "$W/key" "$W/wrong"

# the key file is checked before anything else
head -c 32 /dev/urandom >"$W/short" && chmod 600 "$W/short"
must_fail "exactly 64 bytes" "$CTL" store provision --root "$STORE" --key-file "$W/short"
cp "$W/key" "$W/open" && chmod 644 "$W/open"
must_fail "readable by group or others" "$CTL" store provision --root "$STORE" --key-file "$W/open"

# an unencrypted store is reported as such; tenderd would refuse it
mkdir "$W/mnt/plain"
must_fail "store.allowUnencrypted" "$CTL" store status --root "$W/mnt/plain"

out=$("$CTL" store provision --root "$STORE" --key-file "$W/key")
[[ $out == *"fscrypt policy v2 (AES-256-XTS, AES-256-CTS)"* ]] || fail "provision said: $out"
out=$("$CTL" store status --root "$STORE") || fail "status after provision: $out"
[[ $out == *unlocked* ]] || fail "status after provision: $out"
json=$("$CTL" store status --json --root "$STORE")
[[ $json == *'"encryption":"fscrypt","locked":false'* ]] || fail "status --json: $json"
must_fail "already encrypted" "$CTL" store provision --root "$STORE" --key-file "$W/key"

# stage a blob and an extracted layer; the marker is built so that this script's own text
# (which may sit in the image's page cache of another file system, never in this image) differs
MARK="TENDER-PLAINTEXT-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
NAME="tender-secret-name-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
mkdir -p "$STORE/blobs/sha256" "$STORE/layers/sha256/$NAME/etc"
for i in $(seq 200); do echo "$MARK line $i"; done >"$STORE/blobs/sha256/$NAME"
echo "$MARK" >"$STORE/layers/sha256/$NAME/etc/config"
# control: the same kind of file outside the store is found in the raw image
echo "$MARK-control" >"$W/mnt/plain/control"
sync

"$CTL" store lock --root "$STORE"
out=$("$CTL" store status --root "$STORE" 2>&1) && fail "status of a locked store succeeded: $out"
[[ $out == *locked* && $out == *"tenderctl store unlock"* ]] || fail "status when locked: $out"
if cat "$STORE/layers/sha256/$NAME/etc/config" 2>/dev/null; then fail "read a locked file"; fi
listing=$(ls -R "$STORE" 2>/dev/null || true)
[[ $listing == *"$NAME"* ]] && fail "names visible while locked"
umount_image

n=$(grep -a -c -- "$MARK-control" "$W/ext4.img" || true)
[[ $n -ge 1 ]] || fail "control plaintext not found in the raw image: the search is broken"
n=$(grep -a -o -- "$MARK" "$W/ext4.img" | wc -l)
[[ $n -eq 1 ]] || fail "plaintext of the store found in the raw image ($((n - 1)) times)"
n=$(grep -a -c -- "$NAME" "$W/ext4.img" || true)
[[ $n -eq 0 ]] || fail "a file name of the store found in the raw image"
echo "ok: the raw image holds none of the store's plaintext"

mount_image
must_fail "is locked" "$CTL" store status --root "$STORE"
must_fail "wrong key for $STORE" "$CTL" store unlock --root "$STORE" --key-file "$W/wrong"
must_fail "is locked" "$CTL" store status --root "$STORE"
"$CTL" store unlock --root "$STORE" --key-file "$W/key"
out=$("$CTL" store status --root "$STORE") || fail "status after unlock failed"
[[ $out == *unlocked* ]] || fail "status after unlock"
[[ $(cat "$STORE/layers/sha256/$NAME/etc/config") == "$MARK" ]] || fail "content after unlock"
[[ $(wc -l <"$STORE/blobs/sha256/$NAME") -eq 200 ]] || fail "blob after unlock"
# unlocking twice is harmless (boot unit re-run)
"$CTL" store unlock --root "$STORE" --key-file "$W/key"

# a file system without fscrypt
mount -t tmpfs -o size=1m tmpfs "$W/tmpfs"
must_fail "does not support fscrypt" "$CTL" store provision --root "$W/tmpfs/store" --key-file "$W/key"

# tenderd on a locked store
DSTORE=$W/mnt/device-store
"$CTL" store provision --root "$DSTORE" --key-file "$W/key" >/dev/null
{ scn_build_images 1 2 && scn_publish 1 2; } >"$SCN_WORK/logs/images.log" 2>&1 ||
  fail "images: $(tail -5 "$SCN_WORK/logs/images.log")"
scn_start_server
scn_write_config
sed -i "s|\"root\": \"$SCN_WORK/store\", \"allowUnencrypted\": true|\"root\": \"$DSTORE\"|" \
  "$SCN_WORK/agent.json"
grep -q "\"root\": \"$DSTORE\" }" "$SCN_WORK/agent.json" || fail "config: $(cat "$SCN_WORK/agent.json")"
dcurrent() { basename "$(readlink "$DSTORE/apps/hello/current" 2>/dev/null)" 2>/dev/null; }
v1_status() {
  scn_runtime state hello-1_0_0 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null || echo none
}
# wait_log TEXT: until tenderd's log holds TEXT (60 s).
wait_log() {
  local i
  for ((i = 0; i < 300; i++)); do
    grep -qF -- "$1" "$SCN_WORK/logs/tenderd.log" && return 0
    sleep 0.2
  done
  fail "tenderd never logged '$1'"
}

scn_start_agent
id=$(scn_deploy 1.0.0)
[[ $(scn_wait_action "$id") == success ]] || fail "v1 on the encrypted store: $(scn_action_details "$id")"
[[ $(v1_status) == running ]] || fail "v1 is not running"
scn_stop_agent
echo "ok: v1 installed on the fscrypt store and running"

# lock under the running app: its open files keep working, new opens fail
"$CTL" store lock --root "$DSTORE" >/dev/null 2>&1 || true
must_fail "is locked" "$CTL" store status --root "$DSTORE"
scn_start_agent
wait_log "deployments are refused"
id=$(scn_deploy 2.0.0)
[[ $(scn_wait_action "$id") == failure ]] || fail "a deployment onto the locked store did not fail"
details=$(scn_action_details "$id")
[[ $details == *"hello 2.0.0: refused to stage"*"is locked"* ]] || fail "refusal details: $details"
echo "ok: locked store: deployment refused: $details"
kill -0 "$SCN_AGENT_PID" 2>/dev/null || fail "tenderd exited on a locked store"
[[ $(v1_status) == running ]] || fail "v1 stopped while the store was locked"

must_fail "wrong key for $DSTORE" "$CTL" store unlock --root "$DSTORE" --key-file "$W/wrong"
id=$(scn_deploy 2.0.0)
[[ $(scn_wait_action "$id") == failure ]] || fail "a deployment after a wrong key did not fail"
[[ $(scn_action_details "$id") == *"is locked"* ]] || fail "details: $(scn_action_details "$id")"
kill -0 "$SCN_AGENT_PID" 2>/dev/null || fail "tenderd exited after a wrong key"
[[ $(v1_status) == running ]] || fail "v1 stopped after a wrong key"
echo "ok: wrong key: still refused, tenderd and v1 running"

"$CTL" store unlock --root "$DSTORE" --key-file "$W/key"
wait_log "is unlocked now"
id=$(scn_deploy 2.0.0)
[[ $(scn_wait_action "$id") == success ]] || fail "v2 after unlock: $(scn_action_details "$id")"
[[ $(dcurrent) == 2.0.0 ]] || fail "current after unlock: $(dcurrent)"
echo "ok: unlocked: v2 installed"
scn_stop_agent
echo "fscrypt: all checks passed"
