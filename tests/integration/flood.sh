#!/bin/bash
# A spoofed-source flood against the filter: 5 million live frames (SYNs to a
# closed port from 65,536 cycling 198.18.x.y sources) pushed across the veth
# with BPF_F_TEST_XDP_LIVE_FRAMES. The maps must not grow, bans made before
# the flood must survive it, and an allowed TCP service must stay reachable
# throughout.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter nmap bpftool
need_pcbench flood
FRAMES=${FLOOD_FRAMES:-5000000}
MANUAL=198.19.0.99

lab_up || { not_ok flood-lab "could not build the lab"; exit 1; }
listen_srv tcp:22 || exit 1
conf=$(write_config flood.conf "allow tcp 22" "scan-detect ports 20 window 10s ban 1h")
check "attach" pc attach "$IF_SRV" -c "$conf"

banned() { pc bans "$IF_SRV" --json | grep -q "\"address\": \"$1\""; }

# Bans from before the flood: one by hand, one by the detector (an IPv6 scan,
# so the flood's IPv4 sources cannot be confused with it).
check "manual ban before the flood" pc ban "$IF_SRV" "$MANUAL" --for 1h
cli nmap -6 -n -Pn -T4 --max-retries 1 -sS -p 2000-2099 -S "$CLI6" "$SRV6" >/dev/null 2>&1
check "scan ban before the flood" banned "2001:2::/64"
before=$(map_memory)

# An allowed service, used throughout. The flood spoofs this client's address
# too, but only ever towards one closed port, which is not a scan.
stop="$TEST_TMP/stop"
bg_in "$NS_CLI" python3 "$TESTS_DIR/helpers/hammer.py" "$SRV4" 22 "$stop" >"$TEST_TMP/hammer.out" 2>&1
hammer=${LAB_PIDS[-1]}
drops_before=$(stats_field '["drops"]["not-allowed"]')

start=$(date +%s.%N)
line=$("$PCBENCH" live -g "/run/netns/$NS_CLI" -R "/run/netns/$NS_SRV" -t "$IF_CLI" \
	-i "$IF_SRV" -f none -p 8080 -n "$FRAMES" -l flood 2>&1)
rc=$?
end=$(date +%s.%N)
sleep 0.5
touch "$stop"
wait "$hammer"
hammer_rc=$?
received=$(cut -f5 <<<"$line")
echo "flood: $line"
echo "flood took $(python3 -c "print('%.1f' % ($end - $start))") s"
check "the generator sent $FRAMES frames (rc $rc)" test "$rc" -eq 0
# A veth's queue overflows when the receiving CPU is busy: what counts is that
# millions arrived, and that the filter dropped every one of them.
check "the filter's side received a flood of them ($received)" test "${received:-0}" -ge $((FRAMES / 5))
drops_after=$(stats_field '["drops"]["not-allowed"]')
dropped=$((drops_after - drops_before))
check "the filter dropped all it received as not-allowed ($dropped)" \
	test "$dropped" -ge $((received * 99 / 100))
if [ "$hammer_rc" -eq 0 ]; then
	ok "tcp/22 reachable throughout the flood ($(cat "$TEST_TMP/hammer.out"))"
else
	not_ok "tcp/22 reachable throughout the flood" "$(cat "$TEST_TMP/hammer.out")"
fi
after=$(map_memory)
check "map memory unchanged by the flood ($before -> $after bytes)" test "$before" -eq "$after"
check "the manual ban survived the flood" banned "$MANUAL"
check "the scan ban survived the flood" banned "2001:2::/64"
full=$(stats_field '["bans"]["table_full"]')
check "no ban was refused for lack of room ($full)" test "$full" -eq 0
check "detach" pc detach "$IF_SRV"
