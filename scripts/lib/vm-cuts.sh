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
  local n=$1 seed=$2 i op delay id result cur inv rc table=$VM_WORK/cuts.txt
  RANDOM=$seed
  echo "power cuts: $n, seed $seed (scripts/vm-test --seed $seed repeats them)"
  printf '%-4s %-9s %-8s %-7s %-9s %-9s %s\n' cut op "at (s)" boots reported current invariants >"$table"
  for ((i = 1; i <= n; i++)); do
    # Two thirds updates, one third rollbacks (when there is a previous release).
    op=update
    if ((RANDOM % 3 == 0)) && g test -L /var/lib/tender/store/apps/hello/previous; then op=rollback; fi
    delay=$((RANDOM % ${VM_CUT_WINDOW_DS:-200}))
    id=
    if [[ $op == update ]]; then
      VM_CUT_VERSION=$((VM_CUT_VERSION + 1))
      id=$(scn_deploy "$VM_CUT_VERSION.0.0")
    else
      g 'tenderctl rollback hello >/dev/null 2>&1 &'
    fi
    sleep "$((delay / 10)).$((delay % 10))"
    vm_cut
    vm_boot
    result=-
    if [[ -n $id ]]; then result=$(scn_wait_action "$id" 900); fi
    vm_settle
    inv=$(g /root/vm-guest/invariants.sh 2>&1) && rc=0 || rc=$?
    cur=$(sed -n 's/^current=//p' <<<"$inv")
    if [[ $op == update ]]; then
      case $result in
        success) [[ $cur == "$VM_CUT_VERSION.0.0" ]] || { rc=$((rc + 1)); inv+=$'\nFAIL reported success, current is '"$cur"; } ;;
        failure) [[ $cur != "$VM_CUT_VERSION.0.0" ]] || { rc=$((rc + 1)); inv+=$'\nFAIL reported failure, current is the new version'; } ;;
        *) rc=$((rc + 1)); inv+=$'\nFAIL the outcome never reached the server ('"$result"')' ;;
      esac
    fi
    printf '%-4s %-9s %-8s %-7s %-9s %-9s %s\n' "$i" "$op" "$((delay / 10)).$((delay % 10))" \
      "$VM_BOOTS" "$result" "$cur" "$([[ $rc == 0 ]] && echo ok || echo "FAIL ($rc)")" >>"$table"
    tail -n 1 "$table"
    if [[ $rc != 0 ]]; then
      grep FAIL <<<"$inv" | sed 's/^/     /'
      failures=$((failures + 1))
      # A broken store stays broken: the next cuts would only repeat it.
      break
    fi
    g sync
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
