#!/bin/bash
# Faults: kill -9 in the middle of reloads, the interface deleted under an
# attachment, pins removed by hand, a full ban table, bpffs not mounted.
# Each must end in a clear message and a known state: the last complete rule
# set enforced or a plain "not filtered", never a crash, never a silent
# pass-everything.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter bpftool unshare

PORT=9435
lab_up || { not_ok faults-lab "could not build the lab"; exit 1; }
listen_srv tcp:22 tcp:8080 tcp:9000 tcp:9001 || exit 1
conf_a=$(write_config a.conf "allow tcp 22,9000" "scan-detect off")
conf_b=$(write_config b.conf "allow tcp 22,9001" "scan-detect off")
conf="$TEST_TMP/portcullis.conf"
cp "$conf_a" "$conf"

quiet() { "$@" >/dev/null; }
wait_for_file() {
	local i
	for i in $(seq 30); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}
attached() { test -e "$PC_PINS/${1:-$IF_SRV}/link"; }
xdp_on_link() { ip -n "$NS_SRV" link show "${1:-$IF_SRV}" | grep -q 'prog/xdp'; }
# Background commands go through nsenter directly: it execs portcullis, so $!
# is its PID (a shell function would put a subshell in between).
# Exactly rule set A or B: tcp/22 open, tcp/8080 closed, one of 9000 and 9001.
# Prints A or B, or what it saw.
enforced_set() {
	local p22 p8080 p9000 p9001
	reach tcp "$SRV4" 22 && p22=1 || p22=0
	reach tcp "$SRV4" 8080 && p8080=1 || p8080=0
	reach tcp "$SRV4" 9000 && p9000=1 || p9000=0
	reach tcp "$SRV4" 9001 && p9001=1 || p9001=0
	case "$p22$p8080$p9000$p9001" in
	1010) echo A ;;
	1001) echo B ;;
	*) echo "mixed: 22=$p22 8080=$p8080 9000=$p9000 9001=$p9001" ;;
	esac
}
# Swap the config file atomically, so a reload reads a whole file.
use_config() {
	cp "$1" "$conf.new" && mv "$conf.new" "$conf"
}

# --- kill -9 of run while it reloads -------------------------------------------
start_run "$TEST_TMP/run1.log"
check "run attaches" attached
for round in 1 2 3; do
	generation_logged=0
	for i in $(seq $((10 + RANDOM % 20))); do
		if [ $((i % 2)) -eq 0 ]; then use_config "$conf_a"; else use_config "$conf_b"; fi
		kill -HUP "$RUN_PID"
		sleep "0.0$((RANDOM % 4))"
	done
	# Now and then mid-reload: the next reload is under way, or just done.
	kill -HUP "$RUN_PID"
	sleep "0.00$((RANDOM % 10))"
	kill -9 "$RUN_PID"
	wait "$RUN_PID" 2>/dev/null
	generation_logged=$(sed -n 's/.*reloaded .* (generation \([0-9]*\)).*/\1/p' \
		"$TEST_TMP/run$round.log" | tail -n 1)
	check "round $round: after kill -9 the link is still pinned" attached
	check "round $round: and the XDP program still on $IF_SRV" xdp_on_link
	set_seen=$(enforced_set)
	if [ "$set_seen" = A ] || [ "$set_seen" = B ]; then
		ok "round $round: one whole rule set is enforced ($set_seen), never a mix"
	else
		not_ok "round $round: one whole rule set is enforced" "$set_seen"
	fi
	generation=$(stats_field '["generation"]')
	check "round $round: generation $generation is at least the last logged (${generation_logged:-1})" \
		test "$generation" -ge "${generation_logged:-1}"
	use_config "$conf_a"
	start_run "$TEST_TMP/run$((round + 1)).log"
	check "round $round: a new run adopts the attachment" \
		grep -q "$IF_SRV: adopted the existing attachment with $conf" "$TEST_TMP/run$((round + 1)).log"
done
check "the adopting run enforces its config (A)" test "$(enforced_set)" = A
kill -TERM "$RUN_PID"
wait "$RUN_PID"
check "SIGTERM: the adopting run exits 0" test $? -eq 0
check "and leaves the filter attached" attached
check "detach unfilters" pc detach "$IF_SRV"

# --- kill -9 of the reload command itself ---------------------------------------
check "attach for the reload kills" pc attach "$IF_SRV" -c "$conf_a"
for i in $(seq 12); do
	if [ $((i % 2)) -eq 0 ]; then next=$conf_a; else next=$conf_b; fi
	nsenter --net="/run/netns/$NS_SRV" "$PC" reload "$IF_SRV" -c "$next" 2>/dev/null &
	pid=$!
	sleep "0.0$((RANDOM % 3))$((RANDOM % 10))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
done
set_seen=$(enforced_set)
if [ "$set_seen" = A ] || [ "$set_seen" = B ]; then
	ok "12 reloads killed at random: one whole rule set is enforced ($set_seen)"
else
	not_ok "12 reloads killed at random: one whole rule set is enforced" "$set_seen"
fi
check "a reload after the kills works" pc reload "$IF_SRV" -c "$conf_b"
check "and enforces B" test "$(enforced_set)" = B

# --- pins removed by hand, nothing holding the link ---------------------------------
rm -rf "${PC_PINS:?}/$IF_SRV"
check "pins removed without a run: the XDP program goes with them" bash -c "! ip -n $NS_SRV link show $IF_SRV | grep -q prog/xdp"
expect_exit "stats says the interface is not filtered" 1 \
	"$IF_SRV: not attached \(no pins under .*\); its traffic is not filtered" pc stats "$IF_SRV"
expect_exit "status IFACE says so too" 1 "its traffic is not filtered" pc status "$IF_SRV"
check "status lists nothing attached" bash -c "$PC status | grep -q 'no interfaces attached'"
check "attach works again" pc attach "$IF_SRV" -c "$conf_a"
check "detach" pc detach "$IF_SRV"

# --- an attach killed half-way: map pins without a link pin ---------------------------
check "attach" pc attach "$IF_SRV" -c "$conf_a"
rm -f "$PC_PINS/$IF_SRV/link"
expect_exit "only the link pin removed: not attached, not filtered" 1 \
	"not attached .*its traffic is not filtered" pc status "$IF_SRV"
check "attach over the leftover map pins works the first time" pc attach "$IF_SRV" -c "$conf_a"
check "detach" pc detach "$IF_SRV"
for i in $(seq 6); do
	nsenter --net="/run/netns/$NS_SRV" "$PC" attach "$IF_SRV" -c "$conf_a" 2>/dev/null &
	pid=$!
	sleep "0.$((RANDOM % 3))$((RANDOM % 10))"
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	attached && pc detach "$IF_SRV" 2>/dev/null
done
check "after 6 attaches killed at random, attach works the first time" \
	pc attach "$IF_SRV" -c "$conf_a"
check "and filters" test "$(enforced_set)" = A
check "detach" pc detach "$IF_SRV"

# --- pins removed by hand while run holds the link ------------------------------------
use_config "$conf_a"
start_run "$TEST_TMP/run-pins.log"
rm -rf "${PC_PINS:?}/$IF_SRV"
check "pins removed under run: the XDP program stays" xdp_on_link
check_not "and tcp/8080 stays closed" reach tcp "$SRV4" 8080
check "run says it put the pins back" \
	wait_for "$TEST_TMP/run-pins.log" "$IF_SRV: the pins under .* were removed by hand; put them back"
check "the pins are back" attached
check "stats works again" quiet pc stats "$IF_SRV" --json
check "the rules are the same (A)" test "$(enforced_set)" = A
check "reload through the restored pins" pc reload "$IF_SRV" -c "$conf_b"
check "and it takes effect (B)" test "$(enforced_set)" = B
# Stopped, run cannot put them back yet: what does stats say meanwhile?
kill -STOP "$RUN_PID"
rm -rf "${PC_PINS:?}/$IF_SRV"
expect_exit "pins gone, link held: stats names the program still attached" 1 \
	"yet XDP program id [0-9]+ is on it" pc stats "$IF_SRV"
kill -CONT "$RUN_PID"
check "put back a second time" \
	bash -c "for i in \$(seq 30); do [ \$(grep -c 'put them back' '$TEST_TMP/run-pins.log') -ge 2 ] && exit 0; sleep 0.1; done; exit 1"
check "the pins are back again" wait_for_file "$PC_PINS/$IF_SRV/link"
check "detach while run runs" bash -c "sleep 0.5; nsenter --net=/run/netns/$NS_SRV $PC detach $IF_SRV"
check "run says the interface is no longer filtered" \
	wait_for "$TEST_TMP/run-pins.log" "$IF_SRV: detached under this service .*not filtered"
check "and does not put the pins back" bash -c "sleep 0.6; test ! -e $PC_PINS/$IF_SRV/link"
check "tcp/8080 is open: detach wins" reach tcp "$SRV4" 8080
kill -TERM "$RUN_PID"
wait "$RUN_PID"
check "that run exits 0 on SIGTERM" test $? -eq 0

# --- the interface deleted while attached ------------------------------------------------
gone=pcg$LAB_ID
srv ip link add "$gone" type veth peer name "${gone}p"
srv ip link set "$gone" up
srv ip link set "${gone}p" up
check "attach to $gone" pc attach "$gone" -c "$conf_a" --xdp-mode generic
srv ip link del "$gone"
check "status says the interface no longer exists" \
	bash -c "nsenter --net=/run/netns/$NS_SRV $PC status $gone | grep -q 'the interface no longer exists'"
check "status --json says present: false" \
	bash -c "nsenter --net=/run/netns/$NS_SRV $PC status $gone --json | grep -q '\"present\": false'"
check "stats still reads the counters" quiet pc stats "$gone" --json
check "detach cleans up after the interface" pc detach "$gone"
check "no pins left for $gone" test ! -e "$PC_PINS/$gone"

# run on an interface that goes away: says so, keeps going, stops cleanly.
srv ip link add "$gone" type veth peer name "${gone}p"
srv ip link set "$gone" up
nsenter --net="/run/netns/$NS_SRV" "$PC" run "$gone" -c "$conf_a" --listen 127.0.0.1:$PORT --xdp-mode generic 2>"$TEST_TMP/run-gone.log" &
RUN_PID=$!
LAB_PIDS+=("$RUN_PID")
wait_for "$TEST_TMP/run-gone.log" "metrics at|error|fail" 10
srv ip link del "$gone"
check "run says the interface went away" \
	wait_for "$TEST_TMP/run-gone.log" "$gone: the interface went away"
check "run is still running" kill -0 "$RUN_PID"
kill -TERM "$RUN_PID"
wait "$RUN_PID"
check "and exits 0 on SIGTERM" test $? -eq 0
check "leaving its pins for 'detach' (fail-closed)" test -e "$PC_PINS/$gone/link"
check "which cleans up" pc detach "$gone"
check "leaving no pins" test ! -e "$PC_PINS/$gone"

# --- a full ban table -------------------------------------------------------------------
check "attach for the ban table" pc attach "$IF_SRV" -c "$conf_a"
define() { sed -n "s/^#define $1 \([0-9]*\).*/\1/p" "$TESTS_DIR/../maps/portcullis.h"; }
max=$(($(define PC_SCAN_BANS_MAX) + $(define PC_MANUAL_BANS_MAX)))
bans="$PC_PINS/$IF_SRV/pc_bans"
# pc_addr_key {family 4, pad, addr[16]} and pc_ban {expires forever, reason manual}:
# a table full of manual bans, which no new ban may push out.
python3 - "$bans" "$max" >"$TEST_TMP/fill.batch" <<'EOF'
import sys
path, count = sys.argv[1], int(sys.argv[2])
value = " ".join(["ff"] * 8 + ["00"] * 16 + ["02", "00", "00", "00"] + ["00"] * 20)
for i in range(count):
    addr = [10, (i >> 16) & 255, (i >> 8) & 255, i & 255]
    key = " ".join("%02x" % b for b in [4, 0, 0, 0] + addr + [0] * 12)
    print("map update pinned %s key hex %s value hex %s" % (path, key, value))
EOF
if bpftool batch file "$TEST_TMP/fill.batch" >/dev/null 2>"$TEST_TMP/fill.err"; then
	ok "filled the ban table with $max entries"
	expect_exit "ban into a full table says the table is full" 1 \
		"couldn't ban 198.18.0.9: .*; the ban table is full" pc ban "$IF_SRV" 198.18.0.9
	check "the filter still works with a full table" reach tcp "$SRV4" 22
	listed=$(pc bans "$IF_SRV" --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))")
	check "bans --json lists all $max ($listed)" test "$listed" = "$max"
	check "unban frees a slot" pc unban "$IF_SRV" 10.0.0.7
	check "and the next ban fits" pc ban "$IF_SRV" 198.18.0.9
else
	not_ok "filled the ban table with $max entries" "$(head -3 "$TEST_TMP/fill.err")"
fi
check "detach with a full ban table" pc detach "$IF_SRV"

# --- bpffs not mounted ------------------------------------------------------------------------
plain="$TEST_TMP/not-bpffs"
mkdir -p "$plain"
expect_exit "a pin root that is not bpffs is refused" 1 \
	"pin root $plain is not on a BPF filesystem" pc --pin-root "$plain" attach "$IF_SRV" -c "$conf_a"
check "and nothing is left attached" bash -c "! ip -n $NS_SRV link show $IF_SRV | grep -q prog/xdp"
# A private mount namespace without bpffs at /sys/fs/bpf: attach mounts it (mode 0700).
cat >"$TEST_TMP/nobpffs.sh" <<EOF
while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf || exit 3; done
nsenter --net=/run/netns/$NS_SRV "$PC" attach "$IF_SRV" -c "$conf_a" 2>"$TEST_TMP/nobpffs.err" || exit 4
mountpoint -q /sys/fs/bpf || exit 5
case "\$(stat -c %a /sys/fs/bpf)" in 700 | 1700) ;; *) exit 6 ;; esac
[ -e "$PC_PINS/$IF_SRV/link" ] || exit 7
nsenter --net=/run/netns/$NS_SRV "$PC" detach "$IF_SRV" 2>/dev/null || exit 8
exit 0
EOF
unshare -m --propagation private bash "$TEST_TMP/nobpffs.sh"
rc=$?
if [ "$rc" -eq 0 ]; then
	ok "bpffs not mounted: attach mounts it (mode 0700), attaches, detaches"
else
	not_ok "bpffs not mounted: attach mounts it" "step $rc failed: $(cat "$TEST_TMP/nobpffs.err" 2>/dev/null)"
fi
check "the message says it mounted bpffs" grep -q "mounted bpffs at /sys/fs/bpf" "$TEST_TMP/nobpffs.err"
check "outside that namespace nothing changed" mountpoint -q /sys/fs/bpf
check "and nothing is left on the interface" bash -c "! ip -n $NS_SRV link show $IF_SRV | grep -q prog/xdp"
