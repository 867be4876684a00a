#!/bin/bash
# The Prometheus side: 'metrics' and 'exporter' output that promtool accepts
# and that agrees with stats --json, the HTTP server's answers and limits
# (methods, paths, malformed requests, oversize headers, the request
# deadline, 200 slow clients and 200 parallel scrapes, loopback by
# default), bad --listen values, an interface that goes away, the bounded
# per-port series, and a real Prometheus server scraping the exporter.
. "$(dirname "$0")/../lib.sh"
need python3 nsenter curl promtool prometheus nmap

HELPERS=$TESTS_DIR/helpers
PORT=9433
URL=http://127.0.0.1:$PORT

lab_up || { not_ok exporter-lab "could not build the lab"; exit 1; }
conf=$(write_config exporter.conf "allow tcp 22,80" "allow udp 53" "scan-detect off")
listen_srv tcp:22 tcp:8080 || exit 1
check "attach" pc attach "$IF_SRV" -c "$conf"

# promtool_clean NAME FILE: promtool check metrics accepts FILE with no lint problem.
promtool_clean() {
	local out
	if out=$(promtool check metrics <"$2" 2>&1) && [ -z "$out" ]; then
		ok "$1"
	else
		not_ok "$1" "promtool: $out"
	fi
}

# agrees NAME METRICS_CMD...: the metrics agree with stats --json read just
# before and after (retried while other traffic moved the counters in between).
agrees() {
	local name=$1 out
	shift
	for _ in 1 2 3 4 5; do
		pc stats "$IF_SRV" --json >"$TEST_TMP/before.json"
		"$@" >"$TEST_TMP/same.prom"
		pc stats "$IF_SRV" --json >"$TEST_TMP/after.json"
		cmp -s "$TEST_TMP/before.json" "$TEST_TMP/after.json" && break
	done
	if out=$(python3 "$HELPERS/metrics_compare.py" "$TEST_TMP/same.prom" \
		"$TEST_TMP/after.json" "$IF_SRV"); then
		ok "$name ($(tail -1 <<<"$out"))"
	else
		not_ok "$name" "$(paste -sd';' <<<"$out")"
	fi
}

# sample FILE NAME LABELS: the value of one sample, e.g. sample f portcullis_drops_total 'reason="icmp"'
sample() {
	grep -F "$2{interface=\"$IF_SRV\"${3:+,$3}}" "$1" | awk '{print $2}'
}

# Traffic: passes on tcp/22, drops on tcp/8080 and a scan of 80 closed ports.
for _ in 1 2 3; do reach tcp "$SRV4" 22; done
for _ in 1 2 3 4 5; do reach tcp "$SRV4" 8080 0.3; done
cli nmap -n -Pn -sS -T5 --max-retries 0 -p 2000-2079 "$SRV4" >/dev/null 2>&1

# --- metrics (one shot) -------------------------------------------------------
pc metrics >"$TEST_TMP/all.prom"
check "metrics exits 0" test $? -eq 0
promtool_clean "metrics passes promtool check metrics with no lint problems" "$TEST_TMP/all.prom"
agrees "metrics agrees with stats --json" pc metrics "$IF_SRV"
n=$(grep -c "^portcullis_drops_total{interface=\"$IF_SRV\"" "$TEST_TMP/all.prom")
check "every drop reason has a series ($n of 15)" test "$n" -eq 15
check "info carries mode, xdp_mode and version" \
	grep -qE "^portcullis_info\{interface=\"$IF_SRV\",mode=\"enforce\",xdp_mode=\"(native|generic)\",version=\"[^\"]+\"\} 1$" \
	"$TEST_TMP/all.prom"
for fam in packets_total bytes_total drops_total port_packets_total port_bytes_total \
	banned_sources bans_total config_reloads_total info; do
	grep -q "^# TYPE portcullis_$fam " "$TEST_TMP/all.prom" || not_ok "family portcullis_$fam" "missing"
done
ok "all nine families of the contract present"

# Per-port series: allowed ports always, denied ports capped by drops.
denied_rows() { grep -c "^portcullis_port_packets_total{.*verdict=\"drop\"}" "$1"; }
check "default cap: 3 allowed + 64 denied port rows" test "$(denied_rows "$TEST_TMP/all.prom")" -eq 67
check "the cap reports what it left out (81 denied ports - 64)" \
	test "$(sample "$TEST_TMP/all.prom" portcullis_port_series_omitted)" = 17
pc metrics --port-series 1 "$IF_SRV" >"$TEST_TMP/cap1.prom"
check "--port-series 1: the allowed ports and the busiest denied one" \
	test "$(grep "^portcullis_port_packets_total{.*verdict=\"drop\"}" "$TEST_TMP/cap1.prom" |
		grep -o 'port="[0-9]*"' | paste -sd, -)" = 'port="22",port="80",port="8080",port="53"'
pc metrics --port-series 0 "$IF_SRV" >"$TEST_TMP/cap0.prom"
check "--port-series 0: allowed ports only" test "$(denied_rows "$TEST_TMP/cap0.prom")" -eq 3
promtool_clean "capped output passes promtool too" "$TEST_TMP/cap1.prom"

expect_exit "metrics on an interface that is not attached" 1 \
	"nosuch0: not attached \(no pins under $PC_PINS/nosuch0\)" pc metrics nosuch0
expect_exit "bad --port-series" 2 "--port-series: 'lots'" pc metrics --port-series lots
expect_exit "--port-series does not apply to stats" 2 "option --port-series does not apply" \
	pc stats "$IF_SRV" --port-series 3

# Bans reach the exposition as the scan blocker counts them.
if pc ban "$IF_SRV" 198.51.100.7 --for 1h >/dev/null 2>&1; then
	pc metrics "$IF_SRV" >"$TEST_TMP/ban.prom"
	check "a ban shows in portcullis_banned_sources" \
		test "$(sample "$TEST_TMP/ban.prom" portcullis_banned_sources 'reason="manual"')" = 1
	check "and in portcullis_bans_total" \
		test "$(sample "$TEST_TMP/ban.prom" portcullis_bans_total 'reason="manual"')" = 1
	agrees "ban counters agree with stats --json" pc metrics "$IF_SRV"
	pc unban "$IF_SRV" 198.51.100.7 >/dev/null 2>&1
else
	skip "ban counters in the exposition" "the ban command failed"
fi

# --- exporter: startup and bad input -------------------------------------------
expect_exit "--listen without a port" 2 "--listen: '127.0.0.1' is not ADDR:PORT" \
	pc exporter --listen 127.0.0.1
expect_exit "--listen port 0" 2 "port '0' is not a number from 1 to 65535" \
	pc exporter --listen 127.0.0.1:0
expect_exit "--listen port 70000" 2 "port '70000' is not a number" pc exporter --listen :70000
expect_exit "--listen with a host that does not resolve" 2 "can't resolve 'nosuch.invalid'" \
	pc exporter --listen nosuch.invalid:9433

# A background command in the server namespace (tests/lib.sh's bg_in: $! is its PID).
srv_bg() { bg_in "$NS_SRV" "$@"; }

start_exporter() {
	local log=$1 pid
	shift
	srv_bg "$PC" exporter "$@" 2>"$log"
	pid=$!
	for _ in $(seq 50); do
		grep -q "serving" "$log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	EXPORTER_PID=$pid
}
# stop_exporter: SIGTERM, a clean exit status (the sanitizers report leaks there).
stop_exporter() {
	kill -TERM "$EXPORTER_PID"
	wait "$EXPORTER_PID"
}

start_exporter "$TEST_TMP/exporter6.log" --listen "[::1]:9435"
check "--listen [::1]:9435 serves over IPv6" \
	test "$(srv curl -s -g -m 5 -o /dev/null -w '%{http_code}' 'http://[::1]:9435/metrics')" = 200
stop_exporter
start_exporter "$TEST_TMP/exporter4.log" --listen ":9436"
check "--listen :9436 serves every address, IPv4 and IPv6" \
	test "$(srv curl -s -g -m 5 -o /dev/null -w '%{http_code}' 'http://[::1]:9436/')$(srv curl -s -m 5 -o /dev/null -w '%{http_code}' "http://$SRV4:9436/")" = 200200
stop_exporter

start_exporter "$TEST_TMP/exporter.log"
check "exporter starts on $URL" grep -q "serving $URL/metrics" "$TEST_TMP/exporter.log"
expect_exit "a second exporter on the same port fails, naming the address" 1 \
	"--listen 127.0.0.1:$PORT: couldn't listen: Address already in use" pc exporter
listening() { srv ss -ltnH | grep -q "127.0.0.1:$PORT "; }
check "bound to loopback by default" listening
check_not "not reachable on the interface address" srv curl -s -m 2 -o /dev/null "http://$SRV4:$PORT/metrics"

# --- exporter: HTTP ---------------------------------------------------------------
http() { srv curl -s -m 5 -o "$TEST_TMP/body" -w '%{http_code} %{content_type}' "$@"; }
check "GET /metrics: 200 with the 0.0.4 Content-Type" \
	test "$(http "$URL/metrics")" = "200 text/plain; version=0.0.4; charset=utf-8"
cp "$TEST_TMP/body" "$TEST_TMP/http.prom"
promtool_clean "/metrics passes promtool check metrics with no lint problems" "$TEST_TMP/http.prom"
agrees "/metrics agrees with stats --json" srv curl -s -m 5 "$URL/metrics"
check "HEAD /metrics: 200" test "$(http -I "$URL/metrics" | cut -d' ' -f1)" = 200
landing() { [ "$(http "$URL/" | cut -d' ' -f1)" = 200 ] && grep -q 'href="/metrics"' "$TEST_TMP/body"; }
check "GET /: 200, a landing page linking /metrics" landing
check "unknown path: 404" test "$(http "$URL/nope" | cut -d' ' -f1)" = 404
check "POST /metrics: 405" test "$(http -X POST -d x=1 "$URL/metrics" | cut -d' ' -f1)" = 405
allow_header() { srv curl -s -m 5 -D - -o /dev/null -X DELETE "$URL/metrics" | grep -qi '^Allow: GET, HEAD'; }
check "405 says what is allowed" allow_header
check "GET with a body: refused (413), not read" \
	test "$(http -X GET --data-binary @"$TESTS_DIR/run.sh" "$URL/metrics" | cut -d' ' -f1)" = 413
printf 'X-Big: %s\n' "$(head -c 1048576 /dev/zero | tr '\0' a)" >"$TEST_TMP/bigheader"
code=$(http -H @"$TEST_TMP/bigheader" "$URL/metrics" | cut -d' ' -f1)
check "a 1 MB header is refused ($code), not buffered" test "$code" != 200
check "the exporter still answers after the 1 MB header" \
	test "$(http "$URL/metrics" | cut -d' ' -f1)" = 200

# Bad requests: a clear error from the server, and nothing changes.
# abuse MODE ARGS...: tests/helpers/http_abuse.py against the exporter.
abuse() { srv python3 "$HELPERS/http_abuse.py" "$1" 127.0.0.1 "$PORT" "${@:2}"; }
# answers NAME TEXT WANT: sending TEXT is answered with HTTP status WANT, or for
# WANT "closed", closed at once with no answer (bytes that are not HTTP have
# no request to answer).
answers() {
	local got want="HTTP/1.? $3 *"
	[ "$3" = closed ] && want="closed after 0.*"
	got=$(abuse send "$2")
	# shellcheck disable=SC2053 # $want is a pattern
	if [[ $got == $want ]]; then ok "$1 ($got)"; else not_ok "$1" "got '$got'"; fi
}
# What a request could change: the rules, their generation and reload counts,
# the bans. (Packet counters move with the link's own traffic, e.g. IPv6
# neighbour discovery, and say nothing about the exporter.)
state_now() {
	pc status "$IF_SRV" --json
	pc bans "$IF_SRV" --json | python3 -c '
import json, sys
print(sorted((b["address"], b["reason"]) for b in json.load(sys.stdin)))'
}
state_now >"$TEST_TMP/bad-before.json"
answers "a request line that is not HTTP: closed at once" 'GARBAGE\r\n\r\n' closed
answers "HTTP/1.1 without Host: 400" 'GET /metrics HTTP/1.1\r\n\r\n' 400
answers "a header line without a colon: 400" 'GET /metrics HTTP/1.1\r\nHost: x\r\nbroken\r\n\r\n' 400
answers "an unknown HTTP version: 505" 'GET /metrics HTTP/7.0\r\nHost: x\r\n\r\n' 505
answers "a TLS hello: closed at once" '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n' closed
answers "a 20 KB request line: refused (414)" "GET /$(head -c 20000 /dev/zero | tr '\0' a) HTTP/1.1\r\nHost: x\r\n\r\n" 414
state_now >"$TEST_TMP/bad-after.json"
check "the bad requests changed no counter" cmp -s "$TEST_TMP/bad-before.json" "$TEST_TMP/bad-after.json"
check "and the exporter still answers" test "$(http "$URL/metrics" | cut -d' ' -f1)" = 200

# --- exporter: clients that hold connections (slowloris) ----------------------------
# A request must bring its headers within the deadline, however it trickles
# them, and no number of slow local clients takes the exporter from a scraper.
DEADLINE=5
# within_deadline SECS: SECS (as the helper printed it) is the deadline, give or take.
within_deadline() { awk -v s="$1" -v d=$DEADLINE 'BEGIN { exit !(s != "open" && s >= d - 0.5 && s < d + 1.5) }'; }
held=$(abuse trickle 20)
check "a client trickling a header line a second is closed at the deadline ($held s)" \
	within_deadline "$held"
held=$(abuse idle 20)
check "so is an idle connection ($held s)" within_deadline "$held"
answers "an unfinished request is told why: 408" 'GET /metrics HTTP/1.1\r\nHost: x\r\n' 408

# summarize FILE: "median M ms, max X ms" of the seconds in FILE, one a line.
summarize() {
	sort -n "$1" | awk '{ s[NR] = $1 } END {
		printf "median %.0f ms, max %.0f ms", s[int((NR + 1) / 2)] * 1000, s[NR] * 1000 }'
}
# scrapes N FILE [GAP]: N scrapes GAP seconds apart (default 0.5); their
# seconds to FILE; prints how many answered 200.
scrapes() {
	local n=$1 file=$2 gap=${3:-0.5} good=0 r
	: >"$file"
	for _ in $(seq "$n"); do
		r=$(srv curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}' "$URL/metrics")
		[ "${r% *}" = 200 ] && good=$((good + 1))
		echo "${r#* }" >>"$file"
		sleep "$gap"
	done
	echo "$good"
}
srv_bg python3 "$HELPERS/http_abuse.py" slow 127.0.0.1 "$PORT" 200 20 >"$TEST_TMP/slow.out" 2>&1
slow=$!
wait_for "$TEST_TMP/slow.out" started 10
sleep 3 # every slow client connected, the first ones already near their deadline
good=$(scrapes 15 "$TEST_TMP/slow.lat")
check "200 slow clients trickling: $good of 15 scrapes answered 200" test "$good" -eq 15
summary=$(summarize "$TEST_TMP/slow.lat")
check "and promptly: $summary (limit 2000 ms)" \
	awk -v m="$(sort -n "$TEST_TMP/slow.lat" | tail -1)" 'BEGIN { exit !(m < 2) }'
wait "$slow"
held=$(tail -1 "$TEST_TMP/slow.out")
longest=${held##*longest=}
check "no slow client held a connection past the deadline ($held)" \
	awk -v s="$longest" -v d=$DEADLINE 'BEGIN { exit !(s < d + 1.5) }'
# own REASON: the exporter's count of connections it closed for REASON, from the last scrape.
own() { awk -v r="{reason=\"$1\"}" '$1 == "portcullis_exporter_connections_closed_total" r { print $2 }' "$TEST_TMP/body"; }
http "$URL/metrics" >/dev/null
check "/metrics counts what the exporter closed: $(own deadline) past the deadline, $(own evicted) evicted" \
	awk -v d="$(own deadline)" -v e="$(own evicted)" 'BEGIN { exit !(d >= 3 && e >= 100) }'

out=$(abuse parallel 200)
got=${out#ok=}
got=${got%% *}
check "200 parallel scrapes: every one served ($out)" test "$got" -eq 200
t=$(srv curl -s -m 5 -o /dev/null -w '%{http_code} %{time_total}' "$URL/metrics")
check "the exporter answers right after them ($t s)" \
	awk -v c="${t% *}" -v s="${t#* }" 'BEGIN { exit !(c == 200 && s < 2) }'

# Scrape latency with 64 denied-port series (plus the 3 allowed ports).
good=$(scrapes 11 "$TEST_TMP/plain.lat" 0)
median=$(sort -n "$TEST_TMP/plain.lat" | sed -n 6p)
check "scrape latency with 64 denied-port series: $(summarize "$TEST_TMP/plain.lat") ($good of 11 answered)" \
	awk -v s="$median" -v g="$good" 'BEGIN { exit !(s < 1 && g == 11) }'

# --- a real Prometheus server scrapes it ------------------------------------------
cat >"$TEST_TMP/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: portcullis
    static_configs:
      - targets: ['127.0.0.1:$PORT']
YML
srv_bg prometheus --config.file="$TEST_TMP/prometheus.yml" --storage.tsdb.path="$TEST_TMP/tsdb" \
	--web.listen-address=127.0.0.1:19090 >"$TEST_TMP/prometheus.log" 2>&1
# promql QUERY: the value of the first series of an instant query, or nothing.
promql() {
	srv curl -s -m 3 --data-urlencode "query=$1" http://127.0.0.1:19090/api/v1/query |
		python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
    print(r[0]["value"][1] if r else "")
except Exception:
    pass' 2>/dev/null
}
for _ in 1 2 3 4 5; do reach tcp "$SRV4" 8080 0.3; done
want=$(stats_field '["drops"]["not-allowed"]')
got=""
for _ in $(seq 60); do
	got=$(promql "portcullis_drops_total{interface=\"$IF_SRV\",reason=\"not-allowed\"}")
	[ "$got" = "$want" ] && break
	sleep 0.5
done
check "Prometheus scraped it: portcullis_drops_total{reason=\"not-allowed\"} = $want (got ${got:-nothing})" \
	test "$got" = "$want"
check "Prometheus sees the target up" test "$(promql 'up{job="portcullis"}')" = 1
check "a PromQL sum over every reason works" test -n "$(promql 'sum(portcullis_drops_total)')"

# Every query of the shipped Grafana dashboard runs on this Prometheus.
dashboard_queries() {
	python3 -c '
import json, sys
for p in json.load(open(sys.argv[1]))["panels"]:
    for t in p.get("targets", []):
        print(t["expr"].replace("$__rate_interval", "1m").replace("$instance", ".*")
              .replace("$interface", ".*"))' "$TESTS_DIR/../contrib/grafana-dashboard.json"
}
bad_queries=0
while read -r query; do
	status=$(srv curl -s -m 3 --data-urlencode "query=$query" http://127.0.0.1:19090/api/v1/query |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null)
	[ "$status" = success ] || { echo "dashboard query failed: $query"; bad_queries=$((bad_queries + 1)); }
done < <(dashboard_queries)
check "every Grafana dashboard query is valid PromQL on a live server" test "$bad_queries" -eq 0

# --- interfaces that go away or are not attached -----------------------------------
stop_exporter
check "the exporter stops cleanly on SIGTERM" test $? -eq 0
EXTRA=pcx$LAB_ID
srv ip link add "$EXTRA" type veth peer name "pcy$LAB_ID"
srv ip link set "$EXTRA" up
srv ip link set "pcy$LAB_ID" up
check "attach a second interface" pc attach "$EXTRA" -c "$conf" --xdp-mode generic
start_exporter "$TEST_TMP/exporter2.log" --listen 127.0.0.1:$PORT
scraped() { srv curl -s -m 5 "$URL/metrics" | grep -q "$1"; }
check "with no interface named, every attached one is exported" \
	scraped "portcullis_interface_up{interface=\"$EXTRA\"} 1"
srv ip link del "$EXTRA"
check "the interface went away: still 200" test "$(http "$URL/metrics" | cut -d' ' -f1)" = 200
check "and it is reported as down" grep -q "portcullis_interface_up{interface=\"$EXTRA\"} 0" "$TEST_TMP/body"
check "the other interface is still up" \
	grep -q "portcullis_interface_up{interface=\"$IF_SRV\"} 1" "$TEST_TMP/body"
check "the exporter logged it once" \
	test "$(grep -c "$EXTRA: the interface no longer exists" "$TEST_TMP/exporter2.log")" -eq 1
pc detach "$EXTRA" >/dev/null 2>&1
check_not "after detach it is no longer listed" scraped "interface=\"$EXTRA\""
stop_exporter

start_exporter "$TEST_TMP/exporter3.log" "$IF_SRV" nosuch0
check "a named interface that is not attached does not stop the exporter" \
	test "$(http "$URL/metrics" | cut -d' ' -f1)" = 200
check "it is reported down" grep -q 'portcullis_interface_up{interface="nosuch0"} 0' "$TEST_TMP/body"
promtool_clean "output with a missing interface still passes promtool" "$TEST_TMP/body"
check "and named in the log" grep -q "nosuch0: not attached" "$TEST_TMP/exporter3.log"
stop_exporter
check "no sanitizer report from the exporters" \
	bash -c "! grep -l 'Sanitizer' $TEST_TMP/exporter*.log"
