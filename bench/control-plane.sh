#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#
# Wall time of portcullis' control-plane commands, as a user sees them
# (process start to exit): attach, allow, reload with 10, 1,000 and
# 100,000-line configs, detach. Runs on a veth in a namespace of its own
# with a private pin root. Prints a Markdown table.
#
#   bench/control-plane.sh PORTCULLIS ROUNDS
set -euo pipefail

portcullis=$1
rounds=$2
ns=pcb$$-cp
pins=/sys/fs/bpf/pcb$$-cp
work=$(mktemp -d)

cleanup() {
	set +e
	[ -e "/run/netns/$ns" ] && pc detach c0 >/dev/null 2>&1
	[ -e "/run/netns/$ns" ] && ip netns del "$ns"
	rm -rf "$pins" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The namespace is throwaway: no SSH session to protect in it.
pc() { env -u SSH_CONNECTION nsenter --net="/run/netns/$ns" "$portcullis" --pin-root "$pins" "$@"; }

# Milliseconds one command takes; the command must succeed.
time_ms() {
	local start end
	start=$(date +%s%N)
	"$@" >/dev/null 2>"$work/err" || {
		echo "bench: control plane: '$*' failed: $(tail -1 "$work/err")" >&2
		return 1
	}
	end=$(date +%s%N)
	awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }'
}

# A config of N lines: the policy header, then one allow line per port
# (tcp 1..65535, then udp), so that a big config really means many rules.
make_config() { # lines file
	awk -v n="$1" 'BEGIN {
		print "mode enforce"; print "established off"; print "allow tcp 22"
		for (i = 4; i <= n; i++) {
			p = i - 3
			if (p <= 65535) printf "allow tcp %d\n", p
			else printf "allow udp %d\n", p - 65535
		}
	}' >"$2"
}

ip netns add "$ns"
ip -n "$ns" link add c0 type veth peer name c1
ip -n "$ns" link set c0 up
ip -n "$ns" link set c1 up
for n in 10 1000 100000; do
	make_config "$n" "$work/$n.conf"
done

raw=$work/raw
: >"$raw"
ops="attach allow reload-10 reload-1000 reload-100000 detach"
for round in $(seq 1 "$rounds"); do
	echo "attach $(time_ms pc attach c0 -c "$work/10.conf" --xdp-mode native)" >>"$raw"
	echo "allow $(time_ms pc allow c0 tcp 8080)" >>"$raw"
	pc disallow c0 tcp 8080 >/dev/null
	# The reload sizes take turns going first.
	for n in $(echo "10 1000 100000 10 1000" | cut -d' ' -f$((round % 3 + 1))-$((round % 3 + 3))); do
		echo "reload-$n $(time_ms pc reload c0 -c "$work/$n.conf")" >>"$raw"
	done
	echo "detach $(time_ms pc detach c0)" >>"$raw"
done

echo "Wall time of one \`build/portcullis\` command, process start to exit, on a veth in a"
echo "namespace; $rounds rounds. Configs: N lines of \`allow tcp|udp PORT\` (one port each)."
echo
echo "| command | ms |"
echo "|---|---:|"
for op in $ops; do
	awk -v op="$op" '$1 == op { v[++n] = $2 }
	END {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j-1] > v[j]; j--) { t = v[j]; v[j] = v[j-1]; v[j-1] = t }
		if (!n) { printf "| %s | n/a |\n", op; exit }
		m = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		cmd = op; sub(/^reload-/, "reload, ", cmd); if (cmd != op) cmd = cmd "-line config"
		printf "| %s | %.1f (%.1f-%.1f) |\n", cmd, m, v[1], v[n]
	}' "$raw"
done
echo
