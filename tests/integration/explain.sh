#!/bin/bash
# portcullis explain (issue 14): for the reasons a TCP/UDP packet can get,
# ask explain first, then send that packet for real and check that the
# counter of the reason explain named moved, so explain agrees with the
# attached program. Then prove explain has no side effect: every pinned map
# (and the source tries they point at) dumped before and after a round of
# explains is the same, counters, bans and scan state included.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/helpers/attacks.sh"
need python3 nsenter bpftool

lab_up || { not_ok explain-lab "could not build the lab"; exit 1; }
forge_target
conf=$(write_config explain.conf "allow tcp 80,443,8000-8100" "allow udp 53" \
	"allow tcp 22 from $CLI4B,2001:2::3" "deny from 198.18.0.9" "allow from 198.18.0.7" \
	"scan-detect ports 5 window 10s ban 10m" "allow tcp 2222" "limit tcp 2222 rate 1/1h burst 1")
pc attach "$IF_SRV" -c "$conf" --xdp-mode generic >/dev/null ||
	{ not_ok explain-attach "attach failed"; exit 1; }
pc ban "$IF_SRV" 198.18.0.5 --for 10m >/dev/null

# reason_count REASON: packets counted for REASON (drops or passes).
reason_count() {
	pc stats "$IF_SRV" --json | python3 -c "
import json, sys
s = json.load(sys.stdin)
r = '$1'
if r in s['drops']:
    print(s['drops'][r])
elif r == 'allowed':
    print(sum(p['pass_packets'] for p in s['ports']))
else:
    print(s.get('passes', {}).get(r, 0))"
}

# case NAME VERDICT REASON PROTO SOURCE PORT [FLAGS]: explain says VERDICT: REASON,
# and the same packet sent for real moves REASON's counter.
case_() {
	local name=$1 verdict=$2 reason=$3 proto=$4 src=$5 port=$6 flags=${7:-S} out before after
	local dst=$SRV4 fl=()
	[[ $src == *:* ]] && dst=$SRV6
	[ "$proto" = tcp ] && fl=(--flags "$flags")
	out=$(pc explain "$IF_SRV" "$proto" "$src" "$port" "${fl[@]}")
	if [[ $out != "$verdict: $reason ("* ]]; then
		not_ok "explain $name" "said '$out', expected '$verdict: $reason (...)'"
		return
	fi
	ok "explain $name: $out"
	before=$(reason_count "$reason")
	[ "$flags" = none ] && flags=""
	forge send --src "$src" --dst "$dst" --proto "$proto" --ports "$port" --flags "$flags"
	for _ in $(seq 20); do
		after=$(reason_count "$reason")
		[ "$after" -gt "$before" ] && break
		sleep 0.1
	done
	if [ "$after" -gt "$before" ]; then
		ok "real $name packet counted as $reason ($before -> $after)"
	else
		not_ok "real $name packet counted as $reason" "$before -> $after"
	fi
}

case_ allowed pass allowed tcp "$CLI4" 80
case_ "allowed udp v6" pass allowed udp "$CLI6" 53
case_ not-allowed drop not-allowed tcp "$CLI4" 8200
case_ source-not-allowed drop source-not-allowed tcp "$CLI4" 22
case_ "allowed for its source" pass allowed tcp "$CLI4B" 22
case_ denied-source drop denied-source tcp 198.18.0.9 80
case_ banned drop banned tcp 198.18.0.5 80
case_ scan-fin drop scan-fin tcp "$CLI4" 8200 F
case_ scan-null drop scan-null tcp "$CLI4" 8200 none
# The other flag combinations: every row of tests/unit/test_verdict runs the
# explain build first and checks its reason (and that it changed nothing).
case_ "udp not-allowed" drop not-allowed udp "$CLI6" 5353
# A rate limit of one SYN an hour: the first passes, and uses the bucket up.
case_ "first SYN under a limit" pass allowed tcp "$CLI4" 2222
case_ rate-limited drop rate-limited tcp "$CLI4" 2222
out=$(pc explain "$IF_SRV" tcp "$CLI4" 2222)
[[ $out == *"limit tcp 2222 rate 1/1h burst 1"* ]] && ok "a limit names its line: $out" ||
	not_ok "limit line" "$out"

out=$(pc explain "$IF_SRV" tcp 198.18.0.5 80)
[[ $out == *"manual ban, "*"left)" ]] && ok "a ban says its kind and time left: $out" ||
	not_ok "ban description" "$out"
out=$(pc explain "$IF_SRV" tcp "$CLI4" 8090 --json)
python3 -c "
import json, sys
j = json.loads(sys.argv[1])
assert j['verdict'] == 'pass' and j['reason'] == 'allowed' and j['rule'] == 'allow tcp 8000-8100', j
" "$out" && ok "--json: verdict, reason, rule" || not_ok "--json" "$out"
expect_exit "a bad address is a usage error" 2 "not an address" pc explain "$IF_SRV" tcp 1.2.3 80
expect_exit "bad flags are a usage error" 2 "bad --flags" pc explain "$IF_SRV" tcp "$CLI4" 80 --flags SX

# snapshot: every pinned map, and every source trie, dumped (pc_events is a
# ring buffer: what it holds is checked through the counters that go with it).
snapshot() {
	local f id
	for f in "$PC_PINS/$IF_SRV"/pc_*; do
		[ "${f##*/}" = pc_events ] && continue
		echo "== ${f##*/}"
		srv bpftool map dump pinned "$f" 2>&1
	done
	for id in $(srv bpftool map dump pinned "$PC_PINS/$IF_SRV/pc_sources" -j |
		python3 -c 'import json,sys; [print(e["formatted"]["value"] if "formatted" in e else int.from_bytes(bytes(int(b,16) for b in e["value"]),"little")) for e in json.load(sys.stdin)]'); do
		echo "== trie $id"
		srv bpftool map dump id "$id" 2>&1
	done
}

# A source the detector is tracking, so scan state exists to be disturbed.
forge send --src 198.18.0.20 --dst "$SRV4" --proto tcp --ports 9001-9003 --flags S
# The client's side goes down meanwhile: no stray frame (IPv6 router
# solicitations, MLD) may move a counter while the maps are compared.
cli ip link set "$IF_CLI" down
snapshot >"$TEST_TMP/before"
for args in "tcp $CLI4 9004" "tcp 198.18.0.20 9005" "tcp 198.18.0.20 9006 --flags F" \
	"udp 198.18.0.20 9007" "tcp 198.18.0.5 80" "tcp $CLI4 80" "tcp 198.18.0.9 22" \
	"udp $CLI6 9008"; do
	# shellcheck disable=SC2086
	pc explain "$IF_SRV" $args >/dev/null
done
snapshot >"$TEST_TMP/after"
n_maps=$(grep -c '^== pc_' "$TEST_TMP/before")
n_tries=$(grep -c '^== trie' "$TEST_TMP/before")
if [ "$n_maps" -lt 18 ] || [ "$n_tries" -lt 2 ]; then
	not_ok "the snapshot holds every pinned map" "$n_maps maps, $n_tries tries under $PC_PINS/$IF_SRV"
elif cmp -s "$TEST_TMP/before" "$TEST_TMP/after"; then
	ok "8 explains leave every map unchanged ($n_maps pinned maps and $n_tries source tries compared)"
else
	not_ok "explain changed a map" "$(diff "$TEST_TMP/before" "$TEST_TMP/after" | head -20)"
fi
cli ip link set "$IF_CLI" up
# The comparison can fail: the same packet sent for real changes the maps
# (once the link is back up: a few tries).
small() { local m; for m in pc_reasons pc_scan_seen pc_scan_track; do
	srv bpftool map dump pinned "$PC_PINS/$IF_SRV/$m"; done; }
for m in pc_reasons pc_scan_seen pc_scan_track; do
	awk -v m="== $m" '$0 == m {on = 1; next} /^== / {on = 0} on' "$TEST_TMP/before"
done >"$TEST_TMP/before.small"
for _ in $(seq 20); do
	forge send --src 198.18.0.20 --dst "$SRV4" --proto tcp --ports 9004 --flags S
	small >"$TEST_TMP/real"
	cmp -s "$TEST_TMP/before.small" "$TEST_TMP/real" || break
	sleep 0.25
done
check_not "(the same packet sent for real does change them)" cmp -s "$TEST_TMP/before.small" \
	"$TEST_TMP/real"
