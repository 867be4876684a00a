#!/bin/bash
# Attacks with spoofed sources (issue 12), each of which must fail:
#  - a spoofed scan "from" the admin (named on "allow tcp 22 from"), from a
#    source named in "exempt from", or from the host's default gateway, to
#    get them banned; a scan from the admin's IPv6 /64 to cut the admin off;
#  - IPv4-mapped and IPv4-compatible IPv6 sources, to ban an IPv4 address or
#    to borrow its trust;
#  - dropped replies (SYN+ACK, ACK, RST, FIN+ACK to closed ports, as a NATed
#    peer sends them) to get their sender banned (while stealth and UDP
#    scans, which are not replies, still ban).
# Each attack has a control that shows the same forged traffic arrives and
# does ban an ordinary source, so a pass is never the harness failing.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/helpers/attacks.sh"
need python3 nsenter

ADMIN=198.18.0.3 PLAIN=198.18.0.2 EXEMPT=198.18.0.4 GATEWAY=198.18.0.5 LISTED=198.18.0.6
TRUSTED6=2001:2::3 PLAIN6=2001:2::7 ADMIN6=2001:2::4
MAPPED=::ffff:$ADMIN COMPAT=::$ADMIN
DETECT="scan-detect ports 5 window 10s ban 1m ipv6-prefix 128"

lab_up || { not_ok attacks-spoof-lab "could not build the lab"; exit 1; }
for a in $EXEMPT $GATEWAY $LISTED; do cli ip addr add "$a/24" dev "$IF_CLI"; done
cli ip addr add "$ADMIN6/64" dev "$IF_CLI" nodad
# The filtered host's default gateway, which "exempt auto" must protect.
srv ip route add default via "$GATEWAY"
forge_target
listen_srv tcp:22 tcp:8080 || exit 1

# scan_fails_against NAME SOURCE PORTS: 30 spoofed SYNs from SOURCE arrive and
# are dropped, and SOURCE is not banned for them.
scan_fails_against() {
	local name=$1 source=$2 ports=$3 before
	before=$(total_count drop)
	forge_tcp "$source" "$ports"
	grew_by "$name: the 30 spoofed SYNs arrived and were dropped" "$before" \
		"$(total_count drop)" 30
	check_not "$name: $source is not banned" banned "$source"
	pc unban "$IF_SRV" "$source" >/dev/null 2>&1
}

# --- 1. Spoofed scans from sources the host must keep talking to.
conf=$(write_config admin.conf "allow tcp 22 from $ADMIN" "$DETECT")
check "attach with tcp/22 for the admin only" pc attach "$IF_SRV" -c "$conf"
check "the admin reaches tcp/22 before the attack" from $ADMIN tcp 22

scan_fails_against "spoofed scan from the admin" $ADMIN 3000-3029
check "the admin still reaches tcp/22" from $ADMIN tcp 22
expect_exit "ban of the admin (on a per-port from list) is refused" 2 "exempt|never banned|$ADMIN" \
	pc ban "$IF_SRV" $ADMIN
check_not "and the admin is not banned" banned $ADMIN
pc unban "$IF_SRV" $ADMIN >/dev/null 2>&1

scan_fails_against "spoofed scan from the default gateway" $GATEWAY 3100-3129

forge_tcp $PLAIN 3200-3229
check "control: the same spoofed scan from an ordinary source bans it" banned $PLAIN
check_not "control: the banned source cannot reach tcp/8080" from $PLAIN tcp 8080
pc unban "$IF_SRV" $PLAIN >/dev/null 2>&1

# A scanner in the admin's /64 (IPv6 sources are banned per /64 by default)
# must not get the admin cut off with its own ban.
conf=$(write_config admin6.conf "allow tcp 22 from $ADMIN,$ADMIN6" \
	"scan-detect ports 5 window 10s ban 1m")
check "reload with tcp/22 for the admin's IPv6 address too" pc reload "$IF_SRV" -c "$conf"
check "the admin reaches tcp/22 over IPv6" from $ADMIN6 tcp 22
before=$(total_count drop)
forge_tcp $PLAIN6 3600-3629
grew_by "a spoofed scan from $PLAIN6, in the admin's /64, arrives" "$before" \
	"$(total_count drop)" 30
check "control: the scanner's /64 is banned" banned "2001:2::/64"
check "the admin in the scanner's /64 still reaches tcp/22" from $ADMIN6 tcp 22
pc unban "$IF_SRV" "2001:2::/64" >/dev/null 2>&1
pc unban "$IF_SRV" $PLAIN6 >/dev/null 2>&1

echo "$LISTED" >"$TEST_TMP/exempt.list"
conf=$(write_config exempt.conf "allow tcp 22 from $ADMIN" "exempt from $EXEMPT" \
	"exempt from @$TEST_TMP/exempt.list" "$DETECT")
check "reload with exempt from $EXEMPT and from a list file" pc reload "$IF_SRV" -c "$conf"
scan_fails_against "spoofed scan from an 'exempt from' source" $EXEMPT 3300-3329
scan_fails_against "spoofed scan from an 'exempt from @FILE' source" $LISTED 3400-3429
# Exempt is not trusted: the exempt source's own SYN to a closed port is
# dropped like anyone's.
before=$(drop_count not-allowed)
check_not "the exempt source cannot reach a listening, not allowed port" from $EXEMPT tcp 8080
grew_by "its SYN is dropped as not-allowed" "$before" "$(drop_count not-allowed)" 1
check_not "nor tcp/22, which is the admin's" from $EXEMPT tcp 22
expect_exit "ban of an exempt source is refused" 2 "exempt|never banned|$EXEMPT" \
	pc ban "$IF_SRV" $EXEMPT
check_not "and it is not banned" banned $EXEMPT
pc unban "$IF_SRV" $EXEMPT >/dev/null 2>&1
check "ban --force of an exempt source works" pc ban "$IF_SRV" $EXEMPT --force
check "and bans it" banned $EXEMPT
pc unban "$IF_SRV" $EXEMPT >/dev/null 2>&1

conf=$(write_config auto-off.conf "allow tcp 22 from $ADMIN" "exempt auto off" "$DETECT")
check "reload with exempt auto off" pc reload "$IF_SRV" -c "$conf"
forge_tcp $GATEWAY 3500-3529
check "control: without exempt auto, the gateway's spoofed scan bans it" banned $GATEWAY
pc unban "$IF_SRV" $GATEWAY >/dev/null 2>&1

# --- 2. IPv4-mapped and IPv4-compatible IPv6 sources.
conf=$(write_config mapped.conf "allow tcp 22" "$DETECT")
check "reload with tcp/22 open, no trusted source" pc reload "$IF_SRV" -c "$conf"
for source in $MAPPED $COMPAT; do
	before=$(drop_count malformed)
	forge_tcp "$source" 4000-4029
	grew_by "SYNs to 30 closed ports from $source are dropped as malformed" \
		"$before" "$(drop_count malformed)" 30
	before=$(drop_count malformed)
	forge send --src "$source" --dst "$SRV6" --proto udp --ports 4100-4129
	grew_by "UDP to 30 closed ports from $source is dropped as malformed" \
		"$before" "$(drop_count malformed)" 30
	check_not "$source does not get $ADMIN banned" banned $ADMIN
	n=$(ban_count)
	check "$source gets nobody banned ($n bans)" test "$n" -eq 0
	pc unban "$IF_SRV" $ADMIN >/dev/null 2>&1
	pc unban "$IF_SRV" "$source" >/dev/null 2>&1
done
check "$ADMIN still reaches tcp/22" from $ADMIN tcp 22
forge_tcp $PLAIN6 4000-4029
check "control: the same spoofed IPv6 scan from $PLAIN6 bans it" banned $PLAIN6
pc unban "$IF_SRV" $PLAIN6 >/dev/null 2>&1

conf=$(write_config mapped-trust.conf "allow tcp 22" "allow from $ADMIN,$TRUSTED6" "$DETECT")
check "reload with $ADMIN and $TRUSTED6 trusted" pc reload "$IF_SRV" -c "$conf"
bg_in "$NS_SRV" python3 "$TESTS_DIR/helpers/sink.py" udp:9999 >"$TEST_TMP/sink.log" 2>&1
wait_for "$TEST_TMP/sink.log" ready 5 ||
	not_ok "udp sink" "did not start: $(cat "$TEST_TMP/sink.log")"
forge send --src $TRUSTED6 --dst "$SRV6" --proto udp --ports 9999
wait_for "$TEST_TMP/sink.log" "from $TRUSTED6" 2
check "control: forged UDP from trusted $TRUSTED6 reaches a closed port's listener" \
	grep -q "from $TRUSTED6" "$TEST_TMP/sink.log"
for source in $MAPPED $COMPAT; do
	before=$(drop_count malformed)
	forge send --src "$source" --dst "$SRV6" --proto udp --ports 9999 --repeat 3
	sleep 0.5
	check_not "UDP from $source does not borrow $ADMIN's trust to reach the listener" \
		grep -q "from $source" "$TEST_TMP/sink.log"
	grew_by "UDP from $source to the listener is dropped as malformed" "$before" \
		"$(drop_count malformed)" 3
done
echo "--- the sink received:"
cat "$TEST_TMP/sink.log"

bad=$(write_config mapped-bad.conf "allow from $MAPPED")
expect_exit "a config naming $MAPPED is refused with a hint to write $ADMIN" 2 \
	"(^|[^:0-9a-f])198\.18\.0\.3" "$PC" check -c "$bad"

# --- 3. Dropped replies never feed the detector.
conf=$(write_config replies.conf "allow tcp 22" "established off" "$DETECT")
check "reload with established off (replies to closed ports are dropped)" \
	pc reload "$IF_SRV" -c "$conf"
base=5000
for flags in SA A R FA; do
	before=$(total_count drop)
	forge send --src $PLAIN --dst "$SRV4" --proto tcp --sport 443 --flags $flags \
		--ports $base-$((base + 39))
	grew_by "40 $flags replies to 40 closed ports are dropped" "$before" \
		"$(total_count drop)" 40
	check_not "40 $flags replies do not get their sender banned" banned $PLAIN
	pc unban "$IF_SRV" $PLAIN >/dev/null 2>&1
	base=$((base + 100))
done
forge_tcp $PLAIN 6000-6009
check "control: SYNs from the same source to 10 closed ports ban it" banned $PLAIN
# Stealth scans are not replies: they still feed the detector.
host=20
for flags in "" F FPU P U; do
	source=198.18.0.$host
	forge send --src $source --dst "$SRV4" --proto tcp --flags "$flags" --ports 6100-6109
	check "a '${flags:-null}' scan of 10 closed ports still bans its source" banned $source
	host=$((host + 1))
done
forge send --src 198.18.0.$host --dst "$SRV4" --proto udp --ports 6200-6209
check "so does a UDP scan of 10 closed ports" banned 198.18.0.$host
check "detach" pc detach "$IF_SRV"
