// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The scan detector and bans through BPF_PROG_TEST_RUN: the threshold and
 * window edges, IPv6 grouping per prefix, trusted sources, expiry and the
 * counters. Each case loads a fresh program, configures it the way the
 * loader does (pc_ruleset_commit) and sends crafted SYNs to closed ports.
 *
 * The pins at the end hold what a small change in bpf/scan.h or the verdict
 * code would otherwise get away with: the protocol as part of a port, what
 * is left of a scan after its ban, step 7's drops feeding the detector, and
 * the tick a ban expires in. Each scan there is a table of packets with
 * whether the source is banned after each one, sent from IPv4 and IPv6
 * sources through the fast and the general path.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "packets.h"
#include "program.h"
#include "testing.h"
#include "../../loader/apply.h"
#include "../../maps/bans.h"

#define SEC_NS 1000000000ULL
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct lab {
	struct portcullis_bpf *skel;
	struct pc_maps maps;
	int prog_fd;
};

/* A fresh program with "allow tcp 22", the detector at PORTS/WINDOW/BAN. */
static bool lab_up(struct lab *lab, __u32 ports, __u64 window_ns, __u64 ban_ns, __u32 v6_prefix,
		   const char *trusted)
{
	struct pc_allow allow = { .proto = PC_PROTO_TCP, .lo = 22, .hi = 22 };
	struct pc_ruleset rs;
	struct pc_prefix prefix;
	char why[128];
	int err;

	memset(lab, 0, sizeof(*lab));
	err = test_program_load(&lab->skel, &lab->prog_fd, &lab->maps);
	if (!CHECK(err == 0, "loading the program: %s", strerror(-err)))
		return false;
	pc_ruleset_init(&rs);
	rs.established = PC_ESTABLISHED_OFF;
	rs.scan_ports = ports;
	rs.scan_window_ns = window_ns;
	rs.ban_ns = ban_ns;
	rs.scan_ipv6_prefix = v6_prefix;
	rs.allows = &allow;
	rs.n_allows = 1;
	if (trusted && pc_parse_prefix(trusted, &prefix, why, sizeof(why)) == 0)
		pc_prefix_list_add(&rs.trusted, &prefix);
	CHECK(pc_ruleset_commit(&lab->maps, &rs, 1) == 0, "commit");
	pc_prefix_list_free(&rs.trusted);
	return !case_failed;
}

/*
 * The ban hint's invariant, after whatever the case did: each slot counts
 * exactly the bans in pc_bans whose source hashes there. One too few would
 * let a banned source through; one too many costs lookups for good.
 */
static void check_hint(struct lab *lab)
{
	static __u64 want[PC_BAN_HINT_SLOTS];
	size_t len = sizeof(want), wrong = 0;
	struct pc_addr_key key, next;
	const __u64 *hint;
	void *prev = NULL;
	__u32 first = 0;

	memset(want, 0, sizeof(want));
	while (bpf_map_get_next_key(lab->maps.bans, prev, &next) == 0) {
		key = next;
		prev = &key;
		want[pc_ban_hint_slot(&key)]++;
	}
	hint = mmap(NULL, len, PROT_READ, MAP_SHARED, lab->maps.ban_hint, 0);
	if (!CHECK(hint != MAP_FAILED, "mmap pc_ban_hint: %s", strerror(errno)))
		return;
	for (__u32 slot = 0; slot < PC_BAN_HINT_SLOTS; slot++) {
		if (hint[slot] != want[slot] && wrong++ == 0)
			first = slot;
	}
	CHECK(wrong == 0, "%zu ban hint slots wrong, first %u: %llu for %llu bans", wrong, first,
	      (unsigned long long)hint[first], (unsigned long long)want[first]);
	munmap((void *)hint, len);
}

static void lab_down(struct lab *lab)
{
	if (lab->skel)
		check_hint(lab);
	portcullis_bpf__destroy(lab->skel);
}

/*
 * One packet from SRC (v4 or v6 text) to PROTO (IPPROTO_TCP or IPPROTO_UDP)
 * port PORT, TCP with FLAGS; returns the XDP verdict. GENERAL: with four
 * bytes of IPv4 options or an IPv6 destination-options header, which the
 * fast path leaves to the general one.
 */
static int send_packets(struct lab *lab, const char *src, __u8 proto, __u8 flags, __u16 port,
			bool general, __u32 repeat)
{
	bool v6 = strchr(src, ':') != NULL;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .repeat = repeat);
	struct frame f;

	if (proto == IPPROTO_UDP) {
		if (v6)
			frame_from(&f, &pkt_v6_udp, sizeof(pkt_v6_udp), 6);
		else
			frame_from(&f, &pkt_v4_udp, sizeof(pkt_v4_udp), 4);
		frame_put16(&f, f.l4 + offsetof(struct udphdr, dest), port);
	} else {
		if (v6)
			frame_from(&f, &pkt_v6_tcp, sizeof(pkt_v6_tcp), 6);
		else
			frame_from(&f, &pkt_v4_tcp, sizeof(pkt_v4_tcp), 4);
		frame_put16(&f, f.l4 + offsetof(struct tcphdr, dest), port);
		f.data[f.l4 + 13] = flags;
	}
	if (v6)
		inet_pton(AF_INET6, src, f.data + f.l3 + offsetof(struct ipv6hdr, saddr));
	else
		inet_pton(AF_INET, src, f.data + f.l3 + offsetof(struct iphdr, saddr));
	if (general && v6)
		frame_ipv6_ext(&f, IPPROTO_DSTOPTS, 8, 0);
	else if (general)
		frame_ipv4_options(&f, 1);
	opts.data_in = f.data;
	opts.data_size_in = f.len;
	if (bpf_prog_test_run_opts(lab->prog_fd, &opts))
		return -errno;
	return opts.retval;
}

static int send_packet(struct lab *lab, const char *src, __u8 proto, __u8 flags, __u16 port,
		       bool general)
{
	return send_packets(lab, src, proto, flags, port, general, 1);
}

/* A SYN from SRC (v4 or v6 text) to tcp/PORT; returns the XDP verdict. */
static int syn(struct lab *lab, const char *src, __u16 port)
{
	return send_packet(lab, src, IPPROTO_TCP, TCP_SYN, port, false);
}

/* SYNs from SRC to N distinct closed ports starting at FIRST. */
static void probe(struct lab *lab, const char *src, __u16 first, int n)
{
	for (int i = 0; i < n; i++)
		CHECK_INT(syn(lab, src, first + i), XDP_DROP);
}

static size_t count_bans(struct lab *lab, struct pc_ban_entry *first)
{
	struct pc_ban_entry *list = NULL;
	size_t n = 0;

	if (!CHECK(pc_bans_list(&lab->maps, false, &list, &n, NULL, NULL) == 0, "bans list"))
		return 0;
	if (n && first)
		*first = list[0];
	free(list);
	return n;
}

static __u64 scan_stat(struct lab *lab, int stat, __u64 *active)
{
	__u64 stats[PC_SCAN_STATS] = {}, dummy;

	pc_bans_stats(&lab->maps, stats, active ? active : &dummy);
	return stats[stat];
}

static void test_threshold(void)
{
	struct pc_ban_entry ban;
	struct lab lab;
	__u64 active;

	test_begin("scan: N-1 distinct closed ports do not ban, the Nth does");
	if (lab_up(&lab, 5, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		probe(&lab, "198.18.0.2", 1000, 4);
		CHECK_INT(count_bans(&lab, NULL), 0);
		CHECK_INT(syn(&lab, "198.18.0.2", 22), XDP_PASS);
		probe(&lab, "198.18.0.2", 2000, 1);
		CHECK_INT(count_bans(&lab, &ban), 1);
		CHECK_INT(ban.ban.reason, PC_BAN_SCAN);
		CHECK_INT(ban.ban.ports, 5);
		CHECK_INT(ban.ban.last_port, 2000);
		CHECK_INT(ban.ban.expires_ns - ban.ban.created_ns, 60 * SEC_NS);
		CHECK_INT(scan_stat(&lab, PC_STAT_BANS, &active), 1);
		CHECK_INT(active, 1);
		/* Now every port is closed to it, the allowed one too. */
		CHECK_INT(syn(&lab, "198.18.0.2", 22), XDP_DROP);
		CHECK_INT(syn(&lab, "198.18.0.3", 22), XDP_PASS);
	}
	lab_down(&lab);
	test_end();
}

static void test_repeats(void)
{
	struct lab lab;

	test_begin("scan: one closed port retried 100 times is not a scan");
	if (lab_up(&lab, 5, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		for (int i = 0; i < 100; i++)
			CHECK_INT(syn(&lab, "198.18.0.2", 3306), XDP_DROP);
		CHECK_INT(count_bans(&lab, NULL), 0);
		CHECK_INT(scan_stat(&lab, PC_STAT_PROMOTED, NULL), 0);
	}
	lab_down(&lab);
	test_end();
}

static void test_two_ports_alternating(void)
{
	struct lab lab;

	test_begin("scan: two closed ports alternating 50 times count as two");
	if (lab_up(&lab, 3, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		for (int i = 0; i < 50; i++)
			CHECK_INT(syn(&lab, "198.18.0.2", 1000 + i % 2), XDP_DROP);
		CHECK_INT(count_bans(&lab, NULL), 0);
		probe(&lab, "198.18.0.2", 1002, 1);
		CHECK_INT(count_bans(&lab, NULL), 1);
	}
	lab_down(&lab);
	test_end();
}

static void test_window(void)
{
	struct lab lab;

	test_begin("scan: the window resets the count");
	if (lab_up(&lab, 4, SEC_NS, 60 * SEC_NS, 64, NULL)) {
		probe(&lab, "198.18.0.2", 1000, 3);
		usleep(1300 * 1000);
		/* 1.3 s later the three are forgotten: two more are not four. */
		probe(&lab, "198.18.0.2", 2000, 2);
		CHECK_INT(count_bans(&lab, NULL), 0);
		probe(&lab, "198.18.0.2", 2002, 2);
		CHECK_INT(count_bans(&lab, NULL), 1);
	}
	lab_down(&lab);
	test_end();

	test_begin("scan: ports within the window add up");
	if (lab_up(&lab, 4, 3 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		probe(&lab, "198.18.0.2", 1000, 3);
		usleep(500 * 1000);
		probe(&lab, "198.18.0.2", 2000, 1);
		CHECK_INT(count_bans(&lab, NULL), 1);
	}
	lab_down(&lab);
	test_end();
}

static void test_ipv6_grouping(void)
{
	struct pc_ban_entry ban;
	struct lab lab;
	char text[64];

	test_begin("scan: IPv6 sources of one /64 are one scanner");
	if (lab_up(&lab, 4, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		/* Four ports from four addresses of 2001:2::/64. */
		CHECK_INT(syn(&lab, "2001:2::1", 1000), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2::2", 1001), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2::ffff:1", 1002), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2::1:0:0:3", 1003), XDP_DROP);
		if (CHECK_INT(count_bans(&lab, &ban), 1))
			CHECK_STR(pc_addr_key_format(&ban.key, 64, text, sizeof(text)),
				  "2001:2::/64");
		CHECK_INT(syn(&lab, "2001:2::99", 22), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2:0:1::99", 22), XDP_PASS);
	}
	lab_down(&lab);
	test_end();

	test_begin("scan: ipv6-prefix 128 keeps addresses apart");
	if (lab_up(&lab, 4, 10 * SEC_NS, 60 * SEC_NS, 128, NULL)) {
		CHECK_INT(syn(&lab, "2001:2::1", 1000), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2::2", 1001), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2::3", 1002), XDP_DROP);
		CHECK_INT(syn(&lab, "2001:2::4", 1003), XDP_DROP);
		CHECK_INT(count_bans(&lab, NULL), 0);
		probe(&lab, "2001:2::1", 2000, 3);
		CHECK_INT(count_bans(&lab, NULL), 1);
		CHECK_INT(syn(&lab, "2001:2::2", 22), XDP_PASS);
	}
	lab_down(&lab);
	test_end();

	/* IPv4 anti-spoofing does not stop ::ffff:198.18.0.2: it must not count. */
	test_begin("scan: IPv4-mapped IPv6 probes are malformed and never ban the IPv4 source");
	if (lab_up(&lab, 4, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		probe(&lab, "198.18.0.2", 1000, 2);
		probe(&lab, "::ffff:198.18.0.2", 2000, 4);
		probe(&lab, "::198.18.0.2", 3000, 4);
		CHECK_INT(count_bans(&lab, NULL), 0);
		CHECK_INT(syn(&lab, "198.18.0.2", 22), XDP_PASS);
	}
	lab_down(&lab);
	test_end();
}

static void test_trusted(void)
{
	struct lab lab;

	test_begin("scan: trusted sources are never tracked or banned");
	if (lab_up(&lab, 3, 10 * SEC_NS, 60 * SEC_NS, 64, "198.18.0.9")) {
		for (int i = 0; i < 10; i++)
			CHECK_INT(syn(&lab, "198.18.0.9", 1000 + i), XDP_PASS);
		CHECK_INT(count_bans(&lab, NULL), 0);
		CHECK_INT(scan_stat(&lab, PC_STAT_PROMOTED, NULL), 0);
	}
	lab_down(&lab);
	test_end();
}

static void test_expiry(void)
{
	struct lab lab;
	__u64 active;

	test_begin("scan: a ban expires and the next packet removes it");
	if (lab_up(&lab, 3, 10 * SEC_NS, SEC_NS / 2, 64, NULL)) {
		probe(&lab, "198.18.0.2", 1000, 3);
		CHECK_INT(syn(&lab, "198.18.0.2", 22), XDP_DROP);
		usleep(700 * 1000);
		CHECK_INT(syn(&lab, "198.18.0.2", 22), XDP_PASS);
		CHECK_INT(count_bans(&lab, NULL), 0);
		CHECK_INT(scan_stat(&lab, PC_STAT_EXPIRED, &active), 1);
		CHECK_INT(active, 0);
	}
	lab_down(&lab);
	test_end();
}

static void test_manual(void)
{
	struct pc_ban ban = { .reason = PC_BAN_MANUAL };
	struct pc_addr_key key;
	struct lab lab;
	__u8 addr[4] = { 198, 18, 0, 7 };
	bool replaced;
	__u64 active;

	test_begin("scan: a ban added from user space is enforced and counted");
	if (lab_up(&lab, 20, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		CHECK_INT(syn(&lab, "198.18.0.7", 22), XDP_PASS);
		pc_addr_key_make(&key, AF_INET, addr, 64);
		ban.created_ns = pc_now_ns();
		ban.expires_ns = ban.created_ns + 60 * SEC_NS;
		CHECK_INT(pc_bans_add(&lab.maps, &key, &ban, &replaced), 0);
		CHECK_INT(replaced, 0);
		scan_stat(&lab, 0, &active);
		CHECK_INT(active, 1);
		CHECK_INT(syn(&lab, "198.18.0.7", 22), XDP_DROP);
		CHECK_INT(pc_bans_remove(&lab.maps, &key), 0);
		scan_stat(&lab, 0, &active);
		CHECK_INT(active, 0);
		CHECK_INT(syn(&lab, "198.18.0.7", 22), XDP_PASS);
		CHECK_INT(pc_bans_remove(&lab.maps, &key), -ENOENT);
		/* Banned again, then the ban replaced: lab_down checks it is counted once. */
		CHECK_INT(pc_bans_add(&lab.maps, &key, &ban, &replaced), 0);
		CHECK_INT(pc_bans_add(&lab.maps, &key, &ban, &replaced), 0);
		CHECK_INT(replaced, 1);
		CHECK_INT(syn(&lab, "198.18.0.7", 22), XDP_DROP);
	}
	lab_down(&lab);
	test_end();
}

static void test_many_sources(void)
{
	struct lab lab;
	char src[32];

	test_begin("scan: 3,000 sources with one probe each promote nobody");
	if (lab_up(&lab, 5, 10 * SEC_NS, 60 * SEC_NS, 64, NULL)) {
		for (int i = 0; i < 3000 && !case_failed; i++) {
			snprintf(src, sizeof(src), "198.18.%d.%d", (i >> 8) & 0x7f, i & 0xff);
			CHECK_INT(syn(&lab, src, 1000 + i % 5000), XDP_DROP);
		}
		CHECK_INT(scan_stat(&lab, PC_STAT_PROMOTED, NULL), 0);
		CHECK_INT(count_bans(&lab, NULL), 0);
	}
	lab_down(&lab);
	test_end();
}

/*
 * A distributed scan: 4,000 sources take turns, each pass over them probing
 * the next closed port. Every one of them is a scanner and must be banned,
 * however the pre-filter's hash spreads them; with one slot per hash, the
 * quarter of them that shared a slot pushed each other out and went unseen.
 */
static void test_many_scanners(void)
{
	const int sources = 4000, ports = 5;
	struct lab lab;
	char src[32];

	test_begin("scan: 4,000 sources scanning at once are all banned");
	if (lab_up(&lab, ports, 60 * SEC_NS, 600 * SEC_NS, 64, NULL)) {
		for (int pass = 0; pass < ports && !case_failed; pass++) {
			for (int i = 0; i < sources && !case_failed; i++) {
				snprintf(src, sizeof(src), "198.18.%d.%d", 16 + (i >> 8), i & 0xff);
				CHECK_INT(syn(&lab, src, 2000 + pass), XDP_DROP);
			}
		}
		CHECK_INT(count_bans(&lab, NULL), sources);
	}
	lab_down(&lab);
	test_end();
}

/* ---- pins: what the detector counts, step by step ------------------------------ */

/*
 * The data path's clock for bans and the detector, read from user space:
 * bpf_ktime_get_coarse_ns() is CLOCK_MONOTONIC_COARSE, which stays put for
 * a whole tick, so a test can hit "now" exactly.
 */
static __u64 program_now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (__u64)ts.tv_sec * SEC_NS + ts.tv_nsec;
}

static void source_key(const char *src, __u32 v6_prefix, struct pc_addr_key *key)
{
	__u8 addr[16] = {};
	int family = strchr(src, ':') ? AF_INET6 : AF_INET;

	inet_pton(family, src, addr);
	pc_addr_key_make(key, family, addr, v6_prefix);
}

/* SRC's ban, as the map holds it (in force or not); false when there is none. */
static bool ban_of(struct lab *lab, const char *src, struct pc_ban *ban)
{
	struct pc_addr_key key;

	source_key(src, 64, &key);
	return bpf_map_lookup_elem(lab->maps.bans, &key, ban) == 0;
}

/* Is SRC banned, i.e. would its next packet be dropped at step 4? */
static bool banned(struct lab *lab, const char *src)
{
	struct pc_ban ban;

	return ban_of(lab, src, &ban) && ban.expires_ns > program_now(CLOCK_MONOTONIC_COARSE);
}

enum scan_action {
	END,	/* the steps that are left of the array */
	PROBE,	/* a packet to a closed port: always dropped */
	UNBAN,	/* the source's ban deleted from user space, as `unban` does */
	EXPIRE, /* the source's ban made to expire now; the next packet removes it */
};

struct scan_step {
	enum scan_action action;
	__u8 proto; /* PROBE: IPPROTO_TCP or IPPROTO_UDP */
	__u8 flags; /* PROBE, TCP: the flag byte */
	__u16 port;
	bool banned; /* after this step, the source is banned */
};

#define TCP(port, banned)                                                                          \
	{                                                                                          \
		PROBE, IPPROTO_TCP, TCP_SYN, port, banned                                          \
	}
#define UDP(port, banned)                                                                          \
	{                                                                                          \
		PROBE, IPPROTO_UDP, 0, port, banned                                                \
	}
#define FLAGS(f, port, banned)                                                                     \
	{                                                                                          \
		PROBE, IPPROTO_TCP, f, port, banned                                                \
	}
#define DO(action)                                                                                 \
	{                                                                                          \
		action, 0, 0, 0, false                                                             \
	}

struct scan_case {
	const char *name;
	__u32 ports; /* scan-detect ports N */
	struct scan_step steps[16];
};

/*
 * Each case is a scan told packet by packet, with whether the source is
 * banned after each: a ban one packet early or late fails it. Port 22 is
 * the only allowed one.
 */
static const struct scan_case scan_cases[] = {
	/* The protocol is part of the port: in the pre-filter record, in the
	 * port it compares with, and in the tracker. */
	{ .name = "udp/1000, tcp/1000 and tcp/1001 are three ports",
	  .ports = 3,
	  .steps = { UDP(1000, false), TCP(1000, false), TCP(1001, true) } },
	{ .name = "tcp/1000, udp/1000 and udp/1001 are three ports",
	  .ports = 3,
	  .steps = { TCP(1000, false), UDP(1000, false), UDP(1001, true) } },
	{ .name = "udp/1000, tcp/1001 and tcp/1000 are three ports",
	  .ports = 3,
	  .steps = { UDP(1000, false), TCP(1001, false), TCP(1000, true) } },
	{ .name = "five (protocol, port) pairs on three numbers, with repeats, ban at the fifth",
	  .ports = 5,
	  .steps = { TCP(1000, false), UDP(1000, false), UDP(1000, false), TCP(1001, false),
		     TCP(1000, false), UDP(1001, false), TCP(1001, false), UDP(1002, true) } },
	/* After a ban nothing of the scan before it counts. */
	{ .name = "after an unban, a scan of new ports bans again at exactly N",
	  .ports = 3,
	  .steps = { TCP(1000, false), TCP(1001, false), TCP(1002, true), DO(UNBAN),
		     TCP(2000, false), TCP(2001, false), TCP(2002, true) } },
	{ .name = "after an unban, the same ports again ban at exactly N",
	  .ports = 3,
	  .steps = { TCP(1000, false), TCP(1001, false), TCP(1002, true), DO(UNBAN),
		     TCP(1000, false), TCP(1001, false), TCP(1002, true) } },
	{ .name = "after a ban expires inside the window, a new scan bans at exactly N",
	  .ports = 3,
	  .steps = { UDP(1000, false), UDP(1001, false), UDP(1002, true), DO(EXPIRE),
		     UDP(2000, false), UDP(2001, false), UDP(2002, true) } },
	/* Step 7's drops feed the detector, every reason of them. */
	{ .name = "PSH-only probes (scan-other) ban at N",
	  .ports = 4,
	  .steps = { FLAGS(TCP_PSH, 1000, false), FLAGS(TCP_PSH, 1001, false),
		     FLAGS(TCP_PSH, 1002, false), FLAGS(TCP_PSH, 1003, true) } },
	{ .name = "URG-only probes (scan-other) ban at N",
	  .ports = 4,
	  .steps = { FLAGS(TCP_URG, 1000, false), FLAGS(TCP_URG, 1001, false),
		     FLAGS(TCP_URG, 1002, false), FLAGS(TCP_URG, 1003, true) } },
	{ .name = "one probe of each illegal flag combination, scan-other last, bans at N",
	  .ports = 6,
	  .steps = { FLAGS(0, 1000, false), FLAGS(TCP_FIN, 1001, false),
		     FLAGS(TCP_FIN | TCP_PSH | TCP_URG, 1002, false),
		     FLAGS(TCP_SYN | TCP_FIN, 1003, false), FLAGS(TCP_SYN | TCP_RST, 1004, false),
		     FLAGS(TCP_URG | TCP_PSH, 1005, true) } },
	{ .name = "scan-other, null and SYN probes add up to N",
	  .ports = 3,
	  .steps = { FLAGS(TCP_PSH, 1000, false), FLAGS(0, 1001, false), TCP(1002, true) } },
};

/* Each case runs from these sources, one after the other, on one program. */
static const struct {
	const char *src;
	bool general; /* through the general path (IPv4 options, IPv6 extension) */
} scan_sources[] = {
	{ "198.18.0.2", false },
	{ "198.18.0.3", true },
	{ "2001:2::1", false },
	{ "2001:3::1", true },
};

static void expire_now(struct lab *lab, const char *src)
{
	struct pc_addr_key key;
	struct pc_ban ban;
	bool replaced;

	source_key(src, 64, &key);
	if (!CHECK(bpf_map_lookup_elem(lab->maps.bans, &key, &ban) == 0, "%s is not banned", src))
		return;
	ban.expires_ns = program_now(CLOCK_MONOTONIC_COARSE) - 1;
	/* Through pc_bans_add, which tells the data path's cache of bans. */
	CHECK(pc_bans_add(&lab->maps, &key, &ban, &replaced) == 0 && replaced, "expire %s", src);
}

/*
 * Runs C's steps from SRC. Returns 0 when the source was banned after
 * exactly the steps that say so; else the first step (from 1) after which
 * it was not, as a negative number when it was banned too early.
 */
static int run_scan_steps(struct lab *lab, const struct scan_case *c, const char *src, bool general)
{
	struct pc_addr_key key;

	for (size_t i = 0; i < ARRAY_SIZE(c->steps) && !case_failed; i++) {
		const struct scan_step *step = &c->steps[i];
		bool now_banned;

		switch (step->action) {
		case END:
			return 0;
		case PROBE:
			CHECK_INT(send_packet(lab, src, step->proto, step->flags, step->port,
					      general),
				  XDP_DROP);
			break;
		case UNBAN:
			source_key(src, 64, &key);
			CHECK_INT(pc_bans_remove(&lab->maps, &key), 0);
			break;
		case EXPIRE:
			expire_now(lab, src);
			break;
		}
		now_banned = banned(lab, src);
		if (now_banned != step->banned)
			return now_banned ? -(int)(i + 1) : (int)(i + 1);
	}
	return 0;
}

static void test_scan_cases(void)
{
	struct lab lab;

	for (size_t i = 0; i < ARRAY_SIZE(scan_cases); i++) {
		const struct scan_case *c = &scan_cases[i];

		test_begin("scan: %s", c->name);
		if (lab_up(&lab, c->ports, 60 * SEC_NS, 600 * SEC_NS, 64, NULL)) {
			for (size_t s = 0; s < ARRAY_SIZE(scan_sources) && !case_failed; s++) {
				const char *src = scan_sources[s].src;
				bool general = scan_sources[s].general;
				int step = run_scan_steps(&lab, c, src, general);

				if (step == 0)
					continue;
				test_detail("%s%s: %s after step %d", src,
					    general ? " (general path)" : "",
					    step < 0 ? "banned" : "not banned",
					    step < 0 ? -step : step);
			}
		}
		lab_down(&lab);
		test_end();
	}
}

/* ---- pins: the tick a ban expires in ------------------------------------------- */

/* Does the data path read CLOCK_MONOTONIC_COARSE? Its scan bans tell. */
static bool program_reads_coarse_clock(void)
{
	__u64 before, after;
	struct pc_ban ban = {};
	struct lab lab;
	bool coarse = false;

	if (lab_up(&lab, 2, 60 * SEC_NS, 600 * SEC_NS, 64, NULL)) {
		before = program_now(CLOCK_MONOTONIC_COARSE);
		probe(&lab, "198.18.0.2", 1000, 2);
		after = program_now(CLOCK_MONOTONIC_COARSE);
		coarse = ban_of(&lab, "198.18.0.2", &ban) && ban.created_ns >= before &&
			 ban.created_ns <= after;
	}
	lab_down(&lab);
	return coarse;
}

/*
 * A ban whose expires_ns is the data path's "now" is over; one a
 * nanosecond later is not. The ban is written and the packet sent within
 * one tick of the coarse clock (tried again when the tick ends between).
 */
static const struct {
	long long expires; /* expires_ns - now */
	int verdict;	   /* of a SYN to the allowed port */
} expiry_edges[] = {
	{ -1, XDP_PASS },
	{ 0, XDP_PASS },
	{ 1, XDP_DROP },
};

static void expiry_edge(struct lab *lab, const char *src, bool general, long long expires, int want)
{
	struct pc_ban ban = { .reason = PC_BAN_MANUAL };
	__u64 expired_before, expired_after, active;
	struct pc_addr_key key;
	int verdict = -1, attempt;
	bool replaced;
	__u64 now;

	source_key(src, 64, &key);
	for (attempt = 0; attempt < 100; attempt++) {
		expired_before = scan_stat(lab, PC_STAT_EXPIRED, NULL);
		now = program_now(CLOCK_MONOTONIC_COARSE);
		ban.created_ns = now - 60 * SEC_NS;
		ban.expires_ns = now + expires;
		if (!CHECK_INT(pc_bans_add(&lab->maps, &key, &ban, &replaced), 0))
			return;
		verdict = send_packet(lab, src, IPPROTO_TCP, TCP_SYN, 22, general);
		if (program_now(CLOCK_MONOTONIC_COARSE) == now)
			break;
		pc_bans_remove(&lab->maps, &key); /* unless the data path did */
	}
	if (!CHECK(attempt < 100, "the coarse clock ticked during each of 100 tries"))
		return;
	CHECK(verdict == want, "%s%s, ban expiring at now %+lld ns: verdict %d, want %d", src,
	      general ? " (general path)" : "", expires, verdict, want);
	expired_after = scan_stat(lab, PC_STAT_EXPIRED, &active);
	if (want == XDP_PASS) {
		/* Over: the packet that found it so removed it. */
		CHECK(!ban_of(lab, src, &ban), "%s: the expired ban is still in pc_bans", src);
		CHECK_INT(expired_after - expired_before, 1);
		CHECK_INT(active, 0);
	} else {
		CHECK(ban_of(lab, src, &ban), "%s: the ban in force is gone", src);
		CHECK_INT(expired_after - expired_before, 0);
		CHECK_INT(pc_bans_remove(&lab->maps, &key), 0);
	}
}

static void test_expiry_edge(void)
{
	struct lab lab;

	test_begin("scan: a ban is over in the tick it expires, not before");
	if (!program_reads_coarse_clock()) {
		test_skip(case_name, "the data path does not read CLOCK_MONOTONIC_COARSE: "
				     "its \"now\" cannot be hit from user space");
		return;
	}
	if (lab_up(&lab, 20, 60 * SEC_NS, 600 * SEC_NS, 64, NULL)) {
		for (size_t i = 0; i < ARRAY_SIZE(expiry_edges) && !case_failed; i++)
			for (size_t s = 0; s < ARRAY_SIZE(scan_sources) && !case_failed; s++)
				expiry_edge(&lab, scan_sources[s].src, scan_sources[s].general,
					    expiry_edges[i].expires, expiry_edges[i].verdict);
	}
	lab_down(&lab);
	test_end();
}

/* ---- the repeat check: one source retrying one port ---------------------------- */

/*
 * A flood of N identical SYNs from SRC to tcp/PORT in one test run: long
 * enough (about 100,000 take several ticks) for the data path's per-CPU note
 * of the source (pc_scan_last) and its clock to settle, so that most of them
 * are answered by the repeat check, not the pre-filter.
 */
static void flood(struct lab *lab, const char *src, __u16 port, bool general, __u32 n)
{
	CHECK_INT(send_packets(lab, src, IPPROTO_TCP, TCP_SYN, port, general, n), XDP_DROP);
}

/* Does some CPU's note say SRC repeated itself, with a clock read? */
static bool noted(struct lab *lab, const char *src, __u32 v6_prefix)
{
	int cpus = libbpf_num_possible_cpus(), fd = bpf_map__fd(lab->skel->maps.pc_scan_last);
	struct pc_scan_last *notes = calloc(cpus > 0 ? cpus : 1, sizeof(*notes));
	struct pc_addr_key key;
	__u32 zero = 0;
	bool found = false;

	source_key(src, v6_prefix, &key);
	if (notes && cpus > 0 && bpf_map_lookup_elem(fd, &zero, notes) == 0)
		for (int i = 0; i < cpus; i++)
			found |= !memcmp(&notes[i].source, &key, sizeof(key)) && notes[i].tick;
	free(notes);
	return found;
}

/* The pre-filter's only record holding tcp PORT (the case has one source there). */
static bool seen_record(struct lab *lab, __u16 port, struct pc_scan_seen *out)
{
	struct pc_scan_bucket bucket;
	int n = 0;

	for (__u32 i = 0; i < PC_SCAN_SEEN_BUCKETS; i++) {
		if (bpf_map_lookup_elem(lab->maps.scan_seen, &i, &bucket))
			return false;
		for (int w = 0; w < PC_SCAN_SEEN_WAYS; w++) {
			if (bucket.way[w].fingerprint && bucket.way[w].port == htons(port) &&
			    !(bucket.way[w].stamp >> 15)) {
				*out = bucket.way[w];
				n++;
			}
		}
	}
	return n == 1;
}

static void forget_seen(struct lab *lab)
{
	static const struct pc_scan_bucket empty;

	for (__u32 i = 0; i < PC_SCAN_SEEN_BUCKETS; i++)
		CHECK_INT(bpf_map_update_elem(lab->maps.scan_seen, &i, &empty, BPF_ANY), 0);
}

/* One stream of repeats and what must follow it; ports 2. */
struct repeat_case {
	const char *name;
	__u32 v6_prefix;
	const char *flooder;  /* floods tcp/1000 first, and is noted */
	const char *second;   /* then sends a few SYNs to tcp/1000 too (NULL: nobody) */
	bool wipe;            /* the pre-filter emptied in between, as by another CPU */
	const char *prober;   /* then one SYN to tcp/1001 */
	const char *banned;   /* who must be banned after it (NULL: nobody) */
	const char *unbanned; /* who must not */
	bool general;         /* also through the general path (its own inlined copy) */
};

static const struct repeat_case repeat_cases[] = {
	{ "a new port right after a flood of repeats promotes and bans", 64, "198.18.0.2", NULL,
	  false, "198.18.0.2", "198.18.0.2", NULL, true },
	{ "a second source repeating the first one's port is still recorded", 64, "198.18.0.2",
	  "198.18.0.3", false, "198.18.0.3", "198.18.0.3", "198.18.0.2", false },
	{ "a repeat after its record was lost is recorded again", 64, "198.18.0.2", NULL, true,
	  "198.18.0.2", "198.18.0.2", NULL, false },
	{ "IPv6: a new port right after a flood of repeats bans the /64", 64, "2001:2::1", NULL,
	  false, "2001:2::2", "2001:2::2", NULL, false },
	{ "IPv6: another /64 repeating the port is its own source", 64, "2001:2::1",
	  "2001:2:0:1::1", false, "2001:2:0:1::2", "2001:2:0:1::2", "2001:2::1", true },
	{ "IPv6 /128: another address of the /64 is its own source", 128, "2001:2::1",
	  "2001:2::2", false, "2001:2::2", "2001:2::2", "2001:2::1", false },
	{ "IPv6: a repeat after its record was lost is recorded again", 64, "2001:2::1", NULL,
	  true, "2001:2::1", "2001:2::1", NULL, false },
};

static void run_repeat_case(const struct repeat_case *c, bool general)
{
	const struct {
		const char *src;
		bool want; /* banned */
	} checks[2] = { { c->banned, true }, { c->unbanned, false } };
	struct pc_addr_key key;
	struct pc_ban ban;
	struct lab lab;

	test_begin("scan repeats: %s%s", c->name, general ? " (general path)" : "");
	/* A window of a day: stamp units of 8.6 s, so whatever comes after the
	 * flood comes in the unit it ended in (a test run alone takes ms). */
	if (lab_up(&lab, 2, 86400 * SEC_NS, 600 * SEC_NS, c->v6_prefix, NULL)) {
		flood(&lab, c->flooder, 1000, general, 100000);
		CHECK(noted(&lab, c->flooder, c->v6_prefix), "%s's repeats were never noted",
		      c->flooder);
		CHECK_INT(scan_stat(&lab, PC_STAT_PROMOTED, NULL), 0);
		if (c->wipe)
			forget_seen(&lab);
		/* In the unit the flood ended in, the flooder's record would pass
		 * for theirs. */
		if (c->second)
			flood(&lab, c->second, 1000, general, 100);
		if (c->wipe)
			flood(&lab, c->flooder, 1000, general, 100000);
		CHECK_INT(send_packet(&lab, c->prober, IPPROTO_TCP, TCP_SYN, 1001, general),
			  XDP_DROP);
		for (int i = 0; i < 2; i++) {
			if (!checks[i].src)
				continue;
			source_key(checks[i].src, c->v6_prefix, &key);
			CHECK((bpf_map_lookup_elem(lab.maps.bans, &key, &ban) == 0) ==
				      checks[i].want,
			      "%s: %s", checks[i].src, checks[i].want ? "not banned" : "banned");
		}
	}
	lab_down(&lab);
	test_end();
}

/*
 * A flood of repeats keeps its record's stamp current: the record is the
 * pre-filter's memory of when the source was last seen, which the window
 * and the choice of the way to evict are judged on.
 */
static void test_repeat_stamp(void)
{
	struct pc_scan_seen record;
	struct lab lab;
	int units;

	test_begin("scan repeats: a flood of repeats keeps its record's stamp current");
	if (lab_up(&lab, 5, 10 * SEC_NS, 600 * SEC_NS, 64, NULL)) {
		/* Many ticks long: the first stamp is far behind the clock at the end. */
		flood(&lab, "198.18.0.2", 1000, false, 3000000);
		units = (int)((program_now(CLOCK_MONOTONIC_COARSE) >>
			       pc_scan_stamp_shift(10 * SEC_NS)) & 0x7fff);
		if (CHECK(seen_record(&lab, 1000, &record), "no single record of tcp/1000")) {
			int behind = (units - (record.stamp & 0x7fff)) & 0x7fff;

			/* 40 units (ms): a test run's own overhead, a few ticks; the
			 * flood took far longer (about 200 ms). */
			CHECK(behind <= 40, "the record's stamp is %d units behind the clock",
			      behind);
		}
		CHECK(noted(&lab, "198.18.0.2", 64), "the repeats were never noted");
	}
	lab_down(&lab);
	test_end();

	/* The window is judged from the last repeat, not the first. */
	test_begin("scan repeats: a new port after a window's worth of repeats still promotes");
	if (lab_up(&lab, 2, 300 * 1000000ULL, 600 * SEC_NS, 64, NULL)) {
		for (int i = 0; i < 10 && !case_failed; i++) {
			flood(&lab, "198.18.0.2", 1000, false, 20000);
			usleep(50 * 1000);
		}
		CHECK_INT(syn(&lab, "198.18.0.2", 1001), XDP_DROP);
		CHECK(banned(&lab, "198.18.0.2"), "198.18.0.2 not banned");
	}
	lab_down(&lab);
	test_end();
}

static void test_repeat_cases(void)
{
	cpu_set_t all, one;

	/* The note is per CPU: on one CPU, every flood finds the one before. */
	if (sched_getaffinity(0, sizeof(all), &all) == 0) {
		CPU_ZERO(&one);
		for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
			if (CPU_ISSET(cpu, &all)) {
				CPU_SET(cpu, &one);
				break;
			}
		}
		sched_setaffinity(0, sizeof(one), &one);
	}
	for (size_t i = 0; i < ARRAY_SIZE(repeat_cases); i++) {
		run_repeat_case(&repeat_cases[i], false);
		if (repeat_cases[i].general)
			run_repeat_case(&repeat_cases[i], true);
	}
	test_repeat_stamp();
	sched_setaffinity(0, sizeof(all), &all);
}

int main(void)
{
	test_threshold();
	test_repeats();
	test_two_ports_alternating();
	test_window();
	test_ipv6_grouping();
	test_trusted();
	test_expiry();
	test_manual();
	test_many_sources();
	test_many_scanners();
	test_scan_cases();
	test_expiry_edge();
	test_repeat_cases();
	return test_exit_code();
}
