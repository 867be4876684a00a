#!/bin/bash
# Fleet bans with real traffic: prefix bans (IPv4 and IPv6) drop what they
# hold and nothing else, `unban` takes exactly what `bans` printed, `ban -`
# applies 10,000 lines from stdin in under a second and a bad line applies
# none, bans --json and the metrics give reasons, prefix bans survive detach
# and attach, and the fail2ban action's command lines ban and unban.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter

lab_up || { not_ok fleet-lab "could not build the lab"; exit 1; }
listen_srv tcp:22 || exit 1
conf=$(write_config fleet.conf "allow tcp 22" "scan-detect ports 5 window 10s ban 2h")
pc attach "$IF_SRV" -c "$conf" >/dev/null 2>&1 || { not_ok fleet-attach "attach failed"; exit 1; }

# ban_field ADDRESS FIELD: FIELD of the ban whose address is ADDRESS, or nothing.
ban_field() {
	pc bans "$IF_SRV" --json | python3 -c '
import json, sys
for ban in json.load(sys.stdin):
    if ban["address"] == sys.argv[1]:
        print(ban[sys.argv[2]])' "$1" "$2"
}
n_bans() { pc bans "$IF_SRV" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
sample() { pc metrics "$IF_SRV" | grep -F "$1{interface=\"$IF_SRV\",$2}" | awk '{print $2}'; }

# --- prefix bans, IPv4 -----------------------------------------------------------------
check "before any ban: tcp/22 reachable" reach tcp "$SRV4" 22
pc ban "$IF_SRV" 198.18.0.0/31 --for 1h >/dev/null 2>&1
check "a prefix ban beside the client (198.18.0.0/31) does not hold it" reach tcp "$SRV4" 22
pc ban "$IF_SRV" 198.18.0.2/31 --for 1h >/dev/null 2>&1
check_not "a prefix ban holding the client (198.18.0.2/31) drops it" reach tcp "$SRV4" 22
check "bans --json: the prefix, its reason" \
	test "$(ban_field 198.18.0.2/31 prefix) $(ban_field 198.18.0.2/31 reason)" = \
	"198.18.0.2/31 manual"
check "bans: the table shows it" bash -c "nsenter --net=/run/netns/$NS_SRV $PC bans $IF_SRV |
	grep -qE '^198.18.0.2/31 +manual'"
expect_exit "ban: host bits set are refused with a hint" 2 "host bits set, did you mean '198.18.0.0/24'" \
	pc ban "$IF_SRV" 198.18.0.9/24
pc unban "$IF_SRV" 198.18.0.2/31 >/dev/null 2>&1
check "unban of the printed prefix lifts it" reach tcp "$SRV4" 22
expect_exit "unban of a prefix not banned" 1 "198.18.0.2/31 is not banned" pc unban "$IF_SRV" 198.18.0.2/31
pc unban "$IF_SRV" 198.18.0.0/31 >/dev/null 2>&1

# --- IPv6: a prefix ban, and unban of a printed /64 address ban ------------------------
check "before: tcp/22 over IPv6 reachable" reach tcp "$SRV6" 22
pc ban "$IF_SRV" 2001:2::/120 --for 1h >/dev/null 2>&1
check_not "an IPv6 prefix ban (2001:2::/120) drops the client" reach tcp "$SRV6" 22
check "its address is the prefix" test "$(ban_field 2001:2::/120 reason)" = manual
pc unban "$IF_SRV" 2001:2::/120 >/dev/null 2>&1
check "and unban lifts it" reach tcp "$SRV6" 22
pc ban "$IF_SRV" "$CLI6" --for 1h >/dev/null 2>&1
check "an IPv6 address ban is listed as its /64" test "$(ban_field 2001:2::/64 prefix)" = 2001:2::/64
check_not "and drops the client" reach tcp "$SRV6" 22
check "unban takes the /64 bans printed" pc unban "$IF_SRV" 2001:2::/64
check "the client is back" reach tcp "$SRV6" 22

# --- ban - : 10,000 lines in under a second, all or nothing ----------------------------
python3 - "$TEST_TMP/bulk.txt" <<'EOF'
import sys
with open(sys.argv[1], "w") as out:
    out.write("# 9,000 addresses and 1,000 prefixes in 198.19.0.0/16\n")
    for i in range(9000):
        out.write("198.19.%d.%d%s\n" % (i // 250, i % 250 + 1, "  2h" if i % 3 == 0 else ""))
    for i in range(1000):
        out.write("198.19.%d.%d/28 30m\n" % (150 + i // 16, (i % 16) * 16))
EOF
before=$(n_bans)
start=$(date +%s%N)
pc ban "$IF_SRV" - <"$TEST_TMP/bulk.txt" >"$TEST_TMP/bulk.out" 2>&1
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
echo "ban -: 10,000 lines in $ms ms"
check "ban -: 10,000 lines succeed" test "$rc" -eq 0
check "ban -: in under a second ($ms ms)" test "$ms" -lt 1000
check "ban -: all 10,000 are banned" test "$(n_bans)" -eq $((before + 10000))
check "ban -: a line's duration is its ban's" \
	bash -c "t=\$(nsenter --net=/run/netns/$NS_SRV $PC bans $IF_SRV --json | python3 -c '
import json, sys
print([b for b in json.load(sys.stdin) if b[\"address\"] == \"198.19.150.16/28\"][0][\"expires_in\"])')
	test \"\$t\" -gt 1700 && test \"\$t\" -le 1800"
check "metrics: portcullis_banned_sources{reason=manual}" \
	test "$(sample portcullis_banned_sources 'reason="manual"')" -eq $((before + 10000))
check "metrics: portcullis_bans_total{reason=manual} counts them" \
	test "$(sample portcullis_bans_total 'reason="manual"')" -ge 10000
check "metrics: no crowdsec bans" test "$(sample portcullis_banned_sources 'reason="crowdsec"')" -eq 0

printf '198.18.20.1\n198.18.20.2 1h\n198.18.20.300\n# fine\n198.18.20.0/33\n198.18.20.4 soon\n' \
	>"$TEST_TMP/bad.txt"
before=$(n_bans)
expect_exit "ban -: a bad address names its line" 2 "stdin:3: .*198.18.20.300" \
	pc ban "$IF_SRV" - <"$TEST_TMP/bad.txt"
expect_exit "ban -: every bad line is named" 2 "stdin:6: .*soon" pc ban "$IF_SRV" - <"$TEST_TMP/bad.txt"
check "ban -: with a bad line nothing is applied" test "$(n_bans)" -eq "$before"
awk '{print $1}' "$TEST_TMP/bulk.txt" | grep -v '^#' | pc unban "$IF_SRV" - >/dev/null 2>&1 || true

# --- persistence: prefix bans and their reason come back after detach/attach -----------
pc ban "$IF_SRV" 198.18.7.0/24 --for 1h >/dev/null 2>&1
pc detach "$IF_SRV" >/dev/null 2>&1
check "detach saves the prefix ban" grep -q '^198.18.7.0/24 manual' \
	"$PORTCULLIS_STATE_DIR/netns-$NS_SRV/$IF_SRV.bans"
pc attach "$IF_SRV" -c "$conf" >/dev/null 2>&1
check "attach restores it" test "$(ban_field 198.18.7.0/24 reason)" = manual
left=$(ban_field 198.18.7.0/24 expires_in)
check "with its time left ($left s)" test "${left:-0}" -gt 3500

# --- the fail2ban action's command lines -----------------------------------------------
# action COMMAND IP BANTIME: the action file's COMMAND with fail2ban's substitutions.
action() {
	python3 - "$TESTS_DIR/../contrib/fail2ban/portcullis.conf" "$1" "$2" "$3" "$IF_SRV" "$PC" <<'EOF'
import configparser, sys
path, command, ip, bantime, iface, binary = sys.argv[1:]
conf = configparser.RawConfigParser()
conf.read(path)
line = conf.get("Definition", command)
tags = dict(conf.items("Init"))
tags.update({"ip": ip, "bantime": bantime, "iface": iface, "portcullis": binary})
for tag, value in tags.items():
    line = line.replace("<%s>" % tag, value)
assert "<" not in line, line
print(line)
EOF
}
ban_cmd=$(action actionban "$CLI4" 600)
unban_cmd=$(action actionunban "$CLI4" 600)
echo "fail2ban actionban: $ban_cmd"
srv bash -c "$ban_cmd" >/dev/null 2>&1
check "fail2ban actionban bans the client" test "$(ban_field "$CLI4" reason)" = manual
left=$(ban_field "$CLI4" expires_in)
check "for the jail's bantime and a minute ($left s)" test "${left:-0}" -gt 600 -a "${left:-0}" -le 660
check_not "and drops it" reach tcp "$SRV4" 22
srv bash -c "$unban_cmd" >/dev/null 2>&1
check "fail2ban actionunban lifts the ban" reach tcp "$SRV4" 22
srv bash -c "$(action actionban "$CLI4B" -1)" >/dev/null 2>&1
left=$(ban_field "$CLI4B" expires_in)
check "a permanent fail2ban ban lasts years ($left s)" test "${left:-0}" -gt 300000000
srv bash -c "$(action actionunban "$CLI4B" -1)" >/dev/null 2>&1

pc detach "$IF_SRV" >/dev/null 2>&1
lab_down
