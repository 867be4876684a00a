#!/bin/bash
# Per-source rate limits with real traffic: "limit tcp 2200 rate 5/30s" lets
# a source make 5 connections and drops the 6th (rate-limited), another
# source and an exempt one are not affected, a port without a limit is not
# either; UDP the same with datagrams; IPv6 by /64. Then a live-frames flood
# of spoofed sources at a limited port: a client being limited stays
# limited, an honest client at the allowed rate is never dropped, and the
# maps do not grow. Bad limit lines are refused and change nothing.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter bpftool

EXEMPT4=198.18.0.4

lab_up || { not_ok ratelimit-lab "could not build the lab"; exit 1; }
cli ip addr add "$EXEMPT4/24" dev "$IF_CLI"
listen_srv tcp:80 tcp:2200 tcp:2300 udp:5300 || exit 1
conf=$(write_config ratelimit.conf "allow tcp 80,2200,2300" "allow udp 5300" \
	"limit tcp 2200 rate 5/30s" "limit udp 5300 rate 3/30s burst 3" \
	"limit tcp 2300 rate 5/10s" "exempt from $EXEMPT4")
check "attach with limit lines" pc attach "$IF_SRV" -c "$conf"

# connections FROM PROTO PORT N: how many of N attempts the listener answered.
connections() {
	local host=$SRV4 n=0
	[[ $1 == *:* ]] && host=$SRV6
	for _ in $(seq "$4"); do
		reach "$2" "$host" "$3" 0.5 "$1" && n=$((n + 1))
	done
	echo "$n"
}

# expect_count NAME WANT GOT
expect_count() {
	if [ "$3" -eq "$2" ]; then ok "$1"; else not_ok "$1" "$3 answered, expected $2"; fi
}

drops0=$(stats_field '["drops"]["rate-limited"]')
expect_count "tcp 2200 rate 5/30s: 5 connections from $CLI4 in a row" 5 \
	"$(connections "$CLI4" tcp 2200 5)"
expect_count "the 6th within 30 s is dropped" 0 "$(connections "$CLI4" tcp 2200 1)"
expect_count "another source ($CLI4B) makes its 5" 5 "$(connections "$CLI4B" tcp 2200 5)"
expect_count "the exempt $EXEMPT4 is never limited (8 of 8)" 8 \
	"$(connections "$EXEMPT4" tcp 2200 8)"
expect_count "tcp 80 has no limit: 10 of 10 from $CLI4" 10 "$(connections "$CLI4" tcp 80 10)"
expect_count "ipv6 $CLI6: 5 connections" 5 "$(connections "$CLI6" tcp 2200 5)"
expect_count "ipv6: the 6th is dropped" 0 "$(connections "$CLI6" tcp 2200 1)"
expect_count "udp 5300 rate 3/30s: 3 datagrams answered" 3 "$(connections "$CLI4" udp 5300 3)"
expect_count "the 4th is dropped" 0 "$(connections "$CLI4" udp 5300 1)"
expect_count "udp from another source: answered" 1 "$(connections "$CLI4B" udp 5300 1)"
drops=$(($(stats_field '["drops"]["rate-limited"]') - drops0))
check "stats counts the 3 drops as rate-limited ($drops)" test "$drops" -eq 3
pc metrics "$IF_SRV" >"$TEST_TMP/metrics.prom"
check "metrics export the rate-limited drops" \
	grep -qE "^portcullis_drops_total\{interface=\"$IF_SRV\",reason=\"rate-limited\"\} [1-9]" \
	"$TEST_TMP/metrics.prom"

# --- bad limit lines: refused, the rules in force unchanged -------------------------------
bad() {
	local name=$1 pattern=$2 file
	shift 2
	file=$(write_config bad.conf "allow tcp 2200" "$@")
	expect_exit "$name" 2 "$pattern" pc reload "$IF_SRV" -c "$file"
}
bad "rate 0/30s is refused" "bad.conf:2: bad rate '0/30s'" "limit tcp 2200 rate 0/30s"
bad "burst 0 is refused" "bad.conf:2: bad burst '0'" "limit tcp 2200 rate 5/30s burst 0"
bad "a bad duration is refused" "bad.conf:2: bad rate '5/30x': bad duration" \
	"limit tcp 2200 rate 5/30x"
bad "a limit on a port not allowed is refused" "bad.conf:2: limit: tcp port 23 is not allowed" \
	"limit tcp 23 rate 5/30s"
check "allow tcp 2200 at runtime (open already)" pc allow "$IF_SRV" tcp 2200
# Tokens have come back since (at most 5): the limit shows as drops in 8 more.
held=$(connections "$CLI4" tcp 2200 8)
check "after both the limit holds ($held of 8 from $CLI4 answered)" test "$held" -lt 8

# --- a spoofed flood at a limited port --------------------------------------------------
PCBENCH=${PCBENCH:-$(dirname "$PC")/../bench/pcbench}
[ -x "$PCBENCH" ] || PCBENCH=$TESTS_DIR/../build/bench/pcbench
if [ ! -x "$PCBENCH" ]; then
	skip "ratelimit flood" "the live-frames generator (build/bench/pcbench) is not built"
	exit 0
fi
FRAMES=${RATELIMIT_FLOOD_FRAMES:-3000000}
before=$(map_memory)
# tcp 2300 rate 5/10s: a token every 2 s. The attacker spends its 5 at once
# and then tries every 0.25 s; the honest client connects every 2.5 s.
t_first=$(date +%s.%N)
expect_count "tcp 2300: the attacker $CLI4 spends its 5" 5 "$(connections "$CLI4" tcp 2300 5)"
stop="$TEST_TMP/stop"
bg_in "$NS_CLI" python3 "$TESTS_DIR/helpers/hammer.py" "$SRV4" 2300 "$stop" "$CLI4" 0.25 \
	>"$TEST_TMP/attacker.out" 2>&1
attacker=${LAB_PIDS[-1]}
bg_in "$NS_CLI" python3 "$TESTS_DIR/helpers/hammer.py" "$SRV4" 2300 "$stop" "$CLI4B" 2.5 \
	>"$TEST_TMP/honest.out" 2>&1
honest=${LAB_PIDS[-1]}
# SYNs to tcp 2300 from a pool of 120,000 sources from 198.18.1.0 (clear of
# the clients), as fast as the generator goes.
line=$("$PCBENCH" live -g "/run/netns/$NS_CLI" -R "/run/netns/$NS_SRV" -t "$IF_CLI" \
	-i "$IF_SRV" -f none -p 2300 -s 120000 -n "$FRAMES" -l ratelimit-flood 2>&1)
rc=$?
# Keep both clients going a little after the flood, long enough for a token.
sleep 3
touch "$stop"
wait "$attacker"
wait "$honest"
t_last=$(date +%s.%N)
echo "flood: $line"
echo "attacker: $(cat "$TEST_TMP/attacker.out"); honest: $(cat "$TEST_TMP/honest.out")"
check "the generator sent $FRAMES frames (rc $rc)" test "$rc" -eq 0
# field FILE NAME: the number after NAME= in hammer.py's report, empty if none.
field() { grep -o "$2=[0-9]*" "$1" | cut -d= -f2; }
a_ok=$(field "$TEST_TMP/attacker.out" ok)
a_failed=$(field "$TEST_TMP/attacker.out" failed)
h_ok=$(field "$TEST_TMP/honest.out" ok)
h_failed=$(field "$TEST_TMP/honest.out" failed)
# From its first SYN on, the attacker gets the 5 of the burst and a token
# every 2 s, one more for the edges: all the others are dropped.
most=$(python3 -c "print(int(($t_last - $t_first) / 2) + 1)")
check "the attacker's limit held through the flood ($a_ok answered, $a_failed not, at most $most)" \
	test "${a_ok:-99}" -le "$most" -a "${a_failed:-0}" -gt "${a_ok:-99}"
check "the honest client was never dropped ($h_ok answered, $h_failed not)" \
	test "${h_failed:-1}" -eq 0 -a "${h_ok:-0}" -ge 2
after=$(map_memory)
check "map memory unchanged by the flood ($before -> $after bytes)" test "$before" -eq "$after"
check "detach" pc detach "$IF_SRV"
