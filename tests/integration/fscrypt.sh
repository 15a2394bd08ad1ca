#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# fscrypt for real: a loop-mounted ext4 image made with -O encrypt as the store's file system.
# tenderctl store provision sets the policy, a blob and a layer are staged, the key is removed
# and the file system unmounted; the raw image must hold none of the plaintext (contents and
# names), while a control file outside the store shows that the search would find it. Then
# remount: the store reports locked, a wrong key is rejected, the right one unlocks it.
set -euo pipefail

skip() {
  echo "skip: $*" >&2
  exit 77
}
[[ $(id -u) -eq 0 ]] || skip "loop devices and mounts need root"
for tool in mkfs.ext4 losetup mount umount; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done
[[ -e /sys/fs/ext4/features/encryption ]] || skip "the kernel's ext4 has no encryption support"
[[ -e /dev/loop-control ]] || skip "no loop device support"

BUILD=${TENDER_BUILD_DIR:?TENDER_BUILD_DIR is not set}
CTL=$BUILD/bin/tenderctl
[[ -x $CTL ]] || { echo "FAIL: $CTL is not built" >&2; exit 1; }

W=$(mktemp -d /tmp/tender-fscrypt-test.XXXXXX)
LOOP=
cleanup() {
  mountpoint -q "$W/mnt" 2>/dev/null && umount "$W/mnt"
  mountpoint -q "$W/tmpfs" 2>/dev/null && umount "$W/tmpfs"
  [[ -n $LOOP ]] && losetup -d "$LOOP" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# must_fail PATTERN CMD...: CMD fails and its stderr contains PATTERN.
must_fail() {
  local pattern=$1 out
  shift
  if out=$("$@" 2>&1 >/dev/null); then
    fail "$* succeeded"
  fi
  [[ $out == *"$pattern"* ]] || fail "$*: expected '$pattern' in: $out"
  echo "ok: $* -> $out"
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
truncate -s 32M "$W/ext4.img"
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
echo "fscrypt: all checks passed"
