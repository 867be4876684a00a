// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A/B of data path builds: is this change faster, and by how many
 * nanoseconds? Every build is loaded with the same policy and run on the
 * same frames next to the bare floor, the builds' order rotating from round
 * to round so that neither always runs first after a noisy moment. Many
 * short rounds and per-round differences make a few-nanosecond change
 * visible on a machine whose absolute figures drift by more than that.
 *
 *   pcbench ab [-r ROUNDS] [-n REPEAT] [-k CALLS] [-d|-s|-S] [-P N] A.bpf.o B.bpf.o ...
 *
 * -P N gives every build after the first N prefix bans (/30s in
 * 198.19.0.0/17, which no class's source is in), so "A.bpf.o A.bpf.o"
 * prices the prefix-ban lookup on the same build.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "bans.h"
#include "bare.skel.h"

#define MAX_BUILDS 8

/* The fast path's classes: what a flood or normal traffic looks like. */
static const struct {
	const char *name;
	struct packet_spec spec;
} ab_classes[] = {
    {"ipv4-syn-allowed", {4, 0, L4_TCP, 80, TCP_SYN, 0, {}, NULL}},
    {"ipv4-syn-denied", {4, 0, L4_TCP, 8080, TCP_SYN, 0, {}, NULL}},
    {"ipv6-syn-denied", {6, 0, L4_TCP, 8080, TCP_SYN, 0, {}, NULL}},
    {"ipv4-udp-allowed", {4, 0, L4_UDP, 53, 0, 32, {}, NULL}},
    /* With -s, every list is in 198.19.0.0/16: a source in no list but in
     * that /16, and tcp/2222, open to 198.19.201.0/24 only: a hit and a miss. */
    {"ipv4-syn-allowed-near", {4, 0, L4_TCP, 80, TCP_SYN, 0, {}, "198.19.250.1"}},
    {"ipv4-syn-2222", {4, 0, L4_TCP, 2222, TCP_SYN, 0, {}, "198.19.201.1"}},
    {"ipv4-syn-2222-other", {4, 0, L4_TCP, 2222, TCP_SYN, 0, {}, "198.18.1.1"}},
    /* With -s, a banned source that keeps sending (the manual ban of the
     * class table): to an allowed port, so only the ban drops it. */
    {"ipv4-syn-banned", {4, 0, L4_TCP, 80, TCP_SYN, 0, {}, "198.18.0.66"}},
};

#define N_AB_CLASSES (int)(sizeof(ab_classes) / sizeof(ab_classes[0]))

static const char *const policy_names[] = {
	[POLICY_XF] = "the xdp-filter equivalent",
	[POLICY_DEFAULTS] = "the contract's defaults",
	[POLICY_SOURCES] = "the xdp-filter equivalent plus source lists and a ban",
	[POLICY_SCAN] = "the xdp-filter equivalent plus scan-detect",
};

struct ab {
	int rounds, calls, builds;
	enum bench_policy policy;
	__u32 repeat;
	int fd[MAX_BUILDS + 1]; /* [0] is the bare floor */
	const char *path[MAX_BUILDS + 1];
	double ns[N_AB_CLASSES][MAX_BUILDS + 1][MAX_ROUNDS];
	int retval[N_AB_CLASSES][MAX_BUILDS + 1];
};

/* N manual prefix bans in 198.19.0.0/17 into OBJ's maps. */
static int add_prefix_bans(struct bpf_object *obj, int n)
{
	struct pc_ban_entry *entries = calloc(n, sizeof(*entries));
	size_t added, failed;
	struct pc_maps maps;
	int err = pc_maps_from_object(obj, &maps);

	for (int i = 0; i < n && !err && entries; i++) {
		__u32 addr = htonl(0xc6130000U | (__u32)(i % 32768) << 2); /* 198.19.x.y/30 */

		pc_ban_entry_make(&entries[i], AF_INET, (const __u8 *)&addr, 30, 64);
		entries[i].ban.reason = PC_BAN_MANUAL;
		entries[i].ban.expires_ns = PC_BAN_FOREVER;
	}
	if (!err)
		err = entries ? pc_bans_add_many(&maps, entries, n, &added, &failed) : -ENOMEM;
	free(entries);
	return err;
}

static int measure(struct ab *ab)
{
	struct frame frames[N_AB_CLASSES];
	int n = ab->builds + 1;

	for (int c = 0; c < N_AB_CLASSES; c++)
		packet_build(&frames[c], &ab_classes[c].spec);
	for (int r = 0; r < ab->rounds; r++) {
		for (int c = 0; c < N_AB_CLASSES; c++) {
			for (int i = 0; i < n; i++) {
				int b = (i + r) % n, retval;
				double ns = test_run_ns(ab->fd[b], &frames[c], ab->repeat, ab->calls,
							&retval);

				if (ns < 0) {
					fprintf(stderr, "pcbench: test run of %s: %s\n", ab->path[b],
						strerror((int)-ns));
					return -1;
				}
				ab->ns[c][b][r] = ns;
				ab->retval[c][b] = retval;
			}
		}
		fprintf(stderr, "\r  round %d/%d", r + 1, ab->rounds);
	}
	fprintf(stderr, "\n");
	return 0;
}

static void report(const struct ab *ab)
{
	char s1[64], s2[64], s3[64];
	double diff[MAX_ROUNDS];

	printf("A/B of data path builds (%s): BPF_PROG_TEST_RUN, repeat %u, mean of %d runs per "
	       "round, %d rounds, builds interleaved and rotated. Cells: median (min-max) over "
	       "rounds; \"vs first\" is the per-round difference from %s in ns, negative = "
	       "faster.\n\n",
	       policy_names[ab->policy], ab->repeat,
	       ab->calls, ab->rounds, ab->path[1]);
	for (int c = 0; c < N_AB_CLASSES; c++) {
		printf("%s\n\n| build | verdict | ns | ns above bare | vs first |\n"
		       "|---|---|---:|---:|---:|\n",
		       ab_classes[c].name);
		for (int b = 0; b <= ab->builds; b++) {
			for (int r = 0; r < ab->rounds; r++)
				diff[r] = ab->ns[c][b][r] - ab->ns[c][0][r];
			fmt_summary(s2, sizeof(s2), summarize(diff, ab->rounds), 1);
			for (int r = 0; r < ab->rounds; r++)
				diff[r] = ab->ns[c][b][r] - ab->ns[c][1][r];
			fmt_summary(s3, sizeof(s3), summarize(diff, ab->rounds), 1);
			printf("| %s | %s | %s | %s | %s |\n", ab->path[b],
			       ab->retval[c][b] == XDP_DROP ? "drop" : "pass",
			       fmt_summary(s1, sizeof(s1), summarize(ab->ns[c][b], ab->rounds), 1),
			       b ? s2 : "", b > 1 ? s3 : "");
		}
		printf("\n");
	}
}

/*
 * A build named "POLICY=FILE" runs under its own policy (xf, defaults,
 * sources or scan), so one run can set a build with scan-detect on next to
 * the same build with it off: what the detector adds, interleaved.
 */
static const char *build_policy(const char *arg, enum bench_policy *policy)
{
	static const char *const names[] = {
		[POLICY_XF] = "xf=",
		[POLICY_DEFAULTS] = "defaults=",
		[POLICY_SOURCES] = "sources=",
		[POLICY_SCAN] = "scan=",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strncmp(arg, names[i], strlen(names[i]))) {
			*policy = (enum bench_policy)i;
			return arg + strlen(names[i]);
		}
	}
	return arg;
}

int bench_ab(int argc, char **argv)
{
	static struct ab ab;
	struct bpf_object *objs[MAX_BUILDS] = {};
	struct bare_bpf *bare = NULL;
	int opt, err = 1, prefix_bans = 0;

	ab.rounds = 21;
	ab.calls = 1;
	ab.repeat = 1000000;
	while ((opt = getopt(argc, argv, "r:n:k:dsSP:")) != -1) {
		switch (opt) {
		case 'P':
			prefix_bans = atoi(optarg);
			break;
		case 'd':
			ab.policy = POLICY_DEFAULTS;
			break;
		case 's':
			ab.policy = POLICY_SOURCES;
			break;
		case 'S':
			ab.policy = POLICY_SCAN;
			break;
		case 'r':
			ab.rounds = atoi(optarg);
			break;
		case 'n':
			ab.repeat = strtoul(optarg, NULL, 0);
			break;
		case 'k':
			ab.calls = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	ab.builds = argc - optind;
	if (ab.rounds < 1 || ab.rounds > MAX_ROUNDS || !ab.repeat || ab.calls < 1 ||
	    ab.builds < 1 || ab.builds > MAX_BUILDS)
		goto usage;

	bare = bare_bpf__open_and_load();
	if (!bare) {
		fprintf(stderr, "pcbench: cannot load the bare program: %s\n", strerror(errno));
		return 1;
	}
	/* The drop floor: what the filter's classes mostly cost beyond. */
	ab.fd[0] = bpf_program__fd(bare->progs.bare_drop);
	ab.path[0] = "bare XDP_DROP";
	for (int b = 0; b < ab.builds; b++) {
		enum bench_policy policy = ab.policy;
		const char *path = build_policy(argv[optind + b], &policy);

		ab.path[b + 1] = argv[optind + b];
		ab.fd[b + 1] = load_candidate(path, policy, &objs[b]);
		if (ab.fd[b + 1] < 0)
			goto cleanup;
		if (b && prefix_bans > 0 && add_prefix_bans(objs[b], prefix_bans)) {
			fprintf(stderr, "pcbench: cannot add %d prefix bans\n", prefix_bans);
			goto cleanup;
		}
	}
	pin_cpu(sysconf(_SC_NPROCESSORS_ONLN) - 1);
	if (measure(&ab))
		goto cleanup;
	report(&ab);
	err = 0;
cleanup:
	for (int b = 0; b < ab.builds; b++)
		bpf_object__close(objs[b]);
	bare_bpf__destroy(bare);
	return err;
usage:
	fprintf(stderr,
		"usage: pcbench ab [-r ROUNDS] [-n REPEAT] [-k CALLS] [-d|-s|-S] [-P N] A.bpf.o "
		"[B.bpf.o ...]\n"
		"  runs up to %d builds of portcullis.bpf.o side by side (the first is the\n"
		"  reference) with the xdp-filter equivalent policy, next to a bare XDP_DROP;\n"
		"  -d: the contract's defaults instead (scan-detect on, established socket);\n"
		"  -s: that policy plus the class table's source lists and ban (the probes'\n"
		"  sources are in no list); -S: the xdp-filter equivalent plus scan-detect\n"
		"  (a denied class repeats one source and port: the detector's commonest\n"
		"  flood); -P N: N prefix bans in the builds after the first;\n"
		"  a build given as xf=|defaults=|sources=|scan=FILE runs under that policy\n",
		MAX_BUILDS);
	return 2;
}
