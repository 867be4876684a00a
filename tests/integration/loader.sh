#!/bin/bash
# The operator's commands against a real attachment: errors on bad input and
# bad state, live allow/disallow, atomic reloads under load, monitor mode and
# the SSH lock-out guard.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter

lab_up || { not_ok loader-lab "could not build the lab"; exit 1; }
good=$(write_config good.conf "allow tcp 22" "allow udp 53")
other=$(write_config other.conf "allow tcp 22" "allow tcp 443" "icmp deny")
bad=$(write_config bad.conf "allow tcp 22" "allow tcp 70000")
listen_srv tcp:22 tcp:443 tcp:8080 tcp:9000 tcp:9001 tcp:9002 || exit 1

# --- before attaching -----------------------------------------------------
for cmd in "stats $IF_SRV" "reload $IF_SRV -c $good" "allow $IF_SRV tcp 80" \
	"disallow $IF_SRV tcp 80" "detach $IF_SRV" "confirm $IF_SRV"; do
	# shellcheck disable=SC2086
	expect_exit "'$cmd' on an interface that is not attached" 1 \
		"$IF_SRV: not attached \(no pins under $PC_PINS/$IF_SRV\)" pc $cmd
done
expect_exit "attach to an interface that does not exist" 1 "nosuch0: no such interface" \
	pc attach nosuch0 -c "$good"
expect_exit "unknown command" 2 "unknown command 'frobnicate'" pc frobnicate
expect_exit "option that does not apply" 2 "option --json does not apply" \
	pc attach "$IF_SRV" --json -c "$good"
expect_exit "bad --xdp-mode" 2 "--xdp-mode: 'turbo'" pc attach "$IF_SRV" --xdp-mode turbo
expect_exit "check: bad config names FILE:LINE" 2 "^$bad:2: " pc check -c "$bad"
check "check: good config is silent" bash -c "[ -z \"\$($PC check -c $good 2>&1)\" ]"
expect_exit "attach with a bad config" 2 "^$bad:2: " pc attach "$IF_SRV" -c "$bad"
check "a refused attach leaves no pins" test ! -e "$PC_PINS/$IF_SRV"

# --- SSH lock-out guard -----------------------------------------------------
noss=$(write_config nossh.conf "allow tcp 443")
expect_exit "attach refuses to cut off the SSH session" 2 "cut off your SSH session" \
	srv env SSH_CONNECTION="$CLI4 50022 $SRV4 22" "$PC" attach "$IF_SRV" -c "$noss"
check "the refused attach left no pins" test ! -e "$PC_PINS/$IF_SRV"
check "attach --force overrides the guard" \
	srv env SSH_CONNECTION="$CLI4 50022 $SRV4 22" "$PC" attach "$IF_SRV" -c "$noss" --force
check "detach after --force" pc detach "$IF_SRV"
check "SSH port allowed: no refusal" \
	srv env SSH_CONNECTION="$CLI4 50022 $SRV4 22" "$PC" attach "$IF_SRV" -c "$good"
expect_exit "second attach is refused with a hint" 1 "already attached.*reload" \
	pc attach "$IF_SRV" -c "$good"

# --- live allow / disallow --------------------------------------------------
check_not "tcp/9000 closed at first" reach tcp "$SRV4" 9000
check "allow tcp 9000,9001-9002" pc allow "$IF_SRV" tcp 9000,9001-9002
check "tcp/9000 open at once" reach tcp "$SRV4" 9000
check "tcp/9002 (in the range) open at once" reach tcp "$SRV6" 9002
check "allow is idempotent" pc allow "$IF_SRV" tcp 9000
check "stats lists tcp/9000 as allowed" \
	test "$(port_field tcp 9000 allowed)" = True
expect_exit "allow with a bad port changes nothing" 2 "bad port|must be" \
	pc allow "$IF_SRV" tcp 8080,99999
check_not "tcp/8080 still closed after the refused allow" reach tcp "$SRV4" 8080
expect_exit "allow with a bad protocol" 2 "sctp" pc allow "$IF_SRV" sctp 80
expect_exit "allow with a reversed range" 2 "9010-9000" pc allow "$IF_SRV" tcp 9010-9000
check "disallow tcp 9000-9002" pc disallow "$IF_SRV" tcp 9000-9002
check_not "tcp/9000 closed at once" reach tcp "$SRV4" 9000
check_not "tcp/9001 closed at once" reach tcp "$SRV4" 9001
check "disallow is idempotent" pc disallow "$IF_SRV" tcp 9000

# --- reload ------------------------------------------------------------------
stop="$TEST_TMP/stop"
bg_in "$NS_CLI" python3 "$TESTS_DIR/helpers/hammer.py" "$SRV4" 22 "$stop" >"$TEST_TMP/hammer.out" 2>&1
hammer=${LAB_PIDS[-1]}
reload_failures=0
for i in $(seq 50); do
	if [ $((i % 2)) -eq 0 ]; then conf=$good; else conf=$other; fi
	pc reload "$IF_SRV" -c "$conf" || reload_failures=$((reload_failures + 1))
done
touch "$stop"
wait "$hammer"
hammer_rc=$?
check "50 reloads all succeed" test "$reload_failures" -eq 0
if [ "$hammer_rc" -eq 0 ]; then
	ok "no connection to tcp/22 lost during 50 reloads ($(cat "$TEST_TMP/hammer.out"))"
else
	not_ok "no connection to tcp/22 lost during 50 reloads" "$(cat "$TEST_TMP/hammer.out")"
fi
gen=$(stats_field '["generation"]')
check "generation counts the reloads ($gen)" test "$gen" -eq 51

check "reload to the good config" pc reload "$IF_SRV" -c "$good"
expect_exit "a bad reload is refused with FILE:LINE" 2 "^$bad:2: " pc reload "$IF_SRV" -c "$bad"
check "old rules still work after a refused reload" reach tcp "$SRV4" 22
check_not "and still block what they blocked" reach tcp "$SRV4" 8080
status_json() { pc status "$IF_SRV" --json | grep -q "$1"; }
check "status --json counts the refused reload" status_json '"reload_failures": 1'
check "status --json names the config" status_json "\"config\": \"$good\""

# --- monitor mode ---------------------------------------------------------------
mon=$(write_config monitor.conf "mode monitor" "allow tcp 22")
check "reload into monitor mode" pc reload "$IF_SRV" -c "$mon"
before=$(stats_field '["drops"]["not-allowed"]')
check "monitor mode lets tcp/8080 through" reach tcp "$SRV4" 8080
after=$(stats_field '["drops"]["not-allowed"]')
check "monitor mode counts the would-be drop ($before -> $after)" test "$after" -gt "$before"
check "monitor mode reports its mode" test "$(stats_field '["mode"]')" = monitor

check "detach" pc detach "$IF_SRV"
check "detach removed every pin" test ! -e "$PC_PINS/$IF_SRV"
