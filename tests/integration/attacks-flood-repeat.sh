#!/bin/bash
# The ban-table flood, with repeat offenders (issue 12), an attack that must
# fail: the attacker first makes 60,000 spoofed sources repeat offenders
# (banned once, then again, so their bans are 4x longer than a first ban),
# then floods new sources while a real scanner gets its first, shortest ban.
# If a full table evicted the ban that expires soonest (as the contract's
# wording has it), the real scanner's ban would be the first to go. The
# contract also says: "A scanner banned while a spoofed flood fills the table
# stays banned until at least a table's worth of newer bans has been made";
# here far fewer are made.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/helpers/attacks.sh"
need python3 nsenter nmap

TABLE=65536 BAN=10 # long enough to outlive the listing of 65,536 bans on a busy machine
# The repeat offenders stay below the 65,536 sources the detector remembers
# for repeat bans (pc_offenders); newcomers fill the table up.
REPEATERS=60000 FILLERS=6000 SECOND_WAVE=20000

lab_up || { not_ok attacks-flood-repeat-lab "could not build the lab"; exit 1; }
forge_target
listen_srv tcp:22 || exit 1
conf=$(write_config flood.conf "allow tcp 22" "scan-detect ports 5 window 10s ban ${BAN}s max 1h")
check "attach with ${BAN} s bans, 4x for repeat offenders" pc attach "$IF_SRV" -c "$conf"


start=$(date +%s)
echo "first wave: $(wave 0 $REPEATERS)"
sleep $((BAN + 1))
echo "first wave again, after its bans expired: $(wave 0 $REPEATERS)"
echo "fillers: $(wave $REPEATERS $FILLERS)"
active=$(stats_field '["bans"]["active"]')
check "the repeat offenders fill the ban table ($active)" test "$active" -ge $((TABLE - 100))
longer=$(pc_bounded bans "$IF_SRV" --json | python3 -c "
import json, sys
print(sum(1 for b in json.load(sys.stdin) if b['expires_in'] > $BAN + 1))")
check "the attacker's sources are repeat offenders: $longer of them have 4x bans" \
	test "${longer:-0}" -gt $((REPEATERS / 2))

# The real scanner: its first ban, so the one that expires soonest.
bg_in "$NS_CLI" nmap -n -Pn -T4 --max-retries 2 -sS -p 2000-2099 -S "$CLI4" "$SRV4"
nmap_pid=${LAB_PIDS[-1]}
for _ in $(seq 50); do banned "$CLI4" && break; sleep 0.1; done
check "the nmap scanner is banned while the table is full" banned "$CLI4"
echo "second wave: $(wave $((REPEATERS + FILLERS)) $SECOND_WAVE)"
check "after $SECOND_WAVE newer bans the nmap scanner is still banned" banned "$CLI4"
check_not "and cut off from tcp/22" from "$CLI4" tcp 22
kill "$nmap_pid" 2>/dev/null
wait "$nmap_pid" 2>/dev/null
echo "the test took $(($(date +%s) - start)) s; stats bans: $(stats_field '["bans"]')"
check "detach" pc detach "$IF_SRV"
