#!/bin/bash
# portcullis audit (issue 14): listeners in the filtered namespace held
# against the live rules, one of each state: exposed (listening, allowed
# from every source), limited (listening, allowed for some sources), hidden
# (listening, not allowed), idle (allowed, nothing listening); loopback-only
# listeners are not reachable and not listed; the owning process is named.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter

lab_up || { not_ok audit-lab "could not build the lab"; exit 1; }
conf=$(write_config audit.conf "allow tcp 80" "allow tcp 22 from $CLI4B" "allow udp 53" \
	"allow tcp 443" "allow tcp 8000-8100")
pc attach "$IF_SRV" -c "$conf" --xdp-mode generic >/dev/null || { not_ok "attach"; exit 1; }
listen_srv tcp:80 tcp:22 tcp:7777 udp:5353 udp:53 || exit 1
# A loopback-only listener is nobody's business on the interface.
bg_in "$NS_SRV" python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", 6000)); s.listen(); time.sleep(60)'
sleep 0.5

pc audit "$IF_SRV" >"$TEST_TMP/audit.txt"
pc audit "$IF_SRV" --json >"$TEST_TMP/audit.json"
cat "$TEST_TMP/audit.txt"
state() {
	python3 -c "
import json, sys
rows = [r for r in json.load(open('$TEST_TMP/audit.json')) if r['proto'] == '$1' and r['port'] == $2]
print(rows[0]['state'] if rows else 'absent')"
}
check "tcp 80 allowed to all and listening: exposed" test "$(state tcp 80)" = exposed
check "tcp 22 allowed from one source and listening: limited" test "$(state tcp 22)" = limited
check "tcp 7777 listening, not allowed: hidden" test "$(state tcp 7777)" = hidden
check "udp 5353 unconnected socket, not allowed: hidden" test "$(state udp 5353)" = hidden
check "udp 53 allowed and listening: exposed" test "$(state udp 53)" = exposed
check "tcp 443 allowed, nothing listening: idle" test "$(state tcp 443)" = idle
check "an allowed range with nothing listening: one idle row" test "$(state tcp 8000)" = idle
check "a loopback-only listener is not listed" test "$(state tcp 6000)" = absent
check "the owning process is named" grep -qE '^tcp +80 +exposed +python3\[[0-9]+\]' \
	"$TEST_TMP/audit.txt"
check "JSON rows have proto, port, state, process" python3 -c "
import json
rows = json.load(open('$TEST_TMP/audit.json'))
assert rows and all({'proto', 'port', 'state', 'process'} <= set(r) for r in rows)"
pc allow "$IF_SRV" tcp 7777 >/dev/null
pc audit "$IF_SRV" --json >"$TEST_TMP/audit.json"
check "after allow tcp 7777: exposed" test "$(state tcp 7777)" = exposed
check "metric portcullis_exposed_ports counts the exposed ports" grep -qx \
	"portcullis_exposed_ports{interface=\"$IF_SRV\",state=\"exposed\"} 3" <(pc metrics "$IF_SRV")
check "metric portcullis_exposed_ports counts the idle ports (443 and 101 of a range)" grep -qx \
	"portcullis_exposed_ports{interface=\"$IF_SRV\",state=\"idle\"} 102" <(pc metrics "$IF_SRV")
