#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# LUKS2 for real on a loop device (build option TENDER_LUKS2). tenderctl store provision --luks2
# refuses a device holding ext4 and leaves it intact, refuses it while mounted even with
# --force, formats it with --force (checked with
# cryptsetup luksDump: LUKS2, aes-xts-plain64, 512-bit key, argon2id), then refuses it as
# holding LUKS; unlock refuses a wrong key and a device without a header. Where the kernel has
# device-mapper with dm-crypt: the device is open as /dev/mapper/NAME, unlocking again is
# harmless, a wrong key is still refused, ext4 on the mapping holds a store that tenderd's
# encryption check accepts as dm-crypt, and after closing, the raw image holds none of the
# plaintext while unlocking again brings it back. Exits 77 without root, loop devices or
# cryptsetup, in a build without the option, and (after the checks above that need no
# device-mapper) when the kernel lacks device-mapper.
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_need_root "loop devices and device-mapper need root"
st_need losetup mkfs.ext4 mount umount blkid cryptsetup
[[ -e /dev/loop-control ]] || skip "no loop device support"
st_begin luks2-test tenderctl
CTL=$B/tenderctl W=$WORK
probe=$("$CTL" store provision --luks2 --device /dev/null --key-file /dev/null 2>&1 || true)
[[ $probe == *"built without LUKS2 support"* ]] &&
  skip "built without TENDER_LUKS2 (luks2-cli.sh checks that refusal)"

NAME=tender-test-${W##*.}
LOOP=
st_cleanup() {
  mountpoint -q "$W/mnt" 2>/dev/null && umount "$W/mnt"
  [[ -e /dev/mapper/$NAME ]] && cryptsetup close "$NAME"
  [[ -n $LOOP ]] && losetup -d "$LOOP" 2>/dev/null
}

mkdir "$W/mnt"
st_random_key "$W/key" "$W/wrong"
truncate -s 48M "$W/disk.img"
mkfs.ext4 -q "$W/disk.img"
LOOP=$(losetup -f --show "$W/disk.img") || skip "no free loop device"

must_fail "$LOOP already holds ext4" "$CTL" store provision --luks2 --device "$LOOP" \
  --key-file "$W/key" --name "$NAME"
[[ $(blkid -p -o value -s TYPE "$LOOP") == ext4 ]] || fail "the refused device was changed"
mount "$LOOP" "$W/mnt"
must_fail "$LOOP is in use (mounted or mapped)" "$CTL" store provision --luks2 --device "$LOOP" \
  --key-file "$W/key" --name "$NAME" --force
umount "$W/mnt"
[[ $(blkid -p -o value -s TYPE "$LOOP") == ext4 ]] || fail "the mounted device was changed"

dm=true
if ! out=$("$CTL" store provision --luks2 --device "$LOOP" --key-file "$W/key" --name "$NAME" \
  --force 2>&1); then
  [[ $out == *"$LOOP is formatted as LUKS2: activating"*device-mapper* ]] || fail "provision: $out"
  dm=false
  echo "note: $out"
else
  [[ $out == *"open as /dev/mapper/$NAME"*"mkfs.ext4 /dev/mapper/$NAME"* ]] || fail "provision: $out"
fi
dump=$(cryptsetup luksDump "$LOOP")
for want in '^Version:\s+2$' '^\s+cipher:\s+aes-xts-plain64$' '^\s+Key:\s+512 bits$' \
  '^\s+PBKDF:\s+argon2id$'; do
  grep -qE -- "$want" <<<"$dump" || fail "luksDump lacks /$want/: $dump"
done
echo "ok: $LOOP is LUKS2, aes-xts-plain64, 512-bit key, argon2id"

must_fail "$LOOP already holds crypto_LUKS" "$CTL" store provision --luks2 --device "$LOOP" \
  --key-file "$W/key" --name "$NAME"
must_fail "wrong key for $LOOP" "$CTL" store unlock --luks2 --device "$LOOP" \
  --key-file "$W/wrong" --name "$NAME"
: >"$W/empty"
must_fail "$W/empty holds no LUKS2 header" "$CTL" store unlock --luks2 --device "$W/empty" \
  --key-file "$W/key" --name "$NAME"
$dm || skip "format, refusal and key checks passed; activation untested: the kernel has no device-mapper"

[[ -b /dev/mapper/$NAME ]] || fail "/dev/mapper/$NAME is missing after provision"
out=$("$CTL" store unlock --luks2 --device "$LOOP" --key-file "$W/key" --name "$NAME")
[[ $out == *"already active as /dev/mapper/$NAME"* ]] || fail "second unlock: $out"
must_fail "wrong key for $LOOP" "$CTL" store unlock --luks2 --device "$LOOP" \
  --key-file "$W/wrong" --name "$NAME"

mkfs.ext4 -q "/dev/mapper/$NAME"
mount "/dev/mapper/$NAME" "$W/mnt"
mkdir "$W/mnt/store"
out=$("$CTL" store status --root "$W/mnt/store") || fail "tenderd's check refuses the store: $out"
[[ $out == *"on dm-crypt device $NAME"* ]] || fail "status: $out"
echo "ok: $out"
MARK="TENDER-PLAINTEXT-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
for i in $(seq 200); do echo "$MARK line $i"; done >"$W/mnt/store/blob"
umount "$W/mnt"
cryptsetup close "$NAME"
n=$(grep -a -c -- "$MARK" "$W/disk.img" || true)
[[ $n -eq 0 ]] || fail "plaintext of the store found in the raw image"
echo "ok: the raw image holds none of the plaintext"

out=$("$CTL" store unlock --luks2 --device "$LOOP" --key-file "$W/key" --name "$NAME")
[[ $out == *"open as /dev/mapper/$NAME"* ]] || fail "unlock after close: $out"
mount "/dev/mapper/$NAME" "$W/mnt"
[[ $(grep -c -- "$MARK" "$W/mnt/store/blob") -eq 200 ]] || fail "content after unlock"
echo "luks2: all checks passed"
