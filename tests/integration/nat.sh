#!/bin/bash
# A Docker-style host: a "container" namespace behind the filtered host, which
# masquerades it out of the filtered interface. Under the default config
# (established socket, scan detection on) the replies to the container's
# outbound TCP and UDP arrive for NATed ports no local socket owns; the
# connection tracker knows them, so they pass and the remote is never banned.
#
#   client ns (the remote server)  pc<ID>c  198.18.0.2   2001:2::2
#   server ns (filtered, NAT)      pc<ID>s  198.18.0.1   2001:2::1      (XDP here)
#                                  pct<ID>  198.18.1.1   2001:2:0:1::1
#   container ns                   pc<ID>k  198.18.1.2   2001:2:0:1::2
. "$(dirname "$0")/../lib.sh"
need python3 nsenter iptables

NS_CT=pc${LAB_ID}k
IF_HOST=pct${LAB_ID}
IF_CT=pck${LAB_ID}
CT4=198.18.1.2
CT6=2001:2:0:1::2
CONNECTIONS=30

ctr() { nsenter --net="/run/netns/$NS_CT" "$@"; }

nat_down() {
	local pid
	if [ -e "/run/netns/$NS_CT" ]; then
		for pid in $(ip netns pids "$NS_CT" 2>/dev/null); do
			kill "$pid" 2>/dev/null
		done
		ip netns del "$NS_CT" 2>/dev/null
	fi
	lab_down
}
trap nat_down EXIT

nat_up() {
	lab_up || return 1
	ip netns add "$NS_CT" || return 1
	ip link add "$IF_HOST" netns "$NS_SRV" type veth peer name "$IF_CT" netns "$NS_CT" || return 1
	ctr ip link set lo up
	srv ip addr add 198.18.1.1/24 dev "$IF_HOST"
	srv ip addr add 2001:2:0:1::1/64 dev "$IF_HOST" nodad
	ctr ip addr add "$CT4/24" dev "$IF_CT"
	ctr ip addr add "$CT6/64" dev "$IF_CT" nodad
	srv ip link set "$IF_HOST" up
	ctr ip link set "$IF_CT" up
	ctr ip route add default via 198.18.1.1
	ctr ip -6 route add default via 2001:2:0:1::1
	srv sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 || return 1
	srv iptables -t nat -A POSTROUTING -o "$IF_SRV" -j MASQUERADE || return 1
	# IPv6 masquerade is optional: a kernel without ip6 NAT skips those cases.
	srv ip6tables -t nat -A POSTROUTING -o "$IF_SRV" -j MASQUERADE 2>/dev/null && HAVE_NAT6=1
	return 0
}

# traffic PROTO HOST COUNT: COUNT conversations from the container to the
# remote; prints how many were answered.
traffic() {
	local proto=$1 host=$2 port answered=0
	[ "$proto" = tcp ] && port=7000 || port=7001
	for _ in $(seq "$3"); do
		probe_from ctr "$proto" "$host" "$port" 0.5 && answered=$((answered + 1))
	done
	echo "$answered"
}

# all_answered PROTO HOST: every conversation answered.
all_answered() { [ "$(traffic "$1" "$2" "$CONNECTIONS")" -eq "$CONNECTIONS" ]; }
# none_answered PROTO HOST: not one of a few answered (the control).
none_answered() { [ "$(traffic "$1" "$2" 5)" -eq 0 ]; }

no_bans() { [ "$(pc bans "$IF_SRV" --json | tr -d ' \n')" = "[]" ]; }

HAVE_NAT6=0
nat_up || { not_ok nat-lab "could not build the three-namespace lab"; exit 1; }
if [ ! -e /proc/sys/net/netfilter/nf_conntrack_max ] && [ ! -d /sys/module/nf_conntrack ]; then
	skip nat "nf_conntrack is not in this kernel"
	exit 0
fi
listen_cli tcp:7000 udp:7001 || exit 1
listen_srv tcp:22 tcp:8080 || exit 1

addrs=("$CLI4")
[ "$HAVE_NAT6" = 1 ] && addrs+=("$CLI6") || skip "nat: IPv6 cases" "no ip6tables nat table"

check "lab: the container reaches the remote before attach" probe_from ctr tcp "$CLI4" 7000

# The default config: established socket, scan detection on.
conf=$(write_config default.conf "allow tcp 22")
check "attach with the default config" pc attach "$IF_SRV" -c "$conf"
if ! pc status "$IF_SRV" --json | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if "conntrack" in json.dumps(d) else 1)'; then
	not_ok "status --json names conntrack"
else
	ok "status --json names conntrack"
fi
if ! pc status "$IF_SRV" --json | grep -q '"conntrack": *true'; then
	skip nat "the running kernel offers no conntrack lookup from XDP: $(pc status "$IF_SRV" | grep -i conntrack)"
	exit 0
fi

before=$(stats_field '["passes"]["established"]')
for addr in "${addrs[@]}"; do
	check "$CONNECTIONS container tcp connections to $addr pass" all_answered tcp "$addr"
	check "$CONNECTIONS container udp request/replies to $addr pass" all_answered udp "$addr"
done
after=$(stats_field '["passes"]["established"]')
check "the NATed replies count as established ($before -> $after)" \
	test "$((after - before))" -ge "$CONNECTIONS"
check "no ban after the container's traffic" no_bans

# The tracker opens nothing: the host's closed ports stay closed.
check_not "tcp/8080 on the filtered host stays closed" reach tcp "$SRV4" 8080
check "tcp/22 allowed" reach tcp "$SRV4" 22

# Control: without step 9 the same traffic dies, so the cases above can fail.
off=$(write_config off.conf "allow tcp 22" "established off")
check "reload with established off" pc reload "$IF_SRV" -c "$off"
check "control: container tcp fails with established off" none_answered tcp "$CLI4"
check "control: container udp fails with established off" none_answered udp "$CLI4"

check "detach" pc detach "$IF_SRV"
