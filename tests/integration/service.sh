#!/bin/bash
# portcullis run, the service mode: attach, /metrics, SIGHUP reloads (good
# and bad configs, counted), ban lines in the log, sd_notify READY /
# RELOADING / STOPPING, SIGTERM leaves the filter on (--detach-on-exit detaches), adopting an existing
# attachment, and startup failures that leave nothing behind.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter curl

HELPERS=$TESTS_DIR/helpers
PORT=9434
URL=http://127.0.0.1:$PORT/metrics

lab_up || { not_ok service-lab "could not build the lab"; exit 1; }
listen_srv tcp:22 tcp:8080 || exit 1
conf="$TEST_TMP/portcullis.conf"
printf '%s\n' "allow tcp 22" "scan-detect off" >"$conf"

# metric NAME LABELS: one sample from the running service.
metric() {
	srv curl -s -m 5 "$URL" | grep -F "$1{interface=\"$IF_SRV\"${2:+,$2}}" | awk '{print $2}'
}
attached() { test -e "$PC_PINS/$IF_SRV/link"; }
xdp_on_link() { ip -n "$NS_SRV" link show "$IF_SRV" | grep -q xdp; }

# run tells systemd-style notifications to this socket; notify.log holds
# the ones since the last start_notified_run.
RUN_ENV="NOTIFY_SOCKET=$TEST_TMP/notify.sock"
start_notified_run() {
	: >"$TEST_TMP/notify.log"
	start_run "$@"
}
# stop_run: SIGTERM; the exit status is checked by the caller.
stop_run() {
	kill -TERM "$RUN_PID"
	wait "$RUN_PID"
}

python3 "$HELPERS/notify_listen.py" "$TEST_TMP/notify.sock" "$TEST_TMP/notify.log" \
	>"$TEST_TMP/notify.out" 2>&1 &
LAB_PIDS+=($!)
wait_for "$TEST_TMP/notify.out" ready || not_ok "notify socket" "the stand-in did not start"

# Syslog: with no system logger on /dev/log, a stand-in listens there for the test.
SYSLOG=""
if [ ! -e /dev/log ]; then
	python3 "$HELPERS/notify_listen.py" /dev/log "$TEST_TMP/syslog.log" >"$TEST_TMP/syslog.out" 2>&1 &
	LAB_PIDS+=($!)
	trap 'rm -f /dev/log; lab_down' EXIT
	wait_for "$TEST_TMP/syslog.out" ready && SYSLOG=$TEST_TMP/syslog.log
fi
# in_syslog NAME PATTERN: the line reached syslog too (SKIP when a real logger owns /dev/log).
in_syslog() {
	if [ -z "$SYSLOG" ]; then
		skip "$1" "a system logger owns /dev/log; not reading its store"
	else
		check "$1" wait_for "$SYSLOG" "portcullis\[[0-9]+\]: $2" 3
	fi
}

# --- start, serve, reload ------------------------------------------------------
start_notified_run "$TEST_TMP/run.log"
check "run attaches and says where the metrics are" \
	grep -q "$IF_SRV: filtering with $conf; metrics at http://127.0.0.1:$PORT/metrics" "$TEST_TMP/run.log"
check "attached: the link is pinned" attached
check "sd_notify READY=1 once serving" wait_for "$TEST_TMP/notify.log" "^READY=1"
check "the rules are in force: tcp/22 open" reach tcp "$SRV4" 22
check_not "and tcp/8080 closed" reach tcp "$SRV4" 8080
check "/metrics is served" test -n "$(metric portcullis_packets_total 'verdict="pass"')"
check "no reloads counted yet" test "$(metric portcullis_config_reloads_total 'result="success"')" = 0

printf '%s\n' "allow tcp 22,8080" "scan-detect off" >"$conf"
kill -HUP "$RUN_PID"
check "SIGHUP with a good config: one line says so" \
	wait_for "$TEST_TMP/run.log" "$IF_SRV: reloaded $conf \(generation 2\)"
in_syslog "the reload line is in syslog" "$IF_SRV: reloaded $conf \(generation 2\)"
check "the new rules are in force: tcp/8080 open" reach tcp "$SRV4" 8080
check "the success is counted" test "$(metric portcullis_config_reloads_total 'result="success"')" = 1
check "sd_notify RELOADING=1 then READY=1" \
	bash -c "grep -n . '$TEST_TMP/notify.log' | grep -A1 RELOADING=1 | grep -q READY=1"
check "RELOADING carries MONOTONIC_USEC" grep -q "RELOADING=1 | MONOTONIC_USEC=[0-9]" "$TEST_TMP/notify.log"

printf '%s\n' "allow tcp 22,8080" "allow tcp 99999" >"$conf"
kill -HUP "$RUN_PID"
check "SIGHUP with a bad config: one line with FILE:LINE, old rules kept" \
	wait_for "$TEST_TMP/run.log" "$IF_SRV: reload of $conf failed: $conf:2: .*; the old rules stay in force"
in_syslog "the failed reload is in syslog" "$IF_SRV: reload of $conf failed: $conf:2: "
check "the old rules still work: tcp/8080 open" reach tcp "$SRV4" 8080
check "the failure is counted" test "$(metric portcullis_config_reloads_total 'result="failure"')" = 1
check "successes unchanged" test "$(metric portcullis_config_reloads_total 'result="success"')" = 1
check "still running after a bad reload" kill -0 "$RUN_PID"

# Bans become log lines, one each.
if pc ban "$IF_SRV" 198.51.100.7 --for 1h >/dev/null 2>&1; then
	check "a ban is logged as one line" wait_for "$TEST_TMP/run.log" "$IF_SRV: .*ban.*198\.51\.100\.7" 5
	in_syslog "the ban is in syslog" "$IF_SRV: .*ban.*198\.51\.100\.7"
	pc unban "$IF_SRV" 198.51.100.7 >/dev/null 2>&1
	check "an unban is logged as one line" wait_for "$TEST_TMP/run.log" "$IF_SRV: .*unban.*198\.51\.100\.7" 5
else
	skip "ban lines in the run log" "the ban command failed"
fi

stop_run
check "SIGTERM: exit status 0" test $? -eq 0
check "SIGTERM leaves the filter attached (fail-closed)" attached
check "and the XDP program on the link" xdp_on_link
check "says so" grep -q "$IF_SRV: left attached and filtering" "$TEST_TMP/run.log"
check "sd_notify STOPPING=1" grep -q "^STOPPING=1" "$TEST_TMP/notify.log"
check "the exit is logged" grep -q "$IF_SRV: stopping on Terminated" "$TEST_TMP/run.log"

# --- --keep, adopting -------------------------------------------------------------
printf '%s\n' "allow tcp 22" "scan-detect off" >"$conf"
start_notified_run "$TEST_TMP/keep.log" --keep
stop_run
check "--keep: SIGTERM exits 0" test $? -eq 0
check "--keep: still attached" attached
check_not "--keep: the filter still filters (tcp/8080 closed)" reach tcp "$SRV4" 8080
check "--keep: says so" grep -q "$IF_SRV: left attached and filtering" "$TEST_TMP/keep.log"

printf '%s\n' "allow tcp 22,8080" "scan-detect off" >"$conf"
start_notified_run "$TEST_TMP/adopt.log"
check "run adopts an existing attachment" grep -q "$IF_SRV: adopted the existing attachment" "$TEST_TMP/adopt.log"
check "and applies its config to it (tcp/8080 open)" reach tcp "$SRV4" 8080
stop_run
check "the adopted attachment stays on SIGTERM" attached
start_notified_run "$TEST_TMP/detach-on-exit.log" --detach-on-exit
stop_run
check "--detach-on-exit: the adopted attachment is detached on SIGTERM" \
	test ! -e "$PC_PINS/$IF_SRV"
check_not "--detach-on-exit: and no XDP program on the link" xdp_on_link

# --- failures at start leave nothing behind ---------------------------------------
printf '%s\n' "allow tcp 22" "allow udp 0" >"$conf"
start_notified_run "$TEST_TMP/bad.log"
wait "$RUN_PID"
rc=$?
check "a bad config at start: exit 2 with FILE:LINE ($rc)" \
	bash -c "[ $rc -eq 2 ] && grep -q '^$conf:2: ' '$TEST_TMP/bad.log'"
check_not "and nothing attached" attached

printf '%s\n' "allow tcp 22" >"$conf"
srv python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $PORT)); s.listen(); print('ready', flush=True); time.sleep(30)" \
	>"$TEST_TMP/squat.out" 2>&1 &
squat=$!
LAB_PIDS+=("$squat")
wait_for "$TEST_TMP/squat.out" ready
start_notified_run "$TEST_TMP/busy.log"
wait "$RUN_PID"
rc=$?
check "metrics port in use: exit 1 naming the address ($rc)" \
	bash -c "[ $rc -eq 1 ] && grep -q -- '--listen 127.0.0.1:$PORT: couldn.t listen: Address already in use' '$TEST_TMP/busy.log'"
check_not "and the attach is undone" attached
check_not "nor is an XDP program left" xdp_on_link
kill "$squat" 2>/dev/null

out=$(pc run nosuch0 -c "$conf" --listen 127.0.0.1:$PORT 2>&1)
rc=$?
check "an interface that does not exist: exit 1, named ($rc)" \
	bash -c "[ $rc -eq 1 ] && grep -q 'nosuch0: no such interface' <<<'$out'"
check "no sanitizer report from the services" \
	bash -c "! grep -l 'Sanitizer' $TEST_TMP/*.log"
