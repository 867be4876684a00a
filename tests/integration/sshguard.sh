#!/bin/bash
# The SSH guard on every rule-changing command: attach, reload, disallow, ban
# and run's SIGHUP reload refuse (exit 2, nothing changed) a change that would
# cut off the SSH session they run from, unless --force. The session is
# simulated with SSH_CONNECTION (the lab's client -> the server's tcp/22), and
# "nothing changed" is checked with real traffic from that client and the
# generation and bans of the live rules.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter

PORT=9437
lab_up || { not_ok sshguard-lab "could not build the lab"; exit 1; }
listen_srv tcp:22 tcp:443 || exit 1
good=$(write_config good.conf "allow tcp 22" "scan-detect off")
noss=$(write_config nossh.conf "allow tcp 443" "scan-detect off")
denied=$(write_config denied.conf "allow tcp 22,443" "deny from 198.18.0.0/24" "scan-detect off")

SESSION="$CLI4 50022 $SRV4 22"
# A command run from the SSH session $SESSION.
from_ssh() { srv env SSH_CONNECTION="$SESSION" "$PC" "$@"; }
generation() { stats_field '["generation"]'; }
bans_count() {
	pc bans "$IF_SRV" --json | python3 -c "import json,sys; print(len(json.load(sys.stdin)))"
}

# --- attach: a 'deny from' holding the client ---------------------------------------
expect_exit "attach refuses a 'deny from' holding the SSH client" 2 \
	"$IF_SRV: refusing to attach: this config would cut off your SSH session \($CLI4 is in 'deny from 198.18.0.0/24'\)" \
	from_ssh attach "$IF_SRV" -c "$denied"
expect_exit "and says what to do instead" 2 "take 198.18.0.0/24 out of 'deny from' in the config .*or use --force" \
	from_ssh attach "$IF_SRV" -c "$denied"
check "the refused attach left no pins" test ! -e "$PC_PINS/$IF_SRV"
check "attach with the SSH port open" from_ssh attach "$IF_SRV" -c "$good"

# --- reload -----------------------------------------------------------------------------
before=$(generation)
expect_exit "reload refuses a config that closes the SSH port" 2 \
	"$IF_SRV: refusing to reload: this config would cut off your SSH session \($CLI4 -> tcp port 22 is not allowed\)" \
	from_ssh reload "$IF_SRV" -c "$noss"
expect_exit "reload refuses a 'deny from' holding the client" 2 \
	"refusing to reload: .*\($CLI4 is in 'deny from 198.18.0.0/24'\)" \
	from_ssh reload "$IF_SRV" -c "$denied"
check "the refused reloads changed nothing (generation $before)" test "$(generation)" = "$before"
check "tcp/22 still reachable from the client" reach tcp "$SRV4" 22
check_not "tcp/443 still closed" reach tcp "$SRV4" 443
check "reload --force goes through" from_ssh reload "$IF_SRV" -c "$noss" --force
check "and takes effect: tcp/443 open" reach tcp "$SRV4" 443
check_not "and tcp/22 closed" reach tcp "$SRV4" 22
check "a reload without a session needs no --force" pc reload "$IF_SRV" -c "$good"

# --- disallow ---------------------------------------------------------------------------
expect_exit "disallow of the SSH port is refused" 2 \
	"$IF_SRV: refusing to disallow tcp 22: it would cut off your SSH session \($CLI4 -> tcp port 22\)" \
	from_ssh disallow "$IF_SRV" tcp 22
expect_exit "so is a range holding it" 2 "refusing to disallow tcp 22" \
	from_ssh disallow "$IF_SRV" tcp 20-30,8080
check "tcp/22 still reachable" reach tcp "$SRV4" 22
check "and still allowed in stats" test "$(port_field tcp 22 allowed)" = True
check "disallow of udp 22 is not the session's" from_ssh disallow "$IF_SRV" udp 22
check "disallow of another tcp port is fine" from_ssh disallow "$IF_SRV" tcp 443
check "disallow tcp 22 --force goes through" from_ssh disallow "$IF_SRV" tcp 22 --force
check_not "and closes it" reach tcp "$SRV4" 22
check "allow tcp 22 from the client" pc allow "$IF_SRV" tcp 22 from "$CLI4"
expect_exit "disallow of the port opened to the client only is refused too" 2 \
	"refusing to disallow tcp 22" from_ssh disallow "$IF_SRV" tcp 22
check "tcp/22 reachable again" reach tcp "$SRV4" 22
check "allow does not need --force (it cannot cut a session)" from_ssh allow "$IF_SRV" tcp 443

# --- ban --------------------------------------------------------------------------------
expect_exit "ban of the SSH client is refused" 2 \
	"$IF_SRV: refusing to ban $CLI4: it would cut off your SSH session \(it comes from $CLI4\)" \
	from_ssh ban "$IF_SRV" "$CLI4"
check "no ban was made" test "$(bans_count)" = 0
check "tcp/22 still reachable" reach tcp "$SRV4" 22
check "ban of another address is fine" from_ssh ban "$IF_SRV" "$CLI4B"
SESSION="$CLI6 50022 $SRV6 22"
expect_exit "IPv6: ban of an address in the client's /64 is refused" 2 \
	"refusing to ban 2001:2::/64: .*\($CLI6 is in 2001:2::/64" \
	from_ssh ban "$IF_SRV" 2001:2::99
SESSION="$CLI4 50022 $SRV4 22"
check "only the other address is banned" test "$(bans_count)" = 1
check "ban --force goes through" from_ssh ban "$IF_SRV" "$CLI4" --force
check_not "and cuts the client off" reach tcp "$SRV4" 22
check "unban" pc unban "$IF_SRV" "$CLI4"
check "detach" pc detach "$IF_SRV"

# --- run: the SIGHUP reload -------------------------------------------------------------
conf="$TEST_TMP/portcullis.conf"
cp "$good" "$conf"
SSH_CONNECTION="$SESSION" start_run "$TEST_TMP/run.log"
check "run attaches with the SSH port open" test -e "$PC_PINS/$IF_SRV/link"
before=$(generation)
cp "$noss" "$conf"
kill -HUP "$RUN_PID"
check "run logs the refused reload" \
	wait_for "$TEST_TMP/run.log" "$IF_SRV: reload of $conf failed: refused by the SSH guard: this config would cut off your SSH session \($CLI4 -> tcp port 22 is not allowed\); the old rules stay in force"
check "and keeps the old rules (generation $before)" test "$(generation)" = "$before"
check "tcp/22 still reachable" reach tcp "$SRV4" 22
check_not "tcp/443 still closed" reach tcp "$SRV4" 443
check "run is still running" kill -0 "$RUN_PID"
kill -TERM "$RUN_PID"
wait "$RUN_PID"

cp "$good" "$conf"
SSH_CONNECTION="$SESSION" start_run "$TEST_TMP/run-force.log" --force
cp "$noss" "$conf"
kill -HUP "$RUN_PID"
check "run --force: the SIGHUP reload goes through" \
	wait_for "$TEST_TMP/run-force.log" "$IF_SRV: reloaded $conf"
check "and takes effect: tcp/443 open" reach tcp "$SRV4" 443
check_not "and tcp/22 closed" reach tcp "$SRV4" 22
kill -TERM "$RUN_PID"
wait "$RUN_PID"
