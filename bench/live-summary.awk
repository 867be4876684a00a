# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Summarise bench/run.sh's live-flood records into a Markdown table.
# Input, tab-separated: live LABEL ROUND MPPS RECEIVED SENT SECONDS PC_SEEN PC_DROPS RULE_DROPS
# (MPPS is "ERR" when a run failed). Ratios are taken per round, then summarised.
BEGIN { FS = "\t" }

function sort(a, n,    i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
}

# "median (min-max)" of the n values in v[1..n]; sets MED.
function summary(v, n, dec,    s, m) {
	if (n == 0) { MED = -1; return "n/a" }
	for (m = 1; m <= n; m++) s[m] = v[m]
	sort(s, n)
	MED = n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
	return sprintf("%.*f (%.*f-%.*f)", dec, MED, dec, s[1], dec, s[n])
}

# Per-round ratios A/B over the rounds where both ran.
function ratio(a, b, dec,    r, n, v) {
	n = 0
	for (r = 0; r <= maxround; r++)
		if ((a, r) in rate && (b, r) in rate && rate[b, r] > 0)
			v[++n] = rate[a, r] / rate[b, r]
	return summary(v, n, dec)
}

$1 == "live" {
	if (!($2 in seen)) { seen[$2] = 1; order[++nlabels] = $2 }
	if ($3 > maxround) maxround = $3
	if ($4 == "ERR") { errors[$2]++; next }
	rate[$2, $3] = $4
	delivered[$2] += $5; sent[$2] += $6
	if ($8 >= 0 && $9 >= 0 && $8 != "") { filt[$2] += $9; pass_pc[$2] += $8 - $9; has_pc[$2] = 1 }
	if ($10 != "-" && $10 != "") { filt[$2] += $10; has_rule[$2] = 1 }
}

END {
	bare = "xdp-drop-bare"; pc = "portcullis-drop"
	print "| configuration | received Mpps | ns per frame (gen + rx) | delivered | dropped by the filter | vs bare XDP_DROP | portcullis-drop / this |"
	print "|---|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= nlabels; i++) {
		l = order[i]; n = 0
		for (r = 0; r <= maxround; r++) if ((l, r) in rate) { v[++n] = rate[l, r]; w[n] = 1000 / rate[l, r] }
		mpps = summary(v, n, 2); nsf = summary(w, n, 1)
		dl = sent[l] ? sprintf("%.1f%%", 100 * delivered[l] / sent[l]) : "n/a"
		if (has_pc[l] || has_rule[l]) fd = sprintf("%.1f%%", delivered[l] ? 100 * filt[l] / delivered[l] : 0)
		else fd = (l == bare ? "all (XDP_DROP)" : "none (TCP drops, bad checksum)")
		if (l == "portcullis-pass") fd = sprintf("%.1f%% (passes the rest)", delivered[l] ? 100 * filt[l] / delivered[l] : 0)
		err = errors[l] ? sprintf(" (%d runs failed)", errors[l]) : ""
		printf "| %s%s | %s | %s | %s | %s | %s | %s |\n", l, err, mpps, nsf, dl, fd,
			l == bare ? "1" : ratio(l, bare, 2), l == pc ? "1" : ratio(pc, l, 2)
	}
	print ""
	r_bare = ratio(pc, bare, 2); m_bare = MED
	best_nft = ""; m_nft = -1
	for (i = 1; i <= nlabels; i++) if (order[i] ~ /^nft-/) {
		s = ratio(pc, order[i], 2)
		if (MED >= 0 && (m_nft < 0 || MED < m_nft)) { m_nft = MED; best_nft = order[i]; r_nft = s }
	}
	printf "portcullis drop rate / bare XDP_DROP: **%s**. Target >= 0.9: **%s**.\n\n", r_bare,
		m_bare < 0 ? "not measured" : (m_bare >= 0.9 ? "met" : "missed")
	if (best_nft != "")
		printf "portcullis drop rate / the faster nftables drop (%s): **%s**. Target >= 3: **%s**.\n\n",
			best_nft, r_nft, m_nft >= 3 ? "met" : "missed"
	else
		print "portcullis drop rate / nftables: not measured (no nftables run succeeded).\n"
}
