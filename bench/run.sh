#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Thin driver around build/bench/pcbench: sets up the namespaces, veths and
# competitors (xdp-filter, nftables, iptables), runs the measurements,
# stitches their Markdown into one report and plots the scaling curves.
#
#   bench/run.sh quick   class table only (< 2 minutes) -> bench/results/quick.md
#   bench/run.sh full    everything                     -> bench/results/latest.md + PNGs
#   bench/run.sh live|scaling|sources|prefixes|control   one section -> bench/results/SECTION.md
#
# Knobs (environment): ROUNDS, REPEAT, CALLS, LIVE_FRAMES, OUTPUT; for the
# distinct-sources curve SOURCE_POOLS (list) and SOURCE_ROUNDS.
# Everything it creates is named pcb<PID>-* and removed on exit, even on failure.
set -euo pipefail

mode=${1:-quick}
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUTPUT:-build}
pcbench=$root/$out/bench/pcbench
portcullis=$root/$out/portcullis
results=$root/bench/results
tag=pcb$$
ns_xf=$tag-xf
ns_gen=$tag-gen
ns_rx=$tag-rx

case "$mode" in
quick) rounds=${ROUNDS:-5} calls=${CALLS:-2} ;;
full | live | scaling | sources | prefixes | control) rounds=${ROUNDS:-7} calls=${CALLS:-3} ;;
*) echo "usage: $0 quick|full|live|scaling|sources|prefixes|control" >&2; exit 2 ;;
esac
repeat=${REPEAT:-1000000}
live_frames=${LIVE_FRAMES:-3000000}

log() { printf '  %-8s %s\n' BENCH "$*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }
in_ns() { nsenter --net="/run/netns/$1" "${@:2}"; }

[ "$(id -u)" -eq 0 ] || die "needs root (sudo make bench)"
[ -x "$pcbench" ] || die "$pcbench missing: run make bench-build"

# Tools beyond scripts/deps.sh's list; installed only when missing.
need_pkgs() {
	local missing="" pkg
	for pkg in "$@"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
			missing="$missing $pkg"
	done
	[ -z "$missing" ] && return 0
	log "installing:$missing"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing \
		>/dev/null || echo "bench: could not install$missing" >&2
}

cleanup() {
	set +e
	# xdp-filter keeps pins under /sys/fs/bpf/xdp-filter until it is unloaded.
	[ -e "/run/netns/$ns_xf" ] && in_ns "$ns_xf" xdp-filter unload xf0 >/dev/null 2>&1
	[ -e "/run/netns/$ns_rx" ] && in_ns "$ns_rx" xdp-filter unload r0 >/dev/null 2>&1
	for ns in "$ns_xf" "$ns_gen" "$ns_rx"; do
		[ -e "/run/netns/$ns" ] && ip netns del "$ns"
	done
	rm -f "$results"/*.tmp
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$results"

header() {
	local cpu mem
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
	mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	cat <<-EOT
	# portcullis benchmark ($mode)

	| | |
	|---|---|
	| date | $(date -u '+%Y-%m-%d %H:%M UTC') |
	| portcullis | $(git -C "$root" describe --always --dirty 2>/dev/null || echo unknown) (data path object sha256 $(sha256sum "$root/$out/portcullis.bpf.o" 2>/dev/null | cut -c1-12)) |
	| kernel | $(uname -r) |
	| machine | $cpu, $(nproc) CPUs, $mem |
	| clang | $(clang --version | head -1) |
	| xdp-tools | $(dpkg-query -W -f='${Version}' xdp-tools 2>/dev/null || echo none) |
	| rounds | $rounds (median and min-max reported) |

	EOT
}

# --- 1. per-packet cost by class ------------------------------------------------
# xdp-filter runs on a veth of its own namespace; pcbench runs its program by id.
xdp_filter_prog() {
	command -v xdp-filter >/dev/null || { echo "n/a: xdp-filter is not installed"; return; }
	ip netns add "$ns_xf"
	ip -n "$ns_xf" link add xf0 type veth peer name xf1
	ip -n "$ns_xf" link set xf0 up
	ip -n "$ns_xf" link set xf1 up
	local err
	if ! err=$(in_ns "$ns_xf" xdp-filter load --policy deny -m native xf0 2>&1); then
		echo "n/a: xdp-filter load --policy deny failed on $(uname -r): $(echo "$err" | tail -1)"
		return
	fi
	for port in 22 80 443; do
		in_ns "$ns_xf" xdp-filter port -m dst -p tcp "$port" >/dev/null
	done
	in_ns "$ns_xf" xdp-filter port -m dst -p udp 53 >/dev/null
	local id
	id=$(ip -n "$ns_xf" link show xf0 | grep -o 'prog/xdp id [0-9]*' | grep -o '[0-9]*$' || true)
	[ -n "$id" ] || { echo "n/a: xdp-filter loaded but no XDP program id on xf0"; return; }
	echo "$id"
}

classes() {
	log "class table: $rounds rounds x $repeat packets x $calls runs"
	local xf why=""
	xf=$(xdp_filter_prog)
	case "$xf" in
	n/a*) why=$xf; xf=none ;;
	esac
	echo "## 1. Per-packet cost by class (BPF_PROG_TEST_RUN)"
	echo
	echo "xdp-filter: \`xdp-filter load --policy deny -m native\`, ports 22, 80, 443 (dst, tcp)" \
		"and 53 (dst, udp); portcullis: the same ports, mode enforce, scan-flags drop," \
		"icmp allow, fragments allow."
	echo
	"$pcbench" classes -r "$rounds" -n "$repeat" -k "$calls" -x "$xf" \
		${why:+-X "$why"} -o "$results/classes-raw.tsv.tmp"
}

# --- 2. live throughput -------------------------------------------------------
# Fresh namespaces for every run: an iptables-legacy table, once created,
# stays hooked in its namespace and would tax every later configuration.
live_setup() {
	live_teardown
	ip netns add "$ns_gen"
	ip netns add "$ns_rx"
	ip link add g0 netns "$ns_gen" type veth peer name r0 netns "$ns_rx"
	for ns in "$ns_gen" "$ns_rx"; do
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip -n "$ns" link set lo up
	done
	ip -n "$ns_gen" link set g0 up
	ip -n "$ns_rx" link set r0 up
	ip -n "$ns_gen" addr add 198.18.0.1/15 dev g0
	ip -n "$ns_rx" addr add 198.18.0.2/15 dev r0
	# veth only takes XDP_TX'd frames when the peer runs NAPI: XDP or GRO.
	ip netns exec "$ns_rx" ethtool -K r0 gro on >/dev/null
}

live_teardown() {
	local ns
	for ns in "$ns_gen" "$ns_rx"; do
		[ -e "/run/netns/$ns" ] && ip netns del "$ns"
	done
	return 0
}

nft_rules() { # family hook-spec
	cat <<-EOT
	table $1 pcbench {
		chain filter {
			$2; policy accept;
			tcp dport { 22, 80, 443 } accept
			udp dport 53 accept
			meta l4proto { tcp, udp } counter drop
		}
	}
	EOT
}

ipt_rules() { # iptables-legacy|iptables-nft
	ip netns exec "$ns_rx" "$1" -t raw -A PREROUTING -p tcp -m multiport --dports 22,80,443 -j ACCEPT
	ip netns exec "$ns_rx" "$1" -t raw -A PREROUTING -p udp --dport 53 -j ACCEPT
	ip netns exec "$ns_rx" "$1" -t raw -A PREROUTING -p tcp -j DROP
	ip netns exec "$ns_rx" "$1" -t raw -A PREROUTING -p udp -j DROP
}

# Configurations: label, XDP filter pcbench attaches, destination port.
# LIVE_CONFIGS picks some (the first three stay first), e.g. to compare two builds.
live_configs=${LIVE_CONFIGS:-"gen-only:gen-only:8080 xdp-drop-bare:drop:8080 portcullis-drop:portcullis:8080
portcullis-drop-defaults:portcullis-defaults:8080 portcullis-pass:portcullis:80 xdp-filter-drop:none:8080
nft-netdev-ingress:none:8080 nft-prerouting-raw:none:8080
iptables-legacy-raw:none:8080 iptables-nft-raw:none:8080 no-filter-stack:none:8080"}

live_prepare() { # label
	case "$1" in
	xdp-filter-drop)
		command -v xdp-filter >/dev/null || return 1
		in_ns "$ns_rx" xdp-filter load --policy deny -m native r0 >/dev/null || return 1
		for port in 22 80 443; do
			in_ns "$ns_rx" xdp-filter port -m dst -p tcp "$port" >/dev/null || return 1
		done
		in_ns "$ns_rx" xdp-filter port -m dst -p udp 53 >/dev/null ;;
	nft-netdev-ingress)
		nft_rules netdev 'type filter hook ingress device "r0" priority 0' |
			ip netns exec "$ns_rx" nft -f - ;;
	nft-prerouting-raw)
		nft_rules ip 'type filter hook prerouting priority raw' | ip netns exec "$ns_rx" nft -f - ;;
	iptables-legacy-raw | iptables-nft-raw)
		ipt_rules "${1%-raw}" ;;
	esac
}

# XDP_DROP packets in xdp-filter's aggregate statistics.
xdp_filter_drops() {
	# Nothing loaded anywhere: status fails, and that is 0 drops.
	{ in_ns "$ns_rx" xdp-filter status 2>/dev/null || true; } |
		awk '$1 == "XDP_DROP" { print $2; f = 1 } END { if (!f) print 0 }'
}

# Packets the rule set dropped (prints "-" where the figure comes from elsewhere).
live_finish() { # label
	local n="-"
	case "$1" in
	xdp-filter-drop)
		# Its counters are shared with every xdp-filter instance (the class
		# table's too), so this is read as the difference over the run.
		n=$(( $(xdp_filter_drops) - xf_drops_before ))
		in_ns "$ns_rx" xdp-filter unload r0 >/dev/null 2>&1 ;;
	nft-*)
		n=$(ip netns exec "$ns_rx" nft list ruleset | grep -o 'counter packets [0-9]*' |
			awk '{ s += $3 } END { print s + 0 }') ;;
	iptables-*)
		local ipt=${1%-raw}
		n=$(ip netns exec "$ns_rx" "$ipt" -t raw -L PREROUTING -v -x -n |
			awk '$3 == "DROP" { s += $1 } END { print s + 0 }') ;;
	esac
	echo "$n"
}

live() {
	log "live flood: $rounds rounds x $(echo $live_configs | wc -w) configurations x $live_frames frames"
	need_pkgs nftables iptables ethtool
	local raw=$results/live-raw.tsv.tmp
	: >"$raw"
	for round in $(seq 0 $((rounds - 1))); do
		# Rotate the order every round so no configuration always goes first,
		# but keep the first three (gen-only, bare XDP_DROP, portcullis-drop)
		# back to back: the drop target is their ratio, and the machine's
		# mood drifts over a round.
		local configs
		configs=$(echo $live_configs | tr ' ' '\n' | awk -v r="$round" '
			{ a[NR] = $0 }
			END {
				for (i = 0; i < 3; i++) print a[(i + r) % 3 + 1]
				for (i = 0; i < NR - 3; i++) print a[(i + r) % (NR - 3) + 4]
			}')
		for config in $configs; do
			IFS=: read -r label filter dport <<<"$config"
			live_setup
			xf_drops_before=0
			if [ "$label" = xdp-filter-drop ]; then xf_drops_before=$(xdp_filter_drops); fi
			if ! live_prepare "$label"; then
				echo "bench: setting up $label failed" >&2
				echo -e "live\t$label\t$round\tERR" >>"$raw"
				continue
			fi
			local line
			line=$(timeout 120 "$pcbench" live -g "/run/netns/$ns_gen" -R "/run/netns/$ns_rx" \
				-t g0 -i r0 -f "$filter" -p "$dport" -n "$live_frames" -l "$label" \
				-r "$round") || line="live	$label	$round	ERR"
			echo -e "$line\t$(live_finish "$label")" >>"$raw"
		done
	done
	live_teardown
	echo "## 2. Throughput on the receive path (live frames across a veth)"
	echo
	cat <<-EOT
	A generator XDP program (bench/gen.bpf.c) runs under BPF_PROG_TEST_RUN with
	BPF_F_TEST_XDP_LIVE_FRAMES in one namespace and returns XDP_TX: $live_frames TCP SYN frames
	per run, each with its own source address (198.18.x.y) and source port, leave veth g0 and
	are received by r0 in the filter's namespace. Destination MAC and IP are r0's, so the IP
	stack takes them; the TCP checksum is wrong on purpose, so whatever a filter passes is
	discarded by TCP without a reply. Drop floods go to tcp/8080 (denied), the pass flood to
	tcp/80 (allowed); every rule set is the same policy (tcp 22, 80, 443 and udp 53 open,
	other TCP/UDP dropped); xdp-filter-drop is Debian's xdp-filter with \`load --policy deny
	-m native\` and those ports. portcullis runs the xdp-filter equivalent (\`established off\`,
	\`scan-detect off\`); portcullis-drop-defaults adds the contract's defaults
	(\`scan-detect ports 20 window 10s ban 10m\`, \`established socket\`): each frame of
	the flood comes from a new source, the worst case for the scan detector. XDP programs attach in native mode; the other configurations run
	with no XDP program and GRO on r0 (veth needs NAPI on the peer to take XDP_TX frames).
	Fresh namespaces for every run.

	veth runs the receiver's NAPI on the sending CPU, inside the test run, so the kernel's
	busy time per frame (BPF_PROG_TEST_RUN's duration, which leaves out time other tasks
	took the CPU) is generator + receiver. \`gen-only\` runs the generator alone (frames
	dropped unsent); subtracting it per round gives the receiver's cost per frame, and
	1000 / that is the rate one receiving CPU sustains. The wall-clock rate (r0's rx_packets /
	elapsed time) is shown too, but it moves with whatever else the 2-CPU machine is doing.
	"delivered" = r0's rx_packets / frames sent; "dropped by the filter" = the filter's own
	counters (portcullis maps, nft/iptables rule counters) / frames delivered.

	EOT
	awk -f "$root/bench/live-summary.awk" "$raw"
	cp "$raw" "$results/live-raw.tsv"
}

# --- 3. scaling ------------------------------------------------------------------
scaling() {
	log "scaling: allowed ports 1 .. 65535"
	echo "## 3. Scaling with the number of allowed ports"
	echo
	# 11 rounds at least: a 30 ns probe moves by more than the 5% target
	# whenever the machine is busy for a second, and 7 rounds left the median
	# at the mercy of one such burst (3-12% deviations; 11 rounds: 1-3%).
	local scaling_rounds=$((rounds > 11 ? rounds : 11))
	"$pcbench" scaling -r "$scaling_rounds" -n "$repeat" -k "$calls" -o "$results/scaling.dat"
	if command -v gnuplot >/dev/null; then
		gnuplot -e "datafile='$results/scaling.dat'; outdir='$results'" "$root/bench/scaling.gp" &&
			echo "![cost vs allowed ports](scaling-cost.png) ![map memory vs allowed ports](scaling-memory.png)" &&
			echo
	else
		echo "(gnuplot not installed: no plots)"
	fi
}

# --- 3b. distinct sources ---------------------------------------------------------
# A flood from a pool of N IPv6 sources, each pass over the pool probing the
# next closed port: what the scan detector costs as N grows past its tables.
source_pools=${SOURCE_POOLS:-1000 10000 100000 1000000 10000000}

sources() {
	local pool_rounds=${SOURCE_ROUNDS:-3}
	log "scaling: distinct sources $source_pools, $pool_rounds rounds"
	need_pkgs ethtool
	local raw=$results/sources-raw.tsv.tmp
	: >"$raw"
	for round in $(seq 0 $((pool_rounds - 1))); do
		for pool in $source_pools; do
			# At least two passes over the pool, so every source comes back.
			local frames=$((2 * pool > live_frames ? 2 * pool : live_frames))
			for filter in gen-only drop portcullis portcullis-scan; do
				live_setup
				local line
				line=$(timeout 300 "$pcbench" live -6 -s "$pool" -g "/run/netns/$ns_gen" \
					-R "/run/netns/$ns_rx" -t g0 -i r0 -f "$filter" -p 8080 \
					-n "$frames" -l "$filter@$pool" -r "$round") ||
					line="live	$filter@$pool	$round	ERR"
				echo "$line" >>"$raw"
			done
		done
	done
	live_teardown
	echo "## 3b. Scaling with the number of distinct sources"
	echo
	cat <<-EOT
	The live-frames flood of section 2, in IPv6, from a pool of N sources in 2001:2::/96:
	frame i comes from source i mod N and goes to tcp/8080 + (i / N) mod 1000, so every
	pass over the pool probes the next closed port, and each run makes at least two
	passes. That is a distributed scan, the detector's worst case: every source comes
	back on a new port, is promoted to exact tracking, and is banned at its 20th port
	if the tracking table (16,384 sources, LRU) has kept it that long. portcullis:
	the xdp-filter equivalent (scan-detect off); + scan-detect: \`scan-detect ports 20
	window 10s ban 10m ipv6-prefix 128\` (each address its own source), established off.
	Receiver ns per frame as in section 2 (busy time minus the gen-only run of the same
	round and pool), $pool_rounds rounds. Banned and promoted: the detector's own
	counters after one run (medians). Map memory is fixed at load time whatever N is.

	EOT
	awk -v datafile="$results/sources.dat" -f "$root/bench/sources-summary.awk" "$raw"
	echo
	cp "$raw" "$results/sources-raw.tsv"
	if command -v gnuplot >/dev/null; then
		gnuplot -e "datafile='$results/sources.dat'; outdir='$results'" "$root/bench/sources.gp" &&
			echo "![cost vs distinct sources](sources-cost.png)" &&
			echo
	fi
}

# --- 4. source-list prefixes ------------------------------------------------------
prefixes() {
	log "scaling: deny-list prefixes 0 .. 1,000,000"
	echo "## 4. Scaling with the number of source-list prefixes"
	echo
	"$pcbench" prefixes -r "$rounds" -n "$repeat" -k "$calls" -o "$results/prefixes.dat"
	if command -v gnuplot >/dev/null; then
		gnuplot -e "datafile='$results/prefixes.dat'; outdir='$results'" "$root/bench/prefixes.gp" &&
			echo "![cost vs prefixes](prefixes-cost.png)" &&
			echo
	fi
}

# --- 5. control plane ------------------------------------------------------------
control_plane() {
	echo "## 5. Control plane"
	echo
	"$root/bench/control-plane.sh" "$portcullis" "$rounds"
}

main() {
	local report
	case "$mode" in
	full) report=$results/latest.md ;;
	*) report=$results/$mode.md ;;
	esac
	local tmp=$report.tmp
	header >"$tmp"
	case "$mode" in
	quick) classes >>"$tmp" ;;
	live) live >>"$tmp" ;;
	scaling) scaling >>"$tmp" ;;
	sources) sources >>"$tmp" ;;
	prefixes) prefixes >>"$tmp" ;;
	control) control_plane >>"$tmp" ;;
	full)
		classes >>"$tmp"
		cp "$results/classes-raw.tsv.tmp" "$results/classes-raw.tsv"
		live >>"$tmp"
		scaling >>"$tmp"
		sources >>"$tmp"
		prefixes >>"$tmp"
		control_plane >>"$tmp"
		;;
	esac
	mv "$tmp" "$report"
	log "wrote $report"
	[ "$mode" = full ] || cat "$report"
	return 0
}

main
