#!/bin/bash
# Exempt sources at the command line: a manual ban of an exempt source (named
# in 'exempt from', in a port's 'from' list, or under 'exempt auto' the
# server's default gateway and its namespace's resolver) is refused unless
# --force; with 'exempt auto off' the gateway is an ordinary source; 'allow
# ... from' at runtime exempts its sources at once, against forged scans too.
# The eviction counter is exported.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/helpers/attacks.sh"
need python3 nsenter

lab_up || { not_ok exempt-lab "could not build the lab"; exit 1; }
# The server namespace's own resolver, as 'ip netns' keeps it.
trap 'rm -rf "/etc/netns/$NS_SRV"; lab_down' EXIT
mkdir -p "/etc/netns/$NS_SRV"
echo "nameserver 198.18.0.70" >"/etc/netns/$NS_SRV/resolv.conf"
# The client's second address is the server's default gateway.
srv ip route add default via "$CLI4B" dev "$IF_SRV"

conf=$(write_config exempt.conf "allow tcp 22 from 198.18.0.4/30" "exempt from 198.18.0.40")
check "attach" pc attach "$IF_SRV" -c "$conf"

expect_exit "ban of an 'exempt from' source is refused" 2 "exempt from scan bans" \
	pc ban "$IF_SRV" 198.18.0.40
expect_exit "ban of a source in a port's from list is refused" 2 "exempt from scan bans" \
	pc ban "$IF_SRV" 198.18.0.5
expect_exit "ban of the default gateway is refused" 2 "exempt from scan bans" \
	pc ban "$IF_SRV" "$CLI4B"
expect_exit "ban of the namespace's resolver (/etc/netns/NAME/resolv.conf) is refused" 2 \
	"exempt from scan bans" pc ban "$IF_SRV" 198.18.0.70
check_not "and none of them is banned (exempt from)" banned 198.18.0.40
check_not "(port list)" banned 198.18.0.5
check_not "(gateway)" banned "$CLI4B"
check "--force bans an exempt source all the same" pc ban "$IF_SRV" 198.18.0.40 --force
check "and it is listed" banned 198.18.0.40
check "an ordinary source is banned without --force" pc ban "$IF_SRV" 198.18.0.41

conf_off=$(write_config exempt-off.conf "allow tcp 22 from 198.18.0.4/30" "exempt auto off")
check "reload with exempt auto off" pc reload "$IF_SRV" -c "$conf_off"
check "then the gateway is an ordinary source" pc ban "$IF_SRV" "$CLI4B"

pc metrics "$IF_SRV" >"$TEST_TMP/metrics.prom"
check "portcullis_ban_evictions_total is exported" \
	grep -q "^portcullis_ban_evictions_total{interface=\"$IF_SRV\"} 0$" "$TEST_TMP/metrics.prom"
check "stats --json counts evictions" test "$(stats_field '["bans"]["evicted"]')" = 0

# --- allow ... from at runtime exempts its sources at once ------------------------------
forge_target
conf_scan=$(write_config exempt-scan.conf "allow tcp 22" "scan-detect ports 5 window 10s ban 1m")
check "reload with a low scan threshold" pc reload "$IF_SRV" -c "$conf_scan"
check "allow tcp 2222 from 198.18.0.60 at runtime" pc allow "$IF_SRV" tcp 2222 from 198.18.0.60
expect_exit "then a ban of 198.18.0.60 is refused" 2 "exempt from scan bans" \
	pc ban "$IF_SRV" 198.18.0.60
forge_tcp 198.18.0.60 3000-3029
forge_tcp 198.18.0.61 3000-3029
check "30 spoofed SYNs from 198.18.0.61 ban it (control)" banned 198.18.0.61
check_not "the same from the runtime-allowed 198.18.0.60 ban nobody" banned 198.18.0.60
