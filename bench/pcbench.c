// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * pcbench: the benchmark harness behind `make bench`. Each subcommand
 * drives BPF itself and prints a Markdown section on stdout; bench/run.sh
 * sets up namespaces and competitors and stitches the sections together.
 *
 *   pcbench classes  per-packet cost by class (BPF_PROG_TEST_RUN)
 *   pcbench scaling  cost and map memory vs number of allowed ports
 *   pcbench live     one live-frames flood across a veth, receiver rate
 *   pcbench prefixes cost and memory vs number of source-list prefixes
 *   pcbench ab       A/B of data path builds, nanoseconds apart
 */
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "bench.h"

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: pcbench classes|scaling|live|prefixes|ab [OPTIONS]\n");
		return 2;
	}
	libbpf_set_print(quiet_print);
	if (!strcmp(argv[1], "classes"))
		return bench_classes(argc - 1, argv + 1);
	if (!strcmp(argv[1], "scaling"))
		return bench_scaling(argc - 1, argv + 1);
	if (!strcmp(argv[1], "live"))
		return bench_live(argc - 1, argv + 1);
	if (!strcmp(argv[1], "prefixes"))
		return bench_prefixes(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ab"))
		return bench_ab(argc - 1, argv + 1);
	fprintf(stderr, "pcbench: unknown subcommand '%s'\n", argv[1]);
	return 2;
}
