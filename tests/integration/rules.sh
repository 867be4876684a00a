#!/bin/bash
# portcullis rules (issue 14): the live rule set printed as a config must
# round-trip. For every config of examples/ and tests/configs/ that check
# accepts: attach with it, print the rules, check accepts the printout, a
# reload with it gives the same maps (rules --json is a dump of the port
# table, the source tries and the settings), and printing again gives the
# same text. Then drift: allow/disallow mark the rules modified at runtime
# in status, the printout has the runtime change, and a reload clears it.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter

lab_up || { not_ok rules-lab "could not build the lab"; exit 1; }
ROOT=$(cd "$TESTS_DIR/.." && pwd)

# The dump of the live maps, without what a reload is meant to change.
dump() {
	pc rules "$IF_SRV" --json | python3 -c '
import json, sys
j = json.load(sys.stdin)
for k in ("generation", "config", "text"):
    j.pop(k)
print(json.dumps(j, sort_keys=True, indent=1))'
}

attached=0
for conf in "$ROOT"/examples/*.conf "$ROOT"/tests/configs/*.conf "$ROOT"/tests/configs/sub/*.conf; do
	name=${conf#"$ROOT"/}
	"$PC" check -c "$conf" >/dev/null 2>&1 || continue
	if [ $attached -eq 0 ]; then
		pc attach "$IF_SRV" -c "$conf" --xdp-mode generic --force >/dev/null ||
			{ not_ok "attach with $name"; continue; }
		attached=1
	else
		pc reload "$IF_SRV" -c "$conf" --force >/dev/null || { not_ok "reload $name"; continue; }
	fi
	dump >"$TEST_TMP/maps.before"
	pc rules "$IF_SRV" >"$TEST_TMP/live.conf"
	head -1 "$TEST_TMP/live.conf" | grep -q "from $conf, generation" &&
		ok "$name: rules heads with the config file and generation" ||
		not_ok "$name: header" "$(head -1 "$TEST_TMP/live.conf")"
	check "$name: check accepts the printed rules" "$PC" check -c "$TEST_TMP/live.conf"
	check "$name: reload with the printed rules" pc reload "$IF_SRV" -c "$TEST_TMP/live.conf" --force
	dump >"$TEST_TMP/maps.after"
	if cmp -s "$TEST_TMP/maps.before" "$TEST_TMP/maps.after"; then
		ok "$name: the reload gives identical maps"
	else
		not_ok "$name: maps differ" "$(diff "$TEST_TMP/maps.before" "$TEST_TMP/maps.after" | head)"
	fi
	pc rules "$IF_SRV" >"$TEST_TMP/again.conf"
	check "$name: printed again, the same rules" cmp -s <(tail -n +2 "$TEST_TMP/live.conf") \
		<(tail -n +2 "$TEST_TMP/again.conf")
done
[ $attached -eq 1 ] || { not_ok "no config could be attached"; exit 1; }

# A list file stays a list file, with its size; inline once it changed.
lists=$TEST_TMP/lists
mkdir -p "$lists"
printf '198.18.9.0/24\n# comment\n2001:2:9::/48\n198.18.10.1\n' >"$lists/block.txt"
conf=$(write_config files.conf "allow tcp 80" "deny from 198.18.0.66,@lists/block.txt")
pc reload "$IF_SRV" -c "$conf" --force >/dev/null
pc rules "$IF_SRV" >"$TEST_TMP/files.out"
check "@FILE printed as the file with its size" grep -qx \
	"deny from @$lists/block.txt  # 3 prefixes from $lists/block.txt" "$TEST_TMP/files.out"
check "the rest of the list inline" grep -qx "deny from 198.18.0.66" "$TEST_TMP/files.out"
dump >"$TEST_TMP/f1"
pc reload "$IF_SRV" -c "$TEST_TMP/files.out" --force >/dev/null
dump >"$TEST_TMP/f2"
check "rules with @FILE reload to identical maps" cmp -s "$TEST_TMP/f1" "$TEST_TMP/f2"
echo 198.18.11.0/24 >>"$lists/block.txt"
pc reload "$IF_SRV" -c "$conf" --force >/dev/null
sed -i '/198.18.11.0/d' "$lists/block.txt"
check "a file that lost a line since: the file, and the line inline" grep -qx \
	"deny from 198.18.0.66,198.18.11.0/24" <(pc rules "$IF_SRV")
echo 198.18.12.0/24 >>"$lists/block.txt"
check "a file with a line the live list lacks is printed inline" grep -qx \
	"deny from 198.18.0.66,198.18.9.0/24,198.18.10.1,198.18.11.0/24,2001:2:9::/48" \
	<(pc rules "$IF_SRV")

# Merging, ranges and lists, and what a dump tells apart.
conf=$(write_config merge.conf "allow tcp 80" "allow tcp 81" "allow tcp 8000-8050" \
	"allow tcp 8051-8100" "allow tcp 8080" "allow udp 53,5353" \
	"allow tcp 22 from 198.18.0.3,2001:2::/64" "allow tcp 2222 from 198.18.0.3,2001:2::/64" \
	"deny from 198.18.0.0/24" "allow from 198.18.0.7" "exempt from 198.18.0.200")
pc reload "$IF_SRV" -c "$conf" --force >/dev/null
pc rules "$IF_SRV" >"$TEST_TMP/merge.out"
check "ports and neighbouring ranges merged on one line" \
	grep -qx "allow tcp 80,81,8000-8079,8080,8081-8100" "$TEST_TMP/merge.out"
check "ports with the same source list on one line" \
	grep -qx "allow tcp 22,2222 from 198.18.0.3,2001:2::/64" "$TEST_TMP/merge.out"
check "deny, allow from and exempt lists" grep -qzE \
	"deny from 198.18.0.0/24.allow from 198.18.0.7.exempt from 198.18.0.200" \
	<(tr '\n' . <"$TEST_TMP/merge.out")
dump >"$TEST_TMP/m1"
pc reload "$IF_SRV" -c "$TEST_TMP/merge.out" --force >/dev/null
dump >"$TEST_TMP/m2"
check "merged rules reload to identical maps" cmp -s "$TEST_TMP/m1" "$TEST_TMP/m2"

# Drift.
status_drift() { pc status "$IF_SRV" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["drift"])'; }
check "after a reload: not drifted" test "$(status_drift)" = False
check_not "status does not say modified" grep -q "modified at runtime" <(pc status "$IF_SRV")
pc allow "$IF_SRV" tcp 9000 >/dev/null
check "after allow: \"drift\": true" test "$(status_drift)" = True
check "status says modified at runtime" grep -q "modified at runtime" <(pc status "$IF_SRV")
pc rules "$IF_SRV" >"$TEST_TMP/drift.conf"
check "rules has the runtime allow" grep -qx "allow tcp 80,81,8000-8079,8080,8081-8100,9000" \
	"$TEST_TMP/drift.conf"
check "rules' header says modified" grep -q "modified at runtime" <(head -1 "$TEST_TMP/drift.conf")
pc reload "$IF_SRV" -c "$conf" --force >/dev/null
check "a reload clears the drift" test "$(status_drift)" = False
pc disallow "$IF_SRV" tcp 81 >/dev/null
check "after disallow: drifted" test "$(status_drift)" = True
check "rules lost the disallowed port" grep -qx "allow tcp 80,8000-8079,8080,8081-8100" \
	<(pc rules "$IF_SRV")
