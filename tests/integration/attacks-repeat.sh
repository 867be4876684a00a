#!/bin/bash
# Repeat offenders (issue 12), an attack that must fail: a scanner that waits
# out each ban and scans again. With "scan-detect ... ban 2s max 1m" every new
# ban of the same source within 24 h of its last one is 4 times longer:
# 2 s, 8 s, 32 s, then 60 s (the max). Other sources start at 2 s, and
# without "max" the ban time is fixed. Nor can the scanner launder its record
# by spoofing a flood of 66,000 other scanners' bans between two scans.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/helpers/attacks.sh"
need python3 nsenter

REPEAT=198.18.0.2 FIRST_TIMER=198.18.0.3 FIXED=198.18.0.4 LAUNDER=198.18.0.5

lab_up || { not_ok attacks-repeat-lab "could not build the lab"; exit 1; }
for a in $FIXED $LAUNDER; do cli ip addr add "$a/24" dev "$IF_CLI"; done
forge_target
listen_srv tcp:22 || exit 1

conf=$(write_config repeat.conf "allow tcp 22" "scan-detect ports 5 window 10s ban 2s max 1m")
check "attach with ban 2s max 1m" pc attach "$IF_SRV" -c "$conf"

NEXT_PORT=3000
# scan SOURCE: SYNs to 10 new closed ports; then "expires_in" of its ban.
scan() {
	forge_tcp "$1" "$NEXT_PORT-$((NEXT_PORT + 9))"
	NEXT_PORT=$((NEXT_PORT + 10))
	expires_in "$1"
}
# ban_is NAME SECONDS LEFT: a ban of SECONDS is in force, LEFT (whole seconds) left.
ban_is() {
	local name=$1 want=$2 left=$3
	if [ -z "$left" ]; then
		not_ok "$name" "not banned"
	elif [ "$left" -le "$want" ] && [ "$left" -ge $((want * 9 / 10 - 1)) ]; then
		ok "$name (expires_in $left)"
	else
		not_ok "$name" "expires_in $left, expected $want s or a little less"
	fi
}
# wait_expiry SOURCE MAX: until SOURCE's ban is gone, at most MAX seconds.
wait_expiry() {
	for _ in $(seq $(($2 * 5))); do
		banned "$1" || return 0
		sleep 0.2
	done
	return 1
}

ban_is "first scan: banned 2 s" 2 "$(scan $REPEAT)"
check "the 2 s ban expires" wait_expiry $REPEAT 4
ban_is "scan again after it: banned 8 s (4x)" 8 "$(scan $REPEAT)"
ban_is "another source's first scan: banned 2 s" 2 "$(scan $FIRST_TIMER)"
sleep 3
check "3 s later the repeat offender is still banned" banned $REPEAT
check_not "and cut off" from $REPEAT tcp 22
check "the 8 s ban expires" wait_expiry $REPEAT 10
ban_is "a third scan: banned 32 s (4x again)" 32 "$(scan $REPEAT)"
check_not "the repeat offender is cut off" from $REPEAT tcp 22
check "the 32 s ban expires" wait_expiry $REPEAT 34
ban_is "a fourth scan: banned 1 m (the max, not 128 s)" 60 "$(scan $REPEAT)"

ban_is "$LAUNDER: first scan, 2 s" 2 "$(scan $LAUNDER)"
check "$LAUNDER: the 2 s ban expires" wait_expiry $LAUNDER 4
ban_is "$LAUNDER: second scan, 8 s" 8 "$(scan $LAUNDER)"
# The flood's own bans must outlast the test (expired ones would have to be
# swept), so the base goes up to 30 s: the third ban is then 30 s x 16.
check "reload with ban 30s max 1h" pc reload "$IF_SRV" -c "$(write_config launder.conf \
	"allow tcp 22" "scan-detect ports 5 window 10s ban 30s max 1h")"
first=$(python3 -c "import ipaddress; print(ipaddress.IPv4Address('198.18.1.0'))")
echo "$LAUNDER launders: $(cli python3 "$TESTS_DIR/helpers/forge.py" "$IF_CLI" "$SRV_MAC" \
	scan-flood --first "$first" --sources 66000 --dst "$SRV4" --max-seconds 20)"
check "$LAUNDER: the 8 s ban expires" wait_expiry $LAUNDER 10
ban_is "$LAUNDER: a third scan after a flood of 66,000 spoofed bans is 8 m (30 s x 16)" 480 \
	"$(scan $LAUNDER)"

fixed=$(write_config fixed.conf "allow tcp 22" "scan-detect ports 5 window 10s ban 2s")
check "reload without max" pc reload "$IF_SRV" -c "$fixed"
ban_is "without max, a first ban is 2 s" 2 "$(scan $FIXED)"
check "and expires" wait_expiry $FIXED 4
ban_is "and the next one is 2 s too" 2 "$(scan $FIXED)"
check "detach" pc detach "$IF_SRV"
