# shellcheck shell=bash
# The frame the scenario tests share (tests/e2e/*.sh, tests/integration/agent-health*.sh).
# After `set -uo pipefail`, a test sources this file and calls `scn_test_begin [TOOL...]`, which
# - skips (exit 77) without root, busybox-static, umoci, curl, jq, python3 or one of the TOOLs;
# - sources scripts/lib/scenario.sh (TENDER_BIN is the build's bin dir);
# - installs an exit trap: when a check or the script failed, it shows the tail of tenderd's and
#   server-mock's logs (and of the files the test lists in SCN_TEST_LOGS); it runs the test's
#   own scn_test_cleanup when the test defines one, cleans the scenario up and fails when
#   anything is left behind (SCN_TEST_LEFTOVERS_OK: an extended regex of leftovers to accept);
#   with TENDER_TEST_KEEP_LOGS=DIR, the scenario's logs are copied to DIR first.
# The assertions are tests/lib/checks.sh's; scn_test_end prints the summary and gives the exit
# status.

scn_test_begin() {
  [[ $(id -u) -eq 0 ]] || { echo "skip: needs root (namespaces, mounts, cgroups)"; exit 77; }
  local tool
  for tool in umoci curl jq python3 "$@"; do
    command -v "$tool" >/dev/null || { echo "skip: $tool not installed (scripts/install-deps)"; exit 77; }
  done
  [[ -x /bin/busybox ]] || { echo "skip: busybox-static not installed"; exit 77; }
  TENDER_BIN=${TENDER_BUILD_DIR:?}/bin # scenario.sh runs the binaries from there
  export TENDER_BIN
  # shellcheck source=../../scripts/lib/scenario.sh
  source "${TENDER_SOURCE_DIR:?}/scripts/lib/scenario.sh"
  failures=0
  trap scn_test_on_exit EXIT
}

# shellcheck source=checks.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/checks.sh"

scn_test_on_exit() {
  local rc=$? work=$SCN_WORK left f
  if ((failures)) || ((rc)); then
    for f in tenderd.log server.log ${SCN_TEST_LOGS:-}; do
      echo "---- $f"; tail -n 60 "$SCN_WORK/logs/$f" 2>/dev/null
    done
  fi
  # For a look at the timeline afterwards (where a test spends its time).
  [[ -n ${TENDER_TEST_KEEP_LOGS:-} ]] && cp -r "$SCN_WORK/logs" "$TENDER_TEST_KEEP_LOGS"
  if declare -F scn_test_cleanup >/dev/null; then scn_test_cleanup; fi
  scn_cleanup
  left=$(scn_leftovers "$work")
  if [[ -n ${SCN_TEST_LEFTOVERS_OK:-} ]]; then
    left=$(grep -Ev "$SCN_TEST_LEFTOVERS_OK" <<<"$left" || true)
  fi
  [[ -z $left ]] || { echo "FAIL left behind:"; echo "$left"; exit 1; }
  ((failures == 0)) || exit 1
}

scn_test_end() {
  if ((failures)); then
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}
