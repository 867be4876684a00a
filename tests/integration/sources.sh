#!/bin/bash
# Source control with real traffic: per-port source lists, trusted sources,
# the deny list (also from a 100,000-line blocklist file), runtime
# "allow ... from", and atomic replacement of lists by reload.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter

LISTED=198.18.0.2 TRUSTED=198.18.0.3 DENIED=198.18.0.4 PLAIN=198.18.0.5
LISTED6=2001:2::2 PLAIN6=2001:2::5

lab_up || { not_ok sources-lab "could not build the lab"; exit 1; }
for a in $DENIED $PLAIN; do cli ip addr add "$a/24" dev "$IF_CLI"; done
cli ip addr add "$PLAIN6/64" dev "$IF_CLI" nodad
listen_srv tcp:22 tcp:80 tcp:8080 tcp:9000 || exit 1

# from SOURCE PROTO PORT: probe the filtered host from one client address.
from() {
	local src=$1 host=$SRV4
	[[ $src == *:* ]] && host=$SRV6
	reach "$2" "$host" "$3" 1 "$src"
}

# 100,000 blocked addresses from the benchmarking ranges (all of
# 198.19.0.0/16, the rest IPv6), FireHOL style, and the one address the test
# sends from.
blocklist="$TEST_TMP/blocklist.txt"
python3 - "$blocklist" "$DENIED" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("# generated blocklist\n")
    for i in range(65536):
        f.write("198.19.%d.%d\n" % (i // 256, i % 256))
    for i in range(100000 - 65536):
        f.write("2001:2:0:1::%x\n" % (i + 1))
    f.write("%s ; the test client\n" % sys.argv[2])
PY
conf=$(write_config sources.conf \
	"allow tcp 22 from $LISTED,$LISTED6/128" \
	"allow tcp 80" \
	"allow from $TRUSTED" \
	"deny from @$blocklist")

start=$(date +%s.%N)
check "attach with a 100,001-line blocklist" pc attach "$IF_SRV" -c "$conf"
end=$(date +%s.%N)
echo "attach with 100,001 prefixes took $(python3 -c "print('%.2f' % ($end - $start))") s"

check "listed source reaches tcp/22" from $LISTED tcp 22
check "listed IPv6 source reaches tcp/22" from $LISTED6 tcp 22
check_not "unlisted source cannot reach tcp/22" from $PLAIN tcp 22
check_not "unlisted IPv6 source cannot reach tcp/22" from $PLAIN6 tcp 22
check "unlisted source reaches tcp/80 (open to all)" from $PLAIN tcp 80
check "trusted source reaches tcp/22" from $TRUSTED tcp 22
check "trusted source reaches a listening, not allowed port" from $TRUSTED tcp 8080
check_not "plain source cannot reach that port" from $PLAIN tcp 8080
check_not "denied source cannot reach tcp/80" from $DENIED tcp 80
n=$(stats_field '["drops"]["source-not-allowed"]')
check "source-not-allowed counted ($n)" test "${n:-0}" -gt 0
n=$(stats_field '["drops"]["denied-source"]')
check "denied-source counted ($n)" test "${n:-0}" -gt 0
n=$(stats_field '["passes"]["trusted"]')
check "trusted passes counted ($n)" test "${n:-0}" -gt 0

# Runtime per-port lists.
check "allow tcp 9000 from $PLAIN (live)" pc allow "$IF_SRV" tcp 9000 from "$PLAIN"
check "$PLAIN reaches tcp/9000 at once" from $PLAIN tcp 9000
check_not "$LISTED does not" from $LISTED tcp 9000
check "allow tcp 22 from $PLAIN grows the port's list" pc allow "$IF_SRV" tcp 22 from "$PLAIN"
check "$PLAIN now reaches tcp/22" from $PLAIN tcp 22
check "$LISTED still reaches tcp/22" from $LISTED tcp 22
check_not "$LISTED still cannot reach tcp/9000 (lists are per port)" from $LISTED tcp 9000
out=$(pc allow "$IF_SRV" tcp 80 from "$PLAIN" 2>&1)
rc=$?
check "allow from on a port open to all is refused ($rc)" test "$rc" -eq 1
check "and says why" grep -q "open to every source already" <<<"$out"
out=$(pc allow "$IF_SRV" tcp 9001 from 198.18.0.0/33 2>&1)
rc=$?
check "allow from with a bad prefix is a usage error ($rc)" test "$rc" -eq 2
check_not "and opened nothing" from $PLAIN tcp 9001
: >"$TEST_TMP/empty.txt"
out=$(pc allow "$IF_SRV" tcp 9001 from "@$TEST_TMP/empty.txt" 2>&1)
rc=$?
check "allow from an empty list file is a usage error ($rc: $out)" test "$rc" -eq 2
check_not "and did not open the port to everyone" from $PLAIN tcp 9001

# Reload swaps every list at once.
moved=$(write_config moved.conf "allow tcp 22 from $PLAIN" "allow tcp 80")
check "reload moves tcp/22 to $PLAIN only" pc reload "$IF_SRV" -c "$moved"
check "$PLAIN reaches tcp/22" from $PLAIN tcp 22
check_not "$LISTED no longer does" from $LISTED tcp 22
check_not "$TRUSTED is no longer trusted" from $TRUSTED tcp 8080
check "$DENIED is no longer denied" from $DENIED tcp 80
check_not "runtime list for tcp/9000 is gone with the reload" from $PLAIN tcp 9000

# Bad input changes nothing.
for bad in "allow tcp 22 from 198.18.0.0/33" "deny from 2001:2::/129" \
	"deny from @$TEST_TMP/missing.txt" "allow from 198.18.0.1/24"; do
	f=$(write_config bad.conf "allow tcp 80" "$bad")
	out=$(pc reload "$IF_SRV" -c "$f" 2>&1)
	rc=$?
	if [ "$rc" -eq 2 ] && grep -q "bad.conf:2: " <<<"$out"; then
		ok "refused: '$bad'"
	else
		not_ok "refused: '$bad'" "exit $rc: $out"
	fi
done
printf '198.18.0.0/24\nnot-an-address\n' >"$TEST_TMP/garbage.txt"
f=$(write_config bad.conf "deny from @$TEST_TMP/garbage.txt")
out=$(pc reload "$IF_SRV" -c "$f" 2>&1)
check "a bad list line is reported as LISTFILE:LINE" grep -q "garbage.txt:2: " <<<"$out"
check "rules unchanged after refused reloads" from $PLAIN tcp 22
check_not "and still limited" from $LISTED tcp 22

# A live list for a part of the address space no list held before: the
# lookup hint (see README) must learn it before the trie does.
v6only=$(write_config v6only.conf "allow tcp 22 from $LISTED6/128" "allow tcp 80")
check "reload to lists with no IPv4 prefix" pc reload "$IF_SRV" -c "$v6only"
check_not "$PLAIN cannot reach tcp/9000" from $PLAIN tcp 9000
check "allow tcp 9000 from $PLAIN/32 (live)" pc allow "$IF_SRV" tcp 9000 from "$PLAIN/32"
check "$PLAIN reaches tcp/9000 at once" from $PLAIN tcp 9000
check "detach" pc detach "$IF_SRV"
