#!/bin/bash
# Real traffic across a veth: an allowed port is reachable, a listening port
# that is not allowed is not, and the filtered host's own outbound TCP and
# connected-UDP conversations keep working under "established socket".
. "$(dirname "$0")/../lib.sh"
need python3 nsenter

lab_up || { not_ok datapath-lab "could not build the lab"; exit 1; }
conf=$(write_config basic.conf "allow tcp 22" "allow udp 53" "established socket")
listen_srv tcp:22 tcp:8080 udp:53 udp:5353 || exit 1
listen_cli tcp:7000 udp:7001 || exit 1

# Before the filter: everything answers, so a failure later means the filter.
check "lab: tcp/8080 reachable before attach" reach tcp "$SRV4" 8080

check "attach" pc attach "$IF_SRV" -c "$conf"
check "attach pinned the link" test -e "$PC_PINS/$IF_SRV/link"
check "XDP program on the interface" bash -c "ip -n $NS_SRV link show $IF_SRV | grep -q xdp"

for addr in "$SRV4" "$SRV6"; do
	check "tcp/22 allowed via $addr" reach tcp "$addr" 22
	check_not "tcp/8080 listening but not allowed via $addr" reach tcp "$addr" 8080
	check "udp/53 allowed via $addr" reach udp "$addr" 53
	check_not "udp/5353 listening but not allowed via $addr" reach udp "$addr" 5353
done

# The host's own conversations: replies arrive on ports nobody allowed.
check "outbound tcp from the filtered host (IPv4)" probe_from srv tcp "$CLI4" 7000
check "outbound tcp from the filtered host (IPv6)" probe_from srv tcp "$CLI6" 7000
check "connected udp from the filtered host (IPv4)" probe_from srv udp "$CLI4" 7001
check "connected udp from the filtered host (IPv6)" probe_from srv udp "$CLI6" 7001

drops=$(stats_field '["drops"]["not-allowed"]')
check "stats counts not-allowed drops ($drops)" test "${drops:-0}" -gt 0
pass22=$(port_field tcp 22 pass_packets)
check "stats counts passes on tcp/22 ($pass22)" test "${pass22:-0}" -gt 0
drop8080=$(port_field tcp 8080 drop_packets)
check "stats counts drops on tcp/8080 ($drop8080)" test "${drop8080:-0}" -gt 0
established=$(stats_field '["passes"]["established"]')
check "stats counts established replies ($established)" test "${established:-0}" -gt 0

# established off: the same outbound conversation now dies on the way back.
off=$(write_config off.conf "allow tcp 22" "established off")
check "reload with established off" pc reload "$IF_SRV" -c "$off"
check_not "outbound tcp blocked with established off" probe_from srv tcp "$CLI4" 7000

check "detach" pc detach "$IF_SRV"
check "detach removed every pin" test ! -e "$PC_PINS/$IF_SRV"
check_not "no XDP program left" bash -c "ip -n $NS_SRV link show $IF_SRV | grep -q xdp"
check "tcp/8080 reachable again after detach" reach tcp "$SRV4" 8080
