// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * pc_ruleset_commit() on a loaded program's maps: a commit that fails leaves
 * the old rules in force, all of them, so "the old rules stay in force"
 * (reload, run) is true. The fault is injected by handing the commit a
 * read-only descriptor of the meta map: it reads, but every write fails with
 * EPERM, as any map write can.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "testing.h"
#include "loader/apply.h"
#include "program.h"

static struct portcullis_bpf *skel;
static struct pc_maps maps;
static int prog_fd; /* loaded with the program, not run here */

static int parse(const char *text, struct pc_ruleset *rs)
{
	struct pc_error err = {};
	int ret = pc_config_parse("test.conf", text, strlen(text), rs, &err);

	if (ret)
		test_detail("config: %s", err.msg);
	return ret;
}

/* Parse TEXT and commit it through MAPS as GENERATION; returns the commit's result. */
static int commit(const struct pc_maps *through, const char *text, __u32 generation)
{
	struct pc_ruleset rs;
	int err = parse(text, &rs);

	if (!err)
		err = pc_ruleset_commit(through, &rs, generation);
	pc_ruleset_free(&rs);
	return err;
}

/* What a packet sees now: the active set's generation and its rule for tcp/PORT. */
static __u32 live_generation(void)
{
	struct pc_config cfg = {};
	__u32 set;

	if (pc_maps_active_set(&maps, &set) || pc_maps_read_config(&maps, set, &cfg))
		return (__u32)-1;
	return cfg.generation;
}

static bool live_tcp_open(__u16 port)
{
	struct pc_port_table *table = calloc(1, sizeof(*table));
	bool open = false;
	__u32 set;

	if (table && !pc_maps_active_set(&maps, &set) && !pc_maps_read_ports(&maps, set, table))
		open = table->rules[PC_PROTO_TCP * PC_PORTS + port].flags &
		       (PC_PORT_ALLOWED | PC_PORT_SOURCE_LIMITED);
	free(table);
	return open;
}

static __u32 next_source_list(void)
{
	struct pc_meta meta = {};
	__u32 zero = 0;

	bpf_map_lookup_elem(maps.meta, &zero, &meta);
	return meta.next_source_list;
}

/* A second descriptor of the meta map that can read but not write. */
static int read_only_meta(void)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	LIBBPF_OPTS(bpf_get_fd_by_id_opts, opts, .open_flags = BPF_F_RDONLY);

	if (bpf_obj_get_info_by_fd(maps.meta, &info, &len))
		return -errno;
	return bpf_map_get_fd_by_id_opts(info.id, &opts);
}

#define RULES_A "allow tcp 22 from 198.51.100.0/24\nallow tcp 23 from 192.0.2.0/24\nallow tcp 9000\n"
#define RULES_B "allow tcp 22 from 198.51.100.0/24\nallow tcp 9001\n"
#define RULES_C "allow tcp 22 from 198.51.100.0/24\nallow tcp 23 from 192.0.2.0/24\n" \
		"allow tcp 24 from 203.0.113.0/24\nallow tcp 9002\n"

static void check_a_in_force(void)
{
	CHECK_INT(live_generation(), 1);
	CHECK(live_tcp_open(9000), "tcp/9000 of the old rules is closed");
	CHECK(!live_tcp_open(9001) && !live_tcp_open(9002), "a port of the new rules is open");
	/* The old set's per-port lists 1 and 2 must not be handed out again. */
	CHECK(next_source_list() >= 3, "next list id %u reuses one of the old set",
	      next_source_list());
}

static void run_commit_faults(void)
{
	struct pc_maps faulty = maps;
	int err;

	test_begin("apply: a commit fills the inactive half and switches to it");
	CHECK_INT(commit(&maps, RULES_A, 1), 0);
	check_a_in_force();
	test_end();

	faulty.meta = read_only_meta();
	if (faulty.meta < 0) {
		test_skip("apply: a failed commit leaves the old rules in force",
			  "no read-only map descriptor (bpf_map_get_fd_by_id_opts)");
		return;
	}

	/* C needs more list ids than A: the id reservation before the switch fails. */
	test_begin("apply: a commit that fails before the switch leaves the old rules in force");
	err = commit(&faulty, RULES_C, 2);
	CHECK(err == -EPERM, "commit through a read-only meta map: expected -EPERM, got %d", err);
	check_a_in_force();
	test_end();

	/* B needs fewer ids than A: nothing to reserve, and handing back the
	 * surplus after the switch may fail without failing the commit. */
	test_begin("apply: a failure after the switch does not report the old rules in force");
	CHECK_INT(commit(&faulty, RULES_B, 2), 0);
	CHECK_INT(live_generation(), 2);
	CHECK(live_tcp_open(9001) && !live_tcp_open(9000), "rules B are not the ones in force");
	CHECK(next_source_list() >= 3, "the ids of A were handed back through a read-only map");
	test_end();

	test_begin("apply: the next commit hands back the ids the old set held");
	CHECK_INT(commit(&maps, RULES_B, 3), 0);
	CHECK_INT(live_generation(), 3);
	CHECK_INT(next_source_list(), 2);
	test_end();
	close(faulty.meta);
}

int main(void)
{
	int err;

	if (geteuid() != 0) {
		test_skip("apply", "needs root to load the BPF program");
		return 0;
	}
	err = test_program_load(&skel, &prog_fd, &maps);
	if (err) {
		test_begin("apply: load the program");
		test_detail("%s", strerror(-err));
		test_end();
	} else {
		run_commit_faults();
	}
	portcullis_bpf__destroy(skel);
	return test_exit_code();
}
