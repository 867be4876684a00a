/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Step 8's "limit" lines, part of test_verdict.c (included by it, and using
 * its harness): a table of packets in order, each with the verdict the
 * contract wants at the rate's edges, then a spoofed flood against a source
 * being limited and an honest one. Time is moved by ageing the buckets'
 * records (every tat_ns earlier by the step's AGE), never by sleeping; the
 * intervals are long, so that the real time the test takes (the coarse
 * clock runs on) is far inside every edge.
 *
 * Limits of rule set 0 (standard_ports() marks the ports):
 *   1: tcp 2022 rate 3/3000s          (a token every 1000 s, at most 3)
 *   2: udp 5353 rate 2/1000s burst 4  (a token every 500 s, at most 4)
 *   3: tcp 2023 rate 1/1000s burst 1
 *   4: tcp 2024, a token every nanosecond (--bench: always passes)
 */
#define LIMIT_TCP_2022 1
#define LIMIT_UDP_5353 2
#define LIMIT_TCP_2023 3
#define LIMIT_TCP_2024 4 /* for --bench: a token every nanosecond, never short */
#define NS(s)	       ((__u64)((s)*1e9))

static const struct {
	__u32 id, rate, burst;
	__u64 per_ns;
} test_limits[] = {
	{ LIMIT_TCP_2022, 3, 3, NS(3000) },
	{ LIMIT_UDP_5353, 2, 4, NS(1000) },
	{ LIMIT_TCP_2023, 1, 1, NS(1000) },
	{ LIMIT_TCP_2024, 1000000000, 1000000000, NS(1) },
};

static void limit_port(struct pc_port_table *table, enum pc_proto proto, __u16 port, __u16 id)
{
	pc_port_table_set(table, proto, port, port, PC_PORT_ALLOWED | PC_PORT_RATE_LIMITED);
	table->rules[proto * PC_PORTS + port].limit = id;
}

static void limited_ports(struct pc_port_table *table)
{
	limit_port(table, PC_PROTO_TCP, 2022, LIMIT_TCP_2022);
	limit_port(table, PC_PROTO_UDP, 5353, LIMIT_UDP_5353);
	limit_port(table, PC_PROTO_TCP, 2023, LIMIT_TCP_2023);
	limit_port(table, PC_PROTO_TCP, 2024, LIMIT_TCP_2024);
}

/* The buckets, written as the contract's N/DURATION burst M: no shared helper. */
static int write_limits(void)
{
	struct pc_limit limits[PC_LIMITS_MAX] = {};

	for (size_t i = 0; i < ARRAY_SIZE(test_limits); i++) {
		__u64 interval = test_limits[i].per_ns / test_limits[i].rate;

		limits[test_limits[i].id].interval_ns = interval;
		limits[test_limits[i].id].tolerance_ns = (test_limits[i].burst - 1) * interval;
	}
	return pc_maps_write_limits(&maps, 0, limits);
}

/* Every record of pc_rate AGE_NS older (AGE_NS 0: forget them all). */
static int rate_age(__u64 age_ns)
{
	struct pc_rate_bucket bucket;

	for (__u32 i = 0; i < PC_RATE_BUCKETS; i++) {
		if (bpf_map_lookup_elem(maps.rate, &i, &bucket))
			return -errno;
		for (int way = 0; way < PC_RATE_WAYS; way++) {
			if (!age_ns)
				memset(&bucket.way[way], 0, sizeof(bucket.way[way]));
			else
				bucket.way[way].tat_ns -= bucket.way[way].tat_ns > age_ns
								  ? age_ns
								  : bucket.way[way].tat_ns;
		}
		if (bpf_map_update_elem(maps.rate, &i, &bucket, BPF_ANY))
			return -errno;
	}
	return 0;
}

struct rate_step {
	const char *name;
	build_fn base;
	__u16 port;
	__u8 flags;	 /* TCP flags */
	const char *src; /* NULL: the template's 192.0.2.10 or 2001:db8::10 */
	int times;	 /* packets, each with WANT; 0 means 1 */
	double age;	 /* seconds the buckets age before the packets */
	bool lists_only; /* needs the exempt and trust lists */
	__u32 cfg_flags;
	struct expect want;
};

#define LIMITED DROPS_ON_PORT(PC_DROP_RATE_LIMITED)
#define SYNACK	.flags = TCP_SYN | TCP_ACK

/* In order: each step sees the buckets the steps before it left. */
static const struct rate_step rate_steps[] = {
	{ "tcp 2022 rate 3/3000s: 2 SYNs (N-1)", b_v4_tcp, 2022, SYN, .times = 2, ALLOWED },
	{ "ACKs are not counted", b_v4_tcp, 2022, ACK, .times = 5, ALLOWED },
	{ "SYN+ACKs are not counted", b_v4_tcp, 2022, SYNACK, .times = 3, ALLOWED },
	{ "3rd SYN (N): allowed", b_v4_tcp, 2022, SYN, ALLOWED },
	{ "4th SYN (N+1): rate-limited", b_v4_tcp, 2022, SYN, LIMITED },
	{ "5th and 6th SYN: rate-limited", b_v4_tcp, 2022, SYN, .times = 2, LIMITED },
	{ "ACK of the limited source: allowed", b_v4_tcp, 2022, ACK, ALLOWED },
	{ "monitor: 7th SYN passes, counted as rate-limited", b_v4_tcp, 2022, SYN,
	  MONITORED(PC_DROP_RATE_LIMITED, PORT_DROP) },
	{ "another source: 3 SYNs allowed", b_v4_tcp, 2022, SYN, .src = "192.0.2.11", .times = 3,
	  ALLOWED },
	{ "after 990s (< 3000s/3): still rate-limited", b_v4_tcp, 2022, SYN, .age = 990, LIMITED },
	{ "after 1010s (> 3000s/3): one token back", b_v4_tcp, 2022, SYN, .age = 20, ALLOWED },
	{ "and only one", b_v4_tcp, 2022, SYN, LIMITED },
	{ "after 3000s more: 3 tokens (M), not more", b_v4_tcp, 2022, SYN, .age = 3000, .times = 3,
	  ALLOWED },
	{ "the 4th: rate-limited", b_v4_tcp, 2022, SYN, LIMITED },
	{ "tcp 22 (no limit): 10 SYNs allowed", b_v4_tcp, 22, SYN, .times = 10, ALLOWED },
	{ "exempt 198.18.5.7: 6 SYNs allowed", b_v4_tcp, 2022, SYN, .src = "198.18.5.7", .times = 6,
	  .lists_only = true, ALLOWED },
	{ "trusted 192.0.2.99: 6 SYNs trusted", b_v4_tcp, 2022, SYN, .src = "192.0.2.99",
	  .times = 6, .lists_only = true, PASSES(PC_PASS_TRUSTED) },
	{ "ipv6 2001:db8:77:1::1: 3 SYNs allowed", b_v6_tcp, 2022, SYN, .src = "2001:db8:77:1::1",
	  .times = 3, ALLOWED },
	{ "ipv6 2001:db8:77:1::2 (same /64): rate-limited", b_v6_tcp, 2022, SYN,
	  .src = "2001:db8:77:1::2", LIMITED },
	{ "ipv6 2001:db8:77:2::1 (next /64): allowed", b_v6_tcp, 2022, SYN,
	  .src = "2001:db8:77:2::1", ALLOWED },
	{ "udp 5353 rate 2/1000s burst 4: 4 packets (M) allowed", b_v4_udp, 5353, .times = 4,
	  ALLOWED },
	{ "5th packet: rate-limited", b_v4_udp, 5353, LIMITED },
	{ "after 500s (1000s/2): one more", b_v4_udp, 5353, .age = 500, ALLOWED },
	{ "and then rate-limited", b_v4_udp, 5353, LIMITED },
	{ "ipv6 udp 5353: its own bucket, 4 allowed", b_v6_udp, 5353, .times = 4, ALLOWED },
	{ "udp 53 (no limit): 10 packets allowed", b_v4_udp, 53, .times = 10, ALLOWED },
	{ "tcp 2023 rate 1/1000s burst 1: 1st SYN allowed", b_v4_tcp, 2023, SYN, ALLOWED },
	{ "2nd SYN: rate-limited", b_v4_tcp, 2023, SYN, LIMITED },
	{ "the source's tcp 2022 bucket is its own: still rate-limited", b_v4_tcp, 2022, SYN,
	  LIMITED },
};

static void run_rate_steps(void)
{
	int err = rate_age(0);

	for (size_t i = 0; i < ARRAY_SIZE(rate_steps); i++) {
		const struct rate_step *s = &rate_steps[i];
		struct verdict_case c = {
			.base = s->base, .port = s->port, .flags = s->flags, .src = s->src
		};
		struct pc_config cfg = make_config(s->cfg_flags, PC_ESTABLISHED_SOCKET);
		struct frame f;

		if (without_lists && s->lists_only)
			continue;
		test_begin("rate limit%s: %s", without_lists ? " without lists" : "", s->name);
		if (!err && s->age)
			err = rate_age(NS(s->age));
		if (!err)
			err = pc_maps_write_config(&maps, 0, &cfg);
		if (EXPECT(err == 0, "setting up: %s", strerror(-err))) {
			build_case(&f, &c);
			for (int n = 0; n < (s->times ? s->times : 1) && !case_failed; n++)
				check_frame(&f, f.len, &s->want);
		}
		test_end();
	}
}

/*
 * One SYN to tcp 2022 from each of N spoofed sources, 2001:2:ROUND:I::1 for I
 * below N (a /64 each; nothing else of the tests is in 2001:2::/48).
 */
static int spoofed_flood(__u16 round, __u32 n, __u32 *dropped)
{
	struct verdict_case c = {
		.base = b_v6_tcp, .port = 2022, .flags = TCP_SYN, .src = "2001:2::1"
	};
	struct frame f;
	__u32 retval = XDP_PASS;
	int err = 0;

	build_case(&f, &c);
	*dropped = 0;
	for (__u32 i = 0; i < n && i < 65536 && !err; i++) {
		__u8 *saddr = f.data + f.l3 + offsetof(struct ipv6hdr, saddr);

		saddr[4] = round >> 8;
		saddr[5] = round;
		saddr[6] = i >> 8;
		saddr[7] = i;
		err = run_prog(prog_fd, f.data, f.len, 1, &retval, NULL);
		*dropped += !err && retval == XDP_DROP;
	}
	return err;
}

/*
 * A spoofed flood, twice a table's worth of one-packet sources, churns
 * through every bucket between an attacker's packets: attackers being
 * limited stay limited, and an honest source at the allowed rate is never
 * dropped. Attacker A (tcp 2022, 3/3000s) owes more than a newcomer would;
 * attacker B (tcp 2023, 1/1000s burst 1) owes less than a newcomer, so
 * only its record being kept (strong) keeps it limited.
 */
static void run_rate_flood(void)
{
	const struct expect limited = { XDP_DROP, PC_DROP_RATE_LIMITED, false, PORT_DROP };
	const struct expect allowed = { XDP_PASS, PC_PASS_ALLOWED, false, PORT_PASS };
	struct verdict_case attacker = {
		.base = b_v4_tcp, .port = 2022, .flags = TCP_SYN, .src = "192.0.2.66"
	};
	struct verdict_case honest = attacker, attacker_b = attacker;
	struct pc_config cfg = make_config(0, PC_ESTABLISHED_SOCKET);
	struct frame fa, fb, fh;
	__u32 dropped, flood = 2 * PC_RATE_BUCKETS * PC_RATE_WAYS;
	int err;

	honest.src = "192.0.2.67";
	attacker_b.src = "192.0.2.68";
	attacker_b.port = 2023;
	build_case(&fa, &attacker);
	build_case(&fb, &attacker_b);
	build_case(&fh, &honest);
	test_begin("rate limit: under a spoofed flood limited sources stay limited");
	err = rate_age(0);
	if (!err)
		err = pc_maps_write_config(&maps, 0, &cfg);
	for (int i = 0; i < 3 && !err; i++)
		check_frame(&fa, fa.len, &allowed);
	check_frame(&fa, fa.len, &limited);
	check_frame(&fb, fb.len, &allowed);
	check_frame(&fb, fb.len, &limited);
	check_frame(&fh, fh.len, &allowed);
	for (int round = 0; round < 3 && !err && !case_failed; round++) {
		err = spoofed_flood(round, flood, &dropped);
		EXPECT(dropped == 0, "round %d: %u spoofed SYNs dropped, expected none", round,
		       dropped);
		read_counters(snap); /* the flood's counts are not this case's */
		/* Within the same 1000 s: the attackers are still owed nothing. */
		check_frame(&fa, fa.len, &limited);
		check_frame(&fb, fb.len, &limited);
		err = err ?: rate_age(NS(1000));
		/* A token every 1000 s: each attacker gets one, the honest source its one. */
		check_frame(&fh, fh.len, &allowed);
		check_frame(&fa, fa.len, &allowed);
		check_frame(&fa, fa.len, &limited);
		check_frame(&fb, fb.len, &allowed);
		check_frame(&fb, fb.len, &limited);
	}
	EXPECT(err == 0, "%s", strerror(-err));
	test_end();
}

static void run_rate_limit_cases(void)
{
	int err = write_limits();

	if (err) {
		test_begin("rate limit: write the limits");
		test_detail("pc_maps_write_limits: %s", strerror(-err));
		test_end();
		return;
	}
	for (int pass = 0; pass < 2; pass++) {
		without_lists = pass == 1;
		run_rate_steps();
	}
	without_lists = false;
	run_rate_flood();
	rate_age(0);
}
