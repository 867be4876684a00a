// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Per-packet cost by packet class with BPF_PROG_TEST_RUN: portcullis next
 * to the bare floor and to xdp-filter, configurations interleaved inside
 * every round so that machine noise hits them alike, and every figure that
 * matters reported as a ratio of two runs made side by side.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "bare.skel.h"
#include "portcullis.skel.h"

/* Which table a class belongs to, and which policy runs it. */
enum class_table {
	TABLE_PORTS,   /* the xdp-filter equivalent policy */
	TABLE_SOURCES, /* the same plus source lists */
};

struct bench_class {
	const char *name;
	const char *what;
	struct packet_spec spec;
	enum class_table table;
};

static const struct bench_class classes[] = {
    {"ipv4-syn-allowed",
     "IPv4 SYN to tcp/80",
     {4, 0, L4_TCP, 80, TCP_SYN, 0, {}, NULL},
     TABLE_PORTS},
    {"ipv4-ack1000-allowed",
     "IPv4 ACK, 1000 B payload, tcp/443",
     {4, 0, L4_TCP, 443, TCP_ACK | TCP_PSH, 1000, {}, NULL},
     TABLE_PORTS},
    {"ipv4-syn-denied",
     "IPv4 SYN to tcp/8080",
     {4, 0, L4_TCP, 8080, TCP_SYN, 0, {}, NULL},
     TABLE_PORTS},
    {"ipv4-udp-allowed", "IPv4 UDP to udp/53", {4, 0, L4_UDP, 53, 0, 32, {}, NULL}, TABLE_PORTS},
    {"ipv4-udp-denied", "IPv4 UDP to udp/5353", {4, 0, L4_UDP, 5353, 0, 32, {}, NULL}, TABLE_PORTS},
    {"ipv6-syn-allowed",
     "IPv6 SYN to tcp/22",
     {6, 0, L4_TCP, 22, TCP_SYN, 0, {}, NULL},
     TABLE_PORTS},
    {"ipv6-syn-denied",
     "IPv6 SYN to tcp/8080",
     {6, 0, L4_TCP, 8080, TCP_SYN, 0, {}, NULL},
     TABLE_PORTS},
    {"vlan-ipv4-syn-allowed",
     "802.1Q IPv4 SYN to tcp/80",
     {4, 1, L4_TCP, 80, TCP_SYN, 0, {}, NULL},
     TABLE_PORTS},
    {"ipv4-xmas",
     "IPv4 FIN+PSH+URG to tcp/80",
     {4, 0, L4_TCP, 80, TCP_FIN | TCP_PSH | TCP_URG, 0, {}, NULL},
     TABLE_PORTS},
    {"src-ipv4-syn-allowed",
     "IPv4 SYN to tcp/80 from 198.18.0.1 (no list, nor its /16)",
     {4, 0, L4_TCP, 80, TCP_SYN, 0, {}, NULL},
     TABLE_SOURCES},
    {"src-ipv4-syn-allowed-near",
     "IPv4 SYN to tcp/80 from 198.19.250.1 (no list; its /16 has some)",
     {4, 0, L4_TCP, 80, TCP_SYN, 0, {}, "198.19.250.1"},
     TABLE_SOURCES},
    {"src-ipv4-denied-source",
     "IPv4 SYN to tcp/80 from 198.19.0.1 (deny from /17)",
     {4, 0, L4_TCP, 80, TCP_SYN, 0, {}, "198.19.0.1"},
     TABLE_SOURCES},
    {"src-ipv6-denied-source",
     "IPv6 SYN to tcp/22 from 2001:2:0:ff00::1 (deny from /56)",
     {6, 0, L4_TCP, 22, TCP_SYN, 0, {}, "2001:2:0:ff00::1"},
     TABLE_SOURCES},
    {"src-ipv4-banned-source",
     "IPv4 SYN to tcp/80 from 198.18.0.66 (banned)",
     {4, 0, L4_TCP, 80, TCP_SYN, 0, {}, "198.18.0.66"},
     TABLE_SOURCES},
    {"src-ipv4-trusted-source",
     "IPv4 SYN to tcp/8080 from 198.19.200.1 (allow from)",
     {4, 0, L4_TCP, 8080, TCP_SYN, 0, {}, "198.19.200.1"},
     TABLE_SOURCES},
    {"src-ipv4-source-list-hit",
     "IPv4 SYN to tcp/2222 from 198.19.201.1 (allow tcp 2222 from /24)",
     {4, 0, L4_TCP, 2222, TCP_SYN, 0, {}, "198.19.201.1"},
     TABLE_SOURCES},
    {"src-ipv4-source-list-miss",
     "IPv4 SYN to tcp/2222 from 198.18.1.1",
     {4, 0, L4_TCP, 2222, TCP_SYN, 0, {}, "198.18.1.1"},
     TABLE_SOURCES},
};

#define N_CLASSES (int)(sizeof(classes) / sizeof(classes[0]))

enum config {
	CFG_BARE,
	CFG_PC,	     /* the xdp-filter equivalent: established off, scan-detect off */
	CFG_PC_SCAN, /* + scan-detect */
	CFG_PC_DEF,  /* + scan-detect + established socket: the contract's defaults */
	CFG_XF,
	CFG_CAND,
	CFG_PC_SRC,
	N_CONFIGS
};

static const char *const config_names[N_CONFIGS] = {
    "bare",	  "portcullis", "portcullis-scan",   "portcullis-defaults",
    "xdp-filter", "candidate",	"portcullis-sources"};

/* The configuration whose verdict the bare floor copies for class C. */
static enum config reference(int c)
{
	return classes[c].table == TABLE_SOURCES ? CFG_PC_SRC : CFG_PC;
}

struct run {
	double ns[MAX_ROUNDS];
	int retval;
	bool bad_retval; /* the verdict changed between rounds */
};

/* The newest loaded program whose name starts with PREFIX, as an fd. */
static int find_prog(const char *prefix, char *name, size_t size)
{
	__u32 id = 0, found = 0;
	int fd;

	while (!bpf_prog_get_next_id(id, &id)) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    !strncmp(info.name, prefix, strlen(prefix)) && info.type == BPF_PROG_TYPE_XDP) {
			found = id;
			snprintf(name, size, "%s (id %u)", info.name, id);
		}
		close(fd);
	}
	return found ? bpf_prog_get_fd_by_id(found) : -ENOENT;
}

/* Program ID as an fd, with its name for the report. */
static int prog_by_id(__u32 id, char *name, size_t size)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return -errno;
	}
	snprintf(name, size, "program `%s` (id %u), run directly", info.name, id);
	return fd;
}

static const char *verdict_name(int retval)
{
	switch (retval) {
	case XDP_ABORTED:
		return "ABORTED";
	case XDP_DROP:
		return "drop";
	case XDP_PASS:
		return "pass";
	case XDP_TX:
		return "tx";
	default:
		return "?";
	}
}

static double geomean(const double *values, int n)
{
	double log_sum = 0;

	for (int i = 0; i < n; i++)
		log_sum += log(values[i]);
	return n ? exp(log_sum / n) : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: pcbench classes [-r ROUNDS] [-n REPEAT] [-k CALLS] [-x auto|none] "
			"[-X WHY-NOT] [-B CANDIDATE.bpf.o] [-o RAW.tsv]\n"
			"  -x: xdp-filter program: auto (newest xdpfilt_*), none, or a program id\n"
			"  -B: another build of portcullis.bpf.o to compare with this one (A/B)\n");
}

struct class_bench {
	int rounds;
	__u32 repeat;
	int calls; /* test runs averaged per round */
	int prog_fd[N_CONFIGS];
	int bare_fd[2]; /* bare_pass, bare_drop */
	struct frame frames[N_CLASSES];
	struct run runs[N_CLASSES][N_CONFIGS];
	bool have_xf;
	bool have_cand;
};

static bool wanted(const struct class_bench *b, int c, enum config cfg)
{
	if (classes[c].table == TABLE_SOURCES)
		return cfg == CFG_BARE || cfg == CFG_PC || cfg == CFG_PC_SRC;
	if (cfg == CFG_XF)
		return b->have_xf;
	if (cfg == CFG_CAND)
		return b->have_cand;
	return cfg != CFG_PC_SRC;
}

static int measure(struct class_bench *b, FILE *raw)
{
	int retval;

	/* The bare floor returns what portcullis returns for the class. */
	for (int c = 0; c < N_CLASSES; c++) {
		if (test_run_ns(b->prog_fd[reference(c)], &b->frames[c], 1, 1, &retval) < 0)
			return -1;
		b->runs[c][CFG_BARE].retval = retval;
	}

	for (int round = 0; round < b->rounds; round++) {
		for (int c = 0; c < N_CLASSES; c++) {
			for (int k = 0; k < N_CONFIGS; k++) {
				/* Rotate the order so no configuration always runs first. */
				int cfg = (k + round + c) % N_CONFIGS;
				struct run *run = &b->runs[c][cfg];
				int fd = b->prog_fd[cfg];
				double ns;

				if (!wanted(b, c, cfg))
					continue;
				if (cfg == CFG_BARE)
					fd = b->bare_fd[run->retval == XDP_DROP];
				ns = test_run_ns(fd, &b->frames[c], b->repeat, b->calls, &retval);
				if (ns < 0) {
					fprintf(stderr, "pcbench: test run of %s on %s: %s\n",
						config_names[cfg], classes[c].name, strerror(-ns));
					return -1;
				}
				if (round == 0 && cfg != CFG_BARE)
					run->retval = retval;
				else if (retval != run->retval)
					run->bad_retval = true;
				run->ns[round] = ns;
				if (raw)
					fprintf(raw, "classes\t%s\t%s\t%d\t%.3f\t%s\n",
						classes[c].name, config_names[cfg], round, ns,
						verdict_name(retval));
			}
		}
	}
	return 0;
}

static void ratio_series(const struct class_bench *b, int c, int num, int den, double *out)
{
	for (int r = 0; r < b->rounds; r++)
		out[r] = b->runs[c][num].ns[r] / b->runs[c][den].ns[r];
}

/* A/B table: another build of the data path against this one, same policy. */
static void report_candidate(const struct class_bench *b)
{
	double ratio[MAX_ROUNDS];
	char s1[64], s2[64], s3[64];

	printf("Candidate object against the built-in portcullis (same policy, `established "
	       "off`):\n\n| class | verdict pc / cand | portcullis ns | candidate ns | "
	       "candidate / portcullis |\n|---|---|---:|---:|---:|\n");
	for (int c = 0; c < N_CLASSES; c++) {
		const struct run *run = b->runs[c];

		if (classes[c].table != TABLE_PORTS)
			continue;
		ratio_series(b, c, CFG_CAND, CFG_PC, ratio);
		printf("| %s | %s / %s | %s | %s | %s |\n", classes[c].name,
		       verdict_name(run[CFG_PC].retval), verdict_name(run[CFG_CAND].retval),
		       fmt_summary(s1, sizeof(s1), summarize(run[CFG_PC].ns, b->rounds), 1),
		       fmt_summary(s2, sizeof(s2), summarize(run[CFG_CAND].ns, b->rounds), 1),
		       fmt_summary(s3, sizeof(s3), summarize(ratio, b->rounds), 3));
	}
	printf("\n");
}

/* Source classes: what deny, trust and per-port lists cost. */
static void report_sources(const struct class_bench *b)
{
	double ratio[MAX_ROUNDS], net[MAX_ROUNDS];
	char s1[64], s2[64], s3[64], s4[64], s5[64];

	printf(
	    "Source lists and bans (same units). portcullis + sources: the policy above plus `deny "
	    "from 198.19.0.0/17,2001:2:0:ff00::/56` and 1,000 more denied /32s, `allow from "
	    "198.19.200.0/24`, `allow tcp 2222 from 198.19.201.0/24`, a manual ban of 198.18.0.66. "
	    "Every list prefix is in 198.19.0.0/16 or 2001:2::/32, so the lookup hint sends "
	    "sources from there to the trie and answers for 198.18.x.y itself. Without lists: "
	    "the policy above, for what the lists add (its verdict can differ).\n\n"
	    "| class | packet | verdict with / without lists | bare ns | portcullis + "
	    "sources ns | without lists ns | with / without lists | ns above bare |\n"
	    "|---|---|---|---:|---:|---:|---:|---:|\n");
	for (int c = 0; c < N_CLASSES; c++) {
		const struct run *run = b->runs[c];

		if (classes[c].table != TABLE_SOURCES)
			continue;
		ratio_series(b, c, CFG_PC_SRC, CFG_PC, ratio);
		for (int r = 0; r < b->rounds; r++)
			net[r] = run[CFG_PC_SRC].ns[r] - run[CFG_BARE].ns[r];
		printf("| %s | %s | %s / %s%s | %s | %s | %s | %s | %s |\n", classes[c].name,
		       classes[c].what, verdict_name(run[CFG_PC_SRC].retval),
		       verdict_name(run[CFG_PC].retval),
		       run[CFG_PC_SRC].bad_retval ? " (unstable!)" : "",
		       fmt_summary(s1, sizeof(s1), summarize(run[CFG_BARE].ns, b->rounds), 1),
		       fmt_summary(s2, sizeof(s2), summarize(run[CFG_PC_SRC].ns, b->rounds), 1),
		       fmt_summary(s3, sizeof(s3), summarize(run[CFG_PC].ns, b->rounds), 1),
		       fmt_summary(s4, sizeof(s4), summarize(ratio, b->rounds), 2),
		       fmt_summary(s5, sizeof(s5), summarize(net, b->rounds), 1));
	}
	printf("\n");
}

static void report(const struct class_bench *b, const char *xf_name, const char *xf_why)
{
	double ratio[MAX_ROUNDS], per_class[N_CLASSES], geo[MAX_ROUNDS], geo_all[MAX_ROUNDS];
	char s1[64], s2[64], s3[64], s4[64], s5[64], s6[64], s7[64];
	int shared = 0, shared_idx[N_CLASSES], n_ports = 0;

	printf("Nanoseconds per packet as BPF_PROG_TEST_RUN measures it (repeat %u, mean of %d "
	       "runs per round), %d rounds, configurations interleaved within each round. "
	       "Cells: median (min-max) over rounds. Ratios are taken per round between runs "
	       "made side by side, then summarised. Bare = a program that only returns "
	       "portcullis' verdict for the class. portcullis: the xdp-filter equivalent "
	       "(`established off`, `scan-detect off`); + scan-detect: `scan-detect ports 20 "
	       "window 10s ban 10m`; defaults: that plus `established socket`, i.e. the "
	       "contract's defaults with the same ports. Ratios are for the xdp-filter "
	       "equivalent.\n\n",
	       b->repeat, b->calls, b->rounds);
	printf("xdp-filter: %s\n\n", b->have_xf ? xf_name : xf_why);
	printf("| class | packet | verdict pc / xf | bare ns | portcullis ns | + scan-detect ns | "
	       "defaults ns | xdp-filter ns | pc / bare | pc / xdp-filter |\n");
	printf("|---|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
	for (int c = 0; c < N_CLASSES; c++) {
		const struct run *run = b->runs[c];
		bool same;

		if (classes[c].table != TABLE_PORTS)
			continue;
		n_ports++;
		same = b->have_xf && run[CFG_XF].retval == run[CFG_PC].retval;

		ratio_series(b, c, CFG_PC, CFG_BARE, ratio);
		fmt_summary(s4, sizeof(s4), summarize(ratio, b->rounds), 2);
		if (b->have_xf) {
			ratio_series(b, c, CFG_PC, CFG_XF, ratio);
			fmt_summary(s5, sizeof(s5), summarize(ratio, b->rounds), 2);
			fmt_summary(s6, sizeof(s6), summarize(run[CFG_XF].ns, b->rounds), 1);
		} else {
			snprintf(s5, sizeof(s5), "n/a");
			snprintf(s6, sizeof(s6), "n/a");
		}
		if (same)
			shared_idx[shared++] = c;
		printf("| %s | %s | %s / %s%s | %s | %s | %s | %s | %s | %s | %s |\n",
		       classes[c].name, classes[c].what, verdict_name(run[CFG_PC].retval),
		       b->have_xf ? verdict_name(run[CFG_XF].retval) : "n/a",
		       run[CFG_PC].bad_retval || run[CFG_XF].bad_retval ? " (unstable!)" : "",
		       fmt_summary(s1, sizeof(s1), summarize(run[CFG_BARE].ns, b->rounds), 1),
		       fmt_summary(s2, sizeof(s2), summarize(run[CFG_PC].ns, b->rounds), 1),
		       fmt_summary(s3, sizeof(s3), summarize(run[CFG_PC_SCAN].ns, b->rounds), 1),
		       fmt_summary(s7, sizeof(s7), summarize(run[CFG_PC_DEF].ns, b->rounds), 1), s6,
		       s4, s5);
	}
	printf("\n");

	if (b->have_xf) {
		for (int r = 0; r < b->rounds; r++) {
			for (int i = 0; i < shared; i++)
				per_class[i] = b->runs[shared_idx[i]][CFG_PC].ns[r] /
					       b->runs[shared_idx[i]][CFG_XF].ns[r];
			geo[r] = geomean(per_class, shared);
			for (int c = 0, i = 0; c < N_CLASSES; c++)
				if (classes[c].table == TABLE_PORTS)
					per_class[i++] =
					    b->runs[c][CFG_PC].ns[r] / b->runs[c][CFG_XF].ns[r];
			geo_all[r] = geomean(per_class, n_ports);
		}
		struct summary g = summarize(geo, b->rounds);

		printf("Geometric mean of portcullis / xdp-filter over the %d classes where both "
		       "give the same verdict: **%s**; over all %d classes: %s. Target <= 0.4: "
		       "**%s**.\n\n",
		       shared, fmt_summary(s1, sizeof(s1), g, 3), n_ports,
		       fmt_summary(s2, sizeof(s2), summarize(geo_all, b->rounds), 3),
		       g.median <= 0.4 ? "met" : "missed");
	} else {
		printf("Geometric mean of portcullis / xdp-filter: n/a (%s). Target <= 0.4: "
		       "**not measured**.\n\n",
		       xf_why);
	}

	if (b->have_cand)
		report_candidate(b);
	report_sources(b);

	ratio_series(b, 0, CFG_PC, CFG_BARE, ratio);
	struct summary fast = summarize(ratio, b->rounds);
	double net[MAX_ROUNDS];

	for (int r = 0; r < b->rounds; r++)
		net[r] = b->runs[0][CFG_PC].ns[r] - b->runs[0][CFG_BARE].ns[r];
	printf("Allowed fast path (%s) / bare: **%s**, i.e. %s ns per packet above the floor. "
	       "Target <= 2x: **%s**.\n\n",
	       classes[0].name, fmt_summary(s1, sizeof(s1), fast, 2),
	       fmt_summary(s2, sizeof(s2), summarize(net, b->rounds), 1),
	       fast.median <= 2 ? "met" : "missed");
}

int bench_classes(int argc, char **argv)
{
	static struct class_bench b;
	struct portcullis_bpf *pc = NULL, *pc_scan = NULL, *pc_def = NULL, *pc_src = NULL;
	const char *xf_mode = "auto", *xf_why = "not loaded", *raw_path = NULL, *cand_path = NULL;
	struct bpf_object *cand = NULL;
	struct bare_bpf *bare = NULL;
	char xf_name[128] = "";
	FILE *raw = NULL;
	int opt, err = 1;

	b.rounds = 5;
	b.repeat = 1000000;
	b.calls = 3;
	while ((opt = getopt(argc, argv, "r:n:k:x:X:B:o:")) != -1) {
		switch (opt) {
		case 'r':
			b.rounds = atoi(optarg);
			break;
		case 'n':
			b.repeat = strtoul(optarg, NULL, 0);
			break;
		case 'k':
			b.calls = atoi(optarg);
			break;
		case 'x':
			xf_mode = optarg;
			break;
		case 'X':
			xf_why = optarg;
			break;
		case 'B':
			cand_path = optarg;
			break;
		case 'o':
			raw_path = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
	if (b.rounds < 1 || b.rounds > MAX_ROUNDS || !b.repeat || b.calls < 1) {
		usage();
		return 2;
	}

	pc = portcullis_bpf__open_and_load();
	pc_scan = portcullis_bpf__open_and_load();
	pc_def = portcullis_bpf__open_and_load();
	pc_src = portcullis_bpf__open_and_load();
	bare = bare_bpf__open_and_load();
	if (!pc || !pc_scan || !pc_def || !pc_src || !bare) {
		fprintf(stderr, "pcbench: cannot load the BPF programs: %s\n", strerror(errno));
		goto cleanup;
	}
	if (portcullis_configure(pc->obj, PC_ESTABLISHED_OFF, false, 0) ||
	    portcullis_configure(pc_scan->obj, PC_ESTABLISHED_OFF, true, 0) ||
	    portcullis_configure(pc_def->obj, PC_ESTABLISHED_SOCKET, true, 0) ||
	    portcullis_configure_sources(pc_src->obj)) {
		fprintf(stderr, "pcbench: cannot configure portcullis\n");
		goto cleanup;
	}
	b.prog_fd[CFG_PC] = bpf_program__fd(pc->progs.portcullis_xdp);
	b.prog_fd[CFG_PC_SCAN] = bpf_program__fd(pc_scan->progs.portcullis_xdp);
	b.prog_fd[CFG_PC_DEF] = bpf_program__fd(pc_def->progs.portcullis_xdp);
	b.prog_fd[CFG_PC_SRC] = bpf_program__fd(pc_src->progs.portcullis_xdp);
	b.bare_fd[0] = bpf_program__fd(bare->progs.bare_pass);
	b.bare_fd[1] = bpf_program__fd(bare->progs.bare_drop);
	b.prog_fd[CFG_XF] = -1;
	if (!strcmp(xf_mode, "auto")) {
		b.prog_fd[CFG_XF] = find_prog("xdpfilt_", xf_name, sizeof(xf_name));
		if (b.prog_fd[CFG_XF] < 0)
			xf_why = "no xdpfilt_* XDP program is loaded";
	} else if (strcmp(xf_mode, "none")) {
		b.prog_fd[CFG_XF] = prog_by_id(strtoul(xf_mode, NULL, 0), xf_name, sizeof(xf_name));
		if (b.prog_fd[CFG_XF] < 0)
			xf_why = "the given xdp-filter program id is not loaded";
	}
	b.have_xf = b.prog_fd[CFG_XF] >= 0;
	if (cand_path) {
		b.prog_fd[CFG_CAND] = load_candidate(cand_path, POLICY_XF, &cand);
		if (b.prog_fd[CFG_CAND] < 0)
			goto cleanup;
		b.have_cand = true;
	}
	for (int c = 0; c < N_CLASSES; c++)
		packet_build(&b.frames[c], &classes[c].spec);

	if (raw_path) {
		raw = fopen(raw_path, "w");
		if (!raw) {
			fprintf(stderr, "pcbench: %s: %s\n", raw_path, strerror(errno));
			goto cleanup;
		}
	}
	pin_cpu(sysconf(_SC_NPROCESSORS_ONLN) - 1);
	if (measure(&b, raw))
		goto cleanup;
	report(&b, xf_name, xf_why);
	err = 0;
cleanup:
	if (raw)
		fclose(raw);
	if (b.have_xf)
		close(b.prog_fd[CFG_XF]);
	bpf_object__close(cand);
	bare_bpf__destroy(bare);
	portcullis_bpf__destroy(pc_src);
	portcullis_bpf__destroy(pc_def);
	portcullis_bpf__destroy(pc_scan);
	portcullis_bpf__destroy(pc);
	return err;
}
