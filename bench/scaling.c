// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Cost vs number of allowed ports. One portcullis instance per point
 * (tcp 1..N allowed), all loaded at once so that the rounds interleave the
 * points; each round also runs the bare floor. The map memory of each
 * instance comes from the kernel's own memlock accounting.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "bare.skel.h"
#include "portcullis.skel.h"

static const __u16 points[] = { 1, 10, 100, 1000, 10000, 30000, 65535 };

#define N_POINTS (int)(sizeof(points) / sizeof(points[0]))

/* Packets per point: SYN to the highest allowed port, SYN to the next (denied) one. */
enum probe { PROBE_ALLOWED, PROBE_DENIED, N_PROBES };

struct point_runs {
	double ns[N_PROBES][MAX_ROUNDS];
	double bare_ns[MAX_ROUNDS];
	double ref_ns[MAX_ROUNDS]; /* the 1-port point's allowed probe, run just before */
	long long memlock;
};

static void build_probe(struct frame *frame, __u16 port)
{
	struct packet_spec spec = { 4, 0, L4_TCP, port, TCP_SYN, 0, {}, NULL };

	packet_build(frame, &spec);
}

/* Where the memory goes: every map of one instance, in declaration order. */
static void print_map_memory(struct bpf_object *obj)
{
	struct bpf_map *map;

	printf("\nMap memory by map (identical at every point):\n\n| map | type | entries | "
	       "memlock |\n|---|---|---:|---:|\n");
	bpf_object__for_each_map(map, obj)
	{
		long long bytes = pc_map_memlock(bpf_map__fd(map));

		printf("| %s | %s | %u | %.2f MiB |\n", bpf_map__name(map),
		       libbpf_bpf_map_type_str(bpf_map__type(map)), bpf_map__max_entries(map),
		       bytes / 1048576.0);
	}
}

int bench_scaling(int argc, char **argv)
{
	static struct point_runs runs[N_POINTS];
	struct portcullis_bpf *pc[N_POINTS] = {};
	struct frame frames[N_POINTS][N_PROBES];
	struct bare_bpf *bare = NULL;
	struct curve_opts o;
	int err = 1, retval;
	char s1[64], s2[64], s3[64], s4[64];
	FILE *data = NULL;

	if (parse_curve_opts(argc, argv, "scaling", &o))
		return 2;

	bare = bare_bpf__open_and_load();
	if (!bare)
		goto load_error;
	for (int p = 0; p < N_POINTS; p++) {
		pc[p] = portcullis_bpf__open_and_load();
		if (!pc[p])
			goto load_error;
		if (portcullis_configure(pc[p]->obj, PC_ESTABLISHED_OFF, false, points[p])) {
			fprintf(stderr, "pcbench: cannot configure %u ports\n", points[p]);
			goto cleanup;
		}
		runs[p].memlock = object_memlock(pc[p]->obj);
		build_probe(&frames[p][PROBE_ALLOWED], points[p]);
		/* With all 65535 open there is no denied TCP port: probe port 0. */
		build_probe(&frames[p][PROBE_DENIED], points[p] < 65535 ? points[p] + 1 : 0);
	}

	pin_cpu(sysconf(_SC_NPROCESSORS_ONLN) - 1);
	for (int r = 0; r < o.rounds; r++) {
		for (int k = 0; k < N_POINTS; k++) {
			int p = (k + r) % N_POINTS;
			int fd = bpf_program__fd(pc[p]->progs.portcullis_xdp);

			/* The reference right next to the point: the machine's mood
			 * drifts over a round, and a ratio of neighbours cancels it. */
			runs[p].ref_ns[r] = test_run_ns(bpf_program__fd(pc[0]->progs.portcullis_xdp),
							&frames[0][PROBE_ALLOWED], o.repeat, o.calls,
							&retval);

			for (int probe = 0; probe < N_PROBES; probe++) {
				double ns = test_run_ns(fd, &frames[p][probe], o.repeat, o.calls,
							&retval);

				if (ns < 0 ||
				    retval != (probe == PROBE_ALLOWED ? XDP_PASS : XDP_DROP)) {
					fprintf(stderr,
						"pcbench: %u ports, probe %d: %s, verdict %d\n",
						points[p], probe, ns < 0 ? strerror(-ns) : "ok",
						retval);
					goto cleanup;
				}
				runs[p].ns[probe][r] = ns;
			}
			runs[p].bare_ns[r] =
				test_run_ns(bpf_program__fd(bare->progs.bare_pass),
					    &frames[p][PROBE_ALLOWED], o.repeat, o.calls, &retval);
		}
	}

	if (o.data_path) {
		data = fopen(o.data_path, "w");
		if (!data) {
			fprintf(stderr, "pcbench: %s: %s\n", o.data_path, strerror(errno));
			goto cleanup;
		}
		fprintf(data, "# ports allowed_med min max denied_med min max bare_med min max "
			      "memlock_bytes\n");
	}
	printf("Nanoseconds per packet as BPF_PROG_TEST_RUN measures it (repeat %u, mean of "
	       "%d runs per round), %d rounds, the points interleaved. "
	       "Allowed probe: SYN to tcp/N (the highest open port); denied probe: SYN to "
	       "tcp/N+1 (tcp/0 at 65,535). \"vs 1 port\": the allowed probe over the 1-port "
	       "instance's, run just before it in the same round. Map memory: sum of the "
	       "kernel's memlock of every map of the instance.\n\n",
	       o.repeat, o.calls, o.rounds);
	printf("| allowed tcp ports | allowed ns | denied ns | bare ns | allowed vs 1 port | "
	       "map memory |\n|---:|---:|---:|---:|---:|---:|\n");
	double worst = 0;
	for (int p = 0; p < N_POINTS; p++) {
		struct summary allowed = summarize(runs[p].ns[PROBE_ALLOWED], o.rounds);
		struct summary denied = summarize(runs[p].ns[PROBE_DENIED], o.rounds);
		struct summary bare_s = summarize(runs[p].bare_ns, o.rounds);
		double rel[MAX_ROUNDS];

		for (int r = 0; r < o.rounds; r++)
			rel[r] = runs[p].ns[PROBE_ALLOWED][r] / runs[p].ref_ns[r];
		struct summary rel_s = summarize(rel, o.rounds);

		double deviation = rel_s.median > 1 ? rel_s.median : 1 / rel_s.median;

		if (deviation > worst)
			worst = deviation;
		printf("| %u | %s | %s | %s | %s | %.2f MiB |\n", points[p],
		       fmt_summary(s1, sizeof(s1), allowed, 1),
		       fmt_summary(s2, sizeof(s2), denied, 1),
		       fmt_summary(s3, sizeof(s3), bare_s, 1),
		       fmt_summary(s4, sizeof(s4), rel_s, 3), runs[p].memlock / 1048576.0);
		if (data)
			fprintf(data, "%u %.3f %.3f %.3f %.3f %.3f %.3f %.3f %.3f %.3f %lld\n",
				points[p], allowed.median, allowed.min, allowed.max, denied.median,
				denied.min, denied.max, bare_s.median, bare_s.min, bare_s.max,
				runs[p].memlock);
	}
	print_map_memory(pc[0]->obj);
	printf("\nLargest median deviation of the allowed-port cost from the 1-port point: "
	       "%.1f%%. Target: flat within 5%%: **%s**.\n\n",
	       (worst - 1) * 100, worst <= 1.05 ? "met" : "missed");
	err = 0;
	goto cleanup;

load_error:
	fprintf(stderr, "pcbench: cannot load the BPF programs: %s\n", strerror(errno));
cleanup:
	if (data)
		fclose(data);
	for (int p = 0; p < N_POINTS; p++)
		portcullis_bpf__destroy(pc[p]);
	bare_bpf__destroy(bare);
	return err;
}
