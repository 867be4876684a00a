// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Cost vs number of source-list prefixes: one portcullis instance per point
 * with N random /24s in "deny from", configured through the loader's own
 * pc_ruleset_commit (so the load time is what attach and reload pay), the
 * points interleaved in every round like the port scaling. Three probes: an
 * allowed SYN from a source in no list whose /16 holds no prefix either (the
 * lookup hint answers), one from a source in no list inside a /16 that holds
 * one (the trie walked to a miss), and one from inside a listed prefix (a
 * hit, dropped as denied-source).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "portcullis.skel.h"
#include "../loader/apply.h"
#include "../maps/sources.h"

/* Mixed points draw prefix lengths /8../32 (mostly /32 and /24) instead of /24s only. */
static const struct {
	__u32 n;
	bool mixed;
} points[] = { { 0, false },	   { 1000, false },    { 10000, false },
	       { 100000, false }, { 1000000, false }, { 1000000, true } };

#define N_POINTS (int)(sizeof(points) / sizeof(points[0]))

enum probe { PROBE_MISS, PROBE_HIT, PROBE_NEAR, N_PROBES };

/* The near probe's /16 gets one prefix of its own, away from the probe. */
#define NEAR_PREFIX "198.19.255.0"
#define NEAR_SOURCE "198.19.0.2"

struct point_runs {
	double ns[N_PROBES][MAX_ROUNDS];
	double load_s;
	long long trie_bytes;
	char hit_source[INET_ADDRSTRLEN];
};

static __u64 next_random(__u64 *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

/*
 * A mixed list's prefix length, shaped like real blocklists (FireHOL, Spamhaus
 * DROP, CrowdSec): half single addresses, a quarter /24s, the rest /16../31,
 * and about one in 10,000 from /8 to /15. The first prefix is a /32.
 */
static __u32 mixed_len(__u64 *state, __u32 i)
{
	__u32 r = (__u32)(next_random(state) % 10000);

	if (i == 0 || r < 5000)
		return 32;
	if (r < 7500)
		return 24;
	if (r == 7500)
		return 8 + (__u32)(next_random(state) % 8);
	return 16 + (__u32)(next_random(state) % 16);
}

/*
 * N random prefixes outside the benchmarking range 198.18.0.0/15: /24s, or
 * MIXED lengths (mixed_len). The hit probe comes from host .77 of the first
 * prefix, or from the first prefix itself when it is a single address.
 */
static int fill_denied(struct pc_prefix_list *list, __u32 n, bool mixed, char *hit, size_t hit_len)
{
	__u64 state = 0x9e3779b97f4a7c15ULL;

	for (__u32 i = 0; i < n; i++) {
		struct pc_prefix prefix = { .family = AF_INET, .len = mixed ? mixed_len(&state, i) : 24 };
		__u32 mask = ~0U << (32 - prefix.len), net;

		do
			net = (__u32)next_random(&state) & mask;
		while (net <= 0xc613ffff && (net | ~mask) >= 0xc6120000);
		net = htonl(net);
		memcpy(prefix.addr, &net, 4);
		if (pc_prefix_list_add(list, &prefix))
			return -ENOMEM;
		if (i == 0) {
			if (prefix.len < 32)
				net |= htonl(77);
			inet_ntop(AF_INET, &net, hit, hit_len);
		}
	}
	return 0;
}

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The xdp-filter-equivalent policy plus N denied prefixes, the way attach loads it. */
static int configure(struct portcullis_bpf *skel, __u32 n, bool mixed, struct point_runs *run)
{
	struct pc_allow allows[] = {
		{ .proto = PC_PROTO_TCP, .lo = 22, .hi = 22 },
		{ .proto = PC_PROTO_TCP, .lo = 80, .hi = 80 },
		{ .proto = PC_PROTO_TCP, .lo = 443, .hi = 443 },
		{ .proto = PC_PROTO_UDP, .lo = 53, .hi = 53 },
	};
	struct pc_ruleset rs;
	struct pc_maps maps;
	double start;
	int err, trie;

	snprintf(run->hit_source, sizeof(run->hit_source), "198.18.0.2");
	pc_ruleset_init(&rs);
	rs.established = PC_ESTABLISHED_OFF;
	rs.scan_detect = false;
	rs.allows = allows;
	rs.n_allows = sizeof(allows) / sizeof(allows[0]);
	err = fill_denied(&rs.denied, n, mixed, run->hit_source, sizeof(run->hit_source));
	if (!err && n) {
		struct pc_prefix near = { .family = AF_INET, .len = 24 };

		inet_pton(AF_INET, NEAR_PREFIX, near.addr);
		err = pc_prefix_list_add(&rs.denied, &near) ? -ENOMEM : 0;
	}
	if (!err)
		err = pc_maps_from_object(skel->obj, &maps);
	if (!err) {
		start = seconds_now();
		err = pc_ruleset_commit(&maps, &rs, 1);
		run->load_s = seconds_now() - start;
	}
	if (!err) {
		__u32 set;

		pc_maps_active_set(&maps, &set);
		trie = pc_sources_open(&maps, set);
		run->trie_bytes = trie >= 0 ? pc_map_memlock(trie) : -1;
		if (trie >= 0)
			close(trie);
	}
	pc_prefix_list_free(&rs.denied);
	return err;
}

static void build_probe(struct frame *frame, const char *source)
{
	struct packet_spec spec = { 4, 0, L4_TCP, 80, TCP_SYN, 0, {}, source };

	packet_build(frame, &spec);
}

int bench_prefixes(int argc, char **argv)
{
	static struct point_runs runs[N_POINTS];
	struct portcullis_bpf *pc[N_POINTS] = {};
	struct frame frames[N_POINTS][N_PROBES];
	struct curve_opts o;
	int err = 1, retval;
	char s1[64], s2[64], s3[64], s4[64];
	FILE *data = NULL;

	if (parse_curve_opts(argc, argv, "prefixes", &o))
		return 2;

	for (int p = 0; p < N_POINTS; p++) {
		pc[p] = portcullis_bpf__open_and_load();
		if (!pc[p]) {
			fprintf(stderr, "pcbench: cannot load portcullis: %s\n", strerror(errno));
			goto cleanup;
		}
		if (configure(pc[p], points[p].n, points[p].mixed, &runs[p])) {
			fprintf(stderr, "pcbench: cannot load %u prefixes\n", points[p].n);
			goto cleanup;
		}
		build_probe(&frames[p][PROBE_MISS], "198.18.0.2");
		build_probe(&frames[p][PROBE_HIT], runs[p].hit_source);
		build_probe(&frames[p][PROBE_NEAR], NEAR_SOURCE);
	}

	pin_cpu(sysconf(_SC_NPROCESSORS_ONLN) - 1);
	for (int r = 0; r < o.rounds; r++) {
		for (int k = 0; k < N_POINTS; k++) {
			int p = (k + r) % N_POINTS;
			int fd = bpf_program__fd(pc[p]->progs.portcullis_xdp);

			for (int probe = 0; probe < N_PROBES; probe++) {
				int want = probe == PROBE_HIT && points[p].n ? XDP_DROP : XDP_PASS;
				double ns = test_run_ns(fd, &frames[p][probe], o.repeat, o.calls,
							&retval);

				if (ns < 0 || retval != want) {
					fprintf(stderr,
						"pcbench: %u prefixes, probe %d: verdict %d\n",
						points[p].n, probe, retval);
					goto cleanup;
				}
				runs[p].ns[probe][r] = ns;
			}
		}
	}

	if (o.data_path) {
		data = fopen(o.data_path, "w");
		if (!data) {
			fprintf(stderr, "pcbench: %s: %s\n", o.data_path, strerror(errno));
			goto cleanup;
		}
		fprintf(data,
			"# prefixes miss_med min max hit_med min max load_seconds trie_bytes "
			"near_med min max\n");
	}
	printf("Nanoseconds per packet (BPF_PROG_TEST_RUN, repeat %u, mean of %d runs per "
	       "round, %d rounds, points interleaved) with N random /24s in `deny from` (none "
	       "in 198.18.0.0/15) and " NEAR_PREFIX "/24, loaded through the loader's "
	       "pc_ruleset_commit; \"mixed\": N prefixes of /8 to /32 (half /32, a quarter /24, "
	       "the rest /16../31, one in 10,000 /8../15). Miss: allowed SYN from a source in "
	       "no list (198.18.0.2); near miss: the same from a /16 that has a listed /24 "
	       "(" NEAR_SOURCE "); hit: SYN from inside the first denied prefix (dropped; for "
	       "mixed a denied /32, which the trie answers). \"vs none\": per round, against "
	       "the same packet with no lists (the 0 row's miss, or its near miss). Load: wall "
	       "time of the commit (trie and /24 table fill, rule-set switch); trie: the "
	       "kernel's memlock of it (the /24 table adds a fixed 8 MiB).\n\n",
	       o.repeat, o.calls, o.rounds);
	printf("| prefixes | miss ns | near miss ns | hit ns | miss vs none | near vs none | "
	       "hit vs none | load s | trie memory |\n"
	       "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int p = 0; p < N_POINTS; p++) {
		struct summary miss = summarize(runs[p].ns[PROBE_MISS], o.rounds);
		struct summary hit = summarize(runs[p].ns[PROBE_HIT], o.rounds);
		struct summary near = summarize(runs[p].ns[PROBE_NEAR], o.rounds);
		double rel[N_PROBES][MAX_ROUNDS];
		char s5[64], s6[64];

		for (int r = 0; r < o.rounds; r++) {
			rel[PROBE_MISS][r] = runs[p].ns[PROBE_MISS][r] / runs[0].ns[PROBE_MISS][r];
			rel[PROBE_NEAR][r] = runs[p].ns[PROBE_NEAR][r] / runs[0].ns[PROBE_NEAR][r];
			rel[PROBE_HIT][r] = runs[p].ns[PROBE_HIT][r] / runs[0].ns[PROBE_MISS][r];
		}
		printf("| %u%s | %s | %s | %s | %s | %s | %s | %.2f | %.1f MiB |\n", points[p].n,
		       points[p].mixed ? " mixed" : "", fmt_summary(s1, sizeof(s1), miss, 1),
		       fmt_summary(s4, sizeof(s4), near, 1),
		       points[p].n ? fmt_summary(s2, sizeof(s2), hit, 1) : "-",
		       fmt_summary(s3, sizeof(s3), summarize(rel[PROBE_MISS], o.rounds), 2),
		       fmt_summary(s5, sizeof(s5), summarize(rel[PROBE_NEAR], o.rounds), 2),
		       points[p].n ? fmt_summary(s6, sizeof(s6), summarize(rel[PROBE_HIT], o.rounds), 2)
				   : "-",
		       runs[p].load_s, runs[p].trie_bytes / 1048576.0);
		/* The plot's x axis is the count: a mixed point goes in as a comment. */
		if (data)
			fprintf(data, "%s%u %.3f %.3f %.3f %.3f %.3f %.3f %.3f %lld %.3f %.3f %.3f\n",
				points[p].mixed ? "# mixed " : "", points[p].n, miss.median,
				miss.min, miss.max, hit.median, hit.min, hit.max, runs[p].load_s,
				runs[p].trie_bytes, near.median, near.min, near.max);
	}
	printf("\n");
	err = 0;

cleanup:
	if (data)
		fclose(data);
	for (int p = 0; p < N_POINTS; p++)
		portcullis_bpf__destroy(pc[p]);
	return err;
}
