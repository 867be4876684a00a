#!/bin/bash
# Attacks past the allowlist with IP protocols other than TCP and UDP
# (issue 12), each of which must fail: a UDP-Lite service on a port no
# "allow" opens, SCTP, DCCP, GRE, IPIP and ESP packets, and an SCTP packet
# behind an IPv6 extension header. All are dropped with reason "protocol"
# until "allow proto" opens them; then exactly what it names passes.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/helpers/attacks.sh"
need python3 nsenter

lab_up || { not_ok attacks-proto-lab "could not build the lab"; exit 1; }
forge_target
bg_in "$NS_SRV" python3 "$TESTS_DIR/helpers/sink.py" udplite:7000 udp:5353 \
	>"$TEST_TMP/sink.log" 2>&1
wait_for "$TEST_TMP/sink.log" ready 5 || { not_ok "sink" "$(cat "$TEST_TMP/sink.log")"; exit 1; }

# udplite HOST: one UDP-Lite datagram from a real client socket to HOST port 7000.
udplite() {
	cli python3 -c '
import socket, sys
family = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM, 136)
for _ in range(3):
    sock.sendto(b"udplite", (sys.argv[1], 7000))' "$1"
}
# sink_count PATTERN: datagrams the sink recorded matching PATTERN.
sink_count() { grep -c -- "$1" "$TEST_TMP/sink.log"; }
# sink_got PATTERN [BEFORE]: the sink records more than BEFORE (0) such datagrams within a second.
sink_got() {
	for _ in $(seq 10); do
		[ "$(sink_count "$1")" -gt "${2:-0}" ] && return 0
		sleep 0.1
	done
	return 1
}
# dropped_as_protocol NAME CMD...: CMD's packets are dropped with reason protocol.
dropped_as_protocol() {
	local name=$1 before
	shift
	before=$(drop_count protocol)
	"$@"
	grew_by "$name: dropped as protocol" "$before" "$(drop_count protocol)" 3
}
# passes NAME CMD...: CMD's 3 packets pass the filter, none is dropped as protocol.
passes() {
	local name=$1 before pass_before
	shift
	before=$(drop_count protocol)
	pass_before=$(total_count pass)
	"$@"
	grew_by "$name: passes" "$pass_before" "$(total_count pass)" 3
	check "$name: and none is dropped as protocol" test "$before" = "$(drop_count protocol)"
}
other() { forge send --src "$CLI4" --dst "$SRV4" --ports 7000 --repeat 3 --proto "$@"; }

conf=$(write_config proto.conf "allow tcp 22" "allow udp 5353")
check "attach with tcp/22 and udp/5353 open" pc attach "$IF_SRV" -c "$conf"
cli python3 -c '
import socket, sys
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"udp", (sys.argv[1], 5353))' "$SRV4"
check "control: UDP to an allowed port reaches the sink" sink_got "udp/5353 from ::ffff:$CLI4"

dropped_as_protocol "UDP-Lite to a listening, not allowed port" udplite "$SRV4"
sleep 0.3
check_not "the UDP-Lite service on it receives nothing" grep -q "udplite/7000" "$TEST_TMP/sink.log"
dropped_as_protocol "UDP-Lite over IPv6" udplite "$SRV6"
sleep 0.3
check_not "the UDP-Lite service receives nothing over IPv6 either" grep -q "udplite/7000" \
	"$TEST_TMP/sink.log"
for proto in sctp dccp gre ipip 50; do
	dropped_as_protocol "$proto (forged)" other "$proto"
done
dropped_as_protocol "SCTP behind an IPv6 destination options header" \
	forge send --src "$CLI6" --dst "$SRV6" --proto sctp --ports 7000 --repeat 3 --ext dstopts
dropped_as_protocol "UDP-Lite behind IPv6 hop-by-hop, fragment and destination headers" \
	forge send --src "$CLI6" --dst "$SRV6" --proto udplite --ports 7000 --repeat 3 \
	--ext hbh,frag,dstopts

conf=$(write_config proto-open.conf "allow tcp 22" "allow proto udplite,47")
check "reload with allow proto udplite,47 (a name and a number)" pc reload "$IF_SRV" -c "$conf"
seen=$(sink_count "udplite/7000 from ::ffff:$CLI4")
passes "UDP-Lite once allowed" udplite "$SRV4"
check "the UDP-Lite service receives it" sink_got "udplite/7000 from ::ffff:$CLI4" "$seen"
seen=$(sink_count "udplite/7000 from $CLI6")
passes "UDP-Lite over IPv6 once allowed" udplite "$SRV6"
check "the UDP-Lite service receives it over IPv6" sink_got "udplite/7000 from $CLI6" "$seen"
seen=$(sink_count "udplite/7000 from $CLI6")
passes "UDP-Lite behind three extension headers once allowed" \
	forge send --src "$CLI6" --dst "$SRV6" --proto udplite --ports 7000 --repeat 3 \
	--ext hbh,frag,dstopts
check "the UDP-Lite service receives it (the forged chain is well formed)" \
	sink_got "udplite/7000 from $CLI6" "$seen"
passes "GRE once allowed" other gre
dropped_as_protocol "SCTP, not named, still" other sctp
dropped_as_protocol "IPIP, not named, still" other ipip

bad=$(write_config proto-bad.conf "allow proto nosuchproto")
expect_exit "allow proto with an unknown protocol is refused" 2 "proto-bad.conf:1: " \
	"$PC" check -c "$bad"
echo "--- the sink received:"
cat "$TEST_TMP/sink.log"
check "detach" pc detach "$IF_SRV"
