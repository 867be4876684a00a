#!/bin/bash
# valgrind on the plain (non-sanitizer) binary, build/portcullis: every
# command from attach to detach, each one a case. Definite and indirect leaks
# and memory errors fail; "still reachable" (libbpf's and libc's one-time
# allocations that live until exit) does not.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter valgrind

PLAIN=$(cd "$TESTS_DIR/.." && pwd)/build/portcullis
if [ ! -x "$PLAIN" ]; then
	skip valgrind "$PLAIN is not built (make build/portcullis)"
	exit 0
fi
SUPP=$TESTS_DIR/valgrind.supp

lab_up || { not_ok valgrind-lab "could not build the lab"; exit 1; }
listen_srv tcp:22 tcp:8080 || exit 1
conf=$(write_config vg.conf "allow tcp 22,80" "deny from 203.0.113.0/24" "scan-detect ports 10")
other=$(write_config vg2.conf "allow tcp 22" "icmp deny")

# vg NAME WANT_STATUS ARGS...: the plain binary under valgrind in the server namespace.
vg() {
	local name=$1 want=$2 log="$TEST_TMP/vg.$RANDOM.log" rc
	shift 2
	srv valgrind --quiet --leak-check=full --show-leak-kinds=definite,indirect \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=99 \
		--suppressions="$SUPP" --log-file="$log" "$PLAIN" "$@" >/dev/null 2>"$log.stderr"
	rc=$?
	if [ "$rc" -eq 99 ] || grep -qE 'definitely lost|indirectly lost|Invalid (read|write)|uninitialised|ERROR SUMMARY: [1-9]' "$log"; then
		not_ok "valgrind: $name" "$(grep -m 12 -E '==[0-9]+== +([A-Z]|at 0x|by 0x)' "$log" | tr -s ' ')"
	elif [ "$rc" -ne "$want" ]; then
		not_ok "valgrind: $name" "exit $rc, expected $want: $(head -c 300 "$log.stderr")"
	else
		ok "valgrind: $name: no leaks, no errors"
	fi
}

vg "check" 0 check -c "$conf"
vg "check of a bad config" 2 check -c /nonexistent.conf
vg "attach" 0 attach "$IF_SRV" -c "$conf"
check "attached under valgrind, the filter works" reach tcp "$SRV4" 22
check_not "and drops" reach tcp "$SRV4" 8080
vg "stats" 0 stats "$IF_SRV"
vg "stats --json" 0 stats "$IF_SRV" --json
vg "status" 0 status
vg "status IFACE --json" 0 status "$IF_SRV" --json
vg "allow" 0 allow "$IF_SRV" tcp 8080,9000-9010 from 198.18.0.0/24
vg "disallow" 0 disallow "$IF_SRV" tcp 9000-9010
vg "ban" 0 ban "$IF_SRV" 198.51.100.7 --for 1h
vg "bans --json" 0 bans "$IF_SRV" --json
vg "unban" 0 unban "$IF_SRV" 198.51.100.7
vg "metrics" 0 metrics "$IF_SRV"
vg "reload" 0 reload "$IF_SRV" -c "$other"
vg "refused reload" 2 reload "$IF_SRV" -c /nonexistent.conf
vg "detach" 0 detach "$IF_SRV"
vg "stats when not attached" 1 stats "$IF_SRV"
check "no pins left" test ! -e "$PC_PINS/$IF_SRV"

# run: attach, serve, a SIGHUP reload, pins removed and put back, SIGTERM.
log="$TEST_TMP/vg-run.log"
nsenter --net="/run/netns/$NS_SRV" valgrind --quiet --leak-check=full \
	--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
	--error-exitcode=99 --suppressions="$SUPP" --log-file="$log" \
	"$PLAIN" run "$IF_SRV" -c "$conf" --listen 127.0.0.1:9436 2>"$log.stderr" &
vg_pid=$!
LAB_PIDS+=("$vg_pid")
# Under valgrind on a loaded 2-core machine, attach alone can take half a minute:
# the pins must exist before they are removed, or there is nothing to put back.
for _ in $(seq 900); do
	grep -q "metrics at" "$log.stderr" && break
	sleep 0.1
done
kill -HUP "$vg_pid"
sleep 1
rm -rf "${PC_PINS:?}/$IF_SRV"
for _ in $(seq 200); do
	grep -q "put them back" "$log.stderr" && break
	sleep 0.1
done
kill -TERM "$vg_pid"
wait "$vg_pid"
rc=$?
if [ "$rc" -ne 0 ] || grep -qE 'definitely lost|indirectly lost|ERROR SUMMARY: [1-9]' "$log"; then
	not_ok "valgrind: run (reload, pins put back, SIGTERM)" \
		"exit $rc: $(grep -m 12 -E '==[0-9]+== +([A-Z]|at 0x|by 0x)' "$log" | tr -s ' ') $(tail -3 "$log.stderr")"
else
	ok "valgrind: run (reload, pins put back, SIGTERM): no leaks, no errors"
fi
check "run under valgrind reloaded and put the pins back" \
	bash -c "grep -q 'reloaded' '$log.stderr' && grep -q 'put them back' '$log.stderr'"
check "and left the filter attached on SIGTERM" test -e "$PC_PINS/$IF_SRV/link"
