#!/bin/bash
# Pins per network namespace: an interface of the same name in two namespaces
# is attached with different configs, listed, changed and detached
# independently; each namespace's status shows only its own attachment, and
# the saved bans of a named namespace go to STATE_DIR/netns-NAME/IFACE.bans.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter

NS_B=pc${LAB_ID}b
IF_CLI_B=pcb${LAB_ID}
SRV4_B=198.18.1.1
CLI4_B=198.18.1.2
netns_down() {
	[ -e "/run/netns/$NS_B" ] && nsenter --net="/run/netns/$NS_B" "$PC" detach "$IF_SRV" >/dev/null 2>&1
	ip netns del "$NS_B" 2>/dev/null
	lab_down
}
trap netns_down EXIT

srv_b() { nsenter --net="/run/netns/$NS_B" "$@"; }
pc_b() { srv_b "$PC" "$@"; }
status_config() { "$@" status --json | python3 -c '
import json, sys
rows = json.load(sys.stdin)
print(len(rows), " ".join(r["interface"] + "=" + r["config"].rsplit("/", 1)[-1] for r in rows))'; }

lab_up || { not_ok netns-lab "could not build the lab"; exit 1; }
# Namespace B: an interface with the lab server's name, its peer in the client namespace.
ip netns add "$NS_B" &&
	ip link add "$IF_SRV" netns "$NS_B" type veth peer name "$IF_CLI_B" netns "$NS_CLI" ||
	{ not_ok netns-lab "could not build namespace B"; exit 1; }
srv_b ip link set lo up
srv_b ip addr add "$SRV4_B/24" dev "$IF_SRV"
srv_b ip link set "$IF_SRV" up
cli ip addr add "$CLI4_B/24" dev "$IF_CLI_B"
cli ip link set "$IF_CLI_B" up
srv_b ethtool -K "$IF_SRV" gro on >/dev/null 2>&1 || true
cli ethtool -K "$IF_CLI_B" gro on >/dev/null 2>&1 || true
listen_srv tcp:8080 tcp:9090 || exit 1
listen_in "$NS_B" tcp:8080 tcp:9090 || exit 1
conf_a=$(write_config a.conf "allow tcp 8080")
conf_b=$(write_config b.conf "allow tcp 9090")
PINS_B=$(pins_of "$NS_B")

check "attach $IF_SRV in namespace A" pc attach "$IF_SRV" -c "$conf_a"
check "attach $IF_SRV in namespace B (not 'already attached')" pc_b attach "$IF_SRV" -c "$conf_b"
check "their pins are apart ($PC_PINS, $PINS_B)" \
	test -e "$PC_PINS/$IF_SRV/link" -a -e "$PINS_B/$IF_SRV/link" -a "$PC_PINS" != "$PINS_B"
check "A: its config's port answers (tcp/8080)" reach tcp "$SRV4" 8080
check_not "A: the other port is dropped (tcp/9090)" reach tcp "$SRV4" 9090
check "B: its config's port answers (tcp/9090)" reach tcp "$SRV4_B" 9090
check_not "B: the other port is dropped (tcp/8080)" reach tcp "$SRV4_B" 8080
check "status in A shows only A's ($(status_config pc))" \
	test "$(status_config pc)" = "1 $IF_SRV=a.conf"
check "status in B shows only B's ($(status_config pc_b))" \
	test "$(status_config pc_b)" = "1 $IF_SRV=b.conf"

check "allow in B" pc_b allow "$IF_SRV" tcp 7070
check "B's runtime change shows in B's rules" \
	bash -c "nsenter --net=/run/netns/$NS_B $PC stats $IF_SRV --json | grep -q '\"port\": 7070'"
check_not "and not in A's" \
	bash -c "nsenter --net=/run/netns/$NS_SRV $PC stats $IF_SRV --json | grep -q '\"port\": 7070'"

check "ban a source in B" pc_b ban "$IF_SRV" 198.18.1.9 --for 1h
check "detach in A" pc detach "$IF_SRV"
check "A is unfiltered now (tcp/9090 answers)" reach tcp "$SRV4" 9090
check_not "B still filters (tcp/8080 dropped)" reach tcp "$SRV4_B" 8080
check "B still answers its port (tcp/9090)" reach tcp "$SRV4_B" 9090
check "status in B still shows B's" test "$(status_config pc_b)" = "1 $IF_SRV=b.conf"
check "status in A shows none" test "$(status_config pc)" = "0 "
check "detach in B" pc_b detach "$IF_SRV"
check "B's bans were saved under netns-$NS_B" \
	grep -q "^198.18.1.9 " "$PORTCULLIS_STATE_DIR/netns-$NS_B/$IF_SRV.bans"
check "B is unfiltered now (tcp/8080 answers)" reach tcp "$SRV4_B" 8080
