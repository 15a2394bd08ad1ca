# shellcheck shell=bash
# The device test tier's guest (docs/testing.md, "Device tier"): a Debian 12 made from Debian
# packages with debootstrap, tender installed from its .deb, booted by QEMU with the guest's own
# kernel and initrd, systemd as PID 1 on cgroup v2, the store on a LUKS2 partition of a second
# disk, unlocked at boot from a system credential passed as an SMBIOS type 11 string.
# scripts/vm-test sources this file; everything it makes for one run is under $VM_WORK.
#
# Caches (in $VM_CACHE, default /var/cache/tender-vm), each keyed by a hash of its inputs and
# rebuilt when missing:
#   base-KEY/      the debootstrap tree (suite, mirror, package list)
#   image-KEY/     root.img (ext4 made with mkfs.ext4 -d, no loop mount), data.img (GPT, one
#                  LUKS2 partition holding ext4, provisioned by a first boot of the guest),
#                  vmlinuz, initrd.img, store.key (the LUKS2 key), ssh key pair
#                  (key: the base, the .deb files' content, this file and tests/vm/rootfs/)
# A run boots copy-on-write qcow2 overlays of the image, so the cached image stays pristine.

VM_CACHE=${VM_CACHE:-/var/cache/tender-vm}
VM_SUITE=bookworm
VM_MIRROR=${TENDER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
VM_MEM=${VM_MEM:-1024}
VM_PID=
VM_SSH_PORT=

vm_log() { printf '==> %s\n' "$*"; }
vm_die() { printf 'vm-test: %s\n' "$*" >&2; exit 1; }

# The guest's packages beyond minbase: init, kernel, LUKS peer, partitioning, ssh for the host
# to drive it, busybox-static for container roots, and what the checks use.
vm_guest_packages() {
  echo systemd systemd-sysv udev dbus linux-image-amd64 cryptsetup-bin fdisk openssh-server \
    busybox-static jq procps iproute2 kmod e2fsprogs util-linux
}

# vm_accel: tcg, or kvm where the host's KVM boots a standard Debian kernel (VM_ACCEL overrides;
# on the development machines /dev/kvm accepts only specially built guest kernels).
vm_accel() { echo "${VM_ACCEL:-tcg}"; }

# vm_debs DIR: the packages tender and tender-tools scripts/package made in DIR.
vm_debs() { ls "$1"/packages/tender_*.deb "$1"/packages/tender-tools_*.deb; }

# vm_deb_depends DEB...: the package names of their Depends, comma-separated.
vm_deb_depends() {
  local d
  for d in "$@"; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' |
    sed 's/^ *//; s/[ (].*//; /^$/d' | sort -u | paste -sd, -
}

# vm_deb_content DEB...: what identifies the packages' content: control fields and the files'
# bytes, not the archives' own bytes (every scripts/package run stamps new mtimes into them).
vm_deb_content() {
  local d
  for d in "$@"; do
    dpkg-deb -f "$d"
    dpkg-deb --fsys-tarfile "$d" | tar -xO | sha256sum
  done
}

# vm_base DEPENDS: makes (once) the debootstrap tree; prints its path.
vm_base() {
  local deps=$1 pkgs key base
  pkgs="$(vm_guest_packages | tr ' ' ','),$deps"
  key=$(printf '%s\n' "$VM_SUITE" "$VM_MIRROR" "$pkgs" | sha256sum | cut -c1-16)
  base=$VM_CACHE/base-$key
  mkdir -p "$VM_CACHE"
  (
    flock 9
    [[ -f $base/.complete ]] && exit 0
    find "$VM_CACHE" -mindepth 1 -maxdepth 1 -name 'base-*' ! -name "base-$key*" -exec rm -rf {} +
    rm -rf "$base.tmp"
    vm_log "making the guest's Debian tree $base (once, a few minutes)" >&2
    if ! debootstrap --variant=minbase --include="$pkgs" "$VM_SUITE" "$base.tmp" "$VM_MIRROR" \
      >"$base.log" 2>&1; then
      tail -n 5 "$base.log" >&2
      exit 3
    fi
    rm -rf "$base.tmp"/var/cache/apt/archives/*.deb "$base.tmp"/var/lib/apt/lists/*
    touch "$base.tmp/.complete"
    mv "$base.tmp" "$base"
  ) 9>"$VM_CACHE/.lock" || return $?
  echo "$base"
}

# vm_image SRC DEB...: makes (once per input) the guest image; sets VM_IMAGE to its directory.
vm_image() {
  local src=$1 base key img
  shift
  base=$(vm_base "$(vm_deb_depends "$@")") || return $?
  key=$( (echo "$base"; vm_deb_content "$@"; cat "$src/scripts/lib/vm.sh"
    cd "$src/tests/vm/rootfs" && find . -type f -print0 | sort -z | xargs -0 sha256sum) |
    sha256sum | cut -c1-16)
  img=$VM_CACHE/image-$key
  VM_IMAGE=$img
  (
    flock 8
    [[ -f $img/.complete ]] && exit 0
    find "$VM_CACHE" -mindepth 1 -maxdepth 1 -name 'image-*' ! -name "image-$key*" -exec rm -rf {} +
    rm -rf "$img.tmp"
    mkdir -p "$img.tmp"
    vm_log "making the guest image $img" >&2
    vm_make_image "$src" "$base" "$img.tmp" "$@" >"$img.tmp/build.log" 2>&1 ||
      { tail -n 30 "$img.tmp/build.log" >&2; exit 3; }
    touch "$img.tmp/.complete"
    rm -rf "$img"
    mv "$img.tmp" "$img"
  ) 8>"$VM_CACHE/.image-lock"
}

vm_make_image() {
  local src=$1 base=$2 out=$3 d
  shift 3
  local tree=$out/tree
  set -x
  cp -a "$base" "$tree"
  rm -f "$tree/.complete"
  for d in "$@"; do cp "$d" "$tree/tmp/"; done
  chroot "$tree" sh -c 'dpkg -i /tmp/*.deb' </dev/null
  rm -f "$tree"/tmp/*.deb
  cp -a "$src/tests/vm/rootfs/." "$tree/"
  echo tender-vm >"$tree/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 tender-vm\n' >"$tree/etc/hosts"
  mkdir -p "$tree/var/log/journal" "$tree/root/.ssh"
  ssh-keygen -q -t ed25519 -N '' -C tender-vm -f "$out/ssh-key"
  install -m 0600 "$out/ssh-key.pub" "$tree/root/.ssh/authorized_keys"
  chroot "$tree" ssh-keygen -A
  chroot "$tree" systemctl enable systemd-networkd tender-store-unlock.service \
    tender-vm-provision.service
  # Nothing else writes or wakes the guest on its own.
  chroot "$tree" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer \
    fstrim.timer systemd-tmpfiles-clean.timer 2>/dev/null || true
  head -c 64 /dev/urandom >"$out/store.key"
  chmod 0600 "$out/store.key"
  cp "$tree"/boot/vmlinuz-* "$out/vmlinuz"
  cp "$tree"/boot/initrd.img-* "$out/initrd.img"
  # The kernel's modules stay (dm-crypt, virtio); firmware and sound/gpu drivers do not matter.
  local size
  size=$(du -sm "$tree" | cut -f1)
  mkfs.ext4 -q -L tender-root -d "$tree" "$out/root.img" "$((size + 1024))M"
  rm -rf "$tree"
  truncate -s 1G "$out/data.img"
  # First boot: provision the store on the data disk, then power off.
  VM_WORK=$out VM_IMAGE_DIR=$out vm_qemu "$out/root.img" raw "$out/data.img" raw "$out/store.key" \
    "tender.vm.provision" "$out/provision.log" || return 1
  local i
  for ((i = 0; i < 600; i++)); do
    kill -0 "$VM_PID" 2>/dev/null || break
    sleep 1
  done
  if kill -0 "$VM_PID" 2>/dev/null; then kill -KILL "$VM_PID"; vm_die "provisioning boot hung"; fi
  wait "$VM_PID" 2>/dev/null || true
  grep -q 'tender-vm: provisioned' "$out/provision.log" || { tail -n 40 "$out/provision.log"; return 1; }
  set +x
}

# vm_qemu ROOT FMT DATA FMT KEYFILE CMDLINE_EXTRA CONSOLE_LOG: starts QEMU in the background (VM_PID),
# serial console to CONSOLE_LOG, monitor on $VM_WORK/monitor.sock. The disks are virtio with
# cache=writeback: what the guest wrote to its disks is in the host's page cache and survives a
# SIGKILL of QEMU; what the guest kept in its own page cache (see rootfs/etc/sysctl.d) does not.
# User networking, restricted to forwards: the guest's 10.0.2.100:80 is the host's
# 127.0.0.1:$VM_SERVER_PORT (when set), and 127.0.0.1:$VM_SSH_PORT (picked by the host) its ssh.
vm_qemu() {
  local root=$1 rfmt=$2 data=$3 dfmt=$4 key=$5 extra=$6 console=$7 net
  net="user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:0-:22"
  if [[ -n ${VM_SERVER_PORT:-} ]]; then
    net+=",guestfwd=tcp:10.0.2.100:80-cmd:socat - TCP:127.0.0.1:$VM_SERVER_PORT"
  fi
  rm -f "$VM_WORK/monitor.sock"
  qemu-system-x86_64 -accel "$(vm_accel)" -m "$VM_MEM" -smp "${VM_CPUS:-1}" \
    -nodefaults -display none -no-reboot \
    -kernel "$VM_IMAGE_DIR/vmlinuz" -initrd "$VM_IMAGE_DIR/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 systemd.unified_cgroup_hierarchy=1 panic=-1 $extra" \
    -drive "file=$root,format=$rfmt,if=virtio,cache=writeback" \
    -drive "file=$data,format=$dfmt,if=virtio,cache=writeback" \
    -netdev "$net" -device virtio-net-pci,netdev=n0 -device virtio-rng-pci \
    -smbios "type=11,value=io.systemd.credential.binary:tender-store-key=$(base64 -w0 "$key")" \
    -serial "file:$console" -monitor "unix:$VM_WORK/monitor.sock,server,nowait" &
  VM_PID=$!
}

# vm_prepare: copy-on-write overlays of the cached image's disks for this run, in $VM_WORK.
vm_prepare() {
  qemu-img create -q -f qcow2 -F raw -b "$VM_IMAGE/root.img" "$VM_WORK/root.qcow2"
  qemu-img create -q -f qcow2 -F raw -b "$VM_IMAGE/data.img" "$VM_WORK/data.qcow2"
  install -m 0600 "$VM_IMAGE/ssh-key" "$VM_WORK/ssh-key"
  VM_BOOTS=0
}

# vm_boot: boots the run's disks and waits until the guest's ssh answers (up to VM_BOOT_TIMEOUT s).
vm_boot() {
  VM_BOOTS=$((VM_BOOTS + 1))
  VM_CONSOLE=$VM_WORK/console.$VM_BOOTS.log
  VM_IMAGE_DIR=$VM_IMAGE vm_qemu "$VM_WORK/root.qcow2" qcow2 "$VM_WORK/data.qcow2" qcow2 \
    "$VM_IMAGE/store.key" "" "$VM_CONSOLE"
  local i
  VM_SSH_PORT=
  for ((i = 0; i < ${VM_BOOT_TIMEOUT:-300}; i++)); do
    kill -0 "$VM_PID" 2>/dev/null || { tail -n 30 "$VM_CONSOLE" >&2; vm_die "QEMU exited during boot"; }
    if [[ -z $VM_SSH_PORT && -S $VM_WORK/monitor.sock ]]; then
      VM_SSH_PORT=$(echo 'info usernet' | socat -t 2 - "UNIX-CONNECT:$VM_WORK/monitor.sock" 2>/dev/null |
        awk '/HOST_FORWARD/ { print $4; exit }' | tr -d '\r')
    fi
    if [[ -n $VM_SSH_PORT ]] && vm_ssh -o ConnectTimeout=5 true 2>/dev/null; then return 0; fi
    sleep 1
  done
  tail -n 30 "$VM_CONSOLE" >&2
  vm_die "the guest did not answer on ssh within ${VM_BOOT_TIMEOUT:-300} s"
}

# vm_ssh CMD...: runs CMD as root in the guest.
vm_ssh() {
  ssh -q -p "$VM_SSH_PORT" -i "$VM_WORK/ssh-key" -o BatchMode=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ServerAliveInterval=5 \
    -o ServerAliveCountMax=6 root@127.0.0.1 "$@"
}

# vm_copy SRC... DEST: copies host files into the guest (scp).
vm_copy() {
  scp -q -r -P "$VM_SSH_PORT" -i "$VM_WORK/ssh-key" -o BatchMode=yes -o StrictHostKeyChecking=no \
    -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR "${@:1:$#-1}" "root@127.0.0.1:${!#}"
}

# vm_cut: the power cut. SIGKILL to QEMU: no shutdown, no sync, no flush of the guest's caches.
# QEMU's guestfwd commands (a socat per connection, started detached) inherit its disk images'
# file descriptors, and with them the images' locks: whatever still holds a file of this run's
# work dir after QEMU is gone is killed too, or the next boot finds the images locked.
vm_cut() {
  kill -KILL "$VM_PID" 2>/dev/null || true
  wait "$VM_PID" 2>/dev/null || true
  VM_PID=
  local holders
  holders=$(find /proc/[0-9]*/fd -lname "$VM_WORK/*" 2>/dev/null | cut -d/ -f3 | sort -u | tr '\n' ' ') || true
  # shellcheck disable=SC2086
  [[ -z $holders ]] || kill -KILL $holders 2>/dev/null || true
}

# vm_poweroff: a clean shutdown (bounded), else the cut.
vm_poweroff() {
  [[ -n $VM_PID ]] || return 0
  vm_ssh systemctl --no-block poweroff 2>/dev/null || true
  local i
  for ((i = 0; i < 120; i++)); do
    kill -0 "$VM_PID" 2>/dev/null || break
    sleep 1
  done
  vm_cut
}
