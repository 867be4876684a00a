#!/bin/bash
# Real nmap scans against the allowlist, IPv4 and IPv6: only allowed ports
# may look open (or unfiltered), no closed port may leak a reply, and the
# stealth probes are counted under their scan-* reasons.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter nmap

lab_up || { not_ok nmap-lab "could not build the lab"; exit 1; }
conf=$(write_config scan.conf "allow tcp 22,80" "allow udp 53")
listen_srv tcp:22 tcp:80 tcp:3306 tcp:8080 udp:53 udp:5353 || exit 1
check "attach" pc attach "$IF_SRV" -c "$conf"

TCP_PORTS=21,22,23,80,443,3306,8080
UDP_PORTS=53,161,5353

# scan ARGS...: "PORT/STATE" lines, sorted, from nmap's grepable output.
scan() {
	cli nmap -n -Pn -T5 --max-retries 1 --host-timeout 90s -oG - "$@" 2>/dev/null |
		python3 -c '
import re, sys
for line in sys.stdin:
    if "Ports:" in line:
        for entry in line.split("Ports:")[1].split("\t")[0].split(","):
            port, state = entry.strip().split("/")[:2]
            print("%s/%s" % (port, state))'
}

# only_state NAME STATE EXPECTED_PORTS ARGS...: the ports in STATE are exactly EXPECTED.
only_state() {
	local name=$1 state=$2 want=$3 got all
	shift 3
	all=$(scan "$@")
	got=$(grep "/$state\$" <<<"$all" | cut -d/ -f1 | sort -n | paste -sd, -)
	if [ -z "$all" ]; then
		not_ok "$name" "nmap printed no port states"
	elif [ "$got" = "$want" ]; then
		ok "$name ($state: ${got:-none})"
	else
		not_ok "$name" "expected $state: ${want:-none}, got: ${got:-none}; all: $(paste -sd' ' <<<"$all")"
	fi
}

for family in 4 6; do
	if [ $family = 4 ]; then target=$SRV4 flag=; else target=$SRV6 flag=-6; fi
	only_state "IPv$family SYN scan shows only allowed ports open" open 22,80 \
		$flag -sS -p "$TCP_PORTS" "$target"
	only_state "IPv$family SYN scan: no closed port answers" closed "" \
		$flag -sS -p "$TCP_PORTS" "$target"
	for kind in N F X; do
		only_state "IPv$family -s$kind scan: nothing answers" closed "" \
			$flag -s$kind -p "$TCP_PORTS" "$target"
	done
	only_state "IPv$family ACK scan: only allowed ports unfiltered" unfiltered 22,80 \
		$flag -sA -p "$TCP_PORTS" "$target"
	only_state "IPv$family UDP scan shows only udp/53 open" open 53 \
		$flag -sU -p "$UDP_PORTS" "$target"
	only_state "IPv$family UDP scan: no closed port answers" closed "" \
		$flag -sU -p "$UDP_PORTS" "$target"
done

for reason in scan-null scan-fin scan-xmas not-allowed; do
	n=$(stats_field "[\"drops\"][\"$reason\"]")
	check "stats --json counts $reason ($n)" test "${n:-0}" -gt 0
done
n=$(port_field tcp 3306 drop_packets)
check "stats --json counts drops on tcp/3306 ($n)" test "${n:-0}" -gt 0
n=$(port_field udp 5353 drop_packets)
check "stats --json counts drops on udp/5353 ($n)" test "${n:-0}" -gt 0
n=$(port_field tcp 22 pass_packets)
check "stats --json counts passes on tcp/22 ($n)" test "${n:-0}" -gt 0
check "detach" pc detach "$IF_SRV"
