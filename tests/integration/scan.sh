#!/bin/bash
# The scan blocker with real nmap: a SYN scan of 100 closed ports bans the
# scanner (IPv4, and IPv6 per /64) while others keep working; trusted
# sources, slow scans and retries of one port are not banned; bans expire;
# ban/unban/bans/events do what they say.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter nmap bpftool

TRUSTED=198.18.0.9 FRESH=198.18.0.6 SLOW=198.18.0.7 OTHER6=2001:2::5 FAR6=2001:2:0:1::2

lab_up || { not_ok scan-lab "could not build the lab"; exit 1; }
for a in $TRUSTED $FRESH $SLOW; do cli ip addr add "$a/24" dev "$IF_CLI"; done
cli ip addr add "$OTHER6/64" dev "$IF_CLI" nodad
cli ip addr add "$FAR6/64" dev "$IF_CLI" nodad
srv ip -6 route add 2001:2:0:1::/64 dev "$IF_SRV"
listen_srv tcp:22 || exit 1

conf=$(write_config scan.conf "allow tcp 22" "allow from $TRUSTED" \
	"scan-detect ports 20 window 10s ban 1h")
check "attach" pc attach "$IF_SRV" -c "$conf"
bg_in "$NS_SRV" "$PC" events "$IF_SRV" >"$TEST_TMP/events.log" 2>&1

# from SOURCE: can SOURCE reach tcp/22?
from() {
	local host=$SRV4
	[[ $1 == *:* ]] && host=$SRV6
	reach tcp "$host" 22 1 "$1"
}
nscan() { cli nmap -n -Pn -T4 --max-retries 1 "$@" >/dev/null 2>&1; }
banned() { pc bans "$IF_SRV" --json | grep -q "\"address\": \"$1\""; }

check "scanner reaches tcp/22 before scanning" from "$CLI4"
nscan -sS -p 2000-2099 -S "$CLI4" "$SRV4"
check "a SYN scan of 100 closed ports bans the scanner" banned "$CLI4"
check_not "the banned scanner cannot reach tcp/22" from "$CLI4"
check "another source still reaches tcp/22" from "$CLI4B"
n=$(stats_field '["drops"]["banned"]')
check "drops as banned are counted ($n)" test "${n:-0}" -gt 0
check "stats --json shows the ban in force" test "$(stats_field '["bans"]["active"]')" -ge 1

check "IPv6 scanner reaches tcp/22 before scanning" from "$CLI6"
nscan -6 -sS -p 3000-3099 -S "$CLI6" "$SRV6"
check "an IPv6 SYN scan bans the scanner's /64" banned "2001:2::/64"
check_not "the IPv6 scanner cannot reach tcp/22" from "$CLI6"
check_not "neither can another address in its /64" from "$OTHER6"
check "an address in another /64 still can" from "$FAR6"

nscan -sS -p 4000-4099 -S "$TRUSTED" "$SRV4"
check_not "a trusted source scanning is not banned" banned "$TRUSTED"
check "and still reaches tcp/22" from "$TRUSTED"
out=$(pc ban "$IF_SRV" "$TRUSTED" 2>&1)
check "ban refuses a trusted source" grep -q "never banned" <<<"$out"

check "unban lifts the ban" pc unban "$IF_SRV" "$CLI4"
check "the unbanned source reaches tcp/22 again" from "$CLI4"
out=$(pc unban "$IF_SRV" "$CLI4" 2>&1)
check "unban of a source that is not banned says so" grep -q "is not banned" <<<"$out"

# Below the threshold: 19 closed ports, a slow scan, one closed port 50 times.
# (Fresh sources: the window counts what a source probed before, too.)
nscan -sS -p 5000-5018 -S "$FRESH" "$SRV4"
check_not "19 closed ports do not make a scan" banned "$FRESH"
nscan -sS -p 5100 -S "$FRESH" "$SRV4"
check "the 20th closed port does" banned "$FRESH"
for _ in $(seq 50); do reach tcp "$SRV4" 6000 0.05 "$CLI4B"; done
check_not "retrying one closed port 50 times is not a scan" banned "$CLI4B"

# Bans expire by themselves; a slow scan stays below the rate.
short=$(write_config short.conf "allow tcp 22" "scan-detect ports 5 window 2s ban 2s")
check "reload with a 5-port, 2 s window, 2 s ban detector" pc reload "$IF_SRV" -c "$short"
nscan -sS -p 8000-8009 --scan-delay 1100ms --max-parallelism 1 -S "$SLOW" "$SRV4"
check_not "a slow scan (10 ports, one every 1.1 s) is not banned" banned "$SLOW"
nscan -sS -p 7000-7099 -S "$CLI4B" "$SRV4"
check "the scan bans for 2 s" banned "$CLI4B"
sleep 3
check "the 2 s ban has expired" from "$CLI4B"
check_not "and is gone from bans" banned "$CLI4B"

# Manual bans.
check "ban --for 1m" pc ban "$IF_SRV" "$CLI4B" --for 1m
check_not "the manually banned source is cut off" from "$CLI4B"
exp=$(pc bans "$IF_SRV" --json | python3 -c "
import json, sys
print([b for b in json.load(sys.stdin) if b['address'] == '$CLI4B'][0]['expires_in'])")
check "bans --json gives the time left ($exp s)" test "$exp" -ge 55 -a "$exp" -le 60
check "bans --json gives the reason" bash -c "$(declare -f srv); NS_SRV=$NS_SRV; srv $PC bans $IF_SRV --json | grep -q '\"reason\": \"manual\"'"
out=$(pc ban "$IF_SRV" 198.18.0.1/24 2>&1)
rc=$?
check "ban of a prefix with host bits set is a usage error ($rc)" test "$rc" -eq 2
out=$(pc ban "$IF_SRV" "$CLI4B" --for 10x 2>&1)
rc=$?
check "ban with a bad duration is a usage error ($rc)" test "$rc" -eq 2
sleep 1.5
check "unban the manual ban" pc unban "$IF_SRV" "$CLI4B"
sleep 1.5

check "events: scan ban line" grep -qE "^ban $CLI4 scan: 20 ports in [0-9.]+s, last tcp/[0-9]+, for 1h$" \
	"$TEST_TMP/events.log"
check "events: IPv6 ban per /64" grep -q "^ban 2001:2::/64 scan:" "$TEST_TMP/events.log"
check "events: expiry line" grep -q "^expire $CLI4B (scan ban, 2s)" "$TEST_TMP/events.log"
check "events: 5-port scan line" grep -q "^ban $CLI4B scan: 5 ports in" "$TEST_TMP/events.log"
check "events: manual ban line" grep -q "^ban $CLI4B manual, for 1m" "$TEST_TMP/events.log"
check "events: unban line" grep -q "^unban $CLI4B$" "$TEST_TMP/events.log"
check "events: the hand-lifted scan ban" grep -q "^unban $CLI4$" "$TEST_TMP/events.log"
echo "--- events seen:"
cat "$TEST_TMP/events.log"
check "detach" pc detach "$IF_SRV"

# The detector's hash key, from the attached program's .rodata: the loader
# draws a new secret for every attach, so nobody can pick sources that share
# a pre-filter bucket.
hash_key() {
	local prog map
	prog=$(bpftool -j link show pinned "$PC_PINS/$IF_SRV/link" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["prog_id"])') || return 1
	for map in $(bpftool -j prog show id "$prog" |
		python3 -c 'import json, sys; print(*json.load(sys.stdin)["map_ids"])'); do
		bpftool -j map show id "$map" | grep -q '"name":"[^"]*\.rodata"' || continue
		bpftool -j map dump id "$map" | python3 -c '
import json, sys
for entry in json.load(sys.stdin):
    for section in entry.get("formatted", {}).get("value", {}).get(".rodata", []):
        if "scan_hash_key" in section:
            print(section["scan_hash_key"])'
	done
}
check "attach again" pc attach "$IF_SRV" -c "$conf"
key1=$(hash_key)
pc detach "$IF_SRV"
check "and again" pc attach "$IF_SRV" -c "$conf"
key2=$(hash_key)
check "the scan detector's hash key is drawn at attach ($key1)" test -n "$key1" -a "${key1:-0}" != 0
check "and differs from one attach to the next ($key2)" test -n "$key2" -a "$key1" != "$key2"
check "detach" pc detach "$IF_SRV"
