#!/bin/bash
# run IFACE...: two interfaces in one process with one config, one /metrics
# carrying both interfaces' series, one log; SIGHUP reloads both; a stop
# leaves both attached.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter curl

PORT=9442
IF2=pct${LAB_ID}
IF2_CLI=pcu${LAB_ID}
SRV4_2=198.18.2.1
lab_up || { not_ok runmany-lab "could not build the lab"; exit 1; }
ip link add "$IF2" netns "$NS_SRV" type veth peer name "$IF2_CLI" netns "$NS_CLI" ||
	{ not_ok runmany-lab "could not add the second veth"; exit 1; }
srv ip addr add "$SRV4_2/24" dev "$IF2"
srv ip link set "$IF2" up
cli ip addr add 198.18.2.2/24 dev "$IF2_CLI"
cli ip link set "$IF2_CLI" up
srv ethtool -K "$IF2" gro on >/dev/null 2>&1 || true
cli ethtool -K "$IF2_CLI" gro on >/dev/null 2>&1 || true
listen_srv tcp:22 tcp:8080 || exit 1
conf=$(write_config runmany.conf "allow tcp 22")
log=$TEST_TMP/run.log

bg_in "$NS_SRV" "$PC" run "$IF_SRV" "$IF2" -c "$conf" --listen "127.0.0.1:$PORT" 2>"$log"
RUN_PID=${LAB_PIDS[-1]}
check "run starts with two interfaces" wait_for "$log" "$IF2: filtering with .*metrics at" 10
check "it logs the first one too" grep -q "$IF_SRV: filtering with" "$log"
check_not "$IF_SRV drops a closed port (tcp/8080)" reach tcp "$SRV4" 8080
check_not "$IF2 drops a closed port (tcp/8080)" reach tcp "$SRV4_2" 8080
check "$IF2 answers an allowed port (tcp/22)" reach tcp "$SRV4_2" 22
metrics=$(srv curl -s -m 5 "http://127.0.0.1:$PORT/metrics")
for ifname in "$IF_SRV" "$IF2"; do
	check "one /metrics has $ifname's drops" \
		grep -qE "^portcullis_drops_total\{interface=\"$ifname\",reason=\"not-allowed\"\} [1-9]" \
		<<<"$metrics"
done

echo "allow tcp 22,8080" >"$conf"
kill -HUP "$RUN_PID"
check "SIGHUP reloads $IF_SRV" wait_for "$log" "$IF_SRV: reloaded .*generation 2" 5
check "and $IF2" wait_for "$log" "$IF2: reloaded .*generation 2" 5
check "$IF2 answers the newly allowed port (tcp/8080)" reach tcp "$SRV4_2" 8080

kill -TERM "$RUN_PID"
wait "$RUN_PID"
check "run exits 0 on SIGTERM" test $? -eq 0
check "both stay attached" test -e "$PC_PINS/$IF_SRV/link" -a -e "$PC_PINS/$IF2/link"
check "detach $IF2" pc detach "$IF2"
