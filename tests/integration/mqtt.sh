#!/usr/bin/env bash
# tenderd's MQTT reporting (docs/mqtt.md) against Debian's mosquitto on 127.0.0.1, over TLS with
# a test CA and a client certificate, watched by mosquitto_sub. Every payload seen is validated
# against tests/integration/mqtt/*.schema.json.
# 1. Status, events and availability arrive as documented; an update's states arrive in order;
#    the status has each app's cgroup figures, and `tenderctl status --json` carries it;
#    /healthz and /metrics (promtool check metrics) on 127.0.0.1; the same versions and health
#    as configData attributes on server-mock, sent again only when they change.
# 2. Broker stopped during an update (held at its swap by an app lock), started again: every
#    event arrives, in order, none lost.
# 3. tenderd killed (SIGKILL) with events queued: published after its restart; the last will
#    says it went offline.
# 4. Queue full (mqtt.queueMaxEvents 3): the oldest dropped, the drop counted in the status.
# 5. Bad TLS (a CA that did not sign the broker): a clear error in the log, updates carry on.
# 6. The same with the broker showing an expired certificate.
# 7. libmosquitto and libmicrohttpd missing (covered in tenderd's mount namespace): tenderd, which
#    loads them only when configured, names each library and its key, and updates carry on.
# Between 2 and 3, commands (check, rollback, an unknown one) are answered on command/result.
set -uo pipefail

# shellcheck source=../lib/scenario-test.sh
source "${TENDER_SOURCE_DIR:?}/tests/lib/scenario-test.sh"
python3 -c 'import jsonschema' 2>/dev/null || skip "python3-jsonschema not installed (scripts/install-deps)"
scn_test_begin mosquitto mosquitto_sub openssl promtool
SCN_TEST_LOGS="mosquitto.log sub.log"
check_py=$TENDER_SOURCE_DIR/tests/integration/mqtt/check.py

scn_init
scn_build_images 1 2 3 4 5 6 7 >"$SCN_WORK/logs/images.log" 2>&1 || { cat "$SCN_WORK/logs/images.log"; exit 1; }
# 3.0.0 exits 1 s after it starts: its window (the default 3 s) must outlast that for the
# rollback to follow. Release counters rise, so the three calls go in this order.
SCN_HEALTH_WINDOW=1 scn_publish 1 2 >/dev/null || exit 1
scn_publish 3 >/dev/null || exit 1
SCN_HEALTH_WINDOW=1 scn_publish 4 5 6 7 >/dev/null || exit 1
scn_start_server
scn_write_config

# A test CA, the broker's certificate for 127.0.0.1, the device's client certificate, and a
# second CA that signed nothing the broker shows.
pki=$SCN_WORK/pki
mkdir -p "$pki"
make_ca() { # make_ca NAME
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=tender test $1" -keyout "$pki/$1.key" -out "$pki/$1.crt" 2>/dev/null
}
make_cert() { # make_cert NAME CN [SAN]
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
    -keyout "$pki/$1.key" -out "$pki/$1.csr" 2>/dev/null &&
    openssl x509 -req -in "$pki/$1.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
      -days 2 ${3:+-extfile <(printf 'subjectAltName=%s\n' "$3")} -out "$pki/$1.crt" 2>/dev/null
}
make_ca ca && make_ca other && make_cert broker 127.0.0.1 IP:127.0.0.1 &&
  make_cert device "$SCN_TARGET" && make_cert watcher watcher || fail "openssl could not make the test PKI"
# The broker's key again, in a certificate that expired in 2020 (openssl x509 cannot backdate).
python3 - "$pki" <<'PY' || fail "could not make the expired certificate"
import datetime, ipaddress, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import NameOID
pki = sys.argv[1]
load = lambda n: open(f"{pki}/{n}", "rb").read()
ca = x509.load_pem_x509_certificate(load("ca.crt"))
ca_key = serialization.load_pem_private_key(load("ca.key"), None)
key = serialization.load_pem_private_key(load("broker.key"), None)
cert = (x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime(2020, 1, 1))
        .not_valid_after(datetime.datetime(2020, 1, 2))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(ca_key, hashes.SHA256()))
open(f"{pki}/broker-expired.crt", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
PY

# mosquitto cannot listen on port 0 and tell: a port the kernel just gave out and freed.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$SCN_WORK/broker"
cat >"$SCN_WORK/mosquitto.conf" <<EOF2
user root
listener $port 127.0.0.1
cafile $pki/ca.crt
certfile $pki/broker.crt
keyfile $pki/broker.key
require_certificate true
allow_anonymous true
persistence true
persistence_location $SCN_WORK/broker/
log_dest stderr
log_type error
log_type warning
log_type notice
EOF2
broker_pid=
broker_start() {
  mosquitto -c "$SCN_WORK/mosquitto.conf" >>"$SCN_WORK/logs/mosquitto.log" 2>&1 &
  broker_pid=$!
  local i
  for ((i = 0; i < 100; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  fail "mosquitto did not start: $(tail -n 5 "$SCN_WORK/logs/mosquitto.log")"
}
broker_stop() { kill -TERM "$broker_pid" 2>/dev/null; wait "$broker_pid" 2>/dev/null; broker_pid=; }

# The watcher: a persistent session (QoS 1), so that what the broker gets while it is away is
# kept for it, and it reconnects by itself when the broker comes back.
sub_log=$SCN_WORK/logs/sub.log
sub_pid=
sub_start() {
  mosquitto_sub -h 127.0.0.1 -p "$port" --cafile "$pki/ca.crt" --cert "$pki/watcher.crt" \
    --key "$pki/watcher.key" -i "watcher-${SCN_WORK##*/}" -c -q 1 -v \
    -t "tender/$SCN_TARGET/#" >>"$sub_log" 2>>"$SCN_WORK/logs/sub.err" &
  sub_pid=$!
}
scn_test_cleanup() {
  [[ -n $sub_pid ]] && kill "$sub_pid" 2>/dev/null && wait "$sub_pid" 2>/dev/null
  [[ -n $broker_pid ]] && broker_stop
  return 0
}

# mqtt_config [EXTRA_JSON]: the scenario's agent.json with an mqtt block.
mqtt_config() {
  local ca=${MQTT_CA:-$pki/ca.crt}
  python3 - "$SCN_WORK/agent.json" "$port" "$ca" "$pki" "${1:-{\}}" <<'PY'
import json, sys
path, port, ca, pki, extra = sys.argv[1:]
c = json.load(open(path))
c["mqtt"] = {"host": "127.0.0.1", "port": int(port), "caFile": ca,
             "clientCert": pki + "/device.crt", "clientKey": pki + "/device.key",
             "keepaliveSeconds": 5, "statusIntervalSeconds": 1, "commands": True,
             **json.loads(extra)}
c["monitor"] = {"port": 0}
json.dump(c, open(path, "w"))
PY
}
wait_for() { # wait_for COMMAND...: up to 60 s
  local i
  for ((i = 0; i < 600; i++)); do "$@" && return 0; sleep 0.1; done
  return 1
}
events() { python3 "$check_py" events "$sub_log" "$@"; }
in_order() { events "$@" >/dev/null; } # in_order [FROM]
has_event() { python3 "$check_py" list "$sub_log" 2>/dev/null | grep -q -- "$1"; }
last() { python3 "$check_py" last "$sub_log" "$@" 2>/dev/null; }
queued() { find "$SCN_WORK/store/mqtt/queue" -type f -name '[0-9]*' | wc -l; }
deploy() { # deploy VERSION RESULT
  local id
  id=$(scn_deploy "$1")
  check "$1: deployment ends in $2" eq "$(scn_wait_action "$id" 120)" "$2"
}

# 1. Documented payloads, in order.
broker_start
sub_start
mqtt_config
scn_start_agent
check "online announced" wait_for eval '[[ $(last availability "p[\"online\"]") == True ]]'
deploy 1.0.0 success
check "1.0.0: outcome event" wait_for has_event "outcome hello 1.0.0 committed True"
states=$(events | awk '$2 == "state" && $4 == "1.0.0" { printf "%s ", $5 }')
check "1.0.0: states in order" eq "$states" \
  "queued verifying downloading staging swapping testing committed "
check "1.0.0: download progress as events" wait_for has_event "progress hello 1.0.0"
check "status: 1.0.0 runs, healthy" wait_for eval \
  '[[ $(last status "[(a[\"name\"], a[\"version\"], a[\"healthy\"]) for a in p[\"apps\"]]") == "[('"'hello', '1.0.0', True)]"'" ]]'
check "status: store use" test "$(last status 'p["store"]["usedBytes"] > 0')" = True
res=$(last status '[(a["resources"]["memoryBytes"] > 0, a["resources"]["pids"] >= 2) for a in p["apps"]]')
check "status: the app's memory and pids from its cgroup" eq "$res" "[(True, True)]"
"$TENDER_BIN/tenderctl" --config "$SCN_WORK/agent.json" status --json >"$SCN_WORK/ctl.json" 2>&1
check "tenderctl status --json: the status document" eq \
  "$(python3 "$check_py" device "$SCN_WORK/ctl.json")" "[('hello', '1.0.0', True)]"
mon=$(sed -n 's|.*Monitor: serving /healthz and /metrics on \(http://127.0.0.1:[0-9]*\)$|\1|p' \
  "$SCN_WORK/logs/tenderd.log" | tail -n 1)
check "/healthz: ok" eq "$(curl -sS "$mon/healthz")" ok
curl -sS -o "$SCN_WORK/metrics.txt" "$mon/metrics"
check "/metrics: promtool accepts it" promtool check metrics <"$SCN_WORK/metrics.txt"
check "/metrics: the app's version" grep -qx 'tender_app_info{app="hello",version="1.0.0"} 1' "$SCN_WORK/metrics.txt"
check "/metrics: the app's memory" grep -q '^tender_app_memory_bytes{app="hello"} [1-9]' "$SCN_WORK/metrics.txt"
check "/other: 404" eq "$(curl -s -o /dev/null -w '%{http_code}' "$mon/other")" 404
# The same health and versions as configData attributes, PUT on change only: the status goes
# out every second (statusIntervalSeconds 1), the attributes do not.
target() { curl -fsS "$SCN_URL/mock/targets" | jq -r --arg id "$SCN_TARGET" ".[] | select(.controllerId == \$id) | $1"; }
check "configData: 1.0.0, healthy" wait_for eval \
  '[[ $(target '"'"'.configData["app.hello.version"] + " " + .configData["app.hello.health"]'"'"') == "1.0.0 healthy" ]]'
puts=$(target .configDataPuts)
statuses() { grep -c "^tender/$SCN_TARGET/status " "$sub_log"; }
n=$(statuses)
check "status: published again at the telemetry interval" wait_for eval '(( $(statuses) >= n + 3 ))'
check "configData: not sent again while nothing changed" eq "$(target .configDataPuts)" "$puts"

# 2. The broker goes away during an update and comes back. The app's lock holds the update at
# its swap (the deferred note reaches the broker), the broker stops, the lock goes, the update
# ends while the broker is away.
ctl() { "$TENDER_BIN/tenderctl" --config "$SCN_WORK/agent.json" "$@"; }
ctl lock hello --reason "mqtt test" >/dev/null
id2=$(scn_deploy 2.0.0)
check "2.0.0: deferred at the swap, the note at the broker" wait_for has_event "note hello 2.0.0"
broker_stop
ctl unlock hello >/dev/null
check "2.0.0: deployment ends in success" eq "$(scn_wait_action "$id2" 120)" success
check "2.0.0: events wait in the store" test "$(queued)" -gt 0
broker_start
check "2.0.0: outcome event after the broker's return" wait_for has_event "outcome hello 2.0.0 committed True"
check "2.0.0: every event since the first, in order" in_order
states=$(events | awk '$2 == "state" && $4 == "2.0.0" { printf "%s ", $5 }')
# Held at the swap, then run again from the start when the lock went (docs/agent.md).
check "2.0.0: states in order" eq "$states" \
  "queued verifying downloading staging queued verifying downloading staging swapping testing committed "
check "2.0.0: queue emptied" wait_for test "$(queued)" -eq 0

# Commands (mqtt.commands): each logged and answered.
command() { # command JSON
  mosquitto_pub -h 127.0.0.1 -p "$port" --cafile "$pki/ca.crt" --cert "$pki/watcher.crt" \
    --key "$pki/watcher.key" -q 1 -t "tender/$SCN_TARGET/command" -m "$1"
}
answered() { [[ $(last result '(p["id"], p["ok"])') == "$1" ]]; }
command '{"id": "c1", "command": "check"}'
check "command check: answered" wait_for answered "('c1', True)"
check "command check: logged" grep -q 'MQTT command check (id c1)' "$SCN_WORK/logs/tenderd.log"
command '{"id": "r1", "command": "rollback", "app": "hello"}'
check "command rollback: answered when done" wait_for answered "('r1', True)"
check "command rollback: 1.0.0 runs again" eq "$(scn_current_version)" 1.0.0
command '{"id": "u1", "command": "reboot"}'
check "unknown command: refused" wait_for answered "('u1', False)"

# 3. tenderd killed while its events wait; the last will.
kill -KILL "$SCN_AGENT_PID"; wait "$SCN_AGENT_PID" 2>/dev/null; SCN_AGENT_PID=
check "last will: offline" wait_for eval '[[ $(last availability "(p[\"online\"], p[\"reason\"])") == "(False, '"'lost'"')" ]]'
broker_stop
scn_start_agent
deploy 3.0.0 failure
kill -KILL "$SCN_AGENT_PID"; wait "$SCN_AGENT_PID" 2>/dev/null; SCN_AGENT_PID=
n=$(queued)
check "3.0.0: events queued when tenderd died" test "$n" -gt 0
broker_start
scn_start_agent
check "3.0.0: failure and rollback published after the restart" \
  wait_for has_event "outcome hello 3.0.0 rolled-back False"
check "3.0.0: every event, in order" in_order
check "3.0.0: rollback states" contains "$(events | awk '$4 == "3.0.0" { printf "%s ", $5 }')" \
  "testing rolling-back rolled-back"

# 4. Queue full.
scn_stop_agent
mqtt_config '{"queueMaxEvents": 3}'
broker_stop
before=$(events | tail -n 1 | cut -d' ' -f1)
scn_start_agent
deploy 4.0.0 success
check "4.0.0: queue holds its bound" eq "$(queued)" 3
broker_start
check "4.0.0: outcome event" wait_for has_event "outcome hello 4.0.0 committed True"
first=$(python3 "$check_py" list "$sub_log" | awk -v b="$before" '$1 > b' | head -n 1 | cut -d' ' -f1)
dropped_shown() { [[ $(last status 'p["queue"]["dropped"]') == "$((first - before - 1))" ]]; }
check "4.0.0: the oldest dropped, counted in the status" wait_for dropped_shown
check "4.0.0: some were dropped" test "$((first - before - 1))" -gt 0
check "4.0.0: the newest three arrived, in order" eq "$(events "$first" | wc -l)" 3

# 5. Bad TLS.
scn_stop_agent
MQTT_CA=$pki/other.crt mqtt_config
scn_start_agent
deploy 5.0.0 success
check "bad TLS: a clear error in the log" wait_for grep -q 'MQTT: .*certificate verify failed (the broker.s certificate is not signed by mqtt.caFile' "$SCN_WORK/logs/tenderd.log"
check "bad TLS: no event of 5.0.0 reached the broker" eval '! has_event "hello 5.0.0"'

# 6. The broker shows an expired certificate (the right CA again): the same.
scn_stop_agent
broker_stop
sed -i "s|^certfile .*|certfile $pki/broker-expired.crt|" "$SCN_WORK/mosquitto.conf"
broker_start
mqtt_config
mark=$(wc -l <"$SCN_WORK/logs/tenderd.log")
scn_start_agent
deploy 6.0.0 success
tls_error_since_mark() { tail -n "+$((mark + 1))" "$SCN_WORK/logs/tenderd.log" | grep -q 'MQTT: .*certificate verify failed'; }
check "expired certificate: a clear error in the log" wait_for tls_error_since_mark
check "expired certificate: no event of 6.0.0 reached the broker" eval '! has_event "hello 6.0.0"'

# 7. The libraries missing: tenderd started with /dev/null over them, in its own mount namespace.
scn_stop_agent
lib_path() { ldconfig -p | awk -v n="$1" '$1 ~ "^" n "\\.so\\." {print $NF; exit}'; }
mosq_lib=$(lib_path libmosquitto) mhd_lib=$(lib_path libmicrohttpd)
check "the libraries are installed" test -n "$mosq_lib" -a -n "$mhd_lib"
mark=$(wc -l <"$SCN_WORK/logs/tenderd.log")
unshare -m --propagation private sh -c 'mount --bind /dev/null "$1" && mount --bind /dev/null "$2" &&
  exec "$3" --config "$4"' sh "$mosq_lib" "$mhd_lib" "$TENDER_BIN/tenderd" "$SCN_WORK/agent.json" \
  >>"$SCN_WORK/logs/tenderd.log" 2>&1 &
SCN_AGENT_PID=$!
deploy 7.0.0 success
since_mark() { tail -n "+$((mark + 1))" "$SCN_WORK/logs/tenderd.log" | grep -q "$1"; }
check "no libmosquitto: the error names it and mqtt.host" \
  since_mark 'MQTT: mqtt.host is set, but libmosquitto\.so\.[0-9]* cannot be loaded'
check "no libmicrohttpd: the error names it and monitor.port" \
  since_mark 'monitor: monitor.port is set, but libmicrohttpd\.so\.[0-9]* cannot be loaded'

check "every payload matches its schema" python3 "$check_py" validate "$sub_log"
scn_test_end
