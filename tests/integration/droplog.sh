#!/bin/bash
# The sampled drop log under a flood: with "log drops 10", `portcullis log`
# prints at most about 10 lines a second in the contract's format and says
# how many drops it suppressed; `run` logs the same lines. Also stats --top
# after a sweep of closed ports and NDJSON from stats --json --watch.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter bpftool

TS='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
PORT=$((19000 + LAB_ID % 1000))

lab_up || { not_ok droplog-lab "could not build the lab"; exit 1; }
listen_srv tcp:22 || exit 1
conf=$(write_config droplog.conf "allow tcp 22" "scan-detect off" "log drops 10")
check "attach with log drops 10" pc attach "$IF_SRV" -c "$conf"
bg_in "$NS_SRV" "$PC" log "$IF_SRV" >"$TEST_TMP/log.out" 2>"$TEST_TMP/log.err"
sleep 0.3

# One SYN each to a closed port over IPv4 and IPv6, for the line format.
reach tcp "$SRV4" 8080 0.3
reach tcp "$SRV6" 8080 0.3
check "an IPv4 SYN to a closed port is one line in the contract's format" \
	wait_for "$TEST_TMP/log.out" \
	"^$TS drop not-allowed tcp $CLI4:[0-9]+ -> $SRV4:8080 flags S len [0-9]+\$" 3
check "IPv6 addresses are written [addr]:port" \
	wait_for "$TEST_TMP/log.out" \
	"^$TS drop not-allowed tcp \[$CLI6\]:[0-9]+ -> \[$SRV6\]:8080 flags S len [0-9]+\$" 3
check "an allowed connection leaves no line" reach tcp "$SRV4" 22
check_not "(none for tcp/22)" grep -q -- "-> $SRV4:22 " "$TEST_TMP/log.out"
sleep 1.2 # a fresh second's budget for the flood

# A UDP flood against a closed port for 3 s.
before=$(stats_field '["drops"]["not-allowed"]')
cli python3 -c "
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + 3
while time.time() < end:
    for _ in range(200):
        s.sendto(b'x' * 32, ('$SRV4', 9999))
"
sleep 1.5 # the reader's once-a-second look at the suppressed count
after=$(stats_field '["drops"]["not-allowed"]')
dropped=$((after - before))
echo "flood: $dropped drops"
grep -E "udp .*:9999 " "$TEST_TMP/log.out" >"$TEST_TMP/flood.lines"
lines=$(wc -l <"$TEST_TMP/flood.lines")
busiest=$(cut -c1-19 "$TEST_TMP/flood.lines" | sort | uniq -c | sort -rn | awk 'NR == 1 {print $1}')
suppressed=$(grep -E "^$TS suppressed [0-9]+ drops \(rate limit 10/s\)\$" "$TEST_TMP/log.out" |
	awk '{n += $3} END {print n + 0}')
check "the flood was dropped ($dropped drops)" test "$dropped" -ge 1000
check "the log printed at most about 10 lines a second (busiest second: ${busiest:-0})" \
	test "${busiest:-0}" -le 12 -a "${busiest:-0}" -ge 8
check "and about 10 a second over the flood ($lines lines in ~3 s)" \
	test "$lines" -ge 25 -a "$lines" -le 36
check "it said how many drops it suppressed ($suppressed)" test "$suppressed" -gt 0
check "lines plus suppressed account for every drop ($lines + $suppressed of $dropped)" \
	test $((lines + suppressed)) -ge $((dropped - 10)) -a $((lines + suppressed)) -le "$dropped"
check "flood lines have the format" grep -qE \
	"^$TS drop not-allowed udp $CLI4:[0-9]+ -> $SRV4:9999 len [0-9]+\$" "$TEST_TMP/flood.lines"
check "log said nothing on stderr" test ! -s "$TEST_TMP/log.err"
kill "${LAB_PIDS[-1]}" 2>/dev/null

# stats --top after a sweep of 300 closed ports, one with more drops.
cli python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for p in range(30000, 30300):
    s.sendto(b'x', ('$SRV4', p))
"
top=$(pc stats "$IF_SRV" --top 3)
echo "$top" | tail -6
rows=$(grep -cE "^(tcp|udp) +[0-9]+ " <<<"$top")
check "stats --top 3 lists 3 ports ($rows)" test "$rows" -eq 3
check "the busiest first: udp 9999" grep -qE "^udp +9999 +no" <<<"$(grep -E "^(tcp|udp) " <<<"$top" | head -1)"
check "and says how many more ports had drops" grep -qE "^\([0-9]+ more ports with drops\)" <<<"$top"
json_rows=$(pc stats "$IF_SRV" --json --top 2 | python3 -c "import json,sys; print(len(json.load(sys.stdin)['ports']))")
check "stats --json --top 2 has 2 ports ($json_rows)" test "$json_rows" = 2

# NDJSON: stats --json --watch prints one object a line.
timeout -s INT 1.3 nsenter --net="/run/netns/$NS_SRV" "$PC" stats "$IF_SRV" --json --watch 0.2 \
	>"$TEST_TMP/watch.ndjson" 2>&1
n=$(wc -l <"$TEST_TMP/watch.ndjson")
check "stats --json --watch 0.2 printed a line a tick ($n in 1.3 s)" test "$n" -ge 4
check "every line parses as JSON on its own" python3 -c "
import json, sys
for line in open('$TEST_TMP/watch.ndjson'):
    json.loads(line)['totals']['drop_packets']
"

# run sends the same lines to its log (and syslog).
check "detach" pc detach "$IF_SRV"
start_run "$TEST_TMP/run.log" >/dev/null || not_ok "run started" "$(cat "$TEST_TMP/run.log")"
reach tcp "$SRV4" 8081 0.3
check "run logs a dropped SYN as the same line" wait_for "$TEST_TMP/run.log" \
	"$IF_SRV: $TS drop not-allowed tcp $CLI4:[0-9]+ -> $SRV4:8081 flags S len [0-9]+\$" 3
kill -TERM "$RUN_PID"
wait "$RUN_PID" 2>/dev/null
pc detach "$IF_SRV" >/dev/null 2>&1
exit 0
