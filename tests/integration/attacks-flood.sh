#!/bin/bash
# The ban-table flood (issue 12), an attack that must fail: spoofed sources,
# each scanning enough ports to be banned, make more scan bans than the
# table holds (65,536), so that a real scanner would go unbanned and
# "portcullis ban" would fail with "the ban table is full". Instead, a real
# nmap scan during the flood is banned and stays banned while newer bans
# evict older ones, manual bans always succeed and are never evicted, and
# portcullis_ban_evictions_total counts the evictions.
#
# The flood comes from forge.py scan-flood (about 200,000 frames a second):
# each spoofed source sends SYNs to 6 closed ports in a row, which is what
# it takes to get through the detector's pre-filter to a ban.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/helpers/attacks.sh"
need python3 nsenter nmap

TABLE=65536
MANUAL=198.18.0.9 MANUAL2=198.18.0.10
FIRST_WAVE=66000 SECOND_WAVE=30000 THIRD_WAVE=5000

lab_up || { not_ok attacks-flood-lab "could not build the lab"; exit 1; }
for a in $MANUAL $MANUAL2; do cli ip addr add "$a/24" dev "$IF_CLI"; done
forge_target
listen_srv tcp:22 || exit 1
conf=$(write_config flood.conf "allow tcp 22" "scan-detect ports 5 window 10s ban 5m")
check "attach with a 5-port detector and 5 m bans" pc attach "$IF_SRV" -c "$conf"
check "the scanner-to-be reaches tcp/22 before the flood" from "$CLI4" tcp 22

bans_made() { stats_field '["bans"]["total"]'; }

start=$(date +%s)
echo "first wave: $(wave 0 $FIRST_WAVE)"
made=$(bans_made)
active=$(stats_field '["bans"]["active"]')
check "the first wave filled the ban table ($active bans in force, $made made)" \
	test "$active" -ge $((TABLE - 100))

# A real nmap scan while the table is full and the flood goes on.
bg_in "$NS_CLI" nmap -n -Pn -T4 --max-retries 2 -sS -p 2000-2099 -S "$CLI4" "$SRV4"
nmap_pid=${LAB_PIDS[-1]}
echo "second wave: $(wave $FIRST_WAVE $SECOND_WAVE)"
for _ in $(seq 300); do kill -0 "$nmap_pid" 2>/dev/null || break; sleep 0.1; done
kill "$nmap_pid" 2>/dev/null
wait "$nmap_pid" 2>/dev/null
made=$(bans_made)
check "more scan bans were made than the table holds ($made)" test "$made" -gt $TABLE
check "the nmap scanner during the flood is banned" banned "$CLI4"
check_not "and cut off from tcp/22" from "$CLI4" tcp 22
n=$(metric portcullis_ban_evictions_total)
check "portcullis_ban_evictions_total counts the evictions ($n)" \
	test "$n" != none -a "${n%.*}" -gt 0 2>/dev/null

check "a manual ban while the table is full succeeds" pc ban "$IF_SRV" "$MANUAL"
check "and is in force" banned "$MANUAL"
check_not "the manually banned source is cut off" from "$MANUAL" tcp 22
check "a manual ban with --for succeeds too" pc ban "$IF_SRV" "$MANUAL2" --for 1h
echo "third wave: $(wave $((FIRST_WAVE + SECOND_WAVE)) $THIRD_WAVE)"
check "the nmap scanner's ban is still in force after the flood" banned "$CLI4"
check "the manual ban survived the third wave" banned "$MANUAL"
check "so did the one with --for" banned "$MANUAL2"
check "an innocent source still reaches tcp/22" from "$CLI4B" tcp 22
echo "the flood test took $(($(date +%s) - start)) s; stats bans:" \
	"$(stats_field '["bans"]')"
check "detach" pc detach "$IF_SRV"
