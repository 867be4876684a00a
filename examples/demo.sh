#!/bin/bash
# sudo make demo: a throwaway lab of two network namespaces, the shipped
# example config attached to the server side, and a real nmap scan from the
# client side, before and after. Everything is removed on exit.
#
# Usage: examples/demo.sh PATH/TO/portcullis
set -u
cd "$(dirname "$0")/.." || exit 1
export PORTCULLIS=${1:-build/portcullis}
PORTCULLIS=$(realpath "$PORTCULLIS")
. tests/lib.sh

# The loader refuses a config another user could change (as sshd does), and a
# clone owned by the user who ran sudo is one: attach a copy that root owns.
CONF=$TEST_TMP/portcullis.conf
install -m 0644 examples/portcullis.conf "$CONF"
PORTS=21,22,23,80,443,3306,5432,8080

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() {
	printf '$ %s\n' "$*"
	"$@"
}
nmap_scan() {
	cli nmap -n -Pn -T5 --max-retries 1 "$@" "$SRV4" | grep -E '^[0-9]+/|^PORT'
}

say "Lab: namespace $NS_CLI ($CLI4) --veth--> namespace $NS_SRV ($SRV4, $IF_SRV)"
lab_up || exit 1
listen_srv tcp:21 tcp:22 tcp:23 tcp:80 tcp:443 tcp:3306 tcp:5432 tcp:8080 udp:53 || exit 1
echo "services listening on the server: tcp 21 22 23 80 443 3306 5432 8080, udp 53"

say "Before portcullis: a SYN scan from the client finds every service"
nmap_scan -sS -p "$PORTS"

say "Attach portcullis with examples/portcullis.conf (allows tcp 22,80,443 and udp 53)"
grep -E '^[a-z]' "$CONF" | sed 's/^/    /'
run srv "$PORTCULLIS" attach "$IF_SRV" -c "$CONF" || exit 1

say "After: the same SYN scan sees only the allowed ports"
nmap_scan -sS -p "$PORTS"

say "Stealth scans (NULL, Xmas) get no answer at all: dropped on the driver path"
nmap_scan -sN -p "$PORTS"
nmap_scan -sX -p "$PORTS"

say "A UDP scan: only udp/53 answers"
nmap_scan -sU -p 53,123,161,5353

say "Runtime change without reload: open tcp/8080"
run srv "$PORTCULLIS" allow "$IF_SRV" tcp 8080
nmap_scan -sS -p 8080,3306

say "Status"
run srv "$PORTCULLIS" status "$IF_SRV"

say "A wider scan (200 ports): the in-kernel detector bans the scanner"
bg_in "$NS_SRV" "$PORTCULLIS" events "$IF_SRV" >"$TEST_TMP/events.log" 2>&1
# Once banned, every probe is dropped: keep nmap from waiting long on them.
cli nmap -n -Pn -T5 --max-retries 0 --max-rtt-timeout 100ms -sS -p 1-200 "$SRV4" |
	grep -E 'scanned|open'
sleep 1.2
run srv "$PORTCULLIS" bans "$IF_SRV"
echo "what 'portcullis events' printed:"
sed 's/^/    /' "$TEST_TMP/events.log"
if reach tcp "$SRV4" 22; then
	echo "ssh from the scanner: still reachable (unexpected)"
else
	echo "ssh from the scanner: dropped on the driver path, it is banned"
fi
run srv "$PORTCULLIS" unban "$IF_SRV" "$CLI4"
reach tcp "$SRV4" 22 && echo "ssh from the scanner after unban: reachable again"

say "The counters (drops by reason, per port, bans)"
run srv "$PORTCULLIS" stats "$IF_SRV"

say "Cleaning up: detach, remove namespaces"
run srv "$PORTCULLIS" detach "$IF_SRV"
