# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Summarise bench/run.sh's distinct-sources records into Markdown, and write
# the plot's data to DATAFILE (-v datafile=...).
# Input: pcbench live lines whose label is CONFIG@SOURCES (see live-summary.awk
# for the columns). Receiver ns per frame = busy ns - the gen-only run of the
# same round and pool size.
BEGIN { FS = "\t"; n_pools = 0 }

function sort(a, n,    i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
}

# Sets MED, LO, HI of v[1..n]; returns "median (min-max)" or "n/a".
function summary(v, n, dec,    s, m) {
	if (n == 0) { MED = LO = HI = -1; return "n/a" }
	for (m = 1; m <= n; m++) s[m] = v[m]
	sort(s, n)
	MED = n % 2 ? s[(n + 1) / 2] : (s[n / 2] + s[n / 2 + 1]) / 2
	LO = s[1]; HI = s[n]
	return sprintf("%.*f (%.*f-%.*f)", dec, MED, dec, LO, dec, HI)
}

function has(c, p, r) { return ((c, p, r) in busy) && (("gen-only", p, r) in busy) }
function rx(c, p, r) { return busy[c, p, r] - busy["gen-only", p, r] }

function rx_col(c, p,    r, n, v) {
	n = 0
	for (r = 0; r <= maxround; r++) if (has(c, p, r)) v[++n] = rx(c, p, r)
	return summary(v, n, 1)
}

# Receive rate of A / receive rate of B, per round.
function ratio(a, b, p,    r, n, v) {
	n = 0
	for (r = 0; r <= maxround; r++)
		if (has(a, p, r) && has(b, p, r) && rx(a, p, r) > 0) v[++n] = rx(b, p, r) / rx(a, p, r)
	return summary(v, n, 2)
}

function median_of(arr, c, p,    r, n, v) {
	n = 0
	for (r = 0; r <= maxround; r++) if ((c, p, r) in arr) v[++n] = arr[c, p, r]
	summary(v, n, 0)
	return MED
}

$1 == "live" && $4 != "ERR" {
	split($2, lp, "@"); c = lp[1]; p = lp[2]
	if (!(p in known)) { known[p] = 1; pools[++n_pools] = p }
	if ($3 > maxround) maxround = $3
	busy[c, p, $3] = $8
	if ($11 != "") bans[c, p, $3] = $11
	if ($12 != "") promoted[c, p, $3] = $12
	if ($13 > 0) memory[c, p] = $13
	frames[p] = $6
}

END {
	sort(pools, n_pools)
	print "| distinct sources | frames per run | bare XDP_DROP ns | portcullis ns | portcullis + scan-detect ns | + scan-detect: rate / bare | sources banned | promoted to tracking | map memory |"
	print "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= n_pools; i++) {
		p = pools[i]
		b = rx_col("drop", p); bmed = MED; blo = LO; bhi = HI
		q = rx_col("portcullis", p); qmed = MED; qlo = LO; qhi = HI
		s = rx_col("portcullis-scan", p); smed = MED; slo = LO; shi = HI
		printf "| %d | %d | %s | %s | %s | %s | %d | %d | %.2f MiB |\n", p, frames[p], b, q, s,
			ratio("portcullis-scan", "drop", p), median_of(bans, "portcullis-scan", p),
			median_of(promoted, "portcullis-scan", p), memory["portcullis-scan", p] / 1048576
		if (datafile != "")
			printf "%d %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f\n", p, bmed, blo, bhi,
				qmed, qlo, qhi, smed, slo, shi > datafile
	}
}
