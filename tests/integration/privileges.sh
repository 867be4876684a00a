#!/bin/bash
# Privileges: pins readable by root only, other users told plainly that they
# cannot read them, config and list files that another user could change
# refused (sshd's StrictModes), the exporter on loopback unless told
# otherwise, and no shell-outs from the loader.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter setpriv ss

NOBODY=65534
# as_nobody CMD...: CMD as an unprivileged user with no groups.
as_nobody() { setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$@"; }
mode_of() { stat -c %a "$1"; }

lab_up || { not_ok privileges-lab "could not build the lab"; exit 1; }
listen_srv tcp:22 tcp:8080 || exit 1
good=$(write_config good.conf "allow tcp 22")
dir="$PC_PINS/$IF_SRV"

# --- pins -----------------------------------------------------------------------
check "attach" pc attach "$IF_SRV" -c "$good"
check "the pin root is 0700 ($(mode_of "$PORTCULLIS_PIN_ROOT"))" \
	test "$(mode_of "$PORTCULLIS_PIN_ROOT")" = 700
check "the interface's pin directory is 0700 ($(mode_of "$dir"))" test "$(mode_of "$dir")" = 700
bad_pins=$(find "$dir" -mindepth 1 \( ! -user root -o ! -perm 0600 \) -printf '%p %u %m\n')
pins=$(find "$dir" -mindepth 1 | wc -l)
if [ "$pins" -gt 1 ] && [ -z "$bad_pins" ]; then
	ok "all $pins pinned objects are root's, mode 0600"
else
	not_ok "all pinned objects are root's, mode 0600" "${bad_pins:-no pins found}"
fi
check_not "another user cannot reach the link pin" as_nobody test -e "$dir/link"
expect_exit "another user's stats: told it cannot read the pins" 1 \
	"$IF_SRV: can't read the pins under $dir: Permission denied.*run as root" \
	srv setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups "$PC" stats "$IF_SRV"
expect_exit "another user's status: told it cannot read the pin root" 1 \
	"can't read the pin root $PORTCULLIS_PIN_ROOT: Permission denied" as_nobody "$PC" status
check "the filter kept filtering" reach tcp "$SRV4" 22
check_not "and dropping" reach tcp "$SRV4" 8080

# --- config and list files another user could change ----------------------------------
reason="bad ownership or modes"
writable=$(write_config writable.conf "allow tcp 22,8080")
chmod 0666 "$writable"
expect_exit "reload refuses a world-writable config" 2 \
	"^$writable: $reason \(owner uid 0, mode 0666\)" pc reload "$IF_SRV" -c "$writable"
check_not "the old rules stay: tcp/8080 still closed" reach tcp "$SRV4" 8080
chmod 0664 "$writable"
expect_exit "check refuses a group-writable config" 2 "^$writable: $reason \(owner uid 0, mode 0664\)" \
	pc check -c "$writable"
chmod 0644 "$writable"
check "the same file at 0644 is fine" pc check -c "$writable"

list="$TEST_TMP/clients.txt"
printf '%s\n' "$CLI4" >"$list"
chmod 0646 "$list"
with_list=$(write_config with-list.conf "allow tcp 22" "allow tcp 8080 from @$list")
expect_exit "a world-writable list file is refused at the line naming it" 2 \
	"^$with_list:2: $list: $reason \(owner uid 0, mode 0646\)" pc reload "$IF_SRV" -c "$with_list"
chmod 0644 "$list"
check "the same list at 0644 is fine" pc reload "$IF_SRV" -c "$with_list"
check "and in force: tcp/8080 open to the listed client" reach tcp "$SRV4" 8080

# A user's own draft: the user may check it; root does not take it.
chmod 0711 "$TEST_TMP"
home="$TEST_TMP/home"
mkdir "$home" && chown $NOBODY:$NOBODY "$home"
as_nobody sh -c "umask 022; printf 'allow tcp 22\n' >'$home/draft.conf'"
check "a user checks their own draft" as_nobody "$PC" check -c "$home/draft.conf"
check "a user checks a root-owned config" as_nobody "$PC" check -c "$good"
expect_exit "root refuses that user's draft for reload" 2 \
	"^$home/draft.conf: $reason \(owner uid $NOBODY, mode 0644\)" \
	pc reload "$IF_SRV" -c "$home/draft.conf"
expect_exit "and for attach" 2 "^$home/draft.conf: $reason" pc attach "$IF_SRV" -c "$home/draft.conf"
check "detach" pc detach "$IF_SRV"
expect_exit "a refused attach attaches nothing" 2 "$reason" \
	pc attach "$IF_SRV" -c "$home/draft.conf" --force
check "no pins after the refused attach" test ! -e "$dir"

# --- the exporter listens on loopback unless told otherwise ------------------------------------
# The filter lets tcp/9433 in here, so only the bind address keeps clients out.
open_9433=$(write_config exporter.conf "allow tcp 22,9433")
check "attach for the exporter" pc attach "$IF_SRV" -c "$open_9433"
nsenter --net="/run/netns/$NS_SRV" "$PC" exporter "$IF_SRV" 2>"$TEST_TMP/exporter.log" &
LAB_PIDS+=($!)
listeners() { srv ss -ltnH 'sport = :9433' | awk '{print $4}'; }
for _ in $(seq 50); do
	[ -n "$(listeners)" ] && break
	sleep 0.1
done
bound=$(listeners | tr '\n' ' ')
check "the exporter binds 127.0.0.1:9433 by default ($bound)" test "$bound" = "127.0.0.1:9433 "
refused() {
	cli python3 -c "
import socket, sys
try:
    socket.create_connection(('$SRV4', 9433), 2)
except ConnectionRefusedError:
    sys.exit(0)
sys.exit(1)" 2>/dev/null
}
check "from the client side $SRV4:9433 is refused, though the filter lets it in" refused

# --- no shell-outs ------------------------------------------------------------------------------
root=$TESTS_DIR/..
calls=$(grep -nE '\b(system|popen|execl|execlp|execle|execv|execve|execvp|execvpe|fexecve|posix_spawnp?|fork|vfork)[[:space:]]*\(' \
	"$root"/loader/*.[ch] "$root"/maps/*.[ch] 2>/dev/null)
if [ -z "$calls" ]; then
	ok "no system/popen/exec/fork/posix_spawn in loader/ and maps/"
else
	not_ok "no shell-outs in the loader sources" "$calls"
fi
imports=$(nm -D --undefined-only "$PC" 2>/dev/null |
	grep -wE 'system|popen|execl|execlp|execle|execv|execve|execvp|execvpe|fexecve|posix_spawnp?|fork|vfork')
check "the binary imports none of them (${imports:-none})" test -z "$imports"
