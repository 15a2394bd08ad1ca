# shellcheck shell=bash
# The assertions every script test shares (sourced by tests/lib/script-test.sh and
# tests/lib/scenario-test.sh). check counts a failed command in `failures` and goes on; eq,
# contains, lacks, le, ge and fails_with are commands for it. fail and must_fail end the test at
# once, skip ends it as skipped (77). fails_with and must_fail leave the command's stderr in
# STDERR.

skip() {
  echo "skip: $*"
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
eq() { [[ "$1" == "$2" ]] || { echo "     got '$1', expected '$2'" >&2; return 1; }; }
contains() { [[ "$1" == *"$2"* ]] || { echo "     '$1' lacks '$2'" >&2; return 1; }; }
lacks() { [[ "$1" != *"$2"* ]] || { echo "     '$1' has '$2'" >&2; return 1; }; }
le() { (( $1 <= $2 )) || { echo "     $1 > $2" >&2; return 1; }; }
ge() { (( $1 >= $2 )) || { echo "     $1 < $2" >&2; return 1; }; }

# fails_with TEXT CMD...: CMD exits 1 and its stderr contains TEXT.
fails_with() {
  local text=$1 rc=0
  shift
  STDERR=$("$@" 2>&1 >/dev/null) || rc=$?
  [[ $rc == 1 ]] || { echo "     exit $rc, expected 1; stderr: $STDERR" >&2; return 1; }
  [[ $STDERR == *"$text"* ]] || { echo "     stderr: $STDERR" >&2; return 1; }
}

# must_fail PATTERN CMD...: CMD fails (any status) and its stderr contains PATTERN, else the
# test fails.
must_fail() {
  local pattern=$1
  shift
  if STDERR=$("$@" 2>&1 >/dev/null); then
    fail "succeeded but should not: $*"
  fi
  [[ $STDERR == *"$pattern"* ]] || fail "error of '$*' lacks '$pattern': $STDERR"
  echo "refused as expected: ${STDERR##*$'\n'}"
}
