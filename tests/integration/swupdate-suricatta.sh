#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# tender-server-mock against a DDI client tender did not write: Debian's swupdate, whose
# suricatta module is a hawkBit client. The test makes a .swu (CPIO newc, sw-description first,
# its CMS signature next, as Debian's swupdate is built for signed images) holding one file for
# swupdate's rawfile handler, serves it as a release (apps/<app>/<version>.swu,
# docs/server-mock.md), and checks that swupdate
#  1. polls, reads the deploymentBase, downloads the .swu, installs the file and reports
#     progress; then, started again with `-c 2` as after the reboot into the new version,
#     closes the action with success;
#  2. takes a cancel: a deployment canceled before swupdate polls is confirmed through
#     cancelAction feedback, closed as canceled, and its .swu never downloaded;
#  3. refuses a .swu whose sw-description was changed after signing, and reports the failure.
# swupdate's IPC sockets go to a TMPDIR of the test's own; it talks to 127.0.0.1 only.
set -euo pipefail

# shellcheck source=../lib/script-test.sh
source "${TENDER_SOURCE_DIR:?TENDER_SOURCE_DIR must be set}/tests/lib/script-test.sh"
st_need swupdate openssl curl jq python3
[[ $(swupdate -h 2>&1 || true) == *--suricatta* ]] || skip "this swupdate is built without suricatta"
st_begin swupdate-suricatta tender-server-mock
DEVICE=swu-$$-$RANDOM
mkdir -p "$WORK/repo/apps/fw" "$WORK/installed" "$WORK/tmp" "$WORK/swu"

# The signing key and its certificate (swupdate -k: the CA; emailProtection is the purpose
# swupdate checks by default).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$WORK/key.pem" -out "$WORK/cert.pem" -days 2 \
  -subj "/CN=tender swupdate test" -addext "extendedKeyUsage=emailProtection" \
  -addext "keyUsage=digitalSignature" >"$WORK/openssl.log" 2>&1

# write_swu DIR OUT: a CPIO "newc" (070701) archive of DIR's sw-description, its signature and
# payload.txt, in that order (the order swupdate reads).
write_swu() {
  python3 - "$1" "$2" sw-description sw-description.sig payload.txt <<'PY'
import os, sys
src, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
def entry(name, data, mode):
    n = name.encode() + b"\0"
    fields = [0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(n), 0]
    h = b"070701" + b"".join(b"%08X" % f for f in fields) + n
    h += b"\0" * (-len(h) % 4)
    return h + data + b"\0" * (-len(data) % 4)
blob = b"".join(entry(nm, open(os.path.join(src, nm), "rb").read(), 0o100644) for nm in names)
blob += entry("TRAILER!!!", b"", 0)
open(out, "wb").write(blob)
PY
}

# make_swu VERSION: apps/fw/VERSION.swu installing payload.txt ("firmware VERSION") to
# $WORK/installed/payload.txt.
make_swu() {
  local v=$1 d=$WORK/swu/$1
  mkdir -p "$d"
  echo "firmware $v" >"$d/payload.txt"
  cat >"$d/sw-description" <<EOF
software =
{
	version = "$v";
	description = "tender-server-mock interoperability test";
	hardware-compatibility: [ "1.0" ];
	files: (
		{
			filename = "payload.txt";
			path = "$WORK/installed/payload.txt";
			sha256 = "$(sha256sum <"$d/payload.txt" | cut -d' ' -f1)";
		}
	);
}
EOF
  openssl cms -sign -in "$d/sw-description" -out "$d/sw-description.sig" -signer "$WORK/cert.pem" \
    -inkey "$WORK/key.pem" -outform DER -nosmimecap -binary
  write_swu "$d" "$WORK/repo/apps/fw/$v.swu"
}
make_swu 1.0.0
make_swu 2.0.0
# 3.0.0: its sw-description changed after signing (installs elsewhere): the signature fails.
make_swu 3.0.0
sed -i "s|$WORK/installed/payload.txt|$WORK/installed/evil.txt|" "$WORK/swu/3.0.0/sw-description"
write_swu "$WORK/swu/3.0.0" "$WORK/repo/apps/fw/3.0.0.swu"

st_start_mock main --listen 127.0.0.1:0 --repo "$WORK/repo" --poll-sleep 00:00:01
MOCK=$URL

SW_PID=
# start_swupdate [SURICATTA ARGS...]: swupdate polling the mock every second as $DEVICE.
start_swupdate() {
  TMPDIR=$WORK/tmp swupdate -v -k "$WORK/cert.pem" -H board:1.0 -m -M \
    -u "-t DEFAULT -u $MOCK -i $DEVICE -p 1 $*" >>"$WORK/swupdate.log" 2>&1 &
  SW_PID=$!
  PIDS+=("$SW_PID")
}
stop_swupdate() {
  kill -TERM "$SW_PID" 2>/dev/null || true
  wait "$SW_PID" 2>/dev/null || true
}
deploy() {
  curl -fsS -X POST -H 'Content-Type: application/json' \
    -d "{\"target\":\"$DEVICE\",\"app\":\"fw\",\"version\":\"$1\"}" "$MOCK/mock/deployments" | jq -r .actionId
}
action() { curl -fsS "$MOCK/mock/actions/$1"; }
# wait_for CMD...: up to 60 s until CMD succeeds.
wait_for() {
  local i
  for ((i = 0; i < 600; i++)); do "$@" && return 0; sleep 0.1; done
  return 1
}
installed() { [[ $(cat "$WORK/installed/payload.txt" 2>/dev/null) == "firmware $1" ]]; }
details_have() { action "$1" | jq -e --arg t "$2" '[.feedback[].status.details // [] | .[]] | any(contains($t))' >/dev/null; }
closed() { [[ $(action "$1" | jq -r .status) == closed ]]; }

# 1. A deployment: polled, downloaded, installed, reported.
id=$(deploy 1.0.0)
start_swupdate
check "swupdate installs the .swu's file" wait_for installed 1.0.0
check "swupdate reports the installation" wait_for details_have "$id" "All Chunks Installed"
check "the .swu was downloaded from the mock" \
  ge "$(curl -fsS "$MOCK/mock/stats" | jq -r '.files["apps/fw/1.0.0.swu"].requests // 0')" 1
check "swupdate sent configData (the mock recorded the target)" \
  eq "$(curl -fsS "$MOCK/mock/targets" | jq -r --arg d "$DEVICE" '[.[] | select(.controllerId == $d)] | length')" 1
check "every feedback passed the mock's strict check, the action stays open until confirmed" \
  eq "$(action "$id" | jq -r .status)" open
stop_swupdate
# After the "reboot": swupdate -c 2 reports the update as successful.
start_swupdate -c 2
check "swupdate -c 2 closes the action" wait_for closed "$id"
check "with success" eq "$(action "$id" | jq -r '.result + " " + .actionStatus')" "success FINISHED"
stop_swupdate

# 2. A cancel: the deployment is canceled before swupdate polls again.
id=$(deploy 2.0.0)
check "cancel requested" eq "$(curl -fsS -X POST "$MOCK/mock/actions/$id/cancel" | jq -r .cancel)" requested
start_swupdate
check "swupdate confirms the cancel" wait_for closed "$id"
check "the action is canceled" eq "$(action "$id" | jq -r '.actionStatus + " " + .cancel')" "CANCELED confirmed"
check "through cancelAction feedback" ge "$(action "$id" | jq -r '.cancelFeedback | length')" 1
check "the canceled .swu was never downloaded" \
  eq "$(curl -fsS "$MOCK/mock/stats" | jq -r '.files["apps/fw/2.0.0.swu"].requests // 0')" 0
check "the installed file is still 1.0.0's" installed 1.0.0

# 3. A .swu whose sw-description does not match its signature: refused, reported as failure.
id=$(deploy 3.0.0)
check "swupdate closes the tampered deployment" wait_for closed "$id"
check "as a failure" eq "$(action "$id" | jq -r '.result + " " + .actionStatus')" "failure ERROR"
check "nothing installed from it" test ! -e "$WORK/installed/evil.txt"
check "the installed file is still 1.0.0's (after the tampered one)" installed 1.0.0
stop_swupdate

if ((failures > 0)); then
  echo "---- swupdate.log"; tail -n 40 "$WORK/swupdate.log"
  echo "---- main.log"; tail -n 20 "$WORK/main.log"
fi
st_end
