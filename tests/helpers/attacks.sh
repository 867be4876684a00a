# shellcheck shell=bash
# Shared by the attack tests (tests/integration/attacks-*.sh), sourced after
# tests/lib.sh: the attacker's tools and the questions the tests ask after
# an attack. The attacker is tests/helpers/forge.py on the client side of
# the lab, putting forged frames on the client's veth.

# forge_target: after lab_up, address forged frames to the server veth's MAC.
forge_target() {
	SRV_MAC=$(srv ip -j link show "$IF_SRV" |
		python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["address"])')
}

# pc_bounded ARGS...: portcullis on the server side, killed after 30 s: after a
# flood, a command that walks the ban table must not hang the test.
pc_bounded() {
	timeout -k 2 30 nsenter --net="/run/netns/$NS_SRV" "$PC" "$@"
}

# forge send|scan-flood ARGS...: forged frames from the client namespace.
forge() {
	cli python3 "$TESTS_DIR/helpers/forge.py" "$IF_CLI" "${SRV_MAC:?call forge_target first}" "$@" \
		>/dev/null
}

# wave_from FIRST COUNT: COUNT spoofed scanners from address FIRST on, 6 closed
# ports each; prints what forge.py says it sent.
wave_from() {
	cli python3 "$TESTS_DIR/helpers/forge.py" "$IF_CLI" "${SRV_MAC:?call forge_target first}" \
		scan-flood --first "$1" --sources "$2" --dst "$SRV4" --dport 10000 \
		--ports-per-source 6 --max-seconds 30
}

# wave SKIP COUNT: spoofed scanners 198.18.1.0 + SKIP ... + SKIP + COUNT - 1.
wave() {
	wave_from "$(python3 -c "import ipaddress; print(ipaddress.IPv4Address('198.18.1.0') + $1)")" "$2"
}

# forge_tcp SOURCE PORTS [FLAGS]: TCP to the server's address of SOURCE's family.
forge_tcp() {
	local dst=$SRV4
	[[ $1 == *:* ]] && dst=$SRV6
	forge send --src "$1" --dst "$dst" --proto tcp --ports "$2" --flags "${3:-S}"
}

# from SOURCE PROTO PORT: can the client, from SOURCE, talk to PROTO/PORT?
from() {
	local host=$SRV4
	[[ $1 == *:* ]] && host=$SRV6
	reach "$2" "$host" "$3" 1 "$1"
}

# banned ADDRESS: does "bans --json" list ADDRESS (or prefix)?
banned() {
	pc_bounded bans "$IF_SRV" --json | grep -q "\"address\": \"$1\""
}

# ban_count: entries in "bans --json".
ban_count() {
	pc_bounded bans "$IF_SRV" --json |
		python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

# drop_count REASON: drops of REASON so far, or "none" if stats has no such reason.
drop_count() {
	pc stats "$IF_SRV" --json |
		python3 -c "import json, sys; print(json.load(sys.stdin)['drops'].get('$1', 'none'))"
}

# total_count pass|drop: packets passed or dropped so far.
total_count() {
	stats_field "[\"totals\"][\"$1_packets\"]"
}

# grew_by NAME BEFORE AFTER MIN: the case passes when a counter went up by MIN or more.
grew_by() {
	local name=$1 before=$2 after=$3 min=$4
	if [ "$before" = none ] || [ "$after" = none ]; then
		not_ok "$name" "stats has no such counter"
	elif [ $((after - before)) -ge "$min" ]; then
		ok "$name (+$((after - before)))"
	else
		not_ok "$name" "went from $before to $after, expected +$min or more"
	fi
}

# expires_in ADDRESS: seconds left on ADDRESS's ban, empty if it is not banned.
expires_in() {
	pc_bounded bans "$IF_SRV" --json | python3 -c "
import json, sys
print(*[b['expires_in'] for b in json.load(sys.stdin) if b['address'] == '$1'][:1])"
}

# metric NAME: the value of one portcullis metric of the lab interface, or "none".
metric() {
	pc_bounded metrics "$IF_SRV" | awk -v name="$1" -v want="interface=\"$IF_SRV\"" '
		index($1, name "{") == 1 && index($1, want) { print $2; found = 1; exit }
		END { if (!found) print "none" }'
}
