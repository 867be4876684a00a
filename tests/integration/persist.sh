#!/bin/bash
# Restarts without a gap and bans that persist: run stopped by SIGTERM leaves
# the filter on and the next run adopts it; a restart under connection loops
# never answers a closed port nor loses an allowed connection;
# --detach-on-exit detaches. Bans go to STATE_DIR/netns-NAME/IFACE.bans (run
# within 2 s of a change, detach) and come back with their time left on
# attach (a reboot is detach + attach: the file holds wall-clock times);
# expired ones stay gone; a corrupt file, a FIFO or a symlink in its place is
# a warning and attach still works.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter curl

PORT=9437
lab_up || { not_ok persist-lab "could not build the lab"; exit 1; }
listen_srv tcp:22 tcp:8080 || exit 1
conf=$(write_config persist.conf "allow tcp 22" "scan-detect ports 5 window 10s ban 2h")
STATE=$PORTCULLIS_STATE_DIR/netns-$NS_SRV/$IF_SRV.bans

attached() { test -e "$PC_PINS/$IF_SRV/link"; }
stop_run() {
	kill -TERM "$RUN_PID"
	wait "$RUN_PID"
}
# expires_in ADDRESS: seconds left of its ban, or nothing.
expires_in() {
	pc bans "$IF_SRV" --json | python3 -c '
import json, sys
for ban in json.load(sys.stdin):
    if ban["address"] == sys.argv[1]:
        print(ban["expires_in"], ban["reason"])' "$1"
}
# near ACTUAL WANT SLACK: ACTUAL is within SLACK of WANT.
near() { test -n "$1" && test "$1" -ge $(($2 - $3)) && test "$1" -le $(($2 + $3)); }

# --- fail-closed lifecycle ----------------------------------------------------------
start_run "$TEST_TMP/run1.log"
check "run attaches" attached
stop_run
check "SIGTERM: run exits 0" test $? -eq 0
check "the interface stays attached" attached
check "status says attached" bash -c "nsenter --net=/run/netns/$NS_SRV $PC status $IF_SRV | grep -q attached"
check_not "a closed port stays closed (tcp/8080)" reach tcp "$SRV4" 8080
check "an allowed port stays open (tcp/22)" reach tcp "$SRV4" 22
start_run "$TEST_TMP/run2.log"
check "a second run adopts the attachment" \
	grep -q "$IF_SRV: adopted the existing attachment" "$TEST_TMP/run2.log"

# A restart under a connection loop to tcp/22 and a probe loop to tcp/8080.
cli timeout 30 python3 "$TESTS_DIR/helpers/loops.py" "$SRV4" 6 >"$TEST_TMP/loops.out" 2>&1 &
loops_pid=$!
LAB_PIDS+=("$loops_pid")
sleep 1.5
stop_run
start_run "$TEST_TMP/run3.log"
wait "$loops_pid"
read -r ok lost probes answered < <(sed 's/[a-z]*=//g' "$TEST_TMP/loops.out")
check "restart under load: the new run adopts" \
	grep -q "$IF_SRV: adopted the existing attachment" "$TEST_TMP/run3.log"
check "restart under load: every tcp/22 connection made ($ok ok, $lost lost)" \
	test "${ok:-0}" -gt 20 -a "${lost:-1}" -eq 0
check "restart under load: no answer from the closed port ($answered of $probes probes)" \
	test "${probes:-0}" -gt 20 -a "${answered:-1}" -eq 0

# Bans: run writes the file within 2 s of a change.
pc ban "$IF_SRV" 198.51.100.9 --for 1h >/dev/null 2>&1
check "run saves a new ban within 2 s" \
	bash -c "for i in \$(seq 20); do grep -q '^198\.51\.100\.9 manual' '$STATE' 2>/dev/null && exit 0; sleep 0.1; done; exit 1"
check "the state file is 0600" test "$(stat -c %a "$STATE")" = 600
check "the state directory is 0700" test "$(stat -c %a "$PORTCULLIS_STATE_DIR")" = 700
check "it starts with its version line" test "$(head -1 "$STATE")" = "portcullis-bans 1"
pc unban "$IF_SRV" 198.51.100.9 >/dev/null 2>&1
check "and an unban within 2 s" \
	bash -c "for i in \$(seq 20); do grep -q '^198\.51\.100\.9 ' '$STATE' || exit 0; sleep 0.1; done; exit 1"
stop_run
start_run "$TEST_TMP/run4.log" --detach-on-exit
stop_run
check "--detach-on-exit: SIGTERM exits 0" test $? -eq 0
check_not "--detach-on-exit: detached" attached
check "--detach-on-exit: tcp/8080 answers again" reach tcp "$SRV4" 8080

# --- bans across detach + attach ------------------------------------------------------
check "attach" pc attach "$IF_SRV" -c "$conf"
pc ban "$IF_SRV" 198.51.100.7 --for 400d >/dev/null
pc ban "$IF_SRV" 198.51.100.8 --for 2s >/dev/null
pc ban "$IF_SRV" 2001:db8:5::7 >/dev/null
# A scan from the second client address: 12 closed ports.
cli python3 -c '
import socket, sys
for port in range(3000, 3012):
    s = socket.socket(); s.settimeout(0.05)
    s.bind((sys.argv[1], 0))
    try: s.connect((sys.argv[2], port))
    except OSError: pass
    s.close()' "$CLI4B" "$SRV4"
check "a scan ban of $CLI4B" bash -c "nsenter --net=/run/netns/$NS_SRV $PC bans $IF_SRV | grep -q '^$CLI4B .*scan'"
check "detach" pc detach "$IF_SRV"
check "detach saved the bans" grep -q "^198\.51\.100\.7 manual" "$STATE"
sleep 3 # the 2 s ban expires meanwhile
check "attach again (a reboot: nothing but the file)" pc attach "$IF_SRV" -c "$conf"
read -r left reason < <(expires_in 198.51.100.7)
check "the 400-day ban is back with its time left ($left s)" near "${left:-0}" $((400 * 86400 - 3)) 8
check "as a manual ban" test "$reason" = manual
read -r left reason < <(expires_in "$CLI4B")
check "the scan ban is back with its time left ($left s)" near "${left:-0}" $((7200 - 3)) 8
check "as a scan ban" test "$reason" = scan
check_not "the restored scan ban drops $CLI4B" reach tcp "$SRV4" 22 1 "$CLI4B"
check "others still reach tcp/22" reach tcp "$SRV4" 22 1 "$CLI4"
check "the IPv6 ban is back (its /64)" test -n "$(expires_in 2001:db8:5::/64)"
check "the expired ban is gone" test -z "$(expires_in 198.51.100.8)"

# Wall-clock times: a file written "before a reboot" (monotonic time restarted).
now=$(date +%s)
pc detach "$IF_SRV" >/dev/null 2>&1
printf '%s\n' "portcullis-bans 1" \
	"203.0.113.1 manual forever $((now - 86400 * 30)) 0 - 0 0" \
	"203.0.113.2 scan $((now + 100)) $((now - 3500)) 20 tcp/8080 1 3100" \
	"203.0.113.3 scan $((now - 1)) $((now - 3600)) 20 tcp/8080 0 3100" \
	"203.0.113.4 manual forever $now 0 - 0 0" >"$STATE"
trusting=$(write_config trusting.conf "allow tcp 22" "allow from 203.0.113.4" \
	"scan-detect ports 5 window 10s ban 2h")
expect_exit "attach with a hand-written file" 0 "1 saved bans not restored: .*trusted" \
	nsenter --net="/run/netns/$NS_SRV" "$PC" attach "$IF_SRV" -c "$trusting"
check "a forever ban stays forever" \
	bash -c "nsenter --net=/run/netns/$NS_SRV $PC bans $IF_SRV | grep -q '^203\.0\.113\.1 .*manual'"
read -r left reason < <(expires_in 203.0.113.2)
check "a scan ban gets what is left by the wall clock ($left s)" near "${left:-0}" 100 5
check "its scan details are kept" \
	bash -c "nsenter --net=/run/netns/$NS_SRV $PC bans $IF_SRV | grep -q '^203\.0\.113\.2 .* 20  tcp/8080'"
check "a ban that ended while down is not restored" test -z "$(expires_in 203.0.113.3)"
check "nor the ban of a source the config trusts now" test -z "$(expires_in 203.0.113.4)"

# --- hostile state files --------------------------------------------------------------
attach_with() { # NAME PATTERN: attach exits 0 and warns with PATTERN
	expect_exit "$1" 0 "$2" timeout 20 nsenter --net="/run/netns/$NS_SRV" "$PC" attach "$IF_SRV" -c "$conf"
}
pc detach "$IF_SRV" >/dev/null 2>&1
{
	echo "portcullis-bans 1"
	echo "garbage here"
	head -c 100000 /dev/zero | tr '\0' x
	echo
	echo "300.1.2.3 manual forever 0 0 - 0 0"
	echo "203.0.113.9 manual forever $now 0 - 0 0"
	echo "203.0.113.10 manual forever $now 0 - 99 0"
} >"$STATE"
attach_with "a corrupt file: attach works and names the line" "$STATE:2: .*line skipped"
check "the good line after them is restored" test -n "$(expires_in 203.0.113.9)"
check_not "a line with a bad field is not" test -n "$(expires_in 203.0.113.10)"
pc detach "$IF_SRV" >/dev/null 2>&1
{
	echo "portcullis-bans 1"
	head -c 100000 /dev/zero | tr '\0' x
	echo
	echo "203.0.113.9 manual forever $now 0 - 0 0"
} >"$STATE"
attach_with "a line of 100000 characters is reported" "$STATE:2: longer than 256 characters"
check "the good line after it is restored" test -n "$(expires_in 203.0.113.9)"
pc detach "$IF_SRV" >/dev/null 2>&1
printf '%s\n' "# some other program's file" "203.0.113.9 manual forever $now 0 - 0 0" >"$STATE"
attach_with "a foreign file is ignored whole" "$STATE:1: not a portcullis bans file"
check_not "and nothing of it is restored" test -n "$(expires_in 203.0.113.9)"
pc detach "$IF_SRV" >/dev/null 2>&1
rm -f "$STATE"
mkfifo "$STATE"
attach_with "a FIFO in its place: attach does not hang" "$STATE: not a regular file"
pc detach "$IF_SRV" >/dev/null 2>&1
rm -f "$STATE"
printf '%s\n' "portcullis-bans 1" "203.0.113.9 manual forever $now 0 - 0 0" >"$TEST_TMP/elsewhere"
ln -s "$TEST_TMP/elsewhere" "$STATE"
attach_with "a symlink in its place is refused" "$STATE: .*symlink"
check_not "and nothing is read through it" test -n "$(expires_in 203.0.113.9)"
pc detach "$IF_SRV" >/dev/null 2>&1
check "detach replaces the symlink, not what it points to" \
	bash -c "test -f '$STATE' -a ! -L '$STATE' && grep -q 203.0.113.9 '$TEST_TMP/elsewhere'"
