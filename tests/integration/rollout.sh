#!/bin/bash
# Safe rollout: reload/attach --confirm DURATION roll back by themselves
# unless 'portcullis confirm' runs in time, with no portcullis process left
# to do it (the data path falls back to the previous half of the rule set).
# Checked with real traffic: tcp/80 is open only in the old rules, tcp/443
# only in the new ones, tcp/22 in both.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter bpftool

lab_up || { not_ok rollout-lab "could not build the lab"; exit 1; }
listen_srv tcp:22 tcp:80 tcp:443 tcp:8443 || exit 1
old=$(write_config old.conf "allow tcp 22,80" "scan-detect off")
new=$(write_config new.conf "allow tcp 22,443" "scan-detect off")

# No portcullis process inside the lab: whatever happens next is the data path's doing.
no_portcullis_alive() {
	local pid exe
	for pid in $(ip netns pids "$NS_SRV") $(ip netns pids "$NS_CLI"); do
		exe=$(readlink "/proc/$pid/exe" 2>/dev/null)
		[ "$exe" = "$(readlink -f "$PC")" ] && return 1
	done
	return 0
}
# old_rules / new_rules: what the client can reach says which rule set is in force.
old_rules() { reach tcp "$SRV4" 80 0.3 && ! reach tcp "$SRV4" 443 0.3; }
new_rules() { reach tcp "$SRV4" 443 0.3 && ! reach tcp "$SRV4" 80 0.3; }
# wait_old START_NS LIMIT_MS: until tcp/80 (old rules only) answers, in one
# process so that no interpreter start-up is counted; prints the ms since START_NS.
wait_old() {
	cli python3 - "$SRV4" "$1" "$2" <<'PY'
import socket, sys, time
host, start, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
while (time.time_ns() - start) // 1000000 <= limit:
    try:
        with socket.create_connection((host, 80), timeout=0.05) as sock:
            if sock.recv(64).startswith(b"hello"):
                print((time.time_ns() - start) // 1000000)
                sys.exit(0)
    except OSError:
        time.sleep(0.02)
sys.exit(1)
PY
}
status_json() { pc status "$IF_SRV" --json | python3 -c "import json,sys; print(json.load(sys.stdin)[0]$1)"; }
# pc_active: the rule set the maps say is in force (0 or 1).
active_set() {
	bpftool map lookup pinned "$PORTCULLIS_PIN_ROOT/$IF_SRV/pc_active" key 0 0 0 0 -j |
		python3 -c 'import json,sys; v=json.load(sys.stdin)["value"]; print(int(v[0], 16) if isinstance(v, list) else v)'
}
pass_total() { stats_field '["totals"]["pass_packets"]'; }

check "attach with the old rules" pc attach "$IF_SRV" -c "$old"
check "the old rules are in force" old_rules
check "status: nothing pending" test "$(status_json '["pending_confirm"]')" = None

# --- reload --confirm 2s, not confirmed, nobody left to roll back -----------------------
start=$(date +%s%N)
check "reload --confirm 2s" pc reload "$IF_SRV" -c "$new" --confirm 2s
check "the new rules are in force at once" reach tcp "$SRV4" 443 0.5
check "no portcullis process is alive in the lab" no_portcullis_alive
if ms=$(wait_old "$start" 3000); then
	ok "the old rules are back by themselves ${ms} ms after 'reload --confirm 2s' began"
else
	not_ok "the old rules are back by themselves within 3 s" "tcp/80 still closed"
fi
check "the old rules, all of them" old_rules
out=$(pc status "$IF_SRV")
check "status says it was rolled back" grep -q "rolled back: not confirmed within 2s" <<<"$out"
check "status: the config line does not claim the rolled-back file is in force" \
	grep -q "config .*$(basename "$new") was rolled back; the rules before it" <<<"$out"
check "status --json: rolled_back" test "$(status_json '["rolled_back"]')" = True
expect_exit "confirm after the deadline is too late" 1 "too late to confirm" \
	pc confirm "$IF_SRV"

# --- while a change is pending; counters and bans across its rollback -------------------
check "a manual ban before the change" pc ban "$IF_SRV" "$CLI4B"
passes_before=$(pass_total)
start=$(date +%s%N)
check "reload --confirm 6s" pc reload "$IF_SRV" -c "$new" --confirm 6s
check "the new rules are in force" new_rules
out=$(pc status "$IF_SRV")
check "status: pending confirmation (Ns left)" grep -qE "pending confirmation \([3-6]s left\)" <<<"$out"
left=$(status_json '["pending_confirm"]')
check "status --json: pending_confirm is seconds left ($left)" test "$left" -ge 2 -a "$left" -le 6
expect_exit "a second reload while pending is refused" 2 \
	"$IF_SRV: reload refused: a change is pending confirmation .*portcullis confirm $IF_SRV" \
	pc reload "$IF_SRV" -c "$old"
check "allow while pending goes to the pending rules" pc allow "$IF_SRV" tcp 8443
check "tcp/8443 open for now" reach tcp "$SRV4" 8443
if ms=$(wait_old "$start" 8000); then
	ok "the old rules are back by themselves (${ms} ms)"
else
	not_ok "the old rules are back by themselves" "tcp/80 still closed"
fi
check_not "the pending allow went with the pending rules" reach tcp "$SRV4" 8443 0.3
check "the ban survived the rollback" grep -q "$CLI4B" <(pc bans "$IF_SRV")
check_not "and still holds" reach tcp "$SRV4" 22 0.5 "$CLI4B"
passes_after=$(pass_total)
check "pass counters survived the rollback ($passes_before -> $passes_after)" \
	test "$passes_after" -gt "$passes_before"
check "unban" pc unban "$IF_SRV" "$CLI4B"

# --- the rollback line in events -------------------------------------------------------
events_log=$TEST_TMP/events.log
bg_in "$NS_SRV" "$PC" events "$IF_SRV" >"$events_log" 2>&1
events_pid=${LAB_PIDS[-1]}
sleep 0.3
check "reload --confirm 1s" pc reload "$IF_SRV" -c "$new" --confirm 1s
check "events logs the rollback" wait_for "$events_log" "rollback: not confirmed within 1s" 4
kill "$events_pid" && wait "$events_pid" 2>/dev/null
check "the reload after a rollback tidies and goes through" pc reload "$IF_SRV" -c "$old"
check "status: nothing pending, nothing rolled back" \
	test "$(status_json '["pending_confirm"]')/$(status_json '["rolled_back"]')" = None/False

# --- confirmed in time -------------------------------------------------------------------
check "reload --confirm 2s" pc reload "$IF_SRV" -c "$new" --confirm 2s
check "confirm" pc confirm "$IF_SRV"
expect_exit "a second confirm has nothing to confirm" 1 "nothing is pending confirmation" \
	pc confirm "$IF_SRV"
sleep 2.5
check "the confirmed rules stay past the deadline" new_rules
check "status: nothing pending" test "$(status_json '["pending_confirm"]')" = None
check "reload --force while pending rolls back first, then applies" \
	pc reload "$IF_SRV" -c "$old" --confirm 5s
check "reload --force" pc reload "$IF_SRV" -c "$new" --force
check "the forced reload is in force, confirmed" new_rules
sleep 0.2
check "status: nothing pending after the forced reload" \
	test "$(status_json '["pending_confirm"]')" = None

# --- connections to an allowed port through reloads and a rollback ---------------------
stop=$TEST_TMP/stop
bg_in "$NS_CLI" python3 "$TESTS_DIR/helpers/hammer.py" "$SRV4" 22 "$stop" >"$TEST_TMP/hammer.out" 2>&1
hammer=${LAB_PIDS[-1]}
for conf in "$old" "$new" "$old"; do
	pc reload "$IF_SRV" -c "$conf" || not_ok "reload under load" "$conf"
	sleep 0.2
done
pc reload "$IF_SRV" -c "$new" --confirm 1s || not_ok "reload --confirm under load"
sleep 1.5
for conf in "$new" "$old"; do
	pc reload "$IF_SRV" -c "$conf" || not_ok "reload under load" "$conf"
	sleep 0.2
done
touch "$stop"
if wait "$hammer"; then
	ok "tcp/22 connections through 5 reloads and a rollback: none lost ($(cat "$TEST_TMP/hammer.out"))"
else
	not_ok "tcp/22 connections through reloads and a rollback" "$(cat "$TEST_TMP/hammer.out")"
fi

# --- run adopts a pending change as it is, then tidies and logs its rollback -----------
PORT=9446
conf=$old
run_log=$TEST_TMP/run.log
generation=$(status_json '["generation"]')
active=$(active_set)
check "reload --confirm 2s, then run starts" pc reload "$IF_SRV" -c "$new" --confirm 2s
if start_run "$run_log"; then
	check "run adopts the pending change as it is" \
		grep -q "adopted the existing attachment as it is: a change made with --confirm" "$run_log"
	check "run logs the rollback" wait_for "$run_log" "rollback: not confirmed within 2s" 5
	check "the generation from before is in force again ($generation)" \
		test "$(status_json '["generation"]')" = "$generation"
	check "run put the maps in order: pc_active back at the set from before ($active)" \
		test "$(active_set)" = "$active"
	check "the rules from before are in force" old_rules
	kill "$RUN_PID" && wait "$RUN_PID" 2>/dev/null
else
	not_ok "run starts" "$(cat "$run_log")"
fi

# --- attach --confirm, not confirmed -----------------------------------------------------
check "detach" pc detach "$IF_SRV"
start=$(date +%s%N)
check "attach --confirm 2s" pc attach "$IF_SRV" -c "$new" --confirm 2s
check "filtered at once: the new rules" new_rules
check "no portcullis process is alive in the lab" no_portcullis_alive
sleep 2.2
check "not confirmed: tcp/80 reachable, nothing filtered" reach tcp "$SRV4" 80 1
check "and tcp/443 too" reach tcp "$SRV4" 443 1
expect_exit "status says the interface is not filtered (exit 1)" 1 "" pc status "$IF_SRV"
out=$(pc status "$IF_SRV")
check "status: 'not filtered: the attach was not confirmed within 2s'" \
	grep -q "$IF_SRV: not filtered: the attach was not confirmed within 2s" <<<"$out"
check "status --json: filtered false" test "$(status_json '["filtered"]')" = False
expect_exit "reload then says it was undone" 1 "the attach was not confirmed" \
	pc reload "$IF_SRV" -c "$new"
check "and the leftovers are detached" test ! -e "$PORTCULLIS_PIN_ROOT/$IF_SRV/link"
check "attach again" pc attach "$IF_SRV" -c "$old" --confirm 3s
expect_exit "attach while attached and pending is refused" 2 "pending confirmation" \
	pc attach "$IF_SRV" -c "$old"
check "confirm" pc confirm "$IF_SRV"
sleep 3.2
check "a confirmed attach stays" old_rules
check "detach" pc detach "$IF_SRV"
