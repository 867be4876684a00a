#!/bin/bash
# Hostile files (issue 12), an attack that must fail: whoever can plant a FIFO
# (or a device, or a directory) where the config or an @FILE list is expected
# must not be able to hang check, reload or run's SIGHUP reload. Each is
# refused at once: "FILE: not a regular file", exit 2, the live rules
# unchanged, and run keeps serving.
. "$(dirname "$0")/../lib.sh"
. "$TESTS_DIR/helpers/attacks.sh"
need python3 nsenter curl timeout mkfifo

DENIED=198.18.0.9
PORT=$((20000 + LAB_ID % 20000))

lab_up || { not_ok attacks-files-lab "could not build the lab"; exit 1; }
cli ip addr add "$DENIED/24" dev "$IF_CLI"
listen_srv tcp:22 tcp:8080 || exit 1
fifo=$TEST_TMP/planted.fifo
mkfifo "$fifo"
mkdir "$TEST_TMP/planted.dir"
echo "$DENIED" >"$TEST_TMP/deny.list"
conf=$(write_config files.conf "allow tcp 22" "deny from @$TEST_TMP/deny.list")
check "attach with tcp/22 open and $DENIED denied from a list" pc attach "$IF_SRV" -c "$conf"

# rules_unchanged WHAT: the rules of files.conf are still the live ones.
rules_unchanged() {
	check "after $1: tcp/22 still open" from "$CLI4" tcp 22
	check_not "after $1: tcp/8080 still closed" from "$CLI4" tcp 8080
	check_not "after $1: $DENIED still denied" from "$DENIED" tcp 22
}

# refused_at_once NAME FILE CMD...: CMD returns within 2 s, exit 2, saying
# FILE is not a regular file. A CMD that blocks is killed after 5 s.
refused_at_once() {
	local name=$1 file=$2 start end rc out
	shift 2
	start=$(date +%s%N)
	out=$(timeout -k 1 5 "$@" 2>&1 >/dev/null)
	rc=$?
	end=$(date +%s%N)
	local ms=$(((end - start) / 1000000))
	if [ "$ms" -ge 2000 ]; then
		not_ok "$name" "took $ms ms (exit $rc): it blocked on the file"
	elif [ "$rc" -ne 2 ]; then
		not_ok "$name" "exit $rc, expected 2: $out"
	elif ! grep -qF -- "$(basename "$file"): not a regular file" <<<"$out"; then
		not_ok "$name" "message does not say '$(basename "$file"): not a regular file': $out"
	else
		ok "$name ($ms ms)"
	fi
}

# portcullis on the server side, as a command timeout can run (pc is a function).
PC_SRV=(nsenter --net="/run/netns/$NS_SRV" "$PC")
listed=$(write_config listed-fifo.conf "allow tcp 22" "deny from @$fifo")
perport=$(write_config perport-fifo.conf "allow tcp 22 from @$fifo")
device=$(write_config device.conf "allow tcp 22" "deny from @/dev/zero")
dirlist=$(write_config dir.conf "allow tcp 22" "deny from @$TEST_TMP/planted.dir")

refused_at_once "check -c FIFO" "$fifo" "$PC" check -c "$fifo"
refused_at_once "check of a config whose deny list is a FIFO" "$fifo" "$PC" check -c "$listed"
refused_at_once "check of a config whose per-port list is a FIFO" "$fifo" "$PC" check -c "$perport"
refused_at_once "check of a config whose list is /dev/zero" /dev/zero "$PC" check -c "$device"
refused_at_once "check -c DIRECTORY" planted.dir "$PC" check -c "$TEST_TMP/planted.dir"
refused_at_once "check of a config whose list is a directory" planted.dir "$PC" check -c "$dirlist"
refused_at_once "reload -c FIFO" "$fifo" "${PC_SRV[@]}" reload "$IF_SRV" -c "$fifo"
rules_unchanged "reload -c FIFO"
refused_at_once "reload of a config whose deny list is a FIFO" "$fifo" \
	"${PC_SRV[@]}" reload "$IF_SRV" -c "$listed"
rules_unchanged "reload with a FIFO list"
refused_at_once "reload of a config whose list is /dev/zero" /dev/zero \
	"${PC_SRV[@]}" reload "$IF_SRV" -c "$device"
refused_at_once "runtime allow from @FIFO" "$fifo" \
	"${PC_SRV[@]}" allow "$IF_SRV" tcp 8080 from "@$fifo"
rules_unchanged "allow from @FIFO"

# run: the list file is replaced by a FIFO, then SIGHUP.
pc detach "$IF_SRV" >/dev/null
cp "$conf" "$TEST_TMP/run.conf"
conf=$TEST_TMP/run.conf
if ! start_run "$TEST_TMP/run.log"; then
	not_ok "run starts" "$(cat "$TEST_TMP/run.log")"
else
	rm "$TEST_TMP/deny.list"
	mkfifo "$TEST_TMP/deny.list"
	kill -HUP "$RUN_PID"
	check "run's SIGHUP reload of a FIFO list is refused at once" \
		wait_for "$TEST_TMP/run.log" "deny.list: not a regular file" 2
	check "run still serves /metrics within 2 s" \
		srv curl -sf -m 2 -o /dev/null "http://127.0.0.1:$PORT/metrics"
	rules_unchanged "run's SIGHUP with a FIFO list"
	# Unblock a run that hangs on the FIFO, so it can be stopped.
	timeout 1 sh -c "echo $DENIED >'$TEST_TMP/deny.list'" 2>/dev/null
	kill -TERM "$RUN_PID" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$RUN_PID" 2>/dev/null
	wait "$RUN_PID" 2>/dev/null
	echo "--- run's log:"
	cat "$TEST_TMP/run.log"
fi
