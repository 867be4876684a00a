# shellcheck shell=bash
# Shared by the integration tests: a two-namespace lab joined by a veth pair,
# with the filter attached on the server side, and PASS/FAIL reporting.
#
#   client ns  pc<ID>c  veth pcc<ID>  198.18.0.2/24 198.18.0.3/24  2001:2::2/64
#   server ns  pc<ID>s  veth pcs<ID>  198.18.0.1/24                2001:2::1/64
#
# Everything a test creates is removed by lab_down on any exit: namespaces,
# veths, pins, background processes (by PID).
set -u

PC=${PORTCULLIS:?set PORTCULLIS to the portcullis binary}
TESTS_DIR=${TESTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
LAB_ID=$(($$ % 100000))
NS_SRV=pc${LAB_ID}s
NS_CLI=pc${LAB_ID}c
IF_SRV=pcs${LAB_ID}
IF_CLI=pcc${LAB_ID}
SRV4=198.18.0.1
CLI4=198.18.0.2
CLI4B=198.18.0.3
SRV6=2001:2::1
CLI6=2001:2::2
export PORTCULLIS_PIN_ROOT=/sys/fs/bpf/pctest-$LAB_ID
LAB_PIDS=()
TEST_TMP=$(mktemp -d)
# Saved bans of the lab's interfaces: never /var/lib.
export PORTCULLIS_STATE_DIR=$TEST_TMP/state

# The pin directory of namespace NS's attachments (it is not the initial one).
pins_of() { echo "$PORTCULLIS_PIN_ROOT/netns-$(stat -L -c %i "/run/netns/$1")"; }
PC_PINS=$PORTCULLIS_PIN_ROOT/netns-unknown

srv() { nsenter --net="/run/netns/$NS_SRV" "$@"; }
cli() { nsenter --net="/run/netns/$NS_CLI" "$@"; }
# portcullis on the server side of the lab
pc() { srv "$PC" "$@"; }

lab_up() {
	ip netns add "$NS_SRV" && ip netns add "$NS_CLI" || return 1
	srv ip link set lo up
	cli ip link set lo up
	lab_veth_up || return 1
	# The server namespace's pins: not the initial namespace, so PIN_ROOT/netns-INODE.
	PC_PINS=$(pins_of "$NS_SRV")
}

# The veth pair between the namespaces, addressed and up (again after a test deleted it).
lab_veth_up() {
	ip link add "$IF_SRV" netns "$NS_SRV" type veth peer name "$IF_CLI" netns "$NS_CLI" || return 1
	lab_veth_setup
}

lab_veth_setup() {
	srv ip addr add "$SRV4/24" dev "$IF_SRV"
	srv ip addr add "$SRV6/64" dev "$IF_SRV" nodad
	cli ip addr add "$CLI4/24" dev "$IF_CLI"
	cli ip addr add "$CLI4B/24" dev "$IF_CLI"
	cli ip addr add "$CLI6/64" dev "$IF_CLI" nodad
	srv ip link set "$IF_SRV" up
	cli ip link set "$IF_CLI" up
	# Native XDP on a veth needs the peer to have an XDP program or GRO;
	# GRO is the lighter one.
	srv ethtool -K "$IF_SRV" gro on >/dev/null 2>&1 || true
	cli ethtool -K "$IF_CLI" gro on >/dev/null 2>&1 || true
}

lab_down() {
	local pid ns
	for pid in "${LAB_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	LAB_PIDS=()
	# Whatever still runs inside the lab's namespaces is ours too.
	for ns in "$NS_SRV" "$NS_CLI"; do
		[ -e "/run/netns/$ns" ] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill "$pid" 2>/dev/null
		done
	done
	[ -e "/run/netns/$NS_SRV" ] && srv "$PC" detach "$IF_SRV" >/dev/null 2>&1
	rm -rf "$PORTCULLIS_PIN_ROOT"
	ip netns del "$NS_SRV" 2>/dev/null
	ip netns del "$NS_CLI" 2>/dev/null
	rm -rf "$TEST_TMP"
}
trap lab_down EXIT

# Run in the background and remember the PID for lab_down.
bg() {
	"$@" &
	LAB_PIDS+=($!)
}

# bg_in NS CMD...: CMD in the background inside namespace NS. nsenter execs
# CMD, so the PID remembered is CMD's own (a shell function in the background
# would leave a subshell's PID, and the command would outlive a kill).
bg_in() {
	local ns=$1
	shift
	nsenter --net="/run/netns/$ns" "$@" &
	LAB_PIDS+=($!)
}

# listen_srv tcp:22 udp:53 ...: listeners on the filtered host; waits until bound.
listen_in() {
	local ns=$1 out
	shift
	out="$TEST_TMP/listen.$RANDOM"
	bg_in "$ns" python3 "$TESTS_DIR/helpers/listen.py" "$@" >"$out" 2>&1
	for _ in $(seq 50); do
		grep -q ready "$out" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "listener $* did not start: $(cat "$out")"
	return 1
}
listen_srv() { listen_in "$NS_SRV" "$@"; }
listen_cli() { listen_in "$NS_CLI" "$@"; }

# probe_from WHERE PROTO HOST PORT: 0 when the listener answered.
probe_from() {
	local where=$1
	shift
	"$where" python3 "$TESTS_DIR/helpers/probe.py" "$@" >/dev/null 2>&1
}
# From the client to the filtered host.
reach() { probe_from cli "$@"; }

write_config() {
	local file="$TEST_TMP/$1"
	shift
	printf '%s\n' "$@" >"$file"
	echo "$file"
}

ok() { echo "PASS: $1"; }
not_ok() { echo "FAIL: $1${2:+: $2}"; }
skip() { echo "SKIP: $1: $2"; }

# check NAME CMD...: the case passes when CMD succeeds.
check() {
	local name=$1
	shift
	if "$@"; then ok "$name"; else not_ok "$name" "command failed: $*"; fi
}
# check_not NAME CMD...: the case passes when CMD fails.
check_not() {
	local name=$1
	shift
	if "$@"; then not_ok "$name" "command unexpectedly succeeded: $*"; else ok "$name"; fi
}

# JSON field from stats --json, e.g. stats_field '["drops"]["not-allowed"]'
stats_field() {
	pc stats "$IF_SRV" --json | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"
}

# port_field PROTO PORT FIELD: a field of one row of stats --json ports, 0 if absent.
port_field() {
	pc stats "$IF_SRV" --json | python3 -c "
import json, sys
rows = [r for r in json.load(sys.stdin)['ports'] if r['proto'] == '$1' and r['port'] == $2]
print(rows[0]['$3'] if rows else 0)"
}

need() {
	local tool
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null; then
			skip "$(basename "$0" .sh)" "$tool is not installed"
			exit 0
		fi
	done
}

# expect_exit NAME STATUS PATTERN CMD...: CMD exits with STATUS and says PATTERN on stderr.
expect_exit() {
	local name=$1 want=$2 pattern=$3 out rc
	shift 3
	out=$("$@" 2>&1 >/dev/null)
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		not_ok "$name" "exit $rc, expected $want; said: $out"
	elif ! grep -qE -- "$pattern" <<<"$out"; then
		not_ok "$name" "message '$out' does not match /$pattern/"
	else
		ok "$name"
	fi
}

# Kernel memory of the lab interface's maps (bpftool's memlock), summed.
map_memory() {
	local total=0 f m
	for f in "$PC_PINS/$IF_SRV"/pc_*; do
		m=$(bpftool map show pinned "$f" -j |
			python3 -c 'import json,sys; print(json.load(sys.stdin).get("bytes_memlock", 0))')
		total=$((total + m))
	done
	echo "$total"
}

# need_pcbench NAME: set PCBENCH to the live-frames generator built beside the
# binary under test (build/bench/pcbench), or skip test NAME and exit when it
# is not built.
need_pcbench() {
	PCBENCH=${PCBENCH:-$(dirname "$PC")/../bench/pcbench}
	[ -x "$PCBENCH" ] || PCBENCH=$(dirname "${BASH_SOURCE[0]}")/../build/bench/pcbench
	if [ ! -x "$PCBENCH" ]; then
		skip "$1" "the live-frames generator (build/bench/pcbench) is not built"
		exit 0
	fi
}

# start_run LOG [ARGS]: portcullis run on the lab's server side with the
# test's $conf and metrics on 127.0.0.1:$PORT, stderr to LOG; RUN_PID is its
# PID. Returns once run says it serves, or fails. RUN_ENV (VAR=value ...) is
# added to its environment.
start_run() {
	local log=$1
	shift
	# shellcheck disable=SC2086 # RUN_ENV is a list of words
	env ${RUN_ENV:-} nsenter --net="/run/netns/$NS_SRV" \
		"$PC" run "$IF_SRV" -c "$conf" --listen "127.0.0.1:$PORT" "$@" 2>"$log" &
	RUN_PID=$!
	LAB_PIDS+=("$RUN_PID")
	wait_for "$log" "metrics at|error|refus|fail" 10
}

# wait_for FILE PATTERN [SECONDS]: until PATTERN (ERE) shows up in FILE.
wait_for() {
	local i
	for i in $(seq $((${3:-5} * 10))); do
		grep -qE -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
