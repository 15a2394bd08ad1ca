#!/usr/bin/env bash
# tenderd's health gate against real containers, with the outcome checked on server-mock:
# an HTTP probe that passes (committed), an app that never gets ready (nothing listens), a probe
# that hangs (the port accepts and never answers), an app that dies during the window, and a TCP
# probe that passes. Every failure must roll back to the release before, whose own probe must
# pass again.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
scn_test_begin
SCN_TEST_LEFTOVERS_OK='^cgroup /sys/fs/cgroup/[^ ]*/tender$'
# The list is read whole first: grep -q stopping early would SIGPIPE busybox, and pipefail
# would then call a present applet missing.
applets=$(/bin/busybox --list)
for applet in httpd nc; do
  grep -qx $applet <<<"$applets" || { echo "skip: busybox has no $applet"; exit 77; }
done

scn_init
scn_build_images 1 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }

n=0
# release SCRIPT [publish options...]: hello <n>.0.0 running `sh -c SCRIPT`; prints the version.
release() {
  local script=$1; shift
  n=$((n + 1))
  "$TENDER_BIN/tender-publish" release --layout "$SCN_WORK/oci" --ref v1 --app hello \
    --version "$n.0.0" --counter "$n" --repo "$SCN_WORK/repo" \
    --stop-timeout 2 --arg /bin/sh --arg -c --arg "$script" "$@" >>"$SCN_WORK/logs/publish.log" ||
    scn_die "publish failed: $(tail -n 3 "$SCN_WORK/logs/publish.log")"
  scn_tuf_add "$n.0.0" || scn_die "tuf-add $n.0.0 failed"
}
# httpd runs beside a shell that ends at once on SIGTERM: as the container's pid 1 itself, it would
# ignore SIGTERM and hold every swap for the whole stop timeout.
serve="mkdir -p /tmp/www && echo ok >/tmp/www/healthz && trap 'exit 0' TERM &&
  { /bin/busybox httpd -f -p 8080 -h /tmp/www & wait; }"
probe=(--health-window 2 --health-interval 1 --health-timeout 1 --health-retries 2)

release "$serve" "${probe[@]}" --health-http 8080/healthz                       # 1: good
release "trap 'exit 0' TERM; sleep 1000 & wait" "${probe[@]}" --health-http 8080/healthz # 2: never ready
# 3: a CGI that never answers: the port accepts, the probe hangs.
release 'mkdir -p /tmp/www/cgi-bin && printf "#!/bin/sh\nsleep 1000\n" >/tmp/www/cgi-bin/slow &&
  chmod 0755 /tmp/www/cgi-bin/slow && exec /bin/busybox httpd -f -p 8080 -h /tmp/www' \
  "${probe[@]}" --health-http 8080/cgi-bin/slow
# 4: dies after 1 s. Its probe may fail too as httpd starts and as the app's exit takes httpd
# along; with retries 5 over a 4 s window only the exit can end the gate, whatever the load.
release "$serve & sleep 1; exit 3" --health-window 4 --health-interval 1 --health-timeout 1 \
  --health-retries 5 --health-http 8080/healthz
release "$serve" "${probe[@]}" --health-tcp 8080 --health-start-period 1         # 5: good (tcp)
release "$serve" "${probe[@]}" --health-http 8080/missing                        # 6: HTTP 404

mkdir -p "$SCN_WORK/repo"
scn_start_server
scn_write_config
scn_start_agent

deploy() { # deploy VERSION EXPECT
  local id
  id=$(scn_deploy "$1")
  check "$1: $2" eq "$(scn_wait_action "$id" 60)" "$2"
  details=$(scn_action_details "$id")
}

deploy 1.0.0 success
check "1.0.0: details say healthy" contains "$details" "running and healthy"
check "1.0.0: is current" eq "$(scn_current_version)" 1.0.0

deploy 2.0.0 failure
check "never ready: the probe's refusal is reported" contains "$details" "connect to port 8080"
check "never ready: rolled back to 1.0.0" contains "$details" "rolled back to 1.0.0"
check "never ready: 1.0.0 current" eq "$(scn_current_version)" 1.0.0

deploy 3.0.0 failure
check "hanging probe: reported as a timeout" contains "$details" "no answer within 1000 ms"
check "hanging probe: rolled back to 1.0.0" contains "$details" "rolled back to 1.0.0"

deploy 4.0.0 failure
check "dies in the window: exit status reported" contains "$details" "exited with status 3"
check "dies in the window: rolled back" contains "$details" "rolled back to 1.0.0"

deploy 5.0.0 success
check "tcp probe: 5.0.0 current" eq "$(scn_current_version)" 5.0.0

deploy 6.0.0 failure
check "HTTP 404: status reported" contains "$details" "HTTP 404"
check "HTTP 404: rolled back to 5.0.0 (its probe passes again)" contains "$details" "rolled back to 5.0.0"
check "only one container runs" eq "$(scn_containers | grep -c ' running$')" 1
check "bad releases marked" test -e "$SCN_WORK/store/apps/hello/bad/2.0.0" -a -e "$SCN_WORK/store/apps/hello/bad/6.0.0"

# Restart policy: the committed app dies; tenderd starts it again between polls.
pid_of() { scn_runtime state "$1" 2>/dev/null | sed -n 's/.*"status":"running".*"pid":\([0-9]*\).*/\1/p; s/.*"pid":\([0-9]*\).*"status":"running".*/\1/p' | head -n 1; }
old=$(pid_of hello-5_0_0)
scn_runtime kill hello-5_0_0 KILL
for ((i = 0; i < 300; i++)); do
  new=$(pid_of hello-5_0_0)
  [[ -n $new && $new != "$old" ]] && break
  sleep 0.1
done
check "restart policy: a killed app runs again" test -n "$new" -a "$new" != "$old"

scn_stop_agent
scn_test_end
