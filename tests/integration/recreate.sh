#!/bin/bash
# An interface deleted and created again is never silently unfiltered: status
# says so (exit 1, "filtered": false), reload, allow, disallow and ban refuse
# (exit 1, nothing changed), attach attaches again without --force keeping
# the bans and counters, and run attaches again within a second of the
# interface coming back, and logs it.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter curl

PORT=9441
lab_up || { not_ok recreate-lab "could not build the lab"; exit 1; }
listen_srv tcp:22 tcp:8080 || exit 1
conf=$(write_config recreate.conf "allow tcp 22")

recreate() {
	srv ip link del "$IF_SRV" && lab_veth_up
}
status_json() {
	pc status "$IF_SRV" --json | python3 -c "import json,sys; print(json.load(sys.stdin)[0]$1)"
}
generation() { status_json '["generation"]'; }
banned() { pc bans "$IF_SRV" --json | grep -q "\"$1\""; }
not_allowed_drops() { stats_field '["drops"]["not-allowed"]'; }
RECREATED="$IF_SRV: not filtered: the interface was recreated since attach"

# --- without run ---------------------------------------------------------------
check "attach" pc attach "$IF_SRV" -c "$conf"
check "ban a source" pc ban "$IF_SRV" "$CLI4B" --for 1h
check_not "a closed port is dropped before (tcp/8080)" reach tcp "$SRV4" 8080
drops_before=$(not_allowed_drops)
gen_before=$(generation)
check "status exits 0 while filtering" pc status "$IF_SRV"
check "status --json: \"filtered\": true" test "$(status_json '["filtered"]')" = True

recreate || { not_ok recreate "could not recreate the veth"; exit 1; }
check "the recreated interface is really unfiltered (tcp/8080 answers)" reach tcp "$SRV4" 8080
out=$(pc status "$IF_SRV")
rc=$?
check "status exits 1" test "$rc" -eq 1
check "status says: $RECREATED" grep -qx "$RECREATED" <<<"$out"
check "status --json: \"filtered\": false" test "$(status_json '["filtered"]')" = False
check_not "status without IFACE exits 1 too" pc status
check "status without IFACE lists it as not filtered" \
	bash -c "nsenter --net=/run/netns/$NS_SRV $PC status | grep -qx '$RECREATED'"
expect_exit "reload fails" 1 "^portcullis: $RECREATED; nothing changed" pc reload "$IF_SRV" -c "$conf"
expect_exit "allow fails" 1 "^portcullis: $RECREATED" pc allow "$IF_SRV" tcp 9000
expect_exit "disallow fails" 1 "^portcullis: $RECREATED" pc disallow "$IF_SRV" tcp 22
expect_exit "ban fails" 1 "^portcullis: $RECREATED" pc ban "$IF_SRV" 198.18.0.9
check "nothing changed (generation $gen_before)" test "$(generation)" = "$gen_before"

check "attach attaches again without --force" pc attach "$IF_SRV" -c "$conf"
check "status exits 0 again" pc status "$IF_SRV"
check "status --json: \"filtered\": true again" test "$(status_json '["filtered"]')" = True
check "the ban was kept" banned "$CLI4B"
check_not "the banned source is dropped (tcp/22)" probe_from cli tcp "$SRV4" 22 1 "$CLI4B"
check_not "a closed port is dropped again (tcp/8080)" reach tcp "$SRV4" 8080
drops_after=$(not_allowed_drops)
check "the counters were kept ($drops_before -> $drops_after not-allowed drops)" \
	test "$drops_after" -gt "$drops_before"
check "an allowed port answers (tcp/22)" reach tcp "$SRV4" 22

# --- with run --------------------------------------------------------------------
start_run "$TEST_TMP/run.log"
check "run adopts the attachment" grep -q "$IF_SRV: adopted the existing attachment" "$TEST_TMP/run.log"
# How long from 'ip link add' until an XDP program is on the new interface.
times=()
for round in 1 2 3; do
	srv ip link del "$IF_SRV"
	start=$(date +%s%N)
	ip link add "$IF_SRV" netns "$NS_SRV" type veth peer name "$IF_CLI" netns "$NS_CLI"
	attached_ms=
	for _ in $(seq 500); do
		if ip -n "$NS_SRV" link show dev "$IF_SRV" | grep -q "prog/xdp"; then
			attached_ms=$((($(date +%s%N) - start) / 1000000))
			break
		fi
	done
	lab_veth_setup
	times+=("${attached_ms:-never}")
	check "round $round: run attached again within 1 s (${attached_ms:-never} ms)" \
		test -n "$attached_ms" -a "${attached_ms:-9999}" -le 1000
done
echo "# re-attach times (interface created -> XDP program on it): ${times[*]} ms"
check "run logged it" wait_for "$TEST_TMP/run.log" \
	"$IF_SRV: the interface was recreated; attached again" 2
check "status exits 0 after run attached again" pc status "$IF_SRV"
check_not "a closed-port probe after the re-attach is dropped (tcp/8080)" reach tcp "$SRV4" 8080
check "an allowed port answers (tcp/22)" reach tcp "$SRV4" 22
check "the ban is still there" banned "$CLI4B"
kill -TERM "$RUN_PID"
wait "$RUN_PID"
check "run exits 0 on SIGTERM" test $? -eq 0
