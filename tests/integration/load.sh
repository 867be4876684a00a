#!/bin/bash
# Load: 10 million live frames of mixed traffic (SYNs to an allowed port, to a
# closed port, Xmas probes, and 16,384 spoofed sources scanning) into an
# interface that `portcullis run` watches. An allowed TCP service must stay
# reachable throughout, the maps' memory must not change, and the service's
# own memory must stay flat while it logs thousands of bans.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter bpftool curl
need_pcbench load
FRAMES=${LOAD_FRAMES:-10000000}
PORT=$((20000 + LAB_ID % 20000))

lab_up || { not_ok load-lab "could not build the lab"; exit 1; }
listen_srv tcp:22 tcp:80 || exit 1
conf=$(write_config load.conf "allow tcp 22,80" "scan-detect ports 20 window 10s ban 10m")
chmod 600 "$conf"

# The service's memory is measured on the plain build: ASan keeps freed memory
# in quarantine, so an ASan process grows by design.
RUN_PC=$(dirname "$PC")/../portcullis
[ -x "$RUN_PC" ] || RUN_PC=$PC
bg_in "$NS_SRV" "$RUN_PC" run "$IF_SRV" -c "$conf" --listen "127.0.0.1:$PORT" 2>"$TEST_TMP/run.log"
run_pid=${LAB_PIDS[-1]}
for _ in $(seq 100); do
	srv curl -sf "http://127.0.0.1:$PORT/metrics" >/dev/null && break
	sleep 0.1
done
check "run is serving metrics" srv curl -sf "http://127.0.0.1:$PORT/metrics" -o /dev/null

rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$run_pid/status"; }
maps_before=$(map_memory)
rss_before=$(rss)

# The allowed service from IPv6: the flood spoofs all of 198.18.0.0/16, the
# client's IPv4 address among them, and some of those sources scan.
stop="$TEST_TMP/stop"
bg_in "$NS_CLI" python3 "$TESTS_DIR/helpers/hammer.py" "$SRV6" 22 "$stop" >"$TEST_TMP/hammer.out" 2>&1
hammer=${LAB_PIDS[-1]}

line=$("$PCBENCH" live -m -g "/run/netns/$NS_CLI" -R "/run/netns/$NS_SRV" -t "$IF_CLI" \
	-i "$IF_SRV" -f none -n "$FRAMES" -l load 2>&1)
rc=$?
echo "load: $line"
sleep 2 # let run read the event ring and sweep
touch "$stop"
wait "$hammer"
hammer_rc=$?
check "the generator sent $FRAMES mixed frames (rc $rc)" test "$rc" -eq 0
received=$(cut -f5 <<<"$line")
# How many frames the receiving veth takes depends on how busy the host is:
# passed frames load its TCP stack, and a full ring drops at the sender. A
# fifth is enough to be a flood; what must hold exactly is that the filter
# counted every frame the interface took.
check "the filter's side received a flood of them ($received)" test "${received:-0}" -ge $((FRAMES / 5))
seen=$(($(stats_field '["totals"]["pass_packets"]') + $(stats_field '["totals"]["drop_packets"]')))
check "the filter counted every frame received ($seen >= $received)" test "${seen:-0}" -ge "${received:-1}"
if [ "$hammer_rc" -eq 0 ]; then
	ok "tcp/22 reachable throughout ($(cat "$TEST_TMP/hammer.out"))"
else
	not_ok "tcp/22 reachable throughout" "$(cat "$TEST_TMP/hammer.out")"
fi

for field in '["passes"]["allowed"]' '["drops"]["not-allowed"]' '["drops"]["scan-xmas"]' \
	'["drops"]["banned"]' '["bans"]["total"]'; do
	n=$(stats_field "$field")
	check "stats $field counted ($n)" test "${n:-0}" -gt 1000
done
check "the scanning sources are banned, all 16,384" \
	test "$(stats_field '["bans"]["active"]')" -eq 16384
check "map memory unchanged ($maps_before -> $(map_memory) bytes)" test "$maps_before" -eq "$(map_memory)"
for _ in $(seq 20); do srv curl -sf "http://127.0.0.1:$PORT/metrics" -o /dev/null; done
rss_after=$(rss)
check "run's memory stayed flat ($rss_before -> $rss_after KiB)" \
	test "$rss_after" -le $((rss_before + 4096))
lines=$(grep -c " ban " "$TEST_TMP/run.log")
check "run logged bans, rate-limited ($lines lines)" test "$lines" -gt 0 -a "$lines" -lt 2000
check "and said how many it held back" grep -q "more ban events not shown" "$TEST_TMP/run.log"
check "run is still alive" kill -0 "$run_pid"
kill -TERM "$run_pid"
wait "$run_pid"
check "run left the filter attached on SIGTERM" test -e "$PC_PINS/$IF_SRV/link"
