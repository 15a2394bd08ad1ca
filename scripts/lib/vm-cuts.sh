# shellcheck shell=bash
# Power cuts for scripts/vm-test (docs/testing.md, "Device tier"): QEMU is killed with SIGKILL
# at a random point of an update or a rollback (and of the GC each of them ends with), the guest
# is booted again, tenderd finishes or undoes what was in flight, and tests/vm/guest/invariants.sh
# checks the store. The guest's page cache dies with QEMU: with the guest's writeback off
# (tests/vm/rootfs/etc/sysctl.d) and the store mounted commit=600,noauto_da_alloc
# (tests/vm/rootfs/etc/fstab), only what tender fsynced survives.
# Needs vm-test's state: scenario (SCN_*), the guest booted (vm_boot), versions published up to
# VM_CUT_TOP, hello at VM_CUT_VERSION.

# vm_power_cuts N SEED
vm_power_cuts() {
  local n=$1 seed=$2 i op delay id result cur inv rc phase synced= table=$VM_WORK/cuts.txt
  RANDOM=$seed
  # What the checks copied into the guest is on its root file system only once synced.
  g sync
  synced=$(g 'h=/var/lib/tender/store/apps/hello/volumes/data/history; echo "$(stat -c %s $h) $(sha256sum <$h | cut -c1-64)"')
  echo "power cuts: $n, seed $seed (scripts/vm-test --seed $seed repeats them)"
  printf '%-4s %-9s %-8s %-25s %-9s %-9s %s\n' cut op "at (s)" "phase (server's view)" reported current invariants >"$table"
  for ((i = 1; i <= n; i++)); do
    # Two thirds updates, one third rollbacks (when there is a previous release).
    op=update
    if ((RANDOM % 3 == 0)) && g test -L /var/lib/tender/store/apps/hello/previous; then op=rollback; fi
    # Within the time an update took in the checks before (VM_CUT_WINDOW_DS, tenths of a s).
    delay=$((RANDOM % ${VM_CUT_WINDOW_DS:-200}))
    id=
    if [[ $op == update ]]; then
      VM_CUT_VERSION=$((VM_CUT_VERSION + 1))
      id=$(scn_deploy "$VM_CUT_VERSION.0.0")
    else
      g 'tenderctl rollback hello >/dev/null 2>&1 &'
    fi
    sleep "$((delay / 10)).$((delay % 10))"
    # Where the update was as the server last heard (its action's last feedback).
    phase=-
    [[ -n $id ]] && phase=$(curl -fsS "$SCN_URL/mock/actions/$id" | jq -r '
      if .status == "closed" then "closed" else
        ((.feedback[-1].status.details // [])[-1] // "queued") | split(" ")[0:3] | join("_") end' |
      cut -c1-24)
    vm_cut
    vm_boot
    result=-
    if [[ -n $id ]]; then result=$(scn_wait_action "$id" 900); fi
    vm_settle
    inv=$(g /root/vm-guest/invariants.sh 2>&1) && rc=0 || rc=$?
    cur=$(sed -n 's/^current=//p' <<<"$inv")
    # The app's volume file as synced before this cut is still there, byte for byte (the app
    # appends to it at each start, without fsync: what came after the sync may be lost).
    if [[ -n $synced ]] && ! g "head -c ${synced%% *} /var/lib/tender/store/apps/hello/volumes/data/history | sha256sum" |
      grep -q "^${synced#* } "; then
      rc=$((rc + 1))
      inv+=$'\nFAIL the volume lost data synced before the cut (its first '"${synced%% *}"' bytes changed)'
    fi
    if [[ $op == update ]]; then
      case $result in
        success) [[ $cur == "$VM_CUT_VERSION.0.0" ]] || { rc=$((rc + 1)); inv+=$'\nFAIL reported success, current is '"$cur"; } ;;
        failure) [[ $cur != "$VM_CUT_VERSION.0.0" ]] || { rc=$((rc + 1)); inv+=$'\nFAIL reported failure, current is the new version'; } ;;
        *) rc=$((rc + 1)); inv+=$'\nFAIL the outcome never reached the server ('"$result"')' ;;
      esac
    fi
    printf '%-4s %-9s %-8s %-25s %-9s %-9s %s\n' "$i" "$op" "$((delay / 10)).$((delay % 10))" \
      "$phase" "$result" "$cur" "$([[ $rc == 0 ]] && echo ok || echo "FAIL ($rc)")" >>"$table"
    tail -n 1 "$table"
    if [[ $rc != 0 ]]; then
      grep FAIL <<<"$inv" | sed 's/^/     /'
      failures=$((failures + 1))
      # A broken store stays broken: the next cuts would only repeat it.
      break
    fi
    g sync
    synced=$(g 'h=/var/lib/tender/store/apps/hello/volumes/data/history; echo "$(stat -c %s $h) $(sha256sum <$h | cut -c1-64)"')
  done
  echo
  cat "$table"
}

# vm_settle: waits until tenderd has no update in flight (no pin) and hello runs (bounded).
vm_settle() {
  local i
  for ((i = 0; i < 300; i++)); do
    if g 'test -z "$(ls /var/lib/tender/store/state/pins 2>/dev/null)" &&
          tender-runtime --root /run/tender/runtime list --quiet | grep -q "^hello-"'; then
      return 0
    fi
    sleep 1
  done
}
