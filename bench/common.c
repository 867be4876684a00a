// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Statistics, the shared portcullis policy, and small system helpers. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench.h"
#include "bans.h"
#include "sources.h"

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct summary summarize(const double *values, int n)
{
	double sorted[MAX_ROUNDS];
	struct summary s = {0, 0, 0};

	if (n <= 0)
		return s;
	memcpy(sorted, values, n * sizeof(*values));
	qsort(sorted, n, sizeof(*sorted), compare_double);
	s.min = sorted[0];
	s.max = sorted[n - 1];
	s.median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
	return s;
}

const char *fmt_summary(char *buf, size_t size, struct summary s, int decimals)
{
	snprintf(buf, size, "%.*f (%.*f-%.*f)", decimals, s.median, decimals, s.min, decimals,
		 s.max);
	return buf;
}

#define EXTRA_DENIED 1000

/* A manual ban of 198.18.0.66, for the banned-source class. */
static int ban_one(const struct pc_maps *maps)
{
	struct pc_ban ban = {.expires_ns = PC_BAN_FOREVER, .reason = PC_BAN_MANUAL};
	struct pc_addr_key key;
	__u8 addr[16] = {};
	bool replaced;

	inet_pton(AF_INET, "198.18.0.66", addr);
	pc_addr_key_make(&key, AF_INET, addr, 64);
	ban.created_ns = pc_now_ns();
	return pc_bans_add(maps, &key, &ban, &replaced);
}

/* The source trie of rule set 0: see portcullis_configure_sources(). */
static int install_sources(const struct pc_maps *maps)
{
	static struct pc_source_entry lists[EXTRA_DENIED + 3];
	static struct pc_source_hint hint;
	struct pc_source_key port_key;
	__u64 *source24;
	__u8 addr[16] = {};
	size_t n = 0;
	int trie, err;

	inet_pton(AF_INET, "198.19.0.0", addr);
	pc_source_key_make(&lists[n].key, PC_SRC_SOURCE, 0, AF_INET, addr, 17);
	lists[n++].flags = PC_SRC_F_DENY;
	for (int i = 0; i < EXTRA_DENIED; i++) {
		addr[2] = 1 + i / 250;
		addr[3] = 1 + i % 250;
		pc_source_key_make(&lists[n].key, PC_SRC_SOURCE, 0, AF_INET, addr, 32);
		lists[n++].flags = PC_SRC_F_DENY;
	}
	inet_pton(AF_INET6, "2001:2:0:ff00::", addr);
	pc_source_key_make(&lists[n].key, PC_SRC_SOURCE, 0, AF_INET6, addr, 56);
	lists[n++].flags = PC_SRC_F_DENY;
	memset(addr, 0, sizeof(addr));
	inet_pton(AF_INET, "198.19.200.0", addr);
	pc_source_key_make(&lists[n].key, PC_SRC_SOURCE, 0, AF_INET, addr, 24);
	lists[n++].flags = PC_SRC_F_TRUST;
	inet_pton(AF_INET, "198.19.201.0", addr);
	pc_source_key_make(&port_key, PC_SRC_PORT, 1, AF_INET, addr, 24);

	trie = pc_sources_create();
	if (trie < 0)
		return trie;
	source24 = pc_source24_new();
	err = source24 ? pc_sources_add_lists(trie, &hint, source24, lists, n) : -ENOMEM;
	if (!err)
		err = pc_sources_add(trie, &hint, &port_key, 1);
	if (!err)
		err = pc_sources_install(maps, 0, trie, &hint, source24);
	close(trie);
	free(source24);
	return err ? err : ban_one(maps);
}

static int configure(struct bpf_object *obj, __u32 established, bool scan_detect,
		     __u16 tcp_range_hi, bool sources)
{
	struct pc_config cfg = {
	    .flags = scan_detect ? PC_CFG_SCAN_DETECT : 0,
	    .established = established,
	    .ephemeral_lo = 32768,
	    .ephemeral_hi = 60999,
	    .generation = 1,
	    .scan_ports = 20,
	    .scan_ipv6_prefix = 64,
	    .scan_window_ns = 10ULL * 1000000000,
	    .ban_ns = 600ULL * 1000000000,
	};
	struct pc_port_table *table;
	struct pc_maps maps;
	int err;

	err = pc_maps_from_object(obj, &maps);
	if (err)
		return err;
	table = pc_port_table_new(&maps);
	if (!table)
		return -ENOMEM;
	if (tcp_range_hi) {
		pc_port_table_set(table, PC_PROTO_TCP, 1, tcp_range_hi, PC_PORT_ALLOWED);
	} else {
		pc_port_table_set(table, PC_PROTO_TCP, 22, 22, PC_PORT_ALLOWED);
		pc_port_table_set(table, PC_PROTO_TCP, 80, 80, PC_PORT_ALLOWED);
		pc_port_table_set(table, PC_PROTO_TCP, 443, 443, PC_PORT_ALLOWED);
	}
	pc_port_table_set(table, PC_PROTO_UDP, 53, 53, PC_PORT_ALLOWED);
	if (sources) {
		pc_port_table_set(table, PC_PROTO_TCP, 2222, 2222, PC_PORT_SOURCE_LIMITED);
		table->rules[PC_PROTO_TCP * PC_PORTS + 2222].source_list = 1;
		cfg.flags |= PC_CFG_HAVE_DENY | PC_CFG_HAVE_TRUST;
		err = install_sources(&maps);
		if (err)
			goto out;
	}
	err = pc_maps_write_config(&maps, 0, &cfg);
	if (!err)
		err = pc_maps_write_ports(&maps, 0, table);
	if (!err)
		err = pc_maps_activate(&maps, 0);
out:
	pc_port_table_free(table);
	return err;
}

int portcullis_configure(struct bpf_object *obj, __u32 established, bool scan_detect,
			 __u16 tcp_range_hi)
{
	return configure(obj, established, scan_detect, tcp_range_hi, false);
}

int portcullis_configure_sources(struct bpf_object *obj)
{
	return configure(obj, PC_ESTABLISHED_OFF, false, 0, true);
}

long long object_memlock(struct bpf_object *obj)
{
	struct bpf_map *map;
	long long total = 0;

	bpf_object__for_each_map(map, obj)
	{
		long long bytes = pc_map_memlock(bpf_map__fd(map));

		if (bytes > 0)
			total += bytes;
	}
	return total;
}

void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		fprintf(stderr, "pcbench: warning: cannot pin to CPU %d: %s\n", cpu,
			strerror(errno));
}

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Another build of the data path, configured like the built-in one. */
int load_candidate(const char *path, enum bench_policy policy, struct bpf_object **obj)
{
	struct bpf_program *prog;
	int err;

	*obj = bpf_object__open_file(path, NULL);
	if (!*obj) {
		err = -errno;
		fprintf(stderr, "pcbench: %s: %s\n", path, strerror(-err));
		return err;
	}
	err = bpf_object__load(*obj);
	if (!err)
		err = policy == POLICY_SOURCES
			      ? portcullis_configure_sources(*obj)
			      : portcullis_configure(*obj,
						     policy == POLICY_DEFAULTS ? PC_ESTABLISHED_SOCKET
									       : PC_ESTABLISHED_OFF,
						     policy == POLICY_DEFAULTS ||
							     policy == POLICY_SCAN,
						     0);
	prog = bpf_object__find_program_by_name(*obj, "portcullis_xdp");
	if (err || !prog) {
		fprintf(stderr, "pcbench: %s: cannot load and configure portcullis_xdp: %s\n", path,
			strerror(err ? -err : ENOENT));
		return err ? err : -ENOENT;
	}
	return bpf_program__fd(prog);
}

double test_run_ns(int prog_fd, const struct frame *frame, __u32 repeat, int calls, int *retval)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame->data, .data_size_in = frame->len,
		    .repeat = repeat);
	double total = 0;

	for (int i = 0; i < calls; i++) {
		if (bpf_prog_test_run_opts(prog_fd, &opts))
			return -errno;
		/* Truncated to whole ns by the kernel: +0.5 removes the bias. */
		total += opts.duration + 0.5;
	}
	*retval = opts.retval;
	return total / calls;
}

int parse_curve_opts(int argc, char **argv, const char *name, struct curve_opts *o)
{
	int opt;

	*o = (struct curve_opts){ .rounds = 5, .calls = 3, .repeat = 1000000 };
	while ((opt = getopt(argc, argv, "r:n:k:o:")) != -1) {
		switch (opt) {
		case 'r':
			o->rounds = atoi(optarg);
			break;
		case 'n':
			o->repeat = strtoul(optarg, NULL, 0);
			break;
		case 'k':
			o->calls = atoi(optarg);
			break;
		case 'o':
			o->data_path = optarg;
			break;
		default:
			fprintf(stderr, "usage: pcbench %s [-r ROUNDS] [-n REPEAT] [-k CALLS] [-o DATA]\n",
				name);
			return -1;
		}
	}
	if (o->rounds < 1 || o->rounds > MAX_ROUNDS || !o->repeat || o->calls < 1)
		return -1;
	return 0;
}
