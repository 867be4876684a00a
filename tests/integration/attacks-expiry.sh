#!/bin/bash
# After the flood (issue 12's ban-table flood, second act), an attack that
# must fail: tens of thousands of spoofed scan bans expire together, next to
# bans still in force. Whatever walks the ban table then (bans, events, run)
# must answer in seconds and list each ban once: the flood must not turn the
# sweep of expired bans into minutes of work or a list of duplicates.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/helpers/attacks.sh"
need python3 nsenter timeout

EXPIRING=30000 LASTING=300

lab_up || { not_ok attacks-expiry-lab "could not build the lab"; exit 1; }
forge_target
listen_srv tcp:22 || exit 1
short=$(write_config short.conf "allow tcp 22" "scan-detect ports 5 window 10s ban 2s")
long=$(write_config long.conf "allow tcp 22" "scan-detect ports 5 window 10s ban 1h")
check "attach with 2 s bans" pc attach "$IF_SRV" -c "$short"

echo "expiring wave: $(wave_from 198.18.1.0 $EXPIRING)"
check "reload with 1 h bans" pc reload "$IF_SRV" -c "$long"
echo "lasting wave: $(wave_from 198.19.0.0 $LASTING)"
made=$(stats_field '["bans"]["total"]')
check "the waves made $((EXPIRING + LASTING)) bans ($made)" \
	test "$made" -ge $((EXPIRING + LASTING - 50))
sleep 3

start=$(date +%s%N)
pc_bounded bans "$IF_SRV" --json >"$TEST_TMP/bans.json"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "bans answers within 5 s once $EXPIRING bans expired ($ms ms, exit $rc)" \
	test "$rc" -eq 0 -a "$ms" -lt 5000
counts=$(python3 -c '
import json, sys
try:
    bans = json.load(open(sys.argv[1]))
except ValueError:
    bans = []
print(len(bans), len({b["address"] for b in bans}))' "$TEST_TMP/bans.json")
read -r entries distinct <<<"$counts"
check "it lists the $LASTING bans in force ($distinct)" test "$distinct" -eq $LASTING
check "each once ($entries entries)" test "$entries" -eq "$distinct"
start=$(date +%s%N)
pc_bounded bans "$IF_SRV" --json >/dev/null
ms=$((($(date +%s%N) - start) / 1000000))
check "and answers again within 5 s ($ms ms)" test "$ms" -lt 5000

# The same again with "events" following: it walks the table every moment.
check "reload with 2 s bans" pc reload "$IF_SRV" -c "$short"
bg_in "$NS_SRV" "$PC" events "$IF_SRV" >"$TEST_TMP/events.log" 2>&1
echo "expiring wave while events follows: $(wave_from 198.18.128.0 $EXPIRING)"
# List the table while its 2 s bans expire: a ban that expires during the
# listing must not come out with 584 years left (an unsigned underflow).
most=0
stop=$(($(date +%s%N) + 3000000000))
for _ in $(seq 20); do
	[ "$(date +%s%N)" -lt "$stop" ] || break
	left=$(pc_bounded bans "$IF_SRV" --json | python3 -c '
import json, sys
print(max([0] + [b["expires_in"] for b in json.load(sys.stdin)]))' 2>/dev/null)
	[ "${left:-0}" -gt "$most" ] && most=$left
done
check "no ban listed while bans expire has more than the 1 h any ban got ($most s)" \
	test "$most" -le 3600
check "events reports the expiries within 5 s" wait_for "$TEST_TMP/events.log" "^[0-9T:.-]+Z expire " 5
start=$(date +%s%N)
pc_bounded bans "$IF_SRV" --json >"$TEST_TMP/bans.json"
ms=$((($(date +%s%N) - start) / 1000000))
n=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))))' "$TEST_TMP/bans.json")
check "and bans still answers within 5 s with the $LASTING bans in force ($ms ms, $n)" \
	test "$ms" -lt 5000 -a "$n" -eq $LASTING
check "detach" pc detach "$IF_SRV"
