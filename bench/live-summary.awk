# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Summarise bench/run.sh's live-flood records into Markdown.
# Input, tab-separated, one line per run:
#   live LABEL ROUND WALL_MPPS RECEIVED SENT WALL_S BUSY_NS PC_SEEN PC_DROPS BANS PROMOTED
#   MAP_BYTES RULE_DROPS
# (WALL_MPPS is "ERR" when a run failed). BUSY_NS is the kernel's busy time
# per frame for generator + receiver; the "gen-only" runs give the
# generator's share, subtracted per round. Ratios are taken per round, then
# summarised as median (min-max).
BEGIN { FS = "\t"; gen = "gen-only"; bare = "xdp-drop-bare"; pc = "portcullis-drop" }

function sort(a, n,    i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
}

# "median (min-max)" of v[1..n]; sets MED (-1 when there is nothing).
function summary(v, n, dec,    s, m) {
	if (n == 0) { MED = -1; return "n/a" }
	for (m = 1; m <= n; m++) s[m] = v[m]
	sort(s, n)
	MED = n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
	return sprintf("%.*f (%.*f-%.*f)", dec, MED, dec, s[1], dec, s[n])
}

function has(l, r) { return ((l, r) in busy) && ((gen, r) in busy) && busy[l, r] > busy[gen, r] }
function rx_ns(l, r) { return busy[l, r] - busy[gen, r] }

# Per-round column over the rounds where it exists. what: busy|rx|rxmpps|wall
function column(l, what, dec,    r, n, v) {
	n = 0
	for (r = 0; r <= maxround; r++) {
		if (what == "busy" && (l, r) in busy) v[++n] = busy[l, r]
		else if (what == "wall" && (l, r) in wall) v[++n] = wall[l, r]
		else if (what == "rx" && has(l, r)) v[++n] = rx_ns(l, r)
		else if (what == "rxmpps" && has(l, r)) v[++n] = 1000 / rx_ns(l, r)
	}
	return summary(v, n, dec)
}

# Receive rate of A over receive rate of B, per round (= rx ns of B / rx ns of A).
function rx_ratio(a, b,    r, n, v) {
	n = 0
	for (r = 0; r <= maxround; r++) if (has(a, r) && has(b, r)) v[++n] = rx_ns(b, r) / rx_ns(a, r)
	return summary(v, n, 2)
}

# The same with the generator's share left in (what the setup delivers end to end).
function busy_ratio(a, b,    r, n, v) {
	n = 0
	for (r = 0; r <= maxround; r++)
		if (((a, r) in busy) && ((b, r) in busy) && busy[a, r] > 0) v[++n] = busy[b, r] / busy[a, r]
	return summary(v, n, 2)
}

$1 == "live" {
	if (!($2 in seen)) { seen[$2] = 1; order[++nlabels] = $2 }
	if ($3 > maxround) maxround = $3
	if ($4 == "ERR") { errors[$2]++; next }
	wall[$2, $3] = $4; busy[$2, $3] = $8
	delivered[$2] += $5; sent[$2] += $6
	if ($9 >= 0 && $9 != "") { filt[$2] += $10; counted[$2] = 1 }
	if ($14 != "-" && $14 != "") { filt[$2] += $14; counted[$2] = 1 }
}

END {
	print "| configuration | busy ns per frame (gen + rx) | receiver ns per frame | receiver Mpps per CPU | wall-clock Mpps | delivered | dropped by the filter | receive rate / bare XDP_DROP | portcullis-drop receive rate / this |"
	print "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= nlabels; i++) {
		l = order[i]
		err = errors[l] ? sprintf(" (%d runs failed)", errors[l]) : ""
		if (l == gen) {
			printf "| %s%s | %s | (generator alone) | | | not sent | | | |\n", l, err, column(l, "busy", 1)
			continue
		}
		dl = sent[l] ? sprintf("%.1f%%", 100 * delivered[l] / sent[l]) : "n/a"
		if (counted[l]) fd = sprintf("%.1f%%", delivered[l] ? 100 * filt[l] / delivered[l] : 0)
		else fd = (l == bare ? "all (XDP_DROP)" : "none: TCP drops them (bad checksum)")
		printf "| %s%s | %s | %s | %s | %s | %s | %s | %s | %s |\n", l, err,
			column(l, "busy", 1), column(l, "rx", 1), column(l, "rxmpps", 2),
			column(l, "wall", 2), dl, fd,
			(l == bare ? "1" : rx_ratio(l, bare)), (l == pc ? "1" : rx_ratio(pc, l))
	}
	print ""
	s_rx = rx_ratio(pc, bare); m_rx = MED
	s_busy = busy_ratio(pc, bare)
	printf "portcullis drop rate / bare XDP_DROP, receiver alone: **%s**; with the generator's share left in: %s. Target >= 0.9: **%s**.\n\n",
		s_rx, s_busy, (m_rx < 0 ? "not measured" : (m_rx >= 0.9 ? "met" : "missed"))
	if ("portcullis-drop-defaults" in seen)
		printf "With the contract's defaults (scan-detect on, established socket), portcullis drop rate / bare XDP_DROP, receiver alone: %s.\n\n",
			rx_ratio("portcullis-drop-defaults", bare)
	if ("xdp-filter-drop" in seen)
		printf "portcullis drop rate / xdp-filter's (`load --policy deny`, the same ports), receiver alone: **%s**; with the generator's share: %s.\n\n",
			rx_ratio(pc, "xdp-filter-drop"), busy_ratio(pc, "xdp-filter-drop")
	best = ""; m_best = -1
	for (i = 1; i <= nlabels; i++) if (order[i] ~ /^nft-/) {
		s = rx_ratio(pc, order[i])
		if (MED >= 0 && (m_best < 0 || MED < m_best)) { m_best = MED; best = order[i]; s_best = s }
	}
	if (best != "")
		printf "portcullis drop rate / the faster nftables drop (%s), receiver alone: **%s**; with the generator's share: %s. Target >= 3: **%s**.\n\n",
			best, s_best, busy_ratio(pc, best), (m_best >= 3 ? "met" : "missed")
	else
		print "portcullis drop rate / nftables: not measured (no nftables run succeeded).\n"
}
