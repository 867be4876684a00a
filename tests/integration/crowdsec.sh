#!/bin/bash
# CrowdSec with a real Local API (Debian's crowdsec, run here with -no-cs):
# Ip and Range ban decisions become bans within one poll and deleted ones are
# lifted; a restart of run resyncs (decisions deleted meanwhile are lifted,
# new ones applied); a scan banned here shows up as an alert of scenario
# portcullis/port-scan with a ban decision, and a second host bouncing from
# the same Local API drops the scanner; the Local API killed mid-run changes
# nothing but the failure counter and a log line, and comes back cleanly.
#
#   client ns --veth-- host A (filtered, runs the LAPI on 198.18.2.1)
#   client ns --veth-- host B (filtered)  --veth-- host A (LAPI traffic)
. "$(dirname "$0")/../lib.sh"
need python3 nsenter crowdsec cscli curl

PORT=9441
NS_B=pc${LAB_ID}b
IF_B=pcb${LAB_ID}    # host B's filtered interface, 198.18.1.1
IF_BC=pcd${LAB_ID}   # its peer in the client ns, 198.18.1.2
IF_AB=pca${LAB_ID}   # host A's side of the LAPI link, 198.18.2.1
IF_BA=pce${LAB_ID}   # host B's side, 198.18.2.2
LAPI_ADDR=198.18.2.1:6180
URL=http://$LAPI_ADDR
CS=$TEST_TMP/crowdsec
b() { nsenter --net="/run/netns/$NS_B" "$@"; }
cs() { srv cscli -c "$CS/config.yaml" "$@" 2>/dev/null; }

lab_up || { not_ok crowdsec-lab "could not build the lab"; exit 1; }
# shellcheck disable=SC2317 # called by the trap
cleanup_b() {
	b "$PC" detach "$IF_B" >/dev/null 2>&1
	ip netns del "$NS_B" 2>/dev/null
	lab_down
}
trap cleanup_b EXIT
ip netns add "$NS_B" || exit 1
b ip link set lo up
ip link add "$IF_B" netns "$NS_B" type veth peer name "$IF_BC" netns "$NS_CLI"
ip link add "$IF_AB" netns "$NS_SRV" type veth peer name "$IF_BA" netns "$NS_B"
b ip addr add 198.18.1.1/24 dev "$IF_B"
cli ip addr add 198.18.1.2/24 dev "$IF_BC"
srv ip addr add 198.18.2.1/24 dev "$IF_AB"
b ip addr add 198.18.2.2/24 dev "$IF_BA"
for l in "$IF_B" "$IF_BA"; do b ip link set "$l" up; done
# The client's lab addresses reach host B over its link too.
b ip route add 198.18.0.0/24 dev "$IF_B"
cli ip link set "$IF_BC" up
srv ip link set "$IF_AB" up
listen_srv tcp:22 || exit 1
listen_in "$NS_B" tcp:22 || exit 1

# --- the Local API ---------------------------------------------------------------------
mkdir -p "$CS/data"
python3 "$TESTS_DIR/helpers/crowdsec_config.py" "$CS" "$LAPI_ADDR" || exit 1
start_lapi() {
	bg_in "$NS_SRV" crowdsec -c "$CS/config.yaml" -no-cs >"$CS/lapi.log" 2>&1
	LAPI_PID=${LAB_PIDS[-1]}
	wait_for "$CS/lapi.log" "Local API listening" 20
}
start_lapi || { not_ok crowdsec-lapi "the Local API did not start: $(tail -3 "$CS/lapi.log")"; exit 1; }
cs machines add cli --auto -f "$CS/cscli-creds.yaml" --url "$URL" >/dev/null
cs machines add pchost --auto -f "$CS/push-creds.yaml" --url "$URL" >/dev/null
cs bouncers add pc-a -o raw >"$CS/key-a"
cs bouncers add pc-b -o raw >"$CS/key-b"
check "cscli made the bouncer keys and machine credentials" \
	test -s "$CS/key-a" -a -s "$CS/key-b" -a -s "$CS/push-creds.yaml"

conf=$(write_config a.conf "allow tcp 22" "scan-detect ports 5 window 10s ban 1h" \
	"crowdsec url $URL key @$CS/key-a poll 1s" "crowdsec push @$CS/push-creds.yaml")
conf_b=$(write_config b.conf "allow tcp 22" "crowdsec url $URL key @$CS/key-b poll 1s")

# ban_field ADDRESS FIELD [NS]: FIELD of ADDRESS's ban on host A (or on B with b).
ban_field() {
	${3:-srv} "$PC" bans "${4:-$IF_SRV}" --json | python3 -c '
import json, sys
for ban in json.load(sys.stdin):
    if ban["address"] == sys.argv[1]:
        print(ban[sys.argv[2]])' "$1" "$2"
}
# within SECONDS CMD...: CMD succeeds within SECONDS (polled every 0.2 s).
within() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@"; do
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.2
	done
}
banned_as() { test "$(ban_field "$1" reason)" = "$2"; }
not_banned() { test -z "$(ban_field "$1" reason)"; }
metric() {
	srv curl -s "http://127.0.0.1:$PORT/metrics" --noproxy '*' 2>/dev/null |
		grep -F "$1{interface=\"$IF_SRV\",$2}" | awk '{print $2}'
}

start_run "$TEST_TMP/run1.log" || { not_ok crowdsec-run "run did not start: $(cat "$TEST_TMP/run1.log")"; exit 1; }
check "run says it bounces and reports" grep -q "crowdsec: bouncing decisions of $URL; reporting scan bans" \
	"$TEST_TMP/run1.log"

# --- decisions become bans, deletions lift them ----------------------------------------
check "before: the client reaches tcp/22" reach tcp "$SRV4" 22
cs decisions add -i "$CLI4" -d 1h >/dev/null
cs decisions add -r 198.18.9.0/24 -d 30m >/dev/null
check "an Ip decision becomes a crowdsec ban within one poll" within 3 banned_as "$CLI4" crowdsec
check "a Range decision becomes a crowdsec prefix ban" within 3 banned_as 198.18.9.0/24 crowdsec
left=$(ban_field 198.18.9.0/24 expires_in)
check "with the decision's remaining time ($left s of 1800)" test "${left:-0}" -gt 1780 -a "${left:-0}" -le 1800
check_not "the banned client is dropped" reach tcp "$SRV4" 22
check "metrics: portcullis_banned_sources{reason=crowdsec} is 2" \
	test "$(metric portcullis_banned_sources 'reason="crowdsec"')" = 2
cs decisions delete -i "$CLI4" >/dev/null
check "a deleted decision is lifted within one poll" within 3 not_banned "$CLI4"
check "the client is back" reach tcp "$SRV4" 22
pc ban "$IF_SRV" 198.18.12.7 --for 1h >/dev/null 2>&1
cs decisions add -i 198.18.12.7 -d 5m >/dev/null
sleep 2.5
cs decisions delete -i 198.18.12.7 >/dev/null
sleep 2.5
check "a decision never lifts a manual ban of the same source" banned_as 198.18.12.7 manual
check "syncs are counted as successes" test "$(metric portcullis_crowdsec_sync_total 'result="success"')" -ge 3

# --- a restart of run resyncs ----------------------------------------------------------
kill -TERM "$RUN_PID"
wait "$RUN_PID"
cs decisions delete -r 198.18.9.0/24 >/dev/null
cs decisions add -i 198.18.11.1 -d 1h >/dev/null
start_run "$TEST_TMP/run2.log"
check "restart: a decision deleted while run was down is lifted" within 3 not_banned 198.18.9.0/24
check "restart: one added meanwhile is applied" within 3 banned_as 198.18.11.1 crowdsec

# --- SIGHUP: the crowdsec lines follow the file ------------------------------------------
kill -HUP "$RUN_PID"
wait_for "$TEST_TMP/run2.log" "reloaded" 5
check "SIGHUP, crowdsec lines unchanged: the bouncer goes on (no restart)" \
	bash -c "! grep -q 'crowdsec: settings changed' '$TEST_TMP/run2.log'"
write_config a.conf "allow tcp 22" "scan-detect ports 5 window 10s ban 1h" \
	"crowdsec url $URL key @$CS/key-a poll 2s" "crowdsec push @$CS/push-creds.yaml" >/dev/null
kill -HUP "$RUN_PID"
check "SIGHUP, poll changed: run restarts the bouncer" \
	wait_for "$TEST_TMP/run2.log" "crowdsec: settings changed: restarting" 5
cs decisions add -i 198.18.11.2 -d 1h >/dev/null
check "and its decisions flow" within 5 banned_as 198.18.11.2 crowdsec

# --- a scan here: an alert there, and host B drops the scanner --------------------------
b "$PC" attach "$IF_B" -c "$conf_b" >/dev/null 2>&1
bg_in "$NS_B" "$PC" run "$IF_B" -c "$conf_b" --listen 127.0.0.1:$PORT 2>"$TEST_TMP/run-b.log"
wait_for "$TEST_TMP/run-b.log" "metrics at" 10
# reach_b SOURCE: the client, from SOURCE, reaches host B's tcp/22.
reach_b() { cli python3 "$TESTS_DIR/helpers/probe.py" tcp 198.18.1.1 22 1 "$1" >/dev/null 2>&1; }
check "before: the scanner reaches host B" reach_b "$CLI4"
scan_start=$(date +%s%N)
probes=()
for port in 2001 2002 2003 2004 2005 2006; do
	cli python3 "$TESTS_DIR/helpers/probe.py" tcp "$SRV4" "$port" 0.2 >/dev/null 2>&1 &
	probes+=($!)
done
wait "${probes[@]}"
check "the scan is banned on host A" within 3 banned_as "$CLI4" scan
alert_found() {
	cs alerts list -o json | python3 -c '
import json, sys
alerts = json.load(sys.stdin) or []
ok = [a for a in alerts if a.get("scenario") == "portcullis/port-scan"
      and a.get("source", {}).get("value") == sys.argv[1]
      and any(d.get("type") == "ban" for d in a.get("decisions") or [])]
sys.exit(0 if ok else 1)' "$CLI4"
}
check "it shows up in cscli alerts list with a ban decision" within 5 alert_found
banned_on_b() { test "$(ban_field "$CLI4" reason b "$IF_B")" = crowdsec; }
if within 15 banned_on_b; then
	ok "host B bans the scanner from the Local API"
	echo "scan on host A to ban on host B: $((($(date +%s%N) - scan_start) / 1000000)) ms"
else
	not_ok "host B bans the scanner from the Local API" "$(tail -3 "$TEST_TMP/run-b.log")"
fi
check_not "and drops it" reach_b "$CLI4"
check "host B still serves others ($CLI4B)" reach_b "$CLI4B"
check "host A keeps its own scan ban (the decision that came back does not replace it)" \
	banned_as "$CLI4" scan

# --- the Local API down: filtering and run go on, failures are counted ------------------
failures=$(metric portcullis_crowdsec_sync_total 'result="failure"')
kill "$LAPI_PID"
wait "$LAPI_PID" 2>/dev/null
sleep 3.5
check "LAPI down: failures are counted" \
	test "$(metric portcullis_crowdsec_sync_total 'result="failure"')" -gt "${failures:-0}"
check "LAPI down: run logs it once" test "$(grep -c 'decision stream failed' "$TEST_TMP/run2.log")" -eq 1
check "LAPI down: run still serves /metrics" test -n "$(metric portcullis_banned_sources 'reason="scan"')"
check "LAPI down: crowdsec bans stay in force" banned_as 198.18.11.1 crowdsec
check "LAPI down: filtering goes on (allowed client $CLI4B)" \
	probe_from cli tcp "$SRV4" 22 1 "$CLI4B"
check "LAPI down: run is alive" kill -0 "$RUN_PID"
start_lapi
cs decisions add -i 198.18.13.1 -d 1h >/dev/null
check "LAPI back: decisions flow again" within 15 banned_as 198.18.13.1 crowdsec
check "LAPI back: run says so" grep -q "decision stream works again" "$TEST_TMP/run2.log"

# --- throughput: decisions applied per second at startup --------------------------------
kill -TERM "$RUN_PID"
wait "$RUN_PID"
python3 -c '
import json, sys
json.dump([{"duration": "2h", "scope": "ip", "type": "ban", "value": "198.19.%d.%d" % (i // 250, i % 250 + 1)}
           for i in range(10000)], open(sys.argv[1], "w"))' "$CS/many.json"
cs decisions import -i "$CS/many.json" >/dev/null
start_run "$TEST_TMP/run3.log"
if wait_for "$TEST_TMP/run3.log" "decisions synced" 30; then
	synced=$(grep -o "decisions synced.*" "$TEST_TMP/run3.log" | head -1)
	echo "$synced"
	check "restart with 10,000 more decisions: all applied" grep -q "(10000 new)" <<<"$synced"
else
	not_ok "restart with 10,000 more decisions: synced" "$(tail -3 "$TEST_TMP/run3.log")"
fi
