#!/bin/bash
# Upgrades across map layouts: an attachment whose pinned maps differ from this
# build's (a package upgrade that grew a struct) is refused by every command
# that would read or change it, with a remedy; 'attach' and 'run' upgrade it
# in place by swapping the program on the pinned link (bpf_link_update), so a
# connection loop loses nothing and a closed port is never answered; the bans
# saved by the old run come back.
#
# The "old version" is this build's attachment with one map pin replaced by a
# map of another shape (pc_config with 88-byte values, as 0.1 had): the
# program still runs on its own maps, and the pins say another layout.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter bpftool

PORT=9441
lab_up || { not_ok upgrade-lab "could not build the lab"; exit 1; }
listen_srv tcp:22 tcp:8080 || exit 1
conf=$(write_config upgrade.conf "allow tcp 22")
DIR=$PC_PINS/$IF_SRV
STATE=$PORTCULLIS_STATE_DIR/netns-$NS_SRV/$IF_SRV.bans

# age: make the attachment look like one of another version.
age() {
	rm -f "$DIR/pc_config" &&
		bpftool map create "$DIR/pc_config" type array key 4 value 88 entries 2 name pc_config
}
link_id() { bpftool link show pinned "$DIR/link" | sed -n 's/^\([0-9]*\):.*/\1/p'; }
prog_id() { bpftool link show pinned "$DIR/link" | sed -n 's/.* prog \([0-9]*\).*/\1/p'; }
stop_run() {
	kill -TERM "$RUN_PID"
	wait "$RUN_PID"
}
# loops SECONDS OUT: connection and probe loops from the client, in the background.
loops() {
	cli timeout 30 python3 "$TESTS_DIR/helpers/loops.py" "$SRV4" "$1" >"$2" 2>&1 &
	loops_pid=$!
	LAB_PIDS+=("$loops_pid")
}
# loops_check WHAT OUT: nothing lost, nothing answered.
loops_check() {
	local ok lost probes answered
	wait "$loops_pid"
	read -r ok lost probes answered < <(sed 's/[a-z]*=//g' "$2")
	check "$1: every tcp/22 connection made ($ok ok, $lost lost)" \
		test "${ok:-0}" -gt 10 -a "${lost:-1}" -eq 0
	check "$1: no answer from the closed port ($answered of $probes probes)" \
		test "${probes:-0}" -gt 10 -a "${answered:-1}" -eq 0
}

# --- every command sees another version's attachment ---------------------------------
check "attach" pc attach "$IF_SRV" -c "$conf"
check "a fresh attachment is this version's" pc status "$IF_SRV"
check "age the attachment" age
out=$(pc status "$IF_SRV" 2>&1)
check "status: exit 1" test $? -eq 1
check "status: says another version, which map, and the remedy" \
	grep -q "attached by another version of portcullis (map pc_config has 88-byte values, this version's 104).*'portcullis attach $IF_SRV' upgrades it in place" <<<"$out"
for cmd in "reload $IF_SRV -c $conf" "allow $IF_SRV tcp 8080" "ban $IF_SRV 198.51.100.9" "stats $IF_SRV"; do
	# shellcheck disable=SC2086 # the command's words
	pc $cmd >/dev/null 2>&1
	check "${cmd%% *}: refused (exit 1)" test $? -eq 1
done
out=$(pc metrics "$IF_SRV" 2>&1)
check "metrics: no counters misread, and says why" \
	bash -c "grep -q 'attached by another version' <<<\"\$1\" && ! grep -q '^portcullis_packets_total' <<<\"\$1\"" _ "$out"
check_not "nothing changed: tcp/8080 stays closed" reach tcp "$SRV4" 8080
check "tcp/22 stays open" reach tcp "$SRV4" 22

# --- attach upgrades in place under load ----------------------------------------------
old_link=$(link_id) old_prog=$(prog_id)
# An unconfirmed upgrade could not be undone: the old program would be gone.
out=$(pc attach "$IF_SRV" -c "$conf" --confirm 30s 2>&1)
check "attach --confirm over another version: refused (exit 2)" test $? -eq 2
check "attach --confirm: says why and what to do" grep -q "cannot undo an upgrade in place" <<<"$out"
check "attach --confirm: the old program stays" test "$(prog_id)" = "$old_prog"
loops 4 "$TEST_TMP/loops1.out"
sleep 1.5
out=$(pc attach "$IF_SRV" -c "$conf" 2>&1)
check "attach: upgrades in place (exit 0)" test $? -eq 0
check "attach: says so" grep -q "upgraded in place to this version" <<<"$out"
loops_check "attach under load" "$TEST_TMP/loops1.out"
check "the same link ($old_link), kept all along" test "$(link_id)" = "$old_link"
check "a new program on it (was $old_prog, now $(prog_id))" test "$(prog_id)" != "$old_prog"
check "status: this version's now" pc status "$IF_SRV"
check "the new maps are pinned: allow works" pc allow "$IF_SRV" tcp 8080
check "and takes effect" reach tcp "$SRV4" 8080
check "disallow" pc disallow "$IF_SRV" tcp 8080

# --- run adopts another version's attachment, and the bans its predecessor saved ------
start_run "$TEST_TMP/run1.log"
pc ban "$IF_SRV" 198.51.100.7 --for 1h >/dev/null 2>&1
check "run saved the ban" \
	bash -c "for i in \$(seq 30); do grep -q '^198\.51\.100\.7 manual' '$STATE' 2>/dev/null && exit 0; sleep 0.1; done; exit 1"
stop_run
check "age the attachment again" age
loops 5 "$TEST_TMP/loops2.out"
sleep 1.5
start_run "$TEST_TMP/run2.log"
check "run: upgrades the attachment in place" \
	grep -q "adopted an attachment of another version by upgrading it in place" "$TEST_TMP/run2.log"
loops_check "run under load" "$TEST_TMP/loops2.out"
check "the saved ban is back" bash -c "$(printf '%q ' nsenter --net=/run/netns/"$NS_SRV" "$PC") bans $IF_SRV | grep -q '^198\.51\.100\.7 .*manual'"
stop_run

# --- the same shapes, another meaning: the layout version in pc_meta -------------------
# set_layout N: pc_meta's layout field (after the 288 bytes before it) to N.
set_layout() {
	local hex
	hex=$(bpftool -j map lookup pinned "$DIR/pc_meta" key 0 0 0 0 | python3 -c '
import json, sys
v = [int(b, 16) for b in json.load(sys.stdin)["value"]]
v[288:292] = int(sys.argv[1]).to_bytes(4, sys.byteorder)
print(" ".join("%02x" % b for b in v))' "$1") &&
		bpftool map update pinned "$DIR/pc_meta" key 0 0 0 0 value hex $hex
}
check "pc_meta: say another layout, every map's shape unchanged" set_layout 0
out=$(pc status "$IF_SRV" 2>&1)
check "status: refuses another layout (exit 1)" test $? -eq 1
check "status: says which" grep -q "pc_meta says its maps are of layout 0, this version's 1" <<<"$out"
pc allow "$IF_SRV" tcp 8080 >/dev/null 2>&1
check "allow: refused (exit 1)" test $? -eq 1
check_not "nothing changed: tcp/8080 stays closed" reach tcp "$SRV4" 8080
out=$(pc attach "$IF_SRV" -c "$conf" 2>&1)
check "attach: upgrades it in place (exit 0)" test $? -eq 0
check "status: this version's again" pc status "$IF_SRV"
check "detach" pc detach "$IF_SRV"
